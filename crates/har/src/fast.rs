//! A direct parser for entries as exporters usually write them, in front of
//! serde_json.
//!
//! serde_json, driven through the lenient `entry` types, costs most of the
//! reader's time: every key and kept string is validated and matched
//! through generic visitors, and the strings it steps over (response
//! bodies, query strings, timings) are unescaped into scratch space. This
//! parser walks the entry's bytes once, borrows every string it keeps,
//! skips the rest with `memchr`, and builds the same [`HarEntry`].
//!
//! It is an accelerator, not a second opinion: on anything it is not sure
//! to read exactly as serde_json would (an error of any kind, a duplicate
//! field, a surrogate escape, a float where a string or status is expected,
//! deep nesting, a struct written as an array, the end of the window) it
//! gives up and returns `None`, and the reader parses the entry with
//! serde_json as before. So the accepted language, the values built, and
//! every diagnostic stay serde_json's; the tests compare both on every
//! entry of the sample HARs.

use crate::entry::{
    HarContent, HarEntry, HarPair, HarParam, HarPostData, HarRequest, HarResponse, List, Number,
    RawText, SkippedText, Text,
};
use serde::de::IgnoredAny;
use std::borrow::Cow;

/// Deeper than this, the entry is left to serde_json (whose limit is 128).
const MAX_DEPTH: u32 = 100;

