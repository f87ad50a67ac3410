# Convenience recipes; CI (.ci/run) calls cargo directly, so `just` is never required.

default: test

# Scan the bundled samples (the README's first command).
scan:
    cargo run --release -- scan samples/

# The README's test command.
test:
    cargo test --workspace

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Throughput and memory against tshark, jq and TrackHAR (see docs/PERFORMANCE.md).
bench:
    bash benches/run.sh

# The per-crate micro-benchmarks (HAR reader, capture reader).
bench-crates:
    cargo bench -p pixelscope-har -p pixelscope-capture

# Review changed insta snapshots (needs cargo-insta).
snap-review:
    cargo insta review
