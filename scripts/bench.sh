#!/usr/bin/env bash
# bench.sh: `make bench`: builds the load generator and the echo ceiling,
# starts a private stack (temp dir, free ports, durable commits) plus the
# Node reference servers, measures, and writes BENCHMARKS.md and PNG plots
# (build/bench/, copied to tests/bench/results/). Benchmarks measure; they
# never fail the build: a part that cannot run is written down as "not
# measured: <why>", and the script still exits 0 once BENCHMARKS.md exists.
#
# Environment: BENCH_RUNS (runs per figure, default 3), BENCH_QUICK=1 (small
# counts and short runs, for development), BENCH_ONLY="pgbench rest idle
# fanout e2e sync capacity" (a subset), BENCH_OUT (default build/bench),
# BENCH_MD (default BENCHMARKS.md).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
PGBIN=/usr/lib/postgresql/15/bin
OUT=${BENCH_OUT:-$ROOT/build/bench}
MD=${BENCH_MD:-$ROOT/BENCHMARKS.md}
# the committed copies of the plots, only for the real report
if [ -z "${BENCH_OUT:-}" ]; then RES=$ROOT/tests/bench/results; else RES=$OUT/results; fi
RES=${BENCH_RESULTS:-$RES}
RUNS=${BENCH_RUNS:-3}
BUDGET=${BENCH_BUDGET:-780}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-pgbench rest idle fanout e2e sync capacity}
CHAT_BIN=${CHAT_BIN:-$ROOT/build/bin}
T_START=$SECONDS

