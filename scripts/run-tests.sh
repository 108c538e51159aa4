#!/usr/bin/env bash
# run-tests.sh unit|integ|all BUILDDIR: runs the test executables and ends
# with one line "N passed, N failed"; exits non-zero when any failed or when
# none ran.
#   unit   every BUILDDIR/tests/test_* executable
#   integ  starts a private stack (temp dir, free ports, fsync off), runs every
#          BUILDDIR/tests/integ/test_* executable and the Node tests
#          (tests/node/*.test.mjs) against it, and always tears it down
#   all    unit and integ on BUILDDIR, integ again through Apache (without
#          the browser tests, rtd_instances and zz_failover), then `make SAN=1 all` and unit and integ again
#          on build/san under AddressSanitizer and UBSan
# CHAT_FRONT (nginx, the default, or apache) is the web server integ runs
# behind; either one runs the shipped etc/<server>/chat.conf.
# CHAT_TEST_TIMEOUT (seconds, default 300) bounds each test executable.
# CHAT_TEST_ONLY (an extended regex) runs only the tests whose file name
# matches it, for work in progress; `make test` never sets it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
TEST_TIMEOUT=${CHAT_TEST_TIMEOUT:-300}
SAN_MARKERS='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'

PASSED=0
FAILED=0
FAILS=()
CHILD=
WORK=$(mktemp -d /tmp/chat-test.XXXXXX) || exit 1
INTEG_TMP=
INTEG_UP=0

say() { printf '%s\n' "$*"; }
hr() { printf -- '-- %s\n' "$*"; }

pass() {
    PASSED=$((PASSED + 1))
}

fail() {
    FAILED=$((FAILED + 1))
    FAILS+=("$1")
}

# run_one LABEL OUTFILE CMD...: runs one test executable with a time limit,
# its output kept in OUTFILE and shown only when it fails.
run_one() {
    local label=$1 out=$2 rc=0 t0=$SECONDS why
    shift 2
    # In the background so that a Ctrl-C reaches our trap at once (timeout
    # puts the test in its own process group, away from the terminal).
    timeout -k 10 "$TEST_TIMEOUT" "$@" </dev/null >"$out" 2>&1 &
    CHILD=$!
    # (stderr: bash's own "Aborted" line; the status is reported below)
    wait "$CHILD" 2>/dev/null || rc=$?
    CHILD=
    why="exit $rc"
    if [ "$rc" = 124 ] || { [ "$rc" = 137 ] && [ $((SECONDS - t0)) -ge "$TEST_TIMEOUT" ]; }; then
        why="timed out after ${TEST_TIMEOUT}s"
    elif [ "$rc" -gt 128 ]; then
        why="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    fi
    if [ "$rc" = 0 ] && grep -qE "$SAN_MARKERS" "$out"; then
        rc=1
        why="sanitizer report"
    fi
    if [ "$rc" = 0 ]; then
        pass
        printf 'ok   %s (%ss)\n' "$label" "$((SECONDS - t0))"
    else
        fail "$label"
        printf 'FAIL %s (%s, %ss)\n' "$label" "$why" "$((SECONDS - t0))"
        tail -n 150 "$out" | sed 's/^/    | /'
    fi
    return 0
}

selected() { # FILE: true unless CHAT_TEST_ONLY is set and does not match
    [ -z "${CHAT_TEST_ONLY:-}" ] || [[ $(basename "$1") =~ $CHAT_TEST_ONLY ]]
}

executables() { # DIR: the test_* executables directly in DIR, sorted
    local f
    for f in "$1"/test_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        selected "$f" && printf '%s\n' "$f"
    done
    return 0
}

san_env() { # BUILDDIR: sanitizer options for a sanitizer build
    case $1 in
        */san | san)
            export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
            export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
            ;;
    esac
}

phase_unit() { # BUILDDIR
    local b=$1 tests f
    mapfile -t tests < <(executables "$b/tests")
    hr "unit tests ($b/tests): ${#tests[@]}"
    mkdir -p "$WORK/unit"
    for f in "${tests[@]}"; do
        run_one "$(basename "$f")${SAN_TAG:-}" "$WORK/unit/$(basename "$f").out" "$f"
    done
}

# ---- integration ----------------------------------------------------------------

