#!/usr/bin/env bash
# Install the Debian packages scion needs to build and to run its tests.
#
# Idempotent: each package is checked with dpkg first; `apt-get update` and
# `apt-get install` run only when something is missing. Safe to run in CI
# (root, no stdin, CI=true). Prints one line per action.
#
# Usage: scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
    libgit2-dev
    libcurl4-openssl-dev
    tmux
    git
    podman
    runc
    docker.io
    debootstrap
    hyperfine
    valgrind
    # The C example runtime plugin's JSON library (Plugins/examples/runtime-process-c).
    libjansson-dev
)

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
[[ $# -eq 0 ]] || die "unexpected argument: $1 (see --help)"

export DEBIAN_FRONTEND=noninteractive

# "dpkg -s" also succeeds for removed-but-not-purged packages, so look at the
# status field: only "install ok installed" counts as present.
is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ $status == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    if is_installed "$pkg"; then
        log "ok: $pkg already installed"
    else
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    log "nothing to install"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}) and not running as root"

# Wait for a concurrent apt/dpkg (unattended-upgrades on a fresh VM) instead
# of failing on the lock.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# apt output goes to a log file; its tail is shown if a step fails.
apt_log=$(mktemp /tmp/scion-install-deps.XXXXXX.log)
trap 'rm -f "$apt_log"' EXIT
run_apt() {
    if ! apt-get "${APT_OPTS[@]}" "$@" >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "apt-get $1 failed (output above)"
    fi
}

log "apt-get update (missing: ${missing[*]})"
run_apt update

log "apt-get install ${missing[*]}"
run_apt install -y "${missing[@]}"

for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "$pkg is still not installed after apt-get install"
    log "installed: $pkg"
done
