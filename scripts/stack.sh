#!/usr/bin/env bash
# stack.sh start|stop|run|status: the local stack (PostgreSQL, chat-fcgi,
# chat-rtd, chat-cron loops, nginx or Apache), all of its state under $CHAT_VAR.
#
# Environment: CHAT_VAR (default <project>/var), CHAT_BIN (default
# <project>/build/bin), CHAT_HTTP_PORT (8080), CHAT_PG_PORT (5433),
# CHAT_RTD_PORT (8081), CHAT_PG_FAST=1 (fsync=off, for tests), CHAT_FRONT
# (nginx, the default, or apache: the web server in front). Every other
# CHAT_<KEY> is inherited by the programs, which read it themselves.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin

CHAT_VAR=${CHAT_VAR:-$ROOT/var}
case $CHAT_VAR in /*) ;; *) CHAT_VAR=$PWD/$CHAT_VAR ;; esac
CHAT_VAR=${CHAT_VAR%/}
CHAT_BIN=${CHAT_BIN:-$ROOT/build/bin}
case $CHAT_BIN in /*) ;; *) CHAT_BIN=$PWD/$CHAT_BIN ;; esac
CHAT_HTTP_PORT=${CHAT_HTTP_PORT:-8080}
CHAT_PG_PORT=${CHAT_PG_PORT:-5433}
CHAT_RTD_PORT=${CHAT_RTD_PORT:-8081}
export CHAT_HTTP_PORT CHAT_RTD_PORT

V=$CHAT_VAR
RUN=$V/run
LOG=$V/log
NGX=$V/nginx
APX=$V/apache
CHAT_FRONT=${CHAT_FRONT:-nginx}
CONF=$V/chat.conf
PGDATA=$V/pg
URL_BASE=http://127.0.0.1:$CHAT_HTTP_PORT

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as the postgres user (initdb and pg_ctl refuse root); as a
# normal user the cluster simply belongs to that user.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

check_settings() {
    case $V in
        *[[:space:]\'\"\;\$\\]*) die "CHAT_VAR must not contain spaces, quotes, ';', '\$' or '\\': $V" ;;
    esac
    case $CHAT_FRONT in
        nginx | apache) ;;
        *) die "CHAT_FRONT must be nginx or apache, not '$CHAT_FRONT'" ;;
    esac
    local p
    for p in CHAT_HTTP_PORT CHAT_PG_PORT CHAT_RTD_PORT; do
        case ${!p} in
            '' | *[!0-9]*) die "$p must be a port number, not '${!p}'" ;;
        esac
        if [ "${!p}" -lt 1 ] || [ "${!p}" -gt 65535 ]; then die "$p out of range: ${!p}"; fi
    done
    if [ "$CHAT_HTTP_PORT" = "$CHAT_PG_PORT" ] || [ "$CHAT_HTTP_PORT" = "$CHAT_RTD_PORT" ] ||
        [ "$CHAT_PG_PORT" = "$CHAT_RTD_PORT" ]; then
        die "CHAT_HTTP_PORT, CHAT_PG_PORT and CHAT_RTD_PORT must differ"
    fi
}

# ---- processes -------------------------------------------------------------

# start_time PID: the process's start time in clock ticks since boot; with
# the pid it names one process for good (a pid alone may be reused).
start_time() {
    sed -n 's/^.*) //p' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# pid_of NAME PIDFILE: prints the pid stored in PIDFILE (first line) when that
# process is alive and is the one recorded: same start time when the file has
# it on its second line, else a command line that mentions NAME.
pid_of() {
    local name=$1 file=$2 pid='' st=''
    [ -f "$file" ] || return 1
    { read -r pid && read -r st; } <"$file" 2>/dev/null || true
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    alive "$pid" || return 1
    if [ -n "$st" ]; then
        [ "$(start_time "$pid")" = "$st" ] || return 1
    else
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name" || return 1
    fi
    echo "$pid"
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
    local st
    st=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# descendants PID: every pid below PID (workers of a pre-forking server).
descendants() {
    local kid
    for kid in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$kid"
        descendants "$kid"
    done
}

# stop_proc LABEL NAME PIDFILE SIGNAL: signals the process, waits up to 10 s
# for it and its children to be gone, then kills what is left.
stop_proc() {
    local label=$1 name=$2 file=$3 sig=$4 pid kids p i left
    if ! pid=$(pid_of "$name" "$file"); then
        rm -f "$file"
        return 0
    fi
    kids=$(descendants "$pid")
    say "stopping $label (pid $pid)"
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        left=
        for p in $pid $kids; do alive "$p" && left="$left $p"; done
        [ -z "$left" ] && break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        say "$label did not stop within 10 s; killing$left"
        # shellcheck disable=SC2086 # a list of pids
        kill -KILL $left 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            left=
            for p in $pid $kids; do alive "$p" && left="$left $p"; done
            [ -z "$left" ] && break
            sleep 0.1
        done
        [ -z "$left" ] || say "warning: still alive after KILL:$left"
    fi
    rm -f "$file"
}

# start_bg LABEL LOGFILE PIDFILE CMD...: starts CMD detached from the
# terminal (own session), stdout/stderr appended to LOGFILE.
start_bg() {
    local label=$1 logf=$2 pidf=$3
    shift 3
    printf '\n==== %s start %s\n' "$(date '+%F %T')" "$label" >>"$logf"
    CHAT_CONFIG=$CONF setsid "$@" </dev/null >>"$logf" 2>&1 &
    printf '%s\n%s\n' "$!" "$(start_time "$!")" >"$pidf"
    STARTED+=("$label")
    say "started $label (pid $!)"
}

# ---- ports -----------------------------------------------------------------

port_owner() {
    ss -ltnpH "sport = :$1" 2>/dev/null | head -n 3 || true
}

port_busy() { [ -n "$(ss -ltnH "sport = :$1" 2>/dev/null || true)" ]; }

refuse_port() {
    local what=$1 var=$2 port=$3
    die "port $port ($var, for $what) is already in use by something else:
$(port_owner "$port")
  choose another port, e.g. $var=$((port + 100)) make start"
}

# ---- PostgreSQL --------------------------------------------------------------

pg_home() {
    local h
    h=$(printf '%s' "$V" | sha256sum | cut -c1-12)
    echo "/var/tmp/chat-pg-$h"
}

# The data directory as postgres must name it: the symlink's target when the
# cluster lives outside $CHAT_VAR (postgres cannot pass through $CHAT_VAR).
pg_datadir() {
    if [ -L "$PGDATA" ]; then readlink "$PGDATA"; else echo "$PGDATA"; fi
}

pg_running() {
    [ -f "$PGDATA/postmaster.pid" ] || return 1
    as_pg "$PGBIN/pg_ctl" -D "$(pg_datadir)" status >/dev/null 2>&1
}

# Where the socket and log really live (elsewhere when postgres cannot
# traverse $CHAT_VAR; symlinks in $CHAT_VAR point there).
PG_SOCKDIR=$RUN
PG_LOG=$LOG/postgres.log

pg_layout() {
    if [ -L "$PGDATA" ] || { is_root && ! runuser -u postgres -- test -x "$V" 2>/dev/null; }; then
        local home
        home=$(pg_home)
        if [ -L "$PGDATA" ]; then
            home=$(dirname "$(readlink "$PGDATA")")
        fi
        PG_SOCKDIR=$home/run
        PG_LOG=$home/postgres.log
        PG_HOME=$home
    else
        PG_HOME=
    fi
}

pg_prepare() {
    pg_layout
    if [ -n "$PG_HOME" ]; then
        if [ ! -L "$PGDATA" ]; then
            [ -e "$PGDATA" ] && die "$PGDATA exists but postgres cannot reach it (no search permission on $V for user postgres)"
            say "postgres cannot traverse $V: cluster goes to $PG_HOME/data (symlinked from $PGDATA)"
            ln -s "$PG_HOME/data" "$PGDATA"
        fi
        mkdir -p "$PG_HOME/data" "$PG_HOME/run"
        chmod 755 "$PG_HOME" "$PG_HOME/run"
        touch "$PG_LOG"
        chown postgres:postgres "$PG_HOME/run" "$PG_LOG"
        chown postgres:postgres "$PG_HOME/data"
        chmod 700 "$PG_HOME/data"
        ln -sfn "$PG_LOG" "$LOG/postgres.log"
    else
        mkdir -p "$PGDATA"
        touch "$PG_LOG"
        if is_root; then
            chown postgres:postgres "$PGDATA" "$PG_LOG" "$RUN"
        fi
        chmod 700 "$PGDATA"
    fi
    chmod 755 "$PG_SOCKDIR"
}

pg_start() {
    pg_prepare
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        say "initdb $PGDATA"
        if ! as_pg "$PGBIN/initdb" -D "$(pg_datadir)" -U chat --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$LOG/initdb.log" 2>&1; then
            cat "$LOG/initdb.log" >&2
            die "initdb failed"
        fi
    fi
    if pg_running; then
        say "postgres already running"
    else
        if port_busy "$CHAT_PG_PORT"; then
            refuse_port PostgreSQL CHAT_PG_PORT "$CHAT_PG_PORT"
        fi
        local opts="-c listen_addresses=127.0.0.1 -p $CHAT_PG_PORT -k $PG_SOCKDIR"
        if [ "${CHAT_PG_FAST:-0}" = 1 ]; then
            opts="$opts -c fsync=off -c full_page_writes=off"
        fi
        if ! as_pg "$PGBIN/pg_ctl" -D "$(pg_datadir)" -w -t 60 -l "$PG_LOG" -o "$opts" start >/dev/null; then
            tail -n 20 "$PG_LOG" >&2 || true
            die "PostgreSQL did not start (log: $LOG/postgres.log)"
        fi
        STARTED+=(postgres)
        say "started postgres (port $CHAT_PG_PORT)"
    fi
    if [ "$PG_SOCKDIR" != "$RUN" ]; then
        ln -sfn "$PG_SOCKDIR/.s.PGSQL.$CHAT_PG_PORT" "$RUN/.s.PGSQL.$CHAT_PG_PORT"
    fi
    local psql=("$PGBIN/psql" -X -q -h "$RUN" -p "$CHAT_PG_PORT" -U chat)
    if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'chat'")" != 1 ]; then
        "${psql[@]}" -d postgres -c 'CREATE DATABASE chat OWNER chat' >/dev/null
        say "created database chat"
    fi
}

pg_stop() {
    if pg_running; then
        say "stopping postgres"
        if ! as_pg "$PGBIN/pg_ctl" -D "$(pg_datadir)" -m fast -w -t 60 stop >/dev/null; then
            say "warning: pg_ctl stop failed"
            return 1
        fi
    fi
    # leftovers of a crash, or the symlink to a socket kept elsewhere
    rm -f "$RUN"/.s.PGSQL.*
}

# ---- config ------------------------------------------------------------------

write_conf() {
    if [ ! -s "$V/jwt_secret" ]; then
        (umask 077 && openssl rand -hex 32 >"$V/jwt_secret.tmp") && mv "$V/jwt_secret.tmp" "$V/jwt_secret"
        say "generated $V/jwt_secret"
    fi
    chmod 600 "$V/jwt_secret"
    local secret
    secret=$(cat "$V/jwt_secret")
    (
        umask 077
        cat >"$CONF.tmp" <<EOF
# Written by scripts/stack.sh at every start: edit the script, not this file.
# Every key can be overridden by the environment variable CHAT_<KEY>.
db_conninfo = host=$RUN port=$CHAT_PG_PORT dbname=chat user=chat
jwt_secret = $secret
fcgi_listen = $RUN/fcgi.sock
media_dir = $V/media
http_port = $CHAT_HTTP_PORT
rtd_port = $CHAT_RTD_PORT
log_level = info
# development: the web client takes ?token= from its page URL (make run
# prints such links); an installed chat.conf leaves this off
token_en_url = on
# record mentions in messages (#pedido-1001) link to the ERP's pages; the
# local stack has no ERP: these show the shape
enlaces_registros = pedido=/erp/pedidos.html?id={clave} cliente=/erp/clientes.html?id={clave}
EOF
    )
    mv "$CONF.tmp" "$CONF"
}

# ---- nginx -------------------------------------------------------------------

# subst FILE FROM TO: replaces every FROM with TO (fixed strings) in FILE,
# and fails when FROM is not there: a shipped file that no longer has a path
# the stack must change stops the start instead of being tested half-local.
subst() {
    local file=$1 from=$2 to=$3
    grep -qF -- "$from" "$file" || die "$file: expected '$from' (shipped web server file changed?)"
    FROM=$from TO=$to perl -pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$file"
}

# The shipped web server file with only what differs on this machine
# replaced: paths, the rtd port, the upload cap.
localize_front_conf() { # SHIPPED OUT BODYMAX
    local in=$1 out=$2 body=$3
    cp "$in" "$out.tmp"
    subst "$out.tmp" /usr/local/share/chat/www "$ROOT/www"
    subst "$out.tmp" /run/chat/fcgi.sock "$RUN/fcgi.sock"
    subst "$out.tmp" /var/lib/chat/media "$V/media"
    subst "$out.tmp" 127.0.0.1:8081 "127.0.0.1:$CHAT_RTD_PORT"
    mv "$out.tmp" "$out"
}

media_body_max() { # media_max_bytes plus 1 MiB for the multipart framing
    local max=${CHAT_MEDIA_MAX_BYTES:-26214400}
    case $max in '' | *[!0-9]*) die "CHAT_MEDIA_MAX_BYTES must be a number of bytes" ;; esac
    echo $((max + 1048576))
}

# The server around etc/nginx/chat.conf, which is included as shipped with
# only paths, port and upload cap changed (what is tested is what operators
# install).
write_nginx_conf() {
    local body user_line=
    body=$(media_body_max)
    is_root && user_line='user root;'
    mkdir -p "$NGX"/{client_body,proxy,fastcgi,uwsgi,scgi}
    localize_front_conf "$ROOT/etc/nginx/chat.conf" "$NGX/chat.conf" "$body"
    subst "$NGX/chat.conf" "client_max_body_size 26m;" "client_max_body_size $body;"
    subst "$NGX/chat.conf" "include fastcgi_params;" "include /etc/nginx/fastcgi_params;"
    cat >"$NGX/nginx.conf.tmp" <<EOF
# Written by scripts/stack.sh at every start: edit the script, not this file.
# The chat locations are etc/nginx/chat.conf ($NGX/chat.conf, localized).
$user_line
worker_processes 2;
worker_shutdown_timeout 5s;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # request id (chat-fcgi's X-Request-Id, as in its log line), the whole
    # time and the upstream's share, for the timing breakdown (log_timing)
    log_format chat_timing '\$remote_addr [\$time_iso8601] "\$request" \$status \$body_bytes_sent '
                           'req=\$upstream_http_x_request_id rt=\$request_time '
                           'urt=\$upstream_response_time uct=\$upstream_connect_time';
    access_log $NGX/access.log chat_timing;
    client_body_temp_path $NGX/client_body;
    proxy_temp_path $NGX/proxy;
    fastcgi_temp_path $NGX/fastcgi;
    uwsgi_temp_path $NGX/uwsgi;
    scgi_temp_path $NGX/scgi;
    sendfile on;
    server_tokens off;
    absolute_redirect off;

    server {
        listen 127.0.0.1:$CHAT_HTTP_PORT;
        server_name localhost;

        # the ERP's pages would be here; the local stack has only chat
        location = / { return 302 /chat/; }

        include $NGX/chat.conf;
    }
}
EOF
    mv "$NGX/nginx.conf.tmp" "$NGX/nginx.conf"
}

NGINX_ARGS=()
nginx_args() { NGINX_ARGS=(-p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log"); }

nginx_start() {
    write_nginx_conf
    nginx_args
    local out
    if ! out=$(nginx "${NGINX_ARGS[@]}" -t 2>&1); then
        printf '%s\n' "$out" >&2
        die "nginx configuration test failed ($NGX/nginx.conf)"
    fi
    local pid
    if pid=$(pid_of "$NGX/" "$NGX/nginx.pid"); then
        kill -HUP "$pid"
        say "nginx already running (pid $pid): configuration reloaded"
        return 0
    fi
    rm -f "$NGX/nginx.pid"
    start_bg nginx "$LOG/nginx.log" "$NGX/nginx.pid" nginx "${NGINX_ARGS[@]}" -g 'daemon off;'
}

# ---- Apache ------------------------------------------------------------------

APACHE_MODS=/usr/lib/apache2/modules

# The server around etc/apache/chat.conf, included as shipped with only
# paths, port and upload cap changed. The modules are the ones the shipped
# file lists as required, loaded here since this server has no a2enmod state.
write_apache_conf() {
    local body user_lines=
    body=$(media_body_max)
    if is_root; then
        # Apache refuses to serve as root; its children run as www-data,
        # which must reach the socket, the client and the media files.
        local d
        for d in "$ROOT/www/index.html" "$RUN/" "$V/media/"; do
            runuser -u www-data -- test -r "$d" ||
                die "Apache runs as www-data, which cannot read $d (give the folders on the way o+rx)"
        done
        user_lines='User www-data
Group www-data'
    fi
    mkdir -p "$APX"
    localize_front_conf "$ROOT/etc/apache/chat.conf" "$APX/chat.conf" "$body"
    subst "$APX/chat.conf" /usr/local/share/chat/etc/apache/errores "$ROOT/etc/apache/errores"
    subst "$APX/chat.conf" 27262976 "$body"
    local m mods=''
    for m in mpm_event authz_core authz_host alias dir mime headers rewrite proxy proxy_fcgi proxy_http xsendfile; do
        [ -f "$APACHE_MODS/mod_$m.so" ] || die "Apache module $m missing ($APACHE_MODS/mod_$m.so; make deps)"
        mods="${mods}LoadModule ${m}_module $APACHE_MODS/mod_$m.so
"
    done
    cat >"$APX/apache2.conf.tmp" <<EOF
# Written by scripts/stack.sh at every start: edit the script, not this file.
# The chat part is etc/apache/chat.conf ($APX/chat.conf, localized).
ServerRoot $APX
$mods
$user_lines
DefaultRuntimeDir $APX
PidFile $APX/httpd.pid
Mutex file:$APX default
ErrorLog $APX/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %b %D" chat
CustomLog $APX/access.log chat
TypesConfig /etc/mime.types
ServerName localhost
ServerTokens Prod
Listen 127.0.0.1:$CHAT_HTTP_PORT

StartServers 1
ServerLimit 8
ThreadsPerChild 25
MaxRequestWorkers 200
GracefulShutdownTimeout 5

<Directory />
    AllowOverride None
    Require all denied
</Directory>

<VirtualHost 127.0.0.1:$CHAT_HTTP_PORT>
    ServerName localhost
    # the ERP's pages would be here; the local stack has only chat
    RedirectMatch 302 "^/\$" "/chat/"
    Include $APX/chat.conf
</VirtualHost>
EOF
    mv "$APX/apache2.conf.tmp" "$APX/apache2.conf"
}

apache_start() {
    command -v apache2 >/dev/null || die "apache2 not installed (make deps)"
    write_apache_conf
    local out
    if ! out=$(apache2 -f "$APX/apache2.conf" -t 2>&1); then
        printf '%s\n' "$out" >&2
        die "Apache configuration test failed ($APX/apache2.conf)"
    fi
    local pid
    if pid=$(pid_of "$APX/" "$APX/apache.pid"); then
        kill -USR1 "$pid"
        say "apache already running (pid $pid): configuration reloaded"
        return 0
    fi
    rm -f "$APX/apache.pid" "$APX/httpd.pid"
    start_bg apache "$LOG/apache.log" "$APX/apache.pid" apache2 -f "$APX/apache2.conf" -DFOREGROUND
}

# ---- front server ------------------------------------------------------------

# The pid of the front server running for this folder, either kind.
front_pid() {
    pid_of "$NGX/" "$NGX/nginx.pid" || pid_of "$APX/" "$APX/apache.pid"
}

front_start() {
    # one front server per folder: a switch of CHAT_FRONT replaces the other
    if [ "$CHAT_FRONT" = apache ]; then
        stop_proc nginx "$NGX/" "$NGX/nginx.pid" QUIT
        apache_start
    else
        stop_proc apache "$APX/" "$APX/apache.pid" TERM
        nginx_start
    fi
}

front_stop() {
    stop_proc nginx "$NGX/" "$NGX/nginx.pid" QUIT
    stop_proc apache "$APX/" "$APX/apache.pid" TERM
}

# ---- programs ----------------------------------------------------------------

has_cron_loops() {
    [ -x "$CHAT_BIN/chat-cron" ] || return 1
    local help
    help=$(CHAT_CONFIG=$CONF "$CHAT_BIN/chat-cron" help 2>&1 || true)
    grep -qE '^[[:space:]]*push([[:space:]]|$)' <<<"$help" &&
        grep -qE '^[[:space:]]*receipts([[:space:]]|$)' <<<"$help"
}

# Component table: label, name matched in the command line, pid file, log.
PROGS=(
    "chat-fcgi|chat-fcgi|$RUN/chat-fcgi.pid|$LOG/chat-fcgi.log"
    "chat-rtd|chat-rtd|$RUN/chat-rtd.pid|$LOG/chat-rtd.log"
    "chat-cron push|chat-cron push|$RUN/chat-cron-push.pid|$LOG/chat-cron-push.log"
    "chat-cron receipts|chat-cron receipts|$RUN/chat-cron-receipts.pid|$LOG/chat-cron-receipts.log"
)

prog_field() { # INDEX label|name|pid|log
    local label name pidf logf
    IFS='|' read -r label name pidf logf <<<"${PROGS[$1]}"
    case $2 in
        label) echo "$label" ;; name) echo "$name" ;; pid) echo "$pidf" ;; log) echo "$logf" ;;
    esac
}

# start_prog INDEX CMD...: starts the program unless it already runs.
start_prog() {
    local i=$1 pid
    shift
    if pid=$(pid_of "$(prog_field "$i" name)" "$(prog_field "$i" pid)"); then
        say "$(prog_field "$i" label) already running (pid $pid)"
        return 0
    fi
    start_bg "$(prog_field "$i" label)" "$(prog_field "$i" log)" "$(prog_field "$i" pid)" "$@"
}

# ---- health ------------------------------------------------------------------

salud_ok() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL_BASE/chat/api/v1/salud" 2>/dev/null)" = 200 ]
}

# chat-rtd answers on its own port (its metrics page): it listens.
rtd_ok() {
    [ -x "$CHAT_BIN/chat-rtd" ] || return 0
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
        "http://127.0.0.1:$CHAT_RTD_PORT/chat/rtd/metrics" 2>/dev/null)" = 200 ]
}

# Log sizes when this start began, so a failure shows only what it wrote.
declare -A LOGOFF=()
mark_logs() {
    local f
    for f in "$LOG"/*.log "$NGX"/error.log "$APX"/error.log; do
        [ -f "$f" ] && LOGOFF[$f]=$(stat -L -c %s "$f")
    done
    return 0
}

show_logs() {
    local f off n
    for f in "$LOG"/*.log "$NGX"/error.log "$APX"/error.log; do
        [ -s "$f" ] || continue
        case ${f##*/} in initdb.log) continue ;; esac # shown when initdb fails
        off=${LOGOFF[$f]:-0}
        [ "$(stat -L -c %s "$f")" -gt "$off" ] || continue
        n=${1:-25}
        # nginx repeats one line per health poll
        [ "$f" = "$NGX/error.log" ] && n=8
        [ "$f" = "$APX/error.log" ] && n=12
        printf '\n---- %s (last lines)\n' "$f" >&2
        tail -c +"$((off + 1))" "$f" | tail -n "$n" >&2 || true
    done
}

