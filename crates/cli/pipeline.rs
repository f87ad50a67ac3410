//! One input file in, its records and diagnostics out.
//!
//! HARs go through the HAR reader; captures through the capture reader, the
//! TLS layer (which passes cleartext connections through untouched) and the
//! HTTP layer. Either way each exchange is decoded and analysed as soon as
//! it arrives and then dropped, so only records are kept.

use crate::args::AnalysisArgs;
use crate::input::{self, Input};
use anyhow::{Context, bail};
use pixelscope_analyze::{
    Analyzer, AnalyzerOptions, Identities, IdentityReport, Normalisation, PageTracker, Rules,
};
use pixelscope_capture::{CaptureLimits, CaptureReader, Contact};
use pixelscope_decode::Registry;
use pixelscope_har::{HarLimits, HarReader};
use pixelscope_http::{HttpLayer, HttpLimits};
use pixelscope_model::{
    Diagnostic, Event, EventSink, Exchange, ExchangeSink, Field, InputFormat, Origin,
};
use pixelscope_tls::{KeyLog, TlsLayer};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// What the commands share: the decoders, the analyzer and the key log.
pub struct Pipeline {
    registry: Registry,
    analyzer: Analyzer,
    keylog: KeyLog,
    /// Memory bounds per input (`--max-*` options over the crate defaults).
    limits: Limits,
    /// Keep each record's raw request (for exhibits and the TUI).
    keep_raw: bool,
    /// Problems found while reading `--keylog` files, reported once.
    pub setup_diagnostics: Vec<String>,
}

/// Everything one input produced.
pub struct FileOutcome {
    /// The path as it will appear in origins.
    pub path: String,
    pub format: Option<InputFormat>,
    pub sha256: Option<String>,
    pub size: u64,
    /// Records in output order.
    pub events: Vec<Event>,
    /// The raw request behind each record, in the same order, when the
    /// pipeline was asked to keep them ([`Pipeline::keep_raw`]); else empty.
    pub raw: Vec<Option<RawRequest>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Set when the input could not be read at all (one line, naming the place).
    pub fatal: Option<String>,
    /// A file found in a folder that is neither a HAR nor a capture.
    pub skipped: bool,
    /// Records already encoded as JSON Lines by the thread that read the
    /// file (see [`Encoder`]); `events` is then empty.
    pub json_lines: Vec<u8>,
}

impl FileOutcome {
    /// The outcome of reading nothing yet from `path`.
    pub fn new(path: String) -> FileOutcome {
        FileOutcome {
            path,
            format: None,
            sha256: None,
            size: 0,
            events: Vec::new(),
            raw: Vec::new(),
            diagnostics: Vec::new(),
            fatal: None,
            skipped: false,
            json_lines: Vec::new(),
        }
    }
}

