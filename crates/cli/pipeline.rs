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
use pixelscope_capture::{CaptureReader, Contact};
use pixelscope_decode::Registry;
use pixelscope_har::HarReader;
use pixelscope_http::HttpLayer;
use pixelscope_model::{
    Diagnostic, Event, EventSink, Exchange, ExchangeSink, Field, InputFormat, Origin,
};
use pixelscope_tls::{KeyLog, TlsLayer};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the commands share: the decoders, the analyzer and the key log.
pub struct Pipeline {
    registry: Registry,
    analyzer: Analyzer,
    keylog: KeyLog,
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
    pub diagnostics: Vec<Diagnostic>,
    /// Set when the input could not be read at all (one line, naming the place).
    pub fatal: Option<String>,
    /// A file found in a folder that is neither a HAR nor a capture.
    pub skipped: bool,
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
            setup_diagnostics,
        })
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

    /// Reads one input completely.
    pub fn process(&self, input: &Input) -> FileOutcome {
        let path = input.path.display().to_string();
        let mut outcome = FileOutcome {
            path: path.clone(),
            format: None,
            sha256: None,
            size: 0,
            events: Vec::new(),
            diagnostics: Vec::new(),
            fatal: None,
            skipped: false,
        };
        let prefix = match input::read_prefix(&input.path) {
            Ok(prefix) => prefix,
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
        let (size, sha256) = match input::sha256_file(&input.path) {
            Ok(hash) => hash,
            Err(err) => {
                outcome.fatal = Some(format!("cannot read: {err}"));
                return outcome;
            }
        };
        outcome.size = size;
        outcome.sha256 = Some(sha256.clone());
        let origin = Origin::file(path, Some(sha256), format);
        let file = match File::open(&input.path) {
            Ok(file) => BufReader::with_capacity(1 << 20, file),
            Err(err) => {
                outcome.fatal = Some(format!("cannot open: {err}"));
                return outcome;
            }
        };
        let mut sink = DecodingSink {
            registry: &self.registry,
            analyzer: &self.analyzer,
            events: Vec::new(),
            diagnostics: Vec::new(),
            scratch: Vec::new(),
            pages: PageTracker::new(),
        };
        match format {
            InputFormat::Har => {
                if let Err(err) = HarReader::new(origin).read(file, &mut sink) {
                    outcome.fatal = Some(err.to_string());
                }
            }
            InputFormat::Pcap | InputFormat::Pcapng => {
                let http = HttpLayer::new(sink, origin.clone());
                let mut tls = TlsLayer::new(self.keylog.clone(), http, origin.clone());
                let result = CaptureReader::new(origin.clone()).read(file, &mut tls);
                let mut http = tls.into_inner();
                let contacts = http.take_contacts();
                sink = http.finish();
                if let Err(err) = result {
                    outcome.fatal = Some(err.to_string());
                }
                sink.contacts(contacts, &origin);
            }
        }
        let DecodingSink {
            mut events,
            diagnostics,
            ..
        } = sink;
        sort_events(&mut events);
        outcome.events = events;
        outcome.diagnostics = diagnostics;
        outcome
    }
}

/// Records of one input in a stable order: by time, then by where they sit
/// in the file; records of one request keep their order.
fn sort_events(events: &mut [Event]) {
    events.sort_by(|a, b| {
        let first_frame = |e: &Event| e.origin.frames.as_ref().and_then(|f| f.first().copied());
        a.time
            .cmp(&b.time)
            .then(a.origin.entry.cmp(&b.origin.entry))
            .then(first_frame(a).cmp(&first_frame(b)))
            .then(a.origin.stream.cmp(&b.origin.stream))
            .then(a.origin.h2_stream.cmp(&b.origin.h2_stream))
    });
}

/// Runs every input, `threads` at a time, and hands the outcomes to
/// `each` in input order, whatever order they finish in.
pub fn run_all(
    pipeline: &Pipeline,
    inputs: &[Input],
    threads: usize,
    mut each: impl FnMut(FileOutcome) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let progress = Progress::new(inputs.len());
    if threads <= 1 || inputs.len() <= 1 {
        for input in inputs {
            let outcome = pipeline.process(input);
            progress.tick();
            each(outcome)?;
        }
        progress.done();
        return Ok(());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    // Work in windows so a corpus of thousands of files is never held in
    // memory at once, while the output order stays the input order.
    let window = threads * 8;
    for batch in inputs.chunks(window) {
        let outcomes: Vec<FileOutcome> = pool.install(|| {
            batch
                .par_iter()
                .map(|input| {
                    let outcome = pipeline.process(input);
                    progress.tick();
                    outcome
                })
                .collect()
        });
        for outcome in outcomes {
            each(outcome)?;
        }
    }
    progress.done();
    Ok(())
}

/// A one-line progress counter on standard error, only when it is a
/// terminal and there is more than one file.
struct Progress {
    total: usize,
    done: AtomicUsize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            shown: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.shown {
            eprint!("\r\x1b[2Kscanning: {done}/{} files", self.total);
        }
    }

    fn done(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Decodes and analyses each exchange as it arrives, so exchanges are never
/// kept.
struct DecodingSink<'a> {
    registry: &'a Registry,
    analyzer: &'a Analyzer,
    events: Vec<Event>,
    diagnostics: Vec<Diagnostic>,
    scratch: Vec<Event>,
    pages: PageTracker,
}

impl DecodingSink<'_> {
    /// Contact records for tracker hosts learned from DNS answers and from
    /// the SNI of connections that could not be read: one per host and way
    /// of learning it, listing the frames of every sighting.
    fn contacts(&mut self, contacts: Vec<Contact>, origin: &Origin) {
        let mut seen: Vec<Contact> = Vec::new();
        for c in contacts {
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
                self.events.push(event);
            }
        }
    }
}

impl ExchangeSink for DecodingSink<'_> {
    fn exchange(&mut self, exchange: Exchange) {
        self.pages.observe(&exchange);
        let mut out = EventCollector {
            events: &mut self.scratch,
            diagnostics: &mut self.diagnostics,
        };
        self.registry.decode(&exchange, &mut out);
        if !self.scratch.is_empty() {
            self.pages.fill(&exchange, &mut self.scratch);
            self.analyzer.analyze(&exchange, &mut self.scratch);
            self.events.append(&mut self.scratch);
        }
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
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
