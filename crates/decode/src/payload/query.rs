//! Query strings and `application/x-www-form-urlencoded` bodies.
//!
//! Split on `&`, then on the first `=`; percent-decode as UTF-8 with `+` as
//! a space (form semantics, which is why this module is only used for query
//! and form text, never for paths or JSON). Order, duplicates and empty
//! values are kept: "present but empty" is evidence too. Keys that start
//! with `amp;` (an HTML-escaped `&amp;` copied into a tag) lose the prefix,
//! and the parameter remembers that it was there.

use percent_encoding::percent_decode;
use std::borrow::Cow;

/// One `key=value` pair as it appeared on the wire. The texts borrow from
/// the parsed input whenever no decoding changed them (most keys, many
/// values): a beacon has dozens of parameters and is parsed per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The decoded key (`cd[value]` whether it was sent as `cd[value]` or
    /// `cd%5Bvalue%5D`), without an `amp;` prefix.
    pub key: Cow<'a, str>,
    /// The decoded value. When the decoded bytes are not UTF-8 this is the
    /// value exactly as on the wire (still percent-encoded), so no byte is
    /// lost or replaced; `utf8` says which.
    pub value: Cow<'a, str>,
    /// The key as on the wire.
    pub raw_key: Cow<'a, str>,
    /// The value as on the wire; `None` when the token had no `=`.
    pub raw_value: Option<Cow<'a, str>>,
    /// Whether decoding produced UTF-8 (`false`: `value` is the raw text).
    pub utf8: bool,
    /// The key started with `amp;` (an HTML-escaped separator), now removed.
    pub amp_prefix: bool,
}

impl Param<'_> {
    /// The same parameter owning its texts (for input that does not outlive
    /// the parse, such as an inflated body).
    pub fn into_owned(self) -> Param<'static> {
        Param {
            key: Cow::Owned(self.key.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
            raw_key: Cow::Owned(self.raw_key.into_owned()),
            raw_value: self.raw_value.map(|v| Cow::Owned(v.into_owned())),
            utf8: self.utf8,
            amp_prefix: self.amp_prefix,
        }
    }
}

/// Parses a query string (without the leading `?`) or a form body.
pub fn parse(input: &str) -> Vec<Param<'_>> {
    parse_bytes(input.as_bytes())
}

/// Parses form-encoded bytes; bytes that are not UTF-8 are kept in the
/// parameter's raw text.
pub fn parse_bytes(input: &[u8]) -> Vec<Param<'_>> {
    // One allocation for the list: at most one parameter per `&`, plus one.
    let mut params = Vec::with_capacity(memchr::memchr_iter(b'&', input).count().saturating_add(1));
    for token in input
        .split(|b| *b == b'&')
        .filter(|token| !token.is_empty())
    {
        let (raw_key, raw_value) = match memchr::memchr(b'=', token) {
            Some(at) => (token.get(..at).unwrap_or_default(), token.get(at + 1..)),
            None => (token, None),
        };
        let (raw_key, key, key_utf8) = component(raw_key);
        let (raw_value, value, value_utf8) = match raw_value.map(component) {
            Some((raw, value, utf8)) => (Some(raw), value, utf8),
            None => (None, Cow::Borrowed(""), true),
        };
        let (key, amp_prefix) = match key.strip_prefix("amp;") {
            Some(rest) => (Cow::Owned(rest.to_owned()), true),
            None => (key, false),
        };
        params.push(Param {
            key,
            value,
            raw_key,
            raw_value,
            utf8: key_utf8 && value_utf8,
            amp_prefix,
        });
    }
    params
}

/// One component's wire text, its decoded text and whether that is UTF-8.
/// A UTF-8 component with nothing to decode is validated once and both
/// texts borrow it.
fn component(raw: &[u8]) -> (Cow<'_, str>, Cow<'_, str>, bool) {
    let wire = String::from_utf8_lossy(raw);
    if let Cow::Borrowed(text) = wire
        && !needs_decoding(raw)
    {
        return (Cow::Borrowed(text), Cow::Borrowed(text), true);
    }
    let (decoded, utf8) = decode_component(raw);
    (wire, decoded, utf8)
}

fn needs_decoding(raw: &[u8]) -> bool {
    memchr::memchr2(b'%', b'+', raw).is_some()
}

