//! JSON bodies flattened into dotted paths, in wire order.
//!
//! `{"batch":[{"context":{"user":{"email":"…"}}}]}` becomes the leaf
//! `batch[0].context.user.email`. Objects keep their wire key order
//! (serde_json's `preserve_order`). Strings are reported as their text;
//! numbers, booleans and `null` as their JSON text; empty objects and arrays
//! as `{}` / `[]` so that a key that was present is never lost.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write;

/// One scalar (or empty container) of a JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub path: String,
    pub value: String,
}

/// Appends `child` to `prefix` as an object key: `a` + `b` → `a.b`.
pub fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Appends an array index: `batch` + 1 → `batch[1]`.
pub fn join_index(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// The text a scalar is reported as: strings unquoted, everything else as
/// JSON text.
pub fn scalar_text(value: &Value) -> String {
    scalar_str(value).into_owned()
}

/// [`scalar_text`], borrowing a string's text.
pub fn scalar_str(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(text) => Cow::Borrowed(text),
        Value::Object(map) if map.is_empty() => Cow::Borrowed("{}"),
        Value::Array(items) if items.is_empty() => Cow::Borrowed("[]"),
        other => Cow::Owned(other.to_string()),
    }
}

/// Flattens `value` under `prefix` (empty for the document root).
pub fn flatten(value: &Value, prefix: &str) -> Vec<Leaf> {
    let mut out = Vec::new();
    flatten_into(value, prefix, &mut out);
    out
}

/// Flattens `value` under `prefix`, appending to `out`.
pub fn flatten_into(value: &Value, prefix: &str, out: &mut Vec<Leaf>) {
    for_each_leaf(value, prefix, &mut |path, scalar| {
        out.push(Leaf {
            path: path.to_owned(),
            value: scalar_text(scalar),
        });
    });
}

/// Calls `visit(path, scalar)` for every leaf of `value` under `prefix`, in
/// wire order, with the paths [`flatten`] gives. The path is built in one
/// reused buffer, so a document costs no allocation per key. Recursion
/// depth is bounded by serde_json's own nesting limit on parsing.
pub fn for_each_leaf(value: &Value, prefix: &str, visit: &mut dyn FnMut(&str, &Value)) {
    let mut path = String::with_capacity(prefix.len().saturating_add(32));
    path.push_str(prefix);
    walk(value, &mut path, visit);
}

fn walk(value: &Value, path: &mut String, visit: &mut dyn FnMut(&str, &Value)) {
    let parent = path.len();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                // `join_key`: `a` + `b` → `a.b`, or `b` at the root.
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(child, path, visit);
                path.truncate(parent);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                // `join_index`: writing into a String cannot fail.
                let _ = write!(path, "[{index}]");
                walk(child, path, visit);
                path.truncate(parent);
            }
        }
        scalar => visit(path, scalar),
    }
}

/// Parses text that looks like JSON (first non-space byte `{` or `[`).
/// `None` when it does not look like JSON at all; `Some(Err)` when it does
/// but does not parse (a broken body is evidence, not noise).
pub fn sniff(bytes: &[u8]) -> Option<Result<Value, String>> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = bytes.get(start..)?;
    let rest = rest
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(rest);
    match rest.first() {
        Some(b'{' | b'[') => Some(serde_json::from_slice(rest).map_err(|e| e.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_in_wire_order_with_indices() {
        let value: Value = serde_json::from_str(
            r#"{"z":1,"batch":[{"event":"A"},{"context":{"user":{"email":"e"}},"ok":true}],"a":null,"empty":{},"list":[]}"#,
        )
        .unwrap();
        let leaves: Vec<(String, String)> = flatten(&value, "")
            .into_iter()
            .map(|l| (l.path, l.value))
            .collect();
        assert_eq!(
            leaves,
            vec![
                ("z".into(), "1".into()),
                ("batch[0].event".into(), "A".into()),
                ("batch[1].context.user.email".into(), "e".into()),
                ("batch[1].ok".into(), "true".into()),
                ("a".into(), "null".into()),
                ("empty".into(), "{}".into()),
                ("list".into(), "[]".into()),
            ]
        );
    }

    /// The straightforward recursion the buffer-reusing walk replaces.
    fn flatten_by_joining(value: &Value, prefix: &str, out: &mut Vec<Leaf>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    flatten_by_joining(child, &join_key(prefix, key), out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (index, child) in items.iter().enumerate() {
                    flatten_by_joining(child, &join_index(prefix, index), out);
                }
            }
            scalar => out.push(Leaf {
                path: prefix.to_owned(),
                value: scalar_text(scalar),
            }),
        }
    }

    #[test]
    fn paths_are_the_joined_keys_and_indices() {
        let value: Value = serde_json::from_str(
            r#"{"":{"":1,"x":[]},"a":[[1,{"b":"c"}],{}],"n":-1.5e3,"s":"t\"q","u":null}"#,
        )
        .unwrap();
        for prefix in ["", "cd[contents]", "[0]"] {
            let mut expected = Vec::new();
            flatten_by_joining(&value, prefix, &mut expected);
            assert_eq!(flatten(&value, prefix), expected, "{prefix}");
        }
        let scalar = Value::from(7);
        assert_eq!(
            flatten(&scalar, "p"),
            vec![Leaf {
                path: "p".into(),
                value: "7".into()
            }]
        );
    }

    #[test]
    fn root_arrays_get_index_paths() {
        let value: Value = serde_json::from_str(r#"[{"event":"A"}]"#).unwrap();
        assert_eq!(flatten(&value, "")[0].path, "[0].event");
    }

    #[test]
    fn sniff_ignores_content_type_and_reports_broken_json() {
        assert!(matches!(sniff(b"  {\"a\":1}"), Some(Ok(_))));
        assert!(matches!(sniff(b"{\"a\":"), Some(Err(_))));
        assert!(sniff(b"en=page_view").is_none());
    }
}
