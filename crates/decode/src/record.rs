//! Building `pixelscope.event/1` records: fields, identifiers, the
//! summary keys, and the diagnostics every decoder shares.
//!
//! A decoder's main job is a *property function*: given where a value was
//! found and its path (`query`, `cd[value]`), name its meaning from the
//! closed vocabulary in [`property`]. Everything else follows from the
//! labelled fields: the record's `event`, `pixel_id`, `page_url`,
//! `referrer` and `page_title` are the labelled payload values, and its
//! `identifiers` are the fields labelled with an identity property. That
//! keeps 40 decoders consistent and makes each one mostly a table.

use crate::decoder::Decoder;
use crate::payload::{encoding, json, query, url};
use pixelscope_model::{
    Body, BodyState, Detection, Diagnostic, Event, Exchange, Field, Identifier, Kind, Request,
};
use serde_json::Value;
use std::borrow::Cow;

/// The closed vocabulary of field meanings (`Field.property`).
pub mod property {
    pub const EVENT_NAME: &str = "event_name";
    pub const PIXEL_ID: &str = "pixel_id";
    pub const PAGE_URL: &str = "page_url";
    pub const REFERRER: &str = "referrer";
    pub const PAGE_TITLE: &str = "page_title";
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    pub const EXTERNAL_ID: &str = "external_id";
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const CITY: &str = "city";
    pub const STATE: &str = "state";
    pub const ZIP: &str = "zip";
    pub const COUNTRY: &str = "country";
    pub const GENDER: &str = "gender";
    pub const DATE_OF_BIRTH: &str = "date_of_birth";
    pub const CLIENT_ID: &str = "client_id";
    pub const CLICK_ID: &str = "click_id";
    pub const USER_ID: &str = "user_id";
    pub const VALUE: &str = "value";
    pub const CURRENCY: &str = "currency";
    pub const CONTENT: &str = "content";
    pub const SEARCH_TERM: &str = "search_term";
    pub const BUTTON_TEXT: &str = "button_text";
    pub const TIMESTAMP: &str = "timestamp";
    pub const EVENT_ID: &str = "event_id";
    pub const SESSION_ID: &str = "session_id";
    pub const USER_AGENT: &str = "user_agent";
    pub const CONSENT: &str = "consent";

    /// Every property, for validation and documentation.
    pub const ALL: &[&str] = &[
        EVENT_NAME,
        PIXEL_ID,
        PAGE_URL,
        REFERRER,
        PAGE_TITLE,
        EMAIL,
        PHONE,
        EXTERNAL_ID,
        FIRST_NAME,
        LAST_NAME,
        CITY,
        STATE,
        ZIP,
        COUNTRY,
        GENDER,
        DATE_OF_BIRTH,
        CLIENT_ID,
        CLICK_ID,
        USER_ID,
        VALUE,
        CURRENCY,
        CONTENT,
        SEARCH_TERM,
        BUTTON_TEXT,
        TIMESTAMP,
        EVENT_ID,
        SESSION_ID,
        USER_AGENT,
        CONSENT,
    ];

    /// Properties that identify a person or browser and become
    /// `identifiers` (the identifier `type` is the property name).
    pub const IDENTITY: &[&str] = &[
        EMAIL,
        PHONE,
        FIRST_NAME,
        LAST_NAME,
        CITY,
        STATE,
        ZIP,
        COUNTRY,
        GENDER,
        DATE_OF_BIRTH,
        EXTERNAL_ID,
        CLIENT_ID,
        CLICK_ID,
        USER_ID,
    ];
}

/// Where in the request a field was found (`Field.where`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    Query,
    BodyForm,
    BodyJson,
    BodyMultipart,
    BodyText,
    Header,
    Cookie,
    Path,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Query => "query",
            Location::BodyForm => "body.form",
            Location::BodyJson => "body.json",
            Location::BodyMultipart => "body.multipart",
            Location::BodyText => "body.text",
            Location::Header => "header",
            Location::Cookie => "cookie",
            Location::Path => "path",
        }
    }

    /// Whether the location is part of the payload proper (not the
    /// request's headers or cookies).
    pub fn is_payload(self) -> bool {
        !matches!(self, Location::Header | Location::Cookie)
    }
}

fn is_payload_location(location: &str) -> bool {
    location != Location::Header.as_str() && location != Location::Cookie.as_str()
}

