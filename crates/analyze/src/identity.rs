//! Known identities (`--identity KIND:VALUE[=LABEL]`, `--identities FILE`)
//! and the ways vendors normalise and hash them.
//!
//! An analyst who knows the subject's e-mail address wants to know every
//! place it went, however it was encoded. Each identity is therefore
//! expanded once into every *variant* a vendor documents (FORMATS.md §3):
//! normalised spellings (trimmed and lower-cased e-mail, the Gmail form
//! without dots, phone digits with and without `+`, E.164 with a default
//! country code, names without punctuation) and, for each, the digests
//! vendors send (SHA-256, SHA-1, MD5, SHA-512 in hex; SHA-256 in base64 and
//! base64url, with and without padding). The analyzer then looks values
//! up in that precomputed set instead of hashing anything per field.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use std::fmt;
use std::path::Path;

/// Identity kinds accepted on the command line and in identity files.
pub const KINDS: &[&str] = &[
    "email",
    "phone",
    "name",
    "first_name",
    "last_name",
    "external_id",
    "user_id",
    "date_of_birth",
    "city",
    "state",
    "zip",
    "country",
    "gender",
    "search_term",
];

/// One known identity: what the analyst is looking for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// One of [`KINDS`].
    pub kind: String,
    /// The value as given (trimmed).
    pub value: String,
    /// The name reports use for it: the `=LABEL` given, else `KIND-N`
    /// (`email-1`), so reports need not repeat the plaintext.
    pub label: String,
}

/// The list of known identities, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identities {
    list: Vec<Identity>,
}

/// A malformed identity argument or identity file line.
#[derive(Debug)]
pub struct IdentityError {
    /// `--identity` or the file name and line number.
    pub place: String,
    pub message: String,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

impl std::error::Error for IdentityError {}

impl Identities {
    pub fn new() -> Identities {
        Identities::default()
    }

    /// Parses and adds one `KIND:VALUE[=LABEL]` argument.
    ///
    /// The label is what follows the last `=` when that is a non-empty run
    /// of letters, digits, `.`, `_` or `-`; otherwise the whole text after
    /// `KIND:` is the value (so base64 padding such as `abc==` stays part
    /// of an external id).
    pub fn parse_arg(&mut self, arg: &str) -> Result<&Identity, IdentityError> {
        self.add_line(arg, "--identity")
    }

    /// Reads an identity file: one `KIND:VALUE[=LABEL]` per line; blank
    /// lines and lines starting with `#` are ignored.
    pub fn load(&mut self, path: &Path) -> Result<usize, IdentityError> {
        let text = std::fs::read_to_string(path).map_err(|e| IdentityError {
            place: path.display().to_string(),
            message: format!("cannot read identity file: {e}"),
        })?;
        self.parse_file(&text, &path.display().to_string())
    }

    /// Parses identity-file text; `source` names it in errors. Returns how
    /// many identities were added.
    pub fn parse_file(&mut self, text: &str, source: &str) -> Result<usize, IdentityError> {
        let mut added = 0;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add_line(line, &format!("{source}:{}", index + 1))?;
            added += 1;
        }
        Ok(added)
    }

