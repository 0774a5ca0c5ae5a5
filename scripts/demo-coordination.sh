#!/usr/bin/env bash
# End-to-end demo (issue 11): a parent agent in a docker container splits a
# task among three children, waits for them and merges their branches into
# its own, all through `scion` inside the container (the grove broker).
# Works in a temporary repository; removes everything it made.
#
# Usage: scripts/demo-coordination.sh [--engine docker|podman] [--bin BUILD_FOLDER]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=docker
bin=""
while (($#)); do
    case $1 in
        --engine) engine=$2; shift ;;
        --bin) bin=$2; shift ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
bin=$(cd "${bin:-$(swift build --package-path "$root" --show-bin-path)}" && pwd)
scion="$bin/scion"
image=scion-test:latest
[[ $engine == podman ]] && image=localhost/scion-test:latest

work=$(mktemp -d /tmp/scion-demo.XXXXXX)
export HOME="$work/home"
mkdir -p "$HOME"
cleanup() {
    (cd "$work/repo" 2>/dev/null && "$scion" delete --force --cascade lead >/dev/null 2>&1) || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/repo" && cd "$work/repo"
git init -q -b main
git config user.name "Demo User" && git config user.email demo@example.com
printf 'parts:\n' > report.md
git add report.md && git commit -q -m "start the report"
"$scion" init >/dev/null
"$scion" config set active_profile "$engine" >/dev/null
"$scion" config set "runtimes.$engine.network" none >/dev/null
"$scion" config set harness_configs.shell.image "$image" >/dev/null

# The lead's task: three children, each writing one part; wait; merge.
lead=$(cat <<'TASK'
set -u
for part in alpha beta gamma; do
  scion start "part-$part" --harness shell "echo 'part $part written by its own agent' > $part.md && git add $part.md && git commit -q -m 'write part $part'" || exit 1
done
scion list
scion wait part-alpha part-beta part-gamma --timeout 120 || { echo "a child did not complete"; exit 1; }
for part in alpha beta gamma; do
  scion merge "part-$part" || exit 1
done
cat alpha.md beta.md gamma.md >> report.md && git add report.md && git commit -q -m "the report, from three parts"
scion status task_completed "merged alpha, beta and gamma"
echo LEAD-DONE
sleep 30
TASK
)
started=$(date +%s.%N)
"$scion" start lead --harness shell "$lead"
"$scion" wait lead --timeout 180 || true
for _ in $(seq 1 120); do
    "$scion" logs lead 2>/dev/null | grep -q LEAD-DONE && break
    sleep 1
done
finished=$(date +%s.%N)
echo "--- the tree"
"$scion" list
echo "--- branch lead"
git log --oneline --graph lead | head -20
echo "--- report.md on lead"
git show lead:report.md
if git show lead:report.md | grep -q "part gamma"; then
    printf 'demo: ok, three children merged into lead in %.1f s\n' "$(echo "$finished - $started" | bc)"
else
    echo "demo: FAILED; the lead's screen:" >&2
    "$scion" look lead >&2 || true
    exit 1
fi
