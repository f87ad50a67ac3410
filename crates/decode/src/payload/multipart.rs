//! `multipart/form-data` bodies (RFC 7578), read tolerantly.
//!
//! The boundary comes from the `Content-Type` parameter, or, when the
//! header is missing or wrong, from the body's first line (bodies are
//! sniffed, never trusted by label). Line breaks may be `\r\n`, `\n` or the
//! `\r\r\n` some exporters write. Each part's `Content-Disposition` name is
//! the parameter name (Meta sends one part per parameter: `ev`, `cd[…]`).

use memchr::memmem;

/// One part of a multipart body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `name` of the `Content-Disposition` header.
    pub name: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/…` media type.
pub fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The boundary announced by a body's first line (`--<boundary>`).
pub fn sniff_boundary(body: &[u8]) -> Option<String> {
    let start = body.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let rest = body.get(start..)?;
    let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let line = rest.get(..line_end)?;
    let line = trim_cr(line);
    let boundary = line.strip_prefix(b"--".as_slice())?;
    if boundary.is_empty()
        || boundary.len() > 200
        || boundary.iter().any(|b| b.is_ascii_whitespace())
    {
        return None;
    }
    std::str::from_utf8(boundary).ok().map(str::to_owned)
}

/// Splits a multipart body into parts. `None` when the delimiter never
/// occurs (not a multipart body).
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let finder = memmem::Finder::new(delimiter.as_bytes());
    let positions: Vec<usize> = finder.find_iter(body).collect();
    if positions.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for (index, start) in positions.iter().enumerate() {
        let after = start.checked_add(delimiter.len())?;
        let tail = body.get(after..).unwrap_or_default();
        if tail.starts_with(b"--") {
            break; // closing delimiter
        }
        let end = positions.get(index + 1).copied().unwrap_or(body.len());
        let Some(raw) = body.get(after..end) else {
            continue;
        };
        parts.push(parse_part(strip_line_break_start(raw)));
    }
    Some(parts)
}

fn parse_part(raw: &[u8]) -> Part {
    let mut part = Part {
        name: None,
        filename: None,
        content_type: None,
        data: Vec::new(),
    };
    let mut offset = 0usize;
    loop {
        let rest = raw.get(offset..).unwrap_or_default();
        let Some(line_end) = memchr::memchr(b'\n', rest) else {
            // Headers without a blank line: no content.
            offset = raw.len();
            break;
        };
        let line = trim_cr(rest.get(..line_end).unwrap_or_default());
        offset = offset.saturating_add(line_end).saturating_add(1);
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(line);
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(value, "name");
                part.filename = disposition_param(value, "filename");
            } else if name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
    }
    part.data = strip_line_break_end(raw.get(offset..).unwrap_or_default()).to_vec();
    part
}

fn disposition_param(value: &str, wanted: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case(wanted).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .to_owned()
        })
    })
}

fn trim_cr(line: &[u8]) -> &[u8] {
    let mut line = line;
    while let Some(rest) = line.strip_suffix(b"\r".as_slice()) {
        line = rest;
    }
    line
}

/// Drops the line break that ends a delimiter line (`\r\n`, `\n`, `\r\r\n`).
fn strip_line_break_start(raw: &[u8]) -> &[u8] {
    let mut raw = raw;
    while let Some(rest) = raw.strip_prefix(b"\r".as_slice()) {
        raw = rest;
    }
    raw.strip_prefix(b"\n".as_slice()).unwrap_or(raw)
}

/// Drops the line break that belongs to the next delimiter.
fn strip_line_break_end(raw: &[u8]) -> &[u8] {
    match raw.strip_suffix(b"\n".as_slice()) {
        Some(rest) => trim_cr(rest),
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_from_header_and_from_body() {
        assert_eq!(
            boundary_from_content_type("multipart/form-data; boundary=----WebKitFormBoundaryAbC")
                .as_deref(),
            Some("----WebKitFormBoundaryAbC")
        );
        assert_eq!(boundary_from_content_type("text/plain; boundary=x"), None);
        assert_eq!(
            sniff_boundary(b"\r\n--xyz\r\nContent-Disposition: form-data; name=\"a\"").as_deref(),
            Some("xyz")
        );
    }

    #[test]
    fn parts_in_order_with_crlf_and_bare_cr_crlf() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n123\r\n--B\r\r\nContent-Disposition: form-data; name=\"cd[value]\"\r\r\n\r\r\n9.5\r\r\n--B\nContent-Disposition: form-data; name=\"empty\"\n\n\n--B--\r\n";
        let parts = parse(body, "B").unwrap();
        let got: Vec<(Option<String>, Vec<u8>)> =
            parts.into_iter().map(|p| (p.name, p.data)).collect();
        assert_eq!(
            got,
            vec![
                (Some("id".into()), b"123".to_vec()),
                (Some("cd[value]".into()), b"9.5".to_vec()),
                (Some("empty".into()), Vec::new()),
            ]
        );
    }

    #[test]
    fn not_multipart_without_delimiter() {
        assert_eq!(parse(b"id=1&ev=PageView", "B"), None);
    }
}
