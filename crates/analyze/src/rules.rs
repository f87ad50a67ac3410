//! Rule packs: the data behind sensitive-content, URL-parameter, search,
//! linkage and policy flags.
//!
//! Rules are plain text so that analysts can read what fires and add their
//! own without recompiling. The defaults under `crates/analyze/rules/` are
//! embedded in the binary; [`Rules::load`] reads a user file with the same
//! syntax, which is *added* to whatever is loaded already.
//!
//! ```text
//! # A comment (only at the start of a line).
//! [terms health.sexual-health]      # flag category = the part before the first dot
//! erectile dysfunction              # a phrase: whole words, in order, any separators
//! chlamydia
//! contracepti*                      # a trailing * matches any word starting so
//!
//! [exclude]                         # phrases that contain a term but are not
//! islamic state                     # sensitive: the term inside does not fire
//!
//! [parameters url-parameter.email]  # page-URL query keys (case-insensitive)
//! email
//!
//! [search-keys]                     # page-URL query keys that hold a site search
//! q
//!
//! [search-fields]                   # payload field names that hold a search term
//! search_term
//!
//! [platform-ids google]             # NAME  cookie|param|any  [tracker ...]
//! _ga    cookie
//! cid    param   ga4 ga-universal
//!
//! [policy policy.tiktok-restricted-data]
//! trackers = tiktok
//! categories = health children finance
//! ```

use crate::text::word_string;
use std::fmt;
use std::path::Path;

/// The default rule packs, embedded at build time.
const DEFAULT_PACKS: &[(&str, &str)] = &[
    (
        "rules/sensitive.rules",
        include_str!("../rules/sensitive.rules"),
    ),
    (
        "rules/parameters.rules",
        include_str!("../rules/parameters.rules"),
    ),
    (
        "rules/linkage.rules",
        include_str!("../rules/linkage.rules"),
    ),
    ("rules/policy.rules", include_str!("../rules/policy.rules")),
];

/// A phrase of a `[terms …]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// The rule that fires (`health.sexual-health`).
    pub rule: String,
    /// The phrase as normalised words (`erectile dysfunction`).
    pub words: String,
    /// Whether the last word is a prefix (`contracepti*`).
    pub prefix: bool,
}

/// Where a platform identity may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only as a cookie.
    Cookie,
    /// Only as a payload parameter (query, form, JSON, …).
    Param,
    /// Anywhere.
    Any,
}

/// A platform identity name of a `[platform-ids …]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformId {
    /// Platform (section name: `meta`, `google`, …).
    pub platform: String,
    /// The cookie or parameter name, as written (`_fbp`, `MUID`); matched
    /// case-insensitively.
    pub name: String,
    pub scope: Scope,
    /// Tracker ids the name is limited to (empty: any tracker). Generic
    /// names such as `cid` or `uuid` only mean a platform id on their own
    /// platform's beacons.
    pub trackers: Vec<String>,
}

/// A `[policy …]` section: an extra flag when one of `trackers` receives
/// content of one of `categories`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub rule: String,
    pub trackers: Vec<String>,
    pub categories: Vec<String>,
}

/// A set of rule packs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub terms: Vec<Term>,
    /// Normalised phrases of `[exclude]` sections: a term match inside one
    /// of them does not fire (`islamic state` is not religion).
    pub exclusions: Vec<String>,
    /// `(rule, lower-case key)` pairs of `[parameters …]` sections.
    pub parameters: Vec<(String, String)>,
    pub search_keys: Vec<String>,
    pub search_fields: Vec<String>,
    pub platform_ids: Vec<PlatformId>,
    pub policies: Vec<Policy>,
    /// Names of the packs read, in order (for exhibit metadata).
    pub sources: Vec<String>,
}

