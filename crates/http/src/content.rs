//! Bounded content decoding: `Content-Encoding` (and non-chunked
//! `Transfer-Encoding`) codings undone, with a cap on the decoded size.
//!
//! Every decoder is wrapped in [`Read::take`] so a few kilobytes that expand
//! to gigabytes stop at the cap instead of exhausting memory. Codings are
//! undone in reverse order of application (`Content-Encoding: gzip, br` means
//! gzip was applied first, so brotli is undone first). The HAR reader can use
//! [`decode_body`] too, for exports that kept a body compressed.

use pixelscope_model::BodyState;
use std::io::{self, Read};

/// The diagnostic code for a body cut at a configured cap.
pub const TOO_LARGE: &str = "body.too-large";
/// The diagnostic code for a body whose coding could not be undone.
pub const DECODE_FAILED: &str = "body.decode-failed";

/// One content coding, parsed from a header token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `identity`, or an empty token: nothing to undo.
    Identity,
    /// `gzip` or `x-gzip`, one or more members.
    Gzip,
    /// `deflate`: zlib-wrapped as specified, or raw deflate as some servers send.
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`, one or more frames.
    Zstd,
    /// Any other token, kept as written (lower-case).
    Unknown(String),
}

impl Coding {
    /// Parses one token (case-insensitive, surrounding spaces ignored).
    pub fn parse(token: &str) -> Coding {
        let token = token.trim().to_ascii_lowercase();
        match token.as_str() {
            "" | "identity" => Coding::Identity,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Brotli,
            "zstd" => Coding::Zstd,
            _ => Coding::Unknown(token),
        }
    }
}

/// Splits header values such as `gzip, br` into tokens, in order, dropping
/// empty ones.
pub fn coding_tokens<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A body after decoding.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedBody {
    /// Decoded bytes when `state` is `Complete` or `Truncated`; the input
    /// bytes unchanged when `Undecoded`.
    pub data: Vec<u8>,
    /// `Complete`, `Truncated { limit }` (cut at the cap) or
    /// `Undecoded { reason }` (decoding failed; `data` holds the input).
    pub state: BodyState,
}

impl DecodedBody {
    /// The diagnostic code a caller should report for this outcome, if any.
    pub fn diagnostic_code(&self) -> Option<&'static str> {
        match self.state {
            BodyState::Complete | BodyState::Damaged { .. } => None,
            BodyState::Truncated { .. } => Some(TOO_LARGE),
            BodyState::Undecoded { .. } => Some(DECODE_FAILED),
        }
    }
}

/// Undoes `codings` (header tokens in order of application) on the complete
/// body `raw`, producing at most `max_decoded` bytes.
///
/// Without codings (or with only `identity`) `raw` is returned as is,
/// cut to `max_decoded` if longer.
pub fn decode_body(raw: Vec<u8>, codings: &[String], max_decoded: usize) -> DecodedBody {
    decode(raw, codings, max_decoded, true)
}

/// Like [`decode_body`] for a body of which only the first part was
/// recorded (capture gap, connection cut, encoded-size cap): running out of
/// input is expected and what was decoded so far is returned as `Complete`;
/// the caller knows why the input was short and marks the body accordingly.
pub fn decode_body_prefix(raw: Vec<u8>, codings: &[String], max_decoded: usize) -> DecodedBody {
    decode(raw, codings, max_decoded, false)
}

fn decode(raw: Vec<u8>, codings: &[String], max_decoded: usize, complete: bool) -> DecodedBody {
    let plan: Vec<Coding> = codings
        .iter()
        .map(|t| Coding::parse(t))
        .filter(|c| *c != Coding::Identity)
        .collect();
    if let Some(Coding::Unknown(token)) = plan.iter().find(|c| matches!(c, Coding::Unknown(_))) {
        return DecodedBody {
            data: raw,
            state: BodyState::Undecoded {
                reason: format!("unsupported content coding `{token}`"),
            },
        };
    }
    if plan.is_empty() {
        return cap(raw, max_decoded);
    }
    let mut current: Option<Vec<u8>> = None;
    let mut truncated = false;
    for coding in plan.iter().rev() {
        let input = current.as_deref().unwrap_or(&raw);
        match decode_one(coding, input, max_decoded, complete && !truncated) {
            Ok((out, cut)) => {
                truncated |= cut;
                current = Some(out);
            }
            Err(reason) => {
                return DecodedBody {
                    data: raw,
                    state: BodyState::Undecoded {
                        reason: format!("{} decoding failed: {reason}", name(coding)),
                    },
                };
            }
        }
    }
    let data = current.unwrap_or(raw);
    let state = if truncated {
        BodyState::Truncated {
            limit: u64::try_from(max_decoded).unwrap_or(u64::MAX),
        }
    } else {
        BodyState::Complete
    };
    DecodedBody { data, state }
}

fn cap(mut raw: Vec<u8>, max_decoded: usize) -> DecodedBody {
    if raw.len() > max_decoded {
        raw.truncate(max_decoded);
        let limit = u64::try_from(max_decoded).unwrap_or(u64::MAX);
        DecodedBody {
            data: raw,
            state: BodyState::Truncated { limit },
        }
    } else {
        DecodedBody {
            data: raw,
            state: BodyState::Complete,
        }
    }
}

fn name(coding: &Coding) -> &str {
    match coding {
        Coding::Identity => "identity",
        Coding::Gzip => "gzip",
        Coding::Deflate => "deflate",
        Coding::Brotli => "br",
        Coding::Zstd => "zstd",
        Coding::Unknown(token) => token,
    }
}

/// Decodes one coding. Returns the output and whether it was cut at the cap.
/// With `complete == false`, running out of input ends decoding quietly.
fn decode_one(
    coding: &Coding,
    input: &[u8],
    max: usize,
    complete: bool,
) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    let result = match coding {
        Coding::Identity | Coding::Unknown(_) => {
            out.extend_from_slice(input);
            Ok(())
        }
        Coding::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), max, &mut out),
        Coding::Deflate => {
            if looks_like_zlib(input) {
                let zlib = read_bounded(flate2::read::ZlibDecoder::new(input), max, &mut out);
                if zlib.is_err() && out.is_empty() {
                    // A raw deflate stream can pass the two-byte zlib check by
                    // chance; try it as raw before giving up.
                    read_bounded(flate2::read::DeflateDecoder::new(input), max, &mut out).or(zlib)
                } else {
                    zlib
                }
            } else {
                read_bounded(flate2::read::DeflateDecoder::new(input), max, &mut out)
            }
        }
        Coding::Brotli => read_bounded(
            brotli_decompressor::Decompressor::new(input, 4096),
            max,
            &mut out,
        ),
        Coding::Zstd => decode_zstd(input, max, &mut out),
    };
    match result {
        Ok(()) => {}
        Err(error) if !complete && is_end_of_input(&error) => {}
        Err(error) => return Err(error.to_string()),
    }
    let cut = out.len() > max;
    out.truncate(max);
    Ok((out, cut))
}

fn is_end_of_input(error: &io::Error) -> bool {
    // Decoders report a short input differently: flate2 as UnexpectedEof,
    // brotli as a generic error, ruzstd wrapped in `Other`. A prefix that
    // decodes this far is what we want; a garbled prefix fails on the
    // first bytes and produces nothing, which the caller still sees.
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::Other | io::ErrorKind::InvalidData
    )
}

/// Reads at most `max + 1` bytes so the caller can tell "exactly max" from
/// "more than max" without reading further.
fn read_bounded(reader: impl Read, max: usize, out: &mut Vec<u8>) -> io::Result<()> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let remaining = limit.saturating_sub(u64::try_from(out.len()).unwrap_or(u64::MAX));
    reader.take(remaining).read_to_end(out).map(|_| ())
}

fn looks_like_zlib(input: &[u8]) -> bool {
    match input {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// zstd bodies may hold several frames (and skippable frames); ruzstd's
/// streaming decoder reads one frame, so loop until the input is used up.
fn decode_zstd(input: &[u8], max: usize, out: &mut Vec<u8>) -> io::Result<()> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    let mut rest = input;
    while !rest.is_empty() && out.len() <= max {
        match StreamingDecoder::new(&mut rest) {
            Ok(decoder) => read_bounded(decoder, max, out)?,
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                let skip = usize::try_from(length).unwrap_or(usize::MAX);
                rest = rest.get(skip..).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "skippable frame cut short")
                })?;
            }
            Err(error) => return Err(io::Error::other(error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tokens(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    const TEXT: &[u8] = b"{\"event\":\"PageView\",\"email\":\"836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f\"}";

    #[test]
    fn gzip_with_several_members_is_read_to_the_end() {
        let mut body = gzip(b"first half, ");
        body.extend(gzip(b"second half"));
        let decoded = decode_body(body, &tokens(&["gzip"]), 1 << 20);
        assert_eq!(decoded.state, BodyState::Complete);
        assert_eq!(decoded.data, b"first half, second half");
    }

    #[test]
    fn deflate_is_accepted_zlib_wrapped_and_raw() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(TEXT).unwrap();
        let zlib = z.finish().unwrap();
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(TEXT).unwrap();
        let raw = r.finish().unwrap();
        for body in [zlib, raw] {
            let decoded = decode_body(body, &tokens(&["deflate"]), 1 << 20);
            assert_eq!(decoded.state, BodyState::Complete);
            assert_eq!(decoded.data, TEXT);
        }
    }

    #[test]
    fn brotli_and_zstd_decode() {
        assert_eq!(
            decode_body(brotli(TEXT), &tokens(&["br"]), 1 << 20).data,
            TEXT
        );
        assert_eq!(
            decode_body(zstd(TEXT), &tokens(&["zstd"]), 1 << 20).data,
            TEXT
        );
    }

    #[test]
    fn zstd_with_several_frames_and_a_skippable_frame_is_read_to_the_end() {
        let mut body = zstd(b"frame one;");
        // A skippable frame: magic 0x184D2A50, length 3, payload.
        body.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        body.extend(zstd(b"frame two"));
        let decoded = decode_body(body, &tokens(&["zstd"]), 1 << 20);
        assert_eq!(decoded.state, BodyState::Complete);
        assert_eq!(decoded.data, b"frame one;frame two");
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse_order() {
        let body = brotli(&gzip(TEXT));
        let decoded = decode_body(body, &tokens(&["gzip", "br"]), 1 << 20);
        assert_eq!(decoded.state, BodyState::Complete);
        assert_eq!(decoded.data, TEXT);
    }

    #[test]
    fn decompression_bombs_stop_at_the_cap() {
        // 4 MiB of zeros compresses to a few KB; repeated as gzip members or
        // zstd frames it claims 1 GiB. Decoding stops at the cap.
        let zeros = vec![0u8; 4 << 20];
        let cap = 1 << 20;
        let bomb = |member: Vec<u8>| member.repeat(256);
        for (coding, body) in [
            ("gzip", bomb(gzip(&zeros))),
            ("zstd", bomb(zstd(&zeros))),
            ("br", brotli(&zeros)),
        ] {
            assert!(
                body.len() < 4 << 20,
                "{coding} fixture is {} bytes",
                body.len()
            );
            let decoded = decode_body(body, &tokens(&[coding]), cap);
            assert_eq!(
                decoded.state,
                BodyState::Truncated { limit: cap as u64 },
                "{coding}"
            );
            assert_eq!(decoded.data.len(), cap);
            assert_eq!(decoded.diagnostic_code(), Some(TOO_LARGE));
        }
    }

    #[test]
    fn garbage_is_kept_undecoded_with_its_raw_bytes() {
        let decoded = decode_body(b"not gzip at all".to_vec(), &tokens(&["gzip"]), 1 << 20);
        assert!(matches!(decoded.state, BodyState::Undecoded { .. }));
        assert_eq!(decoded.data, b"not gzip at all");
        assert_eq!(decoded.diagnostic_code(), Some(DECODE_FAILED));
        let unknown = decode_body(b"x".to_vec(), &tokens(&["compress"]), 10);
        assert_eq!(
            unknown.state,
            BodyState::Undecoded {
                reason: "unsupported content coding `compress`".into()
            }
        );
    }

    #[test]
    fn a_prefix_decodes_as_far_as_it_goes() {
        let long: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let body = gzip(&long);
        let half = body.get(..body.len() / 2).unwrap().to_vec();
        let decoded = decode_body_prefix(half.clone(), &tokens(&["gzip"]), 1 << 20);
        assert_eq!(decoded.state, BodyState::Complete);
        assert!(!decoded.data.is_empty() && long.starts_with(&decoded.data));
        assert!(matches!(
            decode_body(half, &tokens(&["gzip"]), 1 << 20).state,
            BodyState::Undecoded { .. }
        ));
    }

    #[test]
    fn identity_bodies_are_only_capped() {
        assert_eq!(decode_body(b"abcdef".to_vec(), &[], 4).data, b"abcd");
        assert_eq!(
            decode_body(b"abc".to_vec(), &tokens(&["identity"]), 4).state,
            BodyState::Complete
        );
        assert_eq!(
            coding_tokens(["gzip, br", " zstd"]),
            tokens(&["gzip", "br", "zstd"])
        );
    }
}
