#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages (and the Node test packages) that
# building, running and testing chat need, and only those that are missing.
# The common case (all present) is fast and needs no network.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# Each entry is one need; "a|b" is satisfied by any of the alternatives and
# installs the first.
NEEDS=(
    build-essential pkg-config
    libfcgi-dev libpq-dev libjson-c-dev libjwt-dev libwebsockets-dev libev-dev
    libcurl4-openssl-dev libcunit1-dev
    postgresql "nginx-light|nginx|nginx-core|nginx-full|nginx-extras"
    apache2 libapache2-mod-xsendfile # the test pass behind Apache (CHAT_FRONT=apache)
    curl openssl chromium fonts-noto-color-emoji # emoji in screenshots
    unzip # checks the exports' streamed ZIP (tests/integ/test_cumplimiento.c)
    iproute2 procps util-linux
    wrk gnuplot-nox # make bench (scripts/bench.sh)
    clang # libFuzzer harnesses (make fuzz; briefly in make test)
)

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for need in "${NEEDS[@]}"; do
    ok=0
    IFS='|' read -r -a alts <<<"$need"
    for p in "${alts[@]}"; do
        if installed "$p"; then
            ok=1
            break
        fi
    done
    [ "$ok" = 1 ] || missing+=("${alts[0]}")
done

# Node only matters once there are Node tests; Debian's nodejs and npm when
# no node is on the PATH at all (a NodeSource node brings its own npm).
node_tests=0
[ -f "$ROOT/tests/node/package.json" ] && node_tests=1
if [ "$node_tests" = 1 ] && ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        die "missing packages: ${missing[*]}
  install them as root: apt-get update && apt-get install -y ${missing[*]}"
    fi
    say "missing: ${missing[*]}"
    say "apt-get update"
    apt-get update -qq
    say "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # chromium and nginx pull what they need through Depends; recommends are
    # left out to keep the machine small.
fi

if [ "$node_tests" = 1 ]; then
    command -v npm >/dev/null 2>&1 || die "node is installed but npm is not (apt-get install npm)"
    cd "$ROOT/tests/node"
    [ -d node_modules ] || rm -f node_modules
    if [ ! -d node_modules ] ||
        { [ -f package-lock.json ] && [ package-lock.json -nt node_modules ]; } ||
        [ package.json -nt node_modules ]; then
        if [ -f package-lock.json ]; then
            say "npm ci in tests/node"
            npm ci --no-audit --no-fund --loglevel=error
        else
            say "npm install in tests/node (no package-lock.json yet)"
            npm install --no-audit --no-fund --loglevel=error
        fi
        # npm ci leaves no node_modules when there is nothing to install
        mkdir -p node_modules
        touch node_modules
    fi
fi
exit 0
