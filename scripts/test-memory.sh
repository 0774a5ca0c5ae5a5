#!/usr/bin/env bash
# The plugin ABI under valgrind (issue 12): scion, scion-plugin-host and the
# plugins, installed into a temporary prefix with their debug info stripped
# (valgrind 3.19 cannot read the DWARF 5 that swiftc writes), drive the C
# example runtime through `scion plugins check --in-process` (every
# operation, error paths, streaming, cancellation), the same through a
# helper process, and a local agent's start/stop/delete with the generic
# harness. Any invalid read, write or free, or a definite leak of C memory
# (scripts/valgrind-verdict.py says why Swift objects are set aside), fails.
#
# Usage: scripts/test-memory.sh [BUILD_FOLDER]   (default: the debug build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$(swift build --package-path "$root" --show-bin-path)}
command -v valgrind >/dev/null || { echo "test-memory: valgrind is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/scion-memory.XXXXXX)
cleanup() {
    HOME=$work/home "$work/prefix/bin/scion" -g "$work/repo" delete --force mem1 >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

prefix=$work/prefix
install -d "$prefix/bin" "$prefix/lib/scion/plugins" "$prefix/include/scion" "$prefix/share/scion/schemas"
for program in scion scion-agent scion-plugin-host; do
    install -m 0755 "$bin/$program" "$prefix/bin/"
    strip -g "$prefix/bin/$program"
done
for name in runtime-local harness-generic; do
    library=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["library"])' "$root/Plugins/$name/plugin.json")
    install -d "$prefix/lib/scion/plugins/$name"
    install -m 0644 "$root/Plugins/$name/plugin.json" "$prefix/lib/scion/plugins/$name/"
    install -m 0755 "$bin/$library" "$prefix/lib/scion/plugins/$name/"
    strip -g "$prefix/lib/scion/plugins/$name/$library"
done
install -m 0644 "$root/Sources/ScionPluginABI/include/scion_plugin.h" "$prefix/include/scion/"
install -m 0644 "$root"/docs/schemas/*.json "$prefix/share/scion/schemas/"

example=$work/process-c
install -d "$example"
cp "$root/Plugins/examples/runtime-process-c/process.c" "$root/Plugins/examples/runtime-process-c/plugin.json" "$example/"
(cd "$example" && cc -shared -fPIC -gdwarf-4 -o libprocess-c.so process.c -I "$prefix/include/scion" -ljansson)

export HOME=$work/home
mkdir -p "$HOME" "$work/repo"
git -C "$work/repo" init -q
git -C "$work/repo" -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init
scion=$prefix/bin/scion
failed=0
under_valgrind() {
    local label=$1; shift
    local log=$work/valgrind-$label.log
    local status=0
    valgrind --leak-check=full --show-leak-kinds=definite --child-silent-after-fork=yes \
        --log-file="$log" "$scion" -g "$work/repo" "$@" >"$work/out-$label.txt" 2>&1 || status=$?
    if [[ $status != 0 ]]; then
        echo "test-memory: FAIL: scion $* exited $status:" >&2
        cat "$work/out-$label.txt" >&2
        failed=1
    elif ! python3 "$root/scripts/valgrind-verdict.py" "$log" >"$work/verdict-$label.txt"; then
        echo "test-memory: FAIL: scion $*: valgrind found invalid accesses or definite leaks of C memory:" >&2
        cat "$work/verdict-$label.txt" >&2
        failed=1
    else
        echo "test-memory: ok: scion $* ($(grep -c 'definitely lost in' "$log" || true) Swift-object records set aside)"
    fi
}
(cd "$work/repo" && "$scion" init >/dev/null)
"$scion" -g "$work/repo" plugins install "$example" >/dev/null
under_valgrind check-in-process plugins check process-c --in-process
under_valgrind check-helper plugins check process-c
under_valgrind check-local plugins check local --in-process
under_valgrind check-generic plugins check generic --in-process
under_valgrind start start mem1 --harness shell "sleep 60"
under_valgrind list list
under_valgrind stop stop mem1
under_valgrind delete delete --force mem1
exit $failed
