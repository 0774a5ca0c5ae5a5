#!/usr/bin/env bash
# `scion list` with N agents in pods (issue 10's benchmark): starts N shell
# agents on the kubernetes runtime in a temporary grove, times `scion list`
# (median of 10), the start of one more agent, and `sync from` of a
# 1,000-file worktree, then deletes everything it made.
#
# Usage: Benchmarks/kube-list.sh [N]   (KUBECONFIG: a cluster; default the test cluster)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${1:-100}
scion=$root/.build/debug/scion
[[ -n ${KUBECONFIG:-} ]] || eval "export $("$root/scripts/kube-test-cluster.sh" up | tail -1)"
work=$(mktemp -d /tmp/scion-kube-bench.XXXXXX)
export HOME=$work/home
mkdir -p "$HOME" "$work/repo"
cd "$work/repo"
git init -q -b main && git config user.name bench && git config user.email bench@example.com
echo bench > README.md && git add . && git commit -qm init
"$scion" init >/dev/null
"$scion" config set active_profile remote >/dev/null
"$scion" config set harness_configs.shell.image scion-test:latest >/dev/null
cleanup() { "$scion" delete --force $(seq -f 'b%g' 1 "$count") big >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
seq -f 'b%g' 1 "$count" | xargs -P 8 -I{} "$scion" start {} --harness shell "sleep 3600" >/dev/null
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
times=$(for _ in $(seq 10); do ms "$scion" list; done | sort -n)
echo "list of $count agents: median $(echo "$times" | sed -n 5p) ms (min $(echo "$times" | head -1), max $(echo "$times" | tail -1))"
echo "start of one more agent: $(ms "$scion" start big --harness shell 'i=0; while [ $i -lt 1000 ]; do echo $i > f$i; i=$((i+1)); done; git add . && git commit -qm files; sleep 3600') ms"
sleep 5
echo "sync from of a 1,000-file commit: $(ms "$scion" sync from big) ms"
