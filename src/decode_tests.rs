//! Unit tests of the frame decoder: one frame per link type and encapsulation, built around
//! the same IPv4/UDP and IPv6/TCP packets, plus truncation at every offset.

use super::*;

/// IPv4/UDP 192.0.2.1:5353 -> 198.51.100.2:53 with 4 payload bytes (valid lengths).
fn ipv4_udp() -> Vec<u8> {
    let mut p = vec![
        0x45, 0, 0, 32, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2, // IPv4
        0x14, 0xe9, 0, 53, 0, 12, 0, 0, // UDP
        b'd', b'a', b't', b'a',
    ];
    p.resize(32, 0);
    p
}

/// IPv6/TCP [2001:db8::1]:40000 -> [2001:db8::2]:443, SYN, no payload.
fn ipv6_tcp() -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
    p.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&[
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
    ]);
    p
}

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn decoded(link: LinkType, frame: &[u8]) -> Packet<'_> {
    decode(link, frame, DecodeOptions::default()).unwrap_or_else(|e| panic!("{link:?}: {e:?}"))
}

fn tunnels() -> DecodeOptions {
    DecodeOptions {
        decode_tunnels: true,
    }
}

fn assert_v4_udp(p: &Packet<'_>) {
    assert_eq!((p.src, p.src_port), ("192.0.2.1".parse().unwrap(), 5353));
    assert_eq!((p.dst, p.dst_port), ("198.51.100.2".parse().unwrap(), 53));
    assert_eq!(p.l4_proto, 17);
    assert_eq!(p.l3[..20], ipv4_udp()[..20], "l3 starts at the IPv4 header");
}

#[test]
fn ethernet_ipv4_and_ipv6() {
    let v4 = ethernet(ETH_P_IP, &ipv4_udp());
    assert_v4_udp(&decoded(LinkType::Ethernet, &v4));
    let v6 = ethernet(ETH_P_IPV6, &ipv6_tcp());
    let p = decoded(LinkType::Ethernet, &v6);
    assert_eq!(
        (p.src_port, p.dst_port, p.l4_proto, p.tcp_flags),
        (40000, 443, 6, Some(tcp_flags::SYN))
    );
    assert_eq!(
        p.dst,
        "2001:db8::2".parse::<IpAddr>().unwrap(),
        "full IPv6 addresses, not folded"
    );
}

#[test]
fn every_link_layer() {
    let ip = ipv4_udp();
    let frames: Vec<(LinkType, Vec<u8>)> = vec![
        (LinkType::Null, cat(&[&2u32.to_ne_bytes(), &ip])),
        (LinkType::Loop, cat(&[&2u32.to_be_bytes(), &ip])),
        (LinkType::RawIp, ip.clone()),
        (LinkType::Ppp, cat(&[&[0x00, 0x21], &ip])),
        (LinkType::Ppp, cat(&[&[0xff, 0x03, 0x00, 0x21], &ip])),
        (LinkType::PppSerial, cat(&[&[0x0f, 0x00, 0x08, 0x00], &ip])),
        (LinkType::CiscoHdlc, cat(&[&[0x0f, 0x00, 0x08, 0x00], &ip])),
        (
            LinkType::LinuxSll,
            cat(&[&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00], &ip]),
        ),
        (
            LinkType::LinuxSll2,
            cat(&[
                &[
                    0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
                ],
                &ip,
            ]),
        ),
        // 802.3 length + LLC/SNAP carrying IPv4.
        (
            LinkType::Ethernet,
            ethernet(40, &cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], &ip])),
        ),
    ];
    for (link, frame) in &frames {
        assert_v4_udp(&decoded(*link, frame));
    }
}

