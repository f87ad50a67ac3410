//! A bounded window over the input and a structural JSON scanner.
//!
//! The reader never holds the whole file. [`Input`] keeps a window of bytes
//! (`buf[..end]`) that starts at absolute offset `base`; bytes before the
//! cursor are discarded on the next refill unless a value being collected
//! *pins* them. The window therefore grows only to the size of the largest
//! value that must be kept whole (one HAR entry), and that size is capped by
//! the caller.
//!
//! The scanner does not validate JSON: it only finds where a value ends, by
//! counting `{`/`[` against `}`/`]` outside strings and jumping through
//! strings with `memchr` on `"` and `\`. Validation is serde_json's job on the
//! exact byte range found, which is what makes per-entry recovery possible: a
//! malformed entry still has a findable end, and reading resumes after it.

use crate::error::{HarError, Position};
use std::io::{self, Read};

/// How one scanned value ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// The value is whole and kept in `buf[start..end]` (window indices,
    /// valid until the next refill).
    Kept { start: usize, end: usize },
    /// The value was longer than the limit; it was skipped, not kept.
    TooLarge { start: Position, len: u64 },
    /// The value was skipped on purpose (limit 0) and is complete.
    Skipped,
    /// The input ended inside the value.
    Eof { start: Position },
}

pub(crate) struct Input<R> {
    reader: R,
    buf: Vec<u8>,
    /// Valid bytes are `buf[..end]`.
    end: usize,
    /// The cursor: the next byte to look at.
    pos: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Newlines in the discarded bytes before `buf[0]`, for line numbers.
    newlines_before: u64,
    /// Newlines in `buf[..counted_to]`: a cache so that line numbers cost
    /// one pass over the input in total, however often they are asked for.
    counted_to: usize,
    newlines_counted: u64,
    /// Window index that must survive refills (the start of a value being
    /// collected).
    pinned: Option<usize>,
    eof: bool,
    chunk: usize,
}

impl<R: Read> Input<R> {
    pub(crate) fn new(reader: R, chunk: usize) -> Input<R> {
        let chunk = chunk.max(4096);
        Input {
            reader,
            // A little more than a chunk, so that after the unread tail of
            // the window (usually part of one entry) moves to the front,
            // a whole chunk still fits: a `BufReader` no larger than the
            // chunk then hands the read straight to the file instead of
            // copying every byte through its own buffer.
            buf: vec![0; chunk + chunk / 8],
            end: 0,
            pos: 0,
            base: 0,
            newlines_before: 0,
            counted_to: 0,
            newlines_counted: 0,
            pinned: None,
            eof: false,
            chunk,
        }
    }

    /// The window's valid bytes.
    pub(crate) fn window(&self) -> &[u8] {
        self.buf.get(..self.end).unwrap_or_default()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.set_pos(self.pos.saturating_add(n));
    }

    /// Absolute byte offset and line of a window index.
    pub(crate) fn position_of(&mut self, index: usize) -> Position {
        let index = index.min(self.end);
        let newlines = self.newlines_up_to(index);
        Position {
            byte: self.base.saturating_add(index as u64),
            line: self
                .newlines_before
                .saturating_add(newlines)
                .saturating_add(1),
        }
    }

    /// Newlines in `buf[..index]`, counting forward from the cache.
    fn newlines_up_to(&mut self, index: usize) -> u64 {
        if index < self.counted_to {
            return count_newlines(self.buf.get(..index).unwrap_or_default());
        }
        let fresh = count_newlines(self.buf.get(self.counted_to..index).unwrap_or_default());
        self.counted_to = index;
        self.newlines_counted = self.newlines_counted.saturating_add(fresh);
        self.newlines_counted
    }

    /// The position of the cursor.
    pub(crate) fn here(&mut self) -> Position {
        self.position_of(self.pos)
    }

