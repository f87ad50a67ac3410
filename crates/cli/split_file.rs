//! One input read on several threads: a reader and a crew of decoders.
//!
//! Reading a capture (pcap framing, TCP reassembly, TLS, HTTP) or a HAR is a
//! fifth to a quarter of the work; decoding and analysing the exchanges is
//! most of the rest, and each exchange can be decoded without the others. So
//! one thread reads and hands the exchanges on in numbered batches, `workers`
//! threads decode and analyse them, and the calling thread puts the batches
//! back in order and delivers their records, exactly as a single thread
//! would have: the same records and diagnostics, in the same order.
//!
//! The only state that runs from one exchange to the next is the page
//! tracker (which page a beacon came from). It stays on the reading thread,
//! and each exchange travels with a [`PageSnapshot`] of what it needs.
//!
//! Memory stays bounded: at most [`IN_FLIGHT_PER_WORKER`] batches per worker
//! exist at once, counted from the reader's hand-over to their delivery, a
//! batch closes at [`BATCH_EXCHANGES`] exchanges or [`BATCH_BYTES`] of
//! request bodies, and there are at most [`MAX_WORKERS`] workers.

use crate::pipeline::{
    Delivery, Encoder, ExchangeDecoder, FileOutcome, Piece, Pipeline, RawRequest, Source, Steering,
};
use pixelscope_analyze::{PageSnapshot, PageTracker};
use pixelscope_model::{Diagnostic, Event, Exchange, ExchangeSink, InputFormat, Origin};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Mutex, PoisonError};

/// Exchanges per batch: enough that handing over costs little per exchange
/// (about 35 µs of work each), few enough to keep memory in flight small.
const BATCH_EXCHANGES: usize = 64;
/// Body bytes after which a batch closes early, so that batches of large
/// bodies do not pile up.
const BATCH_BYTES: usize = 1 << 20;
/// Batches per worker between the reader and delivery.
const IN_FLIGHT_PER_WORKER: usize = 4;
/// More decoding threads than this cannot be fed: the reader does a fifth to
/// a quarter of the work. Each costs memory (the allocator's pages of its own).
const MAX_WORKERS: usize = 4;

/// What the reader saw, in its order.
enum Item {
    Exchange(Box<Exchange>, PageSnapshot),
    Diagnostic(Diagnostic),
}

/// What a worker made of one batch.
#[derive(Default)]
struct Done {
    records: Vec<(Event, Option<RawRequest>)>,
    /// The reader's and the decoders' diagnostics, in the batch's order.
    diagnostics: Vec<Diagnostic>,
    /// Hosts of exchanges that gave records.
    hosts: Vec<String>,
    /// The records as the encoder wrote them (`records` is then empty).
    encoded: Vec<u8>,
}