impl Pipeline {
    /// Builds the pipeline from the shared options; an unreadable key log,
    /// identity file, rule file or decoder catalog is a usage error.
    pub fn new(options: &AnalysisArgs) -> anyhow::Result<Pipeline> {
        let mut registry = Registry::builtin();
        for path in &options.decoders {
            registry
                .load_catalog(path)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let mut identities = Identities::new();
        for arg in &options.identity {
            identities
                .parse_arg(arg)
                .map_err(|e| anyhow::anyhow!("--identity {arg}: {e}"))?;
        }
        for path in &options.identities {
            identities.load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let mut rules = Rules::defaults();
        for path in &options.rules {
            rules.load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let country_code = match options.default_country_code.as_str() {
            "" => "1",
            code => code.trim_start_matches('+'),
        };
        if country_code.is_empty() || !country_code.chars().all(|c| c.is_ascii_digit()) {
            bail!("--default-country-code takes digits, like 1 or 44");
        }
        let normalisation = Normalisation {
            default_country_code: country_code.to_owned(),
        };
        let analyzer = Analyzer::new(identities, rules, AnalyzerOptions { normalisation })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut keylog = KeyLog::new();
        let mut setup_diagnostics = Vec::new();
        for path in &options.keylog {
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read key log {}", path.display()))?;
            let (log, problems) = KeyLog::parse(&text);
            if log.is_empty() {
                setup_diagnostics.push(format!(
                    "{}: no usable TLS secrets in this key log",
                    path.display()
                ));
            }
            if !problems.is_empty() {
                setup_diagnostics.push(format!(
                    "{}: {} line(s) of the key log were not usable (first: line {}: {})",
                    path.display(),
                    problems.len(),
                    problems.first().map_or(0, |p| p.line),
                    problems.first().map_or("", |p| p.message.as_str())
                ));
            }
            keylog.merge(log);
        }
        Ok(Pipeline {
            registry,
            analyzer,
            keylog,
            limits: Limits::from_args(options),
            keep_raw: false,
            setup_diagnostics,
        })
    }

    /// Also keep, for every record, the request it was decoded from.
    pub fn keep_raw(mut self, keep: bool) -> Pipeline {
        self.keep_raw = keep;
        self
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One summary line per known identity: who received it, how often, how.
    pub fn identity_report(&self) -> IdentityReport {
        self.analyzer.report()
    }

    pub fn has_identities(&self) -> bool {
        !self.analyzer.identities().is_empty()
    }

    /// Reads one input completely, keeping its records in the outcome;
    /// `workers` and `watch` as in [`Pipeline::process_into`].
    pub fn process(&self, input: &Input, workers: usize, watch: Option<Watch<'_>>) -> FileOutcome {
        let mut events = Vec::new();
        let mut raw = Vec::new();
        let keep_raw = self.keep_raw;
        let mut outcome = self.process_into(input, workers, None, watch, &mut |piece| {
            // Without an encoder every piece is a record.
            if let Piece::Record(event, request) = piece {
                events.push(event);
                if keep_raw {
                    raw.push(request);
                }
            }
            true
        });
        outcome.events = events;
        outcome.raw = raw;
        outcome
    }

    /// Reads one input completely, handing each record to `emit` as soon as
    /// it is made, so memory does not grow with the number of records.
    /// Records come in the order the input yields them: HAR entry order; for
    /// captures, the order in which exchanges complete on the wire, then the
    /// contact records. The outcome's `events` and `raw` stay empty.
    ///
    /// With `workers` above 1 the exchanges are decoded and analysed on that
    /// many threads while another reads the input ([`crate::split_file`]);
    /// the records and diagnostics are the same, in the same order, and when
    /// `encode` is given the records are encoded on those threads too and
    /// arrive as [`Piece::Encoded`].
    ///
    /// `emit` returns whether it wants more: once it says no (the output was
    /// closed, as by `scan … | head`), reading stops at the next refill of
    /// the input instead of running on to its end; the records already made
    /// are still offered. `watch` is told, after every refill of a large
    /// file, how many of its bytes have been read and how many it has.
    pub fn process_into(
        &self,
        input: &Input,
        workers: usize,
        encode: Option<Encoder<'_>>,
        watch: Option<Watch<'_>>,
        emit: &mut dyn FnMut(Piece<'_>) -> bool,
    ) -> FileOutcome {
        let path = input.path.display().to_string();
        let mut outcome = FileOutcome::new(path.clone());
        // One handle for sniffing, hashing and parsing: a small file is read
        // once, a large one twice (the hash must be known before the first
        // record is written).
        let opened = File::open(&input.path).and_then(|mut file| {
            let prefix = input::read_prefix(&mut file)?;
            Ok((file, prefix))
        });
        let (mut file, prefix) = match opened {
            Ok(opened) => opened,
            Err(err) => {
                outcome.fatal = Some(format!("cannot read: {err}"));
                return outcome;
            }
        };
        let Some(format) = input::sniff(&prefix) else {
            if input.explicit {
                outcome.fatal = Some(if prefix.is_empty() {
                    "empty file: neither a HAR file nor a packet capture".to_owned()
                } else {
                    "not a HAR file or a pcap/pcapng capture (unrecognised first bytes)".to_owned()
                });
            } else {
                outcome.skipped = true;
            }
            return outcome;
        };
        outcome.format = Some(format);
        // The hash is taken before parsing, from the bytes on disk.
        let hashed = match input::hash_rest(&mut file, prefix) {
            Ok(hashed) => hashed,
            Err(err) => {
                outcome.fatal = Some(format!("cannot read: {err}"));
                return outcome;
            }
        };
        outcome.size = hashed.size;
        outcome.sha256 = Some(hashed.sha256.clone());
        let origin = Origin::file(path, Some(hashed.sha256), format);
        let source = match hashed.contents {
            Some(contents) => Source::Memory(contents),
            None => Source::File(file),
        };
        let size = hashed.size;
        let watch_size = watch.map(|watch| move |read: u64| watch(read, size));
        let steering = Steering {
            stop: AtomicBool::new(false),
            watch: watch_size.as_ref().map(|w| w as &(dyn Fn(u64) + Sync)),
        };
        let emit = &mut |piece: Piece<'_>| {
            if !emit(piece) {
                steering.stop.store(true, Ordering::Relaxed);
            }
        };
        let (diagnostics, result) = if workers > 1 {
            let input = (format, source, origin);
            crate::split_file::read(self, input, &steering, workers, encode, emit)
        } else {
            let sink = DecodingSink {
                decoder: ExchangeDecoder::new(self),
                pages: PageTracker::new(),
                out: Delivery::new(&self.registry, emit),
            };
            let (mut sink, contacts, result) =
                self.read_exchanges(format, source, origin.clone(), &steering, sink);
            sink.out.contacts(contacts, &origin);
            (sink.out.diagnostics, result)
        };
        if let Err(message) = result {
            outcome.fatal = Some(message);
        }
        outcome.diagnostics = diagnostics;
        outcome
    }

    /// Reads the exchanges of one input of `format` from `source` into
    /// `sink` and hands the sink back with the contacts the capture layers
    /// learned (none for a HAR); the error is the fatal one that stopped the
    /// reader (what was read before it stands).
    ///
    /// A file is read as `steering` says (a small input in memory is read
    /// to its end).
    pub(crate) fn read_exchanges<S: ExchangeSink>(
        &self,
        format: InputFormat,
        source: Source,
        origin: Origin,
        steering: &Steering<'_>,
        sink: S,
    ) -> (S, Vec<Contact>, Result<(), String>) {
        match source {
            Source::Memory(contents) => {
                let len = contents.len();
                self.parse(format, contents.as_slice(), Some(len), origin, sink)
            }
            Source::File(file) => match Steered::new(file, steering).rewind() {
                Err(err) => (sink, Vec::new(), Err(format!("cannot read: {err}"))),
                // The HAR reader reads a MiB at a time itself: a BufReader
                // would only copy every byte once more.
                Ok(file) if format == InputFormat::Har => {
                    self.parse(format, file, None, origin, sink)
                }
                // The capture reader's refills can be small: buffer them.
                Ok(file) => self.parse(
                    format,
                    BufReader::with_capacity(1 << 20, file),
                    None,
                    origin,
                    sink,
                ),
            },
        }
    }

    /// [`Pipeline::read_exchanges`] from a reader; `len` is the input's
    /// length when it is already in memory.
    fn parse<S: ExchangeSink>(
        &self,
        format: InputFormat,
        reader: impl Read,
        len: Option<usize>,
        origin: Origin,
        mut sink: S,
    ) -> (S, Vec<Contact>, Result<(), String>) {
        match format {
            InputFormat::Har => {
                let mut limits = self.limits.har.clone();
                // A small HAR in memory needs no MiB read window: zeroing one
                // per file was a tenth of the time of a corpus of small HARs.
                if let Some(len) = len {
                    limits.chunk_bytes = limits.chunk_bytes.min(len.saturating_add(1).max(4096));
                }
                let har = HarReader::new(origin).with_limits(limits);
                let result = har.read(reader, &mut sink).map(drop);
                (sink, Vec::new(), result.map_err(|e| e.to_string()))
            }
            InputFormat::Pcap | InputFormat::Pcapng => {
                let http = HttpLayer::with_limits(sink, origin.clone(), self.limits.http);
                let mut tls = TlsLayer::new(self.keylog.clone(), http, origin.clone());
                let result = CaptureReader::new(origin)
                    .with_limits(self.limits.capture)
                    .read(reader, &mut tls);
                let mut http = tls.into_inner();
                let contacts = http.take_contacts();
                (
                    http.finish(),
                    contacts,
                    result.map(drop).map_err(|e| e.to_string()),
                )
            }
        }
    }
}

/// Where an input's bytes are read from for parsing: memory when the file
/// was small enough to keep while hashing, else the file again.
pub(crate) enum Source {
    Memory(Vec<u8>),
    File(File),
}

/// Told how many bytes of a file have been read so far.
pub type Watch<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// What steers the reading of one file from outside, on whichever thread
/// reads it.
pub(crate) struct Steering<'a> {
    /// Set once the records' reader has gone: the next refill fails, so
    /// that a reader deep in a large input ends there (its error is the
    /// input's fatal one, which nobody is left to read).
    stop: AtomicBool,
    /// Told the bytes read so far after every refill.
    watch: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// A file read as its [`Steering`] says.
struct Steered<'a> {
    file: File,
    steering: &'a Steering<'a>,
    read: u64,
}

impl<'a> Steered<'a> {
    fn new(file: File, steering: &'a Steering<'a>) -> Steered<'a> {
        Steered {
            file,
            steering,
            read: 0,
        }
    }

    /// Back to the start of the file, for parsing after hashing.
    fn rewind(mut self) -> std::io::Result<Steered<'a>> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(self)
    }
}

impl Read for Steered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.steering.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped: the output was closed"));
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if let Some(watch) = self.steering.watch {
            watch(self.read);
        }
        Ok(n)
    }
}

