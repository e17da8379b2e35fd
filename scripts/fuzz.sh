#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (the `fuzz` CMake preset: clang, ASan + UBSan, coverage
# instrumentation of the whole tree) and runs them, each in turn.
#   scripts/fuzz.sh [seconds] [target…]   explore each target for `seconds` (default 20), keeping its working
#                                         corpus in build/fuzz/corpus/<target> between runs
#   FUZZ_RUNS=ci scripts/fuzz.sh          reproducible: fixed seed, a fixed number of inputs per target (ci_runs
#                                         below, about 3 minutes in all on 2 cores), corpus fresh from the committed
#                                         seeds; what scripts/test.sh runs, so a CI result does not depend on luck
#   FUZZ_RUNS=N scripts/fuzz.sh [target…] the same with N inputs per target; FUZZ_MAX_SECONDS=S also stops each
#                                         target after S seconds (bench/fuzz.mjs: the long run); FUZZ_FORK=J runs
#                                         J fuzzing processes that share the corpus (libFuzzer's -fork=J), one per
#                                         core, N inputs in all
# Targets: codec cron base64 token config http body (tests/fuzz/<target>_fuzz.cpp). Seeds and regression inputs
# are committed in tests/fuzz/corpus/<target>/; a crash leaves its input in build/fuzz/crash-* and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ not installed; skipping (apt-get install clang)"
    exit 0
fi
seconds=20
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    seconds="$1"
    shift
fi
all=(codec cron base64 token config http body)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${all[@]}")
fi
# Inputs per target for FUZZ_RUNS=ci, sized from the exec/s of each target on the 2-core machine
# (bench/results/fuzz.json) for 10-40 s each.
declare -A ci_runs=([codec]=1000000 [cron]=300000 [base64]=1000000 [token]=100000 [config]=5000 [http]=30000
    [body]=30000)
# Longest input per target (libFuzzer's -max_len).
declare -A max_len=([codec]=4096 [cron]=256 [base64]=1024 [token]=2048 [config]=4096 [http]=4096 [body]=4096)

out=build/fuzz
if [[ ! -f "$out/build.ninja" ]]; then
    cmake --preset fuzz >/dev/null
fi
build_targets=()
for t in "${targets[@]}"; do
    if [[ -z "${max_len[$t]:-}" ]]; then
        echo "fuzz: unknown target $t (known: ${all[*]})" >&2
        exit 2
    fi
    build_targets+=("${t}_fuzz")
done
cmake --build "$out" -j2 --target "${build_targets[@]}"

runs="${FUZZ_RUNS:-}"
# The in-process server of the http and body targets keeps its database and files in a directory of its own: in
# memory when /dev/shm is there (its SQLite writes are most of those targets' time).
if [[ -d /dev/shm && -w /dev/shm ]]; then
    export TMPDIR="/dev/shm/happy-fuzz-$$"
else
    export TMPDIR="$PWD/$out/tmp-$$"
fi
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
for t in "${targets[@]}"; do
    corpus="$out/corpus/$t"
    if [[ -n "$runs" ]]; then
        rm -rf "$corpus"
    fi
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    limit=(-max_total_time="$seconds")
    if [[ "$runs" == ci ]]; then
        limit=(-runs="${ci_runs[$t]}" -seed=1)
    elif [[ -n "$runs" ]]; then
        limit=(-runs="$runs" -seed=1)
        if [[ -n "${FUZZ_MAX_SECONDS:-}" ]]; then
            limit+=(-max_total_time="$FUZZ_MAX_SECONDS")
        fi
        if [[ "${FUZZ_FORK:-1}" -gt 1 ]]; then
            limit+=(-fork="$FUZZ_FORK")
        fi
    fi
    dict=()
    if [[ -f "tests/fuzz/$t.dict" ]]; then
        dict=(-dict="tests/fuzz/$t.dict")
    fi
    log="$out/$t.log"
    started=$(date +%s.%N)
    # -timeout: one input taking a minute is a hang worth a report (libFuzzer's default waits 20 minutes).
    if "$out/tests/fuzz/${t}_fuzz" "${limit[@]}" "${dict[@]}" -max_len="${max_len[$t]}" -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$out/" "$corpus" >"$log" 2>&1; then
        ended=$(date +%s.%N)
        # libFuzzer's last status line (inputs done, coverage) and its final stats.
        status_line=$(grep -E '^#[0-9]+' "$log" | tail -1)
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        printf 'fuzz %-7s %10s inputs in %6.1f s (%s/s); last: %s\n' "$t" "$execs" \
            "$(awk "BEGIN{print $ended - $started}")" "$per_s" "$status_line"
    else
        status=$?
        tail -60 "$log"
        echo "fuzz: $t failed (exit $status); the input is in $out/ (crash-*, leak-*, timeout-*); once fixed," \
            "add it to tests/fuzz/corpus/$t/"
        exit "$status"
    fi
done
