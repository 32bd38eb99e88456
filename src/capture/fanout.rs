//! Linux AF_PACKET fanout: several live captures of one interface share its frames, each frame
//! going to one of them, chosen by a classic BPF program that hashes the frame's VLAN and its two
//! IP addresses symmetrically (both directions of a flow, and every flow between two hosts, go
//! to the same capture).

use std::io;
use std::os::fd::AsRawFd;
use std::time::SystemTime;

use super::{Capture, Handle};

/// One classic BPF instruction (`struct sock_filter`).
type Insn = libc::sock_filter;

// Classic BPF opcodes (linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
const AND: u16 = 0x50;
const RSH: u16 = 0x70;
const XOR: u16 = 0xa0;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const TAX: u16 = 0x00;

/// Loads relative to the network header: the kernel runs fanout programs with the frame's data
/// starting there or at the link header depending on the path, and `SKF_NET_OFF` is the same on
/// both.
const NET: i32 = libc::SKF_NET_OFF;
/// Ancillary loads: the frame's protocol (its EtherType, after the tag the kernel took out) and
/// the 802.1Q TCI the kernel took out of the frame (0 when none).
const AD_PROTOCOL: i32 = libc::SKF_AD_OFF + libc::SKF_AD_PROTOCOL;
const AD_VLAN_TAG: i32 = libc::SKF_AD_OFF + libc::SKF_AD_VLAN_TAG;

fn stmt(code: u16, k: i32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k: k as u32,
    }
}

/// A jump to a label, patched when the program is complete.
struct Jump {
    at: usize,
    to: &'static str,
}

/// A tiny assembler: instructions, labels and forward jumps.
#[derive(Default)]
struct Program {
    insns: Vec<Insn>,
    labels: Vec<(&'static str, usize)>,
    jumps: Vec<Jump>,
}

impl Program {
    fn push(&mut self, code: u16, k: i32) {
        self.insns.push(stmt(code, k));
    }

    fn label(&mut self, name: &'static str) {
        self.labels.push((name, self.insns.len()));
    }

    /// `if A == k goto to` (else the next instruction).
    fn jeq(&mut self, k: i32, to: &'static str) {
        self.jumps.push(Jump {
            at: self.insns.len(),
            to,
        });
        self.push(JMP | JEQ | K, k);
    }

    /// `goto to`.
    fn ja(&mut self, to: &'static str) {
        self.jumps.push(Jump {
            at: self.insns.len(),
            to,
        });
        self.push(JMP | JA, 0);
    }

    fn finish(mut self) -> Vec<Insn> {
        for jump in &self.jumps {
            let target = self
                .labels
                .iter()
                .find(|(name, _)| *name == jump.to)
                .expect("a defined label")
                .1;
            let offset = target - jump.at - 1;
            let insn = &mut self.insns[jump.at];
            if insn.code == JMP | JA {
                insn.k = offset as u32;
            } else {
                insn.jt = u8::try_from(offset).expect("a short program");
            }
        }
        self.insns
    }

