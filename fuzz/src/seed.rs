//! Seed corpora from the repository's `samples/`: raw files for the file
//! targets, and converted inputs for the structured ones (connection
//! scripts cut out of the sample captures, before and after decryption;
//! requests of the decoder fixtures; packets of the legacy pcaps; bodies
//! compressed every supported way).

use crate::exchange_text;
use crate::script::{self, Op};
use crate::targets::keylog;
use pixelscope_capture::{CaptureReader, Chunk, ConnectionInfo, Direction, StreamSink};
use pixelscope_model::{InputFormat, Origin};
use pixelscope_tls::TlsLayer;
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Largest seed written (libFuzzer's default `-max_len` is 4096 but grows
/// with the corpus; big seeds only slow it down).
const MAX_SEED: usize = 64 * 1024;

/// Every file under `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_capture(bytes: &[u8]) -> bool {
    pixelscope_capture::looks_like_capture(bytes).is_some()
}

fn is_har(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Records what reaches it, per connection, as script ops.
#[derive(Default)]
struct Recorder {
    conns: BTreeMap<u64, (u8, Vec<(Direction, Result<Vec<u8>, Range<u64>>)>)>,
}

impl StreamSink for Recorder {
    fn connection_opened(&mut self, info: &ConnectionInfo) {
        let mut flags = 0;
        if info.alpn.as_deref() == Some("h2") {
            flags |= script::FLAG_H2;
        }
        if info.saw_syn {
            flags |= script::FLAG_SYN;
        }
        if info.tls.as_deref() == Some("1.3") {
            flags |= script::FLAG_TLS13;
        }
        let entry = self.conns.entry(info.stream).or_default();
        entry.0 |= flags;
    }
    fn data(&mut self, chunk: Chunk<'_>) {
        let entry = self.conns.entry(chunk.stream).or_default();
        match entry.1.last_mut() {
            Some((d, Ok(bytes))) if *d == chunk.direction => bytes.extend_from_slice(chunk.data),
            _ => entry.1.push((chunk.direction, Ok(chunk.data.to_vec()))),
        }
    }
    fn gap(&mut self, stream: u64, direction: Direction, missing: Range<u64>, _frame: u64) {
        let entry = self.conns.entry(stream).or_default();
        entry.1.push((direction, Err(missing)));
    }
}

impl Recorder {
    fn scripts(&self) -> Vec<Vec<u8>> {
        self.conns
            .values()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(flags, ops)| {
                let ops: Vec<Op<'_>> = ops
                    .iter()
                    .map(|(direction, item)| match item {
                        Ok(bytes) => Op::Data {
                            direction: *direction,
                            piece: usize::MAX,
                            data: bytes,
                        },
                        Err(range) => Op::Gap {
                            direction: *direction,
                            len: range.end.saturating_sub(range.start).min(1 << 20),
                        },
                    })
                    .collect();
                let mut bytes = script::encode(*flags, &ops);
                bytes.truncate(MAX_SEED);
                bytes
            })
            .collect()
    }
}

/// Connection scripts of a capture: as read (ciphertext for TLS) and after
/// the TLS layer (plaintext where the key log has the keys).
fn capture_scripts(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let origin = Origin::file("seed", None, InputFormat::Pcapng);
    let mut raw = Recorder::default();
    let _ = CaptureReader::new(origin.clone()).read(bytes, &mut raw);
    let mut tls = TlsLayer::new(keylog().clone(), Recorder::default(), origin.clone());
    let _ = CaptureReader::new(origin).read(bytes, &mut tls);
    (raw.scripts(), tls.into_inner().scripts())
}

