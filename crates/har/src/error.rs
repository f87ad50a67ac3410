//! Why a whole file could not be read as a HAR.

use std::fmt;
use std::io;

/// A place in the input: a 0-based byte offset and a 1-based line number,
/// so a reader can open the file at the spot in any editor or hex viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub byte: u64,
    pub line: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, byte {}", self.line, self.byte)
    }
}

/// The input could not be read as a HAR at all.
///
/// Problems *inside* a readable HAR (a broken entry, a truncated tail) are
/// diagnostics, not errors; see [`crate::HarReader::read`]. `Display` is one
/// line that names the place, e.g.
/// `not a HAR file: expected '{' at line 1, byte 0`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarError {
    /// The bytes are not JSON, or are JSON without `log.entries`, and no
    /// entry was read before the problem.
    #[error("not a HAR file: {reason} at {at}")]
    NotHar { reason: String, at: Position },
    /// Reading the input failed.
    #[error("cannot read HAR input at {at}: {source}")]
    Io {
        #[source]
        source: io::Error,
        at: Position,
    },
}

impl HarError {
    /// Where in the input the problem was found.
    pub fn position(&self) -> Position {
        match self {
            HarError::NotHar { at, .. } | HarError::Io { at, .. } => *at,
        }
    }
}
