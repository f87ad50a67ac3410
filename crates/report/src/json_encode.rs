//! A direct JSON encoder for [`Event`], byte-identical to `serde_json`'s
//! compact output of the derived `Serialize`.
//!
//! JSON Lines output is the benchmark format and records are dense (tens of
//! thousands per 100 MB of input), so the generic serde path showed up at
//! ~13 % of a run. Writing the fixed shape straight into a `Vec<u8>`
//! removes the per-key escaping and the per-token writer calls, and strings
//! are scanned eight bytes at a time for the few bytes JSON must escape.
//!
//! The output must stay exactly what `serde_json::to_vec(event)` gives: key
//! order is the field order of the model structs, every key is always
//! present, strings are escaped as serde_json escapes them (`\"`, `\\`,
//! `\b \f \n \r \t`, other C0 controls as `\u00xx` with lower-case hex;
//! DEL, non-ASCII and U+2028/U+2029 pass through unchanged). A test in
//! this module compares both encoders on real and adversarial records, so
//! a key added to the model without being added here fails the build's
//! tests.

use pixelscope_model::{
    Detection, Event, Field, Flag, Identifier, InputFormat, Kind, Origin, RequestSummary, Timestamp,
};
use std::io::Write;

/// Records whose strings add up to more than this are not built in memory:
/// escaping can make a string six times longer (`\u0000`), so a 16 MiB
/// body field would need a buffer of ~100 MB, kept for the rest of the run.
/// They are streamed through serde_json instead, which gives the same bytes.
const LARGE_RECORD: usize = 256 * 1024;

/// Whether `e` is too large to build in a buffer (see [`LARGE_RECORD`]).
pub fn is_large(e: &Event) -> bool {
    let fields: usize = e.fields.iter().map(|f| f.path.len() + f.value.len()).sum();
    let identifiers: usize = e
        .identifiers
        .iter()
        .map(|i| i.value.len() + i.path.len())
        .sum();
    let flags: usize = e.flags.iter().map(|f| f.text.len() + f.path.len()).sum();
    e.request.url.len() + fields + identifiers + flags > LARGE_RECORD
}

/// Writes `event` (no newline) to `out`: large records streamed, the rest
/// built in `buf` (reused between records) and written in one call.
pub fn write_event(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    e: &Event,
    suffix: &[u8],
) -> std::io::Result<()> {
    if is_large(e) {
        serde_json::to_writer(&mut *out, e).map_err(std::io::Error::from)?;
        return out.write_all(suffix);
    }
    buf.clear();
    event(buf, e);
    buf.extend_from_slice(suffix);
    out.write_all(buf)
}

/// Appends `event` as one compact JSON object (no newline).
pub fn event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(b"{\"schema\":");
    string(out, &e.schema);
    out.extend_from_slice(b",\"tracker\":");
    string(out, &e.tracker);
    out.extend_from_slice(b",\"vendor\":");
    string(out, &e.vendor);
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(match e.kind {
        Kind::Event => b"\"event\"",
        Kind::Library => b"\"library\"",
        Kind::Contact => b"\"contact\"",
    });
    out.extend_from_slice(b",\"event\":");
    opt_string(out, e.event.as_deref());
    out.extend_from_slice(b",\"pixel_id\":");
    opt_string(out, e.pixel_id.as_deref());
    out.extend_from_slice(b",\"page_url\":");
    opt_string(out, e.page_url.as_deref());
    out.extend_from_slice(b",\"referrer\":");
    opt_string(out, e.referrer.as_deref());
    out.extend_from_slice(b",\"page_title\":");
    opt_string(out, e.page_title.as_deref());
    out.extend_from_slice(b",\"page_url_from\":");
    opt_string(out, e.page_url_from.as_deref());
    out.extend_from_slice(b",\"time\":");
    match e.time {
        Some(t) => timestamp(out, t),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"request\":");
    request(out, &e.request);
    out.extend_from_slice(b",\"fields\":");
    list(out, &e.fields, field);
    out.extend_from_slice(b",\"identifiers\":");
    list(out, &e.identifiers, identifier);
    out.extend_from_slice(b",\"flags\":");
    list(out, &e.flags, flag);
    out.extend_from_slice(b",\"party\":");
    opt_string(out, e.party.as_deref());
    out.extend_from_slice(b",\"detection\":");
    out.extend_from_slice(match e.detection {
        Detection::Endpoint => b"\"endpoint\"",
        Detection::Shape => b"\"shape\"",
        Detection::Host => b"\"host\"",
    });
    out.extend_from_slice(b",\"origin\":");
    origin(out, &e.origin);
    out.push(b'}');
}

