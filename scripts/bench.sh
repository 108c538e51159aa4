#!/usr/bin/env bash
# bench.sh: `make bench`: builds the load generator and the echo ceiling,
# starts a private stack (temp dir, free ports, durable commits) plus the
# Node reference servers, measures, and has tests/bench/report.mjs write
# BENCHMARKS.md and PNG plots
# (build/bench/, copied to tests/bench/results/). Benchmarks measure; they
# never fail the build: a part that cannot run is written down as "not
# measured: <why>", and the script still exits 0 once BENCHMARKS.md exists.
#
# Environment: BENCH_RUNS (runs per figure, default 3), BENCH_QUICK=1 (small
# counts and short runs, for development), BENCH_ONLY="pgbench rest idle
# fanout storm sweep e2e breakdown sync search capacity" (a subset), BENCH_OUT (default build/bench),
# BENCH_MD (default BENCHMARKS.md), BENCH_BREAKDOWN_RATES (the rates of the
# timed breakdown, default "100 500").
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
BUDGET=${BENCH_BUDGET:-1500}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-pgbench rest idle fanout storm sweep e2e breakdown sync search capacity}
BREAKDOWN_RATES=${BENCH_BREAKDOWN_RATES:-100 500}
CHAT_BIN=${CHAT_BIN:-$ROOT/build/bin}
T_START=$SECONDS

mkdir -p "$OUT/raw" "$RES"
: >"$OUT/bench.log"
say() { printf 'bench: %s\n' "$*" | tee -a "$OUT/bench.log" >&2; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

declare -A NM=()  # section -> "not measured" reason
# What the sections find goes to samples.txt; tests/bench/report.mjs turns it
# into results.txt (medians), the plots and BENCHMARKS.md (format there).
# put KEY VALUE: a single value, kept as it is.
put() { printf '%s=%s\n' "$1" "$2" >>"$OUT/samples.txt"; }
# sample KEY V...: one value per run ("-" for a run that gave nothing, so that
# runs stay aligned for the ratios).
sample() {
    local k=$1 v out=()
    shift
    for v in "$@"; do out+=("${v:--}"); done
    printf '@%s=%s\n' "$k" "${out[*]}" >>"$OUT/samples.txt"
}
# derive KEY OP ARGS...: a figure computed from samples ("ratio A B": run by
# run A / B; "e2e_best").
derive() { local k=$1; shift; printf '%%%s=%s\n' "$k" "$*" >>"$OUT/samples.txt"; }
[ "${BENCH_REPORT_ONLY:-0}" = 1 ] || : >"$OUT/samples.txt"

# kv FILE KEY: the value of KEY=... in a loadgen output.
kv() { sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1; }
# kvd FILE KEY: the same, "-" when absent.
kvd() { local v; v=$(kv "$1" "$2"); printf '%s' "${v:--}"; }
# budget SECTION: false (and the section marked) once the time budget is spent.
budget() {
    if [ $((SECONDS - T_START)) -gt "$BUDGET" ]; then
        NM[$1]="the run's time budget (${BUDGET} s) was spent before this part"
        say "skipping $1: time budget spent"
        return 1
    fi
}

# ---- build ---------------------------------------------------------------------

CFLAGS_B="-O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE"
build_tools() {
    say "building the load generator and the echo server"
    # shellcheck disable=SC2046,SC2086
    cc $CFLAGS_B $(pkg-config --cflags libjwt libpq json-c) -o "$OUT/loadgen" tests/bench/loadgen.c \
        $(pkg-config --libs libjwt libpq) -lpthread -lm || return 1
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
        CHAT_LOG_LEVEL=${STACK_LOG_LEVEL:-warn} CHAT_LOG_TIMING=${STACK_LOG_TIMING:-off} CHAT_LIMITE_ENVIOS=0 CHAT_LIMITE_BUSQUEDAS=0 CHAT_LIMITE_SUBIDAS=0 \
        CHAT_LIMITE_SESIONES=0 bash "$ROOT/scripts/stack.sh" "$1"
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
        BENCH_POOL="$FCGI_W")
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
    put m_fcgi_workers "$FCGI_W"
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
        sample "pgb_c${c}" "${v[@]}"
    done
    say "ceiling: pgbench, the history read, unprepared and prepared"
    local mode
    for mode in extended prepared; do
        local v=()
        for ((run = 1; run <= RUNS; run++)); do
            v+=("$(pgbh_tps "$mode" "$mode-$run")")
        done
        sample "pgbh_$mode" "${v[@]}"
    done
}

