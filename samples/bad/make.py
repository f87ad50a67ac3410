#!/usr/bin/env python3
"""Writes the hostile and broken inputs of samples/bad/ (standard library only).

Run from anywhere: `python3 samples/bad/make.py`. The output is the same on
every run (fixed timestamps, no randomness except a fixed-seed generator), so
the committed files can be checked by running it again and diffing.

Every file is small (a few KB, the deepest JSON 200 KB); the decompression
bombs expand to 1 GiB or more. tests/bad_input.rs runs `pixelscope scan` on
each and checks the diagnostic, the exit code and the peak memory.
"""

import base64
import gzip
import json
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 1 << 30
T0 = 1_700_000_000  # capture time of the first frame (2023-11-14T22:13:20Z)


def write(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# --- captures ---------------------------------------------------------------

def pcap_header(snaplen=65535, link=1):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, link)


def pcap_record(frame, index, incl=None, orig=None):
    incl = len(frame) if incl is None else incl
    orig = len(frame) if orig is None else orig
    return struct.pack("<IIII", T0 + index, 0, incl, orig) + frame


def pcap(frames):
    return pcap_header() + b"".join(pcap_record(f, i) for i, f in enumerate(frames))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_frame(src, dst, seq, ack, flags, payload=b""):
    """Ethernet + IPv4 + TCP, checksums filled in."""
    (sip, sport), (dip, dport) = src, dst
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      0x50, flags, 0xFFFF, 0, 0) + payload
    pseudo = bytes(sip) + bytes(dip) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     bytes(sip), bytes(dip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    return eth + ip + tcp


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
CLIENT = ((192, 0, 2, 10), 51000)
SERVER = ((198, 51, 100, 7), 80)


def http_connection(request, response=b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                    close=True):
    """Frames of one cleartext HTTP connection carrying one exchange."""
    c, s = 1000, 5000
    frames = [tcp_frame(CLIENT, SERVER, c, 0, SYN),
              tcp_frame(SERVER, CLIENT, s, c + 1, SYN | ACK),
              tcp_frame(CLIENT, SERVER, c + 1, s + 1, ACK)]
    c += 1
    s += 1
    for i in range(0, len(request), 1400):
        part = request[i:i + 1400]
        frames.append(tcp_frame(CLIENT, SERVER, c, s, PSH | ACK, part))
        c += len(part)
    if response:
        frames.append(tcp_frame(SERVER, CLIENT, s, c, PSH | ACK, response))
        s += len(response)
    if close:
        frames.append(tcp_frame(CLIENT, SERVER, c, s, FIN | ACK))
        frames.append(tcp_frame(SERVER, CLIENT, s, c + 1, FIN | ACK))
    return frames


def tracker_post(body, encoding, host="analytics.tiktok.com", path="/api/v2/pixel",
                 content_type="application/json"):
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: {content_type}\r\nContent-Encoding: {encoding}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def pcapng_block(kind, body):
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def pcapng_shb():
    return pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def pcapng_idb(link=1, snaplen=65535):
    return pcapng_block(1, struct.pack("<HHI", link, 0, snaplen))


def pcapng_epb(frame, index):
    ts = (T0 + index) * 1_000_000
    return pcapng_block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                                       len(frame), len(frame)) + frame)


# --- decompression bombs ----------------------------------------------------

def gzip_bomb(size=GIB):
    """gzip of gzip: the inner layer is one 1 MiB-of-zeros gzip member
    repeated (multi-member gzip) until it expands to `size`; the outer
    layer squeezes the repeated members to a few KB."""
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9, mtime=0)
    inner = member * (size >> 20)
    return gzip.compress(inner, compresslevel=9, mtime=0)


def zstd_bomb(size=GIB):
    """One zstd frame of RLE blocks (RFC 8878 §3.1.1.2): 4 bytes per
    128 KiB of zeros."""
    block = 128 << 10
    count = size // block
    out = struct.pack("<I", 0xFD2FB528) + bytes([0x00, 0x38])  # no FCS, window 128 KiB
    for i in range(count):
        last = 1 if i == count - 1 else 0
        out += struct.pack("<I", (block << 3) | (1 << 1) | last)[:3] + b"\0"
    return out