port_free() { [ -z "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]; }

# Ports come from below the kernel's ephemeral range: the replica's port
# (PG2_PORT) is only bound at the end of the run, after thousands of client
# sockets, any of which could otherwise be holding it by then.
pick_ports() {
    local p picked=() n lo=32768 hi
    read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 21024 ] 2>/dev/null || lo=32768
    while [ "${#picked[@]}" -lt 4 ]; do
        p=$((20000 + RANDOM % (lo - 20000)))
        for n in "${picked[@]}"; do [ "$n" = "$p" ] && continue 2; done
        port_free "$p" && picked+=("$p")
    done
    HTTP_PORT=${picked[0]} PG_PORT=${picked[1]} RTD_PORT=${picked[2]} PG2_PORT=${picked[3]}
    # Every program gets a two-host conninfo (the second host is the
    # replica zz_failover.test.mjs builds and promotes; until then it
    # refuses, and libpq goes on to the next host).
    DB_CONNINFO="host=127.0.0.1,127.0.0.1 port=$PG_PORT,$PG2_PORT dbname=chat user=chat"
    DB_CONNINFO="$DB_CONNINFO target_session_attrs=read-write connect_timeout=5"
}

stack() { # start|stop
    CHAT_VAR=$INTEG_TMP/var CHAT_BIN=$INTEG_BIN CHAT_PG_FAST=1 CHAT_FRONT=$FRONT \
        CHAT_DB_CONNINFO=$DB_CONNINFO \
        CHAT_HTTP_PORT=$HTTP_PORT CHAT_PG_PORT=$PG_PORT CHAT_RTD_PORT=$RTD_PORT \
        bash "$ROOT/scripts/stack.sh" "$1"
}

show_stack_logs() {
    local f
    for f in "$INTEG_TMP"/var/log/*.log "$INTEG_TMP"/var/nginx/error.log "$INTEG_TMP"/var/apache/error.log; do
        [ -s "$f" ] || continue
        case $f in */initdb.log) continue ;; esac
        printf '\n---- %s (last 30 lines)\n' "${f#"$INTEG_TMP"/}"
        tail -n 30 "$f"
    done
}

# Stops the stack and removes the temp dir; safe to call more than once.
integ_cleanup() {
    [ -n "$INTEG_TMP" ] || return 0
    # the replica the failover test builds, if it is still up
    if [ -f "$INTEG_TMP/pg2/postmaster.pid" ]; then
        local as=()
        [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
        (cd / && "${as[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$INTEG_TMP/pg2" -m immediate -w stop) \
            >/dev/null 2>&1 || true
    fi
    if [ "$INTEG_UP" = 1 ]; then
        stack stop >"$INTEG_TMP/stack-stop.out" 2>&1 || cat "$INTEG_TMP/stack-stop.out"
        INTEG_UP=0
    fi
    # the cluster lives outside when postgres could not traverse the temp dir
    local pg=$INTEG_TMP/var/pg target
    if [ -L "$pg" ]; then
        target=$(readlink "$pg")
        case $target in /var/tmp/chat-pg-*/data) rm -rf "${target%/data}" ;; esac
    fi
    rm -rf "$INTEG_TMP"
    INTEG_TMP=
}

