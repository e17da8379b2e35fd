#!/usr/bin/env bash
# Installs what is missing, builds everything, runs the unit tests (ctest; the store tests also on PostgreSQL), the
# fuzzers, the end-to-end test with the real happy CLI and the integration tests (node --test against the real binary
# on port 0, on PostgreSQL and on SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The test runner needs Node >= 20.10 (--test-concurrency); scripts/node.sh picks the system's or a pinned one.
node_bin=$(scripts/node.sh)
# Child processes started by the tests (the happy CLI, its daemon) find the same Node first.
export PATH="$(dirname "$node_bin"):$PATH"
scripts/build.sh release
# From npm, pinned in tests/package-lock.json: the real socket.io-client for the realtime tests, an S3-compatible
# server (@20minutes/s3rver) for the S3 file store's unit and integration tests, and the AWS SDK's SigV4 signer
# that ours is checked against. Installed before ctest, whose S3 store tests start that server.
if [[ ! -d tests/node_modules/socket.io-client ]] || [[ ! -d tests/node_modules/@20minutes/s3rver ]] ||
    [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
    npm ci --prefix tests --no-audit --no-fund >/dev/null
fi
ctest --test-dir build/release --output-on-failure
# The module store tests again on PostgreSQL: a throwaway cluster (never a system service), a database per test.
scripts/pg_test_cluster.sh run -- build/release/happy_modules_test --gtest_brief=1
# Protocol parsers under libFuzzer (ASan + UBSan): a fixed seed and input count, so the result is reproducible.
FUZZ_RUNS=1000000 scripts/fuzz.sh
# The published happy CLI (pinned in tests/e2e/package-lock.json; ~1.1 GB, ~2 min to install) against the
# binary: login through the terminal pairing, daemon, machine and session RPCs (tests/e2e/README.md).
if [[ ! -f tests/e2e/node_modules/happy/package.json ]] || [[ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]]; then
    # npm >= 11.16 rejects this lock file in `npm ci` (npm/cli#9846: happy's @slopus/happy-terminal declares optional
    # platform packages that were never published). `npm install` then lays out the same locked tree; the lock file
    # must come out unchanged.
    # Its warnings (engines of packages the test never loads, an unapproved postinstall) are shown only on failure.
    npm_log=$(mktemp)
    if ! npm ci --prefix tests/e2e --no-audit --no-fund >"$npm_log" 2>&1; then
        lock_copy=$(mktemp)
        cp tests/e2e/package-lock.json "$lock_copy"
        if ! npm install --prefix tests/e2e --no-audit --no-fund >"$npm_log" 2>&1; then
            cat "$npm_log" >&2
            exit 1
        fi
        if ! cmp -s tests/e2e/package-lock.json "$lock_copy"; then
            cp "$lock_copy" tests/e2e/package-lock.json
            echo "test.sh: npm install changed tests/e2e/package-lock.json; it no longer pins the e2e tree" >&2
            exit 1
        fi
        rm -f "$lock_copy"
    fi
    rm -f "$npm_log"
fi
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" "$node_bin" --test --test-concurrency=1 tests/e2e/
# The same real-CLI run with the server on PostgreSQL.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" scripts/pg_test_cluster.sh run -- \
    "$node_bin" --test --test-concurrency=1 tests/e2e/
# The integration suite on PostgreSQL: every test server gets a database of its own on a throwaway cluster.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" scripts/pg_test_cluster.sh run -- \
    "$node_bin" --test --test-concurrency=1 tests/integration/
# Last, so that its summary closes the output.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" "$node_bin" --test --test-concurrency=1 tests/integration/