/// A rule file that could not be read or parsed.
#[derive(Debug)]
pub struct RulesError {
    /// File name (or embedded pack name) and line number.
    pub place: String,
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

impl std::error::Error for RulesError {}

enum Section {
    None,
    Terms(String),
    Exclude,
    Parameters(String),
    SearchKeys,
    SearchFields,
    PlatformIds(String),
    Policy(usize),
}

impl Rules {
    /// The embedded default packs.
    pub fn defaults() -> Rules {
        let mut rules = Rules::default();
        for (name, text) in DEFAULT_PACKS {
            // The embedded packs are tested to parse; should one ever fail,
            // the packs before it still apply.
            if rules.add_text(text, name).is_err() {
                break;
            }
        }
        rules
    }

    /// An empty set (no flags at all except first/third party).
    pub fn empty() -> Rules {
        Rules::default()
    }

    /// Reads a rule file and adds its rules.
    pub fn load(&mut self, path: &Path) -> Result<(), RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            place: path.display().to_string(),
            message: format!("cannot read rule file: {e}"),
        })?;
        self.add_text(&text, &path.display().to_string())
    }

    /// Parses rule-file text (named `source` in errors) and adds its rules.
    /// Nothing is added when the text has an error.
    pub fn add_text(&mut self, text: &str, source: &str) -> Result<(), RulesError> {
        let mut parsed = Rules::default();
        let mut section = Section::None;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |message: String| RulesError {
                place: format!("{source}:{}", index + 1),
                message,
            };
            if let Some(header) = line.strip_prefix('[') {
                let header = header
                    .strip_suffix(']')
                    .ok_or_else(|| error("section header without ]".to_owned()))?;
                section = parse_header(header, &mut parsed).map_err(error)?;
                continue;
            }
            match &section {
                Section::None => return Err(error("a rule line before any [section]".to_owned())),
                Section::Terms(rule) => {
                    let (phrase, prefix) = match line.strip_suffix('*') {
                        Some(stem) => (stem, true),
                        None => (line, false),
                    };
                    let words = word_string(phrase).trim().to_owned();
                    if words.is_empty() {
                        return Err(error(format!("{line:?} has no words")));
                    }
                    if prefix && words.chars().count() < 4 {
                        return Err(error(format!(
                            "prefix {line:?} is too short to be specific"
                        )));
                    }
                    parsed.terms.push(Term {
                        rule: rule.clone(),
                        words,
                        prefix,
                    });
                }
                Section::Exclude => {
                    let words = word_string(line).trim().to_owned();
                    if words.is_empty() {
                        return Err(error(format!("{line:?} has no words")));
                    }
                    parsed.exclusions.push(words);
                }
                Section::Parameters(rule) => parsed
                    .parameters
                    .push((rule.clone(), line.to_ascii_lowercase())),
                Section::SearchKeys => parsed.search_keys.push(line.to_ascii_lowercase()),
                Section::SearchFields => parsed.search_fields.push(line.to_ascii_lowercase()),
                Section::PlatformIds(platform) => {
                    let mut columns = line.split_whitespace();
                    let name = columns.next().unwrap_or_default().to_owned();
                    let scope = match columns.next() {
                        Some("cookie") => Scope::Cookie,
                        Some("param") => Scope::Param,
                        Some("any") | None => Scope::Any,
                        Some(other) => {
                            return Err(error(format!(
                                "scope {other:?} is not cookie, param or any"
                            )));
                        }
                    };
                    let trackers = columns.map(str::to_owned).collect();
                    parsed.platform_ids.push(PlatformId {
                        platform: platform.clone(),
                        name,
                        scope,
                        trackers,
                    });
                }
                Section::Policy(index) => {
                    let (key, value) = line.split_once('=').ok_or_else(|| {
                        error("expected trackers = … or categories = …".to_owned())
                    })?;
                    let list: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
                    let policy = parsed
                        .policies
                        .get_mut(*index)
                        .ok_or_else(|| error("policy section lost".to_owned()))?;
                    match key.trim() {
                        "trackers" => policy.trackers.extend(list),
                        "categories" => policy.categories.extend(list),
                        other => return Err(error(format!("unknown policy key {other:?}"))),
                    }
                }
            }
        }
        for policy in &parsed.policies {
            if policy.trackers.is_empty() || policy.categories.is_empty() {
                return Err(RulesError {
                    place: source.to_owned(),
                    message: format!("policy {} needs trackers and categories", policy.rule),
                });
            }
        }
        self.terms.extend(parsed.terms);
        self.exclusions.extend(parsed.exclusions);
        self.parameters.extend(parsed.parameters);
        self.search_keys.extend(parsed.search_keys);
        self.search_fields.extend(parsed.search_fields);
        self.platform_ids.extend(parsed.platform_ids);
        self.policies.extend(parsed.policies);
        self.sources.push(source.to_owned());
        Ok(())
    }
}

