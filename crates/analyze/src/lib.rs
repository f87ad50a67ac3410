//! Leak analysis: what the decoded tracker events reveal about the visitor.
//!
//! The principal type is the [`Analyzer`]. It runs after the decoders, on
//! all events of one HTTP [`Exchange`](pixelscope_model::Exchange) at once
//! ([`Analyzer::analyze`]), and fills in what a decoder cannot know on its
//! own:
//!
//! * **identifiers** — e-mail, phone, names, address parts, dates of birth
//!   and external ids in any field, plain or hashed, recognised by the
//!   field's property, by its name (`em`, `hem`, `u_hpn`, …) together with
//!   a digest shape, and plain e-mail addresses anywhere (a thank-you page
//!   URL with `?email=`). A bare 32-hex value is never called a hashed
//!   e-mail without field context (FORMATS.md §2.1);
//! * **identity matches** — [`Identities`] given by the analyst
//!   (`--identity email:alice@example.org=subject-1`) are expanded once into
//!   every vendor normalisation and digest (see [`identity`]) and searched
//!   for in every field *and* in every raw layer of the request (URL,
//!   headers, cookies, form/JSON/multipart bodies, percent-encoded, base64
//!   and gzip layers). A match sets `identifiers[].matched` to the
//!   identity's label; per-exchange [`IdentityTally`]s merge into an
//!   [`IdentityReport`] with one summary line per identity;
//! * **sensitive-content flags** — phrases from [`Rules`] packs (health,
//!   sexual and reproductive health, mental health and addiction, abuse,
//!   religion, sexuality and gender identity, immigration, finance,
//!   children, government services) matched on whole words in page URLs
//!   (path and decoded query), referrers, titles, search terms, content
//!   names and button texts; search terms themselves (`search.term`) and
//!   personal data in page-URL parameters (`url-parameter.email`, …).
//!   Only what the tracker received is flagged: a page URL that
//!   [`PageTracker`] inferred from an earlier navigation
//!   (`page_url_from: navigation`) is read only for values the payload
//!   copied from it (an order number), never flagged itself;
//! * **linkage flags** — a platform identity (`_fbp`, `_ttp`, `_ga`,
//!   `MUID`, …) in the same request as page content the tracker received,
//!   or as anything a content rule flagged (`linkage.<name>`);
//! * **policy flags** — sensitive categories sent to a tracker whose terms
//!   forbid them (`policy.tiktok-restricted-data`,
//!   `policy.sensitive-to-ad-platform`);
//! * **party** — `first-party` or `third-party` by registrable domain
//!   (public suffix list including its private section) of the request
//!   host against the page.
//!
//! docs/ANALYSIS.md describes every rule, the vendor normalisations, and
//! the rule-file and identity-file formats.
//!
//! Everything is compiled once in [`Analyzer::new`] (hash variants into a
//! lookup table and Aho-Corasick automata, rule phrases into one
//! automaton), so the per-event cost is a few linear scans. The analyzer
//! is `Sync` and never panics on input; all output is deterministic.
//!
//! ```
//! use pixelscope_analyze::{Analyzer, AnalyzerOptions, Identities, Rules};
//! use pixelscope_model::{Event, Exchange, Field, Kind, Request};
//!
//! let mut identities = Identities::new();
//! identities.parse_arg("email:John.Doe@Example.COM=subject-1").unwrap();
//! let analyzer = Analyzer::new(identities, Rules::defaults(), AnalyzerOptions::default()).unwrap();
//!
//! let exchange = Exchange {
//!     request: Request { method: "GET".into(), url: "https://alb.reddit.com/rp.gif?em=836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f".into(), ..Request::default() },
//!     ..Exchange::default()
//! };
//! let mut event = Event::for_exchange("reddit", "Reddit", Kind::Event, &exchange);
//! event.fields.push(Field { path: "em".into(), location: "query".into(),
//!     value: "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f".into(), property: None });
//! event.page_url = Some("https://shop.example/health/erectile-dysfunction".into());
//! let mut events = vec![event];
//! analyzer.analyze(&exchange, &mut events);
//!
//! let id = &events[0].identifiers[0];
//! assert_eq!((id.kind.as_str(), id.form.as_str(), id.matched.as_deref()), ("email", "sha256", Some("subject-1")));
//! assert!(events[0].flags.iter().any(|f| f.rule == "health.sexual-health"));
//! assert_eq!(events[0].party.as_deref(), Some("third-party"));
//! ```

mod analyzer;
pub mod identity;
mod layers;
mod page;
mod report;
pub mod rules;
mod text;

pub use analyzer::{Analyzer, AnalyzerOptions, BuildError, site};
pub use identity::{Identities, Identity, IdentityError, Normalisation};
pub use page::{PageSnapshot, PageTracker};
pub use report::{IdentityReport, IdentitySummary, IdentityTally, Receipt};
pub use rules::{Rules, RulesError};
