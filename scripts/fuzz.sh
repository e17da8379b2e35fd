#!/usr/bin/env bash
# Builds the protocol-parser fuzz target with clang's libFuzzer (ASan + UBSan) and runs it for a bounded time.
#   scripts/fuzz.sh [seconds]   (default 20; explores, keeping its corpus in build/fuzz/corpus)
#   FUZZ_RUNS=N scripts/fuzz.sh (reproducible: fixed seed, N inputs, fresh corpus from the committed seeds;
#                                what scripts/test.sh runs, so a CI result does not depend on luck)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ not installed; skipping (apt-get install clang)"
    exit 0
fi
out=build/fuzz
runs="${FUZZ_RUNS:-}"
if [[ -n "$runs" ]]; then
    rm -rf "$out/corpus"
fi
mkdir -p "$out/corpus"
# Seeds: a few valid packets of each kind.
printf '0{"sid":"abc"}' > "$out/corpus/eio-open"
printf '4hello\x1e2\x1ebAQID' > "$out/corpus/eio-payload"
printf '2["ev",{"a":[1,2,3]}]' > "$out/corpus/sio-event"
printf '5-/admin,12["ev",{"_placeholder":true,"num":0}]' > "$out/corpus/sio-binary"
printf '3/custom,7[{"ok":true}]' > "$out/corpus/sio-ack"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. \
    tests/fuzz/codec_fuzz.cpp core/engineio/codec.cpp core/socketio/codec.cpp core/crypto/ids.cpp core/crypto/base64.cpp \
    core/json/json_writer.cpp \
    -lboost_json -lsodium -o "$out/codec_fuzz"
# Regression inputs found earlier live in tests/fuzz/corpus; the working corpus grows in build/fuzz/corpus.
cp tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
limit=(-max_total_time="$seconds")
if [[ -n "$runs" ]]; then
    limit=(-runs="$runs" -seed=1)
fi
if "$out/codec_fuzz" "${limit[@]}" -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/corpus" > "$out/fuzz.log" 2>&1; then
    tail -5 "$out/fuzz.log"
else
    status=$?
    tail -60 "$out/fuzz.log"
    echo "fuzz: failure (exit $status); the input is in $out/ (crash-*); add it to tests/fuzz/corpus once fixed"
    exit "$status"
fi
