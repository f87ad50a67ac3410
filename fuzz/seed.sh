#!/bin/sh
# Builds the seed corpora of every fuzz target from samples/ into
# fuzz/corpus/<target>/ (not committed: regenerate them with this script).
# Works on stable: only the replay harness is built.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cargo run --release --quiet --manifest-path "$here/Cargo.toml" --no-default-features \
    --bin replay -- seed "$here/../samples" "$here/corpus"