mkdir -p "$OUT/raw" "$RES"
: >"$OUT/bench.log"
say() { printf 'bench: %s\n' "$*" | tee -a "$OUT/bench.log" >&2; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

declare -A R=()   # results: key -> value
declare -A NM=()  # section -> "not measured" reason
put() { R[$1]=$2; printf '%s=%s\n' "$1" "$2" >>"$OUT/results.txt"; }
get() { printf '%s' "${R[$1]:--}"; }
[ "${BENCH_REPORT_ONLY:-0}" = 1 ] || : >"$OUT/results.txt"

# stats V...: "median min max" of the numeric arguments ("- - -" if none).
stats() {
    printf '%s\n' "$@" | grep -E '^-?[0-9]+([.][0-9]+)?$' | sort -g |
        awk 'function f(x, ax) { ax = x < 0 ? -x : x
                 if (x == int(x)) return sprintf("%d", x)
                 return ax >= 100 ? sprintf("%.0f", x) : ax >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
             {a[NR]=$1} END { if (NR == 0) { print "- - -"; exit }
             m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
             printf "%s %s %s\n", f(m), f(a[1]), f(a[NR]) }'
}
# kv FILE KEY: the value of KEY=... in a loadgen output.
kv() { sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
# budget SECTION: false (and the section marked) once the time budget is spent.
budget() {
    if [ $((SECONDS - T_START)) -gt "$BUDGET" ]; then
        NM[$1]="the run's time budget (${BUDGET} s) was spent before this part"
        say "skipping $1: time budget spent"
        return 1
    fi
}
# mmm KEY: "median (min–max)" of a stats triple stored under KEY.
mmm() {
    local v=${R[$1]:-}
    [ -n "$v" ] || { printf 'not measured'; return; }
    set -- $v
    [ "$1" = - ] && { printf 'not measured'; return; }
    if [ "$#" -ge 3 ] && [ "$2" != "$3" ]; then printf '%s (%s–%s)' "$1" "$2" "$3"; else printf '%s' "$1"; fi
}
med() { local v=${R[$1]:-}; set -- $v; printf '%s' "${1:--}"; }

# ---- build ---------------------------------------------------------------------

CFLAGS_B="-O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE"
build_tools() {
    say "building the load generator and the echo server"
    # shellcheck disable=SC2046,SC2086
    cc $CFLAGS_B $(pkg-config --cflags libjwt libpq json-c) -o "$OUT/loadgen" tests/bench/loadgen.c \
        $(pkg-config --libs libjwt libpq) -lpthread || return 1
    # shellcheck disable=SC2046,SC2086
    cc $CFLAGS_B $(pkg-config --cflags libwebsockets) -o "$OUT/echo" tests/bench/echo.c \
        $(pkg-config --libs libwebsockets) || return 1
}

node_deps() {
    command -v node >/dev/null || return 1
    (
        cd tests/bench || exit 1
        if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
            say "npm ci in tests/bench"
            npm ci --no-audit --no-fund --loglevel=error >>"$OUT/bench.log" 2>&1 || exit 1
            touch node_modules
        fi
    )
}

# ---- the stack -------------------------------------------------------------------

TMP=
UP=0
PIDS=()
port_free() { [ -z "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]; }
pick_port() {
    local p
    while :; do
        # below the ephemeral range, where no client socket can hold it
        p=$((20000 + RANDOM % 12000))
        case " ${PORTS_TAKEN:-} " in *" $p "*) continue ;; esac
        port_free "$p" && break
    done
    PORTS_TAKEN="${PORTS_TAKEN:-} $p"
    echo "$p"
}

stack() {
    CHAT_VAR=$TMP/var CHAT_BIN=$CHAT_BIN CHAT_HTTP_PORT=$HTTP_PORT CHAT_PG_PORT=$PG_PORT \
        CHAT_RTD_PORT=$RTD_PORT CHAT_RTD_PING_INTERVAL_MS=$PING_MS CHAT_PRESENCE_GRACE_SECONDS=3600 \
        CHAT_LOG_LEVEL=warn bash "$ROOT/scripts/stack.sh" "$1"
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    if [ "$UP" = 1 ]; then
        stack stop >>"$OUT/bench.log" 2>&1
        UP=0
    fi
    if [ -n "$TMP" ]; then
        local pg=$TMP/var/pg target
        if [ -L "$pg" ]; then
            target=$(readlink "$pg")
            case $target in /var/tmp/chat-pg-*/data) rm -rf "${target%/data}" ;; esac
        fi
        rm -rf "$TMP"
        TMP=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PSQL=()
psqlq() { "${PSQL[@]}" -tA "$@"; }

# bg LOG CMD...: starts CMD in its own session; its pid in BGPID.
bg() {
    local log=$1
    shift
    setsid "$@" </dev/null >"$log" 2>&1 &
    BGPID=$!
    PIDS+=("$BGPID")
}
stop_pid() {
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
    sleep 0.2
}
wait_ready() { # LOG SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q '^ready' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

NODE_ENV_VARS=()
node_env() {
    NODE_ENV_VARS=(BENCH_PG_HOST="$TMP/var/run" BENCH_PG_PORT="$PG_PORT" BENCH_PG_DB=chat
        BENCH_PG_USER=chat BENCH_SECRET_FILE="$TMP/var/jwt_secret" BENCH_PING_MS="$PING_MS"
        BENCH_POOL=4)
}
start_node() { # NAME SCRIPT PORT -> NODE_PID
    node_env
    bg "$OUT/raw/$1.log" env "${NODE_ENV_VARS[@]}" BENCH_PORT="$3" node "tests/bench/ref/$2"
    NODE_PID=$BGPID
    wait_ready "$OUT/raw/$1.log" 20
}

rtd_pid() { head -n 1 "$TMP/var/run/chat-rtd.pid" 2>/dev/null; }
rtd_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$RTD_PORT/chat/rtd/salud")" = 200 ]; }
rtd_restart() {
    local p i
    p=$(rtd_pid)
    [ -n "$p" ] && stop_pid "$p"
    stack start >>"$OUT/bench.log" 2>&1 || return 1
    for ((i = 0; i < 100; i++)); do
        rtd_up && return 0
        sleep 0.1
    done
    return 1
}

token() { # N: a token for user bN
    CHAT_CONFIG=$TMP/var/chat.conf "$CHAT_BIN/chat-cron" token --id-erp "b$1" --nombre "Bench $1" \
        --ttl 14400 2>>"$OUT/bench.log" | tail -n 1
}

# ---- machine ---------------------------------------------------------------------

machine() {
    put m_cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    put m_cores "$(nproc)"
    put m_ram "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    put m_kernel "$(uname -sr)"
    put m_os "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
    put v_pg "$("$PGBIN/postgres" --version | awk '{print $3}')"
    put v_nginx "$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    put v_node "$(node --version 2>/dev/null || echo none)"
    put v_sio "$(node -p "require('./tests/bench/node_modules/socket.io/package.json').version" 2>/dev/null || echo none)"
    put v_pgjs "$(node -p "require('./tests/bench/node_modules/pg/package.json').version" 2>/dev/null || echo none)"
    put v_lws "$(pkg-config --modversion libwebsockets | sed 's/-$//')"
    put v_wrk "$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo none)"
    put v_commit "$(git describe --always --dirty 2>/dev/null || echo ?)"
    put m_nofile "$(ulimit -Hn)"
    put m_date "$(date -u '+%Y-%m-%d %H:%M UTC')"
    put m_load "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- sections --------------------------------------------------------------------

sec_pgbench() {
    say "ceiling: pgbench, the send-message transaction"
    local c run out tps
    for c in 4 16; do
        local v=()
        for ((run = 1; run <= RUNS; run++)); do
            out=$OUT/raw/pgbench-c$c-$run.txt
            "$PGBIN/pgbench" -h "$TMP/var/run" -p "$PG_PORT" -U chat -n -M simple -c "$c" -j 2 \
                -T "$PGB_SECS" -D chat="$CHAT_PAIR1" -D uid="$UID_S1" -D erp="'b30001'" \
                -f tests/bench/send.pgbench chat >"$out" 2>&1
            tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1)
            [ -n "$tps" ] && v+=("$tps")
        done
        put "pgb_c${c}" "$(stats "${v[@]}")"
    done
    say "ceiling: pgbench, the history read, unprepared and prepared"
    local mode
    for mode in extended prepared; do
        local v=()
        for ((run = 1; run <= RUNS; run++)); do
            out=$OUT/raw/pgbench-hist-$mode-$run.txt
            "$PGBIN/pgbench" -h "$TMP/var/run" -p "$PG_PORT" -U chat -n -M "$mode" -c 4 -j 2 \
                -T "$PGB_SECS" -D chat="$CHAT_BIG" -D uid="$UID_S1" -D erp="'b30001'" \
                -D lo="$BIG_LO" -D hi="$BIG_HI" -f tests/bench/history.pgbench chat >"$out" 2>&1
            tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1)
            [ -n "$tps" ] && v+=("$tps")
        done
        put "pgbh_$mode" "$(stats "${v[@]}")"
    done
}

# wrk_rps URL LUA -> requests/s (or empty); raw output kept.
wrk_rps() {
    local name=$1 url=$2 lua=$3 out=$OUT/raw/wrk-$1.txt
    wrk -t 2 -c "$WRK_CONNS" -d "${WRK_SECS}s" -s "$lua" "$url" >"$out" 2>&1
    local non2xx
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$out")
    local total
    total=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")
    if [ -n "$non2xx" ] && [ -n "$total" ] && [ "$non2xx" -gt $((total / 100)) ]; then
        say "wrk $name: $non2xx of $total answers were errors: not counted"
        echo "ERR"
        return
    fi
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out"
}

sec_rest() {
    say "REST: wrk, send and history, ours (nginx + FastCGI) and Node"
    local have_send=1 have_hist=1
    local st
    st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK_S1" \
        -H 'Content-Type: application/json' -d '{"contenido":"prueba"}' \
        "$URL/chats/$CHAT_PAIR1/mensajes")
    [ "$st" = 201 ] || { have_send=0; NM[rest_send]="POST /chats/{id}/mensajes answered $st at this commit"; }
    st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK_S1" \
        "$URL/chats/$CHAT_BIG/mensajes?limite=50&antes=$BIG_HI")
    [ "$st" = 200 ] || { have_hist=0; NM[rest_hist]="GET /chats/{id}/mensajes answered $st at this commit"; }
    local np=0
    if start_node rest rest.mjs "$NODE_REST_PORT"; then np=$NODE_PID; else
        NM[rest_node]="the Node REST server did not start (see build/bench/raw/rest.log)"
    fi
    local nurl=http://127.0.0.1:$NODE_REST_PORT/chat/api/v1
    local run a b s_o=() s_n=() s_r=() h_o=() h_n=() h_r=()
    export BENCH_TOKEN=$TOK_S1 BENCH_LO=$BIG_LO BENCH_HI=$BIG_HI
    for ((run = 1; run <= RUNS; run++)); do
        if [ "$have_send" = 1 ]; then
            a=$(wrk_rps "send-ours-$run" "$URL/chats/$CHAT_PAIR1/mensajes" tests/bench/send.lua)
            b=-
            [ "$np" != 0 ] && b=$(wrk_rps "send-node-$run" "$nurl/chats/$CHAT_PAIR1/mensajes" tests/bench/send.lua)
            s_o+=("$a"); s_n+=("$b"); s_r+=("$(div "$a" "$b")")
        fi
        if [ "$have_hist" = 1 ]; then
            a=$(wrk_rps "hist-ours-$run" "$URL/chats/$CHAT_BIG/mensajes" tests/bench/history.lua)
            b=-
            [ "$np" != 0 ] && b=$(wrk_rps "hist-node-$run" "$nurl/chats/$CHAT_BIG/mensajes" tests/bench/history.lua)
            h_o+=("$a"); h_n+=("$b"); h_r+=("$(div "$a" "$b")")
        fi
    done
    [ "$np" != 0 ] && stop_pid "$np"
    if [ "$have_send" = 1 ]; then
        put rest_send_ours "$(stats "${s_o[@]}")"
        put rest_send_node "$(stats "${s_n[@]}")"
        put rest_send_ratio "$(stats "${s_r[@]}")"
    fi
    if [ "$have_hist" = 1 ]; then
        put rest_hist_ours "$(stats "${h_o[@]}")"
        put rest_hist_node "$(stats "${h_n[@]}")"
        put rest_hist_ratio "$(stats "${h_r[@]}")"
    fi
}

# idle_run SERVER RUN STEPS: one ramp through STEPS (comma list) against a
# freshly started server, holding at each step; output in raw/idle-SERVER-RUN.
idle_run() {
    local srv=$1 run=$2 steps=$3 port pid out=$OUT/raw/idle-$1-$2.txt extra=()
    case $srv in
        rtd)
            rtd_restart || { say "rtd did not come back"; return 1; }
            port=$RTD_PORT pid=$(rtd_pid)
            extra=(--secret-file "$TMP/var/jwt_secret")
            ;;
        node)
            start_node "sio-idle-$run" sio.mjs "$NODE_SIO_PORT" || return 1
            port=$NODE_SIO_PORT pid=$NODE_PID
            extra=(--secret-file "$TMP/var/jwt_secret")
            ;;
        echo)
            bg "$OUT/raw/echo-idle-$run.log" "$OUT/echo" "$ECHO_PORT" "$PING_MS"
            pid=$BGPID port=$ECHO_PORT
            wait_ready "$OUT/raw/echo-idle-$run.log" 10 || return 1
            extra=(--echo)
            ;;
    esac
    sleep 1
    "$OUT/loadgen" --mode idle --port "$port" --users-from 10001 --count "$IDLE_MAX" \
        --steps "$steps" --hold "$HOLD" --pid "$pid" --inflight 256 --src-ips "$NSRC" \
        --connect-timeout "$CONNECT_TIMEOUT" "${extra[@]}" >"$out" 2>>"$OUT/raw/loadgen.err"
    [ "$srv" != rtd ] && stop_pid "$pid"
    return 0
}

