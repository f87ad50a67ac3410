//! The [`Analyzer`]: everything that runs on decoded events.

use crate::identity::{Identities, Normalisation, Variant, variants};
use crate::layers;
use crate::report::{IdentityReport, IdentityTally};
use crate::rules::{Rules, RulesError, Scope, Term, category_of};
use crate::text::{
    as_url, decode_layers, find_emails, hash_form, is_email_shaped, is_phone_shaped, last_segment,
    looks_like_url, percent_decode, query_pairs, raw_query_pairs, split_url, url_host,
    write_word_string,
};
use aho_corasick::{AhoCorasick, MatchKind};
use pixelscope_model::{Event, Exchange, Field, Flag, Identifier};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// Settings of an [`Analyzer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyzerOptions {
    /// How identities are normalised before hashing.
    pub normalisation: Normalisation,
}

/// The rule or identity set was too large to compile.
#[derive(Debug)]
pub struct BuildError {
    pub message: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// Identity kinds the decoders' closed vocabulary names (`Field.property`).
const IDENTITY_PROPERTIES: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "state",
    "zip",
    "country",
    "gender",
    "date_of_birth",
    "external_id",
    "client_id",
    "click_id",
    "user_id",
];

/// Properties that are browser or click ids: never a hashed person.
const BROWSER_ID_PROPERTIES: &[&str] = &["client_id", "click_id", "user_id"];

/// Field names that say what a value is, even in plain text.
const STRONG_NAMES: &[(&str, &str)] = &[
    ("email", "email"),
    ("e_mail", "email"),
    ("emailaddress", "email"),
    ("email_address", "email"),
    ("user_email", "email"),
    ("hashed_email", "email"),
    ("email_hash", "email"),
    ("hem", "email"),
    ("u_hem", "email"),
    ("sha256_email_address", "email"),
    ("phone", "phone"),
    ("phone_number", "phone"),
    ("phonenumber", "phone"),
    ("hashed_phone", "phone"),
    ("u_hpn", "phone"),
    ("sha256_phone_number", "phone"),
    ("first_name", "first_name"),
    ("firstname", "first_name"),
    ("last_name", "last_name"),
    ("lastname", "last_name"),
    ("date_of_birth", "date_of_birth"),
    ("external_id", "external_id"),
];

/// Vendor abbreviations that only name an identity when the value is a
/// digest (Meta `ud[em]`, `ud[ph]`, `ud[fn]`…; Reddit `em`, `pn`).
const WEAK_NAMES: &[(&str, &str)] = &[
    ("em", "email"),
    ("hpn", "phone"),
    ("ph", "phone"),
    ("pn", "phone"),
    ("fn", "first_name"),
    ("ln", "last_name"),
    ("ct", "city"),
    ("st", "state"),
    ("zp", "zip"),
    ("db", "date_of_birth"),
    ("ge", "gender"),
];

/// Keys of Google's user-provided-data mini-syntax
/// (`em=tv.1~em.<hash>~pn.<hash>`; FORMATS.md §2 item 5).
const GOOGLE_UPD_KEYS: &[(&str, &str)] = &[
    ("em", "email"),
    ("pn", "phone"),
    ("fn", "first_name"),
    ("ln", "last_name"),
    ("sn", "last_name"),
    ("ct", "city"),
    ("rg", "state"),
    ("pc", "zip"),
    ("co", "country"),
    ("sa", "street"),
];

/// Properties whose values are read for sensitive terms besides those with
/// no property at all (identifiers and technical ids are skipped).
const CONTENT_PROPERTIES: &[&str] = &[
    "page_title",
    "content",
    "button_text",
    "search_term",
    "event_name",
];

/// The compiled identity lookup.
struct IdentityIndex {
    variants: Vec<Variant>,
    /// Exact lookup: lower-cased variant text (base64 variants as is).
    exact: HashMap<String, Vec<usize>>,
    /// Substring search: case-insensitive and case-sensitive automata, each
    /// with the variant index of every pattern.
    folded: Option<(AhoCorasick, Vec<usize>)>,
    cased: Option<(AhoCorasick, Vec<usize>)>,
}

/// The compiled rules.
struct RuleIndex {
    rules: Rules,
    /// The patterns of `terms`, in order: every term, then every
    /// exclusion (with an empty rule name).
    phrases: Vec<Term>,
    terms: Option<AhoCorasick>,
    parameters: NameTable<String>,
    search_keys: NameTable<()>,
    search_fields: NameTable<()>,
    platform_ids: NameTable<Vec<usize>>,
}

/// Names (query keys, field names, cookie names) looked up
/// ASCII-case-insensitively without allocating: the keys are stored
/// ASCII-lower-cased and grouped by length, so a probe is compared only
/// with the few keys of its own length. Equivalent to a map lookup of
/// `name.to_ascii_lowercase()`, but called for every field of every event.
struct NameTable<V> {
    /// `by_length[n]`: the keys of `n` bytes.
    by_length: Vec<Vec<(String, V)>>,
}

impl<V> NameTable<V> {
    /// Keys must already be ASCII-lower-cased.
    fn new(map: HashMap<String, V>) -> NameTable<V> {
        let mut by_length: Vec<Vec<(String, V)>> = Vec::new();
        for (key, value) in map {
            if by_length.len() <= key.len() {
                by_length.resize_with(key.len() + 1, Vec::new);
            }
            if let Some(bucket) = by_length.get_mut(key.len()) {
                bucket.push((key, value));
            }
        }
        NameTable { by_length }
    }

