//! Differential tests with tshark (Wireshark's dissectors) as the oracle:
//! the HTTP requests pixelscope's capture reader, TLS layer and HTTP layer
//! reconstruct from a capture must be the requests tshark dissects, with the
//! same method, the same full URL, and the frame tshark shows each request
//! in among the frames pixelscope names for it.
//!
//! The layers are driven directly (CaptureReader -> TlsLayer -> HttpLayer
//! into a `Collected` sink), not through the binary: `scan` prints only
//! tracker records, and every request counts here.
//!
//! The frame tshark shows a request in is the frame that completed it (the
//! last TCP segment of a reassembled request, or the segment carrying the
//! TLS record that completed it); pixelscope's origin lists every frame of
//! the request and its response. For requests that tshark reassembles from
//! several segments, the first of them (`tcp.segment`) must also be the
//! first frame pixelscope names. Nothing unpaired is tolerated on either
//! side. The two tools differ legitimately in two places, both handled
//! explicitly: tshark also dissects HTTP over UDP (SSDP `M-SEARCH *`), which
//! is left out of its list (`tcp` in the filter); and tshark gives no full
//! URI for a request without a Host header, where pixelscope names the
//! server address, so the URL is rebuilt the same way from tshark's fields.
//! (Over the whole third-party corpus, the only other differences are TLS
//! 1.2 sessions with RC4, DES, 3DES, IDEA, RC2, SEED or Camellia suites,
//! which tshark decrypts and pixelscope reports as `tls.unsupported-cipher`;
//! no such capture is among the samples.)
//!
//! Each test prints a short message and passes when tshark is not
//! installed (.ci/run installs it).

use pixelscope_capture::CaptureReader;
use pixelscope_http::HttpLayer;
use pixelscope_model::{Collected, Exchange, InputFormat, Origin};
use pixelscope_tls::{KeyLog, TlsLayer};
use std::process::Command;

/// A request as tshark dissects it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Dissected {
    /// The frame tshark shows the request in.
    frame: u64,
    /// The first frame of the request, when tshark reassembled it from
    /// several segments and the frame holds no other request.
    first_frame: Option<u64>,
    method: String,
    url: String,
}

/// A request as pixelscope reconstructs it.
#[derive(Clone, Debug)]
struct Reconstructed {
    frames: Vec<u64>,
    method: String,
    url: String,
}

/// Reads a capture through the three layers and returns its exchanges
/// (those that carry a request).
fn reconstruct(path: &str, keylog: Option<&str>) -> Vec<Reconstructed> {
    let full = crate::util::root().join(path);
    let format = if std::fs::read(&full)
        .unwrap()
        .starts_with(&[0x0a, 0x0d, 0x0d, 0x0a])
    {
        InputFormat::Pcapng
    } else {
        InputFormat::Pcap
    };
    let origin = Origin::file(path, None, format);
    let keys = match keylog {
        Some(file) => {
            let (keys, problems) =
                KeyLog::parse(&std::fs::read(crate::util::root().join(file)).unwrap());
            assert!(problems.is_empty(), "{file}: {problems:?}");
            keys
        }
        None => KeyLog::new(),
    };
    let http = HttpLayer::new(Collected::default(), origin.clone());
    let mut tls = TlsLayer::new(keys, http, origin.clone());
    let file = std::io::BufReader::new(std::fs::File::open(&full).unwrap());
    CaptureReader::new(origin)
        .read(file, &mut tls)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let collected: Collected = tls.into_inner().finish();
    collected
        .exchanges
        .iter()
        .filter(|e| !e.request.method.is_empty())
        .map(|e: &Exchange| Reconstructed {
            frames: e.origin.frames.clone().unwrap_or_default(),
            method: e.request.method.clone(),
            url: e.request.url.clone(),
        })
        .collect()
}

/// Runs tshark with fields output; `None` when tshark is not installed.
fn tshark(
    path: &str,
    keylog: Option<&str>,
    filter: &str,
    fields: &[&str],
) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.current_dir(crate::util::root())
        .args(["-r", path, "-Y", filter, "-T", "fields"])
        // Every occurrence of a field, joined by a byte no URL holds raw.
        .args(["-E", "occurrence=a", "-E", "aggregator=\u{1f}"]);
    if let Some(keys) = keylog {
        cmd.args(["-o", &format!("tls.keylog_file:{keys}")]);
    }
    for field in fields {
        cmd.args(["-e", field]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(err) => {
            println!("tshark is not available ({err}): differential test skipped");
            return None;
        }
    };
    // A capture whose last record is cut short is read up to that record
    // by both tools; tshark says so and exits with status 2.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("cut short in the middle of a packet"),
        "tshark on {path}: {stderr}"
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| line.split('\t').map(str::to_owned).collect())
            .collect(),
    )
}

