//! The lenient shape of one HAR entry, as exporters actually write it.
//!
//! Every part is optional; `null` is the same as missing; numbers may come as
//! strings or floats; strings may come as numbers. Strings borrow from the
//! input window when they hold no escapes, so large bodies are copied once,
//! into the [`pixelscope_model::Body`]. Fields pixelscope does not use
//! (timings, cache, sizes) are skipped without being built.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// One element of `/log/entries`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct HarEntry<'a> {
    pub started: Text<'a>,
    pub pageref: Text<'a>,
    pub request: Option<HarRequest<'a>>,
    pub response: Option<HarResponse<'a>>,
    /// Entry-level `_underscore` fields, in input order, keys as spelled.
    pub extra: Vec<(String, serde_json::Value)>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct HarRequest<'a> {
    #[serde(borrow)]
    pub method: Text<'a>,
    #[serde(borrow)]
    pub url: Text<'a>,
    #[serde(borrow)]
    pub http_version: Text<'a>,
    #[serde(borrow)]
    pub headers: List<HarPair<'a>>,
    #[serde(borrow)]
    pub cookies: List<HarPair<'a>>,
    #[serde(borrow)]
    pub post_data: Option<HarPostData<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct HarResponse<'a> {
    pub status: Number,
    pub http_version: Text<'a>,
    pub headers: List<HarPair<'a>>,
    /// Only counted: response cookies are `Set-Cookie`, which the headers
    /// carry too.
    pub cookies: List<IgnoredAny>,
    pub content: Option<HarContent<'a>>,
    /// Response-level `_underscore` fields, such as Chrome's `_error`
    /// (`net::ERR_BLOCKED_BY_CLIENT`: the request never left the browser).
    pub extra: Vec<(String, serde_json::Value)>,
}

/// A header or cookie: `{ "name": …, "value": … }`.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct HarPair<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub value: Text<'a>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct HarPostData<'a> {
    #[serde(borrow)]
    pub mime_type: Text<'a>,
    #[serde(borrow)]
    pub text: RawText<'a>,
    #[serde(borrow)]
    pub encoding: Text<'a>,
    #[serde(borrow)]
    pub params: List<HarParam<'a>>,
}

/// A `postData.params` element. chrome-har writes JSON bodies as params
/// whose values are numbers, booleans or objects, so the value stays JSON.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct HarParam<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    pub value: Option<serde_json::Value>,
}

/// A response's `content`. Its `text` (scripts, pages, images: most of a
/// HAR's bytes) is only checked to be a string and skipped, never copied:
/// no consumer reads response bodies, so the reader keeps only the
/// description of the body (see `convert::response_body`).
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct HarContent<'a> {
    #[serde(borrow)]
    pub mime_type: Text<'a>,
    pub text: SkippedText,
    #[serde(borrow)]
    pub encoding: Text<'a>,
}

/// A JSON string that is stepped over: whether it was there (not `null`,
/// not missing) is all that is kept. Anything but a string or `null` is
/// still an error, as for a body that is read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SkippedText {
    pub present: bool,
}

impl<'de> Deserialize<'de> for SkippedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SkipVisitor;
        impl<'de> Visitor<'de> for SkipVisitor {
            type Value = SkippedText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }
            // serde_json's raw string mode: the string's end is found
            // without a UTF-8 check, and the bytes are not kept.
            fn visit_borrowed_bytes<E: de::Error>(self, _: &'de [u8]) -> Result<SkippedText, E> {
                Ok(SkippedText { present: true })
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<SkippedText, E> {
                Ok(SkippedText { present: true })
            }
            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<SkippedText, E> {
                Ok(SkippedText { present: true })
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SkippedText, E> {
                Ok(SkippedText { present: true })
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<SkippedText, D::Error> {
                d.deserialize_bytes(self)
            }
            fn visit_none<E: de::Error>(self) -> Result<SkippedText, E> {
                Ok(SkippedText { present: false })
            }
            fn visit_unit<E: de::Error>(self) -> Result<SkippedText, E> {
                Ok(SkippedText { present: false })
            }
        }
        deserializer.deserialize_option(SkipVisitor)
    }
}

/// A string-ish value: a string (borrowed when it had no escapes), a number
/// or boolean as written, or nothing for `null`/missing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The text, or `""` when absent.
    pub fn or_empty(&self) -> &str {
        self.as_str().unwrap_or("")
    }

    pub fn into_string(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
}

/// A body's `text`: the unescaped bytes of a JSON string, or nothing for
/// `null`/missing. Bodies are most of a HAR's bytes and end up as bytes, so
/// they skip the UTF-8 check that strings get (serde_json's raw string mode);
/// a body that is not valid UTF-8 is kept as it is rather than failing the
/// entry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RawText<'a>(pub Option<Cow<'a, [u8]>>);

impl RawText<'_> {
    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|t| t.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for BytesVisitor<'a> {
            type Value = RawText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(RawText(Some(Cow::Borrowed(v))))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(RawText(Some(Cow::Owned(v.to_vec()))))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawText(Some(Cow::Borrowed(v.as_bytes()))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawText(Some(Cow::Owned(v.as_bytes().to_vec()))))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_bytes(self)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawText(None))
            }
        }
        deserializer.deserialize_option(BytesVisitor(PhantomData))
    }
}

/// A number written as an integer, a float or a numeric string; `None` for
/// `null`, missing, or text that is not a number.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Number(pub Option<f64>);

