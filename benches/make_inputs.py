#!/usr/bin/env python3
"""Generates the benchmark inputs from the lab samples (nothing is downloaded).

usage: make_inputs.py OUTDIR [--only http1|h2|har|corpus] [--mb 110] [--hars 20000]

Writes into OUTDIR (file names carry the size, so inputs of several sizes can sit side by side):
  http1-MB.pcapng  the lab's cleartext HTTP/1.1 capture, replicated to >= MB megabytes; each copy
                   moves the browser (127.0.0.1) to its own address and shifts time, so every copy
                   is a distinct set of TCP connections
  h2-MB.pcapng     the same for the TLS 1.3 + HTTP/2 capture with its keys embedded (DSB), and
  h2.keys          the key log (copies reuse the client randoms, so one key log decrypts all)
  big-MB.har       the lab HAR's entries repeated to >= MB megabytes (written as a stream, so a
                   1 GB HAR needs no more memory than a small one)
  corpus-HARS/     HARS small HARs, each with a slice of the lab HAR's entries
Without --only every part is made.
"""
import json, os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "..", "samples", "lab")

def blocks(data):
    """Yields (type, body_bytes, little_endian) for each pcapng block."""
    pos, le = 0, True
    while pos + 12 <= len(data):
        btype_raw = data[pos:pos + 4]
        if btype_raw == b"\x0a\x0d\x0d\x0a":
            bom = data[pos + 8:pos + 12]
            le = bom == b"\x4d\x3c\x2b\x1a"
        fmt = "<I" if le else ">I"
        btype = struct.unpack(fmt, btype_raw)[0]
        blen = struct.unpack(fmt, data[pos + 4:pos + 8])[0]
        yield btype, data[pos:pos + blen], le
        pos += blen

def checksum(header):
    s = 0
    for i in range(0, len(header), 2):
        s += (header[i] << 8) + header[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def rewrite_packet(pkt, new_client):
    """Ethernet + IPv4: replace 127.0.0.1 by new_client and fix the IP checksum."""
    if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
        return pkt
    ip = bytearray(pkt[14:])
    ihl = (ip[0] & 0x0F) * 4
    old = b"\x7f\x00\x00\x01"
    changed = False
    if ip[12:16] == old:
        ip[12:16] = new_client; changed = True
    if ip[16:20] == old:
        ip[16:20] = new_client; changed = True
    if not changed:
        return pkt
    ip[10:12] = b"\x00\x00"
    ip[10:12] = struct.pack(">H", checksum(bytes(ip[:ihl])))
    return pkt[:14] + bytes(ip)

def replicate_pcapng(src, dst, target_bytes):
    data = open(src, "rb").read()
    head, packets = [], []
    for btype, block, le in blocks(data):
        if btype == 6:
            packets.append((block, le))
        elif not packets:
            head.append(block)
    span = 10 * 1_000_000  # shift each copy by 10 s (µs resolution)
    written = 0
    with open(dst, "wb") as out:
        for b in head:
            out.write(b); written += len(b)
        copy = 0
        while written < target_bytes:
            client = bytes([127, 1 + copy // 250, copy % 250, 1]) if copy else b"\x7f\x00\x00\x01"
            for block, le in packets:
                fmt = "<" if le else ">"
                iface, hi, lo, caplen, origlen = struct.unpack(fmt + "IIIII", block[8:28])
                pkt = block[28:28 + caplen]
                ts = ((hi << 32) | lo) + copy * span
                pkt = rewrite_packet(pkt, client)
                pad = (4 - len(pkt) % 4) % 4
                options = block[28 + caplen + ((4 - caplen % 4) % 4):-4]
                body = struct.pack(fmt + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(pkt), origlen) + pkt + b"\0" * pad + options
                total = 12 + len(body)
                blk = struct.pack(fmt + "II", 6, total) + body + struct.pack(fmt + "I", total)
                out.write(blk); written += len(blk)
            copy += 1
    return copy

def main():
    out = sys.argv[1]
    mb = 110
    hars = 20000
    only = None
    args = sys.argv[2:]
    if "--mb" in args:
        mb = int(args[args.index("--mb") + 1])
    if "--hars" in args:
        hars = int(args[args.index("--hars") + 1])
    if "--only" in args:
        only = args[args.index("--only") + 1]
    os.makedirs(out, exist_ok=True)
    target = mb * 1_000_000
    if only in (None, "http1"):
        n = replicate_pcapng(os.path.join(LAB, "http1", "capture.pcapng"), os.path.join(out, f"http1-{mb}.pcapng"), target)
        print(f"http1-{mb}.pcapng: {n} copies")
    if only in (None, "h2"):
        n = replicate_pcapng(os.path.join(LAB, "h2", "capture-dsb.pcapng"), os.path.join(out, f"h2-{mb}.pcapng"), target)
        open(os.path.join(out, "h2.keys"), "wb").write(open(os.path.join(LAB, "h2", "sslkeys.log"), "rb").read())
        print(f"h2-{mb}.pcapng: {n} copies")
    har = json.load(open(os.path.join(LAB, "h2", "site.har"), encoding="utf-8"))
    entries = har["log"]["entries"]
    if only in (None, "har"):
        encoded = [json.dumps(e, separators=(",", ":")) for e in entries]
        per_copy = sum(len(e) + 1 for e in encoded)
        copies = target // per_copy + 1
        with open(os.path.join(out, f"big-{mb}.har"), "w", encoding="utf-8") as f:
            log = dict(har["log"]); log.pop("entries")
            f.write('{"log":' + json.dumps(log, separators=(",", ":"))[:-1] + ',"entries":[')
            first = True
            for _ in range(copies):
                for e in encoded:
                    f.write(("" if first else ",") + e); first = False
            f.write("]}}")
        print(f"big-{mb}.har: {copies} copies of {len(entries)} entries")
    if only in (None, "corpus"):
        corpus = os.path.join(out, f"corpus-{hars}")
        os.makedirs(corpus, exist_ok=True)
        for i in range(hars):
            sub = dict(har["log"]); sub["entries"] = [entries[(i + k) % len(entries)] for k in range(5)]
            sub["pages"] = har["log"].get("pages", [])[:1]
            with open(os.path.join(corpus, f"site-{i:05d}.har"), "w", encoding="utf-8") as f:
                json.dump({"log": sub}, f, separators=(",", ":"))
        print(f"corpus-{hars}: {hars} HARs")

if __name__ == "__main__":
    main()
