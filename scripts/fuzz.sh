#!/usr/bin/env bash
# fuzz.sh SECONDS FUZZER...: runs each libFuzzer harness for SECONDS, one
# at a time (one core), on its committed seeds (tests/fuzz/corpus/<name>)
# plus its working corpus (build/fuzz/corpus/<name>, where new inputs go).
# Prints one line per harness (runs, coverage, corpus size) and exits
# non-zero when any crashed, leaked or hit UBSan; the reproducer is left
# in build/fuzz/crash-* and the log in build/fuzz/<name>.log.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
secs=$1
shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for bin in "$@"; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    seeds=tests/fuzz/corpus/$name
    work=build/fuzz/corpus/$name
    log=build/fuzz/$name.log
    mkdir -p "$work" "$seeds"
    # -rss_limit_mb: a harness input may not make the parser hold much;
    # -max_len: the biggest input the harness sees (bodies are capped
    # before parsing in the programs too)
    if "$bin" -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
        -artifact_prefix=build/fuzz/ -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
        printf 'ok   fuzz %-6s %ss: %s runs, %s, corpus %s\n' "$name" "$secs" "${runs:-?}" "${cov:-?}" \
            "$(find "$work" "$seeds" -type f | wc -l)"
    else
        failed=1
        printf 'FAIL fuzz %s (log %s)\n' "$name" "$log"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    | /'
    fi
done
exit "$failed"
