//! Small text helpers shared by the analyzer: percent-decoding in layers,
//! URL splitting, query parsing, word normalisation, hash shapes and the
//! e-mail / phone shape tests.
//!
//! They are deliberately forgiving: captured values are hostile and often
//! half-encoded, so every helper returns what it could read and never fails.

use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// How many times a value is percent-decoded at most (FORMATS.md §2 item 2:
/// some vendors encode twice; three layers covers every case seen).
pub(crate) const MAX_DECODE_DEPTH: usize = 3;

/// Percent-decodes `text` once; `+` becomes a space when `plus_is_space`
/// (query and form context only). Invalid UTF-8 is replaced. Borrows
/// `text` when there is nothing to decode, which is most values.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Cow<'_, str> {
    if plus_is_space && has_byte(text, b'+') {
        let spaced = text.replace('+', " ");
        return Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned());
    }
    if !has_byte(text, b'%') {
        return Cow::Borrowed(text);
    }
    percent_decode_str(text).decode_utf8_lossy()
}

/// Whether `text` contains the ASCII byte `byte` (memchr: these checks
/// run on every field value, some of them long).
fn has_byte(text: &str, byte: u8) -> bool {
    memchr::memchr(byte, text.as_bytes()).is_some()
}

/// A value and its percent-decoded forms (see [`decode_layers`]). The
/// value itself is borrowed, so a value without escapes costs nothing.
pub(crate) struct Layers<'a> {
    original: &'a str,
    decoded: Vec<String>,
}

impl<'a> Layers<'a> {
    /// Every layer, the value itself first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.original).chain(self.decoded.iter().map(String::as_str))
    }

    /// The most decoded layer (the value itself when nothing decodes).
    pub(crate) fn last(&self) -> &str {
        self.decoded.last().map_or(self.original, String::as_str)
    }

    /// The decoded layers only, without the value itself.
    pub(crate) fn into_decoded(self) -> Vec<String> {
        self.decoded
    }
}

/// `text` and its percent-decoded forms, each layer decoded once more,
/// while decoding still changes something (at most [`MAX_DECODE_DEPTH`]
/// decodings). The first layer is always `text` itself.
pub(crate) fn decode_layers(text: &str, plus_is_space: bool) -> Layers<'_> {
    let mut decoded: Vec<String> = Vec::new();
    for _ in 0..MAX_DECODE_DEPTH {
        let current = decoded.last().map_or(text, String::as_str);
        if !(has_byte(current, b'%') || (plus_is_space && has_byte(current, b'+'))) {
            break;
        }
        // A borrowed result is the input unchanged.
        let Cow::Owned(next) = percent_decode(current, plus_is_space) else {
            break;
        };
        if next == current {
            break;
        }
        decoded.push(next);
    }
    Layers {
        original: text,
        decoded,
    }
}

/// The parts of an absolute URL.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

/// Splits an absolute `http(s)://` URL (or a protocol-relative `//host/…`),
/// or returns `None` for anything else.
pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    // Byte searches (memchr): every separator is ASCII, so a byte index
    // found is a character boundary. This runs for every URL-valued field.
    let trimmed = url.trim();
    let rest = if let Some(separator) = scheme_separator(trimmed) {
        let scheme = trimmed.get(..separator)?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return None;
        }
        trimmed.get(separator + 3..)?
    } else {
        trimmed.strip_prefix("//")?
    };
    let authority_end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let after = rest.get(authority_end..)?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = strip_port(host_port);
    if host.is_empty() {
        return None;
    }
    let (before_fragment, fragment) = match memchr::memchr(b'#', after.as_bytes()) {
        Some(i) => (after.get(..i)?, Some(after.get(i + 1..)?)),
        None => (after, None),
    };
    let (path, query) = match memchr::memchr(b'?', before_fragment.as_bytes()) {
        Some(i) => (
            before_fragment.get(..i)?,
            Some(before_fragment.get(i + 1..)?),
        ),
        None => (before_fragment, None),
    };
    Some(UrlParts {
        host,
        path,
        query,
        fragment,
    })
}

/// Where the first `://` of `text` starts.
fn scheme_separator(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).find(|&i| bytes.get(i + 1..i + 3) == Some(b"//".as_slice()))
}

fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// The lower-cased host of an absolute URL.
pub(crate) fn url_host(url: &str) -> Option<String> {
    split_url(url).map(|parts| parts.host.trim_end_matches('.').to_ascii_lowercase())
}

