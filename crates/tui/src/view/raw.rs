//! The raw view: the request line, the headers, and the body — JSON
//! re-indented (keys in wire order, values untouched), form bodies split
//! into decoded `key = value` lines, other text as is, binary as a hex dump.
//!
//! The lines are built once when the view opens (`App` caches them) and only
//! the visible window is drawn, so a large body costs nothing per frame.

use super::{inert, pane};
use crate::app::App;
use crate::load::RawRequest;
use crate::strings;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::fmt::Write;

/// At most this much of a binary body is dumped.
const MAX_HEX_BYTES: usize = 64 * 1024;
/// At most this many body lines are kept.
const MAX_BODY_LINES: usize = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    RequestLine,
    Section,
    HeaderName,
    Text,
    Note,
}

/// One display line, already made inert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawLine {
    pub(crate) role: Role,
    pub(crate) text: String,
    /// For headers: the value after the name.
    pub(crate) value: String,
}

impl RawLine {
    fn new(role: Role, text: &str) -> RawLine {
        RawLine {
            role,
            text: inert(text),
            value: String::new(),
        }
    }
}

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let inner = pane(frame, area, strings::RAW_TITLE.to_owned(), true, theme);
    let rows = usize::from(inner.height);
    let end = app.raw_scroll.saturating_add(rows).min(app.raw_lines.len());
    let window = app.raw_lines.get(app.raw_scroll..end).unwrap_or_default();
    let lines: Vec<Line> = window
        .iter()
        .map(|line| match line.role {
            Role::RequestLine => Line::from(Span::styled(line.text.as_str(), theme.page)),
            Role::Section => Line::from(Span::styled(line.text.as_str(), theme.section)),
            Role::HeaderName => Line::from(vec![
                Span::styled(line.text.as_str(), theme.label),
                Span::raw(": "),
                Span::raw(line.value.as_str()),
            ]),
            Role::Text => Line::from(line.text.as_str()),
            Role::Note => Line::from(Span::styled(line.text.as_str(), theme.dim)),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The lines of the raw view for one request.
pub(crate) fn lines(raw: Option<&RawRequest>) -> Vec<RawLine> {
    let Some(raw) = raw else {
        return vec![RawLine::new(Role::Note, strings::NO_RAW)];
    };
    let mut lines = vec![RawLine::new(Role::RequestLine, &raw.request_line)];
    lines.push(RawLine::new(Role::Section, strings::SECTION_HEADERS));
    for (name, value) in &raw.headers {
        lines.push(RawLine {
            role: Role::HeaderName,
            text: inert(name),
            value: inert(value),
        });
    }
    let content_type = raw
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.to_ascii_lowercase());
    body_lines(&raw.body, content_type.as_deref(), &mut lines);
    if let Some(note) = &raw.body_note {
        lines.push(RawLine::new(Role::Note, note));
    }
    lines
}

fn body_lines(body: &[u8], content_type: Option<&str>, lines: &mut Vec<RawLine>) {
    if body.is_empty() {
        lines.push(RawLine::new(Role::Section, strings::SECTION_BODY));
        lines.push(RawLine::new(Role::Note, strings::NO_BODY));
        return;
    }
    let size = body.len();
    let text = std::str::from_utf8(body).ok();
    let start = lines.len();
    if let Some(text) = text.filter(|t| is_json(t)) {
        lines.push(RawLine::new(
            Role::Section,
            &strings::body_heading("JSON", size),
        ));
        push_text(&reindent_json(text), lines);
    } else if let Some(text) = text.filter(|t| is_json_lines(t)) {
        lines.push(RawLine::new(
            Role::Section,
            &strings::body_heading("JSON lines", size),
        ));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            push_text(&reindent_json(line), lines);
        }
    } else if let Some(text) = text.filter(|t| is_form(t, content_type)) {
        lines.push(RawLine::new(
            Role::Section,
            &strings::body_heading("form, decoded", size),
        ));
        let hits: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        for (number, hit) in hits.iter().enumerate() {
            if hits.len() > 1 {
                lines.push(RawLine::new(
                    Role::Note,
                    &strings::form_hit(number.saturating_add(1)),
                ));
            }
            for pair in hit.split('&').filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let text = format!("{} = {}", percent_decode(key), percent_decode(value));
                lines.push(RawLine::new(Role::Text, &text));
            }
        }
    } else if let Some(text) = text.filter(|t| is_plain_text(t)) {
        lines.push(RawLine::new(
            Role::Section,
            &strings::body_heading("text", size),
        ));
        push_text(text, lines);
    } else {
        lines.push(RawLine::new(
            Role::Section,
            &strings::body_heading("binary", size),
        ));
        let shown = body.get(..MAX_HEX_BYTES).unwrap_or(body);
        for (n, chunk) in shown.chunks(16).enumerate() {
            lines.push(RawLine::new(
                Role::Text,
                &hex_line(n.saturating_mul(16), chunk),
            ));
        }
        if size > shown.len() {
            lines.push(RawLine::new(
                Role::Note,
                &strings::body_more(size.saturating_sub(shown.len())),
            ));
        }
    }
    if lines.len().saturating_sub(start) > MAX_BODY_LINES {
        lines.truncate(start.saturating_add(MAX_BODY_LINES));
        lines.push(RawLine::new(Role::Note, &strings::body_more(0)));
    }
}

