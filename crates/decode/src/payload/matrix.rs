//! Parameters carried in the path instead of the query (FORMATS.md §2
//! item 14): `;k=v` runs after a segment name (Floodlight
//! `/activityi;src=1;type=grp;cat=x`, Quantcast `/pixel;a=p-1;url=…`),
//! segments that are themselves `k=v;k=v` (`/ddm/activity/src=1;type=x`),
//! and `name:k=v&k=v` segments (Audience Manager `/ibs:dpid=1&dpuuid=2`).
//! Keys and values are percent-decoded like query parameters.

use super::query::{self, Param};

/// Every `k=v` pair in the path's segments, in path order.
pub fn parse(path: &str) -> Vec<Param<'_>> {
    let mut out = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if !segment.contains('=') {
            continue;
        }
        for token in segment.split(';') {
            // `ibs:dpid=1&dpuuid=2`: drop the `name:` in front of the first key.
            let token = match (token.find(':'), token.find('=')) {
                (Some(colon), Some(equals)) if colon < equals => {
                    token.get(colon + 1..).unwrap_or_default()
                }
                _ => token,
            };
            if token.contains('=') {
                out.extend(query::parse(token));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(path: &str) -> Vec<(String, String)> {
        parse(path)
            .into_iter()
            .map(|p| (p.key.into_owned(), p.value.into_owned()))
            .collect()
    }

    #[test]
    fn floodlight_quantcast_and_demdex_paths() {
        assert_eq!(
            pairs("/activityi;src=123;type=grp;cat=act;~oref=https%3A%2F%2Fa.test%2F"),
            vec![
                ("src".into(), "123".into()),
                ("type".into(), "grp".into()),
                ("cat".into(), "act".into()),
                ("~oref".into(), "https://a.test/".into()),
            ]
        );
        assert_eq!(
            pairs("/ddm/activity/src=9;type=sales;ord=[OrderID]"),
            vec![
                ("src".into(), "9".into()),
                ("type".into(), "sales".into()),
                ("ord".into(), "[OrderID]".into()),
            ]
        );
        assert_eq!(
            pairs("/ibs:dpid=411&dpuuid=abc"),
            vec![
                ("dpid".into(), "411".into()),
                ("dpuuid".into(), "abc".into())
            ]
        );
        assert!(pairs("/tr/").is_empty());
    }
}
