//! Packet captures in, ordered TCP byte streams out.
//!
//! (Overview to be written with the reader; see `stream` for the interface
//! the TLS and HTTP layers consume.)

pub mod stream;

pub use stream::{Chunk, ConnectionInfo, Contact, Datagram, Direction, StreamSink};
