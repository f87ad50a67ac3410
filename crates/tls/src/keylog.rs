//! NSS key log files (`SSLKEYLOGFILE`), as browsers, curl and OpenSSL write
//! them and as pcapng Decryption Secrets Blocks carry them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Secrets for TLS sessions, found by the ClientHello's random (or, for the
/// old `RSA Session-ID:` form, by the session id).
///
/// Parsing never fails: a line that cannot be used becomes a
/// [`KeyLogProblem`] and the rest of the text is still read. Several files
/// (and Decryption Secrets Blocks met along a capture) are combined with
/// [`KeyLog::merge`].
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], SessionSecrets>,
    by_session_id: HashMap<Vec<u8>, Vec<u8>>,
    count: usize,
}

/// The secrets logged for one client random.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionSecrets {
    /// TLS 1.0-1.2 master secret (`CLIENT_RANDOM`).
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
    /// Logged but not needed for decryption (exporter, 0-RTT).
    pub other: usize,
}

impl SessionSecrets {
    fn slot(&mut self, label: &str) -> Option<&mut Option<Vec<u8>>> {
        Some(match label {
            "CLIENT_RANDOM" => &mut self.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut self.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut self.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut self.client_traffic,
            "SERVER_TRAFFIC_SECRET_0" => &mut self.server_traffic,
            _ => return None,
        })
    }
}

/// Labels that are valid but carry nothing this crate decrypts with.
const IGNORED_LABELS: &[&str] = &[
    "EXPORTER_SECRET",
    "EARLY_EXPORTER_SECRET",
    "CLIENT_EARLY_TRAFFIC_SECRET",
];

/// A key log line that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLogProblem {
    /// 1-based line number within the text given to [`KeyLog::parse`].
    pub line: usize,
    /// Stable code: `keylog.malformed`, `keylog.unknown-label`,
    /// `keylog.unsupported`, `keylog.conflict`.
    pub code: &'static str,
    pub message: String,
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Reads key log text: `LABEL <client random hex> <secret hex>` lines,
    /// `#` comments and blank lines; CRLF and a UTF-8 BOM are accepted.
    pub fn parse(text: &[u8]) -> (KeyLog, Vec<KeyLogProblem>) {
        let mut log = KeyLog::new();
        let problems = log.add_text(text);
        (log, problems)
    }

    /// Adds the secrets of `other`. Where both hold a secret for the same
    /// label and random, the one already here is kept.
    pub fn merge(&mut self, other: KeyLog) {
        for (random, secrets) in other.by_random {
            let mine = self.by_random.entry(random).or_default();
            for (slot, value) in [
                (&mut mine.master, secrets.master),
                (&mut mine.client_handshake, secrets.client_handshake),
                (&mut mine.server_handshake, secrets.server_handshake),
                (&mut mine.client_traffic, secrets.client_traffic),
                (&mut mine.server_traffic, secrets.server_traffic),
            ] {
                if slot.is_none() && value.is_some() {
                    *slot = value;
                    self.count += 1;
                }
            }
            mine.other += secrets.other;
        }
        for (id, master) in other.by_session_id {
            if let Entry::Vacant(e) = self.by_session_id.entry(id) {
                e.insert(master);
                self.count += 1;
            }
        }
    }

    /// Number of distinct usable secrets (label and random pairs, and
    /// session-id master secrets).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(crate) fn session(&self, client_random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.by_random.get(client_random)
    }

    pub(crate) fn master_by_session_id(&self, session_id: &[u8]) -> Option<&[u8]> {
        self.by_session_id.get(session_id).map(Vec::as_slice)
    }

    /// Parses `text` into this log, returning the lines it could not use.
    pub(crate) fn add_text(&mut self, text: &[u8]) -> Vec<KeyLogProblem> {
        let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        let mut problems = Vec::new();
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let Ok(content) = std::str::from_utf8(raw) else {
                problems.push(problem(line, "keylog.malformed", "line is not text".into()));
                continue;
            };
            let content = content.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if let Err(p) = self.add_line(content) {
                problems.push(KeyLogProblem { line, ..p });
            }
        }
        problems
    }

    fn add_line(&mut self, content: &str) -> Result<(), KeyLogProblem> {
        let mut fields = content.split_ascii_whitespace();
        let label = fields.next().unwrap_or_default();
        if label == "RSA" {
            return self.add_rsa_line(content);
        }
        let (Some(random_hex), Some(secret_hex), None) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(problem(
                0,
                "keylog.malformed",
                format!("{label}: expected a client random and a secret"),
            ));
        };
        let known = SessionSecrets::default().slot(label).is_some();
        if !known && !IGNORED_LABELS.contains(&label) {
            return Err(problem(
                0,
                "keylog.unknown-label",
                format!("unknown label {}", shorten(label)),
            ));
        }
        let random: [u8; 32] = decode_hex(random_hex)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| {
                problem(
                    0,
                    "keylog.malformed",
                    format!("{label}: client random is not 32 bytes of hex"),
                )
            })?;
        let secret = decode_hex(secret_hex)
            .filter(|s| matches!(s.len(), 32 | 48))
            .ok_or_else(|| {
                problem(
                    0,
                    "keylog.malformed",
                    format!("{label}: secret is not 32 or 48 bytes of hex"),
                )
            })?;
        let session = self.by_random.entry(random).or_default();
        let Some(slot) = session.slot(label) else {
            session.other += 1;
            return Ok(());
        };
        match slot {
            None => {
                *slot = Some(secret);
                self.count += 1;
                Ok(())
            }
            Some(existing) if *existing == secret => Ok(()),
            Some(_) => Err(problem(
                0,
                "keylog.conflict",
                format!(
                    "{label} {random_hex}: a different secret was logged earlier; keeping the first"
                ),
            )),
        }
    }

    /// `RSA Session-ID:<hex> Master-Key:<hex>` is usable (it names the
    /// session); `RSA <encrypted pre-master prefix> <pre-master>` would need
    /// the ClientKeyExchange and is reported as unsupported.
    fn add_rsa_line(&mut self, content: &str) -> Result<(), KeyLogProblem> {
        let rest = content.get(3..).unwrap_or_default().trim();
        if let Some(rest) = rest.strip_prefix("Session-ID:") {
            let (id_hex, master_part) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let master_hex = master_part
                .trim()
                .strip_prefix("Master-Key:")
                .unwrap_or_default();
            let (Some(id), Some(master)) = (decode_hex(id_hex), decode_hex(master_hex)) else {
                return Err(problem(
                    0,
                    "keylog.malformed",
                    "RSA Session-ID line without hex id and Master-Key".into(),
                ));
            };
            if id.is_empty() || master.len() != 48 {
                return Err(problem(
                    0,
                    "keylog.malformed",
                    "RSA Session-ID line: empty id or master key not 48 bytes".into(),
                ));
            }
            if let Entry::Vacant(e) = self.by_session_id.entry(id) {
                e.insert(master);
                self.count += 1;
            }
            return Ok(());
        }
        Err(problem(
            0,
            "keylog.unsupported",
            "RSA pre-master secret lines are not supported; log CLIENT_RANDOM lines instead".into(),
        ))
    }
}

