#!/usr/bin/env bash
# check-events.sh: the event vocabulary has one table, EVT_LIST in
# shared/domain/evt.h. Fails when the browser client handles an event name
# that is not in it (or is not a server -> client event), when code
# outside evt.c writes an event by its name (evt_add) instead of by its
# row (evt_emit), or when rtd spells an event's name instead of taking it
# from its row. Run by `make check`.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1

bad=0
report() { printf 'check-events: %s\n' "$*" >&2; bad=1; }

# "name path" for every row of EVT_LIST: X(ID, "name", rooms, PATH, ...)
table=$(tr '\n' ' ' < shared/domain/evt.h | sed 's/\\//g' | tr -s ' ' |
        grep -oE 'X\(EVT_[A-Z_]+, "[a-z_]+:[a-z_]+", [^,]+, EVT_[A-Z]+' |
        sed -E 's/X\(EVT_[A-Z_]+, "([^"]+)", [^,]+, (EVT_[A-Z]+)/\1 \2/')
[ -n "$table" ] || report "no rows found in EVT_LIST (shared/domain/evt.h)"

# the keys of client.js's eventHandlers map: lines "    'name'(d) {"
handlers=$(sed -n "/const eventHandlers = {/,/^  };/p" www/js/client.js |
           grep -oE "^    '[a-z_]+:[a-z_]+'" | tr -d "' ")
[ -n "$handlers" ] || report "no eventHandlers map found in www/js/client.js"

# client_names FILE NAME...: each name a browser file acts on must be a
# server -> client row of the table
client_names() {
    local file=$1 h path
    shift
    for h in "$@"; do
        path=$(printf '%s\n' "$table" | awk -v n="$h" '$1 == n { print $2 }')
        if [ -z "$path" ]; then
            report "$file handles '$h', which is not in EVT_LIST"
        elif [ "$path" = EVT_INBOUND ]; then
            report "$file handles '$h', a client -> server event"
        fi
    done
}
# shellcheck disable=SC2086 # word-splitting the name lists is intended
client_names www/js/client.js $handlers
# the names the socket layer (www/js/rt.js) acts on itself
# shellcheck disable=SC2046
client_names www/js/rt.js $(grep -oE "name === '[a-z_]+:[a-z_]+'" www/js/rt.js | grep -oE "[a-z_]+:[a-z_]+")

# rtd names events through the table (evt_kind, evt_find), never by a
# string of its own: "name" in C, or \"name\" inside a JSON literal
while read -r name _; do
    while IFS= read -r hit; do
        [ -n "$hit" ] && report "$hit: take '$name' from its EVT_LIST row (evt_kind)"
    done < <(grep -nF -e "\"$name\"" -e "\\\"$name\\\"" rtd/*.c 2>/dev/null)
done <<< "$table"

# events are written by their row: evt_add only inside evt.c
while IFS= read -r hit; do
    [ -n "$hit" ] && report "$hit: write events with evt_emit (a row of EVT_LIST)"
done < <(grep -n 'evt_add(' shared/*/*.c fcgi/*.c cron/*.c 2>/dev/null | grep -v '^shared/domain/evt\.c:')

exit $bad