/// The limits of the three readers, from the defaults of their crates and
/// the `--max-*` options (docs/LIMITS.md).
struct Limits {
    har: HarLimits,
    capture: CaptureLimits,
    http: HttpLimits,
}

impl Limits {
    fn from_args(options: &AnalysisArgs) -> Limits {
        let mut har = HarLimits::default();
        let mut capture = CaptureLimits::default();
        let mut http = HttpLimits::default();
        if let Some(n) = options.max_body_bytes {
            http.max_body_encoded = n;
            http.max_body_decoded = n;
        }
        if let Some(n) = options.max_entry_bytes {
            har.max_entry_bytes = n;
        }
        if let Some(n) = options.max_flows {
            capture.max_connections = n;
        }
        if let Some(n) = options.max_reassembly_bytes {
            capture.max_buffered_bytes = n;
            capture.max_out_of_order_bytes = capture.max_out_of_order_bytes.min(n);
        }
        Limits { har, capture, http }
    }
}

/// How much of a request body is kept for the raw view of a record.
const RAW_BODY_LIMIT: usize = 256 * 1024;

/// The request behind a record, as the exhibit and the TUI show it.
pub use pixelscope_tui::RawRequest;

/// Renders `exchange`'s request for a raw view: request line, headers and
/// (at most [`RAW_BODY_LIMIT`] bytes of) the decoded body.
fn raw_request(exchange: &Exchange) -> RawRequest {
    let request = &exchange.request;
    let version = request.http_version.as_deref().unwrap_or("");
    let request_line = format!("{} {} {}", request.method, request.url, version)
        .trim_end()
        .to_owned();
    let headers = request
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let (body, mut body_note) = match &request.body {
        Some(body) => {
            let note = match &body.state {
                pixelscope_model::BodyState::Complete => None,
                pixelscope_model::BodyState::Truncated { limit } => {
                    Some(format!("truncated at {limit} bytes"))
                }
                pixelscope_model::BodyState::Undecoded { reason } => {
                    Some(format!("not decoded: {reason}"))
                }
                pixelscope_model::BodyState::Damaged { reason } => {
                    Some(format!("damaged: {reason}"))
                }
            };
            (
                body.data
                    .iter()
                    .take(RAW_BODY_LIMIT)
                    .copied()
                    .collect::<Vec<u8>>(),
                note,
            )
        }
        None => (Vec::new(), None),
    };
    if request
        .body
        .as_ref()
        .is_some_and(|b| b.data.len() > RAW_BODY_LIMIT)
    {
        body_note = Some(format!("only the first {RAW_BODY_LIMIT} bytes are shown"));
    }
    RawRequest {
        request_line,
        headers,
        body,
        body_note,
    }
}

