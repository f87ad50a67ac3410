//! Tolerant, streaming HAR reading: a HAR file in, one
//! [`pixelscope_model::Exchange`] per entry out.
//!
//! The principal type is [`HarReader`]. Given the input's template
//! [`Origin`](pixelscope_model::Origin) (file name, SHA-256, format), it reads
//! any [`std::io::Read`] and pushes each entry of `/log/entries` into an
//! [`ExchangeSink`](pixelscope_model::ExchangeSink) as soon as it is read,
//! with `origin.entry` set to the entry's 0-based index, so a finding can
//! always be traced back to `/log/entries/N`. It returns a [`HarSummary`]
//! (version, creator, browser, counts, whether any cookie was seen).
//!
//! ```
//! use pixelscope_har::HarReader;
//! use pixelscope_model::{Collected, InputFormat, Origin};
//!
//! let har = br#"{"log": {"version": "1.2", "entries": [
//!     {"startedDateTime": "2026-11-29T02:42:58.554Z",
//!      "request": {"method": "GET", "url": "https://www.facebook.com/tr/?id=1&ev=PageView",
//!                  "cookies": [{"name": "_fbp", "value": "fb.1.1.1"}]}}]}}"#;
//! let mut sink = Collected::default();
//! let reader = HarReader::new(Origin::file("visit.har", None, InputFormat::Har));
//! let summary = reader.read(&har[..], &mut sink).unwrap();
//! assert_eq!(summary.entries_read, 1);
//! assert_eq!(sink.exchanges[0].origin.entry, Some(0));
//! assert!(sink.diagnostics.is_empty());
//! ```
//!
//! # Why it is built this way
//!
//! HARs come from a dozen exporters (Chrome, Firefox back to the old `1.1`
//! format, Safari, Playwright, Charles, Fiddler, mitmproxy, Insomnia,
//! chrome-har, WebPageTest, pcap2har), each with its own idea of which parts
//! are optional, whether numbers are strings, and where `null` is allowed;
//! and evidence HARs can be gigabytes. So:
//!
//! * **Streaming.** The input is read in chunks through a bounded window
//!   (`input` module). A small structural scanner walks `{"log": {...}}`;
//!   small members (`version`, `creator`, `browser`, `pages`) are parsed
//!   whole with serde_json, and `entries` is walked element by element.
//!   Memory is bounded by the largest entry, itself capped by
//!   [`HarLimits::max_entry_bytes`].
//! * **A direct parser first.** Entries as exporters usually write them are
//!   read by a small hand-written parser (`fast` module) that borrows the
//!   strings it keeps and steps over the rest with `memchr`; on anything it
//!   is not sure to read exactly as serde_json would, it gives up and the
//!   entry is parsed with serde_json as described next. Values and
//!   diagnostics are therefore serde_json's either way; tests compare both.
//! * **Per-entry recovery.** Each entry's bytes are parsed on their own into
//!   lenient structs (`entry` module: everything optional, `null` tolerated,
//!   numbers as strings or floats, strings borrowed from the window). A
//!   broken entry becomes a `har.entry-invalid` diagnostic naming its index,
//!   byte offset and line, and the following entries are still read. A file
//!   cut short delivers its complete entries and ends with `har.truncated`.
//! * **Honest bodies** (`convert` module). Base64 bodies are decoded
//!   ([`BodySource::HarBase64`](pixelscope_model::BodySource)); bodies that
//!   only survive as `postData.params` are rebuilt, as JSON when the media
//!   type says so (chrome-har) and form-urlencoded otherwise
//!   (`BodySource::HarParams`); a compressed request body that a browser
//!   stored as text, or a declared body the export dropped, is marked
//!   `BodyState::Damaged` with a diagnostic rather than trusted. Response
//!   bodies, which nothing downstream reads and which are most of a HAR's
//!   bytes, are stepped over unread: the response says a body was stored
//!   (media type, encoding) but keeps none of it (`BodyState::Truncated`
//!   at 0 bytes).
//! * **Nothing an exporter added is dropped.** Entry-level `_underscore`
//!   fields (`_initiator`, `_resourceType`, …) go into `Exchange::extra`
//!   under their own names; response-level ones under `response.` plus the
//!   name (`response._error` = `net::ERR_BLOCKED_BY_CLIENT` says the request
//!   never left the browser).
//! * **Sanitised exports are called out.** A HAR without a single cookie gets
//!   a `har.no-cookies` warning: Chrome's default export strips cookies, and
//!   identity cookies are evidence.
//!
//! Only a file that is not a HAR at all, or cannot be read, is an `Err`
//! ([`HarError`], one line naming the line and byte). [`looks_like_har`]
//! sniffs the first bytes of a file for format detection.

mod convert;
mod entry;
mod error;
mod fast;
mod input;
mod reader;

pub use error::{HarError, Position};
pub use reader::{HarLimits, HarReader, HarSummary, Software};

/// Whether a file starting with `prefix` could be a HAR: after an optional
/// UTF-8 byte-order mark and whitespace, the first byte is `{`. (Captures
/// start with binary magic numbers, so this is enough to tell them apart.)
pub fn looks_like_har(prefix: &[u8]) -> bool {
    let rest = prefix
        .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
        .unwrap_or(prefix);
    rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_json_objects_with_or_without_bom() {
        assert!(looks_like_har(b"\xEF\xBB\xBF\n  {\"log\""));
        assert!(looks_like_har(b"{"));
        assert!(!looks_like_har(b"\xd4\xc3\xb2\xa1"));
        assert!(!looks_like_har(b"[{}]"));
        assert!(!looks_like_har(b"   "));
    }
}
