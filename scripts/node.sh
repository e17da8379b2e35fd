#!/usr/bin/env bash
# Prints the path of a Node.js that can run the tests: 20.10 or newer (`node --test --test-concurrency`,
# import.meta.dirname). That is the system's `node` when it is new enough; otherwise the one pinned in
# tests/node/package-lock.json (the `node` package from npm), installed on first use. Debian 12's nodejs is 18.
set -euo pipefail
cd "$(dirname "$0")/.."
min="20.10"
new_enough() {
    "$1" -e "const [a, b] = process.versions.node.split('.').map(Number); const [x, y] = '$min'.split('.').map(Number);
             process.exit(a > x || (a === x && b >= y) ? 0 : 1)" 2>/dev/null
}
if command -v node >/dev/null 2>&1 && new_enough node; then
    command -v node
    exit 0
fi
pinned="$PWD/tests/node/node_modules/.bin/node"
if [[ ! -x "$pinned" ]] || [[ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]]; then
    echo "node.sh: $(node --version 2>/dev/null || echo 'no node') is older than $min; installing the Node pinned in tests/node" >&2
    npm ci --prefix tests/node --no-audit --no-fund >&2
fi
if ! new_enough "$pinned"; then
    echo "node.sh: $pinned does not run or is older than $min" >&2
    exit 1
fi
echo "$pinned"
