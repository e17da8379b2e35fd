#!/usr/bin/env bash
# Installs what is missing, builds everything, runs the unit tests (ctest) and the integration tests
# (node --test against the real binary on port 0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
ctest --test-dir build/release --output-on-failure
# The real socket.io-client from npm (pinned in tests/package-lock.json) for the realtime tests.
if [[ ! -d tests/node_modules/socket.io-client ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
    npm ci --prefix tests --no-audit --no-fund >/dev/null
fi
# Protocol parsers under libFuzzer (ASan + UBSan): a fixed seed and input count, so the result is reproducible.
FUZZ_RUNS=1000000 scripts/fuzz.sh
# Last, so that its summary closes the output.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" node --test --test-concurrency=1 tests/integration/
