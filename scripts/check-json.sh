#!/usr/bin/env bash
# check-json.sh: the JSON ownership rule of shared/core/jsonx.h, where a
# slip is a leak or a double free no reviewer sees. Handlers answer with
# borrowed objects (http_json borrows) and nest them with jsonx_add or
# jsonx_push, so fcgi/ never counts references itself: a json_object_get
# there is an extra reference (a leak) or a sign of an owned object handed
# around. Run by `make check`.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1

bad=0
while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    printf 'check-json: %s: answer or nest borrowed objects as they are (http_json, jsonx_add, jsonx_push; shared/core/jsonx.h)\n' "$hit" >&2
    bad=1
done < <(grep -Hn 'json_object_get(' fcgi/*.c 2>/dev/null)
exit $bad
