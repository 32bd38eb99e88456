#!/usr/bin/env python3
"""Merge classic pcap files of one link type into one capture, for benchmarks.

    scripts/merge-pcaps.py OUT.pcap IN.pcap...          (Ethernet, link type 1)
    scripts/merge-pcaps.py --linktype 113 OUT.pcap IN...

Files of another link type, pcapng files and files that are not captures are skipped (and
named on stderr). Records are copied unchanged except their timestamps: each file is shifted
to start one second after the latest timestamp written so far, so time only moves forward
between files (within a file, the original order is kept). A file that ends in a truncated
record contributes the records before it. The output is little-endian, microsecond
resolution; nanosecond inputs are converted. Only the Python standard library is used.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linktype", type=int, default=1)
    parser.add_argument("out")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()

    files = frames = 0
    next_start = 0  # ns
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, MAX_CAPLEN, args.linktype))
        for path in args.inputs:
            with open(path, "rb") as f:
                data = f.read()
            kind = MAGICS.get(data[:4])
            if kind is None or len(data) < 24:
                print(f"skipped (not a classic pcap): {path}", file=sys.stderr)
                continue
            endian, ns_per_unit = kind
            linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
            if linktype != args.linktype:
                print(f"skipped (link type {linktype}): {path}", file=sys.stderr)
                continue
            shift = None
            latest = next_start
            for ts, caplen, wire, frame in records(data, endian, ns_per_unit):
                if shift is None:
                    shift = next_start - ts
                ts = max(ts + shift, 0)
                latest = max(latest, ts)
                us = ts // 1000
                out.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, caplen, wire))
                out.write(frame)
                frames += 1
            next_start = latest + 1_000_000_000
            files += 1
    print(f"{args.out}: {frames} frames from {files} files", file=sys.stderr)


if __name__ == "__main__":
    main()