/// A raw request as plain text: request line, headers, a blank line, the
/// body (lossy UTF-8) and a note when the body is incomplete.
pub fn raw_text(raw: &RawRequest) -> String {
    let mut text = raw.request_line.clone();
    text.push('\n');
    for (name, value) in &raw.headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&raw.body));
    if let Some(note) = &raw.body_note {
        text.push_str("\n[");
        text.push_str(note);
        text.push(']');
    }
    text
}

/// What every reading command starts from: its inputs found and its
/// pipeline built. On failure the reason has been printed (escaped: a path
/// is captured text too) and the exit code is returned: 1 when the inputs
/// cannot be read, 2 when an option file (key log, identities, rules,
/// decoders) is unusable.
pub fn prepare(
    paths: &[std::path::PathBuf],
    options: &AnalysisArgs,
) -> Result<(Vec<Input>, Pipeline), std::process::ExitCode> {
    let inputs = crate::input::expand(paths).map_err(|err| {
        eprintln!(
            "pixelscope: {}",
            pixelscope_report::escape::terminal(&err.to_string())
        );
        std::process::ExitCode::from(1)
    })?;
    let pipeline = Pipeline::new(options).map_err(|err| {
        eprintln!(
            "pixelscope: {}",
            pixelscope_report::escape::terminal(&format!("{err:#}"))
        );
        std::process::ExitCode::from(2)
    })?;
    Ok((inputs, pipeline))
}