    fn add_line(&mut self, text: &str, place: &str) -> Result<&Identity, IdentityError> {
        let error = |message: String| IdentityError {
            place: place.to_owned(),
            message,
        };
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| error(format!("expected KIND:VALUE, got {text:?}")))?;
        let kind = kind.trim().to_ascii_lowercase().replace('-', "_");
        if !KINDS.contains(&kind.as_str()) {
            return Err(error(format!(
                "unknown identity kind {kind:?} (known: {})",
                KINDS.join(", ")
            )));
        }
        let (value, label) = match rest.rsplit_once('=') {
            Some((value, label)) if is_label(label.trim()) => {
                (value.trim(), Some(label.trim().to_owned()))
            }
            _ => (rest.trim(), None),
        };
        if value.is_empty() {
            return Err(error(format!("empty {kind} value")));
        }
        let label = label.unwrap_or_else(|| {
            let n = self.list.iter().filter(|i| i.kind == kind).count() + 1;
            format!("{kind}-{n}")
        });
        if self.list.iter().any(|i| i.label == label) {
            return Err(error(format!("label {label:?} is used twice")));
        }
        self.list.push(Identity {
            kind,
            value: value.to_owned(),
            label,
        });
        self.list
            .last()
            .ok_or_else(|| error("identity was not stored".to_owned()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Identity> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// How a variant must be delimited where it is found, and whether case
/// matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A hex digest: not next to another hex digit; any case.
    Hex,
    /// A base64 or base64url digest: not next to another base64 character;
    /// case-sensitive.
    Base64,
    /// A plain e-mail address: not inside a longer address.
    Email,
    /// Phone digits: not next to another digit.
    Digits,
    /// Words (names, search terms, ids): not inside a longer word.
    Words,
}

impl Shape {
    pub(crate) fn case_sensitive(self) -> bool {
        self == Shape::Base64
    }

    fn is_continuation(self, c: char) -> bool {
        match self {
            Shape::Hex => c.is_ascii_hexdigit(),
            Shape::Base64 => c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_'),
            Shape::Email => c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-'),
            Shape::Digits => c.is_ascii_digit(),
            Shape::Words => c.is_alphanumeric(),
        }
    }

    /// Whether `haystack[start..end]` stands on its own.
    pub(crate) fn bounded(self, haystack: &str, start: usize, end: usize) -> bool {
        let before = haystack.get(..start).and_then(|s| s.chars().next_back());
        let after = haystack.get(end..).and_then(|s| s.chars().next());
        let before_ok = before.is_none_or(|c| !self.is_continuation(c));
        // A trailing dot ends a sentence, not an address (`…@x.org.`).
        let after_ok =
            after.is_none_or(|c| !self.is_continuation(c) || (self == Shape::Email && c == '.'));
        before_ok && after_ok
    }
}

/// One searchable spelling of an identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Index of the identity in [`Identities`].
    pub identity: usize,
    /// The text to find (lower-case unless [`Shape::Base64`]).
    pub text: String,
    /// Identifier form: `plain`, `sha256`, `sha256-base64url`, …
    pub form: &'static str,
    /// Which normalisation produced it (`lowercase`, `e164`, …), for the
    /// report.
    pub normalisation: &'static str,
    pub shape: Shape,
}

/// Options that change how identities are normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalisation {
    /// Country calling code assumed for phone numbers written without one
    /// (digits only, default `1`).
    pub default_country_code: String,
}

impl Default for Normalisation {
    fn default() -> Self {
        Normalisation {
            default_country_code: "1".to_owned(),
        }
    }
}

/// Every variant of every identity.
pub(crate) fn variants(identities: &Identities, options: &Normalisation) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    for (index, identity) in identities.iter().enumerate() {
        let spellings = spellings(identity, options);
        for spelling in &spellings {
            if spelling.plain {
                push_unique(
                    &mut out,
                    Variant {
                        identity: index,
                        text: spelling.text.to_lowercase(),
                        form: "plain",
                        normalisation: spelling.normalisation,
                        shape: spelling.shape,
                    },
                );
            }
            for (form, digest, shape) in digests(&spelling.text) {
                push_unique(
                    &mut out,
                    Variant {
                        identity: index,
                        text: digest,
                        form,
                        normalisation: spelling.normalisation,
                        shape,
                    },
                );
            }
        }
    }
    out
}

fn push_unique(out: &mut Vec<Variant>, variant: Variant) {
    let seen = out.iter().any(|v| {
        v.identity == variant.identity && v.text == variant.text && v.shape == variant.shape
    });
    if !seen && !variant.text.is_empty() {
        out.push(variant);
    }
}

/// A normalised spelling before hashing.
struct Spelling {
    text: String,
    normalisation: &'static str,
    /// Whether to search for the spelling itself, not only its digests.
    plain: bool,
    shape: Shape,
}

fn spelling(text: String, normalisation: &'static str, plain: bool, shape: Shape) -> Spelling {
    Spelling {
        text,
        normalisation,
        plain,
        shape,
    }
}

