#!/usr/bin/env bash
# Tests the release artifacts from scripts/release.sh where they are meant to run (tests/release/artifact.test.mjs):
#   x86_64   inside a minimal Debian 11 (bullseye: glibc 2.31) root made by debootstrap, nothing else installed,
#            through chroot (we are root): the banner, POST /v1/auth and a Socket.IO connect from the host, HTTPS out
#            to a TLS receiver named in the root's /etc/hosts and to one only the root's resolv.conf DNS server knows
#            (the built-in resolver), with the test CA where Debian keeps the CA bundle and no openssl package (the
#            binary's fallback CA search); then the PostgreSQL integration tests with the same artifact in the same
#            root, on a throwaway cluster reached by a host name (the static libpq through the built-in resolver).
#   aarch64  under qemu-aarch64-static (run directly, no binfmt): the same smoke test, with localhost as the name.
#   scripts/release_test.sh [x86_64] [aarch64]      (default: both; the artifacts must exist in dist/)
# Time: first run ~4 min more to debootstrap the root (cached in .cache/bullseye-root, reused after); then about
# 30 s for x86_64 with its PostgreSQL part and 30 s for aarch64 under qemu (see README "Release artifacts").
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
archs=("$@")
((${#archs[@]})) || archs=(x86_64 aarch64)

scripts/setup.sh
scripts/setup.sh --release
node_bin=$(scripts/node.sh)
if [[ ! -d tests/node_modules/socket.io-client ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
    npm ci --prefix tests --no-audit --no-fund >/dev/null
fi

# Everything the tests write (the harness's data directories, config files, the PostgreSQL cluster) goes to a tmpfs:
# on a busy shared machine the disk stalled a first commit's fdatasync for 6 s, past the harness's request timeout.
work=$(mktemp -d /dev/shm/happy-release-test.XXXXXXXX)
chmod 755 "$work"  # the cluster runs as the postgres user (scripts/pg_test_cluster.sh)
bullseye_root=$root_dir/.cache/bullseye-root
trap 'rm -rf "$work"; rmdir "$bullseye_root$work" 2>/dev/null || true' EXIT
export TMPDIR=$work

# A CA and a certificate for every name the tests use.
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=happy-release-test-ca \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=receiver.test \
    -keyout "$tls/key.pem" -out "$tls/cert.csr" 2>/dev/null
printf 'subjectAltName=DNS:receiver.test,DNS:dns.test,DNS:localhost,IP:127.0.0.1\n' >"$tls/ext"
openssl x509 -req -in "$tls/cert.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext" -out "$tls/cert.pem" 2>/dev/null

artifact() {
    local f=dist/happy-server-linux-$1
    [[ -x $f ]] || { echo "release_test: $f is missing (scripts/release.sh $1)" >&2; exit 1; }
    echo "$root_dir/$f"
}

test_x86_64() {
    local bin root=$bullseye_root
    bin=$(artifact x86_64)
    if [[ ! -x $root/bin/sh ]]; then
        echo "release_test: debootstrap a Debian 11 root into ${root#"$root_dir"/} (once, ~4 min)"
        rm -rf "$root.tmp"
        debootstrap --variant=minbase bullseye "$root.tmp" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
        mv "$root.tmp" "$root"
    fi
    echo "release_test: x86_64 in a Debian 11 root ($(chroot "$root" /usr/bin/ldd --version | head -n 1))"
    install -m 755 "$bin" "$root/usr/local/bin/happy-server"
    printf '127.0.0.1\tlocalhost\n127.0.0.1\treceiver.test\n' >"$root/etc/hosts"
    # Any loopback address works on Linux; this one is unlikely to have a DNS server already.
    printf 'nameserver 127.0.0.153\noptions timeout:2 attempts:1\n' >"$root/etc/resolv.conf"
    mkdir -p "$root/etc/ssl/certs"
    cp "$tls/ca.pem" "$root/etc/ssl/certs/ca-certificates.crt"
    [[ ! -e $root/usr/lib/ssl ]] || echo "release_test: note: the root has /usr/lib/ssl; the CA fallback is not exercised"
    # The harness's data directories and config files are under $TMPDIR: the same path inside the root.
    local wrap=$work/in-bullseye
    mkdir -p "$root$work"
    cat >"$wrap" <<EOF
#!/bin/sh
# Runs the artifact inside the Debian 11 root, with the tests' temporary directory and a /proc.
exec unshare --mount --propagation private sh -c 'mount --bind "$work" "\$0$work" && mount -t proc proc "\$0/proc" &&
    exec chroot "\$0" /usr/local/bin/happy-server "\$@"' "$root" "\$@"
EOF
    chmod 755 "$wrap"
    printf '127.0.0.1\tpg.test\n' >>"$root/etc/hosts"
    run_tests "$wrap" x86_64-linux-gnu receiver.test pg.test \
        HAPPY_RELEASE_DNS_SERVER=127.0.0.153 HAPPY_RELEASE_DNS_NAME=dns.test
}

test_aarch64() {
    local bin wrap=$work/under-qemu
    bin=$(artifact aarch64)
    echo "release_test: aarch64 under $(qemu-aarch64-static --version | head -n 1)"
    printf '#!/bin/sh\nexec qemu-aarch64-static %s "$@"\n' "$bin" >"$wrap"
    chmod 755 "$wrap"
    # The host's /etc/hosts and resolv.conf; the test CA through SSL_CERT_FILE.
    run_tests "$wrap" aarch64-linux-gnu localhost localhost HAPPY_RELEASE_CA_ENV=1
}

# run_tests WRAPPER TARGET HOSTS_NAME PG_HOST [VAR=VALUE...]: the smoke test (SQLite), then PostgreSQL on a throwaway
# cluster: the integration suite's postgres.test.mjs (the cluster by address) and postgres_by_name.test.mjs.
run_tests() {
    local wrap=$1 target=$2 name=$3 pg_host=$4
    shift 4
    env HAPPY_SERVER_BIN="$wrap" HAPPY_RELEASE_TARGET="$target" HAPPY_RELEASE_TLS_DIR="$tls" \
        HAPPY_RELEASE_HOSTS_NAME="$name" "$@" \
        "$node_bin" --test --test-concurrency=1 tests/release/artifact.test.mjs
    env HAPPY_SERVER_BIN="$wrap" HAPPY_RELEASE_PG_HOST="$pg_host" scripts/pg_test_cluster.sh run -- \
        "$node_bin" --test --test-concurrency=1 tests/integration/postgres.test.mjs tests/release/postgres_by_name.test.mjs
}

for arch in "${archs[@]}"; do
    "test_$arch"
done
