#!/usr/bin/env python3
"""Build the per-tracker decoder fixtures in samples/decoders/<tracker>/.

Usage: make_fixtures.py CORPUS_DIR LAB_REQUESTS_JSONL

Real fixtures: the first request of each tracker found in the public HARs
under CORPUS_DIR/har (folders with an MIT licence), cut out as one JSON file
with its origin. Lab fixtures: one request per tracker from the capture
lab (samples/decode/lab-requests.jsonl). Synthetic fixtures (SYNTHETIC
below) are built from the documented formats in docs/FORMATS.md and the
vendors' documentation; their file names start with `synthetic-`.
"""
import json
import sys
from pathlib import Path

# tracker -> [(file stem, host substring, path substring)], first match wins.
REAL = {
    "meta": [("tr-get", "www.facebook.com", "/tr")],
    "ga4": [("page-view", "google-analytics.com", "/g/collect")],
    "ga-universal": [("collect", "www.google-analytics.com", "/collect"), ("utm-gif", "google-analytics.com", "/__utm.gif")],
    "google-ads": [("floodlight", "fls.doubleclick.net", "/activityi"), ("conversion", "googleads.g.doubleclick.net", "/pagead/viewthroughconversion/")],
    "linkedin": [("collect", "ads.linkedin.com", "/collect")],
    "x": [("adsct", "t.co", "/i/adsct")],
    "microsoft-uet": [("page-load", "bat.bing.com", "/action/0")],
    "pinterest": [("noscript", "ct.pinterest.com", "/v3")],
    "adobe-analytics": [("image-request", "", "/b/ss/")],
    "comscore": [("beacon", "scorecardresearch.com", "/b")],
    "quantcast": [("pixel", "pixel.quantserve.com", "/pixel")],
    "chartbeat": [("ping", "chartbeat.net", "/ping")],
    "mixpanel": [("track", "api.mixpanel.com", "/track")],
    "hotjar": [("visit-data", "hotjar.com", "/visit-data")],
    "matomo": [("piwik-php", "", "/piwik.php")],
    "outbrain": [("pixel", "tr.outbrain.com", "/pixel")],
    "tradedesk": [("image-tag", "insight.adsrvr.org", "/track/")],
    "webtrends": [("dcs-gif", "", "/dcs.gif")],
    "adobe-target": [("mbox", "tt.omtrdc.net", "/mbox/")],
    "adobe-audience-manager": [("ibs-sync", "demdex.net", "/ibs:")],
    "adobe-ecid": [("id-fetch", "dpm.demdex.net", "/id")],
    "nielsen": [("ping", "imrworldwide.com", "/cgi-bin/m")],
    "salesforce-dmp": [("pixel", "beacon.krxd.net", "/pixel.gif")],
    "dynamic-yield": [("uia", "dynamicyield.com", "/uia")],
    "optimizely": [("event", "log.optimizely.com", "/event")],
    "at-internet": [("hit", "xiti.com", "/hit.xiti")],
    "new-relic-browser": [("rum", "bam.nr-data.net", "/1/")],
    "amazon-ads": [("publisher-sync-not-an-event", "amazon-adsystem.com", "/iu3")],
}
HAR_DIRS = {
    "pagexray": ("sitespeedio/pagexray @ c9f22741", "MIT"),
    "haralyzer": ("haralyzer/haralyzer @ 29ffe0d2", "MIT"),
    "sitespeed.io": ("sitespeedio/sitespeed.io @ 25a71788", "MIT"),
    "chrome-har-derived": ("derived from sitespeedio/chrome-har @ bb599c6d (converted with chrome-har 1.3.1)", "MIT"),
}
LAB = {"tiktok": "batch-gzip", "snap": "sign-up", "reddit": "purchase"}
LAB_PICK = {"tiktok": "/api/v2/pixel/batch", "snap": "ev=SIGN_UP", "reddit": "event=Purchase"}