sec_idle() {
    say "connections: RSS per idle connection, rtd / Node / echo"
    local srv run f n k steps
    declare -A acc=()
    local all small=""
    all=$(printf '%s' "$IDLE_SIZES" | tr ' ' ,)
    for n in $IDLE_SIZES; do [ "$n" != "$IDLE_MAX" ] && small="$small${small:+,}$n"; done
    local done_runs=0
    for ((run = 1; run <= RUNS; run++)); do
        if [ "$run" -gt 1 ] && [ $((SECONDS - T_START)) -gt "$BUDGET" ]; then
            say "idle: stopping after $done_runs runs (time budget)"
            break
        fi
        done_runs=$run
        # the largest size once (it is the slowest ramp), the others every run
        steps=$all
        [ "$run" -gt 1 ] && steps=$small
        [ -n "$steps" ] || continue
        for srv in rtd node echo; do
            [ "$srv" = rtd ] && [ "$HAVE_RTD" != 1 ] && continue
            [ "$srv" = node ] && [ "$NODE_OK" != 1 ] && continue
            say "idle $srv run $run: $steps"
            idle_run "$srv" "$run" "$steps"
            f=$OUT/raw/idle-$srv-$run.txt
            for k in 0 1 2 3 4 5; do
                n=$(kv "$f" "step${k}_n")
                [ -n "$n" ] || break
                acc[${srv}_${n}_bpc]+=" $(kv "$f" "step${k}_bpc")"
                acc[${srv}_${n}_held]+=" $(kv "$f" "step${k}_held")"
                acc[${srv}_${n}_pinged]+=" $(kv "$f" "step${k}_pinged")"
                acc[${srv}_${n}_rate]+=" $(kv "$f" "step${k}_rate")"
            done
        done
    done
    for k in "${!acc[@]}"; do
        # shellcheck disable=SC2086
        put "idle_$k" "$(stats ${acc[$k]})"
    done
    put idle_runs "$done_runs"
    [ "$HAVE_RTD" = 1 ] && rtd_restart
}

# fanout_srv SERVER: one set of connections, RUNS rounds of measures.
fanout_srv() {
    local srv=$1 out=$OUT/raw/fanout-$1.txt port pid='' args=()
    case $srv in
        rtd) rtd_restart || return 1; port=$RTD_PORT ;;
        node) start_node sio-fan sio.mjs "$NODE_SIO_PORT" || return 1; port=$NODE_SIO_PORT pid=$NODE_PID ;;
        echo)
            bg "$OUT/raw/echo-fan.log" "$OUT/echo" "$ECHO_PORT" "$PING_MS"
            pid=$BGPID
            wait_ready "$OUT/raw/echo-fan.log" 10 || return 1
            port=$ECHO_PORT
            ;;
    esac
    if [ "$srv" = echo ]; then
        args=(--echo --room "0:$FAN_N")
    else
        args=(--secret-file "$TMP/var/jwt_secret" --db "host=$TMP/var/run port=$PG_PORT dbname=chat user=chat"
            --room "$CHAT_TEAM0:10" --room "$CHAT_DEPT0:1000" --room "$CHAT_ALL:$FAN_N")
    fi
    sleep 1
    "$OUT/loadgen" --mode fanout --port "$port" --users-from 1 --count "$FAN_N" --msgs "$FAN_MSGS" \
        --rounds "$RUNS" --sustain "$SUSTAIN" --window 4 --inflight 256 --src-ips "$NSRC" \
        --connect-timeout "$CONNECT_TIMEOUT" "${args[@]}" >"$out" 2>>"$OUT/raw/loadgen.err"
    [ -n "$pid" ] && stop_pid "$pid"
    return 0
}

sec_fanout() {
    say "fan-out: rooms of 10, 1,000 and $FAN_N, rtd / Node / echo"
    local srv run f r sz nm
    declare -A acc=()
    for srv in rtd node echo; do
        [ "$srv" = rtd ] && [ "$HAVE_RTD" != 1 ] && continue
        [ "$srv" = node ] && [ "$NODE_OK" != 1 ] && continue
        say "fanout $srv: $RUNS rounds"
        fanout_srv "$srv"
        f=$OUT/raw/fanout-$srv.txt
        acc[${srv}_conn]=" $(kv "$f" connected)"
        for ((run = 0; run < RUNS; run++)); do
            for r in 0 1 2; do
                sz=$(kv "$f" "r${run}_room${r}_size")
                [ -n "$sz" ] || continue
                nm=$sz
                [ "$sz" = "$FAN_N" ] && nm=big
                acc[${srv}_${nm}_p50]+=" $(kv "$f" "r${run}_room${r}_last_p50_ms")"
                acc[${srv}_${nm}_p99]+=" $(kv "$f" "r${run}_room${r}_last_p99_ms")"
                acc[${srv}_${nm}_each99]+=" $(kv "$f" "r${run}_room${r}_each_p99_ms")"
                acc[${srv}_${nm}_inc]+=" $(kv "$f" "r${run}_room${r}_incomplete")"
            done
            acc[${srv}_dps]+=" $(kv "$f" "r${run}_sustain_dps")"
        done
    done
    # ratios round by round
    local a b
    for ((run = 0; run < RUNS; run++)); do
        a=$(kv "$OUT/raw/fanout-rtd.txt" "r${run}_sustain_dps")
        b=$(kv "$OUT/raw/fanout-node.txt" "r${run}_sustain_dps")
        acc[dps_ratio]+=" $(div "$a" "$b")"
        b=$(kv "$OUT/raw/fanout-echo.txt" "r${run}_sustain_dps")
        acc[dps_frac_echo]+=" $(div "$a" "$b")"
    done
    local k
    for k in "${!acc[@]}"; do
        # shellcheck disable=SC2086
        put "fan_$k" "$(stats ${acc[$k]})"
    done
    [ "$HAVE_RTD" = 1 ] && rtd_restart
}

