//! The walk over `{"log": {...}}`: small values parsed whole, entries one by
//! one.

use crate::convert::{self, Converted, EntryContext};
use crate::entry::{HarEntry, List, Text};
use crate::error::{HarError, Position};
use crate::fast;
use crate::input::{Input, KeyRead, Scanned};
use pixelscope_model::{Diagnostic, ExchangeSink, Origin};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;

/// Bounds on what the reader keeps in memory at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarLimits {
    /// The largest entry read; a longer one is skipped with a
    /// `har.entry-too-large` diagnostic. Memory use is about this much at
    /// worst (the entry's bytes plus what is built from them).
    pub max_entry_bytes: usize,
    /// The largest `pages`, `creator`, `browser` or `version` value read.
    pub max_header_bytes: usize,
    /// How much is read from the input at a time.
    pub chunk_bytes: usize,
}

impl Default for HarLimits {
    fn default() -> HarLimits {
        HarLimits {
            max_entry_bytes: 128 << 20,
            max_header_bytes: 16 << 20,
            chunk_bytes: 1 << 20,
        }
    }
}

/// Name and version of the tool that wrote the HAR (`log.creator`) or of the
/// browser it recorded (`log.browser`), as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Software {
    pub name: Option<String>,
    pub version: Option<String>,
}

/// What a HAR said about itself, and how reading it went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HarSummary {
    /// `log.version` as written (`"1.2"`, `"1.1"`, …); not checked.
    pub version: Option<String>,
    pub creator: Option<Software>,
    pub browser: Option<Software>,
    /// Entries turned into exchanges.
    pub entries_read: u64,
    /// Entries skipped: not valid JSON, not an entry, or too large.
    pub entries_invalid: u64,
    /// Elements of `log.pages`.
    pub pages: u64,
    /// Whether any entry carried a cookie (a cookies-array element or a
    /// `Cookie`/`Set-Cookie` header). Sanitised exports carry none.
    pub cookies_seen: bool,
}

/// Reads one HAR file and pushes an [`pixelscope_model::Exchange`] per entry
/// into a sink.
///
/// Entries are read one at a time, so memory stays bounded by the largest
/// entry, whatever the file's size. Trouble inside the file becomes a
/// diagnostic in the sink and reading goes on; only a file that is not a HAR
/// at all (or cannot be read) is an `Err`.
#[derive(Clone, Debug)]
pub struct HarReader {
    origin: Origin,
    limits: HarLimits,
}

impl HarReader {
    /// A reader whose exchanges and diagnostics carry `origin` (the input's
    /// file, hash and format), with `entry` set to each entry's 0-based index
    /// in `/log/entries`.
    pub fn new(origin: Origin) -> HarReader {
        HarReader {
            origin,
            limits: HarLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: HarLimits) -> HarReader {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &HarLimits {
        &self.limits
    }

    /// Reads the HAR from `input`, pushing exchanges and diagnostics into
    /// `sink` as they are found.
    ///
    /// Diagnostics, file level: `har.truncated` (the file ends early: the
    /// entries before the cut are delivered), `har.malformed` (broken
    /// structure after the entries began; reading stops there),
    /// `har.missing-comma` (repaired), `har.no-cookies` (a sanitised
    /// export), `har.pageref-unresolved`, `har.trailing-data`,
    /// `har.log-field-invalid`. Per entry (`origin.entry` set):
    /// `har.entry-invalid` (not valid JSON or not an entry; the next entries
    /// are still read), `har.entry-too-large`, `har.time-invalid`,
    /// `har.body-mangled`, `har.body-lost`, `har.base64-invalid`,
    /// `har.encoding-unknown` (request bodies: response bodies are not
    /// read), `har.request-missing`.
    ///
    /// # Errors
    /// [`HarError::NotHar`] when the input is not JSON or has no
    /// `log.entries` (and nothing was read), [`HarError::Io`] when reading
    /// fails.
    pub fn read<R: Read>(
        &self,
        input: R,
        sink: &mut dyn ExchangeSink,
    ) -> Result<HarSummary, HarError> {
        let mut walk = Walk {
            input: Input::new(input, self.limits.chunk_bytes),
            sink,
            limits: &self.limits,
            origin: &self.origin,
            summary: HarSummary::default(),
            pages: HashMap::new(),
            log_seen: false,
            entries_seen: false,
            next_index: 0,
            pagerefs_unresolved: 0,
        };
        let outcome = walk.document();
        walk.finish(outcome)
    }
}

/// Why the walk stopped early.
enum Stop {
    /// Broken structure at a place.
    Syntax {
        reason: String,
        at: Position,
    },
    /// The input ended inside something that started at `started`.
    Eof {
        inside: String,
        started: Position,
    },
    Fatal(HarError),
}

impl From<HarError> for Stop {
    fn from(e: HarError) -> Stop {
        Stop::Fatal(e)
    }
}

/// Longest object key kept (keys in HARs are short; this bounds hostile
/// input).
const KEY_LIMIT: usize = 64 << 10;

struct Walk<'w, R> {
    input: Input<R>,
    sink: &'w mut dyn ExchangeSink,
    limits: &'w HarLimits,
    origin: &'w Origin,
    summary: HarSummary,
    pages: HashMap<String, Option<String>>,
    log_seen: bool,
    entries_seen: bool,
    next_index: u64,
    pagerefs_unresolved: u64,
}

type OnKey<W> = fn(&mut W, &str) -> Result<(), Stop>;

impl<R: Read> Walk<'_, R> {
    fn document(&mut self) -> Result<(), Stop> {
        self.input.fill_to(3)?;
        let window = self.input.window();
        if window.get(self.input.pos()..self.input.pos() + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) {
            self.input.advance(3);
        }
        match self.input.peek_non_ws()? {
            Some(b'{') => self.input.advance(1),
            Some(b) => return Err(self.syntax(format!("expected '{{', found {}", describe(b)))),
            None => {
                return Err(Stop::Syntax {
                    reason: "the input is empty".to_owned(),
                    at: self.input.here(),
                });
            }
        }
        let started = Position { byte: 0, line: 1 };
        self.members("the top-level object", started, Walk::root_member)
    }