/// A decoder's labelling rule: meaning of the value at `path` found in
/// `location`, or `None` when unknown.
///
/// A plain `fn` for the built-in Rust decoders; a closure over its tables for
/// a catalog decoder.
pub type PropertyFn<'a> = &'a (dyn Fn(Location, &str) -> Option<&'static str> + Sync);

/// Query parameter names that carry a site-search term inside a page URL
/// (GA4's default site-search list; FORMATS.md §4.3, confidence M).
const SEARCH_KEYS: &[&str] = &["q", "s", "search", "query", "keyword"];

/// Request headers reported next to the payload (FORMATS.md §2 item 12):
/// they identify the browser and often the page.
const REPORTED_HEADERS: &[(&str, Option<&str>)] = &[
    ("referer", Some(property::PAGE_URL)),
    ("origin", None),
    ("user-agent", Some(property::USER_AGENT)),
];

/// Client hint headers (`sec-ch-ua`, `sec-ch-ua-platform`, …) are
/// reported without a property.
const CLIENT_HINT_PREFIX: &str = "sec-ch-ua";

/// Fields of one record, in wire order, each labelled by the decoder's
/// property function as it is pushed.
#[derive(Clone)]
pub struct Fields<'a> {
    list: Vec<Field>,
    property: PropertyFn<'a>,
}

impl std::fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fields").field("list", &self.list).finish()
    }
}

impl<'a> Fields<'a> {
    pub fn new(property: PropertyFn<'a>) -> Fields<'a> {
        Fields {
            list: Vec::new(),
            property,
        }
    }

    /// Pushes a field labelled by the property function, then the values
    /// hidden inside it: JSON text in a parameter (`cd[contents]`) is
    /// flattened into `cd[contents][0].id`…, and a page URL or referrer
    /// with a query gets `dl?q`-style fields (search terms labelled).
    pub fn push(&mut self, location: Location, path: &str, value: &str) {
        let label = (self.property)(location, path);
        self.push_labelled(location, path, value, label);
        if !location.is_payload() && label.is_none() {
            return;
        }
        self.push_nested_json(location, path, value);
        if matches!(label, Some(property::PAGE_URL | property::REFERRER)) {
            self.push_nested_url(location, path, value);
        }
    }

    /// Pushes one field with an explicit label and no derived fields.
    pub fn push_labelled(
        &mut self,
        location: Location,
        path: &str,
        value: &str,
        label: Option<&'static str>,
    ) {
        self.list.push(Field {
            path: path.to_owned(),
            location: location.as_str().to_owned(),
            value: value.to_owned(),
            property: label.map(str::to_owned),
        });
    }

    /// Pushes query or form parameters in order.
    pub fn push_params(&mut self, location: Location, params: &[query::Param]) {
        self.list.reserve(params.len());
        for param in params {
            self.push(location, &param.key, &param.value);
        }
    }

    /// Pushes a JSON document (or sub-document) flattened under `prefix`.
    pub fn push_json(&mut self, location: Location, value: &Value, prefix: &str) {
        json::for_each_leaf(value, prefix, &mut |path, scalar| {
            self.push(location, path, &json::scalar_str(scalar));
        });
    }

    /// Pushes the request headers worth reporting and every cookie.
    pub fn push_request_context(&mut self, request: &Request) {
        for header in &request.headers {
            // Compared without case first: only the few reported headers
            // pay for a lower-cased copy of their name.
            let reported = REPORTED_HEADERS
                .iter()
                .find(|(n, _)| header.name.eq_ignore_ascii_case(n))
                .map(|(_, label)| *label);
            let client_hint = header
                .name
                .get(..CLIENT_HINT_PREFIX.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(CLIENT_HINT_PREFIX));
            if reported.is_none() && !client_hint {
                continue;
            }
            let name = header.name.to_ascii_lowercase();
            if let Some(label) = reported {
                self.push_labelled(Location::Header, &name, &header.value, label);
                if label == Some(property::PAGE_URL) {
                    self.push_nested_url(Location::Header, &name, &header.value);
                }
            } else if client_hint {
                self.push_labelled(Location::Header, &name, &header.value, None);
            }
        }
        for cookie in &request.cookies {
            self.push(Location::Cookie, &cookie.name, &cookie.value);
        }
    }

    fn push_nested_json(&mut self, location: Location, path: &str, value: &str) {
        let trimmed = value.trim_start();
        if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return;
        }
        let Ok(parsed) = serde_json::from_str::<Value>(trimmed) else {
            return;
        };
        let empty = match &parsed {
            Value::Object(map) => map.is_empty(),
            Value::Array(items) => items.is_empty(),
            _ => true,
        };
        if empty {
            return;
        }
        json::for_each_leaf(&parsed, path, &mut |leaf_path, scalar| {
            let label = (self.property)(location, leaf_path);
            self.push_labelled(location, leaf_path, &json::scalar_str(scalar), label);
        });
    }

