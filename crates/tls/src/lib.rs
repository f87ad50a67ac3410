//! TLS decryption as a stream layer.
//!
//! The capture reader turns packets into ordered TCP byte streams and pushes
//! them into a [`StreamSink`](pixelscope_capture::StreamSink). [`TlsLayer`]
//! is such a sink that wraps another one (the HTTP layer): connections that
//! do not start with a TLS handshake pass through untouched, and TLS
//! connections come out the other side as plaintext, with the TLS version,
//! ALPN protocol and SNI host filled into their `ConnectionInfo`, and with
//! every plaintext chunk still naming the capture frames whose records
//! carried it, so a finding can point at its exact bytes.
//!
//! Keys come from a [`KeyLog`]: the NSS key log text browsers and curl write
//! with `SSLKEYLOGFILE`, read from files given by the user and from pcapng
//! Decryption Secrets Blocks met in the capture (`StreamSink::secrets`).
//! TLS 1.3 (AES-GCM, ChaCha20-Poly1305; KeyUpdate) and TLS 1.0 to 1.2
//! (AES-GCM, ChaCha20-Poly1305, AES-CBC with HMAC-SHA1/256/384, NULL
//! ciphers) are decrypted; any other suite or version is reported.
//!
//! Captured data is hostile and often incomplete, so nothing here fails:
//! every anomaly becomes a diagnostic with a stable code (`tls.no-key`,
//! `tls.decrypt-failed`, `tls.gap`, `tls.truncated-record`,
//! `tls.record-invalid`, `tls.unsupported-cipher`, ...) and everything else
//! is still decrypted. A connection that cannot be read still leaves a
//! `Contact` with its SNI.
//!
//! QUIC version 1 (RFC 9000, RFC 9001) arrives as UDP datagrams: the same
//! layer follows each QUIC connection from its client Initial (whose keys
//! derive from the connection id, so the SNI is always readable), opens
//! Handshake and 1-RTT packets with the key log's TLS 1.3 secrets
//! (AES-GCM and ChaCha20-Poly1305 with their header protection, coalesced
//! packets, key updates), reassembles each STREAM and hands it to the
//! inner sink as `QuicChunk`s for the HTTP/3 reader. Codes: `quic.no-key`
//! (with a `quic-sni` contact), `quic.decrypt-failed`, `quic.frame-invalid`,
//! `quic.stream-gap`, `quic.too-many-connections`, `quic.too-many-streams`.

mod crypto;
mod handshake;
mod keylog;
mod layer;
mod quic;
mod quic_frame;
mod quic_protection;
mod quic_reassembly;

pub use keylog::{KeyLog, KeyLogProblem};
pub use layer::TlsLayer;

#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) fn unhex(text: &str) -> Vec<u8> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