fn spellings(identity: &Identity, options: &Normalisation) -> Vec<Spelling> {
    let raw = identity.value.trim();
    let lower = raw.to_lowercase();
    let mut out = Vec::new();
    match identity.kind.as_str() {
        "email" => {
            out.push(spelling(lower.clone(), "lowercase", true, Shape::Email));
            if let Some((local, domain)) = lower.rsplit_once('@')
                && matches!(domain, "gmail.com" | "googlemail.com")
                && local.contains('.')
            {
                out.push(spelling(
                    format!("{}@{domain}", local.replace('.', "")),
                    "gmail-without-dots",
                    true,
                    Shape::Email,
                ));
            }
            if raw != lower {
                // Sites that forget to lower-case before hashing.
                out.push(spelling(raw.to_owned(), "as-given", false, Shape::Email));
            }
        }
        "phone" => phone_spellings(raw, &options.default_country_code, &mut out),
        "name" | "first_name" | "last_name" => {
            let clean = name_clean(&lower);
            out.push(spelling(
                clean.clone(),
                "lowercase-no-punctuation",
                true,
                Shape::Words,
            ));
            out.push(spelling(
                clean.replace(' ', ""),
                "lowercase-no-spaces",
                false,
                Shape::Words,
            ));
            if identity.kind == "name" {
                // Vendors hash first and last name separately (Meta fn/ln).
                let words: Vec<&str> = clean.split(' ').collect();
                if words.len() > 1 {
                    if let Some(first) = words.first() {
                        out.push(spelling(
                            (*first).to_owned(),
                            "first-word",
                            false,
                            Shape::Words,
                        ));
                    }
                    if let Some(last) = words.last() {
                        out.push(spelling(
                            (*last).to_owned(),
                            "last-word",
                            false,
                            Shape::Words,
                        ));
                    }
                }
            }
        }
        "date_of_birth" => {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            out.push(spelling(digits, "yyyymmdd", true, Shape::Digits));
            out.push(spelling(lower, "as-given", true, Shape::Words));
        }
        "city" | "state" => {
            out.push(spelling(
                lower.chars().filter(|c| c.is_alphabetic()).collect(),
                "letters-only",
                true,
                Shape::Words,
            ));
            out.push(spelling(
                name_clean(&lower),
                "lowercase-no-punctuation",
                true,
                Shape::Words,
            ));
        }
        "zip" => {
            let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
            if let Some((first, _)) = compact.split_once('-') {
                out.push(spelling(first.to_owned(), "zip5", true, Shape::Words));
            }
            out.push(spelling(compact, "no-spaces", true, Shape::Words));
        }
        "gender" => {
            if let Some(first) = lower.chars().next() {
                out.push(spelling(first.to_string(), "initial", false, Shape::Words));
            }
            out.push(spelling(lower, "lowercase", false, Shape::Words));
        }
        "search_term" => {
            out.push(spelling(
                lower.split_whitespace().collect::<Vec<_>>().join(" "),
                "lowercase",
                true,
                Shape::Words,
            ));
        }
        _ => {
            // external_id, user_id, country: as given and lower-cased.
            out.push(spelling(lower.clone(), "lowercase", true, Shape::Words));
            if raw != lower {
                out.push(spelling(raw.to_owned(), "as-given", false, Shape::Words));
            }
        }
    }
    out
}

