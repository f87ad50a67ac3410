//! The declarative tracker catalog: trackers described as data (TOML)
//! instead of Rust, for vendors whose beacons are parameter dictionaries.
//!
//! A catalog file holds `[[tracker]]` entries. Each names its endpoints
//! (host + path patterns, event or library), where the payload lives
//! (`query` is always read; `form`, `json`, `multipart` bodies and
//! `matrix` path parameters when declared), a dictionary from parameter
//! key to property (the closed vocabulary of [`crate::record::property`])
//! and the public source of every entry. The built-in catalog files live in
//! `crates/decode/catalog/` and are compiled in with `include_str!`; users
//! add their own at run time with [`crate::Registry::load_catalog`]
//! (`pixelscope --decoders FILE`). docs/DECODERS.md is the format's
//! reference; the short form:
//!
//! ```toml
//! format = 1
//!
//! [[tracker]]
//! id = "acme"                       # lower-case, stable: the record's `tracker`
//! vendor = "Acme"
//! version = "1"
//! payload = ["query", "form"]       # plus "json", "multipart", "matrix"
//! sources = { ACME-DOCS = "https://acme.test/docs/pixel" }
//!
//! [[tracker.endpoint]]
//! host = "px.acme.test"             # exact; "*.acme.test" = domain + subdomains; "*" = any
//! path = "/collect"                 # exact; "/c/*" prefix; "*/px.js" suffix; "/s/{site}/*" template
//! kind = "event"                    # or "library"
//!
//! [tracker.fields]                  # in priority order for the record's summary keys
//! ev = { property = "event_name" }  # source defaults to the first of `sources`
//! pid = { property = "pixel_id", source = "ACME-DOCS" }
//! "cookie:_acme" = { property = "client_id" }
//! "ctx.*" = { property = "content" }   # a trailing `*` matches a key prefix
//! ```
//!
//! Why the table order matters: when several keys carry the same property
//! (Microsoft UET's `ea` and `evt`), the first key *listed* that holds a
//! non-empty value names the record, whatever the wire order.
//!
//! Errors name the file and line: one [`CatalogError`] per load, for the
//! first problem found, before anything is added to a registry.

use crate::decoder::{Decoder, Endpoint, HostPattern, PathPattern, Source};
use crate::keymap::KeyMap;
use crate::payload::body::{self, BodyShape};
use crate::payload::encoding::bytes_to_text;
use crate::payload::{matrix, query};
use crate::record::{self, Fields, Location, Pick, property};
use crate::trackers::{library_record, push_unexpected_body};
use indexmap::IndexMap;
use pixelscope_model::{Detection, Diagnostic, Event, EventSink, Exchange, Field, Kind};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use toml::Spanned;

/// The catalog format this build reads.
pub const FORMAT: u32 = 1;

/// A catalog that could not be loaded: the file, the 1-based line (0 when
/// the problem is the whole file, e.g. it cannot be read) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for CatalogError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    format: Option<Spanned<u32>>,
    #[serde(default)]
    tracker: Vec<Spanned<TrackerSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackerSpec {
    id: Spanned<String>,
    vendor: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "override")]
    replaces: bool,
    #[serde(default)]
    payload: Vec<Spanned<String>>,
    #[serde(default)]
    sources: IndexMap<String, String>,
    #[serde(default)]
    endpoint: Vec<Spanned<EndpointSpec>>,
    #[serde(default)]
    fields: IndexMap<String, Spanned<FieldSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointSpec {
    host: Spanned<String>,
    path: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    require: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    #[serde(default)]
    property: Option<Spanned<String>>,
    #[serde(default)]
    source: Option<Spanned<String>>,
    #[serde(default)]
    note: Option<String>,
    /// `["~", "."]`: the value is a list of `k.v` items joined by `~`
    /// (Google `em=tv.1~em.<hash>`); each item becomes a field `key.k`.
    #[serde(default)]
    split: Option<Spanned<Vec<String>>>,
}

/// One documented payload key of a catalog tracker, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRule {
    /// The key (`ev`, `pd.em`, `cookie:_scid`, `m.*`).
    pub key: String,
    /// Its property, if the catalog gives one.
    pub property: Option<&'static str>,
    /// The key of the source (in the tracker's `sources`) the fact comes from.
    pub source: String,
    pub note: Option<String>,
}