fn request(out: &mut Vec<u8>, r: &RequestSummary) {
    out.extend_from_slice(b"{\"method\":");
    string(out, &r.method);
    out.extend_from_slice(b",\"url\":");
    string(out, &r.url);
    out.extend_from_slice(b",\"host\":");
    opt_string(out, r.host.as_deref());
    out.extend_from_slice(b",\"http_version\":");
    opt_string(out, r.http_version.as_deref());
    out.extend_from_slice(b",\"content_encoding\":");
    list(out, &r.content_encoding, |out, s| string(out, s));
    out.push(b'}');
}

fn field(out: &mut Vec<u8>, f: &Field) {
    out.extend_from_slice(b"{\"path\":");
    string(out, &f.path);
    out.extend_from_slice(b",\"where\":");
    string(out, &f.location);
    out.extend_from_slice(b",\"value\":");
    string(out, &f.value);
    out.extend_from_slice(b",\"property\":");
    opt_string(out, f.property.as_deref());
    out.push(b'}');
}

fn identifier(out: &mut Vec<u8>, i: &Identifier) {
    out.extend_from_slice(b"{\"type\":");
    string(out, &i.kind);
    out.extend_from_slice(b",\"form\":");
    string(out, &i.form);
    out.extend_from_slice(b",\"value\":");
    string(out, &i.value);
    out.extend_from_slice(b",\"path\":");
    string(out, &i.path);
    out.extend_from_slice(b",\"matched\":");
    opt_string(out, i.matched.as_deref());
    out.push(b'}');
}

fn flag(out: &mut Vec<u8>, f: &Flag) {
    out.extend_from_slice(b"{\"category\":");
    string(out, &f.category);
    out.extend_from_slice(b",\"rule\":");
    string(out, &f.rule);
    out.extend_from_slice(b",\"text\":");
    string(out, &f.text);
    out.extend_from_slice(b",\"path\":");
    string(out, &f.path);
    out.push(b'}');
}

fn origin(out: &mut Vec<u8>, o: &Origin) {
    out.extend_from_slice(b"{\"file\":");
    string(out, &o.file);
    out.extend_from_slice(b",\"sha256\":");
    opt_string(out, o.sha256.as_deref());
    out.extend_from_slice(b",\"format\":");
    out.extend_from_slice(match o.format {
        InputFormat::Har => b"\"har\"",
        InputFormat::Pcap => b"\"pcap\"",
        InputFormat::Pcapng => b"\"pcapng\"",
    });
    out.extend_from_slice(b",\"entry\":");
    opt_number(out, o.entry);
    out.extend_from_slice(b",\"frames\":");
    match &o.frames {
        Some(frames) => list(out, frames, |out, n| number(out, *n)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"stream\":");
    opt_number(out, o.stream);
    out.extend_from_slice(b",\"h2_stream\":");
    opt_number(out, o.h2_stream.map(u64::from));
    out.extend_from_slice(b",\"quic_stream\":");
    opt_number(out, o.quic_stream);
    out.extend_from_slice(b",\"tls\":");
    opt_string(out, o.tls.as_deref());
    out.push(b'}');
}

/// `[a,b,…]`, or `[]` when empty.
fn list<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x);
    }
    out.push(b']');
}

