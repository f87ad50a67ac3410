//! The vocabulary of pixelscope.
//!
//! Every other crate speaks in these types, and this crate depends on no other
//! crate of ours. Data flows through them in one direction:
//!
//! * a producer (the HAR reader, the capture pipeline) turns recorded bytes
//!   into [`Exchange`]s — one HTTP request with its response, if any, and the
//!   [`Origin`] that says where in the input file it was found;
//! * decoders turn an exchange into zero or more [`Event`]s — the public
//!   `pixelscope.event/1` record, one per tracker event;
//! * anything odd in the input along the way becomes a [`Diagnostic`], which
//!   is data, not an error: the rest of the input is still read.
//!
//! Producers and decoders *push* their results into sinks ([`ExchangeSink`],
//! [`EventSink`]) rather than returning collections, so a 10 GB capture is
//! never held in memory. A `Vec`-backed [`Collected`] sink exists for tests
//! and small jobs.
//!
//! Times are [`Timestamp`]s: nanoseconds since the Unix epoch, always
//! rendered in UTC (`2026-11-29T02:42:58.554Z`).

mod diagnostic;
mod event;
mod exchange;
mod origin;
mod sink;
mod time;

pub use diagnostic::{Diagnostic, Severity};
pub use event::{Detection, Event, Field, Flag, Identifier, Kind, RequestSummary, SCHEMA};
pub use exchange::{Body, BodySource, BodyState, Cookie, Exchange, Header, Request, Response};
pub use origin::{InputFormat, Origin};
pub use sink::{Collected, EventSink, ExchangeSink};
pub use time::Timestamp;