/// Where a catalog tracker's payload lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PayloadSet {
    form: bool,
    json: bool,
    multipart: bool,
    matrix: bool,
}

/// The labelling tables of one tracker, built once at load time.
#[derive(Clone, Debug, Default)]
struct Labels {
    exact: KeyMap<&'static str>,
    prefixes: Vec<(String, &'static str)>,
    cookies: KeyMap<&'static str>,
    cookie_prefixes: Vec<(String, &'static str)>,
    headers: KeyMap<&'static str>,
    /// `(key, is_prefix, property)` in table order: the summary priority.
    priority: Vec<(String, bool, &'static str)>,
    /// `(key, is_prefix, item separator, key/value separator)`.
    splits: Vec<(String, bool, String, String)>,
}

impl Labels {
    fn label(&self, location: Location, path: &str) -> Option<&'static str> {
        match location {
            Location::Cookie => self.cookies.get(path).copied().or_else(|| {
                self.cookie_prefixes
                    .iter()
                    .find(|(prefix, _)| path.starts_with(prefix.as_str()))
                    .map(|(_, property)| *property)
            }),
            Location::Header => self.headers.get(&path.to_ascii_lowercase()).copied(),
            _ => self.exact.get(path).copied().or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(prefix, _)| path.starts_with(prefix.as_str()))
                    .map(|(_, property)| *property)
            }),
        }
    }

    /// The record's value for `wanted`: the first key in table order with
    /// a non-empty payload value.
    fn summary(&self, fields: &[Field], wanted: &str) -> Option<String> {
        let payload = |f: &&Field| {
            f.location != Location::Header.as_str()
                && f.location != Location::Cookie.as_str()
                && !f.value.is_empty()
                && !f.path.contains('?')
        };
        self.priority
            .iter()
            .filter(|(_, _, property)| *property == wanted)
            .find_map(|(key, is_prefix, _)| {
                fields
                    .iter()
                    .filter(payload)
                    .find(|f| {
                        if *is_prefix {
                            f.path.starts_with(key.as_str())
                        } else {
                            f.path == *key
                        }
                    })
                    .map(|f| f.value.clone())
            })
    }
}

/// A tracker decoder described by a catalog entry.
#[derive(Clone, Debug)]
pub struct CatalogDecoder {
    id: String,
    vendor: String,
    version: String,
    endpoints: Vec<Endpoint>,
    /// Per endpoint: payload keys that must be present for an event.
    requires: Vec<Vec<String>>,
    sources: Vec<Source>,
    payload: PayloadSet,
    labels: Labels,
    rules: Vec<FieldRule>,
    /// The catalog file the entry came from (`builtin:snap.toml` for the
    /// compiled-in ones).
    file: String,
}

/// One loaded entry and whether it may replace a decoder with the same id.
pub(crate) struct Entry {
    pub decoder: CatalogDecoder,
    pub replaces: bool,
    pub line: usize,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|b| *b == b'\n').count())
        + 1
}

fn error(file: &str, text: &str, offset: usize, message: impl Into<String>) -> CatalogError {
    CatalogError {
        file: file.to_owned(),
        line: line_of(text, offset),
        message: message.into(),
    }
}

fn host_pattern(text: &str) -> Option<HostPattern> {
    let host = text.trim().to_ascii_lowercase();
    if host == "*" {
        return Some(HostPattern::Any);
    }
    let valid = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    match host.strip_prefix("*.") {
        Some(domain) if valid(domain) => Some(HostPattern::Domain(Cow::Owned(domain.to_owned()))),
        Some(_) => None,
        None if valid(&host) => Some(HostPattern::Exact(Cow::Owned(host))),
        None => None,
    }
}

