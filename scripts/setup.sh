#!/usr/bin/env bash
# Fresh machine to a working scion: install the missing Debian packages,
# build scion and its plugins (release), then run a demo of parallel agents
# on the embedded default (the local-process runtime with the generic
# `shell` harness: no image, engine or API key needed).
#
# Usage: scripts/setup.sh [--no-demo]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo=true
[[ ${1:-} == --no-demo ]] && demo=false

if [[ $(id -u) -eq 0 ]]; then
    "$root/scripts/install-deps.sh"
elif command -v sudo >/dev/null; then
    sudo "$root/scripts/install-deps.sh"
else
    echo "setup: not root and no sudo: install the packages listed in scripts/install-deps.sh yourself" >&2
fi

echo "setup: building scion and its plugins (release; a few minutes on 2 cores)"
swift build -c release --package-path "$root"
bin=$(swift build -c release --package-path "$root" --show-bin-path)
echo "setup: built $bin/scion"
$demo || exit 0

scion() { "$bin/scion" "$@"; }
work=$(mktemp -d)
trap 'cd /; scion -g "$work/repo" delete --stopped >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir "$work/repo" && cd "$work/repo"
git init -q -b main
git -c user.name=demo -c user.email=demo@example.com commit -q --allow-empty -m "empty project"
git config user.name "scion demo"
git config user.email demo@example.com

echo; echo "== demo: three agents in parallel, each in its own worktree and tmux session"
scion init >/dev/null
for agent in web api docs; do
    scion start "$agent" --harness shell \
        "echo '$agent was here' > $agent.txt && git add $agent.txt && git commit -q -m '$agent: add $agent.txt' && echo $agent committed" &
done
wait
sleep 1
scion list
echo; echo "== scion look web"; scion look web | sed '/^$/d'
echo; echo "== each branch has exactly its own commit"
for agent in web api docs; do git log --oneline -1 "$agent"; done
echo; echo "== scion delete web api docs: refused, their commits are in no other branch"
status=0; scion delete web api docs --non-interactive || status=$?
echo "(exit $status: nothing was deleted)"
echo; echo "== scion diff web --stat; scion merge web into main; then web deletes cleanly, api and docs need --force (their tips are printed)"
scion diff web --stat --no-pager
scion merge web
scion delete web
scion delete api docs --force
git branch --list
echo; echo "setup: done. Add $bin to PATH and try: scion init && scion start <agent> \"<task>\""