fn problem(line: usize, code: &'static str, message: String) -> KeyLogProblem {
    KeyLogProblem {
        line,
        code,
        message,
    }
}

/// Keeps hostile input out of diagnostics at a readable length.
fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            match pair {
                [h, l] => Some(u8::try_from(digit(*h)? * 16 + digit(*l)?).ok()?),
                _ => None,
            }
        })
        .collect()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn reads_comments_crlf_and_every_tls13_label() {
        let text = format!(
            "\u{feff}# made by curl\r\n\r\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {R1} {s}\r\nSERVER_HANDSHAKE_TRAFFIC_SECRET {R1} {s}\r\n\
             CLIENT_TRAFFIC_SECRET_0 {R1} {s}\nSERVER_TRAFFIC_SECRET_0 {R1} {s}\nEXPORTER_SECRET {R1} {s}\n",
            s = "ab".repeat(48)
        );
        let (log, problems) = KeyLog::parse(text.as_bytes());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(log.len(), 4);
        let random: [u8; 32] = decode_hex(R1).unwrap().try_into().unwrap();
        let session = log.session(&random).unwrap();
        assert_eq!(session.server_traffic.as_deref(), Some(&[0xab; 48][..]));
        assert_eq!(session.other, 1);
    }

    #[test]
    fn garbage_lines_are_counted_with_their_line_numbers_and_the_rest_is_kept() {
        let text = format!(
            "CLIENT_RANDOM {R1} {m}\nnonsense\nCLIENT_RANDOM 1234 {m}\nCLIENT_RANDOM {R1}\nFOO {R1} {m}\n\
             CLIENT_RANDOM {R1} {other}\nRSA 0011223344556677 {m}\n",
            m = "11".repeat(48),
            other = "22".repeat(48)
        );
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\xff\n");
        let (log, problems) = KeyLog::parse(&bytes);
        assert_eq!(log.len(), 1);
        let codes: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.code)).collect();
        assert_eq!(
            codes,
            [
                (2, "keylog.malformed"),
                (3, "keylog.malformed"),
                (4, "keylog.malformed"),
                (5, "keylog.unknown-label"),
                (6, "keylog.conflict"),
                (7, "keylog.unsupported"),
                (8, "keylog.malformed"),
            ]
        );
        let random: [u8; 32] = decode_hex(R1).unwrap().try_into().unwrap();
        assert_eq!(
            log.session(&random).unwrap().master.as_deref(),
            Some(&[0x11; 48][..])
        );
    }

    #[test]
    fn merge_adds_new_secrets_and_keeps_existing_ones() {
        let (mut a, _) =
            KeyLog::parse(format!("CLIENT_RANDOM {R1} {}\n", "11".repeat(48)).as_bytes());
        let (b, _) = KeyLog::parse(
            format!(
                "CLIENT_RANDOM {R1} {}\nCLIENT_RANDOM {} {}\nRSA Session-ID:{} Master-Key:{}\n",
                "22".repeat(48),
                "ff".repeat(32),
                "33".repeat(48),
                "0a".repeat(32),
                "44".repeat(48)
            )
            .as_bytes(),
        );
        assert_eq!(b.len(), 3);
        a.merge(b);
        assert_eq!(a.len(), 3);
        let random: [u8; 32] = decode_hex(R1).unwrap().try_into().unwrap();
        assert_eq!(
            a.session(&random).unwrap().master.as_deref(),
            Some(&[0x11; 48][..])
        );
        assert_eq!(a.master_by_session_id(&[0x0a; 32]), Some(&[0x44; 48][..]));
    }
}