# pgbh_tps MODE NAME -> TPS of tests/bench/history.pgbench (4 clients, as
# many as chat-fcgi had workers when it was written), or empty; raw output
# in raw/pgbench-hist-NAME.txt.
pgbh_tps() {
    local out=$OUT/raw/pgbench-hist-$2.txt
    "$PGBIN/pgbench" -h "$TMP/var/run" -p "$PG_PORT" -U chat -n -M "$1" -c 4 -j 2 \
        -T "$PGB_SECS" -D chat="$CHAT_BIG" -D uid="$UID_S1" -D erp=b30001 \
        -D lo="$BIG_LO" -D hi="$BIG_HI" -f tests/bench/history.pgbench chat >"$out" 2>&1
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1
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

# node_nginx_start NODE_PORT -> NGXN_PID, NGXN_PORT: an nginx configured
# like the stack's (2 workers, access log in the same format) proxying
# /chat/api/v1/ to the Node reference over kept-alive connections, so that
# both servers pay for the same proxy hop.
node_nginx_start() {
    local d=$TMP/ngx-node
    mkdir -p "$d/tmp"
    NGXN_PORT=$(pick_port)
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat >"$d/nginx.conf" <<NGXCONF
$user_line
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    log_format chat_timing '\$remote_addr [\$time_iso8601] "\$request" \$status \$body_bytes_sent '
                           'rt=\$request_time urt=\$upstream_response_time';
    access_log $d/access.log chat_timing;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    upstream node_ref {
        server 127.0.0.1:$1;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGXN_PORT;
        location /chat/api/v1/ {
            proxy_pass http://node_ref;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
        }
    }
}
NGXCONF
    bg "$OUT/raw/nginx-node.log" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;'
    NGXN_PID=$BGPID
    local i
    for ((i = 0; i < 50; i++)); do
        port_free "$NGXN_PORT" || return 0
        sleep 0.1
    done
    return 1
}