sec_e2e() {
    say "end to end: POST through nginx to the other member's socket"
    local run f rargs=() r
    for r in $E2E_RATES; do rargs+=(--rate "$r"); done
    for ((run = 1; run <= RUNS; run++)); do
        f=$OUT/raw/e2e-$run.txt
        "$OUT/loadgen" --mode e2e --port "$HTTP_PORT" --path /chat/socket.io/ \
            --secret-file "$TMP/var/jwt_secret" --users-from 30101 --count 8 \
            --http-port "$HTTP_PORT" --senders 32 --pairs 8 --sender-from 30001 --chat-from "$CHAT_PAIR1" \
            --secs "$E2E_SECS" "${rargs[@]}" >"$f" 2>>"$OUT/raw/loadgen.err"
    done
    # per target rate: medians over the runs
    local i=0 best=() p99 ach
    for r in $E2E_RATES; do
        local a50=() a99=() aa=() alost=() h50=() h99=()
        for ((run = 1; run <= RUNS; run++)); do
            f=$OUT/raw/e2e-$run.txt
            [ "$(kv "$f" "rate${i}_target")" = "$r" ] || continue
            a50+=("$(kv "$f" "rate${i}_e2e_p50_ms")")
            a99+=("$(kv "$f" "rate${i}_e2e_p99_ms")")
            aa+=("$(kv "$f" "rate${i}_achieved")")
            alost+=("$(kv "$f" "rate${i}_lost")")
            h50+=("$(kv "$f" "rate${i}_http_p50_ms")")
            h99+=("$(kv "$f" "rate${i}_http_p99_ms")")
        done
        if [ "${#a99[@]}" -gt 0 ]; then
            put "e2e_${r}_p50" "$(stats "${a50[@]}")"
            put "e2e_${r}_p99" "$(stats "${a99[@]}")"
            put "e2e_${r}_ach" "$(stats "${aa[@]}")"
            put "e2e_${r}_lost" "$(stats "${alost[@]}")"
            put "e2e_${r}_http50" "$(stats "${h50[@]}")"
            put "e2e_${r}_http99" "$(stats "${h99[@]}")"
        fi
        i=$((i + 1))
    done
    # the highest rate held with p99 under 50 ms, per run
    for ((run = 1; run <= RUNS; run++)); do
        f=$OUT/raw/e2e-$run.txt
        local top=0
        i=0
        for r in $E2E_RATES; do
            p99=$(kv "$f" "rate${i}_e2e_p99_ms")
            ach=$(kv "$f" "rate${i}_achieved")
            local lost
            lost=$(kv "$f" "rate${i}_lost")
            if [ -n "$p99" ] && awk -v p="$p99" -v a="$ach" -v r="$r" -v l="$lost" \
                'BEGIN { exit !(p >= 0 && p < 50 && a >= 0.9 * r && l == 0) }'; then
                top=$r
            fi
            i=$((i + 1))
        done
        best+=("$top")
    done
    put e2e_best "$(stats "${best[@]}")"
}

# Client capacity: several load generator processes (each capped by the
# open-file limit) against as many echo servers, all at once.
sec_capacity() {
    local k n=$CAP_PER pids=() eps=() held=0 pinged=0 f
    say "capacity: $CAP_PROCS load generators x $n connections against echo servers"
    for ((k = 0; k < CAP_PROCS; k++)); do
        local port
        port=$(pick_port)
        bg "$OUT/raw/echo-cap-$k.log" "$OUT/echo" "$port" "$PING_MS"
        eps+=("$BGPID")
        wait_ready "$OUT/raw/echo-cap-$k.log" 10 || { say "echo did not start"; return; }
        "$OUT/loadgen" --mode idle --echo --port "$port" --count "$n" --hold "$((HOLD + 4))" \
            --inflight 256 --src-ips "$NSRC" --connect-timeout "$CONNECT_TIMEOUT" \
            >"$OUT/raw/capacity-$k.txt" 2>>"$OUT/raw/loadgen.err" &
        pids+=("$!")
    done
    for k in "${pids[@]}"; do wait "$k"; done
    for ((k = 0; k < CAP_PROCS; k++)); do
        f=$OUT/raw/capacity-$k.txt
        local h p
        h=$(kv "$f" held)
        p=$(kv "$f" held_pinged)
        held=$((held + ${h:-0}))
        pinged=$((pinged + ${p:-0}))
    done
    for k in "${eps[@]}"; do stop_pid "$k"; done
    put cap_total "$((CAP_PROCS * n))"
    put cap_held "$held"
    put cap_pinged "$pinged"
}