fn opt_string(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_number(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(n) => number(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn number(out: &mut Vec<u8>, mut n: u64) {
    let start = out.len();
    loop {
        // `n % 10` is below 10, so the cast cannot truncate.
        out.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if let Some(digits) = out.get_mut(start..) {
        digits.reverse();
    }
}

/// serde_json writes a `Timestamp` through `collect_str` of its `Display`,
/// which only ever yields digits, `-`, `:`, `.`, `T` and `Z`: nothing to
/// escape.
fn timestamp(out: &mut Vec<u8>, t: Timestamp) {
    out.push(b'"');
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{t}");
    out.push(b'"');
}

/// Bytes with the high bit set in every lane where `word` has a byte that
/// JSON must escape: below 0x20, `"` or `\`. Exact (no false positives), so
/// a zero result means the eight bytes can be copied as they are.
fn needs_escape(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per-lane "is zero" with no carries between lanes: for each byte x,
    // ((x & 0x7f) + 0x7f) has bit 7 set iff x & 0x7f != 0.
    let zero = |x: u64| !(((x & !HIGH) + !HIGH) | x) & HIGH;
    // A byte is below 0x20 iff its top three bits are all clear.
    let control = zero(word & (ONES * 0xe0));
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    control | quote | backslash
}

/// A JSON string, escaped exactly as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    // Skip over clean 8-byte words; stop at the first word with something to escape.
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = needs_escape(u64::from_le_bytes(word));
        if hits != 0 {
            // Little-endian: the lowest set lane is the first byte in order.
            at += (hits.trailing_zeros() / 8) as usize;
            break;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => {
                at += 1;
                continue;
            }
        };
        out.extend_from_slice(bytes.get(copied..at).unwrap_or_default());
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(short);
        }
        at += 1;
        copied = at;
    }
    out.extend_from_slice(bytes.get(copied..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::SCHEMA;

    fn encoded(e: &Event) -> String {
        let mut out = Vec::new();
        event(&mut out, e);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_large_record_is_streamed_with_the_same_bytes_and_no_large_buffer() {
        // A decompression bomb's body as a field: 1 MiB of NUL escapes to 6 MiB.
        let e = event_with_text(&"\0".repeat(1 << 20));
        assert!(is_large(&e));
        let mut out = Vec::new();
        let mut buf = Vec::new();
        write_event(&mut out, &mut buf, &e, b"\n").unwrap();
        let mut expected = serde_json::to_vec(&e).unwrap();
        expected.push(b'\n');
        assert!(out == expected, "streamed bytes differ from serde_json");
        assert_eq!(buf.capacity(), 0, "the reusable buffer must not grow");
        assert!(!is_large(&event_with_text("short")));
    }

    fn same_as_serde(e: &Event) {
        assert_eq!(encoded(e), serde_json::to_string(e).unwrap());
    }

    /// Every string the encoder writes, set to `text`.
    fn event_with_text(text: &str) -> Event {
        let s = || text.to_owned();
        Event {
            schema: s(),
            tracker: s(),
            vendor: s(),
            kind: Kind::Event,
            event: Some(s()),
            pixel_id: Some(s()),
            page_url: Some(s()),
            referrer: Some(s()),
            page_title: Some(s()),
            page_url_from: Some(s()),
            time: Some(Timestamp(1_764_384_178_554_000_000)),
            request: RequestSummary {
                method: s(),
                url: s(),
                host: Some(s()),
                http_version: Some(s()),
                content_encoding: vec![s(), s()],
            },
            fields: vec![
                Field {
                    path: s(),
                    location: s(),
                    value: s(),
                    property: Some(s()),
                },
                Field {
                    path: s(),
                    location: s(),
                    value: s(),
                    property: None,
                },
            ],
            identifiers: vec![Identifier {
                kind: s(),
                form: s(),
                value: s(),
                path: s(),
                matched: Some(s()),
            }],
            flags: vec![Flag {
                category: s(),
                rule: s(),
                text: s(),
                path: s(),
            }],
            party: Some(s()),
            detection: Detection::Shape,
            origin: Origin {
                file: s(),
                sha256: Some(s()),
                format: InputFormat::Pcapng,
                entry: Some(u64::MAX),
                frames: Some(vec![0, 1, 9, 10, 99, 100, 12_345_678_901]),
                stream: Some(0),
                h2_stream: Some(u32::MAX),
                quic_stream: Some(7),
                tls: Some(s()),
            },
        }
    }

    #[test]
    fn escapes_every_byte_as_serde_json_does() {
        // Every ASCII byte alone, at each position around an 8-byte word
        // boundary, so both the word scan and the byte loop see it.
        for b in 0u8..0x80 {
            let c = char::from(b);
            for pad in 0..17 {
                let text = format!("{}{c}{}", "a".repeat(pad), "z".repeat(pad % 5));
                let e = event_with_text(&text);
                assert_eq!(encoded(&e), serde_json::to_string(&e).unwrap(), "{b:#x}");
            }
        }
    }

    #[test]
    fn non_ascii_and_separators_pass_through() {
        for text in [
            "",
            "ünïcode ✓ 𝄞 emoji 🙂",
            "line\u{2028}sep\u{2029}para",
            "nul\0in the middle\0",
            "\u{7f}\u{80}\u{9b}\u{ad}\u{feff}",
            "quote\"back\\slash/solidus",
            "\x1b[2J\r\n\t\x08\x0c\x01\x1f",
            "evil\u{202e}gnp.exe",
            "long clean url https://www.facebook.com/tr?id=123&ev=PageView&dl=https%3A%2F%2Fexample.com%2F",
            "\"\"\"\"\"\"\"\"\\\\\\\\\\\\\\\\",
        ] {
            same_as_serde(&event_with_text(text));
        }
    }

    #[test]
    fn empty_and_null_values_match() {
        let mut e = event_with_text("x");
        e.event = None;
        e.pixel_id = None;
        e.page_url = None;
        e.referrer = None;
        e.page_title = None;
        e.page_url_from = None;
        e.time = None;
        e.request = RequestSummary::default();
        e.fields.clear();
        e.identifiers.clear();
        e.flags.clear();
        e.party = None;
        e.origin = Origin::file("a.har", None, InputFormat::Har);
        same_as_serde(&e);
        e.origin.frames = Some(Vec::new());
        same_as_serde(&e);
        e.schema = SCHEMA.to_owned();
        for kind in [Kind::Event, Kind::Library, Kind::Contact] {
            for detection in [Detection::Endpoint, Detection::Shape, Detection::Host] {
                for format in [InputFormat::Har, InputFormat::Pcap, InputFormat::Pcapng] {
                    e.kind = kind;
                    e.detection = detection;
                    e.origin.format = format;
                    same_as_serde(&e);
                }
            }
        }
    }

    #[test]
    fn times_match_at_every_precision() {
        let mut e = event_with_text("t");
        for nanos in [
            0,
            1,
            554_000_000,
            554_100_000,
            999_999_999,
            -1,
            -86_400_000_000_001,
            i64::MAX,
            i64::MIN,
        ] {
            e.time = Some(Timestamp(nanos));
            same_as_serde(&e);
        }
    }

    #[test]
    fn word_scan_flags_exactly_the_bytes_to_escape() {
        for b in 0u8..=255 {
            for lane in 0..8 {
                let mut word = [b'a'; 8];
                word[lane] = b;
                let hits = needs_escape(u64::from_le_bytes(word));
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(hits != 0, expected, "byte {b:#x} lane {lane}");
                if expected {
                    assert_eq!(hits.trailing_zeros() / 8, lane as u32);
                }
            }
        }
    }
}