sec_rest() {
    say "REST: wrk, send and history, ours (nginx + FastCGI) and Node (direct and behind nginx)"
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
    local gp=0 gurl=""
    if [ "$np" != 0 ]; then
        if node_nginx_start "$NODE_REST_PORT"; then
            gp=$NGXN_PID gurl=http://127.0.0.1:$NGXN_PORT/chat/api/v1
        else
            NM[rest_node_nginx]="the nginx in front of the Node reference did not start (build/bench/raw/nginx-node.log)"
        fi
    fi
    local run a b c d s_o=() s_n=() s_g=() h_o=() h_n=() h_g=() h_p=()
    export BENCH_TOKEN=$TOK_S1 BENCH_LO=$BIG_LO BENCH_HI=$BIG_HI
    for ((run = 1; run <= RUNS; run++)); do
        if [ "$have_send" = 1 ]; then
            a=$(wrk_rps "send-ours-$run" "$URL/chats/$CHAT_PAIR1/mensajes" tests/bench/send.lua)
            b=-
            [ "$np" != 0 ] && b=$(wrk_rps "send-node-$run" "$nurl/chats/$CHAT_PAIR1/mensajes" tests/bench/send.lua)
            c=-
            [ "$gp" != 0 ] && c=$(wrk_rps "send-node-nginx-$run" "$gurl/chats/$CHAT_PAIR1/mensajes" tests/bench/send.lua)
            s_o+=("$a"); s_n+=("$b"); s_g+=("$c")
        fi
        if [ "$have_hist" = 1 ]; then
            a=$(wrk_rps "hist-ours-$run" "$URL/chats/$CHAT_BIG/mensajes" tests/bench/history.lua)
            b=-
            [ "$np" != 0 ] && b=$(wrk_rps "hist-node-$run" "$nurl/chats/$CHAT_BIG/mensajes" tests/bench/history.lua)
            c=-
            [ "$gp" != 0 ] && c=$(wrk_rps "hist-node-nginx-$run" "$gurl/chats/$CHAT_BIG/mensajes" tests/bench/history.lua)
            # the database alone, right after ours: the machine's speed
            # moves within minutes, so the ratio is taken round by round
            d=$(pgbh_tps prepared "paired-$run")
            h_o+=("$a"); h_n+=("$b"); h_g+=("$c"); h_p+=("$d")
        fi
    done
    [ "$gp" != 0 ] && stop_pid "$gp"
    [ "$np" != 0 ] && stop_pid "$np"
    if [ "$have_send" = 1 ]; then
        sample rest_send_ours "${s_o[@]}"
        sample rest_send_node "${s_n[@]}"
        derive rest_send_ratio ratio rest_send_ours rest_send_node
        sample rest_send_nodeng "${s_g[@]}"
        derive rest_send_ratio_ng ratio rest_send_ours rest_send_nodeng
    fi
    if [ "$have_hist" = 1 ]; then
        sample rest_hist_ours "${h_o[@]}"
        sample rest_hist_node "${h_n[@]}"
        derive rest_hist_ratio ratio rest_hist_ours rest_hist_node
        sample rest_hist_nodeng "${h_g[@]}"
        derive rest_hist_ratio_ng ratio rest_hist_ours rest_hist_nodeng
        sample rest_hist_pgb "${h_p[@]}"
        derive rest_hist_frac_pgb ratio rest_hist_ours rest_hist_pgb
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
        sample "idle_$k" ${acc[$k]}
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
            acc[${srv}_dps]+=" $(kvd "$f" "r${run}_sustain_dps")"
        done
    done
    local k
    for k in "${!acc[@]}"; do
        # shellcheck disable=SC2086
        sample "fan_$k" ${acc[$k]}
    done
    # ratios round by round
    derive fan_dps_ratio ratio fan_rtd_dps fan_node_dps
    derive fan_dps_frac_echo ratio fan_rtd_dps fan_echo_dps
    [ "$HAVE_RTD" = 1 ] && rtd_restart
}

# storm_srv SERVER: N sockets connected, the server restarted under them,
# every socket back (stock client backoff) and one message to all; output
# in raw/storm-SERVER.txt.
storm_srv() {
    local srv=$1 n=${2:-$FAN_N} out=$OUT/raw/storm-$1.txt port pid='' ready=$OUT/raw/storm-$1.ready i
    rm -f "$ready"
    case $srv in
        rtd) rtd_restart || return 1; port=$RTD_PORT ;;
        node) start_node sio-storm sio.mjs "$NODE_SIO_PORT" || return 1; port=$NODE_SIO_PORT pid=$NODE_PID ;;
    esac
    sleep 1
    "$OUT/loadgen" --mode storm --port "$port" --users-from 1 --count "$n" --inflight 256 \
        --src-ips "$NSRC" --connect-timeout "$CONNECT_TIMEOUT" --ready-file "$ready" --storm-timeout 120 \
        --secret-file "$TMP/var/jwt_secret" --db "host=$TMP/var/run port=$PG_PORT dbname=chat user=chat" \
        --room "$CHAT_ALL:$((n < ALL_N ? n : ALL_N))" >"$out" 2>>"$OUT/raw/loadgen.err" &
    local lg=$!
    for ((i = 0; i < (CONNECT_TIMEOUT + 30) * 10; i++)); do
        [ -e "$ready" ] && break
        kill -0 "$lg" 2>/dev/null || break
        sleep 0.1
    done
    if [ -e "$ready" ]; then
        # what a deploy or a crash does: the server goes away and comes back
        case $srv in
            rtd) rtd_restart || say "storm: rtd did not come back" ;;
            node)
                stop_pid "$pid"
                start_node sio-storm2 sio.mjs "$NODE_SIO_PORT" || say "storm: Node did not come back"
                pid=$NODE_PID
                ;;
        esac
    fi
    wait "$lg"
    [ -n "$pid" ] && stop_pid "$pid"
    return 0
}