fn values(cell: Option<&String>) -> Vec<String> {
    match cell {
        Some(text) if !text.is_empty() => text.split('\u{1f}').map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// tshark's HTTP/1.x requests.
fn dissect_http1(path: &str, keylog: Option<&str>) -> Option<Vec<Dissected>> {
    // HTTP over TCP only: tshark also dissects HTTP over UDP (SSDP's
    // `M-SEARCH *`), which is not web traffic.
    let rows = tshark(
        path,
        keylog,
        "http.request and tcp",
        &[
            "frame.number",
            "http.request.method",
            "http.request.full_uri",
            "tcp.segment",
            "http.request.uri",
            "ip.dst",
            "tcp.dstport",
            "tls.record.content_type",
        ],
    )?;
    let mut out = Vec::new();
    for row in rows {
        let frame: u64 = row[0].parse().unwrap();
        let methods = values(row.get(1));
        let mut urls = values(row.get(2));
        if urls.is_empty() && methods.len() == 1 {
            // No Host header: tshark gives no full URI. The URL is then the
            // server's address (RFC 9112 §3.3), the port left out when it
            // is the scheme's default, as pixelscope writes it.
            let scheme = if values(row.get(7)).is_empty() {
                "http"
            } else {
                "https"
            };
            let port = row.get(6).map(String::as_str).unwrap_or_default();
            let default = if scheme == "http" { "80" } else { "443" };
            let port = if port == default {
                String::new()
            } else {
                format!(":{port}")
            };
            urls.push(format!(
                "{scheme}://{}{port}{}",
                row.get(5).map(String::as_str).unwrap_or_default(),
                row.get(4).map(String::as_str).unwrap_or_default()
            ));
        }
        assert_eq!(methods.len(), urls.len(), "{path} frame {frame}: {row:?}");
        let segments: Vec<u64> = values(row.get(3))
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let first_frame = if methods.len() == 1 {
            segments.iter().copied().min().filter(|f| *f < frame)
        } else {
            None
        };
        for (method, url) in methods.into_iter().zip(urls) {
            out.push(Dissected {
                frame,
                first_frame,
                method,
                url,
            });
        }
    }
    Some(out)
}

/// tshark's HTTP/2 requests (one per request HEADERS frame).
fn dissect_h2(path: &str, keylog: Option<&str>) -> Option<Vec<Dissected>> {
    let rows = tshark(
        path,
        keylog,
        "http2.headers.method",
        &[
            "frame.number",
            "http2.headers.method",
            "http2.headers.scheme",
            "http2.headers.authority",
            "http2.headers.path",
        ],
    )?;
    let mut out = Vec::new();
    for row in rows {
        let frame: u64 = row[0].parse().unwrap();
        let methods = values(row.get(1));
        let schemes = values(row.get(2));
        let authorities = values(row.get(3));
        let paths = values(row.get(4));
        assert!(
            schemes.len() == methods.len()
                && authorities.len() == methods.len()
                && paths.len() == methods.len(),
            "{path} frame {frame}: pseudo-headers do not line up: {row:?}"
        );
        for i in 0..methods.len() {
            out.push(Dissected {
                frame,
                first_frame: None,
                method: methods[i].clone(),
                url: format!("{}://{}{}", schemes[i], authorities[i], paths[i]),
            });
        }
    }
    Some(out)
}

/// Pairs tshark's requests with pixelscope's one to one: same method, same
/// URL, tshark's frame among pixelscope's frames and, when known, the same
/// first frame. Returns the number paired; fails on anything unpaired on
/// either side.
fn compare(path: &str, dissected: &[Dissected], reconstructed: &[Reconstructed]) -> usize {
    let mut used = vec![false; reconstructed.len()];
    let mut unpaired_tshark = Vec::new();
    let mut wrong_first = Vec::new();
    for d in dissected {
        let found = reconstructed.iter().enumerate().position(|(i, r)| {
            !used[i] && r.method == d.method && r.url == d.url && r.frames.contains(&d.frame)
        });
        match found {
            Some(i) => {
                used[i] = true;
                let ours = reconstructed[i].frames.first().copied();
                if let Some(first) = d.first_frame
                    && ours != Some(first)
                {
                    wrong_first.push(format!(
                        "frame {} {} {}: tshark's first segment {first}, pixelscope {:?}",
                        d.frame, d.method, d.url, reconstructed[i].frames
                    ));
                }
            }
            None => unpaired_tshark.push(d),
        }
    }
    let unpaired_ours: Vec<&Reconstructed> = reconstructed
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(r, _)| r)
        .collect();

    let mut differences: Vec<String> = unpaired_tshark
        .iter()
        .map(|d| format!("only tshark: frame {} {} {}", d.frame, d.method, d.url))
        .collect();
    differences.extend(unpaired_ours.iter().map(|r| {
        format!(
            "only pixelscope: frames {:?} {} {}",
            r.frames, r.method, r.url
        )
    }));
    differences.extend(wrong_first);
    assert!(
        differences.is_empty(),
        "{path}: {} requests paired; differences:\n{}",
        dissected.len() - unpaired_tshark.len(),
        differences.join("\n")
    );
    let paired = dissected.len() - unpaired_tshark.len();
    let first_checked = dissected.iter().filter(|d| d.first_frame.is_some()).count();
    println!(
        "{path}: {paired} requests agree with tshark, {first_checked} of them reassembled \
         from several segments with the same first frame"
    );
    paired
}

fn cleartext(path: &str) -> Option<usize> {
    let dissected = dissect_http1(path, None)?;
    let reconstructed = reconstruct(path, None);
    Some(compare(path, &dissected, &reconstructed))
}

#[test]
fn cleartext_lab_capture_requests_equal_tshark() {
    if let Some(n) = cleartext("samples/lab/http1/capture.pcapng") {
        assert_eq!(n, 98);
    }
}

#[test]
fn out_of_order_requests_equal_tshark() {
    cleartext("samples/pcap/out-of-order-first400.pcap");
}

#[test]
fn classic_http_requests_equal_tshark() {
    cleartext("samples/pcap/http.pcap");
}

#[test]
fn sajal_requests_equal_tshark() {
    cleartext("samples/pcap-real/sajal.pcap");
}

#[test]
fn pcapr_requests_equal_tshark() {
    cleartext("samples/pcap-real/pcapr.net.pcap");
}

#[test]
fn espn_requests_equal_tshark() {
    cleartext("samples/pcap-real/http_espn.pcapng");
}

#[test]
fn app_ad_traffic_requests_equal_tshark() {
    cleartext("samples/pcap-real/1kxun-trackers.pcap");
}

#[test]
fn split_user_agent_requests_equal_tshark() {
    if let Some(n) = cleartext("samples/pcap-real/http_ua_splitted_in_two_pkts.pcapng") {
        assert_eq!(n, 37);
    }
}

fn decrypted(path: &str, keylog: Option<&str>, h2: bool) -> Option<usize> {
    let dissected = if h2 {
        dissect_h2(path, keylog)?
    } else {
        dissect_http1(path, keylog)?
    };
    // The DSB captures carry their keys: pixelscope gets them from the file
    // as tshark does.
    let reconstructed = reconstruct(path, keylog);
    Some(compare(path, &dissected, &reconstructed))
}

#[test]
fn tls_sample_requests_equal_tshark() {
    if let Some(n) = decrypted(
        "samples/tls/tls_dsb.pcapng",
        Some("samples/tls/tls_dsb.keys"),
        false,
    ) {
        assert_eq!(n, 4);
    }
}

#[test]
fn tls_h2_sample_requests_equal_tshark() {
    if let Some(n) = decrypted(
        "samples/tls/h2_dsb.pcapng",
        Some("samples/tls/h2_dsb.keys"),
        true,
    ) {
        assert_eq!(n, 3);
    }
}

#[test]
fn lab_h1tls_requests_equal_tshark() {
    let with_log = decrypted(
        "samples/lab/h1tls/capture.pcapng",
        Some("samples/lab/h1tls/sslkeys.log"),
        false,
    );
    let with_dsb = decrypted("samples/lab/h1tls/capture-dsb.pcapng", None, false);
    if let (Some(a), Some(b)) = (with_log, with_dsb) {
        assert_eq!(a, b);
        assert_eq!(a, 98);
    }
}

#[test]
fn lab_h2_requests_equal_tshark() {
    let with_log = decrypted(
        "samples/lab/h2/capture.pcapng",
        Some("samples/lab/h2/sslkeys.log"),
        true,
    );
    let with_dsb = decrypted("samples/lab/h2/capture-dsb.pcapng", None, true);
    if let (Some(a), Some(b)) = (with_log, with_dsb) {
        assert_eq!(a, b);
        assert_eq!(a, 98);
    }
}

/// A capture without keys: neither side sees a request.
#[test]
fn lab_h2_without_keys_has_no_requests_on_either_side() {
    let Some(dissected) = dissect_h2("samples/lab/h2/capture.pcapng", None) else {
        return;
    };
    assert!(dissected.is_empty());
    assert!(reconstruct("samples/lab/h2/capture.pcapng", None).is_empty());
}