SYNTHETIC = {
    "segment": ("identify", "POST", "https://api.segment.io/v1/i", "text/plain", '{"type":"identify","userId":"u-991","anonymousId":"7e5c1f1f-0000-4000-8000-000000000001","traits":{"email":"jane.doe@example.com","plan":"premium"},"context":{"page":{"url":"https://app.example.com/account","title":"Account","referrer":"","path":"/account","search":""},"library":{"name":"analytics.js","version":"next-1.70.0"}},"messageId":"ajs-next-1","timestamp":"2025-10-09T08:00:00.000Z","writeKey":"AbCdEf123","sentAt":"2025-10-09T08:00:00.050Z"}', "docs/FORMATS.md §4.13 example"),
    "amplitude": ("page-viewed", "POST", "https://api2.amplitude.com/2/httpapi", "application/json", '{"api_key":"0123456789abcdef0123456789abcdef","events":[{"event_type":"[Amplitude] Page Viewed","device_id":"c2a1d0e0-0000-4000-8000-000000000002","session_id":1760000000000,"time":1760000000123,"insert_id":"i-1","platform":"Web","language":"en-US","ip":"$remote","event_properties":{"[Amplitude] Page URL":"https://health.example.com/fertility","[Amplitude] Page Title":"Fertility clinics","[Amplitude] Page Path":"/fertility"}}],"options":{}}', "docs/FORMATS.md §4.15 example"),
    "microsoft-clarity": ("upload-text", "POST", "https://k.clarity.ms/collect", "application/json", '{"e":["0.8.59",3,0,120,"abcd1234","u1x2y3","s4t5u6",1,0,0,"https://health.example.com/rehab"],"a":[[120,9,"x"],[125,36,"y"]]}', "docs/FORMATS.md §4.11 example (envelope positions are placeholders)"),
    "yandex-metrica": ("watch", "GET", "https://mc.yandex.ru/watch/12345678?wmode=7&page-url=https%3A%2F%2Fclinic.example.ru%2Fivf&page-ref=https%3A%2F%2Fyandex.ru%2F&charset=utf-8&browser-info=pv%3A1%3Aar%3A1%3Au%3A1760000000123456789%3As%3A1920x1080x24%3Aen%3Autf-8%3Ala%3Aru-ru%3At%3AIVF%20prices&rn=123456", None, None, "docs/FORMATS.md §4.17 example"),
    "criteo": ("set-email", "GET", "https://sslwidget.criteo.com/event?a=12345&v=5.5.0&p0=e%3Dexd%26site_type%3Dd&p1=e%3Dce%26m%3D%255Bjane.doe%2540example.com%255D&p2=e%3Dvp%26p%3DSKU-1&adce=1&tld=shop.example.com&dtycbr=42055", None, None, "docs/FORMATS.md §4.18 example"),
    "hubspot": ("collected-form", "POST", "https://forms.hscollectedforms.net/collected-forms/submit/form", "application/json", '{"contactFields":{"email":"jane.doe@example.com","firstName":"Jane","phone":"5551234567"},"formSelectorId":"#intake","formValues":{"Reason for visit":"alcohol dependency"},"pageTitle":"Patient intake","pageUrl":"https://clinic.example.org/intake","portalId":1234567,"type":"SCRAPED","utk":"abc123visitortoken","version":"collected-forms-embed-js-static-1.4883","collectedFormId":"intake"}', "docs/FORMATS.md §4.19 example"),
    "taboola": ("page-view", "GET", "https://trc.taboola.com/1234567/log/3/unip?en=page_view", None, None, "docs/FORMATS.md §4.21 example"),
    "rudderstack": ("track", "POST", "https://acmeinc.dataplane.rudderstack.com/v1/track", "application/json", '{"type":"track","event":"Order Completed","properties":{"revenue":49.9,"currency":"USD"},"anonymousId":"a-7","userId":"u-7","messageId":"m-7","rudderId":"r-7","channel":"web","context":{"library":{"name":"RudderLabs JavaScript SDK","version":"3.0.0"},"page":{"url":"https://shop.example.com/thanks","title":"Thanks"}}}', "RudderStack event spec (Segment-compatible)"),
    "snowplow": ("tp2-page-view", "POST", "https://collector.shop.example.com/com.snowplowanalytics.snowplow/tp2", "application/json", '{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","url":"https://shop.example.com/ivf","page":"IVF prices","refr":"https://www.example.org/","tv":"js-3.24.0","tna":"sp","aid":"shop","p":"web","duid":"d1e2f3a4-0000-4000-8000-000000000003","uid":"customer-42","sid":"s-1","eid":"e-1","dtm":"1760000000000"}]}', "Snowplow tracker protocol"),
    "piwik-pro": ("page-view", "GET", "https://shop.piwik.pro/ppms.php?idsite=0b2c4d6e-0000-4000-8000-000000000004&rec=1&action_name=Search&url=https%3A%2F%2Fshop.example.com%2F%3Fq%3Dfertility&_id=0123456789abcdef&search=fertility", None, None, "Piwik PRO tracking API keys (Omnibug PiwikPRO.js)"),
    "tealium": ("event", "POST", "https://collect.tealiumiq.com/event", "application/json", '{"tealium_account":"acme","tealium_profile":"main","tealium_event":"purchase","tealium_visitor_id":"v-1","tealium_session_id":"1760000000000","dom.url":"https://shop.example.com/thanks","dom.title":"Thanks"}', "Tealium EventStream keys (Omnibug TealiumEventStream.js)"),
    "parsely": ("pageview", "GET", "https://p1.parsely.com/plogger/?rand=1760000000000&idsite=news.example.com&url=https%3A%2F%2Fnews.example.com%2Fhealth%2Fhiv&urlref=&action=pageview&u=pid%3D0000-1111", None, None, "Parse.ly keys (Omnibug Parsely.js)"),
    "rtb-house": ("tag", "GET", "https://creativecdn.com/tags?id=pr_AbCdEfGhIjKlMnOpQrSt_home", None, None, "RTB House pattern (Omnibug RTBHouse.js)"),
    "teads": ("page-view", "GET", "https://t.teads.tv/track?action=page&buyer_pixel_id=12345&tag_version=5.0.0&env=js-web", None, None, "Teads pattern (Omnibug Teads.js)"),
    "seznam-sklik": ("retargeting", "GET", "https://c.seznam.cz/retargeting?id=123456&url=https%3A%2F%2Fshop.example.cz%2Fkosik&consent=1", None, None, "Seznam Sklik keys (Omnibug SeznamSklik.js)"),
    "spotify-pixel": ("ingest", "POST", "https://pixels.spotify.com/v1/ingest", "application/json", '{"batch":[{"action":"view","pid":"0123456789abcdef","url":"https://shop.example.com/"}]}', "Spotify pixel endpoint (Omnibug SpotifyPixel.js); body keys illustrative"),
    "fullstory": ("library", "GET", "https://edge.fullstory.com/s/fs.js", None, None, "FullStory library pattern (Omnibug FullStory.js)"),
}


