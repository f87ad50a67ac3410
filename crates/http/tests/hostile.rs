//! Arbitrary bytes, splits and gaps never panic the layer.

use crate::util::*;
use pixelscope_capture::Direction;
use pixelscope_http::HttpLimits;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Data(bool, Vec<u8>),
    Gap(bool, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let fragment = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(
            b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                .to_vec()
        ),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n".to_vec()),
        Just(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        Just(vec![
            0, 0, 5, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0xbe, 0x3f
        ]),
        Just(vec![0, 0, 3, 0, 9, 0, 0, 0, 1, 1, 0xaa, 0xbb]),
    ];
    prop_oneof![
        8 => (any::<bool>(), fragment).prop_map(|(d, b)| Op::Data(d, b)),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(d, n)| Op::Gap(d, n)),
    ]
}

fn direction(client: bool) -> Direction {
    if client { ToServer } else { ToClient }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_input_never_panics(ops in proptest::collection::vec(op(), 0..24), alpn in any::<bool>(), syn in any::<bool>()) {
        let limits = HttpLimits { max_body_encoded: 64, max_head: 256, max_headers: 8, max_header_block: 128, max_h2_streams: 4, ..HttpLimits::default() };
        let mut c = Conn::with(info(None, alpn.then_some("h2"), syn), limits);
        for op in ops {
            match op {
                Op::Data(client, bytes) => { c.send(direction(client), &bytes); }
                Op::Gap(client, n) => c.gap(direction(client), u64::from(n) + 1),
            }
        }
        let out = c.close();
        for e in &out.exchanges {
            let frames = e.origin.frames.clone().unwrap_or_default();
            prop_assert!(frames.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