    fn push_nested_url(&mut self, location: Location, path: &str, value: &str) {
        if !url::is_absolute_http(value) {
            return;
        }
        let Some(nested_query) = url::split(value).query else {
            return;
        };
        for param in query::parse(nested_query) {
            let nested_path = format!("{path}?{}", param.key);
            let label = if SEARCH_KEYS.contains(&param.key.as_ref()) {
                Some(property::SEARCH_TERM)
            } else {
                (self.property)(location, &nested_path)
            };
            self.list.push(Field {
                path: nested_path,
                location: location.as_str().to_owned(),
                value: param.value.into_owned(),
                property: label.map(str::to_owned),
            });
        }
    }

    pub fn as_slice(&self) -> &[Field] {
        &self.list
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn into_vec(self) -> Vec<Field> {
        self.list
    }

    /// A new, empty list with the same labelling rule.
    pub fn sibling(&self) -> Fields<'a> {
        Fields::new(self.property)
    }

    /// Appends copies of `fields`.
    pub fn extend_from(&mut self, fields: &[Field]) {
        self.list.extend_from_slice(fields);
    }

    /// Appends `fields`, moving them (no copy of their texts).
    pub fn append(&mut self, fields: Vec<Field>) {
        self.list.extend(fields);
    }

    /// Appends one field as it is (no labelling, no derived fields).
    pub fn push_field(&mut self, field: Field) {
        self.list.push(field);
    }
}

/// Which labelled value names the record when several fields carry the
/// same property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The first in wire order (the usual case).
    First,
    /// The last in wire order: later layers override earlier ones (GA4
    /// body lines override the shared query).
    Last,
}

/// The value of the first or last non-empty payload field labelled
/// `wanted`.
pub fn labelled_value(fields: &[Field], wanted: &str, pick: Pick) -> Option<String> {
    let mut candidates = fields.iter().filter(|f| {
        f.property.as_deref() == Some(wanted)
            && !f.value.is_empty()
            && is_payload_location(&f.location)
            && !f.path.contains('?')
    });
    let found = match pick {
        Pick::First => candidates.next(),
        Pick::Last => candidates.next_back(),
    };
    found.map(|f| f.value.clone())
}

/// The form of an identifier value, from its shape (FORMATS.md §2.1).
/// Browser and click ids are always `plain`: a 32-hex client id is not an
/// MD5 of anything.
pub fn identifier_form(kind: &str, value: &str) -> &'static str {
    if matches!(kind, property::CLIENT_ID | property::CLICK_ID) {
        return "plain";
    }
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    match value.len() {
        64 if hex => "sha256",
        40 if hex => "sha1",
        32 if hex => "md5",
        128 if hex => "sha512",
        _ if encoding::is_sha256_base64url(value) => "sha256-base64url",
        _ => "plain",
    }
}

/// Identifiers for every non-empty field labelled with an identity
/// property, in field order, without exact duplicates.
pub fn identifiers(fields: &[Field]) -> Vec<Identifier> {
    let mut out: Vec<Identifier> = Vec::new();
    for field in fields {
        let Some(kind) = field.property.as_deref() else {
            continue;
        };
        if !property::IDENTITY.contains(&kind) || field.value.is_empty() {
            continue;
        }
        let identifier = Identifier {
            kind: kind.to_owned(),
            form: identifier_form(kind, &field.value).to_owned(),
            value: field.value.clone(),
            path: field.path.clone(),
            matched: None,
        };
        if !out.contains(&identifier) {
            out.push(identifier);
        }
    }
    out
}

