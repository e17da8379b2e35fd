#!/usr/bin/env bash
# Builds the protocol-parser fuzz target with clang's libFuzzer (ASan + UBSan) and runs it for a bounded time.
#   scripts/fuzz.sh [seconds]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ not installed; skipping (apt-get install clang)"
    exit 0
fi
out=build/fuzz
mkdir -p "$out/corpus"
# Seeds: a few valid packets of each kind.
printf '0{"sid":"abc"}' > "$out/corpus/eio-open"
printf '4hello\x1e2\x1ebAQID' > "$out/corpus/eio-payload"
printf '2["ev",{"a":[1,2,3]}]' > "$out/corpus/sio-event"
printf '5-/admin,12["ev",{"_placeholder":true,"num":0}]' > "$out/corpus/sio-binary"
printf '3/custom,7[{"ok":true}]' > "$out/corpus/sio-ack"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. \
    tests/fuzz/codec_fuzz.cpp core/engineio/codec.cpp core/socketio/codec.cpp core/crypto/ids.cpp core/crypto/base64.cpp \
    -lboost_json -lsodium -o "$out/codec_fuzz"
"$out/codec_fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$out/corpus" 2>&1 | tail -5