/// Inputs of the `hpack` target from an HTTP/2 connection script: per
/// direction, the header blocks of its HEADERS frames that are complete in
/// one frame, in order (so the table evolves as it did on the wire).
fn hpack_seeds(script_bytes: &[u8]) -> Vec<Vec<u8>> {
    use pixelscope_http::frame::{FrameHeader, FrameType, Flags, HEADER_LEN, PREFACE, unpad};
    let parsed = script::Script::parse(script_bytes);
    let mut seeds = Vec::new();
    for direction in [Direction::ToServer, Direction::ToClient] {
        let mut stream = Vec::new();
        for op in &parsed.ops {
            if let Op::Data { direction: d, data, .. } = op {
                if *d == direction {
                    stream.extend_from_slice(data);
                }
            }
        }
        let mut rest = stream.strip_prefix(&PREFACE[..]).unwrap_or(&stream);
        let mut seed = vec![0u8];
        while let Some(header) = FrameHeader::parse(rest) {
            let len = usize::try_from(header.length).unwrap_or(usize::MAX);
            let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN.saturating_add(len)) else {
                break;
            };
            if header.kind == FrameType::HEADERS && header.flags.has(Flags::END_HEADERS) {
                if let Some((_, block)) = unpad(&header, payload) {
                    let block = block.get(..block.len().min(usize::from(u16::MAX))).unwrap_or(block);
                    seed.extend_from_slice(&(block.len() as u16).to_le_bytes());
                    seed.extend_from_slice(block);
                }
            }
            rest = rest.get(HEADER_LEN + len..).unwrap_or_default();
            if seed.len() > MAX_SEED {
                break;
            }
        }
        if seed.len() > 1 {
            seeds.push(seed);
        }
    }
    seeds
}

/// Packets of a little-endian or big-endian legacy pcap: (link type, packets).
fn legacy_packets(bytes: &[u8]) -> Option<(u32, Vec<Vec<u8>>)> {
    let magic = bytes.get(..4)?;
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return None,
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let link = u32_at(20)?;
    let mut at = 24;
    let mut packets = Vec::new();
    while let Some(incl) = u32_at(at + 8) {
        let start = at + 16;
        let end = start + incl as usize;
        let Some(p) = bytes.get(start..end) else {
            break;
        };
        packets.push(p.to_vec());
        at = end;
    }
    Some((link, packets))
}

struct Writer {
    root: PathBuf,
    count: BTreeMap<&'static str, usize>,
}

impl Writer {
    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let dir = self.root.join(target);
        let _ = std::fs::create_dir_all(&dir);
        let n = self.count.entry(target).or_default();
        *n += 1;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{n:04}-{safe}"));
        let _ = std::fs::write(
            path,
            bytes.get(..bytes.len().min(MAX_SEED)).unwrap_or(bytes),
        );
    }
}

fn compress(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = e.write_all(data);
            e.finish().unwrap_or_default()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = e.write_all(data);
            e.finish().unwrap_or_default()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                let _ = e.write_all(data);
            }
            out
        }
        "zstd" => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
        _ => data.to_vec(),
    }
}

