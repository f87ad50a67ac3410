//! The decoder contract: what a tracker decoder declares and does.

use pixelscope_model::{EventSink, Exchange, Kind};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// One tracker's decoder. Stateless, shared across threads, and never
/// panics: whatever the exchange holds, it pushes zero or more events and
/// diagnostics into the sink.
///
/// The registry decides *whether* a decoder sees an exchange (from
/// [`Decoder::endpoints`] and [`Decoder::claims_shape`]); `decode` then
/// works out *how* it was recognised with [`match_endpoint`], so the two
/// can never disagree.
pub trait Decoder: Send + Sync {
    /// Stable, lower-case tracker id (`tiktok`, `meta`, `ga4`): the record's
    /// `tracker` key.
    fn id(&self) -> &str;
    /// The company behind the tracker (`TikTok`, `Meta`, `Google`).
    fn vendor(&self) -> &str;
    /// Version of the decoding logic, written into exhibit manifests so a
    /// report can be reproduced; bump it whenever output could change.
    fn version(&self) -> &str;
    /// The documented endpoints: the registry indexes them once by host.
    fn endpoints(&self) -> &[Endpoint];
    /// Public sources of the wire facts the decoder relies on.
    fn sources(&self) -> &[Source];
    /// A payload-shape claim for requests no endpoint matched: a
    /// first-party proxy or server-side tagging host speaking the tracker's
    /// protocol. Must be cheap (look at the path and query first).
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        let _ = exchange;
        false
    }
    /// Decodes one exchange into events and diagnostics.
    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink);
}

/// A documented host + path of a tracker. Serialises as
/// `{"host": "*.google-analytics.com", "path": "/g/collect", "kind": "event", "note": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: HostPattern,
    pub path: PathPattern,
    /// `Event` for beacons, `Library` for script and configuration loads.
    pub kind: Kind,
    /// One line for `pixelscope trackers`.
    pub note: Cow<'static, str>,
}

/// Which hosts an endpoint lives on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host (lower-case).
    Exact(Cow<'static, str>),
    /// This domain and every subdomain of it (`google-analytics.com` matches
    /// `region1.google-analytics.com`).
    Domain(Cow<'static, str>),
    /// Any host (use sparingly: every request is then checked on the path).
    Any,
}

/// Which paths (without query) an endpoint covers. Case-sensitive, as
/// servers are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPattern {
    Exact(Cow<'static, str>),
    Prefix(Cow<'static, str>),
    Suffix(Cow<'static, str>),
    /// Segment template such as `/pagead/conversion/{conversion_id}/*`:
    /// literal segments, `{name}` for exactly one non-empty segment (whose
    /// value is reported as the path field `name`), and a final `*` for
    /// whatever follows (nothing included). Empty segments are ignored, so
    /// a trailing slash never matters.
    Template(Cow<'static, str>),
    Any,
}

/// A public source of wire facts: a key from the format reference and where
/// to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Short key (`OMNI`, `TTSDK`, `FB-AM`, `corpus`).
    pub key: Cow<'static, str>,
    /// URL or repository path.
    pub reference: Cow<'static, str>,
}

impl HostPattern {
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(exact) => host == exact.as_ref(),
            HostPattern::Domain(domain) => {
                host == domain.as_ref()
                    || host
                        .strip_suffix(domain.as_ref())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            HostPattern::Any => true,
        }
    }

    /// Human text: `analytics.tiktok.com`, `*.google-analytics.com`, `*`.
    pub fn describe(&self) -> String {
        match self {
            HostPattern::Exact(exact) => exact.to_string(),
            HostPattern::Domain(domain) => format!("*.{domain}"),
            HostPattern::Any => "*".to_owned(),
        }
    }
}

impl PathPattern {
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Exact(exact) => path == exact.as_ref(),
            PathPattern::Prefix(prefix) => path.starts_with(prefix.as_ref()),
            PathPattern::Suffix(suffix) => path.ends_with(suffix.as_ref()),
            PathPattern::Template(template) => template_walk(template, path, &mut |_, _| {}),
            PathPattern::Any => true,
        }
    }

    /// The `{name}` segments of a template pattern, as `(name, value)` in
    /// path order; empty for the other patterns or when nothing matches.
    pub fn captures(&self, path: &str) -> Vec<(String, String)> {
        match self {
            PathPattern::Template(template) => template_captures(template, path)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Human text: `/tr`, `/i18n/pixel/*`, `*/fbevents.js`, `*`.
    pub fn describe(&self) -> String {
        match self {
            PathPattern::Exact(exact) => exact.to_string(),
            PathPattern::Prefix(prefix) => format!("{prefix}*"),
            PathPattern::Suffix(suffix) => format!("*{suffix}"),
            PathPattern::Template(template) => template.to_string(),
            PathPattern::Any => "*".to_owned(),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Serialize for HostPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.describe())
    }
}

impl Serialize for PathPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.describe())
    }
}

