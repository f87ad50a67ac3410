//! Behaviour of the HTTP layer, driven through its `StreamSink` methods
//! with byte literals, the way the capture and TLS layers will drive it.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod corpus;
mod h1;
mod h2;
mod hostile;
mod util;
