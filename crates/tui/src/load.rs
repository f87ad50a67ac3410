//! What the loader thread tells the TUI while it reads the inputs.

use pixelscope_model::{Diagnostic, Event};
use std::path::PathBuf;

/// One message from the loader to the TUI, sent over a
/// `std::sync::mpsc` channel so the screen is up before the first input is
/// read and stays responsive while large captures are scanned.
///
/// A loader sends `Started` once, then any number of `Event`, `Diagnostic`
/// and `FileDone` messages, then `Finished`. The TUI treats a closed channel
/// without `Finished` as the end of loading as well, so a loader that stops
/// early never leaves the progress line spinning.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadMessage {
    /// Loading begins; `inputs` is the number of input files to read.
    Started { inputs: usize },
    /// The input at `index` (0-based, in command-line order) has been read.
    FileDone { path: PathBuf, index: usize },
    /// One record, with the request it was decoded from when the loader has
    /// it (the raw view shows "not available" otherwise).
    Event(Box<Event>, Option<RawRequest>),
    /// An anomaly in the input.
    Diagnostic(Diagnostic),
    /// Every input has been read.
    Finished,
}

/// The request behind an event as it went over the wire, for the raw view.
/// The loader renders it from the `Exchange`; the TUI never parses inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRequest {
    /// `POST https://analytics.tiktok.com/api/v2/pixel HTTP/2`.
    pub request_line: String,
    /// Header names and values in wire order, duplicates kept.
    pub headers: Vec<(String, String)>,
    /// The request body after content decoding (empty when there is none).
    pub body: Vec<u8>,
    /// Why the body may be incomplete or absent (`truncated at 1 MiB`,
    /// `not recorded by the HAR exporter`), when the producer said so.
    pub body_note: Option<String>,
}