/// A complete record: the summary keys and identifiers follow from the
/// labelled fields.
pub fn build_event(
    decoder: &dyn Decoder,
    kind: Kind,
    detection: Detection,
    exchange: &Exchange,
    fields: Vec<Field>,
    pick: Pick,
) -> Event {
    let mut event = Event::for_exchange(decoder.id(), decoder.vendor(), kind, exchange);
    event.detection = detection;
    event.event = labelled_value(&fields, property::EVENT_NAME, pick);
    event.pixel_id = labelled_value(&fields, property::PIXEL_ID, pick);
    event.page_url = labelled_value(&fields, property::PAGE_URL, pick);
    event.referrer = labelled_value(&fields, property::REFERRER, pick);
    event.page_title = labelled_value(&fields, property::PAGE_TITLE, pick);
    event.identifiers = identifiers(&fields);
    event.fields = fields;
    event
}

/// The request's host and path, as the registry matches them, borrowed
/// from the request (the host is only copied when it must be lower-cased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub host: Cow<'a, str>,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn of(exchange: &'a Exchange) -> Target<'a> {
        let request = &exchange.request;
        let parts = url::split(&request.url);
        Target {
            host: request_host(request)
                .or_else(|| parts.host().map(Cow::Owned))
                .unwrap_or_default(),
            path: parts.path,
            query: parts.query,
        }
    }

    pub fn params(&self) -> Vec<query::Param<'a>> {
        self.query.map(query::parse).unwrap_or_default()
    }
}

/// What [`Request::host`] returns (the URL's authority, else the
/// `:authority` or `Host` header; without user info and port;
/// lower-cased; `None` when empty), borrowed whenever it is already
/// lower-case: this runs for every exchange.
fn request_host(request: &Request) -> Option<Cow<'_, str>> {
    let authority = match request.url.split_once("://") {
        Some((_, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let authority = rest.get(..end).unwrap_or(rest);
            authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host)
        }
        None => request
            .header(":authority")
            .or_else(|| request.header("host"))?,
    };
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => authority.split(':').next().unwrap_or(authority),
    };
    if host.is_empty() {
        None
    } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// Why a request body cannot be read in full, if it cannot.
pub fn body_problem(body: &Body) -> Option<String> {
    match &body.state {
        BodyState::Complete => None,
        BodyState::Truncated { limit } => Some(format!("body truncated at {limit} bytes")),
        BodyState::Undecoded { reason } => Some(format!("body not decoded: {reason}")),
        BodyState::Damaged { reason } => Some(format!("body damaged: {reason}")),
    }
}

/// `decode.body-unreadable`: the payload of a tracker request could not be
/// read (damaged, undecoded or truncated body; broken JSON).
pub fn body_unreadable(decoder: &dyn Decoder, exchange: &Exchange, reason: &str) -> Diagnostic {
    Diagnostic::error(
        "decode.body-unreadable",
        format!(
            "{} request {} {}: {reason}",
            decoder.id(),
            exchange.request.method,
            exchange.request.url
        ),
        exchange.origin.clone(),
    )
}

/// `decode.unrecognised`: a tracker request whose payload has a shape the
/// decoder does not know; whatever was readable was still reported.
pub fn unrecognised(decoder: &dyn Decoder, exchange: &Exchange, what: &str) -> Diagnostic {
    Diagnostic::warning(
        "decode.unrecognised",
        format!(
            "{} request {} {}: {what}",
            decoder.id(),
            exchange.request.method,
            exchange.request.url
        ),
        exchange.origin.clone(),
    )
}