fn path_pattern(text: &str) -> Option<PathPattern> {
    let path = text.trim();
    if path == "*" {
        return Some(PathPattern::Any);
    }
    if path.contains(char::is_whitespace) || path.contains('?') {
        return None;
    }
    if path.contains('{') {
        return path
            .starts_with('/')
            .then(|| PathPattern::Template(Cow::Owned(path.to_owned())));
    }
    if let Some(suffix) = path.strip_prefix('*') {
        return (!suffix.is_empty() && !suffix.contains('*'))
            .then(|| PathPattern::Suffix(Cow::Owned(suffix.to_owned())));
    }
    if !path.starts_with('/') {
        return None;
    }
    match path.strip_suffix('*') {
        Some(prefix) if !prefix.contains('*') => {
            Some(PathPattern::Prefix(Cow::Owned(prefix.to_owned())))
        }
        Some(_) => None,
        None if !path.contains('*') => Some(PathPattern::Exact(Cow::Owned(path.to_owned()))),
        None => None,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// Parses a catalog text; `file` names it in errors and records.
pub(crate) fn parse(file: &str, text: &str) -> Result<Vec<Entry>, CatalogError> {
    let spec: FileSpec = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().to_owned();
        if e.span().is_some() {
            error(file, text, offset, message)
        } else {
            CatalogError {
                file: file.to_owned(),
                line: 0,
                message,
            }
        }
    })?;
    match &spec.format {
        Some(format) if *format.get_ref() == FORMAT => {}
        Some(format) => {
            return Err(error(
                file,
                text,
                format.span().start,
                format!(
                    "catalog format {} is not supported (this build reads format {FORMAT})",
                    format.get_ref()
                ),
            ));
        }
        None => {
            return Err(CatalogError {
                file: file.to_owned(),
                line: 1,
                message: format!("missing `format = {FORMAT}` at the top of the catalog"),
            });
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    for tracker in spec.tracker {
        let start = tracker.span().start;
        let tracker = tracker.into_inner();
        let id_offset = tracker.id.span().start;
        let entry = compile(file, text, tracker)?;
        if entries.iter().any(|e| e.decoder.id == entry.decoder.id) {
            return Err(error(
                file,
                text,
                id_offset,
                format!(
                    "tracker id `{}` appears twice in this file",
                    entry.decoder.id
                ),
            ));
        }
        entries.push(Entry {
            line: line_of(text, start),
            ..entry
        });
    }
    Ok(entries)
}

fn compile(file: &str, text: &str, spec: TrackerSpec) -> Result<Entry, CatalogError> {
    let id_offset = spec.id.span().start;
    let id = spec.id.into_inner();
    if !valid_id(&id) {
        return Err(error(
            file,
            text,
            id_offset,
            format!("tracker id `{id}` must be lower-case letters, digits and `-`"),
        ));
    }
    if spec.sources.is_empty() {
        return Err(error(
            file,
            text,
            id_offset,
            format!("tracker `{id}` lists no `sources`: every fact needs a public source"),
        ));
    }
    if spec.endpoint.is_empty() {
        return Err(error(
            file,
            text,
            id_offset,
            format!("tracker `{id}` has no `[[tracker.endpoint]]`"),
        ));
    }
    let mut payload = PayloadSet::default();
    for place in &spec.payload {
        match place.get_ref().as_str() {
            "query" => {}
            "form" => payload.form = true,
            "json" => payload.json = true,
            "multipart" => payload.multipart = true,
            "matrix" => payload.matrix = true,
            other => {
                return Err(error(
                    file,
                    text,
                    place.span().start,
                    format!(
                        "unknown payload place `{other}` (use query, form, json, multipart, matrix)"
                    ),
                ));
            }
        }
    }
    let mut endpoints = Vec::new();
    let mut requires = Vec::new();
    for endpoint in spec.endpoint {
        let endpoint = endpoint.into_inner();
        let host = host_pattern(endpoint.host.get_ref()).ok_or_else(|| {
            error(
                file,
                text,
                endpoint.host.span().start,
                format!(
                    "bad host pattern `{}` (use `host.example`, `*.example` or `*`)",
                    endpoint.host.get_ref()
                ),
            )
        })?;
        let path = path_pattern(endpoint.path.get_ref()).ok_or_else(|| {
            error(
                file,
                text,
                endpoint.path.span().start,
                format!(
                    "bad path pattern `{}` (use `/exact`, `/prefix/*`, `*/suffix`, `/t/{{name}}/*` or `*`)",
                    endpoint.path.get_ref()
                ),
            )
        })?;
        if matches!(host, HostPattern::Any) && matches!(path, PathPattern::Any) {
            return Err(error(
                file,
                text,
                endpoint.host.span().start,
                "an endpoint on any host must name a path",
            ));
        }
        let kind = match endpoint.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("event") => Kind::Event,
            Some("library") => Kind::Library,
            Some(other) => {
                let offset = endpoint.kind.as_ref().map_or(0, |k| k.span().start);
                return Err(error(
                    file,
                    text,
                    offset,
                    format!("unknown endpoint kind `{other}` (use event or library)"),
                ));
            }
        };
        endpoints.push(Endpoint {
            host,
            path,
            kind,
            note: Cow::Owned(endpoint.note.unwrap_or_default()),
        });
        requires.push(endpoint.require);
    }
    let default_source = spec.sources.keys().next().cloned().unwrap_or_default();
    let mut labels = Labels::default();
    let mut rules = Vec::new();
    for (key, field) in spec.fields {
        let offset = field.span().start;
        let field = field.into_inner();
        let property = match &field.property {
            Some(name) => Some(
                property::ALL
                    .iter()
                    .find(|p| **p == name.get_ref().as_str())
                    .copied()
                    .ok_or_else(|| {
                        error(
                            file,
                            text,
                            name.span().start,
                            format!(
                                "unknown property `{}` for `{key}` (known: {})",
                                name.get_ref(),
                                property::ALL.join(", ")
                            ),
                        )
                    })?,
            ),
            None => None,
        };
        let source = match &field.source {
            Some(source) if spec.sources.contains_key(source.get_ref()) => source.get_ref().clone(),
            Some(source) => {
                return Err(error(
                    file,
                    text,
                    source.span().start,
                    format!(
                        "source `{}` of `{key}` is not among the tracker's `sources`",
                        source.get_ref()
                    ),
                ));
            }
            None => default_source.clone(),
        };
        if key.is_empty() || key.trim() != key {
            return Err(error(file, text, offset, format!("bad field key `{key}`")));
        }
        if let Some(split) = &field.split {
            match split.get_ref().as_slice() {
                [items, pair] if !items.is_empty() && !pair.is_empty() => {
                    let (bare, is_prefix) = match key.strip_suffix('*') {
                        Some(prefix) => (prefix.to_owned(), true),
                        None => (key.clone(), false),
                    };
                    labels
                        .splits
                        .push((bare, is_prefix, items.clone(), pair.clone()));
                }
                _ => {
                    return Err(error(
                        file,
                        text,
                        split.span().start,
                        format!(
                            "`split` of `{key}` must be two non-empty separators, e.g. [\"~\", \".\"]"
                        ),
                    ));
                }
            }
        }
        if let Some(property) = property {
            if let Some(name) = key.strip_prefix("cookie:") {
                match name.strip_suffix('*') {
                    Some(prefix) => labels.cookie_prefixes.push((prefix.to_owned(), property)),
                    None => {
                        labels.cookies.insert(name.to_owned(), property);
                    }
                }
            } else if let Some(name) = key.strip_prefix("header:") {
                labels.headers.insert(name.to_ascii_lowercase(), property);
            } else if let Some(prefix) = key.strip_suffix('*') {
                labels.prefixes.push((prefix.to_owned(), property));
                labels.priority.push((prefix.to_owned(), true, property));
            } else {
                labels.exact.insert(key.clone(), property);
                labels.priority.push((key.clone(), false, property));
            }
        }
        rules.push(FieldRule {
            key,
            property,
            source,
            note: field.note,
        });
    }
    let sources = spec
        .sources
        .into_iter()
        .map(|(key, reference)| Source {
            key: Cow::Owned(key),
            reference: Cow::Owned(reference),
        })
        .collect();
    Ok(Entry {
        decoder: CatalogDecoder {
            id,
            vendor: spec.vendor,
            version: spec.version.unwrap_or_else(|| "1".to_owned()),
            endpoints,
            requires,
            sources,
            payload,
            labels,
            rules,
            file: file.to_owned(),
        },
        replaces: spec.replaces,
        line: 0,
    })
}

impl CatalogDecoder {
    /// The documented payload keys, in catalog order.
    pub fn rules(&self) -> &[FieldRule] {
        &self.rules
    }

    /// The catalog file the decoder came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    fn push_body(
        &self,
        exchange: &Exchange,
        fields: &mut Fields<'_>,
        sink: &mut dyn EventSink,
    ) -> bool {
        let Some(request_body) = exchange.request.body.as_ref() else {
            return true;
        };
        let mut readable = true;
        if let Some(problem) = record::body_problem(request_body) {
            sink.diagnostic(record::body_unreadable(self, exchange, &problem));
            readable = false;
        }
        match body::sniff(&request_body.data, request_body.mime_type.as_deref()) {
            BodyShape::Empty => {}
            BodyShape::Form(params) if self.payload.form => {
                if let Some(note) = record::html_escaped_keys(self, exchange, &params) {
                    sink.diagnostic(note);
                }
                fields.push_params(Location::BodyForm, &params);
            }
            BodyShape::Json { value, .. } if self.payload.json => {
                fields.push_json(Location::BodyJson, &value, "");
            }
            BodyShape::Multipart(parts) if self.payload.multipart => {
                for (index, part) in parts.iter().enumerate() {
                    let name = part
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("part[{index}]"));
                    fields.push(Location::BodyMultipart, &name, &bytes_to_text(&part.data));
                }
            }
            BodyShape::BrokenJson { error } => {
                if readable {
                    sink.diagnostic(record::body_unreadable(
                        self,
                        exchange,
                        &format!("invalid JSON: {error}"),
                    ));
                }
                readable = false;
            }
            other => {
                let what = push_unexpected_body(fields, &other);
                if readable {
                    sink.diagnostic(record::unrecognised(self, exchange, what));
                }
                readable = false;
            }
        }
        readable
    }

    /// The summary keys from the table order; the values `build_event`
    /// found stay where the table names none.
    fn summarise(&self, mut event: Event) -> Event {
        let fields = &event.fields;
        let pick = |wanted: &str| self.labels.summary(fields, wanted);
        let (event_name, pixel_id, page_url, referrer, page_title) = (
            pick(property::EVENT_NAME),
            pick(property::PIXEL_ID),
            pick(property::PAGE_URL),
            pick(property::REFERRER),
            pick(property::PAGE_TITLE),
        );
        for (slot, found) in [
            (&mut event.event, event_name),
            (&mut event.pixel_id, pixel_id),
            (&mut event.page_url, page_url),
            (&mut event.referrer, referrer),
            (&mut event.page_title, page_title),
        ] {
            if found.is_some() {
                *slot = found;
            }
        }
        event
    }
}

