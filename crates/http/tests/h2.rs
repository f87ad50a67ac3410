//! HTTP/2 frames, HPACK state and streams.

use crate::util::*;
use pixelscope_http::HttpLimits;
use pixelscope_http::frame::{Flags, FrameHeader, FrameType, PREFACE};
use pixelscope_model::{BodyState, Exchange, Header};
use proptest::prelude::*;

fn frame(kind: FrameType, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = FrameHeader {
        length: payload.len() as u32,
        kind,
        flags: Flags(flags),
        stream,
    }
    .to_bytes()
    .to_vec();
    out.extend_from_slice(payload);
    out
}

fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const END: u8 = Flags::END_STREAM | Flags::END_HEADERS;

/// Client preface plus an empty SETTINGS frame.
fn preface() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(FrameType::SETTINGS, 0, 0, &[]));
    out
}

fn fields(headers: &[Header]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect()
}

fn response_fields(e: &Exchange) -> Vec<(&str, &str)> {
    fields(&e.response.as_ref().unwrap().headers)
}

// RFC 7541 Appendix C: C.3/C.4 are three requests on one connection,
// C.5/C.6 three responses; later blocks refer to the dynamic table.
const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];
const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];
const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
];
const C6: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

fn rfc_sequence(requests: [&str; 3], responses: [&str; 3]) -> Vec<Exchange> {
    let mut c = Conn::new();
    c.client(&preface());
    // The examples use a 256-byte table for responses.
    c.client(&frame(FrameType::SETTINGS, 0, 0, &[0, 1, 0, 0, 1, 0]));
    for (i, (request, response)) in requests.iter().zip(responses).enumerate() {
        let stream = 1 + 2 * i as u32;
        c.client(&frame(FrameType::HEADERS, END, stream, &hex(request)));
        c.server(&frame(FrameType::HEADERS, END, stream, &hex(response)));
    }
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    out.exchanges
}

fn check_rfc_requests(exchanges: &[Exchange]) {
    assert_eq!(exchanges.len(), 3);
    assert_eq!(
        fields(&exchanges[0].request.headers),
        [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com")
        ]
    );
    assert_eq!(
        fields(&exchanges[1].request.headers),
        [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache")
        ]
    );
    assert_eq!(
        fields(&exchanges[2].request.headers),
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value")
        ]
    );
    assert_eq!(
        exchanges[2].request.url,
        "http://www.example.com/index.html"
    );
    assert_eq!(exchanges[2].request.http_version.as_deref(), Some("HTTP/2"));
    assert_eq!(
        exchanges
            .iter()
            .map(|e| e.origin.h2_stream)
            .collect::<Vec<_>>(),
        [Some(1), Some(3), Some(5)]
    );
}

