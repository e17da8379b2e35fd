#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the server on port 3005 with SQLite in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release --target happy-server
exec build/release/happy-server "$@"
