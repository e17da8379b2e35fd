#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages the build and tests need, only when one is missing.
# Called by scripts/run.sh and scripts/test.sh; safe to run any number of times.
set -euo pipefail

packages=(
    build-essential cmake ninja-build ccache pkg-config
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libsoci-dev libsqlite3-dev sqlite3 libsodium-dev libfmt-dev
    libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
    libssl-dev zlib1g-dev openssl ca-certificates nodejs npm tmux
    # The cluster-bus tests start their own redis-server on free loopback ports with a temporary directory;
    # they never use the package's system service.
    redis-server
)

missing=()
for p in "${packages[@]}"; do
    # nodejs/npm may come from outside apt (e.g. a preinstalled Node); accept a working binary.
    if [[ "$p" == nodejs ]] && command -v node >/dev/null 2>&1; then continue; fi
    if [[ "$p" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