fn check_rfc_responses(exchanges: &[Exchange]) {
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    assert_eq!(
        response_fields(&exchanges[0]),
        [
            (":status", "302"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", "https://www.example.com")
        ]
    );
    assert_eq!(
        response_fields(&exchanges[1]),
        [
            (":status", "307"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", "https://www.example.com")
        ]
    );
    assert_eq!(
        response_fields(&exchanges[2]),
        [
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
            ),
        ]
    );
    assert_eq!(
        exchanges.iter().map(status).collect::<Vec<_>>(),
        [Some(302), Some(307), Some(200)]
    );
}

#[test]
fn rfc7541_c3_and_c5_without_huffman() {
    let exchanges = rfc_sequence(C3, C5);
    check_rfc_requests(&exchanges);
    check_rfc_responses(&exchanges);
}

#[test]
fn rfc7541_c4_and_c6_with_huffman() {
    let exchanges = rfc_sequence(C4, C6);
    check_rfc_requests(&exchanges);
    check_rfc_responses(&exchanges);
}

fn encode(encoder: &mut loona_hpack::Encoder<'_>, headers: &[(&str, &str)]) -> Vec<u8> {
    encoder.encode(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

#[test]
fn continuation_padding_priority_and_split_cookies() {
    let mut encoder = loona_hpack::Encoder::new();
    let block = encode(
        &mut encoder,
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "analytics.tiktok.com"),
            (":path", "/api/v2/pixel"),
            ("cookie", "_ttp=abc"),
            ("cookie", "ttclid=xyz"),
            ("content-type", "application/json"),
        ],
    );
    let (first, rest) = block.split_at(10);
    // HEADERS with padding and priority, then CONTINUATION.
    let mut headers_payload = vec![3u8, 0, 0, 0, 0, 16];
    headers_payload.extend_from_slice(first);
    headers_payload.extend_from_slice(&[0, 0, 0]);
    let mut c = Conn::with(info(Some("1.3"), Some("h2"), true), HttpLimits::default());
    let mut bytes = preface();
    bytes.extend(frame(
        FrameType::HEADERS,
        Flags::PADDED | Flags::PRIORITY,
        1,
        &headers_payload,
    ));
    bytes.extend(frame(FrameType::CONTINUATION, 0, 1, &rest[..3]));
    bytes.extend(frame(
        FrameType::CONTINUATION,
        Flags::END_HEADERS,
        1,
        &rest[3..],
    ));
    bytes.extend(frame(
        FrameType::DATA,
        Flags::PADDED,
        1,
        &[2, b'{', b'"', 0, 0],
    ));
    bytes.extend(frame(FrameType::WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]));
    bytes.extend(frame(FrameType::DATA, Flags::END_STREAM, 1, b"}"));
    c.send_split(ToServer, &bytes, &[5, 30, 31, 60]);
    let mut server = loona_hpack::Encoder::new();
    c.server(&frame(FrameType::SETTINGS, 0, 0, &[]));
    c.server(&frame(
        FrameType::HEADERS,
        Flags::END_HEADERS,
        1,
        &encode(&mut server, &[(":status", "100")]),
    ));
    c.server(&frame(
        FrameType::HEADERS,
        Flags::END_HEADERS,
        1,
        &encode(
            &mut server,
            &[(":status", "200"), ("content-encoding", "gzip")],
        ),
    ));
    c.server(&frame(
        FrameType::DATA,
        Flags::END_STREAM,
        1,
        &gzip(b"{\"code\":0}"),
    ));
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    let e = &out.exchanges[0];
    assert_eq!(e.request.url, "https://analytics.tiktok.com/api/v2/pixel");
    assert_eq!(e.request.method, "POST");
    assert_eq!(body(e), b"{\"}");
    let cookies: Vec<(&str, &str)> = e
        .request
        .cookies
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(cookies, [("_ttp", "abc"), ("ttclid", "xyz")]);
    assert_eq!(status(e), Some(200));
    // Response bodies are kept as sent, not content-decoded.
    assert_eq!(response_body(e), gzip(b"{\"code\":0}"));
    assert_eq!(e.origin.tls.as_deref(), Some("1.3"));
    assert_eq!(e.origin.h2_stream, Some(1));
    assert!(
        e.origin
            .frames
            .as_ref()
            .unwrap()
            .windows(2)
            .all(|w| w[0] < w[1])
    );
}

#[test]
fn a_missing_connection_start_makes_hpack_state_unknown_without_guessing() {
    let mut c = Conn::with(info(Some("1.2"), Some("h2"), false), HttpLimits::default());
    // C.3.2 refers to a dynamic-table entry added before the capture began.
    c.client(&frame(FrameType::HEADERS, END, 3, &hex(C3[1])));
    // C.3.1 refers only to the static table and literals: exact anyway.
    c.client(&frame(FrameType::HEADERS, END, 5, &hex(C3[0])));
    let out = c.close();
    assert_eq!(
        codes(&out.diagnostics),
        ["h2.preface-missing", "hpack.state-unknown"]
    );
    assert_eq!(out.diagnostics[1].origin.h2_stream, Some(3));
    assert_eq!(out.exchanges.len(), 2);
    assert!(out.exchanges[0].request.headers.is_empty());
    assert_eq!(out.exchanges[0].request.url, "");
    assert_eq!(out.exchanges[1].request.url, "https://www.example.com/");
}

#[test]
fn a_gap_inside_a_data_frame_damages_that_body_and_keeps_the_rest_in_sync() {
    let mut encoder = loona_hpack::Encoder::new();
    let mut c = Conn::new();
    c.client(&preface());
    c.client(&frame(
        FrameType::HEADERS,
        Flags::END_HEADERS,
        1,
        &encode(
            &mut encoder,
            &[
                (":method", "POST"),
                (":scheme", "http"),
                (":authority", "h.example"),
                (":path", "/a"),
            ],
        ),
    ));
    let data = frame(
        FrameType::DATA,
        Flags::END_STREAM,
        1,
        b"0123456789abcdefghij",
    );
    c.client(&data[..15]);
    c.gap(ToServer, 5);
    c.client(&data[20..]);
    c.client(&frame(
        FrameType::HEADERS,
        END,
        3,
        &encode(
            &mut encoder,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "h.example"),
                (":path", "/b"),
            ],
        ),
    ));
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.gap"]);
    let a = out
        .exchanges
        .iter()
        .find(|e| e.origin.h2_stream == Some(1))
        .unwrap();
    let b = out
        .exchanges
        .iter()
        .find(|e| e.origin.h2_stream == Some(3))
        .unwrap();
    assert!(matches!(
        a.request.body.as_ref().unwrap().state,
        BodyState::Damaged { .. }
    ));
    // HPACK state survived: the second request's dynamic references resolve.
    assert_eq!(b.request.url, "http://h.example/b");
}