#[test]
fn radiotap_80211_data_frames() {
    let ip = ipv4_udp();
    // Radiotap header of 18 bytes with the flags byte at offset 16 (as the reference reads it).
    let radiotap = |flags: u8| {
        let mut r = vec![0, 0, 18, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, flags, 0];
        r.truncate(18);
        r
    };
    // QoS data to the DS: 26-byte 802.11 header, then LLC/SNAP.
    let mut wifi = vec![0x88, 0x01];
    wifi.resize(26, 0);
    let llc = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    let good = cat(&[&radiotap(0), &wifi, &llc, &ip]);
    assert_v4_udp(&decoded(LinkType::Radiotap, &good));
    let bad_fcs = cat(&[&radiotap(0x50), &wifi, &llc, &ip]);
    assert_eq!(
        decode(LinkType::Radiotap, &bad_fcs, DecodeOptions::default()),
        Err(DropReason::BadFcs)
    );
    let mut beacon = wifi.clone();
    beacon[0] = 0x80; // management frame
    let management = cat(&[&radiotap(0), &beacon, &llc, &ip]);
    assert_eq!(
        decode(LinkType::Radiotap, &management, DecodeOptions::default()),
        Err(DropReason::NotIp)
    );
}

#[test]
fn vlan_qinq_mpls_pppoe() {
    let ip = ipv4_udp();
    let vlan = ethernet(ETH_P_VLAN, &cat(&[&[0x20, 0x07, 0x08, 0x00], &ip]));
    assert_eq!(decoded(LinkType::Ethernet, &vlan).vlan_id, 7);
    // 802.1ad outer tag 100, inner 802.1Q tag 200: the innermost ID counts.
    let qinq = ethernet(
        ETH_P_QINQ,
        &cat(&[&[0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00], &ip]),
    );
    let p = decoded(LinkType::Ethernet, &qinq);
    assert_eq!(p.vlan_id, 200);
    assert_v4_udp(&p);
    // Two MPLS labels, the second with bottom-of-stack.
    let mpls = ethernet(
        ETH_P_MPLS_UNI,
        &cat(&[&[0, 0x01, 0x00, 64, 0, 0x02, 0x01, 64], &ip]),
    );
    assert_v4_udp(&decoded(LinkType::Ethernet, &mpls));
    let pppoe = ethernet(
        ETH_P_PPPOE,
        &cat(&[&[0x11, 0, 0, 1, 0, 34, 0x00, 0x21], &ip]),
    );
    assert_v4_udp(&decoded(LinkType::Ethernet, &pppoe));
}

#[test]
fn deep_stacks_terminate_with_an_error() {
    // 64 VLAN tags and no IP header: an error, never a hang or a panic.
    let mut payload = Vec::new();
    for _ in 0..64 {
        payload.extend_from_slice(&[0x00, 0x05, 0x81, 0x00]);
    }
    assert!(decode(
        LinkType::Ethernet,
        &ethernet(ETH_P_VLAN, &payload),
        DecodeOptions::default()
    )
    .is_err());
    // 64 MPLS labels without bottom-of-stack run off the end.
    let labels: Vec<u8> = (0..64).flat_map(|_| [0, 0x01, 0x00, 64]).collect();
    let frame = ethernet(ETH_P_MPLS_UNI, &labels);
    assert_eq!(
        decode(LinkType::Ethernet, &frame, DecodeOptions::default()),
        Err(DropReason::TooShort)
    );
}