    /// Discards consumed bytes (keeping any pinned value) and reads more.
    /// Returns `false` once the input is exhausted.
    pub(crate) fn refill(&mut self) -> Result<bool, HarError> {
        if self.eof {
            return Ok(false);
        }
        let keep_from = self.pinned.unwrap_or(self.pos).min(self.end);
        if keep_from > 0 {
            let dropped = self.newlines_up_to(keep_from);
            self.newlines_before = self.newlines_before.saturating_add(dropped);
            self.counted_to = 0;
            self.newlines_counted = 0;
            self.buf.copy_within(keep_from..self.end, 0);
            self.end -= keep_from;
            self.pos -= keep_from.min(self.pos);
            self.base = self.base.saturating_add(keep_from as u64);
            if let Some(pin) = self.pinned.as_mut() {
                *pin -= keep_from.min(*pin);
            }
        }
        // Give memory back after an unusually large value is done with.
        if self.pinned.is_none() && self.buf.len() > 4 * self.chunk && self.end < self.chunk {
            self.buf.truncate(2 * self.chunk);
            self.buf.shrink_to_fit();
        }
        if self.buf.len().saturating_sub(self.end) < self.chunk / 2 {
            let grown = self
                .buf
                .len()
                .saturating_add(self.chunk.max(self.buf.len() / 2));
            self.buf.resize(grown, 0);
        }
        loop {
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end = self.end.saturating_add(n).min(self.buf.len());
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(HarError::Io {
                        source,
                        at: self.position_of(self.end),
                    });
                }
            }
        }
    }

    /// Makes sure at least `n` bytes are available after the cursor, unless
    /// the input ends first.
    pub(crate) fn fill_to(&mut self, n: usize) -> Result<(), HarError> {
        while self.end.saturating_sub(self.pos) < n {
            if !self.refill()? {
                break;
            }
        }
        Ok(())
    }

    /// Skips whitespace and returns the next byte without consuming it, or
    /// `None` at the end of the input.
    pub(crate) fn peek_non_ws(&mut self) -> Result<Option<u8>, HarError> {
        loop {
            let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
            match rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
            {
                Some(skip) => {
                    self.pos += skip;
                    return Ok(self.buf.get(self.pos).copied());
                }
                None => {
                    self.pos = self.end;
                    if !self.refill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Scans the value that starts at the cursor (after whitespace) and
    /// leaves the cursor just after it. A value of up to `keep_limit` bytes
    /// is kept in the window; a longer one is skipped. `keep_limit == 0`
    /// skips without keeping.
    pub(crate) fn scan_value(&mut self, keep_limit: usize) -> Result<Scanned, HarError> {
        if self.peek_non_ws()?.is_none() {
            return Ok(Scanned::Eof { start: self.here() });
        }
        let start_at = self.here();
        let mut keeping = keep_limit > 0;
        if keeping {
            self.pinned = Some(self.pos);
        }
        let mut state = ScanState::new(self.buf.get(self.pos).copied().unwrap_or(b'0'));
        let mut i = self.pos;
        let mut collected: u64 = 0;
        let result = loop {
            let window = self.buf.get(..self.end).unwrap_or_default();
            let before = i;
            let done = state.advance(window, &mut i);
            collected = collected.saturating_add((i - before) as u64);
            if done {
                break Ok(());
            }
            if keeping && collected > keep_limit as u64 {
                keeping = false;
                self.pinned = None;
            }
            self.pos = i;
            if !self.refill()? {
                break Err(());
            }
            i = self.pos;
        };
        self.pos = i;
        let pinned = self.pinned.take();
        if result.is_err() && !state.is_scalar() {
            return Ok(Scanned::Eof { start: start_at });
        }
        // Complete (a bare number or literal may also end with the input).
        Ok(match pinned {
            _ if keep_limit == 0 => Scanned::Skipped,
            Some(start) if keeping && collected <= keep_limit as u64 => Scanned::Kept {
                start,
                end: self.pos,
            },
            _ => Scanned::TooLarge {
                start: start_at,
                len: collected,
            },
        })
    }

    /// Reads a JSON string token at the cursor (object keys), unescaped.
    /// Returns `None` when the cursor is not at a string or the string is
    /// not valid JSON.
    pub(crate) fn read_key(&mut self, limit: usize) -> Result<KeyRead, HarError> {
        match self.scan_value(limit)? {
            Scanned::Kept { start, end } => {
                let bytes = self.buf.get(start..end).unwrap_or_default();
                match serde_json::from_slice::<String>(bytes) {
                    Ok(key) => Ok(KeyRead::Key(key)),
                    Err(_) => Ok(KeyRead::Invalid),
                }
            }
            Scanned::Eof { .. } => Ok(KeyRead::Eof),
            Scanned::TooLarge { .. } | Scanned::Skipped => Ok(KeyRead::Invalid),
        }
    }
}

pub(crate) enum KeyRead {
    Key(String),
    Invalid,
    Eof,
}

/// Resumable state of the structural scan of one value.
struct ScanState {
    kind: ValueKind,
    depth: u32,
    in_string: bool,
    /// A backslash was the last byte of the previous window.
    escape_pending: bool,
    started: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Container,
    String,
    Scalar,
}

impl ScanState {
    fn new(first: u8) -> ScanState {
        let kind = match first {
            b'{' | b'[' => ValueKind::Container,
            b'"' => ValueKind::String,
            _ => ValueKind::Scalar,
        };
        ScanState {
            kind,
            depth: 0,
            in_string: false,
            escape_pending: false,
            started: false,
        }
    }

    fn is_scalar(&self) -> bool {
        self.kind == ValueKind::Scalar
    }

    /// Advances `i` through `window`; returns `true` with `i` just past the
    /// value when it is complete, `false` with `i == window.len()` when more
    /// input is needed.
    fn advance(&mut self, window: &[u8], i: &mut usize) -> bool {
        if self.kind == ValueKind::Scalar {
            while let Some(&b) = window.get(*i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' | b':') {
                    return true;
                }
                *i += 1;
            }
            return false;
        }
        loop {
            if self.escape_pending {
                if *i >= window.len() {
                    return false;
                }
                *i += 1;
                self.escape_pending = false;
            }
            if self.in_string {
                let rest = window.get(*i..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', rest) {
                    None => {
                        *i = window.len();
                        return false;
                    }
                    Some(found) => {
                        let at = *i + found;
                        if window.get(at) == Some(&b'\\') {
                            if at + 1 < window.len() {
                                *i = at + 2;
                            } else {
                                *i = window.len();
                                self.escape_pending = true;
                                return false;
                            }
                        } else {
                            *i = at + 1;
                            self.in_string = false;
                            if self.depth == 0 {
                                // A string value (only reached for kind String).
                                return true;
                            }
                        }
                    }
                }
                continue;
            }
            if !self.started {
                // Opening byte: `{`, `[` or `"`.
                self.started = true;
                match window.get(*i) {
                    Some(b'"') => {
                        self.in_string = true;
                        *i += 1;
                        continue;
                    }
                    Some(_) => {
                        self.depth = 1;
                        *i += 1;
                    }
                    None => return false,
                }
            }
            // Outside strings inside a container.
            let rest = window.get(*i..).unwrap_or_default();
            let mut consumed = 0;
            let mut closed = false;
            let mut entered_string = false;
            for &b in rest {
                consumed += 1;
                match b {
                    b'"' => {
                        entered_string = true;
                        break;
                    }
                    b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            closed = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            *i += consumed;
            if closed {
                return true;
            }
            if entered_string {
                self.in_string = true;
                continue;
            }
            return false;
        }
    }
}

/// Newlines in a byte run.
fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to exercise every refill
    /// boundary.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((b, rest)), Some(o)) => {
                    *o = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn scan_all(json: &[u8]) -> Vec<String> {
        let mut input = Input::new(Trickle(json), 4096);
        let mut out = Vec::new();
        loop {
            match input.peek_non_ws().unwrap() {
                None => break,
                Some(b',') => input.advance(1),
                Some(_) => match input.scan_value(1 << 20).unwrap() {
                    Scanned::Kept { start, end } => {
                        out.push(String::from_utf8_lossy(&input.window()[start..end]).into_owned())
                    }
                    other => {
                        out.push(format!("{other:?}"));
                        break;
                    }
                },
            }
        }
        out
    }

    #[test]
    fn finds_value_ends_across_refills_and_escapes() {
        let json = br#"{"a":"x\"}y","b":[1,{"c":"]"}]} , "s\\", 12 ,[{}],true"#;
        assert_eq!(
            scan_all(json),
            vec![
                r#"{"a":"x\"}y","b":[1,{"c":"]"}]}"#,
                r#""s\\""#,
                "12",
                "[{}]",
                "true"
            ]
        );
    }

    #[test]
    fn reports_where_an_unfinished_value_started() {
        let json = b"\n\n  {\"a\": [1, 2";
        let out = scan_all(json);
        assert_eq!(out, vec!["Eof { start: Position { byte: 4, line: 3 } }"]);
    }

    #[test]
    fn skips_values_longer_than_the_limit() {
        let mut input = Input::new(&b"[\"0123456789\"] 7"[..], 4096);
        assert_eq!(
            input.scan_value(5).unwrap(),
            Scanned::TooLarge {
                start: Position { byte: 0, line: 1 },
                len: 14
            }
        );
        assert_eq!(input.peek_non_ws().unwrap(), Some(b'7'));
    }
}
