#!/bin/bash
# limiter.sh: the cost of the rate limiter's statement (domain/limite.c)
# next to a bare round trip, with pgbench against a private stack (durable
# commits): "one" is SELECT of a number, "lim" the limiter over 1,000 users,
# "hot" the limiter on one user's row (every client queues on its lock).
# Usage: bash tests/bench/limiter.sh (after make all; ports 47311-47313).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/chat-limiter.XXXXXX)
chmod 755 "$T"
trap 'bash "$ROOT/scripts/stack.sh" stop >/dev/null 2>&1; rm -rf "$T"' EXIT
export CHAT_VAR=$T/var CHAT_BIN=$ROOT/build/bin CHAT_PG_FAST=0 CHAT_HTTP_PORT=47311 CHAT_PG_PORT=47312 CHAT_RTD_PORT=47313
bash $ROOT/scripts/stack.sh start > $T/start.out 2>&1 || { cat $T/start.out; exit 1; }
PGB=/usr/lib/postgresql/15/bin/pgbench
cat > $T/lim.sql <<'SQL'
\set u random(1, 1000)
INSERT INTO limites_uso (usuario_id, clase, fichas, at, ok) VALUES (:u, 'envios', 60::float8 - 1, clock_timestamp(), true) ON CONFLICT (usuario_id, clase) DO UPDATE SET fichas = least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) - CASE WHEN least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) >= 1 THEN 1 ELSE 0 END, ok = least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) >= 1, at = clock_timestamp() RETURNING ok, fichas;
SQL
cat > $T/one.sql <<'SQL'
\set u random(1, 1000)
SELECT :u;
SQL
cat > $T/hot.sql <<'SQL'
INSERT INTO limites_uso (usuario_id, clase, fichas, at, ok) VALUES (1, 'envios', 60::float8 - 1, clock_timestamp(), true) ON CONFLICT (usuario_id, clase) DO UPDATE SET fichas = least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) - CASE WHEN least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) >= 1 THEN 1 ELSE 0 END, ok = least(60::float8, limites_uso.fichas + extract(epoch FROM clock_timestamp() - limites_uso.at) * 1::float8) >= 1, at = clock_timestamp() RETURNING ok, fichas;
SQL
H=$T/var/run
uptime
for s in one lim hot; do
  for c in 1 4; do
    echo "== $s clients=$c"
    $PGB -n -h $H -p 47312 -U chat -d chat -f $T/$s.sql -c $c -j 1 -T 8 -M prepared 2>&1 | grep -E "latency average|tps ="
  done
done
uptime
