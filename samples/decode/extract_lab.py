#!/usr/bin/env python3
"""Extract every tracker request of the capture lab's ground truth.

Usage: extract_lab.py LAB_DIR > lab-requests.jsonl

LAB_DIR holds one folder per variant (http1, h1tls, h2, h3), each with the
lab's truth.json. One JSON line per tracker request, in variant then request
order, with what crates/decode/tests/lab.rs needs: the request as the HTTP
layer delivers it after content decoding (method, url, content type,
content encoding, body text *before* gzip) and the expected outcome
(events, page URL, pixel id, hashed values with their field path).
"""
import json
import sys
from pathlib import Path

VARIANTS = ("http1", "h1tls", "h2", "h3")
# Where each tracker's truth keeps the id the record's `pixel_id` must show
# (a list value: its first element).
PIXEL_ID_KEY = {
    "tiktok": "pixel_code",
    "meta": "pixel_id",
    "ga4": "measurement_id",
    "linkedin": "partner_ids",
    "snap": "pixel_id",
    "pinterest": "tag_id",
    "x": "pixel_id",
    "reddit": "advertiser_id",
    "microsoft-uet": "tag_id",
}


def pixel_id(request):
    value = request.get("ids", {}).get(PIXEL_ID_KEY[request["tracker"]])
    if isinstance(value, list):
        return value[0] if value else None
    return value


def main(lab_dir: Path) -> None:
    for variant in VARIANTS:
        truth = json.loads((lab_dir / variant / "truth.json").read_text(encoding="utf-8"))
        for request in truth["requests"]:
            tracker = request["tracker"]
            if tracker not in PIXEL_ID_KEY:
                sys.exit("unknown tracker %r in %s: add it to PIXEL_ID_KEY" % (tracker, variant))
            line = {
                "variant": variant,
                "id": request["id"],
                "tracker": tracker,
                "method": request["method"],
                "url": request["url"],
                "content_type": request.get("content_type"),
                "content_encoding": request.get("content_encoding"),
                "body": request.get("body"),
                "events": request["events"],
                "page_url": request.get("page_url"),
                "pixel_id": pixel_id(request),
                "hashed": [
                    {
                        "field": h["field"],
                        "sha256": h["sha256"],
                        "encoding": h["encoding"],
                        "wire_value": h["wire_value"],
                    }
                    for h in request.get("hashed", [])
                ],
            }
            print(json.dumps(line, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
