#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: never a system service, never a fixed port.
#
#   scripts/pg_test_cluster.sh run [--] CMD [ARGS…]
#       initdb's a cluster in a fresh temp directory, starts it on a free loopback port, runs CMD with
#       HAPPY_TEST_DATABASE_URL set, then stops the server and removes the directory (also on failure or Ctrl-C).
#       Exits with CMD's status.
#   scripts/pg_test_cluster.sh start
#       The same set-up, left running. Prints shell assignments to eval:
#       HAPPY_TEST_DATABASE_URL=postgresql://happy:…@127.0.0.1:PORT/postgres and HAPPY_TEST_PG_DIR=/tmp/…
#   scripts/pg_test_cluster.sh stop DIR
#       Stops the cluster started in DIR and removes DIR.
#
# The cluster has one superuser, `happy`, with a random password (scram-sha-256 over TCP, so wrong-password paths can
# be tested), fsync off (throwaway data; PG_TEST_DURABLE=1 keeps it on), its Unix socket in its own directory (no /var/run/postgresql), and TLS on
# with a self-signed certificate: libpq's default sslmode=prefer then takes every test connection through OpenSSL,
# as a production sslmode=require would.
# initdb and postgres refuse to run as root: as root (CI, the dev container) they run as the `postgres` system user
# created by Debian's postgresql package. PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Runs a PostgreSQL program as an unprivileged user when we are root.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

die() {
    echo "pg_test_cluster: $*" >&2
    exit 1
}

stop_cluster() {
    local dir="$1"
    [[ -n "$dir" && -d "$dir" ]] || return 0
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        # immediate: nothing in a throwaway cluster needs a clean shutdown checkpoint.
        as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

start_cluster() {
    [[ -x "$pg_bin/initdb" ]] || die "$pg_bin/initdb not found (install Debian's postgresql package: scripts/setup.sh)"
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        die "running as root needs the 'postgres' system user (Debian's postgresql package creates it)"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/happy-pg.XXXXXXXX")
    chmod 755 "$dir"
    local password
    password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$password" >"$dir/pwfile"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$dir" "$dir/pwfile"
    fi
    if ! as_pg "$pg_bin/initdb" -D "$dir/data" -U happy --pwfile="$dir/pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        stop_cluster "$dir"
        die "initdb failed"
    fi
    rm -f "$dir/pwfile"
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
        -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >"$dir/openssl.log" 2>&1; then
        cat "$dir/openssl.log" >&2
        stop_cluster "$dir"
        die "openssl could not make the test certificate"
    fi
    chmod 600 "$dir/data/server.key"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$dir/data/server.key" "$dir/data/server.crt"
    fi
    # A free port: pick one at random in the ephemeral range and let the server's bind decide; another process
    # taking it between the pick and the bind only costs a retry.
    # PG_TEST_DURABLE=1 keeps PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes on): benchmarks of
    # durably committed writes (bench/sync.mjs --part pg --durable).
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [[ "${PG_TEST_DURABLE:-}" == 1 ]] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir $durability \
                -c max_connections=200 -c ssl=on" \
            start >/dev/null 2>&1; then
            url="postgresql://happy:$password@127.0.0.1:$port/postgres"
            return 0
        fi
        if ! grep -q -i "could not bind\|address already in use\|could not create any TCP/IP sockets" \
            "$dir/server.log" 2>/dev/null; then
            cat "$dir/server.log" >&2 || true
            stop_cluster "$dir"
            die "the server did not start"
        fi
        : >"$dir/server.log"
    done
    stop_cluster "$dir"
    die "no free port found"
}

cmd="${1:-}"
shift || true
case "$cmd" in
    run)
        [[ "${1:-}" == "--" ]] && shift
        (($#)) || die "usage: $0 run [--] CMD [ARGS…]"
        dir=""
        trap 'stop_cluster "$dir"' EXIT
        trap 'exit 130' INT TERM
        start_cluster
        status=0
        HAPPY_TEST_DATABASE_URL="$url" "$@" || status=$?
        exit "$status"
        ;;
    start)
        start_cluster
        printf 'HAPPY_TEST_DATABASE_URL=%s\nHAPPY_TEST_PG_DIR=%s\n' "$url" "$dir"
        ;;
    stop)
        [[ -n "${1:-}" ]] || die "usage: $0 stop DIR"
        [[ "$(basename "$1")" == happy-pg.* ]] || die "$1 is not a directory made by this script"
        stop_cluster "$1"
        ;;
    *)
        die "usage: $0 run [--] CMD… | start | stop DIR"
        ;;
esac