fn parse_header(header: &str, parsed: &mut Rules) -> Result<Section, String> {
    let mut words = header.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let name = words.next();
    if words.next().is_some() {
        return Err(format!("[{header}] has more than two words"));
    }
    let rule_name = |what: &str| -> Result<String, String> {
        let name = name.ok_or_else(|| format!("[{what}] needs a rule name"))?;
        let valid = name.contains('.')
            && !name.starts_with('.')
            && !name.ends_with('.')
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            });
        if valid {
            Ok(name.to_owned())
        } else {
            Err(format!(
                "rule name {name:?} must be category.rule in lower case"
            ))
        }
    };
    match kind {
        "terms" => Ok(Section::Terms(rule_name("terms")?)),
        "exclude" if name.is_none() => Ok(Section::Exclude),
        "exclude" => Err("[exclude] takes no name".to_owned()),
        "parameters" => Ok(Section::Parameters(rule_name("parameters")?)),
        "search-keys" => Ok(Section::SearchKeys),
        "search-fields" => Ok(Section::SearchFields),
        "platform-ids" => Ok(Section::PlatformIds(
            name.ok_or("[platform-ids] needs a platform name")?
                .to_owned(),
        )),
        "policy" => {
            let rule = rule_name("policy")?;
            parsed.policies.push(Policy {
                rule,
                trackers: Vec::new(),
                categories: Vec::new(),
            });
            Ok(Section::Policy(parsed.policies.len() - 1))
        }
        other => Err(format!("unknown section kind {other:?}")),
    }
}

/// The category of a rule: the part before the first dot.
pub(crate) fn category_of(rule: &str) -> &str {
    rule.split('.').next().unwrap_or(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_packs_parse() {
        let mut rules = Rules::default();
        for (name, text) in DEFAULT_PACKS {
            rules.add_text(text, name).unwrap();
        }
        assert_eq!(rules, Rules::defaults());
        assert!(
            rules
                .terms
                .iter()
                .any(|t| t.rule == "health.sexual-health" && t.words == "erectile dysfunction")
        );
        assert!(
            rules
                .policies
                .iter()
                .any(|p| p.rule == "policy.tiktok-restricted-data")
        );
    }

    #[test]
    fn user_files_add_rules_and_errors_name_the_line() {
        let mut rules = Rules::empty();
        rules
            .add_text(
                "[terms health.rare-disease]\nfabry disease\nacromegal*\n",
                "mine.rules",
            )
            .unwrap();
        assert_eq!(rules.terms.len(), 2);
        assert!(rules.terms.get(1).unwrap().prefix);
        let err = rules
            .add_text("# ok\nstray line\n", "bad.rules")
            .unwrap_err();
        assert_eq!(err.place, "bad.rules:2");
        let err = rules
            .add_text("[terms Health]\nx\n", "bad.rules")
            .unwrap_err();
        assert!(err.message.contains("category.rule"));
        let err = rules
            .add_text("[terms health.x]\nab*\n", "bad.rules")
            .unwrap_err();
        assert!(err.message.contains("too short"));
        assert_eq!(rules.terms.len(), 2, "failed files add nothing");
        let err = rules
            .add_text("[exclude everything]\nx\n", "bad.rules")
            .unwrap_err();
        assert!(err.message.contains("takes no name"));
        rules
            .add_text("[exclude]\nThank-You for subscribing\n", "mine.rules")
            .unwrap();
        assert_eq!(rules.exclusions, vec!["thank you for subscribing"]);
    }
}
