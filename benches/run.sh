#!/usr/bin/env bash
# End-to-end benchmarks: pixelscope against the tools users would otherwise reach for, on the same
# files in the same run. Inputs are generated from samples/lab by make_inputs.py (nothing is
# downloaded). Prints wall time, throughput, peak memory (max RSS) and the ratios.
#
#   benches/run.sh                 # inputs of 110 MB and a 20,000-HAR corpus, in $BENCH_DIR
#   BENCH_MB=30 BENCH_HARS=2000 benches/run.sh    # a quicker run
#   BENCH_HAR_MB=1000 BENCH_ONLY=har benches/run.sh   # the HAR alone, at 1 GB
#
# Knobs: BENCH_MB (captures, and the HAR unless BENCH_HAR_MB is set), BENCH_HAR_MB, BENCH_HARS
# (corpus size), BENCH_ONLY (one of http1, h2, har, corpus; default all), BENCH_DIR,
# BENCH_CARGO_FLAGS (cargo flags of the measured build, e.g. "--no-default-features" for the system
# allocator), CARGO_TARGET_DIR.
# Needs: python3, GNU time (/usr/bin/time); tshark, jq and TrackHAR (`npm install -g trackhar`,
# run through benches/trackhar.mjs) are timed when present.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/pixelscope-bench}
mb=${BENCH_MB:-110}
har_mb=${BENCH_HAR_MB:-$mb}
hars=${BENCH_HARS:-20000}
only=${BENCH_ONLY:-all}
mkdir -p "$dir"
# Each input is made once per size and kept: generating them takes longer than timing them.
make() {  # make PART SIZE
  local stamp="$dir/.made-$1-$2"
  if [ ! -f "$stamp" ]; then
    python3 benches/make_inputs.py "$dir" --only "$1" --mb "$2" --hars "$hars"
    touch "$stamp"
  fi
}
want() { [ "$only" = all ] || [ "$only" = "$1" ]; }

target=${CARGO_TARGET_DIR:-target}
# shellcheck disable=SC2086 # the flags are meant to split into words
cargo build --release --quiet ${BENCH_CARGO_FLAGS:-}
bin=$target/release/pixelscope
TIME=/usr/bin/time
timing=$(mktemp)
trap 'rm -f "$timing"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

# run NAME FILE_BYTES CMD... : prints one row and remembers the times for ratios. GNU time writes
# to its own file (-o) so the command's output and errors can be thrown away; a non-zero exit
# (pixelscope exits 1 when an input is unreadable) is reported, not fatal. Besides wall time the
# row shows CPU time (user + system): on a shared machine wall time measures the neighbours too.
declare -A secs cpus
run() {
  local name=$1 bytes=$2; shift 2
  local status=0
  $TIME -o "$timing" -f '%e %U %S %M' "$@" >/dev/null 2>/dev/null || status=$?
  local s u y kb
  read -r s u y kb < <(tail -n 1 "$timing")
  secs[$name]=$s
  cpus[$name]=$(awk -v u="$u" -v y="$y" 'BEGIN { print u + y }')
  awk -v n="$name" -v s="$s" -v c="${cpus[$name]}" -v kb="$kb" -v b="$bytes" -v st="$status" 'BEGIN {
    mbs = (s > 0) ? b / 1e6 / s : 0
    cmbs = (c > 0) ? b / 1e6 / c : 0
    printf "%-38s %8.2f s wall %8.1f MB/s %8.2f s cpu %8.1f MB/s/cpu %8.1f MB peak%s\n", n, s, mbs, c, cmbs, kb / 1024, (st != 0 ? "  (exit " st ")" : "") }'
}
ratio() {
  awk -v a="${secs[$1]}" -v b="${secs[$2]}" -v ca="${cpus[$1]}" -v cb="${cpus[$2]}" -v n="$3" 'BEGIN {
    if (a > 0 && ca > 0) printf "%-38s %8.1fx wall %8.1fx cpu\n", n, b / a, cb / ca }'
}
size() { stat -c %s "$1"; }

