//! HTTP/1.x framing, pairing, damage and bodies.

use crate::util::*;
use pixelscope_capture::Contact;
use pixelscope_http::HttpLimits;
use pixelscope_model::{BodyState, Cookie, Timestamp};
use proptest::prelude::*;

#[test]
fn pipelined_requests_are_paired_with_responses_in_order() {
    let mut c = Conn::new();
    c.client(b"GET /a HTTP/1.1\r\nHost: shop.example\r\n\r\nHEAD /b HTTP/1.1\r\nHost: shop.example\r\n\r\nPOST /c HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\n\r\nhello");
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    let urls: Vec<&str> = out
        .exchanges
        .iter()
        .map(|e| e.request.url.as_str())
        .collect();
    assert_eq!(
        urls,
        [
            "http://shop.example/a",
            "http://shop.example/b",
            "http://shop.example/c"
        ]
    );
    assert_eq!(
        out.exchanges.iter().map(status).collect::<Vec<_>>(),
        [Some(200), Some(200), Some(201)]
    );
    assert_eq!(response_body(&out.exchanges[0]), b"abc");
    // The response to HEAD announces a length but carries no body.
    assert!(out.exchanges[1].response.as_ref().unwrap().body.is_none());
    assert_eq!(body(&out.exchanges[2]), b"hello");
    assert_eq!(response_body(&out.exchanges[2]), b"ok");
    assert_eq!(
        out.exchanges[0].request.http_version.as_deref(),
        Some("HTTP/1.1")
    );
}

