#!/usr/bin/env bash
# Builds the release artifacts: dist/happy-server-linux-x86_64 and dist/happy-server-linux-aarch64, each one fully
# static (glibc included, see HAPPY_STATIC in CMakeLists.txt for why) and stripped, and dist/SHA256SUMS.
#   scripts/release.sh                 both architectures
#   scripts/release.sh x86_64          only one (x86_64 | aarch64)
#   JOBS=4 scripts/release.sh          parallel compile jobs (default 2)
# Its own build directories (build/static-<arch>), so the development build (scripts/build.sh) is untouched.
# SOURCE_DATE_EPOCH defaults to the commit's time: `happy-server version` then shows the commit's date as the build
# date, and the same commit built again gives the same bytes.
#
# Libraries. x86_64 uses the build packages scripts/setup.sh installs (their static archives), except libpq: its
# helpers libpgcommon_shlib.a and libpgport_shlib.a are in Debian's postgresql-server-dev-NN, which would pull in
# LLVM and clang, so that package and a libpq-dev of the same version are downloaded with `apt-get download` and
# unpacked under .cache/release/deps-x86_64 (nothing installed).
# aarch64 is cross-compiled with Debian's g++-aarch64-linux-gnu, and Debian's arm64 -dev packages are downloaded and
# unpacked the same way under .cache/release/deps-aarch64. They are not installed as multiarch :arm64 packages
# because on a Debian 12 host that fails or does damage: libpq-dev is not "Multi-Arch: same", so installing
# libpq-dev:arm64 removes libpq-dev:amd64 (which the development build needs), and multiarch needs both
# architectures of every shared library at the same version, so apt upgrades the host's libssl3, libpq5,
# postgresql-15, GnuTLS, Kerberos, … to the mirror's newest. Unpacked, they change nothing on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