impl Number {
    /// The value as a whole number in `0..=u16::MAX` (HTTP status codes).
    pub fn as_u16(self) -> Option<u16> {
        let v = self.0?;
        if v.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&v) {
            Some(v as u16)
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a numeric string or null")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number(
                    v.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

/// An array whose `null` elements are dropped; `null` or missing is empty,
/// and a lone object is a list of one.
#[derive(Debug, PartialEq)]
pub(crate) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or null")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Option<T>>()? {
                    if let Some(item) = item {
                        if items.is_empty() {
                            // serde_json gives no size hint; headers usually
                            // number a dozen or two, and empty lists stay
                            // unallocated.
                            items.reserve(16);
                        }
                        items.push(item);
                    }
                }
                Ok(List(items))
            }
            /// IE 11's exporter writes a lone cookie as an object, not an
            /// array of one.
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<List<T>, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|one| List(vec![one]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for HarEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntryVisitor(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for HarResponse<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ResponseVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ResponseVisitor<'a> {
            type Value = HarResponse<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a HAR response object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<HarResponse<'a>, M::Error> {
                let mut response = HarResponse::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    let key = key.unwrap_or_default();
                    match key.as_ref() {
                        "status" => response.status = map.next_value()?,
                        "httpVersion" => response.http_version = map.next_value()?,
                        "headers" => response.headers = map.next_value()?,
                        "cookies" => response.cookies = map.next_value()?,
                        "content" => response.content = map.next_value()?,
                        k if k.starts_with('_') => {
                            let value = map.next_value::<serde_json::Value>()?;
                            response.extra.push((key.into_owned(), value));
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(response)
            }
        }
        deserializer.deserialize_map(ResponseVisitor(PhantomData))
    }
}

struct EntryVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EntryVisitor<'a> {
    type Value = HarEntry<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR entry object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<HarEntry<'a>, M::Error> {
        let mut entry = HarEntry::default();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let key = key.unwrap_or_default();
            match key.as_ref() {
                "startedDateTime" => entry.started = map.next_value()?,
                "pageref" => entry.pageref = map.next_value()?,
                "request" => entry.request = map.next_value()?,
                "response" => entry.response = map.next_value()?,
                k if k.starts_with('_') => {
                    let value = map.next_value::<serde_json::Value>()?;
                    entry.extra.push((key.into_owned(), value));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_nulls_strings_for_numbers_and_numbers_for_strings() {
        let json = br#"{"request":{"method":"GET","url":"https://x/","httpVersion":null,
            "headers":[{"name":"a","value":null},null,{"name":"n","value":5}],"cookies":null},
            "response":{"status":"204","content":null,"headers":null},"_x":1,"time":"n/a"}"#;
        let entry: HarEntry<'_> = serde_json::from_slice(json).unwrap();
        let request = entry.request.unwrap();
        assert_eq!(request.http_version.as_str(), None);
        let headers: Vec<_> = request
            .headers
            .0
            .iter()
            .map(|h| (h.name.or_empty(), h.value.as_str()))
            .collect();
        assert_eq!(headers, vec![("a", None), ("n", Some("5"))]);
        assert_eq!(entry.response.unwrap().status.as_u16(), Some(204));
        assert_eq!(entry.extra, vec![("_x".to_owned(), serde_json::json!(1))]);
    }

    #[test]
    fn a_lone_cookie_object_is_a_list_of_one() {
        // IE 11's exporter (harviewer issue-61/ie11.har).
        let json = br#"{"request":{"cookies":{"name":"previewCols","value":"url"}}}"#;
        let entry: HarEntry<'_> = serde_json::from_slice(json).unwrap();
        let cookies = entry.request.unwrap().cookies.0;
        assert_eq!(cookies.len(), 1);
        assert_eq!(cookies[0].name.as_str(), Some("previewCols"));
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let json = br#"{"pageref":"page_1","startedDateTime":"a\"b"}"#;
        let entry: HarEntry<'_> = serde_json::from_slice(json).unwrap();
        assert!(matches!(entry.pageref.0, Some(Cow::Borrowed("page_1"))));
        assert!(matches!(entry.started.0, Some(Cow::Owned(_))));
    }

    #[test]
    fn response_text_is_skipped_but_must_be_a_string() {
        // Escapes and even bytes that are not UTF-8 are stepped over.
        let json = [
            &br#"{"response":{"content":{"mimeType":"text/plain","text":"a\"b\u00e9"#[..],
            b"\xff",
            br#""}}}"#,
        ]
        .concat();
        let entry: HarEntry<'_> = serde_json::from_slice(&json).unwrap();
        let content = entry.response.unwrap().content.unwrap();
        assert!(content.text.present);
        assert_eq!(content.mime_type.as_str(), Some("text/plain"));
        let json = br#"{"response":{"content":{"text":null}}}"#;
        let entry: HarEntry<'_> = serde_json::from_slice(json).unwrap();
        assert!(!entry.response.unwrap().content.unwrap().text.present);
        for bad in [
            &br#"{"response":{"content":{"text":5}}}"#[..],
            br#"{"response":{"content":{"text":"a\q"}}}"#,
        ] {
            assert!(serde_json::from_slice::<HarEntry<'_>>(bad).is_err());
        }
    }

    #[test]
    fn status_as_float_or_garbage() {
        assert_eq!(Number(Some(200.0)).as_u16(), Some(200));
        assert_eq!(Number(Some(200.5)).as_u16(), None);
        assert_eq!(Number(Some(-1.0)).as_u16(), None);
    }
}