/// `decode.html-escaped-key`: a parameter key began with `amp;` (a tag
/// copied from HTML with `&amp;` left in); the prefix was removed.
pub fn html_escaped_keys(
    decoder: &dyn Decoder,
    exchange: &Exchange,
    params: &[query::Param],
) -> Option<Diagnostic> {
    let keys: Vec<&str> = params
        .iter()
        .filter(|p| p.amp_prefix)
        .map(|p| p.raw_key.as_ref())
        .collect();
    (!keys.is_empty()).then(|| {
        Diagnostic::info(
            "decode.html-escaped-key",
            format!(
                "{} request {}: keys {} had an HTML-escaped `&amp;` separator",
                decoder.id(),
                exchange.request.url,
                keys.join(", ")
            ),
            exchange.origin.clone(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(_: Location, path: &str) -> Option<&'static str> {
        match path {
            "dl" => Some(property::PAGE_URL),
            "ud[em]" => Some(property::EMAIL),
            "cd[buttonFeatures].innerText" => Some(property::BUTTON_TEXT),
            "_fbp" | "fbp" => Some(property::CLIENT_ID),
            _ => None,
        }
    }

    #[test]
    fn nested_json_and_urls_become_extra_fields() {
        let mut fields = Fields::new(&label);
        fields.push(
            Location::Query,
            "dl",
            "https://x.test/search?q=hiv+test&page=2",
        );
        fields.push(
            Location::Query,
            "cd[buttonFeatures]",
            r#"{"innerText":"Book","tag":"button"}"#,
        );
        let got: Vec<(&str, &str, Option<&str>)> = fields
            .as_slice()
            .iter()
            .map(|f| (f.path.as_str(), f.value.as_str(), f.property.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "dl",
                    "https://x.test/search?q=hiv+test&page=2",
                    Some("page_url")
                ),
                ("dl?q", "hiv test", Some("search_term")),
                ("dl?page", "2", None),
                (
                    "cd[buttonFeatures]",
                    r#"{"innerText":"Book","tag":"button"}"#,
                    None
                ),
                ("cd[buttonFeatures].innerText", "Book", Some("button_text")),
                ("cd[buttonFeatures].tag", "button", None),
            ]
        );
    }

    #[test]
    fn target_host_is_what_the_request_says() {
        let cases: [(&str, &[(&str, &str)]); 9] = [
            ("https://u@Analytics.TikTok.com:443/api?x=1", &[]),
            ("https://www.facebook.com/tr/?id=1", &[]),
            ("https://[2001:DB8::1]:8443/x", &[]),
            ("https://:443/x", &[("host", "h.test")]),
            ("https://a@/x", &[]),
            (
                "/g/collect?v=2",
                &[("Host", "Region1.Google-Analytics.com:80")],
            ),
            (
                "/g/collect?v=2",
                &[(":authority", "h2.test"), ("host", "h1.test")],
            ),
            ("/g/collect?v=2", &[]),
            ("https://trailing.dot.test./p#frag", &[]),
        ];
        for (url, headers) in cases {
            let exchange = Exchange {
                request: Request {
                    method: "GET".into(),
                    url: url.into(),
                    headers: headers
                        .iter()
                        .map(|(name, value)| pixelscope_model::Header {
                            name: (*name).into(),
                            value: (*value).into(),
                        })
                        .collect(),
                    ..Request::default()
                },
                ..Exchange::default()
            };
            let parts = url::split(url);
            let expected = exchange.request.host().or(parts.host()).unwrap_or_default();
            let target = Target::of(&exchange);
            assert_eq!(target.host, expected, "{url}");
            assert_eq!((target.path, target.query), (parts.path, parts.query));
        }
    }

    #[test]
    fn identifier_forms_follow_shape_and_kind() {
        let sha = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";
        assert_eq!(identifier_form("email", sha), "sha256");
        assert_eq!(identifier_form("email", &sha[..40]), "sha1");
        assert_eq!(identifier_form("email", &sha[..32]), "md5");
        assert_eq!(identifier_form("email", "jane@example.com"), "plain");
        assert_eq!(identifier_form("client_id", &sha[..32]), "plain");
        assert_eq!(
            identifier_form("email", "huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0"),
            "sha256-base64url"
        );
    }

    #[test]
    fn identifiers_come_from_labelled_fields_including_cookies() {
        let mut fields = Fields::new(&label);
        fields.push(Location::Query, "ud[em]", "");
        fields.push(Location::Query, "fbp", "fb.1.1.2");
        fields.push(Location::Cookie, "_fbp", "fb.1.1.2");
        let ids = identifiers(fields.as_slice());
        assert_eq!(ids.len(), 2, "empty values are not identifiers: {ids:?}");
        assert_eq!(
            (ids[1].kind.as_str(), ids[1].path.as_str()),
            ("client_id", "_fbp")
        );
    }

    #[test]
    fn summary_ignores_headers_and_derived_fields() {
        let mut fields = Fields::new(&label);
        fields.push_labelled(
            Location::Header,
            "referer",
            "https://a.test/",
            Some(property::PAGE_URL),
        );
        assert_eq!(
            labelled_value(fields.as_slice(), property::PAGE_URL, Pick::First),
            None
        );
        fields.push(Location::Query, "dl", "https://b.test/");
        assert_eq!(
            labelled_value(fields.as_slice(), property::PAGE_URL, Pick::Last).as_deref(),
            Some("https://b.test/")
        );
    }
}
