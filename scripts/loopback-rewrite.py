#!/usr/bin/env python3
"""Rewrite an Ethernet capture for replaying onto a test interface: IPv4 only, loopback addresses.

    scripts/loopback-rewrite.py [--max-frame BYTES] IN.pcap OUT.pcap

Keeps the IPv4 frames (untagged, or under one or two 802.1Q/802.1ad tags, which are kept) and
drops everything else (IPv6, ARP, other EtherTypes, frames cut short before the end of the IPv4
addresses, frames longer than --max-frame, default 1518, which an interface with a 1500-byte MTU
would not carry). Every IPv4 source and destination address is moved into 127.0.0.0/8 keeping
its low 24 bits (10.1.2.3 becomes 127.1.2.3): distinct addresses may then coincide, which is
fine for classification. The IPv4 header checksum is recomputed; TCP/UDP checksums are left as
they are (neither libpcap, the kernel's packet sockets nor nDPI check them). Timestamps and the
other bytes are unchanged. Classic pcap in (either byte order, micro- or nanoseconds), classic
little-endian microsecond pcap out. Prints "kept N of M frames" on stderr.
"""

import argparse
import struct
import sys

MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1),
    b"\xa1\xb2\xc3\xd4": (">", 1),
    b"\x4d\x3c\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\x3c\x4d": (">", 1000),
}
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)


def ip_offset(frame):
    """Offset of the IPv4 header in an Ethernet frame, or None."""
    at = 12
    for _ in range(3):
        if len(frame) < at + 2:
            return None
        ethertype = struct.unpack_from(">H", frame, at)[0]
        if ethertype == 0x0800:
            return at + 2
        if ethertype not in VLAN_TYPES:
            return None
        at += 4
    return None


def checksum(header):
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rewrite(frame):
    """The rewritten frame, or None to drop it."""
    ip = ip_offset(frame)
    if ip is None or len(frame) < ip + 20 or frame[ip] >> 4 != 4:
        return None
    ihl = (frame[ip] & 0x0F) * 4
    out = bytearray(frame)
    out[ip + 12] = 127
    out[ip + 16] = 127
    if ihl >= 20 and len(out) >= ip + ihl:
        out[ip + 10:ip + 12] = b"\0\0"
        struct.pack_into(">H", out, ip + 10, checksum(bytes(out[ip:ip + ihl])))
    return bytes(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-frame", type=int, default=1518)
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    with open(args.input, "rb") as f:
        data = f.read()
    kind = MAGICS.get(data[:4])
    if kind is None:
        sys.exit(f"{args.input}: not a classic pcap")
    endian, divide = kind
    if struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF != 1:
        sys.exit(f"{args.input}: not Ethernet")
    kept = total = 0
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, wire = struct.unpack_from(endian + "IIII", data, at)
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        if len(frame) < caplen:
            break
        total += 1
        if caplen > args.max_frame:
            continue
        frame = rewrite(frame)
        if frame is None:
            continue
        kept += 1
        # What the replay sends is what was captured: the wire length is the captured one.
        out.append(struct.pack("<IIII", sec, frac // divide, caplen, caplen))
        out.append(frame)
    with open(args.output, "wb") as f:
        f.write(b"".join(out))
    print(f"kept {kept} of {total} frames", file=sys.stderr)


if __name__ == "__main__":
    main()