    fn get(&self, name: &str) -> Option<&V> {
        // A lower-case key equals a name ignoring ASCII case exactly when
        // it equals the name ASCII-lower-cased.
        self.by_length
            .get(name.len())?
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Reused buffers of [`Analyzer::for_each_term`], so that reading every
/// field of an event for terms does not allocate per field.
#[derive(Default)]
struct TermScratch {
    words: String,
    /// `(start, end, term index)` of every phrase found in `words`.
    spans: Vec<(usize, usize, usize)>,
}

/// Runs after decoding: adds identifiers, identity matches, sensitive
/// content, linkage and policy flags, and first/third party to each event
/// of an exchange.
///
/// `Sync`: one analyzer serves every worker thread. It also keeps a
/// running [`IdentityTally`] of everything it analysed (see
/// [`Analyzer::report`]); callers that prefer to merge per-exchange tallies
/// themselves use the value [`Analyzer::analyze`] returns.
pub struct Analyzer {
    identities: Identities,
    index: IdentityIndex,
    rules: RuleIndex,
    tally: Mutex<IdentityTally>,
}

/// A match of a known identity inside some text.
#[derive(Clone, Debug)]
struct Hit {
    variant: usize,
    /// The matched text as it appears.
    found: String,
}

impl Analyzer {
    /// Compiles identities and rules once.
    pub fn new(
        identities: Identities,
        rules: Rules,
        options: AnalyzerOptions,
    ) -> Result<Analyzer, BuildError> {
        let index = IdentityIndex::build(&identities, &options.normalisation)?;
        let rules = RuleIndex::build(rules)?;
        Ok(Analyzer {
            identities,
            index,
            rules,
            tally: Mutex::new(IdentityTally::default()),
        })
    }

    /// Adds the rules of a user rule file (same syntax as the embedded
    /// packs) and recompiles.
    pub fn load_rules(&mut self, path: &Path) -> Result<(), RulesError> {
        let mut rules = self.rules.rules.clone();
        rules.load(path)?;
        self.rules = RuleIndex::build(rules).map_err(|e| RulesError {
            place: path.display().to_string(),
            message: e.message,
        })?;
        Ok(())
    }

    /// The rules in use.
    pub fn rules(&self) -> &Rules {
        &self.rules.rules
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Analyses every event decoded from `exchange` and returns what known
    /// identities this exchange carried (already added to the analyzer's
    /// own running tally too).
    pub fn analyze(&self, exchange: &Exchange, events: &mut [Event]) -> IdentityTally {
        let mut matched: Vec<(usize, usize)> = Vec::new();
        for (event_index, event) in events.iter_mut().enumerate() {
            event.party = party(exchange, event);
            // Every field's name (`ud[em]` → `em`), read by several rules.
            let names: Vec<&str> = event.fields.iter().map(|f| last_segment(&f.path)).collect();
            recognise_identifiers(&event.fields, &names, &mut event.identifiers);
            let mut flags = FlagList::from(std::mem::take(&mut event.flags));
            for identifier in self.content_flags(exchange, event, &names, &mut flags) {
                push_identifier(&mut event.identifiers, identifier);
            }
            self.linkage_flags(exchange, event, &names, &mut flags);
            self.policy_flags(event, &mut flags);
            event.flags = flags.into_vec();
            if !self.identities.is_empty() {
                for variant in self.match_event(event) {
                    matched.push((event_index, variant));
                }
            }
        }
        if !self.identities.is_empty() && !events.is_empty() {
            for (event_index, variant) in self.match_layers(exchange, events) {
                matched.push((event_index, variant));
            }
        }
        let tally = self.tally_of(events, &matched);
        if !tally.is_empty() {
            let mut running = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
            running.merge(tally.clone());
        }
        tally
    }

    /// The summary of everything analysed so far.
    pub fn report(&self) -> IdentityReport {
        let running = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        IdentityReport::new(&self.identities, &running)
    }

    /// The summary of a tally merged by the caller.
    pub fn report_for(&self, tally: &IdentityTally) -> IdentityReport {
        IdentityReport::new(&self.identities, tally)
    }

    fn tally_of(&self, events: &[Event], matched: &[(usize, usize)]) -> IdentityTally {
        let mut tally = IdentityTally::default();
        let mut per_label_tracker: HashMap<(usize, &str), BTreeSet<usize>> = HashMap::new();
        for (event_index, variant_index) in matched {
            let (Some(event), Some(variant)) = (
                events.get(*event_index),
                self.index.variants.get(*variant_index),
            ) else {
                continue;
            };
            let Some(identity) = self.identities.iter().nth(variant.identity) else {
                continue;
            };
            let receipt = tally.entry(&identity.label, &event.tracker);
            receipt.forms.insert(variant.form.to_owned());
            receipt
                .normalisations
                .insert(variant.normalisation.to_owned());
            per_label_tracker
                .entry((variant.identity, event.tracker.as_str()))
                .or_default()
                .insert(*event_index);
        }
        for ((identity_index, tracker), event_indices) in per_label_tracker {
            let Some(identity) = self.identities.iter().nth(identity_index) else {
                continue;
            };
            let receipt = tally.entry(&identity.label, tracker);
            receipt.requests = 1;
            receipt.events = event_indices.len() as u64;
        }
        tally
    }

    // ---- identity matching -------------------------------------------------

    /// Marks identifiers that are a known identity, and adds identifiers
    /// where a field holds one the decoder did not list. Returns the
    /// variant of every match.
    fn match_event(&self, event: &mut Event) -> Vec<usize> {
        let mut matches = Vec::new();
        for identifier in &mut event.identifiers {
            if let Some(variant) = self.index.lookup(&identifier.kind, &identifier.value) {
                if identifier.matched.is_none() {
                    identifier.matched = self.label_of(variant);
                }
                matches.push(variant);
            }
        }
        let mut added: Vec<Identifier> = Vec::new();
        for field in &event.fields {
            for layer in decode_layers(&field.value, plus_is_space(field)).iter() {
                for hit in self.index.search(layer) {
                    let Some(identifier) = self.identifier_for(&hit, &field.path) else {
                        continue;
                    };
                    let known = event.identifiers.iter().chain(added.iter()).any(|i| {
                        i.matched == identifier.matched && i.value.eq_ignore_ascii_case(&hit.found)
                    });
                    if known {
                        continue;
                    }
                    if let Some(existing) = event.identifiers.iter_mut().find(|i| {
                        i.path == identifier.path && i.value.eq_ignore_ascii_case(&identifier.value)
                    }) {
                        existing.matched = identifier.matched.clone();
                    } else {
                        added.push(identifier);
                    }
                    matches.push(hit.variant);
                }
            }
        }
        event.identifiers.extend(added);
        matches
    }

    /// Searches every raw layer of the request for identities no event
    /// shows yet (a cookie, a header, a gzip or base64 layer the decoder
    /// did not open) and adds them to every event of the exchange.
    fn match_layers(&self, exchange: &Exchange, events: &mut [Event]) -> Vec<(usize, usize)> {
        let mut matches = Vec::new();
        let mut new_identifiers: Vec<(Identifier, usize)> = Vec::new();
        for value in layers::collect(exchange) {
            for hit in self.index.search(&value.text) {
                let Some(identifier) = self.identifier_for(&hit, &value.path) else {
                    continue;
                };
                let shown = events.iter().any(|e| {
                    e.identifiers.iter().any(|i| {
                        i.matched == identifier.matched && i.value.eq_ignore_ascii_case(&hit.found)
                    })
                });
                let pending = new_identifiers.iter().any(|(i, _)| {
                    i.matched == identifier.matched && i.value.eq_ignore_ascii_case(&hit.found)
                });
                if !shown && !pending {
                    new_identifiers.push((identifier, hit.variant));
                }
            }
        }
        for (identifier, variant) in new_identifiers {
            for (event_index, event) in events.iter_mut().enumerate() {
                event.identifiers.push(identifier.clone());
                matches.push((event_index, variant));
            }
        }
        matches
    }

    fn label_of(&self, variant: usize) -> Option<String> {
        let identity = self.index.variants.get(variant)?.identity;
        self.identities
            .iter()
            .nth(identity)
            .map(|i| i.label.clone())
    }

    fn identifier_for(&self, hit: &Hit, path: &str) -> Option<Identifier> {
        let variant = self.index.variants.get(hit.variant)?;
        let identity = self.identities.iter().nth(variant.identity)?;
        Some(Identifier {
            kind: identity.kind.clone(),
            form: variant.form.to_owned(),
            value: hit.found.clone(),
            path: path.to_owned(),
            matched: Some(identity.label.clone()),
        })
    }

    // ---- content -----------------------------------------------------------

    /// Adds the content flags of `event` (`names`: its fields' names) and
    /// returns the identifiers its page addresses showed (a phone number
    /// parameter).
    fn content_flags(
        &self,
        exchange: &Exchange,
        event: &Event,
        names: &[&str],
        flags: &mut FlagList,
    ) -> Vec<Identifier> {
        let rules = &self.rules;
        let mut scratch = TermScratch::default();
        // Page addresses: every URL-valued field, then the record's own
        // referrer, the Referer header and the page URL when no field has
        // them. A page URL that page inference took from an earlier
        // navigation (`page_url_from: navigation`) was never sent to the
        // tracker: it is read only to recognise values the payload copied
        // from it (an order number), never flagged itself. One taken from
        // the Referer header is flagged at `header:referer`, where the
        // bytes are.
        let mut urls: Vec<(&str, Cow<'_, str>, bool)> = Vec::new(); // (path, url, sent)
        // Which fields hold a URL, for the payload loop below (surrounding
        // whitespace never changes whether a value holds one).
        let mut field_is_url: Vec<bool> = Vec::with_capacity(event.fields.len());
        for field in &event.fields {
            if field.location == "cookie"
                || (field.location == "header" && !field.path.eq_ignore_ascii_case("referer"))
            {
                field_is_url.push(false);
                continue;
            }
            let url = as_url(&field.value);
            field_is_url.push(url.is_some());
            if let Some(url) = url {
                urls.push((field.path.as_str(), url, true));
            }
        }
        let page_sent = event.page_url_from.as_deref() != Some("navigation");
        let referer = exchange.request.header("referer");
        let record_urls = [
            ("referrer", event.referrer.as_deref(), true),
            ("header:referer", referer, true),
            ("page_url", event.page_url.as_deref(), page_sent),
        ];
        for (path, url, sent) in record_urls {
            let Some(url) = url.filter(|u| split_url(u).is_some()) else {
                continue;
            };
            if !urls.iter().any(|(_, u, _)| *u == url) {
                urls.push((path, Cow::Borrowed(url), sent));
            }
        }

        // A URL is read as a page address (search terms, personal
        // parameters) when the decoder labelled it so, or when it is on the
        // site of a known page; other URLs (scripts, images, ad servers) are
        // only read for sensitive terms.
        let mut page_sites: Vec<String> = Vec::new();
        let mut page_hosts: Vec<String> = Vec::new();
        let labelled = event
            .fields
            .iter()
            .filter(|f| matches!(f.property.as_deref(), Some("page_url" | "referrer")));
        let page_like = [
            event.page_url.as_deref(),
            event.referrer.as_deref(),
            exchange.page_url.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(referer)
        .chain(labelled.map(|f| f.value.as_str()));
        // Hosts are compared as `url_host` would return them (lower case,
        // no trailing dot) without building that copy; `site` lower-cases
        // and trims by itself.
        let known_host = |hosts: &[String], host: &str| {
            let host = host.trim_end_matches('.');
            hosts.iter().any(|known| known.eq_ignore_ascii_case(host))
        };
        for url in page_like {
            let Some(url) = as_url(url) else {
                continue;
            };
            let Some(parts) = split_url(&url) else {
                continue;
            };
            // The same page usually comes several ways (page URL, referrer,
            // Referer header): look its site up once.
            if known_host(&page_hosts, parts.host) {
                continue;
            }
            let site = site(parts.host);
            page_hosts.push(parts.host.trim_end_matches('.').to_ascii_lowercase());
            if !page_sites.contains(&site) {
                page_sites.push(site);
            }
        }
        let is_page_address = |path: &str, url: &str| {
            let labelled = event.fields.iter().any(|f| {
                f.path == path && matches!(f.property.as_deref(), Some("page_url" | "referrer"))
            });
            labelled
                || matches!(path, "page_url" | "referrer" | "header:referer")
                || page_sites.is_empty()
                || split_url(url).is_some_and(|parts| {
                    // A page host's site is a page site by construction.
                    known_host(&page_hosts, parts.host) || page_sites.contains(&site(parts.host))
                })
        };

        // Values echoed from a flagged URL parameter or search: the order
        // number copied into a conversion, the search term into `el`.
        let mut echoes: Vec<(String, &str, String)> = Vec::new(); // (lower value, rule, text)
        let mut new_identifiers: Vec<Identifier> = Vec::new();
        for (path, url, sent) in &urls {
            let Some(parts) = split_url(url) else {
                continue;
            };
            let page_address = is_page_address(path, url);
            let mut pairs = parts.query.map(query_pairs).unwrap_or_default();
            if let Some(fragment) = parts.fragment.filter(|f| f.contains('=')) {
                pairs.extend(query_pairs(fragment));
            }
            // The words of the address (path and decoded query values),
            // read for terms only when the tracker received it.
            let mut text = if *sent {
                percent_decode(parts.path, false).into_owned()
            } else {
                String::new()
            };
            for (key, value) in &pairs {
                let value = value.trim();
                if *sent {
                    text.push(' ');
                    text.push_str(decode_layers(value, true).last());
                }
                if value.is_empty() || !page_address {
                    continue;
                }
                if rules.search_keys.contains(key) && is_search_text(value) {
                    if *sent {
                        flags.push("search.term", value, path);
                    }
                    echoes.push((value.to_lowercase(), "search.term", value.to_owned()));
                }
                if let Some(rule) = rules
                    .parameters
                    .get(key)
                    .filter(|rule| parameter_shape_ok(rule, value))
                {
                    if *sent {
                        flags.push(rule, value, path);
                    }
                    if value.chars().filter(|c| c.is_alphanumeric()).count() >= 4 {
                        echoes.push((value.to_lowercase(), rule, value.to_owned()));
                    }
                    if *sent && rule == "url-parameter.phone" && is_phone_shaped(value) {
                        new_identifiers.push(plain_identifier("phone", value, path));
                    }
                }
            }
            if *sent {
                self.for_each_term(&text, &mut scratch, |rule, matched| {
                    flags.push(rule, matched, path);
                });
            }
        }

        // Payload values: titles, content names, button texts, search
        // fields, and any unlabelled value.
        for ((field, is_url), name) in event.fields.iter().zip(field_is_url).zip(names) {
            if matches!(field.location.as_str(), "cookie" | "header") {
                continue;
            }
            let value = field.value.trim();
            if value.is_empty() || is_url {
                continue;
            }
            if !echoes.is_empty() {
                // ASCII values (nearly all) are compared without building
                // their lower-case copy; to_lowercase of ASCII is ASCII's.
                let lower = (!value.is_ascii()).then(|| value.to_lowercase());
                for (echo, rule, text) in &echoes {
                    let same = match &lower {
                        Some(lower) => echo == lower,
                        None => {
                            echo.eq_ignore_ascii_case(value)
                                && !echo.bytes().any(|b| b.is_ascii_uppercase())
                        }
                    };
                    if same {
                        flags.push(rule, text, &field.path);
                    }
                }
            }
            let property = field.property.as_deref();
            let search_field =
                property == Some("search_term") || rules.search_fields.contains(name);
            if search_field && is_search_text(value) {
                flags.push("search.term", value, &field.path);
            }
            let readable = property.is_none_or(|p| CONTENT_PROPERTIES.contains(&p));
            if !readable || value.starts_with('{') || value.starts_with('[') {
                continue;
            }
            let layers = decode_layers(value, plus_is_space(field));
            self.for_each_term(layers.last(), &mut scratch, |rule, matched| {
                flags.push(rule, matched, &field.path);
            });
        }
        if let Some(title) = &event.page_title {
            let carried = event.fields.iter().any(|f| f.value.trim() == title.trim());
            if !carried {
                self.for_each_term(title, &mut scratch, |rule, matched| {
                    flags.push(rule, matched, "page_title");
                });
            }
        }
        new_identifiers
    }

    /// Term-rule matches in `text`: `(rule, matched words)` in the order
    /// found, longest match only where one phrase contains another. The
    /// same pair can come more than once (callers keep the first).
    fn for_each_term(
        &self,
        text: &str,
        scratch: &mut TermScratch,
        mut emit: impl FnMut(&str, &str),
    ) {
        let Some(automaton) = &self.rules.terms else {
            return;
        };
        write_word_string(text, &mut scratch.words);
        let words = scratch.words.as_str();
        let spans = &mut scratch.spans;
        spans.clear();
        for m in automaton.find_overlapping_iter(words) {
            let term_index = m.pattern().as_usize();
            let Some(term) = self.rules.phrases.get(term_index) else {
                continue;
            };
            // Pattern " words " ends at a space; a prefix pattern " word"
            // extends to the end of the word it starts.
            let start = m.start() + 1;
            let end = if term.prefix {
                words
                    .get(m.end()..)
                    .and_then(|rest| rest.find(' '))
                    .map_or(words.len(), |i| m.end() + i)
            } else {
                m.end() - 1
            };
            spans.push((start, end, term_index));
        }
        let is_exclusion = |index: usize| {
            self.rules
                .phrases
                .get(index)
                .is_some_and(|t| t.rule.is_empty())
        };
        for (start, end, term_index) in spans.iter() {
            // A term inside a longer term, or inside (or equal to) an
            // `[exclude]` phrase, does not fire on its own.
            let covered = spans.iter().any(|(s, e, other)| {
                s <= start
                    && e >= end
                    && ((e - s) > (end - start) || (is_exclusion(*other) && other != term_index))
            });
            if covered || is_exclusion(*term_index) {
                continue;
            }
            let (Some(term), Some(matched)) =
                (self.rules.phrases.get(*term_index), words.get(*start..*end))
            else {
                continue;
            };
            emit(&term.rule, matched);
        }
    }

    /// [`Analyzer::for_each_term`] collected, without repeated pairs.
    #[cfg(test)]
    fn match_terms(&self, text: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        self.for_each_term(text, &mut TermScratch::default(), |rule, matched| {
            let pair = (rule.to_owned(), matched.to_owned());
            if !out.contains(&pair) {
                out.push(pair);
            }
        });
        out
    }

    // ---- linkage -----------------------------------------------------------

    fn linkage_flags(
        &self,
        exchange: &Exchange,
        event: &Event,
        names: &[&str],
        flags: &mut FlagList,
    ) {
        // Content the tracker received with the identity: the page (from
        // the payload, or a full Referer header of the beacon itself — a
        // page inferred from an earlier navigation was never sent), title,
        // referrer, search term, or anything a content rule flagged (a
        // product name). A Referer header of a library load does not count:
        // only event records get a page URL from page inference.
        let page_sent = event.page_url_from.as_deref() != Some("navigation");
        let has_content = (page_sent && event.page_url.as_deref().is_some_and(|v| !v.is_empty()))
            || flags
                .list
                .iter()
                .any(|f| !matches!(f.category.as_str(), "linkage" | "policy"))
            || event.page_title.as_deref().is_some_and(|v| !v.is_empty())
            || event.referrer.as_deref().is_some_and(|v| !v.is_empty())
            || event.fields.iter().any(|f| {
                !f.value.is_empty()
                    && !matches!(f.location.as_str(), "header" | "cookie")
                    && matches!(
                        f.property.as_deref(),
                        Some("page_url" | "referrer" | "page_title" | "search_term")
                    )
            });
        if !has_content {
            return;
        }
        let mut seen_cookies: Vec<&str> = Vec::new();
        for (field, segment) in event.fields.iter().zip(names) {
            let is_cookie = field.location == "cookie";
            let name = if is_cookie {
                field.path.as_str()
            } else {
                segment
            };
            // The name first: few fields are platform ids.
            let Some(rule) = self.platform_id(name, is_cookie, &event.tracker) else {
                continue;
            };
            if !is_platform_id_value(&field.value) {
                continue;
            }
            flags.push(&rule, field.value.trim(), &field.path);
            if is_cookie {
                seen_cookies.push(&field.path);
            }
        }
        // Cookies the decoder did not list, and the request's own query.
        let mut cookie = |name: &str, value: &str| {
            let Some(rule) = self.platform_id(name, true, &event.tracker) else {
                return;
            };
            if seen_cookies.contains(&name) || !is_platform_id_value(value) {
                return;
            }
            flags.push(&rule, value.trim(), &format!("cookie:{name}"));
        };
        if exchange.request.cookies.is_empty() {
            let pairs = exchange
                .request
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
                .flat_map(|h| h.value.split(';'));
            for pair in pairs {
                let pair = pair.trim();
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                cookie(name, value);
            }
        } else {
            for c in &exchange.request.cookies {
                cookie(&c.name, &c.value);
            }
        }
        if let Some(query) = split_url(&exchange.request.url).and_then(|p| p.query) {
            // Keys first: most are no platform id, and their values need
            // no decoding then.
            for (raw_key, raw_value) in raw_query_pairs(query) {
                let key = percent_decode(raw_key, true);
                let Some(rule) = self.platform_id(&key, false, &event.tracker) else {
                    continue;
                };
                let value = percent_decode(raw_value, true);
                if !is_platform_id_value(&value) || event.fields.iter().any(|f| f.path == *key) {
                    continue;
                }
                flags.push(&rule, value.trim(), &key);
            }
        }
    }

    /// The linkage rule for a cookie or parameter name, if it is a
    /// platform identity here.
    fn platform_id(&self, name: &str, is_cookie: bool, tracker: &str) -> Option<String> {
        let candidates = self.rules.platform_ids.get(name)?;
        candidates.iter().find_map(|index| {
            let id = self.rules.rules.platform_ids.get(*index)?;
            let scope_ok = match id.scope {
                Scope::Any => true,
                Scope::Cookie => is_cookie,
                Scope::Param => !is_cookie,
            };
            let tracker_ok = id.trackers.is_empty() || id.trackers.iter().any(|t| t == tracker);
            (scope_ok && tracker_ok).then(|| format!("linkage.{}", id.name))
        })
    }

    // ---- policy ------------------------------------------------------------

    fn policy_flags(&self, event: &Event, flags: &mut FlagList) {
        for policy in &self.rules.rules.policies {
            if !policy.trackers.contains(&event.tracker) {
                continue;
            }
            let trigger = flags
                .list
                .iter()
                .find(|f| policy.categories.contains(&f.category))
                .cloned();
            if let Some(trigger) = trigger {
                flags.push(&policy.rule, &trigger.text, &trigger.path);
            }
        }
    }
}

impl IdentityIndex {
    fn build(
        identities: &Identities,
        options: &Normalisation,
    ) -> Result<IdentityIndex, BuildError> {
        let variants = variants(identities, options);
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let (mut folded_patterns, mut folded_ids, mut cased_patterns, mut cased_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (index, variant) in variants.iter().enumerate() {
            exact.entry(variant.text.clone()).or_default().push(index);
            if variant.shape.case_sensitive() {
                cased_patterns.push(variant.text.clone());
                cased_ids.push(index);
            } else {
                folded_patterns.push(variant.text.clone());
                folded_ids.push(index);
            }
        }
        let build =
            |patterns: Vec<String>, fold: bool| -> Result<Option<AhoCorasick>, BuildError> {
                if patterns.is_empty() {
                    return Ok(None);
                }
                AhoCorasick::builder()
                    .ascii_case_insensitive(fold)
                    .match_kind(MatchKind::Standard)
                    .build(patterns)
                    .map(Some)
                    .map_err(|e| BuildError {
                        message: format!("identity search: {e}"),
                    })
            };
        let folded = build(folded_patterns, true)?.map(|a| (a, folded_ids));
        let cased = build(cased_patterns, false)?.map(|a| (a, cased_ids));
        Ok(IdentityIndex {
            variants,
            exact,
            folded,
            cased,
        })
    }

    /// The variant an identifier value is, exactly. Base64 variants
    /// compare case-sensitively, all others case-insensitively; phone
    /// values are also compared as bare digits with and without `+`.
    fn lookup(&self, kind: &str, value: &str) -> Option<usize> {
        let value = value.trim();
        let exact = self.exact.get(value).and_then(|ids| ids.first().copied());
        let lower = value.to_lowercase();
        let mut folded_keys = vec![lower];
        if kind == "phone" {
            let digits: String = value.chars().filter(char::is_ascii_digit).collect();
            folded_keys.push(format!("+{digits}"));
            folded_keys.push(digits);
        }
        exact.or_else(|| {
            folded_keys.iter().find_map(|key| {
                self.exact.get(key)?.iter().copied().find(|i| {
                    self.variants
                        .get(*i)
                        .is_some_and(|v| !v.shape.case_sensitive())
                })
            })
        })
    }

    /// Every bounded occurrence of a variant in `text`, without matches
    /// that sit inside a longer match of the same identity.
    fn search(&self, text: &str) -> Vec<Hit> {
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        for (automaton, ids) in [&self.folded, &self.cased].into_iter().flatten() {
            for m in automaton.find_overlapping_iter(text) {
                let Some(variant_index) = ids.get(m.pattern().as_usize()).copied() else {
                    continue;
                };
                let Some(variant) = self.variants.get(variant_index) else {
                    continue;
                };
                if variant.shape.bounded(text, m.start(), m.end()) {
                    spans.push((m.start(), m.end(), variant_index));
                }
            }
        }
        let mut hits: Vec<Hit> = Vec::new();
        for (start, end, variant_index) in &spans {
            let identity = self.variants.get(*variant_index).map(|v| v.identity);
            let inside_longer = spans.iter().any(|(s, e, v)| {
                self.variants.get(*v).map(|x| x.identity) == identity
                    && s <= start
                    && e >= end
                    && (e - s) > (end - start)
            });
            let Some(found) = text.get(*start..*end) else {
                continue;
            };
            if inside_longer || hits.iter().any(|h| h.found == found) {
                continue;
            }
            hits.push(Hit {
                variant: *variant_index,
                found: found.to_owned(),
            });
        }
        hits
    }
}

impl RuleIndex {
    fn build(rules: Rules) -> Result<RuleIndex, BuildError> {
        // Exclusions join the terms in one automaton, marked by an empty
        // rule name.
        let phrases: Vec<Term> = rules
            .terms
            .iter()
            .cloned()
            .chain(rules.exclusions.iter().map(|words| Term {
                rule: String::new(),
                words: words.clone(),
                prefix: false,
            }))
            .collect();
        let patterns: Vec<String> = phrases
            .iter()
            .map(|t| {
                if t.prefix {
                    format!(" {}", t.words)
                } else {
                    format!(" {} ", t.words)
                }
            })
            .collect();
        let terms = if patterns.is_empty() {
            None
        } else {
            // The builder's choice (a contiguous NFA for this many
            // patterns): a DFA searches these short texts only ~20% faster
            // but takes ~10 ms and ~1 MB to build, more than it saves on a
            // 20 MB capture.
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| BuildError {
                        message: format!("term rules: {e}"),
                    })?,
            )
        };
        // Collected through a map first: a key listed twice keeps its last
        // rule, as it always has.
        let parameters = NameTable::new(
            rules
                .parameters
                .iter()
                .map(|(rule, key)| (key.clone(), rule.clone()))
                .collect(),
        );
        let name_set = |names: &[String]| {
            NameTable::new(names.iter().map(|name| (name.clone(), ())).collect())
        };
        let search_keys = name_set(&rules.search_keys);
        let search_fields = name_set(&rules.search_fields);
        let mut platform_ids: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, id) in rules.platform_ids.iter().enumerate() {
            platform_ids
                .entry(id.name.to_ascii_lowercase())
                .or_default()
                .push(index);
        }
        Ok(RuleIndex {
            rules,
            phrases,
            terms,
            parameters,
            search_keys,
            search_fields,
            platform_ids: NameTable::new(platform_ids),
        })
    }
}

/// Flags of one event without duplicates, in the order found.
struct FlagList {
    list: Vec<Flag>,
}

impl FlagList {
    fn from(list: Vec<Flag>) -> FlagList {
        FlagList { list }
    }

    fn push(&mut self, rule: &str, text: &str, path: &str) {
        if text.is_empty() {
            return;
        }
        let category = category_of(rule);
        // Compared before the flag is built: most pushes are repeats.
        let present = self
            .list
            .iter()
            .any(|f| f.rule == rule && f.text == text && f.path == path && f.category == category);
        if !present {
            self.list.push(Flag {
                category: category.to_owned(),
                rule: rule.to_owned(),
                text: text.to_owned(),
                path: path.to_owned(),
            });
        }
    }

    fn into_vec(self) -> Vec<Flag> {
        self.list
    }
}

/// Whether a search-key value reads like a search: at least one word of
/// three or more letters and no id-like token mixing letters and digits
/// (`s=1440x900`, `k=wvq7oai`), no JSON, no URL, no digest.
fn is_search_text(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty()
        || v.chars().count() > 200
        || v.starts_with(['{', '['])
        || looks_like_url(v)
        || hash_form(v).is_some()
    {
        return false;
    }
    let words: Vec<&str> = v
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has_word = words
        .iter()
        .any(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic));
    let single_mixed_token = words.len() == 1
        && words.first().is_some_and(|w| {
            w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic)
        });
    has_word && !single_mixed_token
}

/// The value checks of the built-in URL-parameter rules (see
/// `rules/parameters.rules`); other rules accept any value.
fn parameter_shape_ok(rule: &str, value: &str) -> bool {
    match rule {
        "url-parameter.email" => value.contains('@'),
        "url-parameter.phone" => is_phone_shaped(value),
        "url-parameter.name" => {
            value.chars().any(char::is_alphabetic)
                && value
                    .chars()
                    .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’'))
        }
        "url-parameter.birthdate" => value.chars().any(|c| c.is_ascii_digit()),
        _ => true,
    }
}

/// Whether a value can be an identity at all: UET sends `msclkid=N` for
/// "none", other tags send `null`, `undefined`, `0` or a blank.
fn is_platform_id_value(value: &str) -> bool {
    let v = value.trim().trim_matches('"');
    // At least six: stop counting there (values can be long).
    v.bytes().filter(u8::is_ascii_alphanumeric).nth(5).is_some()
        && !["undefined", "null", "none", "false"]
            .iter()
            .any(|word| v.eq_ignore_ascii_case(word))
}

fn plain_identifier(kind: &str, value: &str, path: &str) -> Identifier {
    Identifier {
        kind: kind.to_owned(),
        form: "plain".to_owned(),
        value: value.to_owned(),
        path: path.to_owned(),
        matched: None,
    }
}

/// Adds an identifier unless one with the same path and value is listed.
fn push_identifier(list: &mut Vec<Identifier>, identifier: Identifier) {
    let present = list
        .iter()
        .any(|i| i.path == identifier.path && i.value.eq_ignore_ascii_case(&identifier.value));
    if !present {
        list.push(identifier);
    }
}

/// Identifiers the fields show by property, by name and by shape, and
/// plain e-mail addresses anywhere.
fn recognise_identifiers(fields: &[Field], names: &[&str], identifiers: &mut Vec<Identifier>) {
    let mut found: Vec<Identifier> = Vec::new();
    for (field, name) in fields.iter().zip(names) {
        recognise_field(field, name, &mut found);
    }
    for identifier in found {
        push_identifier(identifiers, identifier);
    }
}

/// `name`: the field's name, `last_segment` of its path.
fn recognise_field(field: &Field, name: &str, out: &mut Vec<Identifier>) {
    let value = field.value.trim();
    if value.is_empty() {
        return;
    }
    if let Some(rest) = value.strip_prefix("tv.1~") {
        for part in rest.split('~') {
            let Some((key, v)) = part.split_once('.') else {
                continue;
            };
            let Some((_, kind)) = GOOGLE_UPD_KEYS.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            if !v.is_empty() {
                let form = hash_form(v).unwrap_or("plain");
                out.push(Identifier {
                    kind: (*kind).to_owned(),
                    form: form.to_owned(),
                    value: v.to_owned(),
                    path: format!("{}.{key}", field.path),
                    matched: None,
                });
            }
        }
        return;
    }
    let property = field
        .property
        .as_deref()
        .filter(|p| IDENTITY_PROPERTIES.contains(p));
    // The name tables are lower case: compared ASCII-case-insensitively.
    if let Some(kind) = property {
        let form = if BROWSER_ID_PROPERTIES.contains(&kind) {
            "plain"
        } else {
            hash_form(value).unwrap_or("plain")
        };
        out.push(Identifier {
            kind: kind.to_owned(),
            form: form.to_owned(),
            value: value.to_owned(),
            path: field.path.clone(),
            matched: None,
        });
    } else if let Some((_, kind)) = STRONG_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        let form = hash_form(value);
        let plain_ok = match *kind {
            "email" => is_email_shaped(value),
            "phone" => is_phone_shaped(value),
            "date_of_birth" => value.chars().filter(char::is_ascii_digit).count() == 8,
            _ => value.chars().any(char::is_alphanumeric),
        };
        if form.is_some() || plain_ok {
            out.push(plain_or(form, kind, value, &field.path));
        }
    } else if let Some((_, kind)) = WEAK_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        if let Some(form) = hash_form(value) {
            out.push(plain_or(Some(form), kind, value, &field.path));
        } else if *kind == "email" && is_email_shaped(value) {
            out.push(plain_or(None, kind, value, &field.path));
        }
    }
    // Plain e-mail addresses anywhere (a thank-you page URL `?email=…`).
    if field.location == "cookie" {
        return;
    }
    // Decoding only turns `%40` into `@`: without either there is none.
    if memchr::memchr2(b'@', b'%', value.as_bytes()).is_none() {
        return;
    }
    let mut seen: Vec<String> = Vec::new();
    for layer in decode_layers(value, plus_is_space(field)).iter() {
        for (start, end) in find_emails(layer) {
            let Some(email) = layer.get(start..end) else {
                continue;
            };
            if seen.iter().any(|s| s.eq_ignore_ascii_case(email)) {
                continue;
            }
            seen.push(email.to_owned());
            out.push(plain_identifier("email", email, &field.path));
        }
    }
}