phase_integ() { # BUILDDIR
    # The test stack also accepts the ERP cookie, so the cookie path is
    # tested too (every program and test inherits it).
    export CHAT_JWT_COOKIE=${CHAT_JWT_COOKIE:-erp_jwt}
    # and one other origin that cookie sessions may come from (the ERP's)
    export CHAT_ORIGENES_PERMITIDOS=${CHAT_ORIGENES_PERMITIDOS:-https://erp.example.test}
    # Rate limits above what the other tests do in a minute as one user (test_sync
    # sends 520 messages as one), low
    # enough for test_limites to flood past them in seconds.
    export CHAT_LIMITE_ENVIOS=${CHAT_LIMITE_ENVIOS:-800}
    export CHAT_LIMITE_BUSQUEDAS=${CHAT_LIMITE_BUSQUEDAS:-200}
    export CHAT_LIMITE_SUBIDAS=${CHAT_LIMITE_SUBIDAS:-200}
    export CHAT_LIMITE_SESIONES=${CHAT_LIMITE_SESIONES:-600}
    local b=$1 tests nodes=() f failed0=$FAILED out
    local SAN_TAG=${SAN_TAG:-}
    [ "$FRONT" = nginx ] || SAN_TAG="$SAN_TAG [$FRONT]"
    mapfile -t tests < <(executables "$b/tests/integ")
    if [ -f tests/node/package.json ]; then
        for f in tests/node/*.test.mjs; do
            [ -f "$f" ] && selected "$f" || continue
            # the browser tests exercise the client, not the web server;
            # rtd_instances talks to extra daemons directly, not through it
            if [ "${SKIP_BROWSER:-0}" = 1 ]; then
                case $(basename "$f") in browser_* | rtd_instances.* | zz_failover.*) continue ;; esac
            fi
            nodes+=("$f")
        done
    fi
    hr "integration tests ($b/tests/integ): ${#tests[@]}; node tests: ${#nodes[@]}; behind $FRONT"
    if [ "${#tests[@]}" = 0 ] && [ "${#nodes[@]}" = 0 ]; then
        return 0
    fi
    INTEG_BIN=$(cd "$b/bin" 2>/dev/null && pwd) || {
        fail "integration stack${SAN_TAG:-} ($b/bin missing)"
        say "FAIL $b/bin does not exist: build first"
        return 0
    }
    INTEG_TMP=$(mktemp -d /tmp/chat-test.XXXXXX) || return 1
    chmod 755 "$INTEG_TMP" # so that postgres can reach its data and socket
    out=$INTEG_TMP/stack-start.out
    for _ in 1 2 3; do
        pick_ports
        INTEG_UP=1
        if stack start >"$out" 2>&1; then
            break
        fi
        INTEG_UP=0
        # another run may have taken a port between the check and the bind
        grep -q 'already in use' "$out" || break
    done
    if [ "$INTEG_UP" != 1 ]; then
        fail "integration stack${SAN_TAG:-}"
        say "FAIL the stack did not start (ports $HTTP_PORT $PG_PORT $RTD_PORT):"
        sed 's/^/    | /' "$out"
        INTEG_UP=1 # stop whatever is left
        integ_cleanup
        return 0
    fi
    say "stack up in $INTEG_TMP/var on http://127.0.0.1:$HTTP_PORT (pg $PG_PORT, rtd $RTD_PORT)"

    local tenv=(
        CHAT_TEST_URL="http://127.0.0.1:$HTTP_PORT/chat/api/v1"
        CHAT_TEST_BASE="http://127.0.0.1:$HTTP_PORT"
        CHAT_CONFIG="$INTEG_TMP/var/chat.conf"
        CHAT_TEST_VAR="$INTEG_TMP/var"
        CHAT_HTTP_PORT="$HTTP_PORT" CHAT_PG_PORT="$PG_PORT" CHAT_RTD_PORT="$RTD_PORT"
        CHAT_FRONT="$FRONT"
        CHAT_DB_CONNINFO="$DB_CONNINFO" CHAT_TEST_PG2_PORT="$PG2_PORT"
    )
    for f in "${tests[@]}"; do
        run_one "integ/$(basename "$f")${SAN_TAG:-}" "$INTEG_TMP/$(basename "$f").out" \
            env "${tenv[@]}" "$f"
    done
    for f in "${nodes[@]}"; do
        run_one "node/$(basename "$f")${SAN_TAG:-}" "$INTEG_TMP/$(basename "$f").out" \
            env "${tenv[@]}" node --test --test-reporter=spec "$f"
    done

    # Stop first: LeakSanitizer reports when a program exits.
    stack stop >"$INTEG_TMP/stack-stop.out" 2>&1 || cat "$INTEG_TMP/stack-stop.out"
    INTEG_UP=0
    local reports
    reports=$(grep -lE "$SAN_MARKERS" "$INTEG_TMP"/var/log/*.log 2>/dev/null)
    if [ -n "$reports" ]; then
        fail "sanitizer report in the stack's logs${SAN_TAG:-}"
        say "FAIL sanitizer report in:"
        for f in $reports; do
            printf '\n---- %s\n' "${f#"$INTEG_TMP"/}"
            grep -m 1 -B 2 -A 40 -E "$SAN_MARKERS" "$f"
        done
    fi
    if [ "$FAILED" != "$failed0" ]; then
        show_stack_logs
    fi
    integ_cleanup
}

# ---- main ---------------------------------------------------------------------

on_exit() {
    integ_cleanup
    rm -rf "$WORK"
}
trap on_exit EXIT
trap '[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null; wait; exit 130' INT TERM

summary() {
    local f
    if [ "$FAILED" -gt 0 ]; then
        printf '\nfailed:\n'
        for f in "${FAILS[@]}"; do printf '  %s\n' "$f"; done
    fi
    if [ $((PASSED + FAILED)) = 0 ]; then
        printf '\nno tests ran\n'
    fi
    printf '\n%s passed, %s failed\n' "$PASSED" "$FAILED"
    [ "$FAILED" = 0 ] && [ $((PASSED + FAILED)) -gt 0 ]
}

usage() {
    echo "usage: $0 unit|integ|all BUILDDIR" >&2
    exit 2
}

[ $# = 2 ] || usage
MODE=$1
BUILD=${2%/}
FRONT=${CHAT_FRONT:-nginx}
case $FRONT in nginx | apache) ;; *) echo "run-tests: CHAT_FRONT must be nginx or apache" >&2; exit 2 ;; esac
[ -d "$BUILD" ] || { echo "run-tests: $BUILD does not exist: build first (make all)" >&2; exit 1; }

case $MODE in
    unit)
        san_env "$BUILD"
        phase_unit "$BUILD"
        ;;
    integ)
        san_env "$BUILD"
        phase_integ "$BUILD"
        ;;
    all)
        phase_unit "$BUILD"
        phase_integ "$BUILD"
        FRONT=apache SKIP_BROWSER=1 phase_integ "$BUILD"
        hr "sanitizer build: make SAN=1 all"
        if make -C "$ROOT" SAN=1 all >"$WORK/make-san.out" 2>&1; then
            san_env build/san
            SAN_TAG=' [san]'
            phase_unit build/san
            phase_integ build/san
        else
            fail "sanitizer build (make SAN=1 all)"
            say "FAIL make SAN=1 all:"
            tail -n 60 "$WORK/make-san.out" | sed 's/^/    | /'
        fi
        ;;
    *) usage ;;
esac

summary