class Bits:
    """LSB-first bit writer, as brotli packs its stream."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, width):
        for i in range(width):
            self.acc |= ((value >> i) & 1) << self.n
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.n = 0

    def done(self):
        if self.n:
            self.out.append(self.acc)
        return bytes(self.out)


def brotli_bomb(size=GIB):
    """A brotli stream (RFC 7932) of 16 MiB meta-blocks of zeros. Each
    meta-block has one-symbol prefix codes (0 bits per symbol) and a single
    command: insert 4 zero literals, copy the rest at distance 4. About
    9 bytes per 16 MiB."""
    mlen = 1 << 24
    b = Bits()
    b.put(0, 1)  # WBITS = 16
    for _ in range(size // mlen):
        b.put(0, 1)  # ISLAST = 0
        b.put(2, 2)  # MNIBBLES = 6
        b.put(mlen - 1, 24)  # MLEN - 1
        b.put(0, 1)  # ISUNCOMPRESSED = 0
        b.put(0, 1)  # NBLTYPESL = 1
        b.put(0, 1)  # NBLTYPESI = 1
        b.put(0, 1)  # NBLTYPESD = 1
        b.put(0, 2)  # NPOSTFIX = 0
        b.put(0, 4)  # NDIRECT = 0
        b.put(0, 2)  # context mode of the one literal block type
        b.put(0, 1)  # NTREESL = 1
        b.put(0, 1)  # NTREESD = 1
        # Simple prefix codes (HSKIP = 1), one symbol each.
        b.put(1, 2)
        b.put(0, 2)
        b.put(0, 8)  # literal 0x00
        b.put(1, 2)
        b.put(0, 2)
        b.put(423, 10)  # insert code 4 (4 literals), copy code 23 (2118 + 24 bits)
        b.put(1, 2)
        b.put(0, 2)
        b.put(0, 6)  # distance code 0: the last distance (4 at the start)
        # The command: 0-bit symbol, copy extra bits, 4 0-bit literals,
        # 0-bit distance symbol.
        b.put(mlen - 4 - 2118, 24)
    b.put(1, 1)  # ISLAST
    b.put(1, 1)  # ISLASTEMPTY
    return b.done()


# --- HARs -------------------------------------------------------------------

def har_entry(url, method="GET", post=None, headers=()):
    request = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": n, "value": v} for n, v in headers],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": -1,
    }
    if post is not None:
        request["postData"] = post
    return {
        "startedDateTime": "2024-03-01T10:00:00.000Z",
        "time": 12.5,
        "request": request,
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": "image/gif"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 0},
        "cache": {},
        "timings": {"send": 0, "wait": 10, "receive": 2.5},
    }


def har(entries):
    return json.dumps({"log": {"version": "1.2",
                               "creator": {"name": "pixelscope samples/bad/make.py",
                                           "version": "1"},
                               "pages": [], "entries": entries}}, indent=1)


META = "https://www.facebook.com/tr/?id=123456789012345&ev=PageView&dl=https%3A%2F%2Fshop.example%2F"
GA4 = ("https://www.google-analytics.com/g/collect?v=2&tid=G-ABCDEF1234&cid=111.222"
       "&en=page_view&dl=https%3A%2F%2Fshop.example%2F")


def deep(n):
    return "[" * n + "]" * n


def main():
    # Captures: cut short, wrong magic, empty, absurd lengths.
    ok = pcap(http_connection(b"GET " + META[len("https://www.facebook.com"):].encode()
                              + b" HTTP/1.1\r\nHost: www.facebook.com\r\n\r\n"))
    write("truncated-header.pcap", ok[:12])
    write("truncated-record.pcap", ok[:-30])
    write("wrong-magic.pcap", b"\xd4\xc3\xb2\xa0" + ok[4:])
    write("empty.pcap", b"")
    write("empty.har", b"")
    write("absurd-snaplen.pcap",
          pcap_header(snaplen=0xFFFFFFFF) + pcap_record(b"\0" * 64, 0, incl=0xFFFFFFF0,
                                                        orig=0xFFFFFFF0))
    frames = http_connection(b"GET /tr/?id=1&ev=PageView HTTP/1.1\r\nHost: www.facebook.com\r\n\r\n")
    ng = pcapng_shb() + pcapng_idb() + b"".join(pcapng_epb(f, i) for i, f in enumerate(frames))
    write("truncated-shb.pcapng", ng[:20])
    write("truncated-block.pcapng", ng[:len(ng) - 40])
    bad_block = struct.pack("<II", 6, 0xFFFFFFF0) + b"\0" * 64
    write("absurd-block-length.pcapng", pcapng_shb() + pcapng_idb() + bad_block)
    write("absurd-shb-length.pcapng", struct.pack("<II", 0x0A0D0D0A, 0x7FFFFFF0)
          + struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + b"\0" * 32)

    # A request announcing a 10 GB body, with 2 KB of it, then the end.
    body = b'{"event":"CompletePayment","context":{"page":{"url":"https://shop.example/"}}}'
    body += b" " * (2048 - len(body))
    head = (b"POST /api/v2/pixel HTTP/1.1\r\nHost: analytics.tiktok.com\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n")
    write("content-length-10gb.pcap", pcap(http_connection(head + body, response=b"")))

    # Decompression bombs as request bodies in a capture, and as base64
    # bodies in a HAR.
    bombs = {"gzip": (gzip_bomb(), "gzip, gzip"),
             "zstd": (zstd_bomb(), "zstd"),
             "br": (brotli_bomb(4 * GIB), "br")}
    for name, (data, encoding) in bombs.items():
        write(f"bomb-{name}.pcap", pcap(http_connection(tracker_post(data, encoding))))
        entry = har_entry(
            "https://analytics.tiktok.com/api/v2/pixel", "POST",
            post={"mimeType": "application/json", "text": base64.b64encode(data).decode(),
                  "encoding": "base64"},
            headers=[("Content-Type", "application/json"), ("Content-Encoding", encoding)])
        entry["response"]["content"] = {"size": GIB, "mimeType": "application/json",
                                        "text": base64.b64encode(data).decode(),
                                        "encoding": "base64"}
        entry["response"]["headers"] = [{"name": "Content-Encoding", "value": encoding}]
        write(f"bomb-{name}.har", har([entry, har_entry(META)]))

    # The gzip bomb again, with no Content-Encoding: the decoders recognise
    # gzip by its magic bytes and inflate it themselves, up to their cap.
    entry = har_entry("https://analytics.tiktok.com/api/v2/pixel", "POST",
                      post={"mimeType": "application/json",
                            "text": base64.b64encode(gzip_bomb()).decode(),
                            "encoding": "base64"},
                      headers=[("Content-Type", "application/json")])
    write("bomb-gzip-undeclared.har", har([entry, har_entry(META)]))

    # HARs: cut mid-entry, invalid UTF-8, 100,000-deep JSON.
    text = har([har_entry(META), har_entry(GA4)])
    write("cut-mid-entry.har", text[:text.index(GA4) + 20])
    text = har([har_entry(META, headers=[("User-Agent", "MARKER")]), har_entry(GA4)])
    write("invalid-utf8.har", text.encode().replace(b"MARKER", b"Mozilla \xff\xfe\xc3(\xa0"))
    entry = json.dumps(har_entry(META))
    nested_entry = entry[:-1] + ', "_deep": ' + deep(100_000) + "}"
    write("deep-entry.har", '{"log": {"version": "1.2", "entries": ['
          + nested_entry + ", " + json.dumps(har_entry(GA4)) + "]}}")
    write("deep-log.har", '{"log": {"version": "1.2", "creator": ' + deep(100_000)
          + ', "entries": [' + json.dumps(har_entry(META)) + "]}}")
    write("deep-body.har", har([
        har_entry("https://analytics.tiktok.com/api/v2/pixel", "POST",
                  post={"mimeType": "application/json", "text": deep(100_000)},
                  headers=[("Content-Type", "application/json")]),
        har_entry(META)]))

    # Garbage key logs: binary noise, then lines that look almost right.
    rng = random.Random(20240301)
    noise = bytes(rng.randrange(256) for _ in range(1024))
    lines = [b"# not a key log",
             b"CLIENT_RANDOM 00 11",
             b"CLIENT_RANDOM " + b"zz" * 32 + b" " + b"00" * 48,
             b"SERVER_TRAFFIC_SECRET_0 " + b"ab" * 31 + b" " + b"cd" * 48,
             b"UNKNOWN_LABEL " + b"00" * 32 + b" " + b"00" * 48,
             b"CLIENT_TRAFFIC_SECRET_0 " + b"00" * 32,
             b"\x00\xff\xfe" * 40]
    write("garbage.keys", noise + b"\n" + b"\n".join(lines) + b"\n")


if __name__ == "__main__":
    main()