fn push_text(text: &str, lines: &mut Vec<RawLine>) {
    lines.extend(
        text.lines()
            .take(MAX_BODY_LINES.saturating_add(1))
            .map(|l| RawLine::new(Role::Text, l)),
    );
}

fn is_json(text: &str) -> bool {
    let trimmed = text.trim_start();
    (trimmed.starts_with('{') || trimmed.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
}

fn is_json_lines(text: &str) -> bool {
    let mut any = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if !is_json(line) {
            return false;
        }
        any = true;
    }
    any
}

fn is_form(text: &str, content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|t| t.contains("x-www-form-urlencoded")) {
        return true;
    }
    // Without a declared type, GA4-style bodies (one hit per line) qualify
    // when every line is `k=v&k=v` with no spaces.
    let mut any = false;
    for line in text.lines().filter(|l| !l.is_empty()) {
        if !line.contains('=') || line.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return false;
        }
        any = true;
    }
    any
}

fn is_plain_text(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// `%xx` and `+` decoding; invalid escapes are kept as written and invalid
/// UTF-8 is shown lossily (the exact bytes remain in the input file).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(high), Some(low)) =
                    (hex(i.saturating_add(1)), hex(i.saturating_add(2)))
                {
                    out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                    i = i.saturating_add(3);
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i = i.saturating_add(1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Re-indents valid JSON text without parsing it into a map, so keys stay in
/// wire order and numbers keep their exact spelling.
fn reindent_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_mul(2));
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth.min(64) {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth = depth.saturating_add(1);
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

fn hex_line(offset: usize, chunk: &[u8]) -> String {
    let mut line = format!("{offset:08x}  ");
    for (i, byte) in chunk.iter().enumerate() {
        let _ = write!(line, "{byte:02x} ");
        if i == 7 {
            line.push(' ');
        }
    }
    let pad = 16usize.saturating_sub(chunk.len()).saturating_mul(3) + usize::from(chunk.len() <= 8);
    line.push_str(&" ".repeat(pad));
    line.push('|');
    line.extend(chunk.iter().map(|&b| {
        if b.is_ascii_graphic() || b == b' ' {
            char::from(b)
        } else {
            '.'
        }
    }));
    line.push('|');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order_and_number_spelling() {
        let text = r#"{"z":1.50,"a":[],"m":{"k":"a,b:{c}"},"e":[1,2]}"#;
        assert_eq!(
            reindent_json(text),
            "{\n  \"z\": 1.50,\n  \"a\": [],\n  \"m\": {\n    \"k\": \"a,b:{c}\"\n  },\n  \"e\": [\n    1,\n    2\n  ]\n}"
        );
    }

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        let raw = RawRequest {
            body: b"en=page_view&dl=https%3A%2F%2Fshop.test%2F".to_vec(),
            ..Default::default()
        };
        let texts: Vec<String> = lines(Some(&raw)).into_iter().map(|l| l.text).collect();
        assert!(
            texts.contains(&"dl = https://shop.test/".to_owned()),
            "{texts:?}"
        );
    }

    #[test]
    fn binary_bodies_become_a_hex_dump() {
        let raw = RawRequest {
            body: vec![0x1f, 0x8b, 0x08, 0x00, 0x1b],
            ..Default::default()
        };
        let texts: Vec<String> = lines(Some(&raw)).into_iter().map(|l| l.text).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("00000000  1f 8b 08 00 1b ") && t.ends_with("|.....|")),
            "{texts:?}"
        );
    }
}