#[test]
fn ip_in_ip_and_ipv6_extension_headers() {
    let ip = ipv4_udp();
    let mut outer = ipv4_udp()[..20].to_vec();
    outer[9] = 4; // IPv4-in-IPv4
    outer[2..4].copy_from_slice(&((20 + ip.len()) as u16).to_be_bytes());
    assert_v4_udp(&decoded(LinkType::RawIp, &cat(&[&outer, &ip])));

    let mut six_in_four = outer.clone();
    six_in_four[9] = 41;
    let frame = cat(&[&six_in_four, &ipv6_tcp()]);
    let p = decoded(LinkType::RawIp, &frame);
    assert_eq!((p.l4_proto, p.dst_port), (6, 443));

    // Hop-by-hop (8 bytes) then destination options (16 bytes) before TCP.
    let base = ipv6_tcp();
    let mut with_ext = base[..40].to_vec();
    with_ext[6] = 0;
    with_ext[4..6].copy_from_slice(&(20u16 + 24).to_be_bytes());
    with_ext.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
    with_ext.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    with_ext.extend_from_slice(&base[40..]);
    let p = decoded(LinkType::RawIp, &with_ext);
    assert_eq!((p.l4_proto, p.src_port, p.dst_port), (6, 40000, 443));

    // A non-first IPv6 fragment is dropped like the reference drops IPv4 ones.
    let mut frag = base[..40].to_vec();
    frag[6] = 44;
    frag[4..6].copy_from_slice(&(20u16 + 8).to_be_bytes());
    frag.extend_from_slice(&[6, 0, 0x00, 0x08, 0, 0, 0, 1]);
    frag.extend_from_slice(&base[40..]);
    assert_eq!(
        decode(LinkType::RawIp, &frag, DecodeOptions::default()),
        Err(DropReason::Fragment)
    );
}

#[test]
fn ipv4_fragments_and_lying_lengths() {
    let mut frag = ipv4_udp();
    frag[6..8].copy_from_slice(&0x0010u16.to_be_bytes()); // offset 128 bytes
    let frame = ethernet(ETH_P_IP, &frag);
    assert_eq!(
        decode(LinkType::Ethernet, &frame, DecodeOptions::default()),
        Err(DropReason::Fragment)
    );

    let mut long = ipv4_udp();
    long[2..4].copy_from_slice(&1500u16.to_be_bytes()); // total length beyond the capture
    assert_eq!(
        decode(LinkType::RawIp, &long, DecodeOptions::default()),
        Err(DropReason::MalformedIp)
    );
    let mut v6 = ipv6_tcp();
    v6[4..6].copy_from_slice(&9000u16.to_be_bytes());
    assert_eq!(
        decode(LinkType::RawIp, &v6, DecodeOptions::default()),
        Err(DropReason::TooShort)
    );
    let mut short_tcp = ipv4_udp();
    short_tcp[9] = 6; // TCP, but only 12 bytes of L4: kept, without ports (as the reference)
    let p = decoded(LinkType::RawIp, &short_tcp);
    assert_eq!(
        (p.l4_proto, p.src_port, p.dst_port, p.tcp_flags),
        (6, 0, 0, None)
    );
}