archs=("$@")
((${#archs[@]})) || archs=(x86_64 aarch64)
jobs=${JOBS:-2}
max_bytes=$((15 * 1024 * 1024))
cache=$root/.cache/release
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

scripts/setup.sh --release

deb_arch() {
    case $1 in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) echo "release: unknown architecture $1 (x86_64 | aarch64)" >&2; exit 2 ;;
    esac
}

# The arm64 package lists, once (dpkg learns the architecture; nothing is installed for it).
need_arm64_lists() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
        apt-get update -qq
    elif ! apt-cache policy libpq-dev:arm64 | grep -q 'Candidate: [0-9]'; then
        apt-get update -qq
    fi
}

# Downloads the packages "name=version" for one Debian architecture and unpacks them into $dir (once per set of
# versions: a stamp file lists what $dir holds).
unpack_debs() {
    local darch=$1 dir=$2
    shift 2
    local want
    want=$(printf '%s\n' "$@")
    if [[ -f $dir/.debs && "$(cat "$dir/.debs")" == "$want" ]]; then
        return
    fi
    echo "release: unpacking ${#} Debian $darch packages into ${dir#"$root"/}"
    rm -rf "$dir" "$dir.debs"
    mkdir -p "$dir" "$dir.debs"
    local specs=()
    for p in "$@"; do specs+=("${p%%=*}:$darch=${p#*=}"); done
    # apt-get download writes into the current directory; as root it warns that _apt cannot, harmlessly.
    (cd "$dir.debs" && apt-get download -qq "${specs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    for deb in "$dir.debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
    rm -rf "$dir.debs"
    printf '%s\n' "$want" >"$dir/.debs"
}

candidate() { apt-cache policy "$1" | awk '/Candidate:/ {print $2}'; }

build_arch() {
    local arch=$1 darch triplet deps build pq_version pg_major
    darch=$(deb_arch "$arch")
    triplet=$arch-linux-gnu
    deps=$cache/deps-$arch
    build=build/static-$arch
    [[ $arch == aarch64 ]] && need_arm64_lists
    pq_version=$(candidate "libpq-dev:$darch")
    [[ -n $pq_version && $pq_version != "(none)" ]] || { echo "release: no libpq-dev:$darch in apt's lists" >&2; exit 1; }
    pg_major=${pq_version%%.*}
    local pkgs=("libpq-dev=$pq_version" "postgresql-server-dev-$pg_major=$pq_version")
    local cmake_extra=()
    if [[ $arch == aarch64 ]]; then
        # Boost (JSON and what its CMake package asks for), SOCI, SQLite, libsodium, fmt (libfmt9 for its CMake
        # package's sanity check), OpenSSL, zlib.
        for p in libboost1.81-dev libboost-json1.81-dev libboost-json1.81.0 libboost-container1.81-dev \
            libboost-container1.81.0 libboost-system1.81-dev libsoci-dev libsqlite3-dev libsodium-dev \
            libfmt-dev libfmt9 libssl-dev zlib1g-dev; do
            pkgs+=("$p=$(candidate "$p:$darch")")
        done
        cmake_extra+=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64-linux-gnu.cmake")
    fi
    unpack_debs "$darch" "$deps" "${pkgs[@]}"

    echo "release: building $arch in $build"
    local env=(HAPPY_CROSS_DEPS="$deps")
    # pkg-config (FindOpenSSL's hints) must not answer with the host's libraries.
    [[ $arch == aarch64 ]] && env+=(PKG_CONFIG_LIBDIR="$deps/usr/lib/$triplet/pkgconfig")
    # The 15 MiB budget: with built-in TLS the HTTP and Engine.IO templates are instantiated for plain and TLS streams,
    # and the x86_64 binary at -O2 came to 17.2 MB; a section per function and datum with --gc-sections took it to
    # 16.1 MB, and -Os to 13.1 MB (README "Release artifacts" has the throughput cost). lld's --icf=all saved only
    # 0.1 MB more, and the cross compiler does not find lld: not used.
    local opt="-Os -DNDEBUG -ffunction-sections -fdata-sections"
    env "${env[@]}" cmake -S . -B "$build" -G Ninja \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="$opt" -DCMAKE_C_FLAGS_RELEASE="$opt" \
        -DCMAKE_EXE_LINKER_FLAGS_RELEASE="-Wl,--gc-sections" \
        -DHAPPY_STATIC=ON -DHAPPY_BUILD_TESTS=OFF -DHAPPY_BUILD_BENCH=OFF \
        -DHAPPY_PG_STATIC_DIR="$deps/usr/lib/postgresql/$pg_major/lib" \
        -DHAPPY_LIBPQ_LIB="$deps/usr/lib/$triplet/libpq.a" \
        -DHAPPY_LIBPQ_INCLUDE_DIR="$deps/usr/include/postgresql" \
        "${cmake_extra[@]}" >/dev/null
    env "${env[@]}" cmake --build "$build" --target happy-server -j "$jobs"

    local out=dist/happy-server-linux-$arch strip=strip
    [[ $arch == aarch64 ]] && strip=aarch64-linux-gnu-strip
    mkdir -p dist
    "$strip" --strip-all -o "$out" "$build/happy-server"
    chmod 755 "$out"
    # Self-contained means: no program interpreter and no shared library to load.
    if readelf -lW "$out" | grep -q 'INTERP' || readelf -dW "$out" | grep -q 'NEEDED'; then
        echo "release: $out is not fully static:" >&2
        readelf -dW "$out" | grep NEEDED >&2 || true
        exit 1
    fi
    local size
    size=$(stat -c %s "$out")
    if ((size > max_bytes)); then
        echo "release: $out is $size bytes, over the 15 MiB budget" >&2
        exit 1
    fi
    echo "release: $out $(numfmt --to=iec-i --suffix=B "$size") ($size bytes)"
}

for arch in "${archs[@]}"; do
    build_arch "$arch"
done
(cd dist && sha256sum happy-server-linux-* >SHA256SUMS && cat SHA256SUMS)
