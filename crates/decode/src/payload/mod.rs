//! Payload helpers shared by every decoder: query and form parsing
//! ([`query`]), JSON flattening ([`json`]), multipart bodies
//! ([`multipart`]), base64 and gzip layers ([`encoding`]), URL splitting
//! including nested URLs ([`url`]) and body sniffing ([`body`]).
//!
//! None of them trust a declared content type, and none of them drop a
//! byte: what cannot be decoded is kept as it was on the wire.

pub mod body;
pub mod encoding;
pub mod json;
pub mod matrix;
pub mod multipart;
pub mod query;
pub mod url;