fn udp_around(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut ip = ipv4_udp()[..28].to_vec();
    ip[2..4].copy_from_slice(&((28 + payload.len()) as u16).to_be_bytes());
    ip[22..24].copy_from_slice(&dport.to_be_bytes());
    ip[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    cat(&[&ip, payload])
}

#[test]
fn tunnels_are_opened_only_when_asked() {
    let inner = ipv4_udp();
    let gtp = udp_around(2152, &cat(&[&[0x30, 0xff, 0, 32, 0, 0, 0, 1], &inner]));
    let vxlan = udp_around(
        4789,
        &cat(&[&[0x08, 0, 0, 0, 0, 0, 1, 0], &ethernet(ETH_P_IP, &inner)]),
    );
    let tzsp = udp_around(
        37008,
        &cat(&[&[1, 0, 0, 1, 1], &ethernet(ETH_P_IP, &inner)]),
    );
    let mut capwap_hdr = vec![0x00, 0x10, 0, 0, 0, 0, 0, 0]; // 8-byte CAPWAP header
                                                             // 802.11 data; nDPI 4.10's reader also wants 0x08 in the frame control's second byte.
    let mut wifi = vec![0x08, 0x08];
    wifi.resize(24, 0);
    capwap_hdr.extend_from_slice(&wifi);
    capwap_hdr.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    let capwap = udp_around(5247, &cat(&[&capwap_hdr, &inner]));
    let mut gre = ipv4_udp()[..20].to_vec();
    gre[9] = 47;
    gre[2..4].copy_from_slice(&((24 + inner.len()) as u16).to_be_bytes());
    let gre = cat(&[&gre, &[0, 0, 0x08, 0x00], &inner]);

    for (frame, tunnel) in [
        (&gtp, Tunnel::Gtp),
        (&vxlan, Tunnel::Vxlan),
        (&tzsp, Tunnel::Tzsp),
        (&capwap, Tunnel::Capwap),
        (&gre, Tunnel::Gre),
    ] {
        let outer = decode(LinkType::RawIp, frame, DecodeOptions::default()).unwrap();
        assert_eq!(
            outer.tunnel,
            Tunnel::None,
            "{tunnel:?} is left closed by default"
        );
        let p = decode(LinkType::RawIp, frame, tunnels())
            .unwrap_or_else(|e| panic!("{tunnel:?}: {e:?}"));
        assert_eq!(p.tunnel, tunnel);
        assert_v4_udp(&p);
    }
}

#[test]
fn truncation_at_every_offset_is_an_error_not_a_panic() {
    let frames: Vec<(LinkType, Vec<u8>)> = vec![
        (
            LinkType::Ethernet,
            ethernet(ETH_P_VLAN, &cat(&[&[0x20, 0x07, 0x86, 0xdd], &ipv6_tcp()])),
        ),
        (
            LinkType::Ethernet,
            ethernet(ETH_P_MPLS_UNI, &cat(&[&[0, 0x01, 0x01, 64], &ipv4_udp()])),
        ),
        (
            LinkType::LinuxSll2,
            cat(&[&[0x08, 0x00], &[0; 18], &ipv4_udp()]),
        ),
        (
            LinkType::RawIp,
            udp_around(
                2152,
                &cat(&[
                    &[0x34, 0xff, 0, 36, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0],
                    &ipv4_udp(),
                ]),
            ),
        ),
    ];
    for (link, frame) in frames {
        for cut in 0..frame.len() {
            let _ = decode(link, &frame[..cut], tunnels());
        }
        assert!(
            decode(link, &frame, tunnels()).is_ok(),
            "{link:?} whole frame decodes"
        );
    }
    // Arbitrary bytes, every link type, every length: no panic.
    let noise: Vec<u8> = (0..200u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for dlt in [0, 1, 9, 12, 50, 104, 108, 113, 127, 276] {
        let link = LinkType::from_dlt(dlt).unwrap();
        for cut in 0..noise.len() {
            let _ = decode(link, &noise[..cut], tunnels());
        }
    }
    assert_eq!(LinkType::from_dlt(147), None, "user DLTs are not decoded");
}

#[test]
fn nested_encapsulations_are_bounded() {
    // Each decodes as one more header inside the last: IPv4-in-IPv4 with 4-byte headers
    // (0x41: version 4, IHL 1; byte 9 of each header, 0x04, is the next one's byte 1), IPv6-in-IPv6
    // and Ethernet-in-Ethernet (0x6558), each filling a 64 KiB frame. The decoder opens a few
    // levels, like the tunnels, and must not recurse once per header (a stack overflow aborts
    // the whole process).
    let ip_in_ip: Vec<u8> = [0x41, 0x04, 0, 0].repeat(1 << 14);
    let mut v6 = ipv6_tcp()[..40].to_vec();
    v6[6] = 41;
    let v6_in_v6: Vec<u8> = (0..1600u16)
        .flat_map(|level| {
            let mut header = v6.clone();
            header[4..6].copy_from_slice(&((1600 - 1 - level) * 40).to_be_bytes());
            header
        })
        .collect();
    let teb_in_teb = ethernet(ETH_P_TEB, &[]).repeat(1 << 12);
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            for (link, frame) in [
                (LinkType::RawIp, &ip_in_ip),
                (LinkType::RawIp, &v6_in_v6),
                (LinkType::Ethernet, &teb_in_teb),
            ] {
                let _ = decode(link, frame, tunnels());
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