# A room of 10 while N sockets are connected, N stepping up to the most
# this machine holds: delivery should cost what the room costs, not what
# the server holds. rtd and Node, each N once (SWEEP_MSGS messages), both
# pinging at the shipped Engine.IO interval (SWEEP_PING_MS, 25 s: the
# 2 s of the other sections is 12.5 times the ping traffic of a real
# deployment, 9,500 pings and pongs a second at 19,000 sockets); then the
# largest N again with the other sections' 2 s pings (keys sweep2s_*).
sweep_one() { # SRV PORT N KEY
    local f=$OUT/raw/$4.txt
    "$OUT/loadgen" --mode fanout --port "$2" --users-from 1 --count "$3" --msgs "$SWEEP_MSGS" \
        --rounds 1 --sustain 0 --inflight 256 --src-ips "$NSRC" --connect-timeout "$CONNECT_TIMEOUT" \
        --secret-file "$TMP/var/jwt_secret" --db "host=$TMP/var/run port=$PG_PORT dbname=chat user=chat" \
        --room "$CHAT_TEAM0:10" >"$f" 2>>"$OUT/raw/loadgen.err"
    if [ "$(kv "$f" connected)" = "$3" ]; then
        put "$4_p50" "$(kvd "$f" r0_room0_each_p50_ms)"
        put "$4_p99" "$(kvd "$f" r0_room0_each_p99_ms)"
    else
        put "$4_p50" "-"
        put "$4_p99" "-"
        say "sweep $1: $(kv "$f" connected) of $3 connected"
    fi
}

sec_sweep() {
    local base_ping=$PING_MS top=${SWEEP_NS##* }
    say "room of 10 while N sockets are connected: N = $SWEEP_NS (pings every $SWEEP_PING_MS ms), then $top (every $base_ping ms), rtd / Node"
    local srv n port pid ping
    for srv in rtd node; do
        [ "$srv" = rtd ] && [ "$HAVE_RTD" != 1 ] && continue
        [ "$srv" = node ] && [ "$NODE_OK" != 1 ] && continue
        for ping in "$SWEEP_PING_MS" "$base_ping"; do
            [ "$ping" = "$base_ping" ] && [ "$base_ping" = "$SWEEP_PING_MS" ] && continue
            # stack() and start_node read PING_MS when they start a server
            PING_MS=$ping
            pid=''
            case $srv in
                rtd) rtd_restart || continue; port=$RTD_PORT ;;
                node) start_node "sio-sweep-$ping" sio.mjs "$NODE_SIO_PORT" || continue; port=$NODE_SIO_PORT pid=$NODE_PID ;;
            esac
            if [ "$ping" = "$SWEEP_PING_MS" ]; then
                for n in $SWEEP_NS; do sweep_one "$srv" "$port" "$n" "sweep_${srv}_${n}"; done
            else
                sweep_one "$srv" "$port" "$top" "sweep2s_${srv}"
            fi
            [ -n "$pid" ] && stop_pid "$pid"
        done
    done
    PING_MS=$base_ping
    # the sections after this one expect rtd at the bench's ping interval
    [ "$HAVE_RTD" = 1 ] && { rtd_restart || say "sweep: rtd did not come back"; }
    put sweep_ns "$SWEEP_NS"
    put sweep_msgs "$SWEEP_MSGS"
    put sweep_ping_ms "$SWEEP_PING_MS"
    put sweep2s_ping_ms "$base_ping"
}

# The storm at FAN_N sockets (keys storm_*), then at the most one process
# holds here, STORM_MAX (keys stormmax_*; the message is timed to the
# members of the chat `all` among them).
sec_storm() {
    storm_n "$FAN_N" storm
    if [ "$STORM_MAX" -gt "$FAN_N" ] 2>/dev/null && budget storm; then
        put storm_max_n "$STORM_MAX"
        put storm_all_n "$((STORM_MAX < ALL_N ? STORM_MAX : ALL_N))"
        storm_n "$STORM_MAX" stormmax
    fi
    [ "$HAVE_RTD" = 1 ] && rtd_restart
}