/// Whether `+` means a space in a field's value: in query and form
/// values, and in any URL (its query is form-encoded), but not in other
/// JSON strings.
fn plus_is_space(field: &Field) -> bool {
    field.location != "body.json" || looks_like_url(&field.value)
}

fn plain_or(form: Option<&str>, kind: &str, value: &str, path: &str) -> Identifier {
    Identifier {
        kind: kind.to_owned(),
        form: form.unwrap_or("plain").to_owned(),
        value: value.to_owned(),
        path: path.to_owned(),
        matched: None,
    }
}

/// `first-party` when the request went to the registrable domain of the
/// page it was made for, `third-party` otherwise; `None` when no page is
/// known. The page is the event's page URL, else the exchange's page, else
/// the Referer header.
///
/// Registrable domains come from the public suffix list *including* its
/// private section (`psl` crate): `a.github.io` and `b.github.io` are
/// different sites, as browsers treat them. IP addresses and single-label
/// hosts compare as themselves.
pub(crate) fn party(exchange: &Exchange, event: &Event) -> Option<String> {
    let page = event
        .page_url
        .as_deref()
        .and_then(url_host)
        .or_else(|| exchange.page_url.as_deref().and_then(url_host))
        .or_else(|| exchange.request.header("referer").and_then(url_host))?;
    let host = event
        .request
        .host
        .clone()
        .or_else(|| exchange.request.host())?;
    let same = site(&host) == site(&page);
    Some(if same { "first-party" } else { "third-party" }.to_owned())
}

