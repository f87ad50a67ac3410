//! Where each known identity went: per-exchange tallies that merge into a
//! per-run report.
//!
//! Scans run files in parallel, so [`Analyzer::analyze`](crate::Analyzer::analyze)
//! returns an [`IdentityTally`] for one exchange; tallies merge in any
//! order to the same result (counts add, sets unite, keys are sorted), and
//! [`IdentityReport`] turns the merged tally into one summary line per
//! identity.

use crate::identity::Identities;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What one tracker received of one identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Requests that carried it.
    pub requests: u64,
    /// Events (records) that carried it; a batched request counts once per
    /// event.
    pub events: u64,
    /// Identifier forms seen (`plain`, `sha256`, `sha256-base64url`, …).
    pub forms: BTreeSet<String>,
    /// Normalisations that produced the matching value (`lowercase`,
    /// `e164`, `digits`, `gmail-without-dots`, …).
    pub normalisations: BTreeSet<String>,
}

impl Receipt {
    fn merge(&mut self, other: Receipt) {
        self.requests += other.requests;
        self.events += other.events;
        self.forms.extend(other.forms);
        self.normalisations.extend(other.normalisations);
    }
}

/// Identity matches, keyed by (identity label, tracker id). Mergeable and
/// order-independent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityTally {
    receipts: BTreeMap<(String, String), Receipt>,
}

impl IdentityTally {
    /// Adds another tally (from another exchange or another thread).
    pub fn merge(&mut self, other: IdentityTally) {
        for (key, receipt) in other.receipts {
            self.receipts.entry(key).or_default().merge(receipt);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// What `tracker` received of the identity labelled `label`.
    pub fn receipt(&self, label: &str, tracker: &str) -> Option<&Receipt> {
        self.receipts.get(&(label.to_owned(), tracker.to_owned()))
    }

    pub(crate) fn entry(&mut self, label: &str, tracker: &str) -> &mut Receipt {
        self.receipts
            .entry((label.to_owned(), tracker.to_owned()))
            .or_default()
    }
}

/// One identity's summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentitySummary {
    pub label: String,
    pub kind: String,
    /// Trackers that received it, by tracker id.
    pub trackers: BTreeMap<String, Receipt>,
}

/// Per-run summary: every known identity, found or not, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IdentityReport {
    pub identities: Vec<IdentitySummary>,
}

impl IdentityReport {
    /// The summary of `tally` for `identities`.
    pub fn new(identities: &Identities, tally: &IdentityTally) -> IdentityReport {
        let summaries = identities
            .iter()
            .map(|identity| {
                let trackers = tally
                    .receipts
                    .iter()
                    .filter(|((label, _), _)| *label == identity.label)
                    .map(|((_, tracker), receipt)| (tracker.clone(), receipt.clone()))
                    .collect();
                IdentitySummary {
                    label: identity.label.clone(),
                    kind: identity.kind.clone(),
                    trackers,
                }
            })
            .collect();
        IdentityReport {
            identities: summaries,
        }
    }

    /// One line per identity, for the terminal:
    /// `subject-1 (email): 2 trackers: meta 3 requests [plain, sha256]; tiktok 1 request [sha256]`.
    pub fn lines(&self) -> Vec<String> {
        self.identities
            .iter()
            .map(|summary| {
                if summary.trackers.is_empty() {
                    return format!(
                        "{} ({}): not found in any tracker request",
                        summary.label, summary.kind
                    );
                }
                let parts: Vec<String> = summary
                    .trackers
                    .iter()
                    .map(|(tracker, r)| {
                        let forms: Vec<&str> = r.forms.iter().map(String::as_str).collect();
                        let noun = if r.requests == 1 {
                            "request"
                        } else {
                            "requests"
                        };
                        format!("{tracker} {} {noun} [{}]", r.requests, forms.join(", "))
                    })
                    .collect();
                let count = summary.trackers.len();
                let trackers = if count == 1 { "tracker" } else { "trackers" };
                format!(
                    "{} ({}): {count} {trackers}: {}",
                    summary.label,
                    summary.kind,
                    parts.join("; ")
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(label: &str, tracker: &str, form: &str) -> IdentityTally {
        let mut t = IdentityTally::default();
        let r = t.entry(label, tracker);
        r.requests = 1;
        r.events = 2;
        r.forms.insert(form.to_owned());
        t
    }

    #[test]
    fn merging_is_order_independent() {
        let (a, b, c) = (
            tally("s1", "meta", "sha256"),
            tally("s1", "meta", "plain"),
            tally("s1", "tiktok", "sha256"),
        );
        let mut left = a.clone();
        left.merge(b.clone());
        left.merge(c.clone());
        let mut right = c;
        right.merge(b);
        right.merge(a);
        assert_eq!(left, right);
        let meta = left.receipt("s1", "meta").unwrap();
        assert_eq!((meta.requests, meta.events), (2, 4));
    }

    #[test]
    fn lines_name_trackers_counts_and_forms_and_missing_identities() {
        let mut ids = Identities::new();
        ids.parse_arg("email:a@b.org=s1").unwrap();
        ids.parse_arg("phone:+15550100000").unwrap();
        let mut t = tally("s1", "meta", "sha256");
        t.merge(tally("s1", "meta", "plain"));
        let lines = IdentityReport::new(&ids, &t).lines();
        assert_eq!(
            lines,
            vec![
                "s1 (email): 1 tracker: meta 2 requests [plain, sha256]".to_owned(),
                "phone-1 (phone): not found in any tracker request".to_owned(),
            ]
        );
    }
}