#[test]
fn chunked_bodies_keep_their_trailers() {
    let mut c = Conn::new();
    c.client(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
    c.server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: 42\r\n\r\n");
    let out = c.close();
    let response = out.exchanges[0].response.as_ref().unwrap();
    assert_eq!(response_body(&out.exchanges[0]), b"Wikipedia");
    assert_eq!(response.header("x-checksum"), Some("42"));
    assert_eq!(out.diagnostics, []);
}

#[test]
fn content_length_split_at_every_byte_gives_the_same_exchange() {
    let request = b"POST /tr HTTP/1.1\r\nHost: www.facebook.com\r\nCookie: _fbp=fb.1.1\r\nContent-Length: 12\r\n\r\nid=1&ev=Lead".to_vec();
    let response =
        b"HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 6\r\n\r\nGIF89a".to_vec();
    let mut reference = Conn::new();
    reference.client(&request);
    reference.server(&response);
    let reference = reference.close();
    assert_eq!(body(&reference.exchanges[0]), b"id=1&ev=Lead");
    for cut in 0..=request.len().max(response.len()) {
        let mut c = Conn::new();
        c.send_split(ToServer, &request, &[cut]);
        c.send_split(ToClient, &response, &[cut]);
        let out = c.close();
        assert_eq!(out.exchanges.len(), 1, "cut at {cut}");
        let (a, b) = (&out.exchanges[0], &reference.exchanges[0]);
        assert_eq!(
            (&a.request, &a.response),
            (&b.request, &b.response),
            "cut at {cut}"
        );
        assert_eq!(out.diagnostics, [], "cut at {cut}");
    }
}

#[test]
fn origin_names_sorted_frames_stream_and_tls_and_time_is_the_first_request_chunk() {
    let mut c = Conn::with(
        info(Some("1.3"), Some("http/1.1"), true),
        HttpLimits::default(),
    );
    c.client(b"GET /x HTTP/1.1\r\n");
    c.client(b"Host: t.example\r\n\r\n");
    c.server(b"HTTP/1.1 204 No Content\r\n\r\n");
    let out = c.close();
    let e = &out.exchanges[0];
    assert_eq!(e.request.url, "https://t.example/x");
    assert_eq!(e.origin.frames, Some(vec![1, 2, 3]));
    assert_eq!(e.origin.stream, Some(7));
    assert_eq!(e.origin.tls.as_deref(), Some("1.3"));
    assert_eq!(e.origin.file, "capture.pcapng");
    assert_eq!(e.time, Some(Timestamp(1_000_000)));
    assert!(e.response.as_ref().unwrap().body.is_none());
}

#[test]
fn urls_cookies_and_media_types_come_from_the_head() {
    let mut c = Conn::new();
    c.client(b"GET http://proxy.example/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\nGET /nohost HTTP/1.0\r\n\r\nPOST /j HTTP/1.1\r\nHost: api.example\r\nCookie: a=1; b=x=y\r\nCookie: c\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}");
    let out = c.close();
    let urls: Vec<&str> = out
        .exchanges
        .iter()
        .map(|e| e.request.url.as_str())
        .collect();
    assert_eq!(
        urls,
        [
            "http://proxy.example/abs?q=1",
            "http://198.51.100.5:8080/nohost",
            "http://api.example/j"
        ]
    );
    assert_eq!(
        out.exchanges[1].request.http_version.as_deref(),
        Some("HTTP/1.0")
    );
    let cookies = &out.exchanges[2].request.cookies;
    assert_eq!(
        cookies,
        &[
            Cookie {
                name: "a".into(),
                value: "1".into()
            },
            Cookie {
                name: "b".into(),
                value: "x=y".into()
            },
            Cookie {
                name: "c".into(),
                value: String::new()
            }
        ]
    );
    let b = out.exchanges[2].request.body.as_ref().unwrap();
    assert_eq!(
        b.mime_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    // Requests without responses are still reported, at the end.
    assert!(out.exchanges.iter().all(|e| e.response.is_none()));
}

#[test]
fn request_bodies_are_content_decoded_and_response_bodies_kept_as_sent() {
    let payload = br#"{"event":"CompletePayment","email":"a@b.example"}"#;
    let gz = gzip(payload);
    let mut br = Vec::new();
    {
        use std::io::Write;
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(payload).unwrap();
    }
    let mut zstd = ruzstd::encoding::compress_to_vec(
        &payload[..20],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    zstd.extend(ruzstd::encoding::compress_to_vec(
        &payload[20..],
        ruzstd::encoding::CompressionLevel::Fastest,
    ));
    let mut c = Conn::new();
    let mut request = format!("POST /api HTTP/1.1\r\nHost: analytics.tiktok.com\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", gz.len()).into_bytes();
    request.extend(&gz);
    request.extend(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
    c.client(&request);
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: {}\r\n\r\n",
        br.len()
    )
    .into_bytes();
    response.extend(&br);
    response.extend(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: {}\r\n\r\n",
            zstd.len()
        )
        .into_bytes(),
    );
    response.extend(&zstd);
    c.server(&response);
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    assert_eq!(body(&out.exchanges[0]), payload);
    assert_eq!(
        out.exchanges[0]
            .request
            .body
            .as_ref()
            .unwrap()
            .content_encoding,
        ["gzip"]
    );
    // Nothing reads response bodies: they keep the bytes as sent, without
    // the cost (or the diagnostics) of decoding them.
    assert_eq!(response_body(&out.exchanges[0]), br);
    assert_eq!(response_body(&out.exchanges[1]), zstd);
    for exchange in &out.exchanges {
        let body = exchange.response.as_ref().unwrap().body.as_ref().unwrap();
        assert_eq!(
            body.state,
            BodyState::Undecoded {
                reason: "response bodies are not content-decoded".into()
            }
        );
    }
}

#[test]
fn undecodable_and_oversized_bodies_are_flagged() {
    let limits = HttpLimits {
        max_body_encoded: 8,
        ..HttpLimits::default()
    };
    let mut c = Conn::with(info(None, None, true), limits);
    c.client(
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    );
    c.client(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij");
    let out = c.close();
    assert_eq!(
        codes(&out.diagnostics),
        ["body.decode-failed", "body.too-large"]
    );
    let a = out.exchanges[0].request.body.as_ref().unwrap();
    assert!(matches!(a.state, BodyState::Undecoded { .. }));
    assert_eq!(a.data, b"nope");
    let b = out.exchanges[1].request.body.as_ref().unwrap();
    assert_eq!(b.state, BodyState::Truncated { limit: 8 });
    assert_eq!(b.data, b"01234567");
}

#[test]
fn a_ten_gigabyte_content_length_allocates_nothing_up_front() {
    let mut c = Conn::new();
    c.client(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nstart of a huge body");
    let out = c.close();
    assert_eq!(response_body(&out.exchanges[0]), b"start of a huge body");
    let state = &out.exchanges[0]
        .response
        .as_ref()
        .unwrap()
        .body
        .as_ref()
        .unwrap()
        .state;
    assert!(matches!(state, BodyState::Damaged { .. }));
    assert_eq!(codes(&out.diagnostics), ["http.incomplete"]);
}

#[test]
fn read_until_close_and_bodiless_statuses() {
    let mut c = Conn::new();
    c.client(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.0\r\nHost: x\r\n\r\n");
    c.server(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the ");
    c.server(b"end");
    let out = c.close();
    assert_eq!(
        out.exchanges.iter().map(status).collect::<Vec<_>>(),
        [Some(304), Some(204), Some(200)]
    );
    assert_eq!(response_body(&out.exchanges[2]), b"until the end");
    assert_eq!(
        out.exchanges[2]
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap()
            .state,
        BodyState::Complete
    );
    assert_eq!(out.diagnostics, []);
}

#[test]
fn expect_continue_with_and_without_the_body() {
    let mut c = Conn::new();
    c.client(b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    c.server(b"HTTP/1.1 100 Continue\r\n\r\n");
    c.client(b"data");
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    // Refused before the body was sent: the client never sends it.
    c.client(
        b"POST /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 999\r\n\r\n",
    );
    c.server(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    c.client(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let out = c.close();
    assert_eq!(out.diagnostics, []);
    assert_eq!(
        out.exchanges.iter().map(status).collect::<Vec<_>>(),
        [Some(200), Some(417), Some(200)]
    );
    assert_eq!(body(&out.exchanges[0]), b"data");
    assert!(out.exchanges[1].request.body.is_none());
    assert_eq!(out.exchanges[2].request.url, "http://x/next");
}

#[test]
fn a_gap_inside_a_sized_body_damages_only_that_body() {
    let mut c = Conn::new();
    c.client(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n0123456789");
    c.gap(ToServer, 10);
    c.client(b"abcdefghijGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.gap"]);
    let a = out.exchanges[0].request.body.as_ref().unwrap();
    // Bytes after the hole are not spliced onto those before it.
    assert_eq!(a.data, b"0123456789");
    assert!(matches!(a.state, BodyState::Damaged { .. }));
    assert_eq!(out.exchanges[1].request.url, "http://x/b");
}

#[test]
fn a_gap_in_a_head_resynchronises_at_the_next_start_line() {
    let mut c = Conn::new();
    c.client(b"GET /lost HTTP/1.1\r\nHo");
    c.gap(ToServer, 40);
    c.client(b"ng: garbage\r\n\r\nPOST /found HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.gap", "http.resync"]);
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].request.url, "http://x/found");
    assert_eq!(body(&out.exchanges[0]), b"hi");
    assert_eq!(status(&out.exchanges[0]), Some(200));
}

#[test]
fn a_capture_starting_mid_connection_finds_the_next_message() {
    let mut c = Conn::with(info(None, None, false), HttpLimits::default());
    c.client(b"dy of an earlier request\r\nGET /seen HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(b"tail of a response\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let out = c.close();
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].request.url, "http://x/seen");
    assert_eq!(status(&out.exchanges[0]), Some(200));
    assert_eq!(codes(&out.diagnostics), ["http.resync", "http.resync"]);
}

#[test]
fn a_response_without_a_request_is_still_reported() {
    let mut c = Conn::with(info(None, None, false), HttpLimits::default());
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.response-without-request"]);
    assert_eq!(response_body(&out.exchanges[0]), b"ok");
    assert_eq!(out.exchanges[0].request.method, "");
}

#[test]
fn non_http_bytes_get_one_diagnostic_per_connection() {
    let mut c = Conn::new();
    c.client(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]);
    c.client(&[0x03, 0x03, 0xaa]);
    c.server(&[0x16, 0x03, 0x03, 0x00]);
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.unrecognised"]);
    assert_eq!(out.diagnostics[0].origin.frames, Some(vec![1]));
    assert!(out.exchanges.is_empty());
}

#[test]
fn too_many_headers_is_reported_and_reading_goes_on() {
    let mut head = b"GET /many HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..300 {
        head.extend(format!("X-{i}: v\r\n").into_bytes());
    }
    head.extend(b"\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut c = Conn::new();
    c.client(&head);
    let out = c.close();
    assert_eq!(
        codes(&out.diagnostics),
        ["http.too-many-headers", "http.resync"]
    );
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].request.url, "http://x/after");
}

#[test]
fn upgrades_stop_http_parsing_and_contacts_are_kept_for_the_caller() {
    let mut c = Conn::new();
    c.client(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    c.server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
    c.client(b"\x81\x85\x00\x00\x00\x00hello");
    let contact = Contact {
        host: "tr.snapchat.com".into(),
        via: "dns",
        stream: None,
        frames: vec![9],
        time: Timestamp(5),
        server: None,
    };
    c.contact(&contact);
    assert_eq!(c.layer.take_contacts(), [contact]);
    assert!(c.layer.take_contacts().is_empty());
    let out = c.close();
    assert_eq!(codes(&out.diagnostics), ["http.upgraded"]);
    assert_eq!(
        out.exchanges.iter().map(status).collect::<Vec<_>>(),
        [Some(101)]
    );
}

fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        out.extend(format!("{n:x}\r\n").into_bytes());
        out.extend(&rest[..n]);
        out.extend(b"\r\n");
        rest = &rest[n..];
    }
    out.extend(b"0\r\n\r\n");
    out
}

proptest! {
    #[test]
    fn chunked_framing_round_trips_for_any_body_and_any_split(
        body in proptest::collection::vec(any::<u8>(), 0..2000),
        sizes in proptest::collection::vec(1usize..300, 1..8),
        cuts in proptest::collection::vec(0usize..2500, 0..6),
    ) {
        let mut request = b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend(chunked(&body, &sizes));
        request.extend(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut c = Conn::new();
        c.send_split(ToServer, &request, &cuts);
        let out = c.close();
        prop_assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        prop_assert_eq!(out.exchanges.len(), 2);
        prop_assert_eq!(body_or_empty(&out.exchanges[0]), body.as_slice());
        prop_assert_eq!(out.exchanges[1].request.url.as_str(), "http://x/next");
    }
}

fn body_or_empty(e: &pixelscope_model::Exchange) -> &[u8] {
    body(e)
}
