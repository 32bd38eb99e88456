#!/usr/bin/env python3
"""Write a flood of one-packet UDP flows, for memory benchmarks (issue 15's flood).

    scripts/flood-pcap.py target/flood-1m.pcap             # 1,000,000 flows, 1 ms apart
    scripts/flood-pcap.py --flows 1000 target/flood-1k.pcap

Each flow is one Ethernet/IPv4/UDP frame from its own client (10.0.0.0/8, ports 1024-1279)
to 192.0.2.1:5000, with a 5-byte payload no nDPI dissector recognizes: every flow stays in
detection, holding nDPI's flow state, until the capture ends. Frame i is stamped 1 ms after
frame i - 1 (from 2024-01-01), so 1,000,000 flows span 1,000 s. Little-endian pcap,
microsecond resolution, link type 1; only the Python standard library is used.
"""

import argparse
import struct


def checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(i: int) -> bytes:
    payload = b"flood"
    src = 0x0A000000 | (i >> 8)
    sport = 1024 + (i & 0xFF)
    udp = struct.pack("!HHHH", sport, 5000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, 0xC0000201)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return ethernet + ip + udp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("out")
    args = parser.parse_args()
    start_us = 1_704_067_200 * 1_000_000
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(args.flows):
            data = frame(i)
            t = start_us + i * 1000
            out.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)))
            out.write(data)


if __name__ == "__main__":
    main()
