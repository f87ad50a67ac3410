//! A real cleartext HTTP/2 connection (prior knowledge), replayed packet by
//! packet from `samples/http/ndpi-http2-h2c.tsv`. Expected values are what
//! tshark 4.0 decodes from the original capture.

use crate::util::*;
use pixelscope_capture::StreamSink;
use pixelscope_model::{Collected, Timestamp};

fn replay(name: &str) -> Collected {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/http")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let mut c = Conn::new();
    let mut offsets = [0u64; 2];
    for line in text.lines() {
        let [frame, direction, time, payload] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad line {line}")
        };
        let data: Vec<u8> = (0..payload.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&payload[i..i + 2], 16).unwrap())
            .collect();
        let (seconds, fraction) = time.split_once('.').unwrap();
        let time = Timestamp::from_parts(
            seconds.parse().unwrap(),
            format!("{fraction:0<9}")[..9].parse().unwrap(),
        )
        .unwrap();
        let direction = if direction == "c" { ToServer } else { ToClient };
        let i = usize::from(direction == ToClient);
        c.layer.data(pixelscope_capture::Chunk {
            stream: 7,
            direction,
            offset: offsets[i],
            data: &data,
            frames: &[frame.parse().unwrap()],
            time,
        });
        offsets[i] += data.len() as u64;
    }
    c.close()
}

#[test]
fn ndpi_cleartext_http2_matches_tshark() {
    let out = replay("ndpi-http2-h2c.tsv");
    assert_eq!(out.diagnostics, []);
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(e.request.method, "POST");
    assert_eq!(
        e.request.url,
        "http://127.0.0.1:29518/namf-comm/v1/subscriptions"
    );
    assert_eq!(
        e.request.header("user-agent"),
        Some("OpenAPI-Generator/1.0.0/go")
    );
    assert_eq!(e.request.header("content-length"), Some("135"));
    let request_body = e.request.body.as_ref().unwrap();
    assert_eq!(request_body.data.len(), 135);
    assert!(
        request_body
            .data
            .starts_with(br#"{"amfStatusUri":"http://127.0.0.1:29507/npcf-callback/v1/amfstatus""#)
    );
    assert_eq!(request_body.mime_type.as_deref(), Some("application/json"));
    assert_eq!(status(e), Some(201));
    let response = e.response.as_ref().unwrap();
    assert_eq!(
        response.header("location"),
        Some("http://127.0.0.1:29507/npcf-callback/v1/amfstatus/1")
    );
    assert_eq!(
        response.header("date"),
        Some("Thu, 11 Jun 2020 08:17:40 GMT")
    );
    assert_eq!(response.body.as_ref().unwrap().data.len(), 86);
    assert_eq!(e.origin.frames, Some(vec![2, 3, 7, 8]));
    assert_eq!(e.origin.h2_stream, Some(3));
    assert_eq!(
        e.time.unwrap().to_string(),
        "2020-06-11T08:17:40.344713134Z"
    );
}

#[test]
fn ndpi_ad_tracking_gets_with_user_agents_split_across_segments() {
    let out = replay("ndpi-http-ua-split.tsv");
    assert_eq!(out.diagnostics, []);
    // tshark: 37 requests, each answered by a 200 with an empty body.
    assert_eq!(out.exchanges.len(), 37);
    let ua = "Mozilla/5.0 (Linux; Android 6.0.1; SM-T805 Build/MMB29K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.98 Safari/537.36";
    for e in &out.exchanges {
        assert_eq!(e.request.header("user-agent"), Some(ua));
        assert!(
            e.request
                .url
                .starts_with("http://va.origin.startappservice.com/tracking/ad"),
            "{}",
            e.request.url
        );
        assert_eq!(status(e), Some(200));
        assert_eq!(e.origin.frames.as_ref().map(Vec::len), Some(3));
    }
    assert_eq!(out.exchanges[0].origin.frames, Some(vec![3, 4, 5]));
    assert_eq!(out.exchanges[36].origin.frames, Some(vec![111, 112, 113]));
}
