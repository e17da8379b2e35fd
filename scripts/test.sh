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
# The libFuzzer targets (ASan + UBSan; tests/fuzz): a fixed seed and input count each, so the result is reproducible.
FUZZ_RUNS=ci scripts/fuzz.sh
# Soak under ASan + UBSan + LeakSanitizer (bench/soak.mjs, README "Soak"): two minutes of the realistic mix (CLI
# sessions, daemons, apps, RPCs, reconnects, session churn) against a sanitizer build of the server alone; fails on
# a sanitizer or leak report (LeakSanitizer runs when the server exits after SIGTERM), a failed operation, descriptor
# growth or an unclean exit. The server comes from the fuzz build just made (clang, ASan + UBSan): only its own
# main and the link are new.
if [[ -f build/fuzz/build.ninja ]]; then
    cmake --build build/fuzz --target happy-server
    "$node_bin" bench/soak.mjs --bin build/fuzz/happy-server --duration 120 --asan --check --out none
fi
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
# The same real-CLI run (dataKey pairing only) against two instances on one PostgreSQL and one Redis behind nginx
# (tests/integration/cluster.mjs), the app's socket and the daemon's on different instances.
HAPPY_E2E_CLUSTER=1 HAPPY_E2E_MODES=v2 HAPPY_SERVER_BIN="$PWD/build/release/happy-server" \
    scripts/pg_test_cluster.sh run -- "$node_bin" --test --test-concurrency=1 tests/e2e/
# The files whose tests involve several sockets (RPC, presence, push focus, update fan-out), each of their servers
# replaced by two instances on one PostgreSQL database and one Redis behind nginx (HAPPY_TEST_CLUSTER, harness.mjs):
# consecutive sockets land on different instances, and each test checks that its sockets were spread.
cluster_files="realtime_rpc realtime_presence push machines artifacts kv access_keys account"
HAPPY_TEST_CLUSTER=2 HAPPY_SERVER_BIN="$PWD/build/release/happy-server" scripts/pg_test_cluster.sh run -- \
    "$node_bin" --test --test-concurrency=1 $(printf 'tests/integration/%s.test.mjs ' $cluster_files)
# The integration suite on PostgreSQL: every test server gets a database of its own on a throwaway cluster.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" scripts/pg_test_cluster.sh run -- \
    "$node_bin" --test --test-concurrency=1 tests/integration/
# Last, so that its summary closes the output.
HAPPY_SERVER_BIN="$PWD/build/release/happy-server" "$node_bin" --test --test-concurrency=1 tests/integration/