impl Endpoint {
    /// `event` or `library`, as the record's `kind` spells it.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Event => "event",
            Kind::Library => "library",
            Kind::Contact => "contact",
        }
    }

    /// A `static`-friendly constructor for built-in decoders.
    pub const fn new(
        host: HostPattern,
        path: PathPattern,
        kind: Kind,
        note: &'static str,
    ) -> Endpoint {
        Endpoint {
            host,
            path,
            kind,
            note: Cow::Borrowed(note),
        }
    }

    pub fn matches(&self, host: &str, path: &str) -> bool {
        self.host.matches(host) && self.path.matches(path)
    }
}

impl Source {
    pub const fn new(key: &'static str, reference: &'static str) -> Source {
        Source {
            key: Cow::Borrowed(key),
            reference: Cow::Borrowed(reference),
        }
    }
}

/// Shorthands for `static` endpoint tables.
pub const fn exact_host(host: &'static str) -> HostPattern {
    HostPattern::Exact(Cow::Borrowed(host))
}
pub const fn domain(domain: &'static str) -> HostPattern {
    HostPattern::Domain(Cow::Borrowed(domain))
}
pub const fn exact_path(path: &'static str) -> PathPattern {
    PathPattern::Exact(Cow::Borrowed(path))
}
pub const fn path_prefix(prefix: &'static str) -> PathPattern {
    PathPattern::Prefix(Cow::Borrowed(prefix))
}
pub const fn path_suffix(suffix: &'static str) -> PathPattern {
    PathPattern::Suffix(Cow::Borrowed(suffix))
}

/// Matches a segment template against a path: `Some(captures)` when it
/// covers the path.
fn template_captures<'t, 'p>(template: &'t str, path: &'p str) -> Option<Vec<(&'t str, &'p str)>> {
    let mut captures = Vec::new();
    template_walk(template, path, &mut |name, value| {
        captures.push((name, value))
    })
    .then_some(captures)
}

/// Walks a segment template along a path, reporting each `{name}` segment
/// as it goes; whether the template covers the path. Matching alone
/// (every request on a template endpoint's host) allocates nothing.
fn template_walk<'t, 'p>(
    template: &'t str,
    path: &'p str,
    capture: &mut dyn FnMut(&'t str, &'p str),
) -> bool {
    let mut wanted = template.split('/').filter(|s| !s.is_empty()).peekable();
    let mut given = path.split('/').filter(|s| !s.is_empty());
    while let Some(segment) = wanted.next() {
        if segment == "*" && wanted.peek().is_none() {
            return true;
        }
        let Some(actual) = given.next() else {
            return false;
        };
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            capture(name, actual);
        } else if segment != "*" && segment != actual {
            return false;
        }
    }
    given.next().is_none()
}

/// The first of `endpoints` that covers `host` + `path` (first wins, so
/// list exact paths before catch-all prefixes).
pub fn match_endpoint<'a>(
    endpoints: &'a [Endpoint],
    host: &str,
    path: &str,
) -> Option<&'a Endpoint> {
    endpoints.iter().find(|e| e.matches(host, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_patterns_match_the_domain_and_its_subdomains_only() {
        let google = domain("google-analytics.com");
        assert!(google.matches("google-analytics.com"));
        assert!(google.matches("region1.google-analytics.com"));
        assert!(!google.matches("evilgoogle-analytics.com"));
        assert!(!exact_host("www.facebook.com").matches("facebook.com"));
    }

    #[test]
    fn first_matching_endpoint_wins() {
        let table = [
            Endpoint::new(exact_host("a.test"), exact_path("/x"), Kind::Event, "x"),
            Endpoint::new(
                exact_host("a.test"),
                path_prefix("/"),
                Kind::Library,
                "rest",
            ),
        ];
        assert_eq!(
            match_endpoint(&table, "a.test", "/x").map(|e| e.kind),
            Some(Kind::Event)
        );
        assert_eq!(
            match_endpoint(&table, "a.test", "/y").map(|e| e.kind),
            Some(Kind::Library)
        );
        assert_eq!(path_suffix("/fbevents.js").describe(), "*/fbevents.js");
    }

    #[test]
    fn templates_capture_named_segments() {
        let conversion = PathPattern::Template("/pagead/conversion/{id}/*".into());
        assert!(conversion.matches("/pagead/conversion/123/"));
        assert!(conversion.matches("/pagead/conversion/123/x/y"));
        assert!(!conversion.matches("/pagead/conversion/"));
        assert!(!conversion.matches("/pagead/landing"));
        assert_eq!(
            conversion.captures("/pagead/conversion/123/"),
            vec![("id".to_owned(), "123".to_owned())]
        );
        let watch = PathPattern::Template("/watch/{counter}".into());
        assert!(watch.matches("/watch/4711"));
        assert!(!watch.matches("/watch/4711/extra"));
        assert_eq!(watch.describe(), "/watch/{counter}");
    }
}
