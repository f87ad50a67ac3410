//! Fuzz targets for pixelscope, shared by the cargo-fuzz binaries
//! (`fuzz_targets/*.rs`, nightly + libFuzzer) and the stable `replay`
//! harness (`src/bin/replay.rs`), so a crash found by either reproduces in
//! both.
//!
//! Every target takes arbitrary bytes. The stream targets (`tls`, `http1`,
//! `h2`) read them as a [`script`]: chunks of one TCP connection with their
//! direction, how finely to split them, and gaps. The exchange targets
//! (`decoders`, `analyzer`) read them as [`exchange_text`]: a request line,
//! header lines and a body. [`seed`] turns the files in `samples/` into
//! inputs of those shapes, so fuzzing starts from real traffic.
//!
//! A target fails (panics) only when the code under test panics, or when a
//! layer breaks the stream contract checked by
//! `pixelscope_capture::testing::CollectingSink` (chunks that overlap or
//! leave holes): that is a logic error of the reassembler or the TLS layer.

pub mod exchange_text;
pub mod mutate;
pub mod script;
pub mod seed;
pub mod targets;

/// Every target by name, in the order the docs list them.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("har", targets::har),
    ("capture", targets::capture),
    ("packet", targets::packet),
    ("reassembly", targets::reassembly),
    ("tls", targets::tls),
    ("http1", targets::http1),
    ("h2", targets::h2),
    ("hpack", targets::hpack),
    ("body", targets::body),
    ("decoders", targets::decoders),
    ("analyzer", targets::analyzer),
    ("scan", targets::scan),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