/// Percent-decodes one query/form component with `+` as space. Returns the
/// text and whether it was UTF-8; if not, the raw text is returned instead.
/// Borrows the input when there is nothing to decode.
pub fn decode_component(raw: &[u8]) -> (Cow<'_, str>, bool) {
    if !needs_decoding(raw) {
        // Nothing to decode: the text is the raw bytes, and if they are not
        // UTF-8 the (lossy) raw text is what the slow path returns too.
        return match std::str::from_utf8(raw) {
            Ok(text) => (Cow::Borrowed(text), true),
            Err(_) => (String::from_utf8_lossy(raw), false),
        };
    }
    // One pass: `+` is a space, `%XX` a byte, a `%` without two hex
    // digits stays as it is (as `percent_decode` treats it).
    let mut decoded: Vec<u8> = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => match tail {
                [high, low, after @ ..] => match (hex_value(*high), hex_value(*low)) {
                    (Some(high), Some(low)) => {
                        decoded.push(high << 4 | low);
                        rest = after;
                    }
                    _ => decoded.push(b'%'),
                },
                _ => decoded.push(b'%'),
            },
            other => decoded.push(other),
        }
    }
    match String::from_utf8(decoded) {
        Ok(text) => (Cow::Owned(text), true),
        Err(_) => (String::from_utf8_lossy(raw), false),
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Percent-decodes text outside form context (`+` stays `+`), returning
/// `None` when the result is not UTF-8.
pub fn percent_decode_strict(raw: &str) -> Option<String> {
    percent_decode(raw.as_bytes())
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse(input)
            .into_iter()
            .map(|p| (p.key.into_owned(), p.value.into_owned()))
            .collect()
    }

    #[test]
    fn keeps_order_duplicates_and_empty_values() {
        assert_eq!(
            pairs("rl=&expv2%5B%5D=pl0&expv2%5B%5D=el0&flag&em="),
            vec![
                ("rl".into(), "".into()),
                ("expv2[]".into(), "pl0".into()),
                ("expv2[]".into(), "el0".into()),
                ("flag".into(), "".into()),
                ("em".into(), "".into()),
            ]
        );
        let flag = &parse("flag")[0];
        assert_eq!(flag.raw_value, None);
    }

    #[test]
    fn plus_is_a_space_but_encoded_plus_is_a_plus() {
        assert_eq!(
            pairs("q=erectile+dysfunction&ph=%2B1555"),
            vec![
                ("q".into(), "erectile dysfunction".into()),
                ("ph".into(), "+1555".into()),
            ]
        );
    }

    #[test]
    fn bracket_keys_decode_whether_encoded_or_literal() {
        assert_eq!(
            pairs("cd[value]=1&cd%5Bcurrency%5D=USD")[1].0,
            "cd[currency]"
        );
        assert_eq!(pairs("cd[value]=1")[0].0, "cd[value]");
    }

    #[test]
    fn amp_prefix_is_stripped_and_remembered() {
        let params = parse("label=x&amp;guid=ON");
        assert_eq!(params[1].key, "guid");
        assert!(params[1].amp_prefix);
        assert_eq!(params[1].raw_key, "amp;guid");
    }

    #[test]
    fn non_utf8_values_keep_their_wire_text() {
        let params = parse("p=DivX%AE%20Web");
        assert_eq!(params[0].value, "DivX%AE%20Web");
        assert!(!params[0].utf8);
    }

    #[test]
    fn decoding_matches_plus_then_percent_decoding() {
        // The one-pass decoder must agree with "`+` → space, then
        // percent-decode" on every odd corner: stray and truncated `%`,
        // a `%` before `+`, encoded `+`, bytes that are not UTF-8.
        let reference = |raw: &[u8]| {
            let spaced: Vec<u8> = raw
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            match String::from_utf8(percent_decode(&spaced).collect()) {
                Ok(text) => (text, true),
                Err(_) => (String::from_utf8_lossy(raw).into_owned(), false),
            }
        };
        for raw in [
            "",
            "plain",
            "a+b",
            "%",
            "%4",
            "%4g",
            "%%41",
            "%+1",
            "%2B%2b",
            "%e2%82%ac+x",
            "caf%E9",
            "50%",
            "a%2",
            "%41%42%4",
            "%C3",
            "x%20y%0A",
        ] {
            let (text, utf8) = decode_component(raw.as_bytes());
            assert_eq!(
                (text.into_owned(), utf8),
                reference(raw.as_bytes()),
                "{raw:?}"
            );
        }
        let bytes = b"ab\xff%41";
        let (text, utf8) = decode_component(bytes);
        assert_eq!((text.into_owned(), utf8), reference(bytes));
        let raw_only = b"ab\xffcd";
        assert_eq!(decode_component(raw_only).0, reference(raw_only).0);
    }

    #[test]
    fn nested_url_is_decoded_once() {
        let params = parse("dl=https%3A%2F%2Fx.test%2Fty%3Femail%3DJ%2540E.com");
        assert_eq!(params[0].value, "https://x.test/ty?email=J%40E.com");
    }
}
