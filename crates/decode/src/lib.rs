//! Tracker beacon decoders: from an [`Exchange`] to `pixelscope.event/1`
//! records.
//!
//! # Principal types
//!
//! * [`Decoder`] — one tracker (TikTok, Meta, GA4, …): a stable id, a
//!   version for exhibit manifests, a table of [`Endpoint`]s (host + path
//!   patterns, event or library), optional payload-shape claims for
//!   first-party proxies, public [`Source`]s, and `decode`, which pushes
//!   events and diagnostics into an [`EventSink`] and never panics.
//! * [`Registry`] — every decoder in a fixed order, endpoints indexed once
//!   by host; [`Registry::load_catalog`] adds a user's TOML catalog at run
//!   time. [`Registry::decode`] runs the decoders whose endpoints claim
//!   an exchange, or, when none does, those whose payload-shape claim
//!   matches. [`Registry::tracker_for_host`] and
//!   [`Registry::contact_event`] turn DNS/SNI names into contact records.
//! * [`payload`] — the helpers decoders share: query/form parsing that
//!   keeps order, duplicates, empty values and raw bytes; JSON flattening to
//!   dotted paths in wire order; multipart; base64/gzip layers; nested URLs;
//!   body sniffing that never trusts `Content-Type`.
//! * [`catalog`] — the declarative tracker format: a [`CatalogDecoder`] is
//!   a tracker described by host/path patterns, payload places and a
//!   parameter → property dictionary with a source per key. 38 of the 47
//!   built-in trackers are catalog files (`crates/decode/catalog/*.toml`,
//!   compiled in); the rest are Rust modules under [`trackers`] (JSON
//!   batches, mini-syntaxes, payload-shape claims). docs/DECODERS.md
//!   explains both ways to add a tracker.
//! * [`record`] — building records: a decoder labels each field with a
//!   property from a closed vocabulary, and the record's summary keys
//!   (`event`, `pixel_id`, `page_url`, …) and `identifiers` follow from the
//!   labels.
//!
//! # Why this shape
//!
//! A decoder is mostly data: an endpoint table and a property function.
//! Everything that must be the same for 40 trackers — nothing dropped, wire
//! order, hashed-value forms, diagnostics for bodies that cannot be read —
//! lives once in `payload` and `record`. The catalog implements
//! [`Decoder`] with owned endpoint tables (the pattern types hold
//! `Cow<'static, str>`), compiled once at load time: decoding never
//! compiles a pattern.
//!
//! ```
//! use pixelscope_decode::Registry;
//! use pixelscope_model::{Collected, Exchange, Request};
//!
//! let exchange = Exchange {
//!     request: Request {
//!         method: "GET".into(),
//!         url: "https://www.facebook.com/tr/?id=1234567890123456&ev=PageView&dl=https%3A%2F%2Fshop.test%2F".into(),
//!         ..Request::default()
//!     },
//!     ..Exchange::default()
//! };
//! let mut out = Collected::default();
//! Registry::builtin().decode(&exchange, &mut out);
//! assert_eq!(out.events[0].tracker, "meta");
//! assert_eq!(out.events[0].event.as_deref(), Some("PageView"));
//! assert_eq!(out.events[0].page_url.as_deref(), Some("https://shop.test/"));
//! ```

pub mod catalog;
pub mod decoder;
mod keymap;
pub mod payload;
pub mod record;
mod registry;
pub mod trackers;

pub use catalog::{CatalogDecoder, CatalogError};
pub use decoder::{Decoder, Endpoint, HostPattern, PathPattern, Source, match_endpoint};
pub use registry::{Claim, Registry};

#[doc(no_inline)]
pub use pixelscope_model::{EventSink, Exchange};