# storm_n N KEY: the storm of N sockets, RUNS times per server.
storm_n() {
    local n=$1 key=$2 srv f
    say "reconnect storm: $n sockets, the server restarted, rtd / Node"
    for srv in rtd node; do
        [ "$srv" = rtd ] && [ "$HAVE_RTD" != 1 ] && continue
        [ "$srv" = node ] && [ "$NODE_OK" != 1 ] && continue
        local back=() recv=() msg=() rate=()
        for ((run = 1; run <= RUNS; run++)); do
            storm_srv "$srv" "$n"
            f=$OUT/raw/storm-$srv.txt
            cp "$f" "$OUT/raw/$key-$srv-$run.txt" 2>/dev/null
            if [ "$(kv "$f" storm_back)" = 1 ]; then
                back+=("$(kv "$f" storm_back_s)")
                recv+=("$(kvd "$f" storm_all_receiving_s)")
                msg+=("$(kvd "$f" storm_msg_ms)")
                rate+=("$(awk -v n="$(kv "$f" storm_n)" -v s="$(kv "$f" storm_back_s)" 'BEGIN { if (s > 0) printf "%.0f", n / s }')")
            else
                back+=(-); recv+=(-); msg+=(-); rate+=(-)
                say "storm $srv run $run: not every socket came back ($(kv "$f" storm_connected) of $(kv "$f" storm_n))"
            fi
        done
        sample "${key}_${srv}_back_s" "${back[@]}"
        sample "${key}_${srv}_recv_s" "${recv[@]}"
        sample "${key}_${srv}_msg_ms" "${msg[@]}"
        sample "${key}_${srv}_rate" "${rate[@]}"
    done
}

# e2e_load LOADGEN-ARGS...: the end-to-end load (32 senders POSTing through
# nginx in the 8 pair chats, their other members connected to rtd through
# nginx); the caller adds --secs and the --rate steps.
e2e_load() {
    "$OUT/loadgen" --mode e2e --port "$HTTP_PORT" --path /chat/socket.io/ \
        --secret-file "$TMP/var/jwt_secret" --users-from 30101 --count 8 \
        --http-port "$HTTP_PORT" --senders 32 --pairs 8 --sender-from 30001 --chat-from "$CHAT_PAIR1" "$@"
}

# e2e_warm: 3 s of that load, not measured. A chat-fcgi worker's first
# requests open its PostgreSQL backend's caches and prepare its statements,
# and at these rates those slow first requests queue the others behind them
# (by hand: p99 233 ms in the first 5 s after a restart, 13-15 ms after).
e2e_warm() {
    e2e_load --secs 3 --rate 100 >/dev/null 2>>"$OUT/raw/loadgen.err"
}

sec_e2e() {
    say "end to end: POST through nginx to the other member's socket"
    e2e_warm
    local run f rargs=() r
    for r in $E2E_RATES; do rargs+=(--rate "$r"); done
    for ((run = 1; run <= RUNS; run++)); do
        f=$OUT/raw/e2e-$run.txt
        e2e_load --secs "$E2E_SECS" "${rargs[@]}" >"$f" 2>>"$OUT/raw/loadgen.err"
    done
    # per target rate, one value per run ("-" where a run did not reach it)
    local i=0 matched
    for r in $E2E_RATES; do
        local a50=() a99=() aa=() alost=() h50=() h99=()
        matched=0
        for ((run = 1; run <= RUNS; run++)); do
            f=$OUT/raw/e2e-$run.txt
            if [ "$(kv "$f" "rate${i}_target")" != "$r" ]; then
                a50+=(-); a99+=(-); aa+=(-); alost+=(-); h50+=(-); h99+=(-)
                continue
            fi
            matched=1
            a50+=("$(kv "$f" "rate${i}_e2e_p50_ms")")
            a99+=("$(kv "$f" "rate${i}_e2e_p99_ms")")
            aa+=("$(kv "$f" "rate${i}_achieved")")
            alost+=("$(kv "$f" "rate${i}_lost")")
            h50+=("$(kv "$f" "rate${i}_http_p50_ms")")
            h99+=("$(kv "$f" "rate${i}_http_p99_ms")")
        done
        if [ "$matched" = 1 ]; then
            sample "e2e_${r}_p50" "${a50[@]}"
            sample "e2e_${r}_p99" "${a99[@]}"
            sample "e2e_${r}_ach" "${aa[@]}"
            sample "e2e_${r}_lost" "${alost[@]}"
            sample "e2e_${r}_http50" "${h50[@]}"
            sample "e2e_${r}_http99" "${h99[@]}"
        fi
        i=$((i + 1))
    done
    # the highest rate held with p99 under 50 ms, per run
    derive e2e_best e2e_best
}