def har_files(corpus: Path):
    for folder, (origin, licence) in HAR_DIRS.items():
        for path in sorted((corpus / "har" / folder).glob("*.har")):
            yield path, folder, origin, licence


def body_of(request):
    post = request.get("postData") or {}
    text = post.get("text")
    if text is None and post.get("params"):
        text = json.dumps({p.get("name"): p.get("value") for p in post["params"]}, separators=(",", ":"))
    return post.get("mimeType"), text


def main(corpus: Path, lab: Path) -> None:
    out = Path(__file__).resolve().parent
    found = {}
    for path, folder, origin, licence in har_files(corpus):
        try:
            entries = json.loads(path.read_text(encoding="utf-8-sig"))["log"]["entries"]
        except (ValueError, KeyError):
            continue
        for index, entry in enumerate(entries):
            request = entry.get("request", {})
            url = request.get("url", "")
            try:
                host = url.split("/")[2]
            except IndexError:
                continue
            path_part = "/" + url.split("/", 3)[-1] if url.count("/") >= 3 else "/"
            for tracker, wanted in REAL.items():
                for stem, host_part, path_fragment in wanted:
                    if (tracker, stem) in found or host_part not in host or path_fragment not in path_part:
                        continue
                    mime, text = body_of(request)
                    found[(tracker, stem)] = {
                        "origin": f"{origin}: {folder}/{path.name}, /log/entries/{index}",
                        "licence": licence,
                        "synthetic": False,
                        "method": request.get("method"),
                        "url": url,
                        "content_type": mime,
                        "body": text,
                    }
    for (tracker, stem), fixture in sorted(found.items()):
        (out / tracker).mkdir(exist_ok=True)
        (out / tracker / f"{stem}.json").write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    for line in lab.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        tracker = record["tracker"]
        if tracker in LAB and record["variant"] == "h2" and LAB_PICK[tracker] in (record["url"] + (record["body"] or "")):
            (out / tracker).mkdir(exist_ok=True)
            target = out / tracker / f"lab-{LAB[tracker]}.json"
            if not target.exists():
                target.write_text(json.dumps({
                    "origin": f"capture lab (samples/lab/h2/truth.json, request {record['id']})",
                    "licence": "made for this project",
                    "synthetic": False,
                    "method": record["method"],
                    "url": record["url"],
                    "content_type": record["content_type"],
                    "body": record["body"],
                }, indent=1, ensure_ascii=False) + "\n")
    for tracker, (stem, method, url, mime, body, origin) in SYNTHETIC.items():
        (out / tracker).mkdir(exist_ok=True)
        (out / tracker / f"synthetic-{stem}.json").write_text(json.dumps({
            "origin": f"synthetic, built from {origin}",
            "licence": "made for this project",
            "synthetic": True,
            "method": method,
            "url": url,
            "content_type": mime,
            "body": body,
        }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
