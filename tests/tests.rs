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

mod scan_har;