# fcgi_restart: chat-fcgi stopped and started again by the stack with the
# current STACK_LOG_LEVEL / STACK_LOG_TIMING; true once /salud answers.
fcgi_restart() {
    local p i
    p=$(head -n 1 "$TMP/var/run/chat-fcgi.pid" 2>/dev/null)
    [ -n "$p" ] && stop_pid "$p"
    stack start >>"$OUT/bench.log" 2>&1 || return 1
    for ((i = 0; i < 100; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/salud")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# Where a POST's time goes: chat-fcgi restarted with log_timing = on, the
# e2e load at 100 messages/s for a few seconds, its request lines joined
# to nginx's access log (tests/bench/breakdown.mjs); then chat-fcgi as
# before. One run: the figures are per request, p50 and p99 over them.
sec_breakdown() {
    say "breakdown: a POST's time by part, log_timing = on, at $BREAKDOWN_RATES messages/s"
    local flog=$TMP/var/log/chat-fcgi.log nlog=$TMP/var/nginx/access.log f rate pre
    if ! STACK_LOG_LEVEL=info STACK_LOG_TIMING=on fcgi_restart; then
        NM[breakdown]="chat-fcgi did not come back with log_timing on"
        fcgi_restart
        return
    fi
    e2e_warm
    for rate in $BREAKDOWN_RATES; do
        # the first rate keeps the plain bd_ keys; the others bd<rate>_
        if [ "$rate" = "${BREAKDOWN_RATES%% *}" ]; then pre=bd_; else pre=bd${rate}_; fi
        local fo no
        fo=$(stat -c %s "$flog" 2>/dev/null || echo 0)
        no=$(stat -c %s "$nlog" 2>/dev/null || echo 0)
        e2e_load --secs "$E2E_SECS" --rate "$rate" >"$OUT/raw/breakdown-e2e-$rate.txt" 2>>"$OUT/raw/loadgen.err"
        tail -c +"$((fo + 1))" "$flog" >"$OUT/raw/breakdown-fcgi-$rate.log"
        tail -c +"$((no + 1))" "$nlog" >"$OUT/raw/breakdown-nginx-$rate.log"
        f=$OUT/raw/breakdown-$rate.txt
        node tests/bench/breakdown.mjs "$OUT/raw/breakdown-fcgi-$rate.log" "$OUT/raw/breakdown-nginx-$rate.log" >"$f" 2>>"$OUT/bench.log"
        if [ "$(kv "$f" requests)" = "" ] || [ "$(kv "$f" requests)" = 0 ]; then
            [ "$pre" = bd_ ] && NM[breakdown]="no timed POST in chat-fcgi's log"
            continue
        fi
        local line
        while IFS= read -r line; do
            [ -n "$line" ] && put "${pre}${line%%=*}" "${line#*=}"
        done <"$f"
        # the same POSTs to the other member's socket, from the load generator
        put "${pre}e2e_p50" "$(kv "$OUT/raw/breakdown-e2e-$rate.txt" rate0_e2e_p50_ms)"
        put "${pre}e2e_p99" "$(kv "$OUT/raw/breakdown-e2e-$rate.txt" rate0_e2e_p99_ms)"
    done
    fcgi_restart || say "warning: chat-fcgi did not come back after the breakdown"
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
    sample sync_ms "${v[@]}"
    put sync_bytes "$(stat -c %s "$body")"
    put sync_msgs "$(grep -o '"chat_id"' "$body" | wc -l)"
    put sync_hay_mas "$(grep -q '"hay_mas":true' "$body" && echo true || echo false)"
}

# search_run NAME N QUERY...: N GET /buscar calls as b30001 (one curl, kept
# alive), QUERY picked round-robin (a "%R" in it becomes a random message
# number of the big chat, so rare-word searches do not repeat); puts
# search_NAME_p50 / _p99 (ms) and the hits of the last answer.
search_run() {
    local name=$1 n=$2 cfg=$OUT/raw/search-$1.curl i q body=$OUT/raw/search-$1.json
    shift 2
    local qs=("$@")
    : >"$cfg"
    for ((i = 0; i < n; i++)); do
        q=${qs[$((i % ${#qs[@]}))]}
        q=${q//%R/$((RANDOM * 30 % 1000000 + 1))}
        printf 'url = "%s/buscar?%s"\nheader = "Authorization: Bearer %s"\noutput = "%s"\nwrite-out = "%%{http_code} %%{time_total}\\n"\nnext\n' \
            "$URL" "$q" "$TOK_S1" "$body" >>"$cfg"
    done
    local out
    out=$(curl -s -K "$cfg" 2>/dev/null)
    local bad
    bad=$(printf '%s\n' "$out" | grep -vc '^200 ')
    if [ "$bad" != 0 ]; then
        NM[search]="GET /buscar answered $(printf '%s\n' "$out" | grep -v '^200 ' | head -n 1 | cut -d' ' -f1) at this commit"
        return 1
    fi
    printf '%s\n' "$out" | awk '{ printf "%.2f\n", $2 * 1000 }' | sort -g >"$OUT/raw/search-$name.ms"
    put "search_${name}_p50" "$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) * 0.50)] }' "$OUT/raw/search-$name.ms")"
    put "search_${name}_p99" "$(awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print a[i] }' "$OUT/raw/search-$name.ms")"
    put "search_${name}_n" "$n"
    put "search_${name}_hits" "$(grep -o '"mensaje":{' "$body" | wc -l)"
}

sec_search() {
    say "search over the 1,000,000-message chat (GET /buscar as a member of it)"
    local n=200
    [ "$QUICK" = 1 ] && n=40
    put search_load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
    # every message of the big chat holds "prueba"; each number is in one
    search_run common "$n" 'q=prueba&limite=20' || return
    search_run common_date "$n" 'q=prueba&orden=fecha&limite=20' || return
    search_run rare "$n" 'q=%R&limite=20' || return
    search_run phrase "$n" 'q=%22historial+largo%22+%R&limite=20' || return
    search_run none "$n" 'q=zanahoria&limite=20' || return
    put search_load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- report ----------------------------------------------------------------------

# report: results.txt, the plots and BENCHMARKS.md from samples.txt, by
# tests/bench/report.mjs (the parameters of this run go in the environment).
report() {
    env BENCH_R_OUT="$OUT" BENCH_R_MD="$MD" BENCH_R_RES="$RES" BENCH_R_RUNS="$RUNS" BENCH_R_QUICK="$QUICK" \
        BENCH_R_IDLE_SIZES="$IDLE_SIZES" BENCH_R_IDLE_MAX="$IDLE_MAX" BENCH_R_IDLE_TARGET="$IDLE_TARGET" \
        BENCH_R_FAN_N="$FAN_N" BENCH_R_FAN_MSGS="$FAN_MSGS" BENCH_R_SUSTAIN="$SUSTAIN" BENCH_R_HOLD="$HOLD" \
        BENCH_R_PING_MS="$PING_MS" BENCH_R_E2E_RATES="$E2E_RATES" BENCH_R_E2E_SECS="$E2E_SECS" \
        BENCH_R_WRK_SECS="$WRK_SECS" BENCH_R_WRK_CONNS="$WRK_CONNS" BENCH_R_NSRC="$NSRC" \
        BENCH_R_CONNECT_TIMEOUT="$CONNECT_TIMEOUT" BENCH_R_CAP_PROCS="$CAP_PROCS" \
        node "$ROOT/tests/bench/report.mjs"
}

# ---- main ------------------------------------------------------------------------

main() {
    if [ "$QUICK" = 1 ]; then
        IDLE_SIZES=${BENCH_IDLE_SIZES:-"500 2000"}; IDLE_MAX=2000; IDLE_TARGET=2000
        FAN_N=2000; FAN_MSGS=5; SUSTAIN=2; HOLD=3; PING_MS=2000; SWEEP_NS="100 1000 2000"; SWEEP_MSGS=20
        STORM_MAX=${BENCH_STORM_MAX:-3000}
        E2E_RATES="100 500"; E2E_SECS=3; WRK_SECS=3; WRK_CONNS=16; PGB_SECS=3
        CONNECT_TIMEOUT=60; CAP_PROCS=3; CAP_PER=1000
    else
        IDLE_SIZES=${BENCH_IDLE_SIZES:-"1000 10000 19000"}; IDLE_MAX=19000; IDLE_TARGET=10000
        FAN_N=10000; FAN_MSGS=15; SUSTAIN=5; HOLD=3; PING_MS=2000
        SWEEP_NS=${BENCH_SWEEP_NS:-"100 1000 5000 10000 19000"}; SWEEP_MSGS=50
        # the storm again at the most sockets one process holds here (0: not run)
        STORM_MAX=${BENCH_STORM_MAX:-19000}
        E2E_RATES="100 250 500 1000 2000 4000"; E2E_SECS=5; WRK_SECS=6; WRK_CONNS=32; PGB_SECS=6
        CONNECT_TIMEOUT=240; CAP_PROCS=3; CAP_PER=17000
    fi
    NSRC=16
    # the room-of-10 sweep pings at the shipped interval (etc/chat.conf)
    SWEEP_PING_MS=${BENCH_SWEEP_PING_MS:-25000}
    # chat-fcgi's default worker count (fcgi_workers = 0: 4 per core, 4 to
    # 64); the Node reference gets a pool of as many connections
    FCGI_W=$(($(nproc) * 4))
    [ "$FCGI_W" -lt 4 ] && FCGI_W=4
    [ "$FCGI_W" -gt 64 ] && FCGI_W=64
    # BENCH_REPORT_ONLY=1: rewrite BENCHMARKS.md and the plots from
    # build/bench/samples.txt of the last run.
    if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
        report || exit 1
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
    ALL_N=$(psqlq -c "SELECT count(*) FROM usuarios_chat WHERE chat_id = $CHAT_ALL")
    [ -n "$ALL_N" ] || ALL_N=$FAN_N
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
    if want breakdown && budget breakdown; then
        if [ "$HAVE_RTD" = 1 ]; then sec_breakdown; else NM[breakdown]="chat-rtd is not available at this commit"; fi
    fi
    want sync && budget sync && sec_sync
    want search && budget search && sec_search
    want capacity && budget capacity && sec_capacity
    want fanout && budget fanout && sec_fanout
    want storm && budget storm && sec_storm
    want sweep && budget sweep && sec_sweep
    want idle && budget idle && sec_idle
    put m_load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "${BENCH_HOLD:-0}" = 1 ]; then
        # for profiling by hand against the seeded stack (perf, wrk, psql)
        {
            echo "export URL=$URL TOK=$TOK_S1 CHAT_BIG=$CHAT_BIG CHAT_PAIR1=$CHAT_PAIR1"
            echo "export BENCH_TOKEN=$TOK_S1 BENCH_LO=$BIG_LO BENCH_HI=$BIG_HI UID_S1=$UID_S1"
            echo "export PGHOST=$TMP/var/run PGPORT=$PG_PORT PGUSER=chat PGDATABASE=chat"
            echo "export CHAT_VAR=$TMP/var HTTP_PORT=$HTTP_PORT RTD_PORT=$RTD_PORT CHAT_ALL=$CHAT_ALL"
        } >"$OUT/hold.env"
        say "holding the stack: source $OUT/hold.env; remove that file to go on"
        while [ -e "$OUT/hold.env" ]; do sleep 2; done
    fi
    say "measured in $((SECONDS - T_START)) s; writing $MD"
    local k
    for k in "${!NM[@]}"; do printf 'nm_%s=%s\n' "$k" "${NM[$k]}" >>"$OUT/samples.txt"; done
    put m_secs "$((SECONDS - T_START))"
    if ! report; then
        say "error: tests/bench/report.mjs did not write the report"
        exit 1
    fi
    say "done: $MD, plots in $OUT and $RES"
}

main "$@"
