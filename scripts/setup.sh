#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages the build and tests need, only when one is missing, and makes
# sure a Node.js new enough for the tests is at hand (scripts/node.sh).
# Called by scripts/run.sh and scripts/test.sh; safe to run any number of times.
#   scripts/setup.sh               build, tests, benchmarks
#   scripts/setup.sh --build-only  what building the server needs, nothing more
#   scripts/setup.sh --release     the build packages and what scripts/release.sh and scripts/release_test.sh add
set -euo pipefail

build_packages=(
    build-essential cmake ninja-build ccache pkg-config
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libsoci-dev libsqlite3-dev libsodium-dev libfmt-dev libpq-dev
    libssl-dev zlib1g-dev ca-certificates
)
test_packages=(
    sqlite3 libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev openssl nodejs npm tmux postgresql
    # The cluster-bus tests start their own redis-server on free loopback ports with a temporary directory (also
    # TLS-only, with a throwaway CA made by the openssl tool, for rediss://); they never use the package's service.
    redis-server
    # The cluster tests put two or three servers behind a real nginx balancer of their own (free loopback port,
    # temporary prefix); bench/ drives HTTP load with wrk.
    nginx-light wrk
    # The admin console's browser test (tests/integration/admin_browser.test.mjs) drives headless chromium through
    # playwright-core (npm, tests/package.json); the DejaVu fonts give its screenshot readable text.
    chromium fonts-dejavu-core
)
release_packages=(
    # The arm64 cross compiler, with its own arm64 C library and libstdc++ (scripts/release.sh aarch64); the arm64
    # -dev libraries are unpacked by release.sh, not installed (see there why).
    g++-aarch64-linux-gnu
    # Runs the arm64 artifact here for its smoke test (qemu-aarch64-static, run directly: no binfmt needed).
    qemu-user-static
    # Makes the Debian 11 root the x86_64 artifact's portability test runs in (scripts/release_test.sh).
    debootstrap
    # Builds and runs the container image (scripts/container.sh); runc because crun refuses hybrid cgroups.
    podman runc curl
)
build_only=false
release=false
[[ "${1:-}" == --build-only ]] && build_only=true
[[ "${1:-}" == --release ]] && { build_only=true; release=true; }
packages=("${build_packages[@]}")
$build_only || packages+=("${test_packages[@]}")
$release && packages+=("${release_packages[@]}")

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

# Debian 12's nodejs is 18; the tests need 20.10 or newer. node.sh installs a pinned one when the system's is older.
$build_only || "$(dirname "$0")/node.sh" >/dev/null
