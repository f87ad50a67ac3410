//! Splitting URLs, including URLs nested inside parameter values.
//!
//! A deliberately small splitter rather than a WHATWG parser: recorded URLs
//! are evidence and must be reported as they were, so nothing here
//! normalises, resolves or re-encodes. The host is lower-cased and its port
//! removed only for matching.

/// The parts of a URL, borrowed from the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: Option<&'a str>,
    /// The authority as on the wire (`user@Host:443`); `None` for a
    /// relative URL. [`UrlParts::host`] gives the host for matching.
    pub authority: Option<&'a str>,
    /// The path as on the wire (`/` when empty).
    pub path: &'a str,
    /// The text after `?`, without the fragment.
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

/// Splits an absolute (`https://h/p?q`) or origin-relative (`/p?q`) URL.
pub fn split(url: &str) -> UrlParts<'_> {
    // Byte searches for ASCII delimiters (every exchange's URL is split,
    // some are kilobytes long): positions are always char boundaries.
    let (without_fragment, fragment) = match memchr::memchr(b'#', url.as_bytes()) {
        Some(at) => (url.get(..at).unwrap_or(url), url.get(at + 1..)),
        None => (url, None),
    };
    // A scheme is the run of scheme characters at the start, followed by
    // `://` (the first `://` can only be there when the scheme is valid).
    let scheme_end = without_fragment
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .unwrap_or(without_fragment.len());
    let after_scheme = without_fragment
        .get(scheme_end..)
        .and_then(|rest| rest.strip_prefix("://"));
    let (scheme, rest, has_authority) = match (without_fragment.get(..scheme_end), after_scheme) {
        (Some(scheme), Some(rest)) if !scheme.is_empty() => (Some(scheme), rest, true),
        _ => (None, without_fragment, false),
    };
    let (authority, path_and_query) = if has_authority {
        let end = memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len());
        (rest.get(..end), rest.get(end..).unwrap_or_default())
    } else {
        (None, rest)
    };
    let (path, query) = match memchr::memchr(b'?', path_and_query.as_bytes()) {
        Some(at) => (
            path_and_query.get(..at).unwrap_or(path_and_query),
            path_and_query.get(at + 1..),
        ),
        None => (path_and_query, None),
    };
    UrlParts {
        scheme,
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
        fragment,
    }
}

impl UrlParts<'_> {
    /// The host: lower-case, without user info, port and trailing dot;
    /// `None` for a relative URL or an empty host. Computed on demand (it
    /// allocates), as most callers only need the path and query.
    pub fn host(&self) -> Option<String> {
        self.authority
            .map(host_of_authority)
            .filter(|h| !h.is_empty())
    }
}

/// Whether a value looks like an absolute http(s) URL worth splitting.
pub fn is_absolute_http(text: &str) -> bool {
    let starts_with = |scheme: &[u8]| {
        text.as_bytes()
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    };
    starts_with(b"http://") || starts_with(b"https://")
}

fn host_of_authority(authority: &str) -> String {
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The path segments of a path (`/signals/config/123` → `signals`,
/// `config`, `123`).
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_absolute_and_relative_urls() {
        let parts = split("https://User@WWW.Facebook.com:443/tr/?id=1&ev=PageView#x");
        assert_eq!(parts.host().as_deref(), Some("www.facebook.com"));
        assert_eq!(
            (parts.path, parts.query, parts.fragment),
            ("/tr/", Some("id=1&ev=PageView"), Some("x"))
        );
        let relative = split("/g/collect?v=2");
        assert_eq!(
            (relative.host(), relative.path, relative.query),
            (None, "/g/collect", Some("v=2"))
        );
        assert_eq!(split("https://a.test?x=1").path, "/");
    }

    #[test]
    fn schemes_need_scheme_characters_before_the_first_separator() {
        let parts = split("web+x-1.a://H/p?q#f");
        assert_eq!(
            (parts.scheme, parts.authority, parts.path, parts.query),
            (Some("web+x-1.a"), Some("H"), "/p", Some("q"))
        );
        for relative in ["://h/p", "a b://h/p", "/r?u=https://x.test/", "a:b://c"] {
            let parts = split(relative);
            assert_eq!((parts.scheme, parts.authority), (None, None), "{relative}");
        }
        let query_only = split("/x?u=https://x.test/?a#b?c");
        assert_eq!(
            (query_only.path, query_only.query, query_only.fragment),
            ("/x", Some("u=https://x.test/?a"), Some("b?c"))
        );
        assert_eq!(split("https://h").path, "/");
        assert_eq!(split("https://h#x/y").authority, Some("h"));
    }

    #[test]
    fn recognises_nested_urls() {
        assert!(is_absolute_http("https://shop.test/?q=x"));
        assert!(!is_absolute_http("fb.1.2.3"));
        assert!(is_absolute_http("HTTP://x"));
        assert!(is_absolute_http("http://\u{e9}"));
        assert!(!is_absolute_http("http:/"));
    }
}
