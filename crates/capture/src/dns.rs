//! A small DNS response reader: just enough to learn which host names the
//! client resolved (A, AAAA and CNAME answers).
//!
//! Hostile input is the norm here, so every read is bounds-checked, names are
//! capped at 255 bytes, and compression pointers may only point backwards
//! (which also rules out loops) with at most 32 jumps per name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;
const MAX_NAME: usize = 255;
const MAX_JUMPS: usize = 32;
/// More records than this in one message is not a real answer.
const MAX_RECORDS: usize = 256;

/// One A, AAAA or CNAME answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The owner name (the queried name, or a name of its CNAME chain).
    pub name: String,
    /// The address of an A/AAAA answer.
    pub address: Option<IpAddr>,
    /// The target of a CNAME answer.
    pub alias: Option<String>,
}

/// Why a message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The A/AAAA/CNAME answers of a DNS response; an empty list for queries
/// and for responses without such answers.
pub(crate) fn answers(message: &[u8]) -> Result<Vec<Answer>, Malformed> {
    let flags = be16(message, 2)?;
    if flags & 0x8000 == 0 {
        return Ok(Vec::new());
    }
    let questions = usize::from(be16(message, 4)?);
    let answer_count = usize::from(be16(message, 6)?);
    if questions + answer_count > MAX_RECORDS {
        return Err(Malformed);
    }
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(message, at)?;
        at = at.checked_add(4).ok_or(Malformed)?;
    }
    let mut found = Vec::new();
    for _ in 0..answer_count {
        let (name, after) = read_name(message, at)?;
        let kind = be16(message, after)?;
        let length = usize::from(be16(message, after + 8)?);
        let data_at = after + 10;
        let rdata = message.get(data_at..data_at + length).ok_or(Malformed)?;
        match kind {
            TYPE_A => {
                let octets: [u8; 4] = rdata.try_into().map_err(|_| Malformed)?;
                found.push(Answer {
                    name,
                    address: Some(IpAddr::V4(Ipv4Addr::from(octets))),
                    alias: None,
                });
            }
            TYPE_AAAA => {
                let octets: [u8; 16] = rdata.try_into().map_err(|_| Malformed)?;
                found.push(Answer {
                    name,
                    address: Some(IpAddr::V6(Ipv6Addr::from(octets))),
                    alias: None,
                });
            }
            TYPE_CNAME => {
                let (alias, _) = read_name(message, data_at)?;
                found.push(Answer {
                    name,
                    address: None,
                    alias: Some(alias),
                });
            }
            _ => {}
        }
        at = data_at + length;
    }
    Ok(found)
}

fn be16(message: &[u8], at: usize) -> Result<u16, Malformed> {
    let bytes = message
        .get(at..at.checked_add(2).ok_or(Malformed)?)
        .ok_or(Malformed)?;
    Ok(u16::from_be_bytes([
        bytes.first().copied().unwrap_or(0),
        bytes.get(1).copied().unwrap_or(0),
    ]))
}

/// The offset after the name at `at` (without following pointers).
fn skip_name(message: &[u8], mut at: usize) -> Result<usize, Malformed> {
    loop {
        let len = *message.get(at).ok_or(Malformed)?;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xC0 == 0xC0 => return Ok(at + 2),
            l if l & 0xC0 == 0 => at += 1 + usize::from(l),
            _ => return Err(Malformed),
        }
    }
}

/// Reads the (possibly compressed) name at `at`: the name in lower case,
/// without the final dot, and the offset after it in the record.
fn read_name(message: &[u8], start: usize) -> Result<(String, usize), Malformed> {
    let mut name = String::new();
    let mut at = start;
    let mut after = None;
    let mut jumps = 0;
    let mut wire_len = 0usize;
    loop {
        let len = *message.get(at).ok_or(Malformed)?;
        if len == 0 {
            return Ok((name, after.unwrap_or(at + 1)));
        }
        if len & 0xC0 == 0xC0 {
            let low = *message.get(at + 1).ok_or(Malformed)?;
            let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
            jumps += 1;
            // Only backwards: a pointer can never revisit where it is.
            if target >= at || jumps > MAX_JUMPS {
                return Err(Malformed);
            }
            after.get_or_insert(at + 2);
            at = target;
            continue;
        }
        if len & 0xC0 != 0 {
            return Err(Malformed);
        }
        let label = message
            .get(at + 1..at + 1 + usize::from(len))
            .ok_or(Malformed)?;
        wire_len += 1 + label.len();
        if wire_len > MAX_NAME {
            return Err(Malformed);
        }
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                name.push(char::from(b.to_ascii_lowercase()));
            } else {
                // Keep odd bytes visible and unambiguous, as dig does.
                name.push_str(&format!("\\{b:03}"));
            }
        }
        at += 1 + usize::from(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response for `www.Example.com` with a CNAME to `cdn.example.net`
    /// and an A record for the latter, using compression pointers.
    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        // question at 12
        m.extend_from_slice(b"\x03www\x07Example\x03com\x00\x00\x01\x00\x01");
        // answer 1: CNAME, owner = pointer to 12
        m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 17]);
        let cname_at = m.len();
        m.extend_from_slice(b"\x03cdn\x07example\x03net\x00");
        // answer 2: A for the alias
        m.extend_from_slice(&[
            0xC0,
            cname_at as u8,
            0,
            1,
            0,
            1,
            0,
            0,
            0,
            60,
            0,
            4,
            93,
            184,
            216,
            34,
        ]);
        m
    }

    #[test]
    fn reads_a_cname_chain_and_its_address() {
        let found = answers(&response());
        let expected = vec![
            Answer {
                name: "www.example.com".into(),
                address: None,
                alias: Some("cdn.example.net".into()),
            },
            Answer {
                name: "cdn.example.net".into(),
                address: Some(IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34))),
                alias: None,
            },
        ];
        assert_eq!(found, Ok(expected));
    }

    #[test]
    fn a_pointer_loop_is_malformed_not_a_hang() {
        let mut m = vec![0, 0, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        // owner name is a pointer to itself
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(answers(&m), Err(Malformed));
    }

    #[test]
    fn every_truncation_is_handled() {
        let m = response();
        for len in 0..m.len() {
            let _ = answers(&m[..len]);
        }
        // Queries carry no answers.
        let mut q = m.clone();
        q[2] = 0x01;
        assert_eq!(answers(&q), Ok(Vec::new()));
    }
}
