//! Anomalies in the input, reported as data.

use crate::Origin;
use serde::{Deserialize, Serialize};

/// How much a diagnostic matters to the completeness of the findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something could not be read: findings may be missing.
    Error,
    /// Something was odd or incomplete, but it was read.
    Warning,
    /// Worth knowing, changes nothing.
    Info,
}

/// Something the input did that a reader of the findings should know:
/// a broken HAR entry, a TCP gap, a TLS session without keys, a body that
/// could not be decoded. Codes are stable, dotted, lower-case
/// (`har.entry-invalid`, `tcp.gap`, `tls.no-key`, `body.too-large`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub origin: Origin,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        code: impl Into<String>,
        message: impl Into<String>,
        origin: Origin,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code: code.into(),
            message: message.into(),
            origin,
        }
    }

    pub fn error(
        code: impl Into<String>,
        message: impl Into<String>,
        origin: Origin,
    ) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message, origin)
    }

    pub fn warning(
        code: impl Into<String>,
        message: impl Into<String>,
        origin: Origin,
    ) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message, origin)
    }

    pub fn info(code: impl Into<String>, message: impl Into<String>, origin: Origin) -> Diagnostic {
        Diagnostic::new(Severity::Info, code, message, origin)
    }
}