#[test]
fn a_gap_across_frame_boundaries_stops_that_direction() {
    let mut encoder = loona_hpack::Encoder::new();
    let mut c = Conn::new();
    c.client(&preface());
    c.client(&frame(
        FrameType::HEADERS,
        END,
        1,
        &encode(
            &mut encoder,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "h.example"),
                (":path", "/a"),
            ],
        ),
    ));
    c.gap(ToServer, 30);
    c.client(&frame(
        FrameType::HEADERS,
        END,
        5,
        &encode(
            &mut encoder,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "h.example"),
                (":path", "/c"),
            ],
        ),
    ));
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.gap", "h2.desync"]);
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].request.url, "http://h.example/a");
}

#[test]
fn reset_streams_and_server_push_are_reported() {
    let mut client = loona_hpack::Encoder::new();
    let mut server = loona_hpack::Encoder::new();
    let mut c = Conn::new();
    c.client(&preface());
    c.client(&frame(
        FrameType::HEADERS,
        END,
        1,
        &encode(
            &mut client,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "p.example"),
                (":path", "/"),
            ],
        ),
    ));
    let mut promise = vec![0, 0, 0, 2];
    promise.extend(encode(
        &mut server,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "p.example"),
            (":path", "/style.css"),
        ],
    ));
    c.server(&frame(
        FrameType::PUSH_PROMISE,
        Flags::END_HEADERS,
        1,
        &promise,
    ));
    c.server(&frame(
        FrameType::HEADERS,
        Flags::END_HEADERS,
        1,
        &encode(&mut server, &[(":status", "200")]),
    ));
    c.server(&frame(FrameType::DATA, 0, 1, b"<html"));
    c.server(&frame(FrameType::RST_STREAM, 0, 1, &[0, 0, 0, 8]));
    c.server(&frame(
        FrameType::HEADERS,
        Flags::END_HEADERS,
        2,
        &encode(
            &mut server,
            &[(":status", "200"), ("content-type", "text/css")],
        ),
    ));
    c.server(&frame(FrameType::DATA, Flags::END_STREAM, 2, b"body{}"));
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    assert_eq!(out.exchanges.len(), 2);
    let first = &out.exchanges[0];
    assert_eq!(response_body(first), b"<html");
    assert!(matches!(
        first
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap()
            .state,
        BodyState::Damaged { .. }
    ));
    let pushed = &out.exchanges[1];
    assert_eq!(pushed.request.url, "http://p.example/style.css");
    assert_eq!(pushed.origin.h2_stream, Some(2));
    assert_eq!(response_body(pushed), b"body{}");
}

#[test]
fn cleartext_prior_knowledge_mid_stream_is_recognised_from_frames() {
    let mut encoder = loona_hpack::Encoder::new();
    let mut c = Conn::with(info(None, None, false), HttpLimits::default());
    let mut bytes = frame(FrameType::WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]);
    bytes.extend(frame(
        FrameType::HEADERS,
        END,
        9,
        &encode(
            &mut encoder,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "m.example"),
                (":path", "/late"),
            ],
        ),
    ));
    c.client(&bytes);
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["h2.preface-missing"]);
    // Literal fields only (a fresh encoder): decodable without earlier state.
    assert_eq!(out.exchanges[0].request.url, "http://m.example/late");
}

proptest! {
    #[test]
    fn frame_headers_round_trip(length in 0u32..(1 << 24), kind: u8, flags: u8, stream in 0u32..(1 << 31)) {
        let header = FrameHeader { length, kind: FrameType(kind), flags: Flags(flags), stream };
        prop_assert_eq!(FrameHeader::parse(&header.to_bytes()), Some(header));
    }

    #[test]
    fn bodies_split_into_any_data_frames_and_any_chunks_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        frame_sizes in proptest::collection::vec(1usize..700, 1..6),
        cuts in proptest::collection::vec(0usize..4000, 0..8),
    ) {
        let mut encoder = loona_hpack::Encoder::new();
        let mut bytes = preface();
        bytes.extend(frame(FrameType::HEADERS, Flags::END_HEADERS, 1, &encode(&mut encoder, &[(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/p")])));
        let mut rest = body.as_slice();
        let mut sizes = frame_sizes.iter().cycle();
        loop {
            let n = (*sizes.next().unwrap()).min(rest.len());
            let last = n == rest.len();
            bytes.extend(frame(FrameType::DATA, if last { Flags::END_STREAM } else { 0 }, 1, &rest[..n]));
            rest = &rest[n..];
            if last { break; }
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut c = Conn::new();
        c.send_split(ToServer, &bytes, &cuts);
        let out = c.close();
        prop_assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        prop_assert_eq!(out.exchanges.len(), 1);
        prop_assert_eq!(body_of(&out.exchanges[0]), body.as_slice());
    }
}

fn body_of(e: &Exchange) -> &[u8] {
    body(e)
}
