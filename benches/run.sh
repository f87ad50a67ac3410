#!/usr/bin/env bash
# End-to-end benchmarks: pixelscope against the tools users would otherwise reach for, on the same
# files in the same run. Inputs are generated from samples/lab by make_inputs.py (nothing is
# downloaded). Prints wall time, throughput, peak memory (max RSS) and the ratios.
#
#   benches/run.sh                 # inputs of 110 MB and a 20,000-HAR corpus, in $BENCH_DIR
#   BENCH_MB=30 BENCH_HARS=2000 benches/run.sh    # a quicker run
#
# Needs: python3, GNU time (/usr/bin/time); tshark, jq and trackhar (npm) are timed when present.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/pixelscope-bench}
mb=${BENCH_MB:-110}
hars=${BENCH_HARS:-20000}
stamp="$dir/.made-$mb-$hars"
if [ ! -f "$stamp" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  python3 benches/make_inputs.py "$dir" --mb "$mb" --hars "$hars"
  touch "$stamp"
fi
cargo build --release --quiet
bin=target/release/pixelscope
TIME=/usr/bin/time

# run NAME FILE_BYTES CMD... : prints one row and remembers the time for ratios
declare -A secs
run() {
  local name=$1 bytes=$2; shift 2
  local out
  out=$({ $TIME -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -n 1)
  local s=${out% *} kb=${out#* }
  secs[$name]=$s
  awk -v n="$name" -v s="$s" -v kb="$kb" -v b="$bytes" 'BEGIN {
    mbs = (s > 0) ? b / 1e6 / s : 0
    printf "%-34s %8.2f s %10.1f MB/s %8.1f MB peak\n", n, s, mbs, kb / 1024 }'
}
ratio() { awk -v a="${secs[$1]}" -v b="${secs[$2]}" -v n="$3" 'BEGIN { if (a > 0) printf "%-34s %8.1fx\n", n, b / a }'; }
size() { stat -c %s "$1"; }

echo "== HTTP/1 cleartext capture ($(size "$dir/http1.pcapng") bytes)"
run "pixelscope scan http1.pcapng" "$(size "$dir/http1.pcapng")" $bin scan --format jsonl "$dir/http1.pcapng"
if command -v tshark >/dev/null; then
  run "tshark -Y http.request" "$(size "$dir/http1.pcapng")" tshark -r "$dir/http1.pcapng" -Y http.request -T fields -e http.request.full_uri
  ratio "pixelscope scan http1.pcapng" "tshark -Y http.request" "speed-up over tshark"
fi

echo "== TLS 1.3 + HTTP/2 capture with key log ($(size "$dir/h2.pcapng") bytes)"
run "pixelscope scan h2.pcapng --keylog" "$(size "$dir/h2.pcapng")" $bin scan --format jsonl --keylog "$dir/h2.keys" "$dir/h2.pcapng"
if command -v tshark >/dev/null; then
  run "tshark -Y http2.headers.method" "$(size "$dir/h2.pcapng")" tshark -r "$dir/h2.pcapng" -o "tls.keylog_file:$dir/h2.keys" -Y http2.headers.method -T fields -e http2.headers.path
  ratio "pixelscope scan h2.pcapng --keylog" "tshark -Y http2.headers.method" "speed-up over tshark"
fi

echo "== HAR ($(size "$dir/big.har") bytes)"
run "pixelscope scan big.har" "$(size "$dir/big.har")" $bin scan --format jsonl "$dir/big.har"
if command -v jq >/dev/null; then
  run "jq .log.entries[].request.url" "$(size "$dir/big.har")" jq -r '.log.entries[].request.url' "$dir/big.har"
  ratio "pixelscope scan big.har" "jq .log.entries[].request.url" "speed-up over jq"
fi
if command -v trackhar >/dev/null; then
  run "trackhar big.har" "$(size "$dir/big.har")" trackhar "$dir/big.har"
  ratio "pixelscope scan big.har" "trackhar big.har" "speed-up over TrackHAR"
fi

corpus_bytes=$(du -sb "$dir/corpus" | cut -f1)
echo "== corpus of $hars small HARs ($corpus_bytes bytes)"
run "pixelscope scan -j 1 corpus/" "$corpus_bytes" $bin scan --format jsonl -j 1 "$dir/corpus"
run "pixelscope scan -j 2 corpus/" "$corpus_bytes" $bin scan --format jsonl -j 2 "$dir/corpus"
ratio "pixelscope scan -j 2 corpus/" "pixelscope scan -j 1 corpus/" "two threads over one"