/// Key/value pairs of a query string or form body, percent-decoded with
/// `+` as space (borrowed when nothing needed decoding). A key without `=`
/// has an empty value; a leading `amp;` left by HTML-escaped separators is
/// dropped (FORMATS.md §2 item 1).
pub(crate) fn query_pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    raw_query_pairs(query)
        .map(|(key, value)| (percent_decode(key, true), percent_decode(value, true)))
        .collect()
}

/// The pairs of [`query_pairs`] before percent-decoding, for callers that
/// decode a value only when its key is of interest.
pub(crate) fn raw_query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (key.strip_prefix("amp;").unwrap_or(key), value)
        })
}

/// Whether the text looks like an absolute web URL (after trimming).
pub(crate) fn looks_like_url(text: &str) -> bool {
    let t = text.trim_start().as_bytes();
    let starts = |prefix: &[u8]| {
        t.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    starts(b"http://") || starts(b"https://")
}

/// The URL inside a value: the value itself when it is a URL, else its
/// first percent-decoded layer that is one (`https%3A%2F%2F…`).
pub(crate) fn as_url(value: &str) -> Option<Cow<'_, str>> {
    if looks_like_url(value) {
        return Some(Cow::Borrowed(value));
    }
    // Without a `%` there is no other layer (no `+` decoding here).
    if !has_byte(value, b'%') {
        return None;
    }
    decode_layers(value, false)
        .into_decoded()
        .into_iter()
        .find(|layer| looks_like_url(layer))
        .map(Cow::Owned)
}

/// Lower-cased words of `text` joined by single spaces, with a space at
/// each end (` erectile dysfunction `), so that word-boundary matching is a
/// plain substring search. A word is a run of alphanumeric characters;
/// everything else (punctuation, `-`, `_`, `/`, `+`) separates words.
pub(crate) fn word_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_word_string(text, &mut out);
    out
}

/// [`word_string`] into a reused buffer (cleared first).
pub(crate) fn write_word_string(text: &str, out: &mut String) {
    out.clear();
    out.push(' ');
    let mut in_word = false;
    for c in text.chars() {
        if c.is_ascii() {
            // The common case, without the Unicode tables.
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
                in_word = true;
            } else if in_word {
                out.push(' ');
                in_word = false;
            }
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            in_word = true;
        } else if in_word {
            out.push(' ');
            in_word = false;
        }
    }
    if in_word {
        out.push(' ');
    }
}

/// The hash algorithm a value's shape suggests (FORMATS.md §2.1), or
/// `None` when it does not look like a digest. A bare 32-hex value is only
/// reported as `md5` here; callers must have field context before calling
/// it a hashed e-mail.
pub(crate) fn hash_form(value: &str) -> Option<&'static str> {
    let hex = !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit());
    match value.len() {
        64 if hex => Some("sha256"),
        40 if hex => Some("sha1"),
        32 if hex => Some("md5"),
        128 if hex => Some("sha512"),
        43 if value.bytes().all(is_base64url_byte) => Some("sha256-base64url"),
        44 if value.ends_with('=') && value.trim_end_matches('=').bytes().all(is_base64_byte) => {
            if value.bytes().any(|b| b == b'-' || b == b'_') {
                Some("sha256-base64url")
            } else {
                Some("sha256-base64")
            }
        }
        _ => None,
    }
}

fn is_base64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Characters allowed in the local part of an e-mail address we report.
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

/// Top-level "domains" that are really file extensions or version tags
/// (`logo@2x.png`, `pkg@1.2.3`): an address ending in one is not an e-mail.
const NOT_EMAIL_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "js", "mjs", "css", "json", "html",
    "htm", "map", "woff", "woff2", "ttf",
];

/// Plain e-mail addresses inside `text`, as byte ranges.
pub(crate) fn find_emails(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = text.get(..at).unwrap_or("");
        let after = text.get(at + 1..).unwrap_or("");
        let local_len: usize = before
            .chars()
            .rev()
            .take_while(|c| is_local_char(*c))
            .map(char::len_utf8)
            .sum();
        let mut start = at - local_len.min(at);
        // A local part does not start with a dot (`.`) or an encoded byte.
        while let Some(c) = text.get(start..at).and_then(|s| s.chars().next()) {
            if c == '.' || c == '%' || c == '+' || c == '-' {
                start += c.len_utf8();
            } else {
                break;
            }
        }
        let domain_len: usize = after
            .chars()
            .take_while(|c| is_domain_char(*c))
            .map(char::len_utf8)
            .sum();
        let domain = after
            .get(..domain_len)
            .unwrap_or("")
            .trim_end_matches(['.', '-']);
        if start >= at || domain.is_empty() {
            continue;
        }
        let Some((_, tld)) = domain.rsplit_once('.') else {
            continue;
        };
        let tld_ok = (2..=24).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic());
        if !tld_ok || NOT_EMAIL_TLDS.contains(&tld.to_ascii_lowercase().as_str()) {
            continue;
        }
        if domain.starts_with('.') || domain.starts_with('-') || domain.contains("..") {
            continue;
        }
        found.push((start, at + 1 + domain.len()));
    }
    found
}