if want http1; then
  make http1 "$mb"
  f="$dir/http1-$mb.pcapng"
  echo "== HTTP/1 cleartext capture ($(size "$f") bytes)"
  run "pixelscope scan http1.pcapng" "$(size "$f")" $bin scan --format jsonl "$f"
  # The same on one thread: the speed of one core, and what the split read gains.
  run "pixelscope scan -j 1 http1.pcapng" "$(size "$f")" $bin scan --format jsonl -j 1 "$f"
  if command -v tshark >/dev/null; then
    run "tshark -Y http.request" "$(size "$f")" tshark -r "$f" -Y http.request -T fields -e http.request.full_uri
    ratio "pixelscope scan http1.pcapng" "tshark -Y http.request" "speed-up over tshark"
    ratio "pixelscope scan -j 1 http1.pcapng" "tshark -Y http.request" "speed-up over tshark, one thread"
  fi
fi

if want h2; then
  make h2 "$mb"
  f="$dir/h2-$mb.pcapng"
  echo "== TLS 1.3 + HTTP/2 capture with key log ($(size "$f") bytes)"
  run "pixelscope scan h2.pcapng --keylog" "$(size "$f")" $bin scan --format jsonl --keylog "$dir/h2.keys" "$f"
  run "pixelscope scan -j 1 h2.pcapng --keylog" "$(size "$f")" $bin scan --format jsonl -j 1 --keylog "$dir/h2.keys" "$f"
  if command -v tshark >/dev/null; then
    run "tshark -Y http2.headers.method" "$(size "$f")" tshark -r "$f" -o "tls.keylog_file:$dir/h2.keys" -Y http2.headers.method -T fields -e http2.headers.path
    ratio "pixelscope scan h2.pcapng --keylog" "tshark -Y http2.headers.method" "speed-up over tshark"
    ratio "pixelscope scan -j 1 h2.pcapng --keylog" "tshark -Y http2.headers.method" "speed-up over tshark, one thread"
  fi
fi

if want har; then
  make har "$har_mb"
  f="$dir/big-$har_mb.har"
  echo "== HAR ($(size "$f") bytes)"
  run "pixelscope scan big.har" "$(size "$f")" $bin scan --format jsonl "$f"
  run "pixelscope scan -j 1 big.har" "$(size "$f")" $bin scan --format jsonl -j 1 "$f"
  if command -v jq >/dev/null; then
    run "jq .log.entries[].request.url" "$(size "$f")" jq -r '.log.entries[].request.url' "$f"
    ratio "pixelscope scan big.har" "jq .log.entries[].request.url" "speed-up over jq"
  fi
  # TrackHAR is a library; node reads the whole HAR into one string, which V8 caps at 512 MB.
  npm_root=$(npm root -g 2>/dev/null || true)
  if command -v node >/dev/null && [ -n "$npm_root" ] && [ -d "$npm_root/trackhar" ] && [ "$(size "$f")" -lt 500000000 ]; then
    run "trackhar (node) big.har" "$(size "$f")" env TRACKHAR_DIR="$npm_root" node benches/trackhar.mjs "$f"
    ratio "pixelscope scan big.har" "trackhar (node) big.har" "speed-up over TrackHAR"
    ratio "pixelscope scan -j 1 big.har" "trackhar (node) big.har" "speed-up over TrackHAR, one thread"
  fi
fi

if want corpus; then
  make corpus "$hars"
  corpus_bytes=$(du -sb "$dir/corpus-$hars" | cut -f1)
  echo "== corpus of $hars small HARs ($corpus_bytes bytes)"
  # Both runs must find the files in the page cache, or the first one measures the disk.
  find "$dir/corpus-$hars" -type f -exec cat {} + >/dev/null
  run "pixelscope scan -j 1 corpus/" "$corpus_bytes" $bin scan --format jsonl -j 1 "$dir/corpus-$hars"
  run "pixelscope scan -j 2 corpus/" "$corpus_bytes" $bin scan --format jsonl -j 2 "$dir/corpus-$hars"
  ratio "pixelscope scan -j 2 corpus/" "pixelscope scan -j 1 corpus/" "two threads over one"
fi