# Which component died, if one did (for an early, precise failure).
dead_component() {
    local i
    for i in "${!PROGS[@]}"; do
        local label
        label=$(prog_field "$i" label)
        case " ${STARTED[*]} " in *" $label "*) ;; *) continue ;; esac
        pid_of "$(prog_field "$i" name)" "$(prog_field "$i" pid)" >/dev/null || { echo "$label"; return 0; }
    done
    case " ${STARTED[*]} " in
        *" nginx "*) pid_of "$NGX/" "$NGX/nginx.pid" >/dev/null || { echo nginx; return 0; } ;;
        *" apache "*) pid_of "$APX/" "$APX/apache.pid" >/dev/null || { echo apache; return 0; } ;;
    esac
    return 1
}

# ---- commands ----------------------------------------------------------------

STARTED=()
START_OK=0

on_start_exit() {
    local rc=$?
    if [ "$START_OK" != 1 ] && [ "${#STARTED[@]}" -gt 0 ]; then
        say "start failed: stopping what this run started (${STARTED[*]})"
        stop_started || true
    fi
    exit $rc
}

stop_started() {
    local i label
    case " ${STARTED[*]} " in *" nginx "*) stop_proc nginx "$NGX/" "$NGX/nginx.pid" QUIT ;; esac
    case " ${STARTED[*]} " in *" apache "*) stop_proc apache "$APX/" "$APX/apache.pid" TERM ;; esac
    for i in 3 2 1 0; do
        label=$(prog_field "$i" label)
        case " ${STARTED[*]} " in
            *" $label "*) stop_proc "$label" "$(prog_field "$i" name)" "$(prog_field "$i" pid)" TERM ;;
        esac
    done
    case " ${STARTED[*]} " in *" postgres "*) pg_stop ;; esac
}

