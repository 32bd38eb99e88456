//! Builds the seed corpora from nDPI 4.2's test captures (`vendor/nDPI-4.2/tests/pcap`, fetched by
//! `vendor/fetch.sh`) and the project's own `tests/data/loopback.pcap`:
//!
//! - `decode`: the first frames of every capture under its own link type, and one IP packet of
//!   each capture re-wrapped in every other link-layer header (most link types have no capture);
//! - `pipeline`: the first frames of every capture, timed as captured;
//! - `pcap`: every capture file of at most 64 KiB, whole.
//!
//! `flowlua` needs no seeds: its records are built field by field from whatever bytes it gets.
//!
//! Usage: `cargo run --example seed -- OUT_DIR` (run by `fuzz/seed.sh`).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use ndpi::{decode, Capture, DecodeOptions, LinkType, Next};
use ndpi_fuzz::{encode_link, push_frame, LINKS, SEED_CONFIG};

const DECODE_FRAMES: usize = 8;
const PIPELINE_FRAMES: usize = 64;
const PIPELINE_BYTES: usize = 16 << 10;
const PCAP_BYTES: u64 = 64 << 10;

struct Corpus {
    dir: PathBuf,
    seen: HashSet<Vec<u8>>,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("the corpus directory can be created");
        Corpus {
            dir,
            seen: HashSet::new(),
        }
    }

    /// Writes `input` as `NAME-N` unless an identical seed exists.
    fn add(&mut self, name: &str, input: Vec<u8>) {
        if self.seen.insert(input.clone()) {
            let path = self.dir.join(format!("{name}-{}", self.seen.len()));
            fs::write(path, input).expect("the seed can be written");
        }
    }
}

/// `l3` (an IPv4 or IPv6 packet) behind the link-layer header of `link`.
fn wrap(link: LinkType, l3: &[u8]) -> Vec<u8> {
    let v4 = l3.first().is_some_and(|b| b >> 4 == 4);
    let ethertype: [u8; 2] = if v4 { [0x08, 0x00] } else { [0x86, 0xDD] };
    let ppp: [u8; 2] = if v4 { [0x00, 0x21] } else { [0x00, 0x57] };
    let family: u32 = if v4 { 2 } else { 24 };
    let mac = [0x02, 0, 0, 0, 0, 1];
    let header: Vec<u8> = match link {
        LinkType::Null => family.to_ne_bytes().to_vec(),
        LinkType::Loop => family.to_be_bytes().to_vec(),
        LinkType::Ethernet => [&mac[..], &mac, &ethertype].concat(),
        LinkType::Ppp | LinkType::PppSerial => [&[0xFF, 0x03][..], &ppp].concat(),
        LinkType::CiscoHdlc => [&[0x0F, 0x00][..], &ethertype].concat(),
        LinkType::RawIp => Vec::new(),
        // Packet type, ARPHRD_ETHER, address length and address, protocol.
        LinkType::LinuxSll => [&[0, 0, 0, 1, 0, 6][..], &mac, &[0, 0], &ethertype].concat(),
        // Protocol, reserved, interface index, ARPHRD_ETHER, packet type, address.
        LinkType::LinuxSll2 => [
            &ethertype[..],
            &[0, 0, 0, 0, 0, 1, 0, 1, 0, 6],
            &mac,
            &[0, 0],
        ]
        .concat(),
        // An 18-byte radiotap header (flags at 16: no bad FCS), a QoS data frame to the
        // distribution system (26 bytes), then LLC/SNAP.
        LinkType::Radiotap => {
            let mut radiotap = [0u8; 18];
            radiotap[2] = 18;
            let mut wifi = [0u8; 26];
            (wifi[0], wifi[1]) = (0x88, 0x01);
            [
                &radiotap[..],
                &wifi,
                &[0xAA, 0xAA, 0x03, 0, 0, 0],
                &ethertype,
            ]
            .concat()
        }
    };
    [header, l3.to_vec()].concat()
}

fn seed_capture(path: &Path, decode_corpus: &mut Corpus, pipeline: &mut Corpus) {
    let name = path.file_stem().unwrap_or_default().to_string_lossy();
    let Ok(mut capture) = Capture::open_file(path) else {
        return;
    };
    let Ok(link) = capture.link_type() else {
        return;
    };
    let mut input = vec![encode_link(link), SEED_CONFIG];
    let mut last_ms = None;
    let mut wrapped = false;
    for n in 0..PIPELINE_FRAMES {
        let Ok(Next::Frame(frame)) = capture.next_frame() else {
            break;
        };
        if n < DECODE_FRAMES {
            decode_corpus.add(&name, [&[encode_link(link)][..], frame.data].concat());
        }
        if !wrapped {
            if let Ok(packet) = decode(link, frame.data, DecodeOptions::default()) {
                for other in LINKS.into_iter().filter(|l| *l != link) {
                    let seed = [vec![encode_link(other)], wrap(other, packet.l3)].concat();
                    decode_corpus.add(&format!("{name}-as-{other:?}"), seed);
                }
                wrapped = true;
            }
        }
        if input.len() + frame.data.len() <= PIPELINE_BYTES {
            let step = frame
                .time_ms
                .saturating_sub(last_ms.unwrap_or(frame.time_ms))
                / 100;
            push_frame(&mut input, step.min(127) as i8, frame.data);
        }
        last_ms = Some(frame.time_ms);
    }
    pipeline.add(&name, input);
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "corpus".to_owned()),
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap_dir = repo.join("vendor/nDPI-4.2/tests/pcap");
    let mut captures: Vec<PathBuf> = fs::read_dir(&pcap_dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run vendor/fetch.sh)", pcap_dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    captures.sort();
    captures.push(repo.join("tests/data/loopback.pcap"));

    let mut decode_corpus = Corpus::new(&out, "decode");
    let mut pipeline = Corpus::new(&out, "pipeline");
    let mut pcap = Corpus::new(&out, "pcap");
    for path in &captures {
        seed_capture(path, &mut decode_corpus, &mut pipeline);
        if fs::metadata(path).is_ok_and(|m| m.len() <= PCAP_BYTES) {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            pcap.add(&name, fs::read(path).expect("a readable capture"));
        }
    }
    fs::create_dir_all(out.join("flowlua")).expect("the corpus directory can be created");
    for corpus in [&decode_corpus, &pipeline, &pcap] {
        println!("{}: {} seeds", corpus.dir.display(), corpus.seen.len());
    }
}
