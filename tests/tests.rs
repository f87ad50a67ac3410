//! The integration tests: one binary driving the real `pixelscope` command
//! over the files in `samples/`.

// Test code: a failed expectation is meant to stop the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod util;

mod accuracy;
mod analysis;
mod bad_input;
mod corpus;
mod differential;
mod evidence;
mod exhibit;
mod matrix;
mod scale;
mod scan_capture;
mod scan_h3;
mod scan_har;
mod trackers;
mod tui;
