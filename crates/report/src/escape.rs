//! Making captured text inert before it reaches a terminal or a spreadsheet.

/// Replaces every control character (C0, DEL, C1) and Unicode bidi override
/// with a visible escape (`\x1b`, `\u{202e}`), so that captured text can
/// neither drive the terminal nor reorder what the reader sees.
pub fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_dangerous(c) {
            let code = c as u32;
            if code < 0x100 {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x061c)
}

/// A CSV cell that Excel, LibreOffice and Google Sheets will show as text:
/// a value starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
/// leading apostrophe (OWASP's recommendation for CSV injection).
pub fn csv_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_shown_not_sent() {
        assert_eq!(terminal("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(terminal("x\u{9b}31m"), "x\\x9b31m");
        assert_eq!(terminal("evil\u{202e}gnp.exe"), "evil\\u{202e}gnp.exe");
        assert_eq!(terminal("line\nnext"), "line\\x0anext");
        assert_eq!(terminal("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn formulas_become_text() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_cell("+1 555"), "'+1 555");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("PageView"), "PageView");
    }
}