/// Reads `source` with `workers` decoding threads and hands the records to
/// `emit` on this thread, encoded by `encode` on the workers when it is
/// given (so records are made and freed on one thread, and this one only
/// copies bytes); returns the diagnostics and the fatal error, as
/// [`Pipeline::process_into`] does on one thread, reading the file as
/// `steering` says.
pub fn read(
    pipeline: &Pipeline,
    (format, source, origin): (InputFormat, Source, Origin),
    steering: &Steering<'_>,
    workers: usize,
    encode: Option<Encoder<'_>>,
    emit: &mut dyn FnMut(Piece<'_>),
) -> (Vec<Diagnostic>, Result<(), String>) {
    let workers = workers.clamp(1, MAX_WORKERS);
    let in_flight = workers * IN_FLIGHT_PER_WORKER;
    let mut delivery = Delivery::new(pipeline.registry(), emit);
    // A token for every batch allowed in flight: the reader takes one per
    // batch, delivery gives it back.
    let (give_token, take_token) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = give_token.send(());
    }
    let (send_batch, batches) = sync_channel::<(u64, Vec<Item>)>(in_flight);
    let batches = Mutex::new(batches);
    // A worker's panic travels to this thread in place of its batch.
    let (send_done, done) = channel::<(u64, std::thread::Result<Done>)>();
    // Output buffers go back to the workers once written, so that they are
    // neither grown again nor freed on another thread.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let (contacts, result) = std::thread::scope(|scope| {
        // Owned here, so that a panic re-raised below drops it and frees a
        // reader waiting for a token.
        let give_token = give_token;
        let reader = scope.spawn(|| {
            let sink = Batcher {
                pages: PageTracker::new(),
                batch: Vec::new(),
                batch_bytes: 0,
                next: 0,
                send: send_batch,
                tokens: take_token,
            };
            let (mut sink, contacts, result) =
                pipeline.read_exchanges(format, source, origin.clone(), steering, sink);
            sink.flush();
            (contacts, result)
        });
        for _ in 0..workers {
            let send_done = send_done.clone();
            let (batches, spare) = (&batches, &spare);
            scope.spawn(move || {
                let mut decoder = ExchangeDecoder::new(pipeline);
                loop {
                    // The lock is held only while waiting for the next batch.
                    let next = batches
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok((number, items)) = next else { return };
                    let finished = catch_unwind(AssertUnwindSafe(|| {
                        work(&mut decoder, items, encode, spare)
                    }));
                    let failed = finished.is_err();
                    if send_done.send((number, finished)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        // Delivery ends when the reader and every worker have gone.
        drop(send_done);
        let mut held = BTreeMap::new();
        let mut wanted = 0u64;
        for (number, finished) in done {
            match finished {
                Ok(finished) => held.insert(number, finished),
                Err(panic) => std::panic::resume_unwind(panic),
            };
            while let Some(finished) = held.remove(&wanted) {
                wanted += 1;
                let buffer = deliver(&mut delivery, finished);
                spare
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(buffer);
                // The reader may have finished already; then no one waits.
                let _ = give_token.send(());
            }
        }
        match reader.join() {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    delivery.contacts(contacts, &origin);
    (delivery.diagnostics, result)
}

/// Decodes one batch, and encodes its records when `encode` is given, into
/// a `spare` buffer when there is one.
fn work(
    decoder: &mut ExchangeDecoder<'_>,
    items: Vec<Item>,
    encode: Option<Encoder<'_>>,
    spare: &Mutex<Vec<Vec<u8>>>,
) -> Done {
    let mut done = Done::default();
    for item in items {
        match item {
            Item::Diagnostic(diagnostic) => done.diagnostics.push(diagnostic),
            Item::Exchange(exchange, pages) => {
                let records = &mut done.records;
                let host = decoder.decode(
                    &exchange,
                    |exchange, events| pages.fill(exchange, events),
                    &mut |event, raw| records.push((event, raw)),
                    &mut done.diagnostics,
                );
                done.hosts.extend(host);
            }
        }
    }
    if let Some(encode) = encode
        && !done.records.is_empty()
    {
        let mut outcome = FileOutcome::new(String::new());
        outcome.json_lines = spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        (outcome.events, outcome.raw) = std::mem::take(&mut done.records).into_iter().unzip();
        encode(&mut outcome);
        // The encoder leaves the records as they were when one is too large
        // to encode here.
        done.encoded = outcome.json_lines;
        done.records = outcome.events.into_iter().zip(outcome.raw).collect();
    }
    done
}

/// Hands one batch's records on; returns its output buffer for reuse.
fn deliver(delivery: &mut Delivery<'_>, done: Done) -> Vec<u8> {
    if !done.encoded.is_empty() {
        (delivery.emit)(Piece::Encoded(&done.encoded));
    }
    for (event, raw) in done.records {
        (delivery.emit)(Piece::Record(event, raw));
    }
    delivery.diagnostics.extend(done.diagnostics);
    delivery.read_hosts.extend(done.hosts);
    done.encoded
}

/// The reader's sink: notes page loads, then gathers exchanges and
/// diagnostics into numbered batches for the workers.
struct Batcher {
    pages: PageTracker,
    batch: Vec<Item>,
    batch_bytes: usize,
    next: u64,
    send: SyncSender<(u64, Vec<Item>)>,
    tokens: Receiver<()>,
}

impl Batcher {
    fn push(&mut self, item: Item, bytes: usize) {
        self.batch.push(item);
        self.batch_bytes = self.batch_bytes.saturating_add(bytes);
        if self.batch.len() >= BATCH_EXCHANGES || self.batch_bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Hands the open batch on, once a token says there is room for it.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        // No token comes only when delivery has stopped (a worker
        // panicked): reading then runs on to its end with nowhere to send.
        // With a token the send cannot block: the channel holds as many
        // batches as there are tokens.
        if self.tokens.recv().is_ok() {
            let _ = self.send.send((self.next, batch));
        }
        self.next += 1;
    }
}

impl ExchangeSink for Batcher {
    fn exchange(&mut self, mut exchange: Exchange) {
        self.pages.observe(&exchange);
        let pages = self.pages.snapshot(&exchange);
        // No decoder or analysis reads a response body, and a script's body
        // is often a hundred times its request: kept, 64 of them up to the
        // body limit each would be a batch's memory, uncounted by
        // BATCH_BYTES.
        if let Some(response) = exchange.response.as_mut() {
            response.body = None;
        }
        let bytes = exchange.request.body.as_ref().map_or(0, |b| b.data.len());
        self.push(Item::Exchange(Box::new(exchange), pages), bytes);
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.push(Item::Diagnostic(diagnostic), 0);
    }
}