/// Writes seed corpora for every target under `out` (one folder per
/// target) from the files under `samples`. Returns (target, count) pairs.
pub fn write_all(samples: &Path, out: &Path) -> Vec<(&'static str, usize)> {
    let mut w = Writer {
        root: out.to_path_buf(),
        count: BTreeMap::new(),
    };
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for path in files(samples) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path
            .strip_prefix(samples)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if is_capture(&bytes) {
            if bytes.len() <= MAX_SEED * 4 {
                w.put("capture", &name, &bytes);
                w.put("scan", &name, &bytes);
            }
            if let Some((link, packets)) = legacy_packets(&bytes) {
                let code = crate::targets::link_index(link);
                let mut seed = vec![code];
                for p in packets.iter().take(64) {
                    seed.extend_from_slice(
                        &(p.len().min(usize::from(u16::MAX)) as u16).to_le_bytes(),
                    );
                    seed.extend_from_slice(p);
                }
                w.put("packet", &name, &seed);
            }
            let (raw, plain) = capture_scripts(&bytes);
            for s in raw.iter().take(16) {
                w.put("tls", &name, s);
            }
            for s in plain.iter().take(32) {
                let target = if s.first().is_some_and(|f| f & script::FLAG_H2 != 0)
                    || s.windows(6).any(|w| w == b"PRI * ")
                {
                    "h2"
                } else {
                    "http1"
                };
                w.put(target, &name, s);
                if target == "h2" {
                    for seed in hpack_seeds(s) {
                        w.put("hpack", &name, &seed);
                    }
                }
            }
        } else if is_har(&bytes) {
            if bytes.len() <= MAX_SEED * 4 {
                w.put("har", &name, &bytes);
                w.put("scan", &name, &bytes);
            }
        }
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            if ext == "json" && name.starts_with("decoders/") {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
                    let ct = text("content_type");
                    let body = text("body");
                    let headers: Vec<(&str, &str)> = if ct.is_empty() {
                        Vec::new()
                    } else {
                        vec![("Content-Type", ct.as_str())]
                    };
                    let seed = exchange_text::encode(
                        &text("method"),
                        &text("url"),
                        &headers,
                        body.as_bytes(),
                    );
                    w.put("decoders", &name, &seed);
                    w.put("analyzer", &name, &seed);
                    if !body.is_empty() {
                        bodies.push(body.into_bytes());
                    }
                }
            }
            if ext == "jsonl" && name.starts_with("decode/") {
                for (i, line) in bytes.split(|b| *b == b'\n').enumerate().step_by(7) {
                    let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                        continue;
                    };
                    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
                    let ct = text("content_type");
                    let body = text("body");
                    let mut headers = vec![(
                        "Referer",
                        "https://shop.example/checkout?email=jane.doe%40example.org",
                    )];
                    if !ct.is_empty() {
                        headers.push(("Content-Type", ct.as_str()));
                    }
                    let seed = exchange_text::encode(
                        &text("method"),
                        &text("url"),
                        &headers,
                        body.as_bytes(),
                    );
                    w.put("decoders", &format!("lab-{i}"), &seed);
                    w.put("analyzer", &format!("lab-{i}"), &seed);
                }
            }
        }
    }
    // Bodies: each sample payload under every coding, one and two layers.
    bodies.truncate(24);
    bodies.push(b"{\"a\":[1,2,3],\"email\":\"jane.doe@example.org\"}".to_vec());
    for (i, body) in bodies.iter().enumerate() {
        for (code, coding) in ["gzip", "deflate", "br", "zstd"].iter().enumerate() {
            let one = compress(coding, body);
            // mode: one coding, complete; which: coding index; cap: 1 MiB.
            let mut seed = vec![1, code as u8, 20];
            seed.extend_from_slice(&one);
            w.put("body", &format!("{i}-{coding}"), &seed);
            let two = compress("gzip", &one);
            let mut seed = vec![2, code as u8, 20];
            seed.extend_from_slice(&two);
            w.put("body", &format!("{i}-gzip-{coding}"), &seed);
        }
    }
    // Reassembly: a handshake, then data segments in shuffled order with
    // overlaps and a FIN, from a fixed PRNG.
    let mut rng = crate::mutate::Rng::new(0x5eed);
    for n in 0..16u8 {
        let mut segs: Vec<Vec<u8>> = Vec::new();
        let seg = |ctl: u8, off: u16, payload: &[u8]| {
            let mut s = vec![ctl];
            s.extend_from_slice(&off.to_le_bytes());
            s.push(payload.len() as u8);
            s.extend_from_slice(payload);
            s
        };
        segs.push(seg(2, 0, b""));
        segs.push(seg(1 | 2 | 16, 0, b""));
        let request =
            b"POST /tr HTTP/1.1\r\nHost: www.facebook.com\r\nContent-Length: 9\r\n\r\nev=Lead&x";
        let mut pieces = Vec::new();
        let mut at = 0usize;
        while at < request.len() {
            let len = 1 + rng.below(24);
            let end = (at + len + rng.below(4)).min(request.len());
            pieces.push(seg(
                16,
                1 + at as u16,
                request.get(at..end).unwrap_or_default(),
            ));
            at += len;
        }
        for i in (1..pieces.len()).rev() {
            let j = rng.below(i + 1);
            pieces.swap(i, j);
        }
        segs.extend(pieces);
        segs.push(seg(1 | 16, 1, b"HTTP/1.1 204 No Content\r\n\r\n"));
        segs.push(seg(4 | 16, 1 + request.len() as u16, b""));
        let mut seed = vec![n % 4];
        for s in segs {
            seed.extend_from_slice(&s);
        }
        w.put("reassembly", &format!("shuffled-{n}"), &seed);
    }
    w.count.into_iter().collect()
}