/// The payload location a field's `where` names.
fn location_of(name: &str) -> Option<Location> {
    [
        Location::Query,
        Location::BodyForm,
        Location::BodyJson,
        Location::BodyMultipart,
        Location::BodyText,
        Location::Path,
    ]
    .into_iter()
    .find(|l| l.as_str() == name)
}

impl Decoder for CatalogDecoder {
    fn id(&self) -> &str {
        &self.id
    }
    fn vendor(&self) -> &str {
        &self.vendor
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
    fn sources(&self) -> &[Source] {
        &self.sources
    }

    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let target = record::Target::of(exchange);
        let Some((index, endpoint)) = self
            .endpoints
            .iter()
            .enumerate()
            .find(|(_, e)| e.matches(&target.host, target.path))
        else {
            return; // the registry only hands us exchanges an endpoint claimed
        };
        let labeller = |location: Location, path: &str| self.labels.label(location, path);
        let mut fields = Fields::new(&labeller);
        let captures = endpoint.path.captures(target.path);
        if endpoint.kind == Kind::Library {
            let event = library_record(self, exchange, Detection::Endpoint, fields, &captures);
            sink.event(self.summarise(event));
            return;
        }
        for (name, value) in &captures {
            fields.push(Location::Path, name, value);
        }
        if self.payload.matrix {
            fields.push_params(Location::Path, &matrix::parse(target.path));
        }
        let params = target.params();
        if let Some(note) = record::html_escaped_keys(self, exchange, &params) {
            sink.diagnostic(note);
        }
        fields.push_params(Location::Query, &params);
        let readable = self.push_body(exchange, &mut fields, sink);
        if !self.labels.splits.is_empty() {
            let mut expanded = fields.sibling();
            for field in fields.into_vec() {
                let rule = self.labels.splits.iter().find(|(key, is_prefix, _, _)| {
                    if *is_prefix {
                        field.path.starts_with(key.as_str())
                    } else {
                        field.path == *key
                    }
                });
                let split = location_of(&field.location).zip(rule);
                let Some((location, (_, _, items, pair))) = split else {
                    expanded.push_field(field);
                    continue;
                };
                // The field itself comes first, then its items.
                expanded.push_field(field.clone());
                for item in field.value.split(items.as_str()).filter(|i| !i.is_empty()) {
                    let (key, value) = item.split_once(pair.as_str()).unwrap_or((item, ""));
                    // Items are percent-encoded like query values (Criteo's
                    // `p1=e%3Dce%26m%3D%255B…`: one layer is left after the query).
                    let (key, _) = query::decode_component(key.as_bytes());
                    let (value, _) = query::decode_component(value.as_bytes());
                    expanded.push(location, &format!("{}.{key}", field.path), &value);
                }
            }
            fields = expanded;
        }
        let required = self.requires.get(index).map(Vec::as_slice).unwrap_or(&[]);
        let missing: Vec<&str> = required
            .iter()
            .filter(|key| {
                !fields
                    .as_slice()
                    .iter()
                    .any(|f| f.path == **key && !f.value.is_empty())
            })
            .map(String::as_str)
            .collect();
        if readable && !missing.is_empty() {
            sink.diagnostic(Diagnostic::info(
                "decode.not-an-event",
                format!(
                    "{} request {} {}: no {} — not a {} event (an ID sync or another product on the same path)",
                    self.id,
                    exchange.request.method,
                    exchange.request.url,
                    missing.join(", "),
                    self.vendor
                ),
                exchange.origin.clone(),
            ));
            return;
        }
        fields.push_request_context(&exchange.request);
        let has_event = self
            .labels
            .summary(fields.as_slice(), property::EVENT_NAME)
            .is_some();
        let kind = if readable || has_event {
            Kind::Event
        } else {
            Kind::Contact
        };
        let event = record::build_event(
            self,
            kind,
            Detection::Endpoint,
            exchange,
            fields.into_vec(),
            Pick::First,
        );
        sink.event(self.summarise(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = r#"format = 1

[[tracker]]
id = "acme"
vendor = "Acme"
payload = ["query", "form"]
sources = { ACME = "https://acme.test/docs" }

[[tracker.endpoint]]
host = "px.acme.test"
path = "/s/{site}/collect"

[tracker.fields]
site = { property = "pixel_id" }
ea = { property = "event_name" }
ev = { property = "event_name" }
"#;

    fn load(text: &str) -> Result<Vec<Entry>, CatalogError> {
        parse("acme.toml", text)
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad_property = ACME.replace(
            r#"ev = { property = "event_name" }"#,
            r#"ev = { property = "evnt" }"#,
        );
        let error = load(&bad_property).err().unwrap();
        assert_eq!(error.line, 16, "{error}");
        assert!(
            error
                .to_string()
                .starts_with("acme.toml:16: unknown property `evnt`"),
            "{error}"
        );

        let syntax = ACME.replace("vendor = \"Acme\"", "vendor = Acme");
        let error = load(&syntax).err().unwrap();
        assert_eq!(error.line, 5, "{error}");

        let bad_host = ACME.replace("px.acme.test", "px acme");
        assert_eq!(load(&bad_host).err().unwrap().line, 10);

        let unknown_key = ACME.replace("vendor = \"Acme\"", "vendor = \"Acme\"\ncolour = 1");
        assert!(load(&unknown_key).err().unwrap().message.contains("colour"));

        let no_format = ACME.replace("format = 1\n", "");
        assert!(load(&no_format).err().unwrap().message.contains("format"));

        let bad_source = ACME.replace(
            r#"ev = { property = "event_name" }"#,
            r#"ev = { property = "event_name", source = "X" }"#,
        );
        assert_eq!(load(&bad_source).err().unwrap().line, 16);
    }

    #[test]
    fn listed_order_decides_the_summary() {
        let entries = load(ACME).unwrap();
        let decoder = &entries[0].decoder;
        let exchange = Exchange {
            request: pixelscope_model::Request {
                method: "GET".into(),
                url: "https://px.acme.test/s/77/collect?ev=custom&ea=signup".into(),
                ..Default::default()
            },
            ..Exchange::default()
        };
        let mut out = pixelscope_model::Collected::default();
        decoder.decode(&exchange, &mut out);
        let event = &out.events[0];
        assert_eq!(event.event.as_deref(), Some("signup"));
        assert_eq!(event.pixel_id.as_deref(), Some("77"));
        assert_eq!(event.fields[0].location, "path");
    }
}