/// The number of files read at a time: `-j N`, or one per core.
pub fn thread_count(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Runs every input, `threads` at a time, and hands the outcomes to
/// `each` in input order, whatever order they finish in. Each outcome holds
/// its file's records; for output that must not grow with the records, use
/// [`run_all_streaming`].
pub fn run_all(
    pipeline: &Pipeline,
    inputs: &[Input],
    threads: usize,
    mut each: impl FnMut(FileOutcome) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    run_all_streaming(pipeline, inputs, threads, None, None, &mut each)
}

/// Files larger than this are read alone, their records streamed straight
/// to the caller instead of being held until the file's turn comes.
const STREAM_ALONE_BYTES: u64 = 16 * 1024 * 1024;

/// Turns a small file's records into output on the thread that read the
/// file (filling `FileOutcome::json_lines`, whose capacity it may reuse), or
/// leaves them as they are.
/// Records are then made, written out and freed on one thread, and the
/// writing thread only copies bytes.
pub type Encoder<'a> = &'a (dyn Fn(&mut FileOutcome) + Sync);

/// What reading one input hands on, in output order.
// A piece is handed straight to the handler, never stored: boxing the record
// would only add an allocation per record.
#[allow(clippy::large_enum_variant)]
pub enum Piece<'a> {
    /// One record, with its raw request when the pipeline keeps them.
    Record(Event, Option<RawRequest>),
    /// Records the [`Encoder`] already turned into output on another thread.
    Encoded(&'a [u8]),
}

/// A caller's handler for records, in output order.
pub type RecordHandler<'a> = &'a mut dyn FnMut(Piece<'_>) -> anyhow::Result<()>;

/// Like [`run_all`], but when `record` is given every record goes to it, in
/// input order, before `each` gets its file's outcome (whose `events` are
/// then empty). When `encode` is given, records made on other threads are
/// handed to it there: those of small files reach `each` as `json_lines`,
/// those of a large one reach `record` as [`Piece::Encoded`]. Large files
/// are read one at a time (on `threads` threads) and their records streamed
/// as they are made, so memory stays bounded whatever the size of a file;
/// small files are read `threads` at a time and their records held until
/// their turn, so the output is the same for any thread count.
pub fn run_all_streaming(
    pipeline: &Pipeline,
    inputs: &[Input],
    threads: usize,
    encode: Option<Encoder<'_>>,
    mut record: Option<RecordHandler<'_>>,
    each: &mut dyn FnMut(FileOutcome) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let progress = Progress::new(inputs.len());
    let parallel = threads > 1 && inputs.len() > 1;
    // A held outcome: its records to `record` (when given), then the rest to `each`.
    let deliver = |mut outcome: FileOutcome,
                   record: &mut Option<RecordHandler<'_>>,
                   each: &mut dyn FnMut(FileOutcome) -> anyhow::Result<()>|
     -> anyhow::Result<()> {
        if let Some(handler) = record.as_mut() {
            let raw = std::mem::take(&mut outcome.raw);
            let mut raw = raw.into_iter();
            for event in std::mem::take(&mut outcome.events) {
                handler(Piece::Record(event, raw.next().flatten()))?;
            }
        }
        // Diagnostics start on a line of their own, not after the progress.
        progress.clear();
        each(outcome)
    };
    let large =
        |input: &Input| std::fs::metadata(&input.path).is_ok_and(|m| m.len() > STREAM_ALONE_BYTES);
    let mut start = 0;
    while start < inputs.len() {
        let rest = inputs.get(start..).unwrap_or_default();
        let streamed = !parallel || rest.first().is_some_and(large);
        if !streamed {
            // The run of small files up to the next large one.
            let run_len = rest.iter().take_while(|i| !large(i)).count().max(1);
            let run = rest.get(..run_len).unwrap_or_default();
            start += run_len;
            run_ordered(pipeline, run, threads, encode, &progress, &mut |outcome| {
                deliver(outcome, &mut record, each)
            })?;
            continue;
        }
        let Some(input) = rest.first() else { break };
        start += 1;
        let name = pixelscope_report::escape::terminal(&input.path.display().to_string());
        let reading = |read: u64, size: u64| progress.reading(&name, read, size);
        let watch: Option<Watch<'_>> = Some(&reading);
        // A large file is read alone and its records handed on as they are
        // made; the outcome then carries only the diagnostics.
        let outcome = match record.as_mut() {
            Some(handler) => {
                let mut failure = None;
                let outcome = pipeline.process_into(input, threads, encode, watch, &mut |piece| {
                    if failure.is_none()
                        && let Err(err) = handler(piece)
                    {
                        failure = Some(err);
                    }
                    failure.is_none()
                });
                if let Some(err) = failure {
                    return Err(err);
                }
                outcome
            }
            None => pipeline.process(input, threads, watch),
        };
        progress.clear();
        each(outcome)?;
        progress.tick();
    }
    progress.done();
    Ok(())
}

/// Reads `inputs` on `threads` threads and hands each outcome to `deliver`
/// in input order, as soon as it and every file before it are done. The
/// calling thread is one of the readers: when the next file in order is not
/// ready it reads a file itself instead of sleeping, so threads are woken
/// only when there is nothing left to take (on a 2-core machine, a wake-up
/// per file cost a tenth of the run). No reader runs more than `threads * 8`
/// files ahead of the oldest undelivered one, so the outcomes held for their
/// turn stay bounded on a corpus of any size.
fn run_ordered(
    pipeline: &Pipeline,
    inputs: &[Input],
    threads: usize,
    encode: Option<Encoder<'_>>,
    progress: &Progress,
    deliver: &mut dyn FnMut(FileOutcome) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::sync::{Condvar, Mutex, PoisonError, mpsc};
    let ahead = threads.max(1) * 8;
    // The next file to take and the next to deliver; `sleeping` counts
    // helpers waiting for `delivered` to move, `stop` ends them early.
    struct Cursor {
        next: usize,
        delivered: usize,
        sleeping: usize,
        stop: bool,
    }
    let cursor = Mutex::new(Cursor {
        next: 0,
        delivered: 0,
        sleeping: 0,
        stop: false,
    });
    let moved = Condvar::new();
    let lock = || cursor.lock().unwrap_or_else(PoisonError::into_inner);
    // A file index to read now, if one is left within the window.
    let try_take = |c: &mut Cursor| {
        (c.next < inputs.len() && c.next < c.delivered + ahead).then(|| {
            c.next += 1;
            c.next - 1
        })
    };
    let read = |index: usize| {
        let mut outcome = inputs
            .get(index)
            .map(|input| pipeline.process(input, 1, None));
        if let (Some(outcome), Some(encode)) = (outcome.as_mut(), encode) {
            encode(outcome);
        }
        progress.tick();
        outcome
    };
    let (done, finished) = mpsc::channel::<(usize, Option<FileOutcome>)>();
    std::thread::scope(|scope| {
        for _ in 1..threads.max(1) {
            let done = done.clone();
            let (lock, moved) = (&lock, &moved);
            scope.spawn(move || {
                loop {
                    let index = {
                        let mut c = lock();
                        loop {
                            if c.stop || c.next >= inputs.len() {
                                return;
                            }
                            if let Some(index) = try_take(&mut c) {
                                break index;
                            }
                            c.sleeping += 1;
                            c = moved.wait(c).unwrap_or_else(PoisonError::into_inner);
                            c.sleeping -= 1;
                        }
                    };
                    if done.send((index, read(index))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done);
        let mut held = std::collections::BTreeMap::new();
        let mut wanted = 0;
        let result = loop {
            while let Ok((index, outcome)) = finished.try_recv() {
                held.insert(index, outcome);
            }
            let mut failed = None;
            while failed.is_none()
                && let Some(outcome) = held.remove(&wanted)
            {
                wanted += 1;
                if let Some(outcome) = outcome {
                    failed = deliver(outcome).err();
                }
            }
            let taken = {
                let mut c = lock();
                c.delivered = wanted;
                c.stop = failed.is_some();
                if c.sleeping > 0 {
                    moved.notify_all();
                }
                if failed.is_some() {
                    None
                } else {
                    try_take(&mut c)
                }
            };
            if let Some(err) = failed {
                break Err(err);
            }
            if wanted >= inputs.len() {
                break Ok(());
            }
            if let Some(index) = taken {
                held.insert(index, read(index));
                continue;
            }
            // Everything within the window is being read by the others.
            match finished.recv() {
                Ok((index, outcome)) => {
                    held.insert(index, outcome);
                }
                Err(_) if held.contains_key(&wanted) => {}
                Err(_) => {
                    break Err(anyhow::anyhow!(
                        "a reader thread ended before its file was read"
                    ));
                }
            }
        };
        drop(finished);
        result
    })
}

/// A one-line progress counter on standard error, only when it is a
/// terminal and there is more than one file.
struct Progress {
    total: usize,
    done: AtomicUsize,
    /// The file count is shown: several files, and a terminal to show it on.
    shown: bool,
    /// A large file's share read is shown: a terminal to show it on.
    terminal: bool,
    /// The percentage of the file in hand last shown, plus one (0: none).
    percent: AtomicU64,
    /// Something is on the line that `clear` would erase.
    showing: AtomicBool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            total,
            done: AtomicUsize::new(0),
            shown: total > 1 && terminal,
            terminal,
            percent: AtomicU64::new(0),
            showing: AtomicBool::new(false),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.percent.store(0, Ordering::Relaxed);
        if self.shown {
            self.showing.store(true, Ordering::Relaxed);
            eprint!("\r\x1b[2Kscanning: {done}/{} files", self.total);
        }
    }

    /// How far the reading of a large file (`name`, escaped) has come: shown
    /// when the whole percentage changes.
    fn reading(&self, name: &str, read: u64, size: u64) {
        if !self.terminal || size == 0 {
            return;
        }
        let percent = read.saturating_mul(100) / size;
        if self.percent.swap(percent + 1, Ordering::Relaxed) == percent + 1 {
            return;
        }
        let files = if self.total > 1 {
            let done = self.done.load(Ordering::Relaxed);
            format!(" (file {} of {})", done + 1, self.total)
        } else {
            String::new()
        };
        self.showing.store(true, Ordering::Relaxed);
        eprint!("\r\x1b[2Kscanning: {name}: {percent}%{files}");
    }

    /// Erases the progress line, if one is shown.
    fn clear(&self) {
        if self.showing.swap(false, Ordering::Relaxed) {
            eprint!("\r\x1b[2K");
        }
    }

    fn done(&self) {
        self.clear();
    }
}

/// Decodes and analyses each exchange as it arrives, so exchanges are never
/// kept: the whole of the work on one thread.
struct DecodingSink<'a> {
    decoder: ExchangeDecoder<'a>,
    pages: PageTracker,
    out: Delivery<'a>,
}

impl ExchangeSink for DecodingSink<'_> {
    fn exchange(&mut self, exchange: Exchange) {
        self.pages.observe(&exchange);
        let pages = &self.pages;
        let out = &mut self.out;
        let emit = &mut *out.emit;
        let host = self.decoder.decode(
            &exchange,
            |exchange, events| pages.fill(exchange, events),
            &mut |event, raw| emit(Piece::Record(event, raw)),
            &mut out.diagnostics,
        );
        if let Some(host) = host {
            out.read_hosts.insert(host);
        }
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.out.diagnostics.push(diagnostic);
    }
}

/// Turns one exchange into finished records: decoded, their pages filled,
/// analysed. Needs no other exchange, so several can work at once.
pub(crate) struct ExchangeDecoder<'a> {
    registry: &'a Registry,
    analyzer: &'a Analyzer,
    keep_raw: bool,
    /// The events of the exchange in hand, reused between exchanges.
    scratch: Vec<Event>,
}

impl<'a> ExchangeDecoder<'a> {
    pub(crate) fn new(pipeline: &'a Pipeline) -> ExchangeDecoder<'a> {
        ExchangeDecoder {
            registry: &pipeline.registry,
            analyzer: &pipeline.analyzer,
            keep_raw: pipeline.keep_raw,
            scratch: Vec::new(),
        }
    }

    /// Hands `exchange`'s records to `emit` in order and its decoders'
    /// diagnostics to `diagnostics`; `fill_pages` sets their page URLs.
    /// Returns the request's host when there were records (and it has one).
    pub(crate) fn decode(
        &mut self,
        exchange: &Exchange,
        fill_pages: impl FnOnce(&Exchange, &mut [Event]),
        emit: &mut dyn FnMut(Event, Option<RawRequest>),
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let mut out = EventCollector {
            events: &mut self.scratch,
            diagnostics,
        };
        self.registry.decode(exchange, &mut out);
        if self.scratch.is_empty() {
            return None;
        }
        fill_pages(exchange, &mut self.scratch);
        self.analyzer.analyze(exchange, &mut self.scratch);
        let raw = self.keep_raw.then(|| raw_request(exchange));
        for event in self.scratch.drain(..) {
            emit(event, raw.clone());
        }
        exchange.request.host()
    }
}

/// The in-order end of reading one input: records go to `emit`, diagnostics
/// are kept, and the hosts whose requests were decoded decide which contact
/// records are still worth making.
pub(crate) struct Delivery<'a> {
    registry: &'a Registry,
    /// Where finished records go, in order.
    pub(crate) emit: &'a mut dyn FnMut(Piece<'_>),
    /// Hosts whose requests were decoded (their DNS answers add nothing).
    pub(crate) read_hosts: BTreeSet<String>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Delivery<'a> {
    pub(crate) fn new(registry: &'a Registry, emit: &'a mut dyn FnMut(Piece<'_>)) -> Delivery<'a> {
        Delivery {
            registry,
            emit,
            read_hosts: BTreeSet::new(),
            diagnostics: Vec::new(),
        }
    }

    /// Contact records for tracker hosts learned from DNS answers and from
    /// the SNI of connections that could not be read: one per host and way
    /// of learning it, listing the frames of every sighting. Call it after
    /// every exchange of the input has been decoded.
    pub(crate) fn contacts(&mut self, contacts: Vec<Contact>, origin: &Origin) {
        // A DNS answer only matters where the host's own traffic could not be
        // read: when requests to it were decoded, they are the evidence.
        let mut seen: Vec<Contact> = Vec::new();
        for c in contacts {
            if c.via == "dns" && self.read_hosts.contains(&c.host) {
                continue;
            }
            match seen.iter_mut().find(|s| s.host == c.host && s.via == c.via) {
                Some(first) => first.frames.extend(c.frames),
                None => seen.push(c),
            }
        }
        for Contact {
            host,
            via,
            frames,
            stream,
            time,
            ..
        } in seen
        {
            let frames: Vec<u64> = frames
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let contact_origin = Origin {
                frames: Some(frames),
                stream,
                ..origin.clone()
            };
            if let Some(mut event) = self
                .registry
                .contact_event(&host, Some(time), contact_origin)
            {
                event.fields.push(Field {
                    path: "host".to_owned(),
                    location: via.to_owned(),
                    value: host.clone(),
                    property: None,
                });
                (self.emit)(Piece::Record(event, None));
            }
        }
    }
}

struct EventCollector<'a> {
    events: &'a mut Vec<Event>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl EventSink for EventCollector<'_> {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Where in the file a diagnostic points, for a human: `: entry 3`,
/// `: frame 120`, or nothing.
pub fn place(origin: &Origin) -> String {
    if let Some(entry) = origin.entry {
        return format!(": entry {entry}");
    }
    match origin.frames.as_deref() {
        Some([frame]) => format!(": frame {frame}"),
        Some([first, .., last]) => format!(": frames {first}-{last}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation is meant to stop the test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::path::PathBuf;

    /// The lab HAR's entries repeated: a HAR of some 25 MB, read from the
    /// file in 1 MiB refills.
    fn large_har(dir: &std::path::Path) -> Input {
        let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/lab/http1/site.har");
        let mut har: serde_json::Value =
            serde_json::from_slice(&std::fs::read(lab).unwrap()).unwrap();
        let entries = har["log"]["entries"].as_array().unwrap().clone();
        let repeated: Vec<serde_json::Value> = (0..40).flat_map(|_| entries.clone()).collect();
        har["log"]["entries"] = serde_json::Value::Array(repeated);
        let path = dir.join("large.har");
        std::fs::write(&path, serde_json::to_vec(&har).unwrap()).unwrap();
        Input {
            path,
            explicit: true,
        }
    }

    /// `scan … | head`: once the output is gone, the input is not read on
    /// to its end, on one thread or several.
    #[test]
    fn reading_stops_soon_after_the_output_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let input = large_har(dir.path());
        let pipeline = Pipeline::new(&AnalysisArgs::default()).unwrap();
        let all = pipeline.process(&input, 1, None).events.len();
        assert!(all > 2000, "{all} records");
        for workers in [1, 3] {
            let mut offered = 0;
            let outcome = pipeline.process_into(&input, workers, None, None, &mut |_| {
                offered += 1;
                false
            });
            // What was already read or in flight still comes; the rest of
            // the file is never parsed.
            assert!(offered < all / 2, "{workers} workers: {offered} of {all}");
            assert!(
                outcome
                    .fatal
                    .is_some_and(|f| f.contains("output was closed"))
            );
        }
    }
}