    /// `A = the XOR of the 32-bit words of the source and destination addresses`, for an IPv4
    /// (`words` 1) or IPv6 (`words` 4) header starting `base` bytes after the network header.
    fn addresses(&mut self, base: i32, src_offset: i32, words: i32) {
        // Source word i and destination word i are XORed in turn into M[1].
        self.push(LD | W | ABS, NET + base + src_offset);
        self.push(ST, 1);
        for i in 0..2 * words {
            if i == 0 {
                continue;
            }
            self.push(LDX | MEM, 1);
            self.push(LD | W | ABS, NET + base + src_offset + 4 * i);
            self.push(ALU | XOR | X, 0);
            self.push(ST, 1);
        }
        self.ja("fold");
    }
}

/// The fanout program: returns a hash of the frame's innermost VLAN ID and the XOR of its
/// source and destination addresses (IPv4 or IPv6, untagged or with one 802.1Q/802.1ad tag left
/// in the frame); the kernel takes it modulo the number of captures. Swapping source and
/// destination permutes the XOR's operands, so both directions get the same hash. Frames that
/// are not IP go to the first capture.
pub(crate) fn program() -> Vec<Insn> {
    let mut p = Program::default();
    // M[0] = the VLAN ID the kernel took out of the frame (0: none).
    p.push(LD | W | ABS, AD_VLAN_TAG);
    p.push(ALU | AND | K, 0x0fff);
    p.push(ST, 0);
    p.push(LD | W | ABS, AD_PROTOCOL);
    p.jeq(0x0800, "ipv4");
    p.jeq(0x86dd, "ipv6");
    p.jeq(0x8100, "tagged");
    p.jeq(0x88a8, "tagged");
    p.push(RET | K, 0);
    // A tag the kernel left in the frame (the inner one of two): its VLAN ID is the innermost.
    p.label("tagged");
    p.push(LD | H | ABS, NET);
    p.push(ALU | AND | K, 0x0fff);
    p.push(ST, 0);
    p.push(LD | H | ABS, NET + 2);
    p.jeq(0x0800, "tagged_ipv4");
    p.jeq(0x86dd, "tagged_ipv6");
    p.push(RET | K, 0);
    p.label("ipv4");
    p.addresses(0, 12, 1);
    p.label("ipv6");
    p.addresses(0, 8, 4);
    p.label("tagged_ipv4");
    p.addresses(4, 12, 1);
    p.label("tagged_ipv6");
    p.addresses(4, 8, 4);
    // A = M[1] ^ VLAN, then folded so that every bit of it reaches the low bits (the kernel
    // keeps the remainder modulo the number of captures).
    p.label("fold");
    p.push(LDX | MEM, 0);
    p.push(LD | MEM, 1);
    p.push(ALU | XOR | X, 0);
    p.push(MISC | TAX, 0);
    p.push(ALU | RSH | K, 16);
    p.push(ALU | XOR | X, 0);
    p.push(MISC | TAX, 0);
    p.push(ALU | RSH | K, 8);
    p.push(ALU | XOR | X, 0);
    p.push(RET | A, 0);
    p.finish()
}

impl Capture {
    /// Joins live captures of one interface into one new AF_PACKET fanout group (Linux), with a
    /// classic BPF program that gives each frame to one of them by a symmetric hash of its VLAN
    /// and IP addresses: both directions of a flow, and all flows between two hosts, go to the
    /// same capture. Each capture can then be read by its own thread.
    ///
    /// Until a capture joins the group it receives every frame, so each one may hold frames from
    /// before the group was complete, which the others have too. The returned time (ms since the
    /// Unix epoch, the base of live frame times) is when the group was complete: frames stamped
    /// before it should be skipped.
    ///
    /// Fails when a capture is not live, or when the kernel refuses the group (not Linux 4.2+,
    /// not an AF_PACKET socket); the captures are then unchanged or partly joined, and should be
    /// dropped but one.
    pub fn join_fanout(captures: &[Capture]) -> io::Result<u64> {
        let mut fds = Vec::with_capacity(captures.len());
        for capture in captures {
            match &capture.handle {
                Handle::Live(h, _) => fds.push(h.as_raw_fd()),
                Handle::File(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "fanout needs live captures",
                    ))
                }
            }
        }
        let Some(&first) = fds.first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no captures"));
        };
        // The first socket creates a group with an ID of the kernel's choosing (never one
        // another process uses), the others join it by that ID.
        let mode = libc::PACKET_FANOUT_CBPF;
        set_int(
            first,
            libc::PACKET_FANOUT,
            (mode | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16,
        )?;
        let id = get_int(first, libc::PACKET_FANOUT)? & 0xffff;
        for &fd in &fds[1..] {
            set_int(fd, libc::PACKET_FANOUT, (mode << 16) | id)?;
        }
        let mut insns = program();
        let fprog = libc::sock_fprog {
            len: insns.len() as u16,
            filter: insns.as_mut_ptr(),
        };
        // SAFETY: `fprog` points at `insns`, both alive for the call; the kernel copies the
        // program and checks it.
        let rc = unsafe {
            libc::setsockopt(
                first,
                libc::SOL_PACKET,
                libc::PACKET_FANOUT_DATA,
                std::ptr::addr_of!(fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The next whole millisecond: every frame the kernel handed out before the program was
        // in place is stamped before it.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX) + 1)
    }
}

fn set_int(fd: i32, option: i32, value: u32) -> io::Result<()> {
    // SAFETY: a valid pointer to an int and its size, for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            option,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn get_int(fd: i32, option: i32) -> io::Result<u32> {
    let mut value = 0u32;
    let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
    // SAFETY: valid pointers to an int and to its size, for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            option,
            std::ptr::addr_of_mut!(value).cast(),
            &mut len,
        )
    };
    match rc {
        0 => Ok(value),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the kernel knows of a received frame: the bytes from the network header on, its
    /// protocol and the VLAN tag it took out.
    struct Skb<'a> {
        net: &'a [u8],
        protocol: u16,
        vlan_tci: u16,
    }

    /// A classic BPF interpreter for the instructions the program uses, as the kernel runs
    /// them (a load out of bounds ends the program with 0).
    fn run(program: &[Insn], skb: &Skb<'_>) -> u32 {
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0;
        let load = |k: u32, size: usize| -> Option<u32> {
            let k = k as i32;
            if k == AD_PROTOCOL {
                return Some(skb.protocol.into());
            }
            if k == AD_VLAN_TAG {
                return Some(skb.vlan_tci.into());
            }
            assert!(
                (NET..NET + 0x10000).contains(&k),
                "only network-relative loads"
            );
            let at = (k - NET) as usize;
            let bytes = skb.net.get(at..at + size)?;
            Some(bytes.iter().fold(0, |v, b| v << 8 | u32::from(*b)))
        };
        loop {
            let insn = program[pc];
            pc += 1;
            match insn.code {
                c if c == LD | W | ABS => match load(insn.k, 4) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD | H | ABS => match load(insn.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD | MEM => a = mem[insn.k as usize],
                c if c == LDX | MEM => x = mem[insn.k as usize],
                c if c == ST => mem[insn.k as usize] = a,
                c if c == ALU | AND | K => a &= insn.k,
                c if c == ALU | RSH | K => a >>= insn.k,
                c if c == ALU | XOR | X => a ^= x,
                c if c == MISC | TAX => x = a,
                c if c == JMP | JA => pc += insn.k as usize,
                c if c == JMP | JEQ | K => {
                    pc += usize::from(if a == insn.k { insn.jt } else { insn.jf })
                }
                c if c == RET | K => return insn.k,
                c if c == RET | A => return a,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    /// A TCP header's worth of IPv4 or IPv6 packet between `src` and `dst`, after `tag` (an
    /// 802.1Q tag left in the frame: TCI and EtherType).
    fn packet(src: &[u8], dst: &[u8], tag: Option<u16>) -> (Vec<u8>, u16) {
        let v6 = src.len() == 16;
        let mut ip = match v6 {
            true => vec![0x60, 0, 0, 0, 0, 20, 6, 64],
            false => vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0],
        };
        ip.extend_from_slice(src);
        ip.extend_from_slice(dst);
        ip.extend_from_slice(&[0x1f, 0x90, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2]);
        let ethertype = if v6 { 0x86dd } else { 0x0800 };
        match tag {
            None => (ip, ethertype),
            Some(tci) => {
                let mut framed = tci.to_be_bytes().to_vec();
                framed.extend_from_slice(&u16::to_be_bytes(ethertype));
                framed.extend_from_slice(&ip);
                (framed, 0x8100)
            }
        }
    }

    fn hash(src: &[u8], dst: &[u8], stripped_vlan: u16, tag: Option<u16>) -> u32 {
        let (net, protocol) = packet(src, dst, tag);
        let skb = Skb {
            net: &net,
            protocol,
            vlan_tci: stripped_vlan,
        };
        run(&program(), &skb)
    }

    /// Pseudo-random bytes (xorshift), for many address pairs.
    fn bytes(state: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                *state as u8
            })
            .collect()
    }

    #[test]
    fn the_hash_is_the_same_in_both_directions() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for len in [4, 16] {
            for _ in 0..2000 {
                let (src, dst) = (bytes(&mut state, len), bytes(&mut state, len));
                let vlan = u16::from(bytes(&mut state, 1)[0]) << 4;
                for (stripped, tag) in [(0, None), (vlan, None), (vlan, Some(vlan | 0xe000))] {
                    let there = hash(&src, &dst, stripped, tag);
                    assert_eq!(there, hash(&dst, &src, stripped, tag), "{src:?} {dst:?}");
                }
            }
        }
    }

    #[test]
    fn the_hash_spreads_host_pairs_and_vlans() {
        let mut state = 7;
        for len in [4, 16] {
            for workers in [2, 3, 4] {
                let mut counts = vec![0; workers];
                for _ in 0..4000 {
                    let (src, dst) = (bytes(&mut state, len), bytes(&mut state, len));
                    counts[hash(&src, &dst, 0, None) as usize % workers] += 1;
                }
                let fair = 4000 / workers;
                assert!(
                    counts.iter().all(|&c| c > fair * 8 / 10),
                    "{len}-byte addresses over {workers}: {counts:?}"
                );
            }
        }
        // Loopback addresses that differ in one low bit, and VLANs.
        let (a, b) = ([127, 0, 0, 1], [127, 0, 0, 2]);
        assert_ne!(hash(&a, &b, 0, None), hash(&a, &[127, 0, 0, 3], 0, None));
        assert_ne!(hash(&a, &b, 0, None), hash(&a, &b, 5, None));
        // A tag in the frame gives the same hash as the same tag taken out by the kernel.
        assert_eq!(hash(&a, &b, 0, Some(0x2005)), hash(&a, &b, 0x2005, None));
    }

    #[test]
    fn frames_that_are_not_ip_go_to_the_first_capture() {
        let arp = Skb {
            net: &[0; 28],
            protocol: 0x0806,
            vlan_tci: 3,
        };
        assert_eq!(run(&program(), &arp), 0);
        // A truncated header ends the program as the kernel does.
        let short = Skb {
            net: &[0x45, 0],
            protocol: 0x0800,
            vlan_tci: 0,
        };
        assert_eq!(run(&program(), &short), 0);
    }
}