sec_sync() {
    say "delta sync: 50 active chats after an hour away"
    local cur st
    cur=$(curl -s -H "Authorization: Bearer $TOK_S1" "$URL/sync/cursor")
    st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK_S1" "$URL/sync/cursor")
    if [ "$st" != 200 ]; then
        NM[sync]="GET /sync/cursor answered $st at this commit"
        return
    fi
    local c
    c=$(printf '%s' "$cur" | sed -n 's/.*"cursor"[[:space:]]*:[[:space:]]*\("[^"]*"\|[0-9]*\).*/\1/p')
    [ -n "$c" ] || { NM[sync]="GET /sync/cursor gave no cursor: $cur"; return; }
    # an hour of activity: 20 messages from the other member in each of 50 chats
    local cfg=$OUT/raw/sync-posts.curl k j
    : >"$cfg"
    for k in $(seq 0 49); do
        for j in $(seq 1 20); do
            printf 'url = "%s/chats/%s/mensajes"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"contenido\\":\\"mensaje %s de la hora en el chat %s\\"}"\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\nnext\n' \
                "$URL" "$((CHAT_SYNC1 + k))" "$TOK_R1" "$j" "$k" >>"$cfg"
        done
    done
    local ok
    ok=$(curl -s -K "$cfg" 2>/dev/null | grep -c '^201$')
    put sync_posted "$ok"
    local v=() t run body=$OUT/raw/sync-body.json
    for ((run = 1; run <= 5; run++)); do
        t=$(curl -s -o "$body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOK_S1" \
            -H 'Content-Type: application/json' -d "{\"cursor\":$c}" "$URL/sync")
        [ "${t%% *}" = 200 ] || { NM[sync]="POST /sync answered ${t%% *} at this commit"; return; }
        v+=("$(awk -v s="${t#* }" 'BEGIN { printf "%.2f", s * 1000 }')")
    done
    put sync_ms "$(stats "${v[@]}")"
    put sync_bytes "$(stat -c %s "$body")"
    put sync_msgs "$(grep -o '"chat_id"' "$body" | wc -l)"
    put sync_hay_mas "$(grep -q '"hay_mas":true' "$body" && echo true || echo false)"
}

# ---- report ----------------------------------------------------------------------

verdict() { # VALUE OP LIMIT -> met / not met / not measured
    local x=$1
    if [ -z "$x" ] || [ "$x" = - ]; then echo "not measured"; return; fi
    if awk -v v="$x" -v l="$3" -v op="$2" 'BEGIN { exit !((op == "<=" && v <= l) || (op == ">=" && v >= l)) }'; then
        echo "**met**"
    else
        echo "**not met**"
    fi
}

plots() {
    command -v gnuplot >/dev/null || return 0
    local d=$OUT
    # idle bytes per connection
    {
        local n
        for n in $IDLE_SIZES; do
            printf '%s %s %s %s\n' "$n" "$(med "idle_rtd_${n}_bpc")" "$(med "idle_node_${n}_bpc")" "$(med "idle_echo_${n}_bpc")"
        done
    } | sed 's/ - / NaN /g; s/ -$/ NaN/' >"$d/idle.dat"
    {
        printf '10 %s %s NaN\n' "$(med fan_rtd_10_p99)" "$(med fan_node_10_p99)"
        printf '1000 %s %s NaN\n' "$(med fan_rtd_1000_p99)" "$(med fan_node_1000_p99)"
        printf '%s %s %s %s\n' "$FAN_N" "$(med fan_rtd_big_p99)" "$(med fan_node_big_p99)" "$(med fan_echo_big_p99)"
    } | sed 's/ - / NaN /g; s/ -$/ NaN/' >"$d/fanout.dat"
    {
        local r
        for r in $E2E_RATES; do
            [ -n "${R[e2e_${r}_p99]:-}" ] || continue
            printf '%s %s %s\n' "$r" "$(med "e2e_${r}_p50")" "$(med "e2e_${r}_p99")"
        done
    } >"$d/e2e.dat"
    {
        printf '"send (POST)" %s %s %s\n' "$(med rest_send_ours)" "$(med rest_send_node)" "$(med pgb_c16)"
        printf '"history (GET)" %s %s NaN\n' "$(med rest_hist_ours)" "$(med rest_hist_node)"
    } | sed 's/ - / NaN /g; s/ -$/ NaN/' >"$d/rest.dat"
    gnuplot >>"$OUT/bench.log" 2>&1 <<EOF
set terminal pngcairo size 720,420 font ",10" noenhanced
set grid
set key top left
set output '$d/idle.png'
set title 'Memory per idle connection (authenticated, in its rooms, pinged)'
set xlabel 'connections'; set ylabel 'bytes per connection (RSS delta / n)'
set logscale x
set yrange [0:*]
plot '$d/idle.dat' using 1:2 with linespoints lw 2 title 'chat-rtd', \
     '' using 1:3 with linespoints lw 2 title 'Node Socket.IO ${R[v_sio]:-}', \
     '' using 1:4 with linespoints lw 2 title 'bare lws echo (ceiling)'
set output '$d/fanout.png'
set title 'Fan-out: NOTIFY to the last member, p99'
set xlabel 'room members'; set ylabel 'ms'
plot '$d/fanout.dat' using 1:2 with linespoints lw 2 title 'chat-rtd', \
     '' using 1:3 with linespoints lw 2 title 'Node Socket.IO', \
     '' using 1:4 with points pt 7 ps 1.5 title 'bare lws echo (client-triggered)'
unset logscale x
set output '$d/e2e.png'
set title 'End to end: POST via nginx + FastCGI to the other member socket'
set xlabel 'messages per second (target)'; set ylabel 'ms'
set logscale y
set yrange [*:*]
plot '$d/e2e.dat' using 1:2 with linespoints lw 2 title 'p50', '' using 1:3 with linespoints lw 2 title 'p99', 50 with lines dt 2 title '50 ms'
unset logscale y
set output '$d/rest.png'
set title 'REST throughput (requests per second)'
set style data histogram; set style histogram cluster gap 1; set style fill solid 0.8 border -1
set xlabel ''; set ylabel 'requests/s'; set yrange [0:*]
set key top right
plot '$d/rest.dat' using 2:xtic(1) title 'ours: nginx + chat-fcgi', '' using 3 title 'Node http + pg', '' using 4 title 'pgbench ceiling (16 clients)'
EOF
    local p
    for p in idle fanout e2e rest; do
        [ -s "$d/$p.png" ] && cp "$d/$p.png" "$RES/$p.png"
    done
    cp "$OUT/results.txt" "$RES/results.txt"
}

nm_or() { # SECTION TEXT: TEXT, or the section's not-measured reason
    if [ -n "${NM[$1]:-}" ]; then printf 'not measured: %s' "${NM[$1]}"; else printf '%s' "$2"; fi
}

report() {
    local tmp=$MD.tmp
    local s_frac4 s_frac16
    s_frac4=$(div "$(med rest_send_ours)" "$(med pgb_c4)")
    s_frac16=$(div "$(med rest_send_ours)" "$(med pgb_c16)")
    local ceil_best
    ceil_best=$(awk -v a="$(med pgb_c4)" -v b="$(med pgb_c16)" 'BEGIN { if (a == "-" ) a = 0; if (b == "-") b = 0; print (a > b ? a : b) }')
    local s_frac_best
    s_frac_best=$(div "$(med rest_send_ours)" "$ceil_best")
    local idle_top=$IDLE_MAX
    local bpc10k
    bpc10k=$(med "idle_rtd_${IDLE_TARGET}_bpc")
    local bpc_ratio
    bpc_ratio=$(div "$bpc10k" "$(med "idle_node_${IDLE_TARGET}_bpc")")
    {
        cat <<EOF
# Benchmarks

Written by \`make bench\` (scripts/bench.sh) on ${R[m_date]} at commit \`${R[v_commit]}\`;
do not edit by hand. Raw outputs: \`build/bench/raw/\`; plots: \`tests/bench/results/\`
(copied from \`build/bench/\`, small PNGs, committed with this file).
Each figure is the **median of ${RUNS} runs (min–max)** unless it says otherwise; each
ratio is computed inside one run (ours and the reference measured back to back) and
then summarised the same way.$( [ "$QUICK" = 1 ] && printf '\n\n**QUICK run (BENCH_QUICK=1): small counts and short runs, not the real figures.**' )

## Machine

| | |
|---|---|
| CPU | ${R[m_cpu]} × ${R[m_cores]} cores, shared with other work while this ran (load average ${R[m_load]} at the start, ${R[m_load_end]:-?} at the end) |
| RAM | ${R[m_ram]} |
| OS, kernel | ${R[m_os]}, ${R[m_kernel]} |
| PostgreSQL | ${R[v_pg]} (private cluster, durable commits: fsync on, synchronous_commit on; default settings otherwise) |
| nginx | ${R[v_nginx]} |
| Node | ${R[v_node]}, socket.io ${R[v_sio]}, pg ${R[v_pgjs]} |
| libwebsockets | ${R[v_lws]} |
| wrk | ${R[v_wrk]} |
| open files per process | ${R[m_nofile]} (hard limit of this machine; it caps any one server, and each load generator process, at about that many sockets) |

${NM[node]:+**Node reference not measured:** ${NM[node]}.

}Everything — PostgreSQL, nginx, chat-fcgi (4 workers), chat-rtd, the Node servers, the load
generator, wrk — shares the same ${R[m_cores]} cores, so every throughput figure is also a
measure of the client's own CPU use; the ratios are the meaningful part.

## Targets

| target | measured | verdict |
|---|---|---|
| idle connection ≤ 8 KB | rtd $(mmm "idle_rtd_${IDLE_TARGET}_bpc") B at ${IDLE_TARGET} connections | $(verdict "$bpc10k" '<=' 8192) |
| idle connection ≤ 1/10 of the reference | rtd / Node = ${bpc_ratio} at ${IDLE_TARGET} | $(verdict "$bpc_ratio" '<=' 0.1) |
| fan-out to ${FAN_N} members p99 ≤ 100 ms | rtd $(mmm fan_rtd_big_p99) ms | $(verdict "$(med fan_rtd_big_p99)" '<=' 100) |
| fan-out deliveries/s ≥ 5× the reference | rtd / Node = $(mmm fan_dps_ratio) | $(verdict "$(med fan_dps_ratio)" '>=' 5) |
| end-to-end p99 ≤ 10 ms at 500 messages/s | $(mmm e2e_500_p99) ms | $(verdict "$(med e2e_500_p99)" '<=' 10) |
| send-message throughput ≥ 70% of the pgbench ceiling | ${s_frac_best} of the best pgbench figure (${ceil_best} TPS) | $(verdict "$s_frac_best" '>=' 0.7) |
| send-message throughput ≥ 3× the Node reference | $(mmm rest_send_ratio) | $(verdict "$(med rest_send_ratio)" '>=' 3) |
| history read ≥ 3× the Node reference | $(mmm rest_hist_ratio) | $(verdict "$(med rest_hist_ratio)" '>=' 3) |

## 1. Connections: memory per idle connection

Each connection is a stock Socket.IO v4 client session (our C load generator): WebSocket
handshake, Engine.IO open, CONNECT with a JWT minted for a seeded user, joined to
\`user:<id>\` and the user's 2 chat rooms (users b10001…; a team chat of 10 and a
department chat of 1,000). Each run starts the server afresh and ramps through the
sizes; at each size it holds ${HOLD} s so that every socket answers at least one ping
(ping interval ${PING_MS} ms for both servers, shortened from the default 25 s so that a
ping round fits in the hold), then reads the server's VmRSS. Bytes per
connection = (VmRSS at that size − VmRSS before the first connection) / connections
held. The largest size is ramped to in the first run only (its ramp is the slowest),
so its row is one run. Connections go straight to the server's port (not through
nginx), from ${NSRC} source addresses 127.0.0.2…

${NM[idle]:+**Not measured:** ${NM[idle]}.
}${NM[rtd]:+**chat-rtd not measured:** ${NM[rtd]}.
}Runs: ${R[idle_runs]:-0} for the smaller sizes.

| connections | chat-rtd B/conn | Node Socket.IO B/conn | bare lws echo B/conn | rtd held (pinged) | Node held (pinged) | rtd connects/s | Node connects/s |
|---|---|---|---|---|---|---|---|
EOF
        local n
        for n in $IDLE_SIZES; do
            printf '| %s | %s | %s | %s | %s (%s) | %s (%s) | %s | %s |\n' "$n" \
                "$(mmm "idle_rtd_${n}_bpc")" "$(mmm "idle_node_${n}_bpc")" "$(mmm "idle_echo_${n}_bpc")" \
                "$(med "idle_rtd_${n}_held")" "$(med "idle_rtd_${n}_pinged")" \
                "$(med "idle_node_${n}_held")" "$(med "idle_node_${n}_pinged")" \
                "$(mmm "idle_rtd_${n}_rate")" "$(mmm "idle_node_${n}_rate")"
        done
        cat <<EOF
| 50,000 | not measured: one process may hold at most ${R[m_nofile]} open files on this machine (hard limit; raising it needs CAP_SYS_RESOURCE, which this machine does not grant), so neither server can hold 50,000 sockets here | | | | | | |

The largest size tried (${idle_top}) is about the most connections one process can hold here
(the open-file limit). Held at that size within the ${CONNECT_TIMEOUT} s connect timeout: rtd
$(med "idle_rtd_${idle_top}_held"), Node $(med "idle_node_${idle_top}_held"), echo
$(med "idle_echo_${idle_top}_held"); where rtd holds fewer, its connect rate past 10,000 sockets
(column above) is the limit, not the file limit — see the finding in §2. The client side
is not the limit: ${CAP_PROCS} load generator processes held $(get cap_held) of $(get cap_total)
connections at once ($(get cap_pinged) answering pings), against ${CAP_PROCS} echo servers, from
${NSRC} source addresses.

![idle](tests/bench/results/idle.png)

**What limits it.** Memory: for rtd, what lws keeps per connection (the bare echo row is
that floor: the same library with no rooms, users or token) plus ours (\`struct rt_conn\`,
its room slots, the user record, malloc overhead); the small sizes carry the process's
fixed growth (worker arenas, hash tables) spread over few sockets. For Node, a Socket.IO
socket, an Engine.IO socket and a \`ws\` socket with their buffers and room sets, all JS
objects. Connect rate: rtd writes the user's presence row in a durable transaction on
every connect (4 worker threads), so its ramp is bounded by commits; Node's reference
does no presence, only the two lookups. Count: the open-file limit above. **What would
move it:** several rtd processes behind nginx (they share PostgreSQL as the bus) for
more than ~20k sockets per machine here; for memory, smaller lws buffers.

## 2. Fan-out

${FAN_N} clients connected once per server (users b1…b${FAN_N}, each in a team chat of 10, a
department chat of 1,000 and the chat \`all\` of ${FAN_N}), then ${RUNS} rounds of measures on
those connections (the medians below are over rounds; ratios are round by round, the
servers measured one after the other). In each round, one message at a time (${FAN_MSGS} per room size): the load
generator inserts the \`eventos\` row (durable commit), then sends the NOTIFY in its own
\`synchronous_commit = off\` transaction, exactly as the application does, and times from
just before that NOTIFY to each member's receipt of the \`42["mensaje:nuevo",…]\` frame
(a Mensaje-sized payload, ~500 bytes). "Last" is the time to the last member, per message.
Then ${SUSTAIN} s of back-to-back messages to the ${FAN_N} room, 4 in flight: deliveries per second.
The echo ceiling has no database: connection 0 sends the event and the bare lws server
broadcasts it to everyone.

${NM[fanout]:+**Not measured:** ${NM[fanout]}.
}${NM[rtd]:+**chat-rtd not measured:** ${NM[rtd]}.
}
| room size | rtd last p50 ms | rtd last p99 ms | Node last p50 ms | Node last p99 ms | bare lws echo last p50 / p99 ms |
|---|---|---|---|---|---|
| 10 | $(mmm fan_rtd_10_p50) | $(mmm fan_rtd_10_p99) | $(mmm fan_node_10_p50) | $(mmm fan_node_10_p99) | |
| 1,000 | $(mmm fan_rtd_1000_p50) | $(mmm fan_rtd_1000_p99) | $(mmm fan_node_1000_p50) | $(mmm fan_node_1000_p99) | |
| ${FAN_N} | $(mmm fan_rtd_big_p50) | $(mmm fan_rtd_big_p99) | $(mmm fan_node_big_p50) | $(mmm fan_node_big_p99) | $(mmm fan_echo_big_p50) / $(mmm fan_echo_big_p99) |

| sustained, room of ${FAN_N} | deliveries/s |
|---|---|
| chat-rtd | $(mmm fan_rtd_dps) |
| Node Socket.IO | $(mmm fan_node_dps) |
| bare lws echo (ceiling) | $(mmm fan_echo_dps) |
| rtd / Node (same run) | $(mmm fan_dps_ratio) |
| rtd / echo ceiling (same run) | $(mmm fan_dps_frac_echo) |

**Finding for rtd.** With ${FAN_N} sockets connected, rtd's delivery time grows with the
number of sockets *connected*, not with the room: even a room of 10 takes
$(mmm fan_rtd_10_p50) ms (p50), while in the smaller runs (2,000 sockets) it took a few
ms, and Node stays at $(mmm fan_node_10_p50) ms with the same sockets. A likely cause, to be
confirmed by the rtd owner with \`perf\`: each socket's Engine.IO ping is its own
\`lws_sul\` timer, and lws 4.1 keeps those in one sorted list, so every reschedule walks
it — with ${FAN_N} sockets pinged every ${PING_MS} ms that is O(n²) work per ping interval on
the loop that also delivers. The production ping interval (25 s) divides that by
$((25000 / PING_MS)), not by n; one shared ping timer per interval (as the echo server does) would
remove it.

Incomplete messages (some member did not get it within 5 s), per run: rtd
$(mmm fan_rtd_big_inc) for ${FAN_N}, Node $(mmm fan_node_big_inc).

![fanout](tests/bench/results/fanout.png)

**What limits it.** The two cores: the server writes ${FAN_N} frames per message while the load
generator reads them on the same machine (and other work ran beside it), so a large
share of the CPU is the client's and all three servers are measured through the same
bottleneck. rtd formats a frame once and queues it by reference on every socket;
Node's \`io.to(room).emit\` encodes once too but pays per-socket JS and \`ws\` work. The
echo row is the library's floor for the same writes without the database read or the
rooms. **What would move it:** the client on another machine (the figures here are a
lower bound for every server); for rtd, the gap to the echo row.

## 3. End to end: POST through nginx + FastCGI to the other member's socket

32 sender threads, each with a keep-alive connection to nginx, 4 per chat of two
(\`pair-1\`…\`pair-8\`, sent by the chat's first member), POST \`{"contenido":…}\` on a fixed schedule for ${E2E_SECS} s per rate; the
other member of each chat is connected to rtd through nginx (\`/chat/socket.io/\`).
Latency = from just before the POST is written to the receipt of the
\`mensaje:nuevo\` frame on the other member's socket. Rates step up until p99 passes 200 ms
or the senders fall behind.

| target msg/s | achieved msg/s | p50 ms | p99 ms | lost | POST answered p50 / p99 ms |
|---|---|---|---|---|---|
EOF
        local r any=0
        for r in $E2E_RATES; do
            [ -n "${R[e2e_${r}_p99]:-}" ] || continue
            any=1
            printf '| %s | %s | %s | %s | %s | %s / %s |\n' "$r" "$(mmm "e2e_${r}_ach")" "$(mmm "e2e_${r}_p50")" \
                "$(mmm "e2e_${r}_p99")" "$(mmm "e2e_${r}_lost")" "$(med "e2e_${r}_http50")" "$(med "e2e_${r}_http99")"
        done
        [ "$any" = 0 ] && printf '| %s | | | | | |\n' "$(nm_or e2e 'not measured')"
        cat <<EOF

Highest rate held with p99 < 50 ms (and nothing lost, ≥ 90% of the target achieved):
**$(mmm e2e_best) messages/s** (0: none of the rates).

![e2e](tests/bench/results/e2e.png)

**What limits it.** Each message is a durable commit (the WAL flush on this disk), the
NOTIFY transaction after it, rtd's cursor read of \`eventos\`, and two proxy hops through
nginx; at the top rates the 4 FastCGI workers and the CPU the load generator shares.
**What would move it:** more FastCGI workers (they wait on the commit, not the CPU),
a faster WAL disk, coalesced NOTIFYs.

## 4. REST throughput

wrk, 2 threads, ${WRK_CONNS} connections, ${WRK_SECS} s per run; ours through nginx + chat-fcgi (4
workers), the reference \`tests/bench/ref/rest.mjs\` (node:http + pg, one process, a pool
of 4, the same SQL) on its own port without nginx. Send: \`POST /chats/{id}/mensajes\` from
one user to one chat. History: \`GET /chats/{id}/mensajes?limite=50&antes=<random id>\`
in the chat \`big\` of 1,000,000 messages, \`antes\` drawn uniformly over its ids.

| | ours req/s | Node req/s | ours / Node (same run) |
|---|---|---|---|
| send message | $(nm_or rest_send "$(mmm rest_send_ours)") | $(mmm rest_send_node) | $(mmm rest_send_ratio) |
| read history (50, deep) | $(nm_or rest_hist "$(mmm rest_hist_ours)") | $(mmm rest_hist_node) | $(mmm rest_hist_ratio) |

The same database work without HTTP (pgbench, 4 clients, \`tests/bench/history.pgbench\`):

| history read, database only | TPS |
|---|---|
| unnamed statements, parsed and planned every time (what chat-fcgi's \`PQexecParams\` does) | $(mmm pgbh_extended) |
| prepared statements (what the Node reference's named queries do) | $(mmm pgbh_prepared) |

![rest](tests/bench/results/rest.png)

**What limits it.** Send: the durable commit (one WAL flush per message; with 4 FastCGI
workers at most 4 commits share a flush) and the NOTIFY transaction after it; both servers
wait for the same commit, so where the reference is ahead the difference is per-request
CPU on these 2 shared cores — ours parses and plans every statement (the big Mensaje
query included) on every call, the reference's named statements are planned once. History: PostgreSQL's
work on the 50-message statement (the Mensaje columns, the read-receipt
\`NOT EXISTS\` and the reactions subquery per row), which both servers send; the table
above shows what planning it on every call costs. **What would move it:** prepared
statements in \`shared/core/db.c\` (\`PQprepare\` once per connection) for the hot statements;
for send, more workers (they wait on the flush, not the CPU) and group commit
(\`commit_delay\`).

## 5. Ceilings

| ceiling | figure | ours as a fraction |
|---|---|---|
| pgbench, send-message transaction, 4 clients (= FastCGI workers) | $(mmm pgb_c4) TPS | send ${s_frac4} |
| pgbench, send-message transaction, 16 clients | $(mmm pgb_c16) TPS | send ${s_frac16} |
| pgbench, history read, 4 clients, unprepared (as chat-fcgi) | $(mmm pgbh_extended) TPS | history $(div "$(med rest_hist_ours)" "$(med pgbh_extended)") |
| pgbench, history read, 4 clients, prepared | $(mmm pgbh_prepared) TPS | history $(div "$(med rest_hist_ours)" "$(med pgbh_prepared)") |
| bare lws echo, fan-out to ${FAN_N}, deliveries/s | $(mmm fan_echo_dps) | rtd $(mmm fan_dps_frac_echo) |
| bare lws echo, idle connection at ${IDLE_TARGET} | $(mmm "idle_echo_${IDLE_TARGET}_bpc") B | rtd $(div "$bpc10k" "$(med "idle_echo_${IDLE_TARGET}_bpc")")× |

The pgbench script (\`tests/bench/send.pgbench\`) holds the user lookup, the durable
transaction (the message insert with its access check, the \`eventos\` row) and then the
NOTIFY in its own \`synchronous_commit = off\` transaction — the database work of one send,
with no HTTP, JSON or JWT. **What limits it:** the WAL flush per commit and the global
lock a notifying commit takes (DESIGN.md); more clients buy group commit.

## 6. Delta sync after an hour away

User b30001 takes a cursor (\`GET /sync/cursor\`), then 20 messages are posted in each of 50
chats (${R[sync_posted]:-0} posted); one \`POST /sync {cursor}\` is timed with curl, 5 times.

| | |
|---|---|
| one sync call | $(nm_or sync "$(mmm sync_ms) ms") |
| answer | $(nm_or sync "${R[sync_bytes]:-?} bytes, ${R[sync_msgs]:-?} chat_id fields, hay_mas ${R[sync_hay_mas]:-?} (the call timed is the first page)") |

## How to reproduce

\`make bench\` (about 15 minutes; it needs nothing running; ports are picked at random).
\`BENCH_QUICK=1 BENCH_RUNS=1 make bench\` is a smoke run of a few minutes with small counts.
Sources: \`scripts/bench.sh\`, \`tests/bench/\` (\`loadgen.c\` the Socket.IO load generator,
\`echo.c\` the bare lws ceiling, \`ref/\` the Node servers, \`seed.sql\`, \`*.pgbench\`,
\`*.lua\` for wrk).
EOF
    } >"$tmp"
    mv "$tmp" "$MD"
}

# ---- main ------------------------------------------------------------------------

# BENCH_REPORT_ONLY=1: rewrite BENCHMARKS.md and the plots from
# build/bench/results.txt of the last run.
report_only() {
    local k v
    while IFS='=' read -r k v; do
        case $k in
            nm_*) NM[${k#nm_}]=$v ;;
            '') ;;
            *) R[$k]=$v ;;
        esac
    done <"$OUT/results.saved"
    cp "$OUT/results.saved" "$OUT/results.txt"
    plots
    report
}

main() {
    if [ "$QUICK" = 1 ]; then
        IDLE_SIZES=${BENCH_IDLE_SIZES:-"500 2000"}; IDLE_MAX=2000; IDLE_TARGET=2000
        FAN_N=2000; FAN_MSGS=5; SUSTAIN=2; HOLD=3; PING_MS=2000
        E2E_RATES="100 500"; E2E_SECS=3; WRK_SECS=3; WRK_CONNS=16; PGB_SECS=3
        CONNECT_TIMEOUT=60; CAP_PROCS=3; CAP_PER=1000
    else
        IDLE_SIZES=${BENCH_IDLE_SIZES:-"1000 10000 19000"}; IDLE_MAX=19000; IDLE_TARGET=10000
        FAN_N=10000; FAN_MSGS=15; SUSTAIN=5; HOLD=3; PING_MS=2000
        E2E_RATES="100 250 500 1000 2000 4000"; E2E_SECS=5; WRK_SECS=6; WRK_CONNS=32; PGB_SECS=6
        CONNECT_TIMEOUT=240; CAP_PROCS=3; CAP_PER=17000
    fi
    NSRC=16
    if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
        report_only
        return
    fi
    ulimit -n "$(ulimit -Hn)" 2>/dev/null
    machine
    if ! build_tools; then
        say "error: the load generator did not build"
        exit 1
    fi
    NODE_OK=1
    if ! node_deps; then
        NODE_OK=0
        NM[node]="Node or its npm packages (tests/bench/package.json) are not available"
        say "Node packages unavailable: the reference is not measured"
    fi

    TMP=$(mktemp -d /tmp/chat-bench.XXXXXX) || exit 1
    chmod 755 "$TMP"
    local started=0
    for _ in 1 2 3; do
        HTTP_PORT=$(pick_port) PG_PORT=$(pick_port) RTD_PORT=$(pick_port)
        say "stack in $TMP (http $HTTP_PORT, pg $PG_PORT, rtd $RTD_PORT)"
        UP=1
        if stack start >"$OUT/raw/stack-start.txt" 2>&1; then
            started=1
            break
        fi
        cat "$OUT/raw/stack-start.txt" >>"$OUT/bench.log"
        stack stop >>"$OUT/bench.log" 2>&1
        UP=0
        # another program may have taken a port between the check and the bind
        grep -qE 'already in use|cannot listen|Address already' "$OUT/raw/stack-start.txt" || break
    done
    if [ "$started" != 1 ]; then
        say "error: the stack did not start (see $OUT/bench.log)"
        tail -n 30 "$OUT/raw/stack-start.txt" >&2
        exit 1
    fi
    NODE_SIO_PORT=$(pick_port) NODE_REST_PORT=$(pick_port) ECHO_PORT=$(pick_port)
    URL=http://127.0.0.1:$HTTP_PORT/chat/api/v1
    PSQL=("$PGBIN/psql" -X -q -h "$TMP/var/run" -p "$PG_PORT" -U chat -d chat)
    HAVE_RTD=0
    [ -x "$CHAT_BIN/chat-rtd" ] && rtd_up && HAVE_RTD=1
    if [ "$HAVE_RTD" != 1 ]; then
        say "chat-rtd not available: its figures are not measured"
        NM[rtd]="chat-rtd is not available at this commit (not built, or it did not answer /chat/rtd/salud)"
    fi

    say "seeding: 30,200 users, chats, 1,000,000 messages"
    local t0=$SECONDS
    if ! "${PSQL[@]}" -f tests/bench/seed.sql >>"$OUT/bench.log" 2>&1; then
        say "error: seeding failed (see $OUT/bench.log)"
        exit 1
    fi
    say "seeded in $((SECONDS - t0)) s"
    CHAT_TEAM0=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'team-0'")
    CHAT_DEPT0=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'dept-0'")
    CHAT_ALL=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'all'")
    CHAT_PAIR1=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'pair-1'")
    CHAT_BIG=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'big'")
    CHAT_SYNC1=$(psqlq -c "SELECT id FROM chats WHERE nombre = 'sync-1'")
    UID_S1=$(psqlq -c "SELECT id FROM usuarios WHERE id_erp = 'b30001'")
    BIG_LO=$(psqlq -c "SELECT min(id) + 1000 FROM mensajes WHERE chat_id = $CHAT_BIG")
    BIG_HI=$(psqlq -c "SELECT max(id) FROM mensajes WHERE chat_id = $CHAT_BIG")
    local okpairs
    okpairs=$(psqlq -c "SELECT count(*) FROM chats WHERE nombre = 'pair-' || (id - $CHAT_PAIR1 + 1)")
    [ "$okpairs" = 8 ] || say "warning: pair chats are not consecutive ids"
    TOK_S1=$(token 30001)
    TOK_R1=$(token 30101)
    [ -n "$TOK_S1" ] || say "warning: no token from chat-cron"

    if [ "$NODE_OK" != 1 ]; then
        NM[rest_node]="Node or its packages are not available"
    fi
    # cheapest and most asked-for first; each later part checks the budget
    want pgbench && budget pgbench && sec_pgbench
    want rest && budget rest && sec_rest
    if want e2e && budget e2e; then
        if [ "$HAVE_RTD" = 1 ]; then sec_e2e; else NM[e2e]="chat-rtd is not available at this commit"; fi
    fi
    want sync && budget sync && sec_sync
    want capacity && budget capacity && sec_capacity
    want fanout && budget fanout && sec_fanout
    want idle && budget idle && sec_idle
    put m_load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
    say "measured in $((SECONDS - T_START)) s; writing $MD"
    local k
    for k in "${!NM[@]}"; do printf 'nm_%s=%s\n' "$k" "${NM[$k]}" >>"$OUT/results.txt"; done
    put m_secs "$((SECONDS - T_START))"
    cp "$OUT/results.txt" "$OUT/results.saved"
    plots
    report
    say "done: $MD, plots in $OUT and $RES"
}

main "$@"