/// Whether the whole (trimmed) value is shaped like a phone number: only
/// digits, spaces and `+()-./`, with 7 to 15 digits.
pub(crate) fn is_phone_shaped(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.' | '/'))
    {
        return false;
    }
    if v.chars().skip(1).any(|c| c == '+') {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
}

/// Whether the whole value is one plain e-mail address.
pub(crate) fn is_email_shaped(value: &str) -> bool {
    let v = value.trim();
    find_emails(v)
        .first()
        .is_some_and(|(s, e)| *s == 0 && *e == v.len())
}

/// The last name segment of a field path: `ud[em]` → `em`,
/// `batch[0].context.user.email` → `email`, `dl?q` → `q`, `em.em` → `em`.
pub(crate) fn last_segment(path: &str) -> &str {
    let trimmed = path.trim_end_matches(']');
    // Byte search: the separators are ASCII (and faster to find so).
    let cut = trimmed
        .bytes()
        .rposition(|b| matches!(b, b'.' | b'[' | b'?' | b'>'))
        .map_or(0, |i| i + 1);
    let segment = trimmed.get(cut..).unwrap_or(trimmed);
    if segment.bytes().all(|b| b.is_ascii_digit()) && cut > 0 {
        // An array index: use the name before it (`items[0]` → `items`).
        return last_segment(trimmed.get(..cut - 1).unwrap_or(""));
    }
    segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_stop_when_decoding_changes_nothing() {
        let layers = decode_layers("m%3D%255Btest%252540test.com%255D", false);
        assert_eq!(layers.last(), "m=[test@test.com]");
        assert_eq!(layers.iter().count(), 4);
        assert_eq!(
            decode_layers("plain", true).iter().collect::<Vec<_>>(),
            vec!["plain"]
        );
    }

    #[test]
    fn url_split_keeps_query_and_fragment_apart() {
        let parts = split_url("https://u@Shop.Example:8443/a/b?q=x#frag").unwrap();
        assert_eq!(parts.host, "Shop.Example");
        assert_eq!(parts.path, "/a/b");
        assert_eq!(parts.query, Some("q=x"));
        assert_eq!(parts.fragment, Some("frag"));
        assert!(split_url("javascript:alert(1)").is_none());
    }

    #[test]
    fn words_split_on_punctuation_and_fold_case() {
        assert_eq!(
            word_string("/health/Erectile-Dysfunction?q=x"),
            " health erectile dysfunction q x "
        );
        assert_eq!(word_string(""), " ");
    }

    #[test]
    fn emails_are_found_but_not_image_names_or_package_versions() {
        let text = "x=1&email=John.Doe@Example.COM&img=logo@2x.png&pkg=react@18.2.0";
        let found: Vec<&str> = find_emails(text)
            .iter()
            .map(|(s, e)| &text[*s..*e])
            .collect();
        assert_eq!(found, vec!["John.Doe@Example.COM"]);
    }

    #[test]
    fn hash_shapes_follow_the_cross_vendor_table() {
        assert_eq!(hash_form(&"a".repeat(64)), Some("sha256"));
        assert_eq!(hash_form(&"A".repeat(32)), Some("md5"));
        assert_eq!(
            hash_form("g3GBZyj6LwBvGSkuH2M1AMIrsSAS8TjvEKg2A9GJbCI"),
            Some("sha256-base64url")
        );
        assert_eq!(hash_form("1234"), None);
    }

    #[test]
    fn last_segment_names_the_field() {
        assert_eq!(last_segment("ud[em]"), "em");
        assert_eq!(last_segment("batch[0].context.user.email"), "email");
        assert_eq!(last_segment("dl?email"), "email");
        assert_eq!(last_segment("items[3]"), "items");
        assert_eq!(last_segment("q"), "q");
    }

    #[test]
    fn phone_shape_needs_seven_to_fifteen_digits() {
        assert!(is_phone_shaped("+1 (555) 010-4477"));
        assert!(!is_phone_shaped("12345"));
        assert!(!is_phone_shaped("1795921399422123"));
        assert!(!is_phone_shaped("55+5"));
    }
}