cmd_start() {
    check_settings
    [ -x "$CHAT_BIN/chat-fcgi" ] || die "$CHAT_BIN/chat-fcgi not found: build first (make all)"
    if [ "$CHAT_FRONT" = nginx ]; then
        command -v nginx >/dev/null || die "nginx not installed (make deps)"
    fi
    [ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL 15 not installed (make deps)"
    mkdir -p "$V" "$RUN" "$LOG" "$NGX" "$APX" "$V/media"
    chmod 755 "$RUN"

    # Refuse before starting anything when another stack is using this folder
    # with other ports, or when a port belongs to something else.
    local pid
    if [ -f "$RUN/stack.env" ] && { front_pid >/dev/null || pg_running; }; then
        local old
        old=$(cat "$RUN/stack.env")
        if [ "$old" != "$CHAT_HTTP_PORT $CHAT_PG_PORT $CHAT_RTD_PORT" ]; then
            die "the stack in $V already runs with ports (http pg rtd) $old; stop it first (make stop)"
        fi
    fi
    if ! front_pid >/dev/null && port_busy "$CHAT_HTTP_PORT"; then
        refuse_port "$CHAT_FRONT" CHAT_HTTP_PORT "$CHAT_HTTP_PORT"
    fi
    if ! pg_running && port_busy "$CHAT_PG_PORT"; then
        refuse_port PostgreSQL CHAT_PG_PORT "$CHAT_PG_PORT"
    fi
    if [ -x "$CHAT_BIN/chat-rtd" ] && ! pid_of chat-rtd "$RUN/chat-rtd.pid" >/dev/null &&
        port_busy "$CHAT_RTD_PORT"; then
        refuse_port chat-rtd CHAT_RTD_PORT "$CHAT_RTD_PORT"
    fi

    mark_logs
    trap on_start_exit EXIT
    trap 'exit 130' INT TERM
    echo "$CHAT_HTTP_PORT $CHAT_PG_PORT $CHAT_RTD_PORT" >"$RUN/stack.env"

    pg_start
    write_conf

    if ! pid_of chat-fcgi "$RUN/chat-fcgi.pid" >/dev/null; then
        rm -f "$RUN/fcgi.sock"
    fi
    start_prog 0 "$CHAT_BIN/chat-fcgi"
    if [ -x "$CHAT_BIN/chat-rtd" ]; then
        start_prog 1 "$CHAT_BIN/chat-rtd"
    fi
    if has_cron_loops; then
        start_prog 2 "$CHAT_BIN/chat-cron" push --loop 5
        start_prog 3 "$CHAT_BIN/chat-cron" receipts --loop 60
    fi
    front_start

    local dead ok=0 deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if salud_ok && rtd_ok; then
            ok=1
            break
        fi
        if dead=$(dead_component); then
            show_logs 40
            # a port taken between the check and the bind: the caller may
            # pick others (run-tests.sh looks for these words)
            if [ "$dead" = chat-rtd ] && tail -c +"$((${LOGOFF[$LOG/chat-rtd.log]:-0} + 1))" "$LOG/chat-rtd.log" 2>/dev/null |
                grep -q 'cannot listen'; then
                die "chat-rtd: port $CHAT_RTD_PORT (CHAT_RTD_PORT) is already in use"
            fi
            die "$dead exited during start (see the logs above, in $LOG)"
        fi
        sleep 0.1
    done
    if [ "$ok" != 1 ]; then
        show_logs 40
        die "no 200 from $URL_BASE/chat/api/v1/salud and chat-rtd's port $CHAT_RTD_PORT after 30 s"
    fi
    START_OK=1
    trap - EXIT INT TERM
    say "up: $URL_BASE/chat/ (state in $V)"
}

cmd_stop() {
    local i
    front_stop
    for i in 3 2 1 0; do
        stop_proc "$(prog_field "$i" label)" "$(prog_field "$i" name)" "$(prog_field "$i" pid)" TERM
    done
    pg_stop
    rm -f "$RUN/fcgi.sock" "$RUN/stack.env"
    say "stopped"
}

cmd_status() {
    local i pid any=0
    if [ -d "$PGDATA" ] && pg_running; then
        pid=$(head -n 1 "$PGDATA/postmaster.pid")
        printf '%-20s running (pid %s, port %s)\n' postgres "$pid" "$(sed -n 4p "$PGDATA/postmaster.pid")"
        any=1
    else
        printf '%-20s stopped\n' postgres
    fi
    for i in "${!PROGS[@]}"; do
        if pid=$(pid_of "$(prog_field "$i" name)" "$(prog_field "$i" pid)"); then
            printf '%-20s running (pid %s)\n' "$(prog_field "$i" label)" "$pid"
            any=1
        else
            printf '%-20s stopped\n' "$(prog_field "$i" label)"
        fi
    done
    if pid=$(pid_of "$NGX/" "$NGX/nginx.pid"); then
        printf '%-20s running (pid %s)\n' nginx "$pid"
        any=1
    elif pid=$(pid_of "$APX/" "$APX/apache.pid"); then
        printf '%-20s running (pid %s)\n' apache "$pid"
        any=1
    else
        printf '%-20s stopped\n' "web server"
    fi
    if [ "$any" = 1 ]; then
        if [ -f "$RUN/stack.env" ]; then
            read -r CHAT_HTTP_PORT _ <"$RUN/stack.env"
            URL_BASE=http://127.0.0.1:$CHAT_HTTP_PORT
        fi
        if salud_ok; then
            printf '%-20s %s/chat/api/v1/salud answers 200\n' health "$URL_BASE"
        else
            printf '%-20s %s/chat/api/v1/salud does NOT answer 200\n' health "$URL_BASE"
        fi
    fi
    printf '%-20s %s\n' state "$V"
}

mint_token() { # ID NOMBRE [PERMISOS]
    local args=(token --id-erp "$1" --nombre "$2" --ttl 86400)
    [ -n "${3:-}" ] && args+=(--permisos "$3")
    CHAT_CONFIG=$CONF "$CHAT_BIN/chat-cron" "${args[@]}" 2>>"$LOG/chat-cron-token.log" | tail -n 1
}

cmd_run() {
    cmd_start
    local url=$URL_BASE/chat/
    printf '\nchat is running at %s\n\n' "$url"
    if [ -x "$CHAT_BIN/chat-cron" ]; then
        local u id nombre perm tok
        for u in "demo1|Ana Demo|565,566,567,568" "demo2|Beto Demo|" "demo3|Carla Demo|"; do
            IFS='|' read -r id nombre perm <<<"$u"
            if tok=$(mint_token "$id" "$nombre" "$perm") && [ -n "$tok" ]; then
                printf '  %s (%s%s)\n    %s?token=%s\n' "$id" "$nombre" \
                    "${perm:+, permisos $perm}" "$url" "$tok"
            else
                printf '  %s: could not mint a token (see %s)\n' "$id" "$LOG/chat-cron-token.log"
            fi
        done
        printf '\n  (tokens valid for 24 h; open each in its own browser profile or private window)\n'
    fi
    printf '\nlogs follow; Ctrl-C stops the stack\n\n'

    local tailpid=
    on_run_signal() {
        trap '' INT TERM
        [ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
        printf '\n'
        cmd_stop
        exit 0
    }
    trap on_run_signal INT TERM
    local errlog=$NGX/error.log
    [ "$CHAT_FRONT" = apache ] && errlog=$APX/error.log
    touch "$errlog"
    local f logs=()
    for f in "$LOG"/*.log "$errlog"; do
        case ${f##*/} in initdb.log | chat-cron-token.log) ;; *) logs+=("$f") ;; esac
    done
    tail -n 0 -F "${logs[@]}" &
    tailpid=$!
    wait "$tailpid" || true
    # tail went away on its own: still stop cleanly
    on_run_signal
}

case ${1:-} in
    start) cmd_start ;;
    stop) check_settings; cmd_stop ;;
    run) cmd_run ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|run|status" >&2
        exit 2
        ;;
esac