/// Parses the entry object at the start of `bytes`; returns it and its
/// length in bytes, or `None` to let serde_json decide.
pub(crate) fn parse_entry(bytes: &[u8]) -> Option<(HarEntry<'_>, usize)> {
    let mut p = Parser { b: bytes, i: 0 };
    let entry = p.entry()?;
    Some((entry, p.i))
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

/// How a string's escapes and bytes are checked, after serde_json's three
/// ways of reading one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StrMode {
    /// A `str`: no control characters, UTF-8, surrogates paired.
    Text,
    /// Raw bytes (`deserialize_bytes`): control characters and any bytes
    /// allowed.
    Raw,
    /// Ignored: no control characters, any bytes, escapes only checked.
    Ignored,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek()? == byte {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i.checked_add(word.len())?;
        if self.b.get(self.i..end)? == word {
            self.i = end;
            Some(())
        } else {
            None
        }
    }

    /// Walks the members of an object at the cursor, handing each key to
    /// `member` with the cursor before its value.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, [u8]>) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.key()?;
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Walks the elements of an array at the cursor.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            element(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `null` at the cursor is consumed and reported.
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// The string at the cursor, read in `mode`: borrowed when it has no
    /// escapes, unescaped into a new buffer otherwise. Without `keep`, only
    /// its end is found (and its escapes checked); nothing is copied.
    fn string(&mut self, mode: StrMode, keep: bool) -> Option<Cow<'a, [u8]>> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let body = self.i + 1;
        let rest = self.b.get(body..)?;
        let mut owned: Option<Vec<u8>> = None;
        // Start (in `rest`) of the run not yet copied or checked.
        let mut start = 0;
        // Raw strings are response and request bodies: long and dense with
        // escapes, so one SIMD iterator finds every quote and backslash.
        // The others are keys and header values: short, so a plain loop
        // that also looks for control characters is quicker.
        let mut raw_hits = memchr::memchr2_iter(b'"', b'\\', rest);
        loop {
            let at = if mode == StrMode::Raw {
                // Skips the escaped character of the previous escape.
                raw_hits.find(|&at| at >= start)?
            } else {
                start + find_special(rest.get(start..)?)?
            };
            let run = rest.get(start..at)?;
            match rest.get(at) {
                Some(b'"') => {
                    self.i = body + at + 1;
                    return Some(match owned {
                        None => Cow::Borrowed(run),
                        Some(mut buf) => {
                            buf.extend_from_slice(run);
                            Cow::Owned(buf)
                        }
                    });
                }
                Some(b'\\') => {}
                // A control character, which only raw strings may hold.
                _ => return None,
            }
            // A backslash: check the escape, and copy only what is kept.
            let mut utf8 = [0; 4];
            let (decoded, len): (&[u8], usize) = match *rest.get(at + 1)? {
                b'"' => (b"\"", 2),
                b'\\' => (b"\\", 2),
                b'/' => (b"/", 2),
                b'b' => (b"\x08", 2),
                b'f' => (b"\x0c", 2),
                b'n' => (b"\n", 2),
                b'r' => (b"\r", 2),
                b't' => (b"\t", 2),
                b'u' => {
                    let hex = rest.get(at + 2..at + 6)?;
                    let code = hex
                        .iter()
                        .try_fold(0u32, |n, &h| Some(n * 16 + char::from(h).to_digit(16)?))?;
                    // Surrogates are where serde_json's ways of reading a
                    // string differ: left to serde_json.
                    (char::from_u32(code)?.encode_utf8(&mut utf8).as_bytes(), 6)
                }
                _ => return None,
            };
            if keep {
                let buf = owned.get_or_insert_with(Vec::new);
                buf.extend_from_slice(run);
                buf.extend_from_slice(decoded);
            }
            start = at + len;
        }
    }

    /// An object key: checked as a `str` (serde_json reads every key so),
    /// but kept as bytes, as keys are only compared.
    fn key(&mut self) -> Option<Cow<'a, [u8]>> {
        let key = self.string(StrMode::Text, true)?;
        if key.is_ascii() || std::str::from_utf8(&key).is_ok() {
            Some(key)
        } else {
            None
        }
    }

    /// A string read as serde_json reads a `str`.
    fn text_string(&mut self) -> Option<Cow<'a, str>> {
        match self.string(StrMode::Text, true)? {
            Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
            Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
        }
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i)? {
            b'0' => {
                self.i += 1;
                if self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if !self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            self.digits();
        }
        self.b.get(start..self.i)
    }

    fn digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }

    /// A number that is a plain non-negative integer fitting `u64` (the
    /// only kind whose value this parser reproduces); `None` otherwise.
    fn unsigned(&mut self) -> Option<u64> {
        let text = self.number()?;
        if !text.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(text).ok()?.parse().ok()
    }

    /// Steps over any value, as `IgnoredAny`.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(StrMode::Ignored, false).map(drop),
            b'{' => {
                let depth = deeper(depth)?;
                self.object(|p, _| p.skip(depth))
            }
            b'[' => {
                let depth = deeper(depth)?;
                self.array(|p| p.skip(depth))
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// A value kept as JSON: its end is found here, and serde_json builds
    /// it from exactly those bytes.
    fn json(&mut self, depth: u32) -> Option<serde_json::Value> {
        self.ws();
        let start = self.i;
        self.skip(depth)?;
        serde_json::from_slice(self.b.get(start..self.i)?).ok()
    }

    fn text(&mut self) -> Option<Text<'a>> {
        Some(Text(match self.peek()? {
            b'"' => Some(self.text_string()?),
            b'n' => {
                self.literal(b"null")?;
                None
            }
            b't' => {
                self.literal(b"true")?;
                Some(Cow::Borrowed("true"))
            }
            b'f' => {
                self.literal(b"false")?;
                Some(Cow::Borrowed("false"))
            }
            _ => Some(Cow::Owned(self.unsigned()?.to_string())),
        }))
    }

    fn status(&mut self) -> Option<Number> {
        Some(Number(match self.peek()? {
            b'"' => {
                let text = self.text_string()?;
                text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
            }
            b'n' => {
                self.literal(b"null")?;
                None
            }
            _ => Some(self.unsigned()? as f64),
        }))
    }

    /// A list as `List<T>` reads it: an array without its `null`s, a lone
    /// object, or nothing for `null`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<List<T>> {
        let mut items = Vec::new();
        match self.peek()? {
            b'[' => self.array(|p| {
                if !p.null()? {
                    items.push(item(p)?);
                }
                Some(())
            })?,
            b'{' => items.push(item(self)?),
            b'n' => self.literal(b"null")?,
            _ => return None,
        }
        Some(List(items))
    }

    fn entry(&mut self) -> Option<HarEntry<'a>> {
        let mut entry = HarEntry::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"startedDateTime" => entry.started = p.text()?,
                b"pageref" => entry.pageref = p.text()?,
                b"request" => entry.request = if p.null()? { None } else { Some(p.request()?) },
                b"response" => entry.response = if p.null()? { None } else { Some(p.response()?) },
                [b'_', ..] => {
                    let value = p.json(1)?;
                    entry
                        .extra
                        .push((String::from_utf8(key.into_owned()).ok()?, value));
                }
                _ => p.skip(1)?,
            }
            Some(())
        })?;
        Some(entry)
    }

    fn request(&mut self) -> Option<HarRequest<'a>> {
        let mut request = HarRequest::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"method" => request.method = seen.once(0, p.text())?,
                b"url" => request.url = seen.once(1, p.text())?,
                b"httpVersion" => request.http_version = seen.once(2, p.text())?,
                b"headers" => request.headers = seen.once(3, p.list(Parser::pair))?,
                b"cookies" => request.cookies = seen.once(4, p.list(Parser::pair))?,
                b"postData" => {
                    let post = if p.null()? {
                        None
                    } else {
                        Some(p.post_data()?)
                    };
                    request.post_data = seen.once(5, Some(post))?;
                }
                _ => p.skip(2)?,
            }
            Some(())
        })?;
        Some(request)
    }

    fn pair(&mut self) -> Option<HarPair<'a>> {
        let mut pair = HarPair::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"name" => pair.name = seen.once(0, p.text())?,
                b"value" => pair.value = seen.once(1, p.text())?,
                _ => p.skip(4)?,
            }
            Some(())
        })?;
        Some(pair)
    }

    fn post_data(&mut self) -> Option<HarPostData<'a>> {
        let mut post = HarPostData::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"mimeType" => post.mime_type = seen.once(0, p.text())?,
                b"text" => {
                    let text = if p.null()? {
                        RawText(None)
                    } else {
                        RawText(Some(p.raw_string(true)?))
                    };
                    post.text = seen.once(1, Some(text))?;
                }
                b"encoding" => post.encoding = seen.once(2, p.text())?,
                b"params" => post.params = seen.once(3, p.list(Parser::param))?,
                _ => p.skip(3)?,
            }
            Some(())
        })?;
        Some(post)
    }

    fn param(&mut self) -> Option<HarParam<'a>> {
        let mut param = HarParam::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"name" => param.name = seen.once(0, p.text())?,
                b"value" => {
                    let value = if p.null()? { None } else { Some(p.json(5)?) };
                    param.value = seen.once(1, Some(value))?;
                }
                _ => p.skip(5)?,
            }
            Some(())
        })?;
        Some(param)
    }

    /// A string read as raw bytes (`RawText`), its escapes decoded when
    /// kept.
    fn raw_string(&mut self, keep: bool) -> Option<Cow<'a, [u8]>> {
        self.ws();
        self.string(StrMode::Raw, keep)
    }

    fn response(&mut self) -> Option<HarResponse<'a>> {
        let mut response = HarResponse::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"status" => response.status = p.status()?,
                b"httpVersion" => response.http_version = p.text()?,
                b"headers" => response.headers = p.list(Parser::pair)?,
                b"cookies" => {
                    response.cookies = p.list(|p| {
                        p.skip(3)?;
                        Some(IgnoredAny)
                    })?
                }
                b"content" => response.content = if p.null()? { None } else { Some(p.content()?) },
                [b'_', ..] => {
                    let value = p.json(2)?;
                    response
                        .extra
                        .push((String::from_utf8(key.into_owned()).ok()?, value));
                }
                _ => p.skip(2)?,
            }
            Some(())
        })?;
        Some(response)
    }

    fn content(&mut self) -> Option<HarContent<'a>> {
        let mut content = HarContent::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            match key.as_ref() {
                b"mimeType" => content.mime_type = seen.once(0, p.text())?,
                b"text" => {
                    let present = !p.null()?;
                    if present {
                        // The body itself is not kept: only its end is found.
                        p.raw_string(false)?;
                    }
                    content.text = seen.once(1, Some(SkippedText { present }))?;
                }
                b"encoding" => content.encoding = seen.once(2, p.text())?,
                _ => p.skip(3)?,
            }
            Some(())
        })?;
        Some(content)
    }
}

