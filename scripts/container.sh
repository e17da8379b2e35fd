#!/usr/bin/env bash
# The container image around a release artifact (deploy/Dockerfile): assembles the build context (rootfs.tar) and
# builds it with podman (or docker when podman is absent); `test` also runs it and checks it from the host.
#   scripts/container.sh build [x86_64|aarch64]   image happy-server:<arch> (and happy-server:latest for x86_64)
#   scripts/container.sh test                     build x86_64, then: size <= 20 MB, runs as 10001, healthy through
#                                                 `happy-server health`, banner + POST /v1/auth + Socket.IO from the
#                                                 host (tests/release/container.test.mjs), SIGTERM exits 0
# The artifact must exist (scripts/release.sh). No registry is needed: FROM scratch, nothing pulled.
#
# On the 2-core development machine, podman 4.3 (Debian 12) builds and runs the image only with two run options,
# set below when podman is used (CONTAINER_RUN_OPTS overrides them):
#   --runtime runc   crun, podman's default runtime, refuses this machine's hybrid cgroup v1/v2 layout ("cgroups in
#                    hybrid mode not supported, drop all controllers from cgroupv2"); runc runs it.
#   --ulimit ...     podman's default limits for root raise RLIMIT_NOFILE to 1048576 and RLIMIT_NPROC, which needs
#                    CAP_SYS_RESOURCE, and root here does not have it ("setrlimit RLIMIT_NOFILE: Operation not
#                    permitted"): the container gets the current hard open-file limit and 4096 processes instead.
# podman schedules HEALTHCHECK runs with systemd timers; this machine runs no systemd, so podman logs "unable to get
# systemd connection to add healthchecks" (harmless): the test runs the check itself (podman healthcheck run).
# Docker: only the client is installed here (no daemon), so docker builds are not tried on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
max_image_bytes=20000000

if command -v podman >/dev/null 2>&1; then
    engine=podman
    read -r -a run_opts <<<"${CONTAINER_RUN_OPTS:---runtime runc --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096}"
    build_opts=(--format docker)  # HEALTHCHECK is kept only in Docker-format images
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
    read -r -a run_opts <<<"${CONTAINER_RUN_OPTS:-}"
    build_opts=()
else
    echo "container: neither podman nor a running docker daemon (apt-get install podman runc)" >&2
    exit 1
fi

build() {
    local arch=$1 platform
    case $arch in
    x86_64) platform=linux/amd64 ;;
    aarch64) platform=linux/arm64 ;;
    *) echo "container: unknown architecture $arch" >&2; exit 2 ;;
    esac
    local bin=dist/happy-server-linux-$arch
    [[ -x $bin ]] || { echo "container: $bin is missing (scripts/release.sh $arch)" >&2; exit 1; }
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] || { echo "container: no CA bundle (apt-get install ca-certificates)" >&2; exit 1; }
    local ctx=$root_dir/.cache/image-$arch stage
    rm -rf "$ctx"
    stage=$ctx/stage
    mkdir -p "$stage/usr/local/bin" "$stage/etc/ssl/certs" "$stage/data" "$stage/tmp"
    install -m 755 "$bin" "$stage/usr/local/bin/happy-server"
    install -m 644 /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nhappy:x:10001:10001:happy-server:/data:/sbin/nologin\n' >"$stage/etc/passwd"
    printf 'root:x:0:\nhappy:x:10001:\n' >"$stage/etc/group"
    chmod 644 "$stage/etc/passwd" "$stage/etc/group"
    chmod 1777 "$stage/tmp"
    chmod 700 "$stage/data"
    # Owners set in the archive (no chown on the build machine needed); fixed times: the same inputs, the same layer.
    local tar_opts=(--sort=name --mtime="@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}" --numeric-owner -C "$stage")
    tar --create --file "$ctx/rootfs.tar" --owner=0 --group=0 "${tar_opts[@]}" etc tmp usr
    tar --append --file "$ctx/rootfs.tar" --owner=10001 --group=10001 "${tar_opts[@]}" data
    rm -rf "$stage"
    local tags=(-t "happy-server:$arch")
    [[ $arch == x86_64 ]] && tags+=(-t happy-server:latest)
    "$engine" build "${build_opts[@]}" --platform "$platform" "${tags[@]}" -f deploy/Dockerfile "$ctx" >/dev/null
    local size
    size=$("$engine" image inspect --format '{{.Size}}' "happy-server:$arch")
    echo "container: happy-server:$arch built with $engine, $size bytes"
    if ((size > max_image_bytes)); then
        echo "container: the image is over the 20 MB budget" >&2
        exit 1
    fi
}

container_name=happy-server-test-$$
test_image() {
    local name=$container_name
    build x86_64
    local port user
    user=$("$engine" image inspect --format '{{.Config.User}}' happy-server:x86_64)
    [[ $user == 10001:10001 ]] || { echo "container: the image runs as '$user', not 10001:10001" >&2; exit 1; }
    "$engine" run -d --name "$name" "${run_opts[@]}" -p 127.0.0.1::3005 happy-server:x86_64 >/dev/null
    trap '"$engine" rm -f -v "$container_name" >/dev/null 2>&1 || true' EXIT
    port=$("$engine" port "$name" 3005 | head -n 1)
    port=${port##*:}
    local i
    for i in $(seq 1 50); do
        curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
        sleep 0.2
    done
    # The image's HEALTHCHECK command, run now rather than waiting for its interval.
    if ! "$engine" healthcheck run "$name"; then
        echo "container: the health check failed" >&2
        "$engine" logs "$name" >&2
        exit 1
    fi
    echo "container: healthy (happy-server health inside the container)"
    HAPPY_CONTAINER_URL="http://127.0.0.1:$port" "$(scripts/node.sh)" --test tests/release/container.test.mjs
    "$engine" stop -t 10 "$name" >/dev/null
    local code
    code=$("$engine" inspect --format '{{.State.ExitCode}}' "$name")
    [[ $code == 0 ]] || { echo "container: exit code $code after SIGTERM" >&2; "$engine" logs "$name" >&2; exit 1; }
    echo "container: stopped by SIGTERM, exit code 0"
}

case ${1:-} in
build) build "${2:-x86_64}" ;;
test) test_image ;;
*) echo "usage: scripts/container.sh build [x86_64|aarch64] | test" >&2; exit 2 ;;
esac
