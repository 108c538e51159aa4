#!/usr/bin/env bash
# check-layers.sh: fails when an #include goes the wrong way between the
# layers of shared/ (core <- wire <- domain <- programs), when a shared/
# file includes a header by a bare name (every include names its layer),
# when one program includes another program's headers, or when the files
# of a program include each other in a circle (x.c and x.h count as one
# part, x; so part a depends on part b when a.c or a.h includes b.h).
# Run by `make check`, which `make test` runs first.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1

bad=0
report() { printf 'check-layers: %s\n' "$*" >&2; bad=1; }

# allowed LAYER: the layers a file of LAYER may include
allowed() {
    case $1 in
        core) echo "core" ;;
        wire) echo "core wire" ;;
        domain) echo "core wire domain" ;;
    esac
}

for layer in core wire domain; do
    ok=" $(allowed $layer) "
    for f in shared/$layer/*.[ch]; do
        [ -e "$f" ] || continue
        while IFS= read -r line; do
            n=${line%%:*}
            inc=$(printf '%s' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
            [ -n "$inc" ] || continue
            case $inc in
                */*) target=${inc%%/*} ;;
                *) report "$f:$n: \"$inc\" names no layer (write \"<layer>/$inc\")"; continue ;;
            esac
            if [ ! -e "shared/$inc" ]; then
                report "$f:$n: \"$inc\" is not a header of shared/"
            elif [[ $ok != *" $target "* ]]; then
                report "$f:$n: $layer may not include $target (\"$inc\")"
            fi
        done < <(grep -n '#[[:space:]]*include[[:space:]]*"' "$f")
    done
done

# A program may use every layer of shared/ and its own headers, never
# another program's.
for prog in fcgi rtd cron; do
    for f in $prog/*.[ch]; do
        [ -e "$f" ] || continue
        while IFS= read -r line; do
            n=${line%%:*}
            inc=$(printf '%s' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
            case $inc in
                core/* | wire/* | domain/*) [ -e "shared/$inc" ] || report "$f:$n: no shared/$inc" ;;
                */*) report "$f:$n: \"$inc\" reaches outside $prog/" ;;
                *) [ -e "$prog/$inc" ] || report "$f:$n: \"$inc\" is neither in $prog/ nor a layered shared/ header" ;;
            esac
        done < <(grep -n '#[[:space:]]*include[[:space:]]*"' "$f")
    done
done

# Inside a program, dependencies go one way: tsort finds any circle.
for prog in fcgi rtd cron; do
    edges=$(for f in $prog/*.[ch]; do
                [ -e "$f" ] || continue
                a=$(basename "${f%.*}")
                sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"/]*\)\.h".*/\1/p' "$f" |
                    while IFS= read -r b; do [ "$a" != "$b" ] && echo "$a $b"; done
            done | sort -u)
    [ -n "$edges" ] || continue
    if ! out=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null); then
        report "$prog/: its files include each other in a circle: $(printf '%s\n' "$out" | grep -v 'input contains a loop' | sed 's/^tsort: //' | tr '\n' ' ')"
    fi
done

if [ "$bad" = 0 ]; then
    echo "check-layers: ok (core <- wire <- domain <- fcgi, rtd, cron; no include circles)"
fi
exit $bad