/// The first quote, backslash or control character in `bytes`, eight bytes
/// at a time: header values and URLs run to a few hundred bytes.
fn find_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    for (n, chunk) in chunks.enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // Per byte, the high bit says "is below 0x20" / "is zero" (the
        // classic test; it can misfire only on bytes after a true match,
        // so the lowest flagged byte is exact).
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let quote = word ^ (ONES * u64::from(b'"'));
        let quote = quote.wrapping_sub(ONES) & !quote;
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let backslash = backslash.wrapping_sub(ONES) & !backslash;
        let found = (control | quote | backslash) & HIGH;
        if found != 0 {
            return Some(n * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let offset = bytes.len() - tail.len();
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| offset + p)
}

fn deeper(depth: u32) -> Option<u32> {
    let depth = depth.checked_add(1)?;
    (depth <= MAX_DEPTH).then_some(depth)
}

/// Fields already read in a derived (serde) struct, which rejects a
/// repeated field: a repeat sends the entry to serde_json.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn once<T>(&mut self, field: u8, value: Option<T>) -> Option<T> {
        let bit = 1u8.checked_shl(u32::from(field))?;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Input, Scanned};
    use std::path::{Path, PathBuf};

    /// serde_json's reading of the entry at the start of `bytes`: the
    /// reference the direct parser must match.
    fn serde_entry(bytes: &[u8]) -> Option<(HarEntry<'_>, usize)> {
        let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<HarEntry<'_>>();
        match stream.next() {
            Some(Ok(entry)) => Some((entry, stream.byte_offset())),
            _ => None,
        }
    }

    /// Whether the direct parser agrees with serde_json on `bytes`: it may
    /// give up, but what it accepts serde_json accepts, with the same entry
    /// and length. Returns whether it accepted.
    fn agrees(bytes: &[u8]) -> bool {
        let fast = parse_entry(bytes);
        if let Some((entry, len)) = &fast {
            let reference = serde_entry(bytes);
            assert_eq!(
                Some((entry, *len)),
                reference.as_ref().map(|(e, l)| (e, *l)),
                "on {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        fast.is_some()
    }

    /// The raw bytes of each element of the first `"entries"` array.
    fn entries_of(file: &[u8]) -> Vec<Vec<u8>> {
        let Some(at) = memchr::memmem::find(file, b"\"entries\"") else {
            return Vec::new();
        };
        let mut input = Input::new(&file[at + 9..], 4096);
        let mut out = Vec::new();
        if input.peek_non_ws().unwrap() != Some(b':') {
            return out;
        }
        input.advance(1);
        if input.peek_non_ws().unwrap() != Some(b'[') {
            return out;
        }
        input.advance(1);
        loop {
            match input.peek_non_ws().unwrap() {
                Some(b',') => input.advance(1),
                Some(b'{') => match input.scan_value(1 << 30).unwrap() {
                    Scanned::Kept { start, end } => out.push(input.window()[start..end].to_vec()),
                    _ => return out,
                },
                _ => return out,
            }
        }
    }

    fn hars_below(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                hars_below(&path, out);
            } else if path.extension().is_some_and(|e| e == "har") {
                out.push(path);
            }
        }
    }

    fn sample_entries() -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        hars_below(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples"),
            &mut files,
        );
        files.sort();
        assert!(files.len() > 20, "the sample HARs are missing");
        files
            .into_iter()
            .flat_map(|path| {
                let bytes = std::fs::read(&path).unwrap();
                entries_of(&bytes)
                    .into_iter()
                    .map(move |entry| (path.clone(), entry))
            })
            .collect()
    }

    #[test]
    fn reads_every_sample_entry_as_serde_json_does() {
        let entries = sample_entries();
        let accepted = entries.iter().filter(|(_, e)| agrees(e)).count();
        assert!(entries.len() > 500, "{} entries", entries.len());
        // It is a fast path only if it takes nearly everything real.
        assert!(
            accepted * 100 >= entries.len() * 95,
            "{accepted} of {}",
            entries.len()
        );
        // Every lab entry (real Chromium exports) takes the fast path.
        for (path, entry) in &entries {
            if path.components().any(|c| c.as_os_str() == "lab") {
                assert!(parse_entry(entry).is_some(), "{}", path.display());
            }
        }
    }

    #[test]
    fn damaged_sample_entries_are_read_as_serde_json_does_or_left_to_it() {
        // Deterministic damage: one byte replaced by a JSON-significant or
        // invalid one, at pseudo-random places, many times over.
        let swaps: &[u8] = b"\"\\{}[],:0-9eE.ntfu \n\x01\x7f\xff\xc3/";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let entries = sample_entries();
        let (mut tried, mut accepted) = (0, 0);
        for (_, entry) in entries.iter().step_by(7) {
            for _ in 0..12 {
                let mut damaged = entry.clone();
                let at = (next() % damaged.len() as u64) as usize;
                damaged[at] = swaps[(next() % swaps.len() as u64) as usize];
                tried += 1;
                accepted += usize::from(agrees(&damaged));
                // A cut entry is never complete.
                assert!(parse_entry(&entry[..at]).is_none());
            }
        }
        assert!(tried > 1000 && accepted > 0);
    }

    #[test]
    fn finds_the_first_special_byte_at_every_offset() {
        let filler = [b'a', 0x20, 0x21, 0x5b, 0x5d, 0xff, 0x80];
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes: Vec<u8> = (0..len).map(|i| filler[i % filler.len()]).collect();
                    let expected = (at < len).then(|| {
                        bytes[at] = special;
                        // A second one after it must not matter.
                        if at + 1 < len {
                            bytes[at + 1] = b'"';
                        }
                        at
                    });
                    assert_eq!(find_special(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn edge_cases_match_serde_json() {
        let cases: &[&[u8]] = &[
            br#"{}"#,
            br#"{"request":null,"response":null,"pageref":null}"#,
            br#"{"request":{"method":"GET","method":"POST"}}"#,
            br#"{"request":{"method":"GET"},"request":{"url":"x"}}"#,
            br#"{"request":{"headers":[{"name":"a","name":"b"}]}}"#,
            br#"{"request":{"headers":{"name":"a","value":"b"}}}"#,
            br#"{"request":{"headers":[null,{"name":1,"value":true},{"value":false}]}}"#,
            br#"{"request":{"headers":"x"}}"#,
            br#"{"request":{"headers":[["a","b"]]}}"#,
            br#"{"request":["GET","https://x/"]}"#,
            br#"{"request":{"method":1.5}}"#,
            br#"{"request":{"method":-3}}"#,
            br#"{"request":{"method":18446744073709551616}}"#,
            br#"{"request":{"method":18446744073709551615}}"#,
            br#"{"request":{"method":0,"url":007}}"#,
            br#"{"request":{"method":{"a":1}}}"#,
            br#"{"request":{"url":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac"}}"#,
            br#"{"request":{"url":"\ud83d\ude00"}}"#,
            br#"{"request":{"url":"\udc00"}}"#,
            br#"{"request":{"url":"\u12"}}"#,
            br#"{"request":{"url":"\x"}}"#,
            br#"{"request":{"url":"tab	inside"}}"#,
            br#"{"request":{"method":"GET",}}"#,
            br#"{"request":{"method":"GET"},}"#,
            br#"{"request":{"method" "GET"}}"#,
            br#"{"request":{"postData":{"text":"a\u0000b","encoding":"base64","params":[{"name":"n","value":{"k":[1,2.5e3,null]}},{"name":"m","value":null}]}}}"#,
            br#"{"request":{"postData":{"text":5}}}"#,
            br#"{"request":{"postData":{"text":[1,2]}}}"#,
            br#"{"request":{"postData":{"text":"raw	tab"}}}"#,
            br#"{"request":{"postData":null,"cookies":null}}"#,
            br#"{"response":{"status":"204","status":200}}"#,
            br#"{"response":{"status":200.0}}"#,
            br#"{"response":{"status":" 301 "}}"#,
            br#"{"response":{"status":true}}"#,
            br#"{"response":{"status":-1}}"#,
            br#"{"response":{"cookies":[{"a":1},null,2,"x",[3]],"_error":"net::ERR","_e":1e400}}"#,
            br#"{"response":{"cookies":{"name":"a"}}}"#,
            br#"{"response":{"content":{"text":"raw	tab\u0000\ud800"}}}"#,
            br#"{"response":{"content":{"text":5}}}"#,
            br#"{"response":{"content":{"text":"x","text":"y"}}}"#,
            br#"{"response":{"content":{"text":"\q"}}}"#,
            br#"{"response":[200]}"#,
            br#"{"_x":{"deep":[[[[{"a":"\u00e9"}]]]]},"_y":-0,"_z":1.7976931348623157e308,"time":1.5e-7}"#,
            br#"{"_x":"\udc00"}"#,
            br#"{"timings":{"a":01}}"#,
            br#"{"timings":{"a":1.}}"#,
            br#"{"timings":{"a":.5}}"#,
            br#"{"timings":{"a":1e}}"#,
            br#"{"timings":{"a":tru}}"#,
            br#"{"timings":{"a":nul}}"#,
            br#"{"cache":{"\u0061":"\ud800"}}"#,
            br#"{"cache":{"k	ey":1}}"#,
            br#"{"pageref":"p"}  , {"next":1}"#,
            br#" {"pageref":"p"}"#,
            br#"{"pageref":"p""#,
            br#"[]"#,
        ];
        for case in cases {
            agrees(case);
        }
        // Some cases the fast path must take, not only leave to serde_json.
        for taken in [
            &br#"{"request":{"url":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac"}}"#[..],
            br#"{"response":{"cookies":[{"a":1},null,2,"x",[3]],"_error":"net::ERR"}}"#,
            br#"{"response":{"status":" 301 ","content":{"text":"raw	tab\u0000"}}}"#,
            br#"{"request":{"headers":{"name":"a","value":"b"}}}"#,
        ] {
            assert!(agrees(taken), "{}", String::from_utf8_lossy(taken));
        }
        // Invalid UTF-8: in a kept string it is serde_json's error; in a
        // response body or a skipped value it is stepped over.
        let bad = |json: &str| json.replace('~', "\u{0}").into_bytes();
        for json in [
            r#"{"request":{"url":"a~"}}"#,
            r#"{"response":{"content":{"text":"a~"}}}"#,
            r#"{"queryString":"a~"}"#,
            r#"{"~":1}"#,
        ] {
            let mut bytes = bad(json);
            for b in bytes.iter_mut().filter(|b| **b == 0) {
                *b = 0xff;
            }
            agrees(&bytes);
        }
        let mut deep = Vec::new();
        deep.extend_from_slice(b"{\"_deep\":");
        deep.extend(std::iter::repeat_n(b'[', 130));
        deep.extend(std::iter::repeat_n(b']', 130));
        deep.push(b'}');
        assert!(parse_entry(&deep).is_none());
        assert!(serde_entry(&deep).is_none());
    }
}