/// Lower-case letters, digits and single spaces: punctuation removed
/// (Meta, Google: "no punctuation").
fn name_clean(lower: &str) -> String {
    let kept: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    // "O'Brien" → "obrien" is the vendors' reading, so drop apostrophes
    // rather than splitting on them.
    let without_apostrophes: String = lower
        .chars()
        .filter(|c| !matches!(c, '\'' | '’' | '.'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let pick = if lower.contains(['\'', '’', '.']) {
        without_apostrophes
    } else {
        kept
    };
    pick.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Phone spellings: digits as given, international digits with and
/// without `+` (Meta and Snap hash without, TikTok and Google with), and
/// the national number when the country code is the default one.
fn phone_spellings(raw: &str, default_cc: &str, out: &mut Vec<Spelling>) {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return;
    }
    let explicit_plus = raw.trim_start().starts_with('+');
    let international = if explicit_plus {
        digits.clone()
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        // National form: drop trunk zeros (Snap, Meta), then add the
        // default country code unless the number already starts with it
        // and is long enough to hold one (US: 11 digits starting with 1).
        let national = digits.trim_start_matches('0');
        if national.starts_with(default_cc) && national.len() > 10 {
            national.to_owned()
        } else {
            format!("{default_cc}{national}")
        }
    };
    let national = international
        .strip_prefix(default_cc)
        .filter(|n| n.len() >= 6)
        .map(str::to_owned);
    out.push(spelling(
        international.clone(),
        "digits",
        true,
        Shape::Digits,
    ));
    out.push(spelling(
        format!("+{international}"),
        "e164",
        true,
        Shape::Digits,
    ));
    if let Some(national) = national {
        out.push(spelling(national.clone(), "national", true, Shape::Digits));
        out.push(spelling(
            format!("0{national}"),
            "national-trunk-zero",
            false,
            Shape::Digits,
        ));
    }
    if digits != international {
        out.push(spelling(digits, "digits-as-given", true, Shape::Digits));
    }
    let trimmed = raw.trim().to_owned();
    if trimmed.chars().any(|c| !c.is_ascii_digit() && c != '+') {
        // The formatted number as typed (`+1 (555) 010-4477` in a URL).
        out.push(spelling(trimmed, "as-given", true, Shape::Words));
    }
}

/// The digests vendors send for one spelling.
fn digests(text: &str) -> Vec<(&'static str, String, Shape)> {
    let bytes = text.as_bytes();
    let sha256 = Sha256::digest(bytes);
    let mut out = vec![
        ("sha256", hex(&sha256), Shape::Hex),
        ("sha1", hex(&Sha1::digest(bytes)), Shape::Hex),
        ("md5", hex(&Md5::digest(bytes)), Shape::Hex),
        ("sha512", hex(&Sha512::digest(bytes)), Shape::Hex),
        (
            "sha256-base64url",
            URL_SAFE_NO_PAD.encode(sha256),
            Shape::Base64,
        ),
        ("sha256-base64url", URL_SAFE.encode(sha256), Shape::Base64),
        ("sha256-base64", STANDARD.encode(sha256), Shape::Base64),
        (
            "sha256-base64",
            STANDARD_NO_PAD.encode(sha256),
            Shape::Base64,
        ),
    ];
    out.dedup_by(|a, b| a.1 == b.1);
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(
            DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            DIGITS.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0'),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(identities: &Identities, form: &str) -> Vec<String> {
        variants(identities, &Normalisation::default())
            .into_iter()
            .filter(|v| v.form == form)
            .map(|v| v.text)
            .collect()
    }

    #[test]
    fn labels_come_from_the_argument_or_are_numbered_per_kind() {
        let mut ids = Identities::new();
        ids.parse_arg("email:alice@example.org=subject-1").unwrap();
        ids.parse_arg("email:bob@example.org").unwrap();
        ids.parse_arg("external_id:QUJD==").unwrap();
        let labels: Vec<&str> = ids.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, vec!["subject-1", "email-2", "external_id-1"]);
        assert_eq!(ids.iter().nth(2).unwrap().value, "QUJD==");
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let mut ids = Identities::new();
        assert!(ids.parse_arg("alice@example.org").is_err());
        assert!(ids.parse_arg("emial:alice@example.org").is_err());
        assert!(ids.parse_arg("email:").is_err());
        ids.parse_arg("email:a@b.org=x").unwrap();
        assert!(ids.parse_arg("phone:123=x").is_err(), "duplicate label");
    }

    #[test]
    fn identity_files_skip_comments_and_name_the_line_of_an_error() {
        let mut ids = Identities::new();
        let n = ids
            .parse_file(
                "# subjects\nemail:a@b.org=s1\n\nphone:+44 20 7946 0018\n",
                "ids.txt",
            )
            .unwrap();
        assert_eq!(n, 2);
        let err = Identities::new()
            .parse_file("email:a@b.org\nnope\n", "ids.txt")
            .unwrap_err();
        assert_eq!(err.place, "ids.txt:2");
    }

    #[test]
    fn email_hashes_match_the_lab_ground_truth() {
        let mut ids = Identities::new();
        ids.parse_arg("email:John.Doe@Example.COM").unwrap();
        assert!(texts(&ids, "sha256").contains(
            &"836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f".to_owned()
        ));
    }

    #[test]
    fn phone_variants_cover_meta_snap_and_tiktok_rules() {
        let mut ids = Identities::new();
        ids.parse_arg("phone:+1 (555) 010-4477").unwrap();
        let sha = texts(&ids, "sha256");
        // Meta / Snap: digits without '+'; TikTok / Google: E.164 with '+'.
        assert!(sha.contains(
            &"25534ffa4a703793a7e360a41490b33a320598feafaf9ceecd3d841d6c6981db".to_owned()
        ));
        assert!(sha.contains(
            &"a6d53e23afd8a0e58ed88a857dec0272f27fb99ff0803e6cb1031201d78cade5".to_owned()
        ));
        let plain = texts(&ids, "plain");
        for expected in [
            "15550104477",
            "+15550104477",
            "5550104477",
            "+1 (555) 010-4477",
        ] {
            assert!(
                plain.contains(&expected.to_owned()),
                "{expected} missing from {plain:?}"
            );
        }
    }

    #[test]
    fn national_numbers_get_the_default_country_code() {
        let mut ids = Identities::new();
        ids.parse_arg("phone:020 7946 0018").unwrap();
        let options = Normalisation {
            default_country_code: "44".to_owned(),
        };
        let plain: Vec<String> = variants(&ids, &options)
            .into_iter()
            .filter(|v| v.form == "plain")
            .map(|v| v.text)
            .collect();
        assert!(plain.contains(&"442079460018".to_owned()));
        assert!(plain.contains(&"+442079460018".to_owned()));
    }

    #[test]
    fn gmail_addresses_also_match_without_dots() {
        let mut ids = Identities::new();
        ids.parse_arg("email: Jane.Roe@GMail.com ").unwrap();
        let plain = texts(&ids, "plain");
        assert!(plain.contains(&"jane.roe@gmail.com".to_owned()));
        assert!(plain.contains(&"janeroe@gmail.com".to_owned()));
    }

    #[test]
    fn names_lose_punctuation_and_are_hashed_per_word() {
        let mut ids = Identities::new();
        ids.parse_arg("name:Seán O'Brien").unwrap();
        let plain = texts(&ids, "plain");
        assert!(plain.contains(&"seán obrien".to_owned()), "{plain:?}");
        let sha = texts(&ids, "sha256");
        assert!(sha.len() >= 4, "full name, no-space form and each word");
    }
}