    fn root_member(&mut self, key: &str) -> Result<(), Stop> {
        if key != "log" {
            return self.skip(key);
        }
        match self.input.peek_non_ws()? {
            Some(b'{') => {
                let started = self.input.here();
                self.input.advance(1);
                self.log_seen = true;
                self.members("\"log\"", started, Walk::log_member)
            }
            Some(b) => {
                Err(self.syntax(format!("\"log\" is not an object (found {})", describe(b))))
            }
            None => Err(self.eof("\"log\"")),
        }
    }

    fn log_member(&mut self, key: &str) -> Result<(), Stop> {
        match key {
            "entries" => self.entries(),
            "version" => {
                let version = self.small_value(key, |b| {
                    serde_json::from_slice::<Text<'_>>(b).map(Text::into_string)
                })?;
                self.summary.version = version.flatten();
                Ok(())
            }
            "creator" | "browser" => {
                let software = self
                    .small_value(key, |b| {
                        serde_json::from_slice::<Option<SoftwareJson<'_>>>(b).map(|s| {
                            s.map(|s| Software {
                                name: s.name.into_string(),
                                version: s.version.into_string(),
                            })
                        })
                    })?
                    .flatten();
                if key == "creator" {
                    self.summary.creator = software;
                } else {
                    self.summary.browser = software;
                }
                Ok(())
            }
            "pages" => {
                let pages = self.small_value(key, |b| {
                    serde_json::from_slice::<List<serde_json::Map<String, serde_json::Value>>>(b)
                        .map(|l| l.0)
                })?;
                for page in pages.unwrap_or_default() {
                    self.summary.pages += 1;
                    if let Some(id) = page.get("id").and_then(serde_json::Value::as_str) {
                        self.pages.insert(id.to_owned(), convert::page_url(&page));
                    }
                }
                Ok(())
            }
            _ => self.skip(key),
        }
    }

    /// Walks the members of an object whose `{` was just consumed, handing
    /// each key to `on_key` with the cursor at its value.
    fn members(&mut self, what: &str, started: Position, on_key: OnKey<Self>) -> Result<(), Stop> {
        loop {
            match self.input.peek_non_ws()? {
                None => {
                    return Err(Stop::Eof {
                        inside: what.to_owned(),
                        started,
                    });
                }
                // Also accepts a trailing comma before the brace.
                Some(b'}') => {
                    self.input.advance(1);
                    return Ok(());
                }
                Some(b'"') => {}
                Some(b) => {
                    return Err(
                        self.syntax(format!("expected a key in {what}, found {}", describe(b)))
                    );
                }
            }
            let key_at = self.input.here();
            let key = match self.input.read_key(KEY_LIMIT)? {
                KeyRead::Key(key) => key,
                KeyRead::Invalid => {
                    return Err(Stop::Syntax {
                        reason: format!("invalid key in {what}"),
                        at: key_at,
                    });
                }
                KeyRead::Eof => {
                    return Err(Stop::Eof {
                        inside: what.to_owned(),
                        started,
                    });
                }
            };
            match self.input.peek_non_ws()? {
                Some(b':') => self.input.advance(1),
                Some(b) => {
                    return Err(self.syntax(format!(
                        "expected ':' after \"{}\", found {}",
                        convert::clip(&key),
                        describe(b)
                    )));
                }
                None => {
                    return Err(Stop::Eof {
                        inside: what.to_owned(),
                        started,
                    });
                }
            }
            if self.input.peek_non_ws()?.is_none() {
                return Err(Stop::Eof {
                    inside: what.to_owned(),
                    started,
                });
            }
            on_key(self, &key)?;
            match self.input.peek_non_ws()? {
                Some(b',') => self.input.advance(1),
                Some(b'}') => {
                    self.input.advance(1);
                    return Ok(());
                }
                Some(b) => {
                    return Err(self.syntax(format!(
                        "expected ',' or '}}' after \"{}\" in {what}, found {}",
                        convert::clip(&key),
                        describe(b)
                    )));
                }
                None => {
                    return Err(Stop::Eof {
                        inside: what.to_owned(),
                        started,
                    });
                }
            }
        }
    }

    fn skip(&mut self, key: &str) -> Result<(), Stop> {
        match self.input.scan_value(0)? {
            Scanned::Eof { start } => Err(Stop::Eof {
                inside: format!("\"{}\"", convert::clip(key)),
                started: start,
            }),
            _ => Ok(()),
        }
    }

    /// Parses a small `log` member whole with `parse`. A value that is too
    /// large or does not fit the expected shape is a diagnostic, and `None`.
    fn small_value<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&[u8]) -> serde_json::Result<T>,
    ) -> Result<Option<T>, Stop> {
        let at = self.input.here();
        match self.input.scan_value(self.limits.max_header_bytes.max(1))? {
            Scanned::Kept { start, end } => {
                let bytes = self.input.window().get(start..end).unwrap_or_default();
                match parse(bytes) {
                    Ok(value) => Ok(Some(value)),
                    Err(e) => {
                        let message = format!("log.{key} at {at} is ignored: {}", error_text(&e));
                        self.sink.diagnostic(Diagnostic::warning(
                            "har.log-field-invalid",
                            message,
                            self.origin.clone(),
                        ));
                        Ok(None)
                    }
                }
            }
            Scanned::TooLarge { start, len } => {
                let message = format!(
                    "log.{key} at {start} is ignored: {len} bytes is more than the limit of {}",
                    self.limits.max_header_bytes
                );
                self.sink.diagnostic(Diagnostic::warning(
                    "har.log-field-invalid",
                    message,
                    self.origin.clone(),
                ));
                Ok(None)
            }
            Scanned::Skipped => Ok(None),
            Scanned::Eof { start } => Err(Stop::Eof {
                inside: format!("log.{key}"),
                started: start,
            }),
        }
    }

    fn entries(&mut self) -> Result<(), Stop> {
        let started = self.input.here();
        match self.input.peek_non_ws()? {
            Some(b'[') => self.input.advance(1),
            Some(b) => {
                return Err(self.syntax(format!(
                    "\"entries\" is not an array (found {})",
                    describe(b)
                )));
            }
            None => return Err(self.eof("\"entries\"")),
        }
        self.entries_seen = true;
        let inside = "log.entries".to_owned();
        if self.input.peek_non_ws()? == Some(b']') {
            self.input.advance(1);
            return Ok(());
        }
        loop {
            match self.input.peek_non_ws()? {
                None => return Err(Stop::Eof { inside, started }),
                Some(b']') => {
                    // A trailing comma before the bracket.
                    self.input.advance(1);
                    return Ok(());
                }
                Some(_) => self.entry()?,
            }
            match self.input.peek_non_ws()? {
                Some(b',') => self.input.advance(1),
                Some(b']') => {
                    self.input.advance(1);
                    return Ok(());
                }
                Some(b'{') => {
                    let at = self.input.here();
                    let message = format!(
                        "missing ',' before entry {} at {at}; read on as if it were there",
                        self.next_index
                    );
                    self.sink.diagnostic(Diagnostic::warning(
                        "har.missing-comma",
                        message,
                        self.origin.clone(),
                    ));
                }
                Some(b) => {
                    return Err(self.syntax(format!(
                        "expected ',' or ']' after entry {}, found {}",
                        self.next_index.saturating_sub(1),
                        describe(b)
                    )));
                }
                None => return Err(Stop::Eof { inside, started }),
            }
        }
    }

    /// Reads the entry at the cursor.
    fn entry(&mut self) -> Result<(), Stop> {
        let index = self.next_index;
        self.next_index += 1;
        let entry_origin = |origin: &Origin| Origin {
            entry: Some(index),
            ..origin.clone()
        };
        // At least 1: a limit of 0 means "skip without keeping" to the scanner.
        let limit = self.limits.max_entry_bytes.max(1);

        // Fast path: the whole entry is usually already in the window, and
        // the direct parser (or else serde_json) both parses it and says
        // where it ends.
        let pos = self.input.pos();
        if self.input.window().get(pos) == Some(&b'{') {
            let fast = {
                let rest = self.input.window().get(pos..).unwrap_or_default();
                let parsed = fast::parse_entry(rest).or_else(|| {
                    let mut stream =
                        serde_json::Deserializer::from_slice(rest).into_iter::<HarEntry<'_>>();
                    match stream.next() {
                        Some(Ok(entry)) => Some((entry, stream.byte_offset())),
                        _ => None,
                    }
                });
                match parsed {
                    Some((entry, len)) if len <= limit => {
                        let cx = EntryContext {
                            origin: entry_origin(self.origin),
                            index,
                            pages: &self.pages,
                        };
                        Some((convert::convert(entry, cx), len))
                    }
                    _ => None,
                }
            };
            if let Some((converted, len)) = fast {
                self.input.advance(len);
                self.deliver(converted);
                return Ok(());
            }
        }

        // Slow path: find the entry's end first (reading more input as
        // needed), then parse exactly those bytes.
        let origin = entry_origin(self.origin);
        let started = self.input.here();
        match self.input.scan_value(limit)? {
            Scanned::Kept { start, end } => {
                let bytes = self.input.window().get(start..end).unwrap_or_default();
                let direct = fast::parse_entry(bytes)
                    .filter(|(_, len)| *len == bytes.len())
                    .map(|(entry, _)| Ok(entry));
                let parsed =
                    match direct.unwrap_or_else(|| serde_json::from_slice::<HarEntry<'_>>(bytes)) {
                        Ok(entry) => {
                            let cx = EntryContext {
                                origin: origin.clone(),
                                index,
                                pages: &self.pages,
                            };
                            Ok(convert::convert(entry, cx))
                        }
                        Err(e) => Err(format!(
                            "{} at {}",
                            error_text(&e),
                            error_position(&e, bytes, started)
                        )),
                    };
                match parsed {
                    Ok(converted) => self.deliver(converted),
                    Err(detail) => {
                        self.summary.entries_invalid += 1;
                        let message =
                            format!("entry {index} (starting at {started}) is skipped: {detail}");
                        self.sink.diagnostic(Diagnostic::error(
                            "har.entry-invalid",
                            message,
                            origin,
                        ));
                    }
                }
                Ok(())
            }
            Scanned::TooLarge { start, len } => {
                self.summary.entries_invalid += 1;
                let message = format!(
                    "entry {index} (starting at {start}) is skipped: {len} bytes is more than the limit of {limit}"
                );
                self.sink
                    .diagnostic(Diagnostic::error("har.entry-too-large", message, origin));
                Ok(())
            }
            Scanned::Skipped => Ok(()),
            Scanned::Eof { start } => Err(Stop::Eof {
                inside: format!("entry {index}"),
                started: start,
            }),
        }
    }

    fn deliver(&mut self, converted: Converted) {
        self.summary.entries_read += 1;
        self.summary.cookies_seen |= converted.cookies_seen;
        if converted.pageref_unresolved {
            self.pagerefs_unresolved += 1;
        }
        self.sink.exchange(converted.exchange);
        for diagnostic in converted.diagnostics {
            self.sink.diagnostic(diagnostic);
        }
    }

    fn syntax(&mut self, reason: String) -> Stop {
        Stop::Syntax {
            reason,
            at: self.input.here(),
        }
    }

    fn eof(&mut self, inside: &str) -> Stop {
        Stop::Eof {
            inside: inside.to_owned(),
            started: self.input.here(),
        }
    }

    /// Turns the walk's outcome into the summary, the closing diagnostics or
    /// the error.
    fn finish(mut self, outcome: Result<(), Stop>) -> Result<HarSummary, HarError> {
        let file_origin = self.origin.clone();
        match outcome {
            Ok(()) => {
                if self.log_seen && self.entries_seen {
                    let at = self.input.here();
                    if self.input.peek_non_ws()?.is_some() {
                        let message = format!("data after the end of the HAR at {at} is ignored");
                        self.sink.diagnostic(Diagnostic::warning(
                            "har.trailing-data",
                            message,
                            file_origin.clone(),
                        ));
                    }
                }
            }
            Err(Stop::Fatal(e)) => return Err(e),
            Err(Stop::Syntax { reason, at }) => {
                if !self.entries_seen {
                    return Err(HarError::NotHar { reason, at });
                }
                let message = format!(
                    "reading stopped: {reason} at {at}; the {} entries before were read",
                    self.summary.entries_read
                );
                self.sink.diagnostic(Diagnostic::error(
                    "har.malformed",
                    message,
                    file_origin.clone(),
                ));
            }
            Err(Stop::Eof { inside, started }) => {
                let end = self.input.here();
                if !self.entries_seen {
                    let reason =
                        format!("the input ends inside {inside} (which starts at {started})");
                    return Err(HarError::NotHar { reason, at: end });
                }
                let message = format!(
                    "the file is truncated: it ends at {end} inside {inside} (which starts at {started}); the {} complete entries before were read",
                    self.summary.entries_read
                );
                self.sink.diagnostic(Diagnostic::error(
                    "har.truncated",
                    message,
                    file_origin.clone(),
                ));
            }
        }
        if !self.log_seen {
            return Err(HarError::NotHar {
                reason: "no \"log\" object".to_owned(),
                at: self.input.here(),
            });
        }
        if !self.entries_seen {
            return Err(HarError::NotHar {
                reason: "\"log\" has no \"entries\" array".to_owned(),
                at: self.input.here(),
            });
        }
        if self.summary.entries_read > 0 && !self.summary.cookies_seen {
            let message = format!(
                "none of the {} entries carries a cookie (no cookies array entry, no Cookie or Set-Cookie header): \
                 this looks like a sanitised export, and identifiers sent in cookies are missing",
                self.summary.entries_read
            );
            self.sink.diagnostic(Diagnostic::warning(
                "har.no-cookies",
                message,
                file_origin.clone(),
            ));
        }
        if self.pagerefs_unresolved > 0 {
            let message = format!(
                "{} entries name a page that is not listed before the entries; their page URL is unknown",
                self.pagerefs_unresolved
            );
            self.sink.diagnostic(Diagnostic::info(
                "har.pageref-unresolved",
                message,
                file_origin,
            ));
        }
        Ok(self.summary)
    }
}

#[derive(Deserialize)]
#[serde(default)]
struct SoftwareJson<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    version: Text<'a>,
}

impl Default for SoftwareJson<'_> {
    fn default() -> Self {
        SoftwareJson {
            name: Text(None),
            version: Text(None),
        }
    }
}

/// A byte for a message: printable ASCII quoted, anything else in hex.
fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// serde_json's message without its relative " at line L column C".
fn error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(text)
}

/// The absolute position of a serde_json error inside `bytes`, which start
/// at `start` in the input.
fn error_position(e: &serde_json::Error, bytes: &[u8], start: Position) -> Position {
    let mut offset = 0usize;
    let mut line = 1usize;
    if e.line() > 1 {
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                line += 1;
                if line == e.line() {
                    offset = i + 1;
                    break;
                }
            }
        }
    }
    let offset = offset
        .saturating_add(e.column().saturating_sub(1))
        .min(bytes.len());
    Position {
        byte: start.byte.saturating_add(offset as u64),
        line: start.line.saturating_add(e.line().saturating_sub(1) as u64),
    }
}