/// The registrable domain of a host (the host itself for IP addresses and
/// names the list does not cover).
pub fn site(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.contains(':') {
        return host;
    }
    psl::domain_str(&host).map_or_else(|| host.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::{Cookie, Header, Kind, Request};

    fn analyzer(identities: &[&str]) -> Analyzer {
        let mut ids = Identities::new();
        for arg in identities {
            ids.parse_arg(arg).unwrap();
        }
        Analyzer::new(ids, Rules::defaults(), AnalyzerOptions::default()).unwrap()
    }

    fn exchange(url: &str) -> Exchange {
        Exchange {
            request: Request {
                method: "GET".into(),
                url: url.into(),
                ..Request::default()
            },
            ..Exchange::default()
        }
    }

    fn event(tracker: &str, exchange: &Exchange, fields: &[(&str, &str, Option<&str>)]) -> Event {
        let mut event = Event::for_exchange(tracker, tracker, Kind::Event, exchange);
        event.fields = fields
            .iter()
            .map(|(path, value, property)| Field {
                path: (*path).into(),
                location: "query".into(),
                value: (*value).into(),
                property: property.map(str::to_owned),
            })
            .collect();
        event
    }

    fn run(analyzer: &Analyzer, exchange: &Exchange, event: Event) -> Event {
        let mut events = vec![event];
        analyzer.analyze(exchange, &mut events);
        events.remove(0)
    }

    fn rules_of(event: &Event) -> Vec<String> {
        event
            .flags
            .iter()
            .map(|f| format!("{} {} @{}", f.rule, f.text, f.path))
            .collect()
    }

    #[test]
    fn analyzer_is_shared_between_threads() {
        fn assert_sync<T: Sync + Send>() {}
        assert_sync::<Analyzer>();
    }

    #[test]
    fn terms_match_whole_words_only() {
        let a = analyzer(&[]);
        let matched = |text: &str| {
            a.match_terms(text)
                .into_iter()
                .map(|(r, t)| format!("{r} {t}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            matched("/garden/spray-bottles"),
            Vec::<String>::new(),
            "pray is not in spray"
        );
        assert_eq!(matched("Let us pray"), vec!["religion.other pray"]);
        assert_eq!(matched("/shop/red-shoes?size=ed"), Vec::<String>::new());
        assert_eq!(
            matched("Erectile_Dysfunction treatment"),
            vec!["health.sexual-health erectile dysfunction"]
        );
        assert_eq!(
            matched("/contraceptives/compare"),
            vec!["health.reproductive contraceptives"]
        );
        assert_eq!(matched("debt-free living"), vec!["finance.debt debt"]);
    }

    #[test]
    fn hashes_need_field_context_and_32_hex_is_not_an_email_by_itself() {
        let a = analyzer(&[]);
        let x = exchange("https://t.example/c");
        let md5 = "0123456789abcdef0123456789abcdef";
        let sha = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";
        let e = run(
            &a,
            &x,
            event(
                "other",
                &x,
                &[
                    ("fingerprint", md5, None),
                    ("ud[em]", sha, None),
                    ("cd[em]", md5, None),
                    ("sid", sha, None),
                ],
            ),
        );
        let ids: Vec<(&str, &str, &str)> = e
            .identifiers
            .iter()
            .map(|i| (i.kind.as_str(), i.form.as_str(), i.path.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![("email", "sha256", "ud[em]"), ("email", "md5", "cd[em]")]
        );
    }

    #[test]
    fn google_user_data_parts_become_base64url_identifiers_and_match() {
        let a = analyzer(&[
            "email:John.Doe@Example.COM=subject-1",
            "phone:+1 (555) 010-4477=subject-1-phone",
        ]);
        let x = exchange("https://www.google-analytics.com/g/collect");
        let em = URL_SAFE_NO_PAD_OF_JOHN;
        let value = format!("tv.1~em.{em}");
        let e = run(&a, &x, event("ga4", &x, &[("em", &value, None)]));
        let id = e.identifiers.first().unwrap();
        assert_eq!(
            (id.kind.as_str(), id.form.as_str(), id.path.as_str()),
            ("email", "sha256-base64url", "em.em")
        );
        assert_eq!(id.matched.as_deref(), Some("subject-1"));
        let report = a.report();
        assert_eq!(
            report.lines().first().unwrap(),
            "subject-1 (email): 1 tracker: ga4 1 request [sha256-base64url]"
        );
    }

    /// base64url(sha256("john.doe@example.com")), no padding.
    const URL_SAFE_NO_PAD_OF_JOHN: &str = "g2-C25kSGzSBAR8WtJ36X7xxSg0bG594Sh67v1s5V38";

    #[test]
    fn decoder_identifiers_are_not_duplicated_but_are_matched() {
        let a = analyzer(&["email:john.doe@example.com=s1"]);
        let x = exchange("https://alb.reddit.com/rp.gif");
        let sha = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";
        let mut ev = event("reddit", &x, &[("em", sha, Some("email"))]);
        ev.identifiers.push(Identifier {
            kind: "email".into(),
            form: "sha256".into(),
            value: sha.into(),
            path: "em".into(),
            matched: None,
        });
        let e = run(&a, &x, ev);
        assert_eq!(e.identifiers.len(), 1);
        assert_eq!(
            e.identifiers.first().unwrap().matched.as_deref(),
            Some("s1")
        );
    }

    #[test]
    fn identities_in_cookies_and_headers_are_found_even_when_no_field_shows_them() {
        let a = analyzer(&["external_id:CRM-778812=crm"]);
        let mut x = exchange("https://t.example/c?id=1");
        x.request.cookies.push(Cookie {
            name: "crm_uid".into(),
            value: "CRM-778812".into(),
        });
        let e = run(&a, &x, event("other", &x, &[("id", "1", None)]));
        let id = e
            .identifiers
            .iter()
            .find(|i| i.matched.as_deref() == Some("crm"))
            .unwrap();
        assert_eq!(
            (id.path.as_str(), id.form.as_str()),
            ("cookie:crm_uid", "plain")
        );
    }

    #[test]
    fn thank_you_url_email_and_phone_are_identifiers_and_flags() {
        let a = analyzer(&[]);
        let x = exchange("https://www.facebook.com/tr/");
        let dl = "https://shop.example/thank-you?order=A-7781&email=jane%40example.org&phone=%2B1+555+010+9999";
        let e = run(
            &a,
            &x,
            event(
                "meta",
                &x,
                &[
                    ("dl", dl, Some("page_url")),
                    ("cd[order_id]", "A-7781", None),
                ],
            ),
        );
        let flags = rules_of(&e);
        for expected in [
            "url-parameter.email jane@example.org @dl",
            "url-parameter.phone +1 555 010 9999 @dl",
            "url-parameter.order A-7781 @dl",
            "url-parameter.order A-7781 @cd[order_id]",
        ] {
            assert!(
                flags.contains(&expected.to_owned()),
                "{expected} missing from {flags:#?}"
            );
        }
        let ids: Vec<(&str, &str)> = e
            .identifiers
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str()))
            .collect();
        assert!(ids.contains(&("email", "jane@example.org")));
        assert!(ids.contains(&("phone", "+1 555 010 9999")));
    }

    #[test]
    fn search_terms_are_shown_even_when_not_sensitive_and_ids_are_not_terms() {
        let a = analyzer(&[]);
        let x = exchange("https://t.example/c");
        let e = run(
            &a,
            &x,
            event(
                "other",
                &x,
                &[
                    (
                        "dl",
                        "https://shop.example/?s=garden+chairs&k=wvq7oai",
                        Some("page_url"),
                    ),
                    ("sw", "1440x900", None),
                    ("ep.search_term", "garden chairs", None),
                ],
            ),
        );
        assert_eq!(
            rules_of(&e),
            vec![
                "search.term garden chairs @dl",
                "search.term garden chairs @ep.search_term"
            ]
        );
    }

    #[test]
    fn urls_of_other_sites_are_read_for_terms_but_not_for_parameters() {
        let a = analyzer(&[]);
        let x = exchange("https://t.example/c");
        let e = run(
            &a,
            &x,
            event(
                "other",
                &x,
                &[
                    ("dl", "https://clinic.example/hiv-testing", Some("page_url")),
                    (
                        "lib",
                        "https://cdn.vendor.example/tag.js?account_id=7470&q=config",
                        None,
                    ),
                ],
            ),
        );
        assert_eq!(rules_of(&e), vec!["health.sexual-health hiv testing @dl"]);
    }

    #[test]
    fn linkage_needs_page_content_a_real_value_and_the_right_tracker() {
        let a = analyzer(&[]);
        let mut x = exchange("https://www.google-analytics.com/g/collect?cid=123.456&msclkid=N");
        x.request.headers.push(Header {
            name: "Cookie".into(),
            value: "_ga=GA1.1.123.456; other=1".into(),
        });
        let bare = run(
            &a,
            &x,
            event("ga4", &x, &[("cid", "123.456", Some("client_id"))]),
        );
        assert!(bare.flags.is_empty(), "no page content: {:?}", bare.flags);
        let with_page = run(
            &a,
            &x,
            event(
                "ga4",
                &x,
                &[
                    ("cid", "123.4567", Some("client_id")),
                    ("dl", "https://s.example/", Some("page_url")),
                ],
            ),
        );
        assert_eq!(
            rules_of(&with_page),
            vec![
                "linkage.cid 123.4567 @cid",
                "linkage._ga GA1.1.123.456 @cookie:_ga"
            ]
        );
        let other_tracker = run(
            &a,
            &x,
            event(
                "criteo",
                &x,
                &[
                    ("cid", "123.4567", None),
                    ("dl", "https://s.example/", Some("page_url")),
                ],
            ),
        );
        assert_eq!(
            rules_of(&other_tracker),
            vec!["linkage._ga GA1.1.123.456 @cookie:_ga"]
        );
    }

    #[test]
    fn policies_follow_the_tracker_and_category() {
        let a = analyzer(&[]);
        let x = exchange("https://t.example/c");
        let fields = [("dl", "https://s.example/debt-relief", Some("page_url"))];
        let tiktok = run(&a, &x, event("tiktok", &x, &fields));
        assert!(
            rules_of(&tiktok).contains(&"policy.tiktok-restricted-data debt relief @dl".to_owned())
        );
        let meta = run(&a, &x, event("meta", &x, &fields));
        assert!(
            rules_of(&meta).contains(&"policy.sensitive-to-ad-platform debt relief @dl".to_owned())
        );
        let ga4 = run(&a, &x, event("ga4", &x, &fields));
        assert!(ga4.flags.iter().all(|f| f.category != "policy"));
        let religion = run(
            &a,
            &x,
            event(
                "tiktok",
                &x,
                &[("dl", "https://s.example/mosque-times", Some("page_url"))],
            ),
        );
        assert!(
            religion.flags.iter().all(|f| f.category != "policy"),
            "religion is not on TikTok's list"
        );
    }

    #[test]
    fn party_compares_registrable_domains_with_the_private_section() {
        let a = analyzer(&[]);
        let cases = [
            (
                "https://metrics.shop.example.co.uk/g/collect",
                "https://www.shop.example.co.uk/",
                Some("first-party"),
            ),
            (
                "https://www.google-analytics.com/g/collect",
                "https://www.shop.example/",
                Some("third-party"),
            ),
            (
                "https://b.blogspot.com/x",
                "https://a.blogspot.com/",
                Some("third-party"),
            ),
            (
                "http://10.0.0.2/x",
                "http://10.0.0.2/page",
                Some("first-party"),
            ),
        ];
        for (url, page, expected) in cases {
            let x = exchange(url);
            let mut ev = event("other", &x, &[]);
            ev.page_url = Some(page.into());
            assert_eq!(
                run(&a, &x, ev).party.as_deref(),
                expected,
                "{url} on {page}"
            );
        }
        let x = exchange("https://t.example/c");
        assert_eq!(run(&a, &x, event("other", &x, &[])).party, None);
        let mut x = exchange("https://t.example/c");
        x.request.headers.push(Header {
            name: "Referer".into(),
            value: "https://www.t.example/".into(),
        });
        assert_eq!(
            run(&a, &x, event("other", &x, &[])).party.as_deref(),
            Some("first-party")
        );
    }

    /// A page URL that page inference took from an earlier navigation was
    /// never sent: nothing is flagged at it, no identifier comes from it,
    /// and it alone makes no linkage; a value the payload copied from it
    /// (the order number) is still flagged where the payload carries it.
    #[test]
    fn a_page_inferred_from_navigation_is_not_flagged_but_its_echoes_are() {
        let a = analyzer(&[]);
        let mut x = exchange("https://alb.reddit.com/rp.gif?uuid=1717.2b7e5a1c");
        x.request.headers.push(Header {
            name: "Referer".into(),
            value: "https://shop.example/".into(),
        });
        let mut ev = event(
            "reddit",
            &x,
            &[
                ("uuid", "1717.2b7e5a1c", None),
                ("m.transactionId", "LAB-1001", None),
            ],
        );
        ev.page_url = Some(
            "https://shop.example/thank-you?order=LAB-1001&email=j%40x.org&phone=%2B15550104477&q=hiv+test"
                .into(),
        );
        ev.page_url_from = Some("navigation".into());
        let e = run(&a, &x, ev.clone());
        // The echoed order number is content sent next to the uuid.
        assert_eq!(
            rules_of(&e),
            vec![
                "url-parameter.order LAB-1001 @m.transactionId",
                "linkage.uuid 1717.2b7e5a1c @uuid"
            ]
        );
        assert!(e.identifiers.is_empty(), "{:?}", e.identifiers);
        assert_eq!(e.party.as_deref(), Some("third-party"));

        // Without the echo there is no content, so the uuid is no linkage.
        ev.fields.retain(|f| f.path == "uuid");
        assert!(run(&a, &x, ev.clone()).flags.is_empty());
        // The same page sent in the payload is flagged, with linkage.
        ev.page_url_from = Some("payload".into());
        let sent = rules_of(&run(&a, &x, ev));
        for expected in [
            "url-parameter.email j@x.org @page_url",
            "search.term hiv test @page_url",
            "linkage.uuid 1717.2b7e5a1c @uuid",
            "policy.sensitive-to-ad-platform hiv test @page_url",
        ] {
            assert!(sent.contains(&expected.to_owned()), "{expected}: {sent:#?}");
        }
    }

    /// A page taken from the beacon's own Referer header was sent: it is
    /// flagged where the bytes are, at `header:referer`.
    #[test]
    fn a_page_from_the_referer_is_flagged_at_the_header() {
        let a = analyzer(&[]);
        let mut x = exchange("https://stats.g.doubleclick.net/r/collect?cid=948357285.1453");
        x.request.headers.push(Header {
            name: "Referer".into(),
            value: "https://clinic.example/hiv-testing?q=hiv+test".into(),
        });
        let mut ev = event("ga-universal", &x, &[("cid", "948357285.1453", None)]);
        ev.page_url = Some("https://clinic.example/hiv-testing?q=hiv+test".into());
        ev.page_url_from = Some("referer".into());
        let flags = rules_of(&run(&a, &x, ev));
        assert_eq!(
            flags,
            vec![
                "search.term hiv test @header:referer",
                "health.sexual-health hiv testing @header:referer",
                "health.sexual-health hiv test @header:referer",
                "linkage.cid 948357285.1453 @cid",
            ]
        );
    }

    #[test]
    fn exclusions_silence_the_terms_inside_them() {
        let a = analyzer(&[]);
        let matched = |text: &str| {
            a.match_terms(text)
                .into_iter()
                .map(|(r, t)| format!("{r} {t}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            matched("Terrorism,Islamic State in Iraq and Syria (ISIS),Istanbul"),
            Vec::<String>::new()
        );
        assert_eq!(
            matched("Islamic State, Islamic Art"),
            vec!["religion.islam islamic"]
        );
    }

    #[test]
    fn user_rule_files_extend_the_defaults() {
        let dir =
            std::env::temp_dir().join(format!("pixelscope-analyze-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mine.rules");
        std::fs::write(&path, "[terms health.rare-disease]\nfabry disease\n").unwrap();
        let mut a = analyzer(&[]);
        a.load_rules(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let x = exchange("https://t.example/c");
        let e = run(
            &a,
            &x,
            event(
                "other",
                &x,
                &[("dl", "https://s.example/fabry-disease", Some("page_url"))],
            ),
        );
        assert_eq!(rules_of(&e), vec!["health.rare-disease fabry disease @dl"]);
    }
}
