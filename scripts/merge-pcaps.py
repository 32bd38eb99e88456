#!/usr/bin/env python3
"""Merge pcap and pcapng files' frames of one link type into one pcap capture, for benchmarks.

    scripts/merge-pcaps.py OUT.pcap IN.pcap...          (Ethernet, link type 1)
    scripts/merge-pcaps.py --linktype 113 OUT.pcap IN...
    scripts/merge-pcaps.py --copies 8 --vlan --max-gap 86400 target/bench-8x-vlan.pcap \
        vendor/nDPI-4.2/tests/pcap/*

The last is the throughput benchmark's workload (issue 15): nDPI's Ethernet captures merged and
written 8 times, copy k on its own VLAN (k + 1), which gives 8 times the flows with real payloads;
about 1.7 million frames, 1.2 GB.

Frames of another link type (a pcapng file's other interfaces) and files that are not captures
are skipped (files named on stderr). Records are copied unchanged except their timestamps: each file is shifted
to start one second after the latest timestamp written so far, so time only moves forward
between files (within a file, the original order is kept). A file that ends in a truncated
record contributes the records before it. The output is little-endian, microsecond
resolution; nanosecond inputs are converted. Only the Python standard library is used.

--copies N writes the merged inputs N times, each copy starting one second after the previous
one ends, as the next file would. With --vlan (Ethernet only) copy k (from 0) gets an 802.1Q tag
with VLAN ID k + 1 inserted after the MAC addresses: a frame already tagged gets it as the outer
tag. Tagged frames are 4 bytes longer on the wire and in the file (cut at the snapshot length).

--max-gap SECONDS shortens longer pauses between consecutive records of a file to that (steps
back in time are kept). A few of nDPI's captures span years between two records (tftp.pcap
eight), so that one merged copy spans 21 years; eight would not fit the format's 32-bit seconds
(nor libpcap's signed reading of them, which ends in 2038). With one day, a copy spans 21 days.
"""

import argparse
import struct
import sys

MAX_CAPLEN = 262144
MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}


def records(data, endian, ns_per_unit):
    """(timestamp in ns, caplen, wire len, frame bytes) of each whole record."""
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, wire = struct.unpack_from(endian + "IIII", data, at)
        if caplen > MAX_CAPLEN or at + 16 + caplen > len(data):
            return
        yield sec * 1_000_000_000 + frac * ns_per_unit, caplen, wire, data[at + 16:at + 16 + caplen]
        at += 16 + caplen


def pcapng_records(data, linktype):
    """(timestamp in ns, caplen, wire len, frame bytes) of each packet block of a pcapng file
    on an interface of the link type: enhanced packet blocks, and simple ones (which carry no
    time: they take the previous record's)."""
    at, endian, interfaces, last_ts = 0, "<", [], 0
    while at + 12 <= len(data):
        kind = struct.unpack_from(endian + "I", data, at)[0]
        if kind == 0x0A0D0D0A:  # section header: byte order, then a new list of interfaces
            endian = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        length = struct.unpack_from(endian + "I", data, at + 4)[0]
        if length < 12 or at + length > len(data):
            return
        body = data[at + 8:at + length - 4]
        if kind == 1 and len(body) >= 8:  # interface description: link type, options
            resolution = 1000  # ns per unit: microseconds unless if_tsresol says otherwise
            opt = 8
            while opt + 4 <= len(body):
                code, size = struct.unpack_from(endian + "HH", body, opt)
                if code == 0:
                    break
                if code == 9 and size >= 1:
                    exp = body[opt + 4]
                    unit = 2 ** -(exp & 0x7F) if exp & 0x80 else 10 ** -exp
                    resolution = unit * 1_000_000_000
                opt += 4 + (size + 3) // 4 * 4
            interfaces.append((struct.unpack_from(endian + "H", body, 0)[0], resolution))
        elif kind == 6 and len(body) >= 20:  # enhanced packet
            iface, high, low, caplen, wire = struct.unpack_from(endian + "IIIII", body, 0)
            if iface < len(interfaces) and interfaces[iface][0] == linktype:
                caplen = min(caplen, len(body) - 20, MAX_CAPLEN)
                last_ts = int(((high << 32) | low) * interfaces[iface][1])
                yield last_ts, caplen, wire, body[20:20 + caplen]
        elif kind == 3 and len(body) >= 4 and interfaces and interfaces[0][0] == linktype:
            wire = struct.unpack_from(endian + "I", body, 0)[0]
            caplen = min(wire, len(body) - 4, MAX_CAPLEN)
            yield last_ts, caplen, wire, body[4:4 + caplen]
        at += length


def inputs(paths, linktype, quiet):
    """The records of each pcap or pcapng file, of the link type's frames."""
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] == b"\x0a\x0d\x0d\x0a":
            yield pcapng_records(data, linktype)
            continue
        kind = MAGICS.get(data[:4])
        if kind is None or len(data) < 24:
            if not quiet:
                print(f"skipped (not a capture): {path}", file=sys.stderr)
            continue
        endian, ns_per_unit = kind
        found = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
        if found != linktype:
            if not quiet:
                print(f"skipped (link type {found}): {path}", file=sys.stderr)
            continue
        yield records(data, endian, ns_per_unit)


def vlan_tagged(frame, wire, vlan_id):
    """The Ethernet frame with an 802.1Q tag of `vlan_id` after its MAC addresses."""
    if len(frame) < 12:
        return frame, wire
    tagged = frame[:12] + struct.pack(">HH", 0x8100, vlan_id) + frame[12:]
    return tagged[:MAX_CAPLEN], min(wire + 4, 0xFFFFFFFF)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linktype", type=int, default=1)
    parser.add_argument("--copies", type=int, default=1, help="write the merged inputs N times")
    parser.add_argument("--vlan", action="store_true", help="copy k on VLAN k + 1 (Ethernet)")
    parser.add_argument("--max-gap", type=float, help="longest pause kept within a file, in s")
    parser.add_argument("out")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    if args.vlan and args.linktype != 1:
        parser.error("--vlan needs Ethernet (--linktype 1)")

    max_gap = None if args.max_gap is None else int(args.max_gap * 1_000_000_000)
    files = frames = 0
    next_start = 0  # ns
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, MAX_CAPLEN, args.linktype))
        for copy in range(args.copies):
            for file_records in inputs(args.inputs, args.linktype, copy > 0):
                latest = next_start
                # The time since the file's first record, with long pauses shortened.
                prev = since_first = None
                for ts, caplen, wire, frame in file_records:
                    if prev is None:
                        since_first = 0
                    elif max_gap is None:
                        since_first += ts - prev
                    else:
                        since_first += min(ts - prev, max_gap)
                    prev = ts
                    ts = max(next_start + since_first, 0)
                    latest = max(latest, ts)
                    if args.vlan:
                        frame, wire = vlan_tagged(frame, wire, copy + 1)
                        caplen = len(frame)
                    us = ts // 1000
                    out.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, caplen, wire))
                    out.write(frame)
                    frames += 1
                next_start = latest + 1_000_000_000
                files += 1
    print(f"{args.out}: {frames} frames from {files} files", file=sys.stderr)


if __name__ == "__main__":
    main()
