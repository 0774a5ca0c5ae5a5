#!/usr/bin/env bash
# The whole test suite: prepares the machine (packages, podman config,
# dockerd, the debootstrap test image; idempotent), builds everything, runs
# every test. CI calls this through .ci/run.
#
# Usage: scripts/test.sh [--no-engines] [swift test arguments...]
#   --no-engines  skip the container engines (SCION_TEST_ENGINES=0): only
#                 the local runtime and the engine-free tests run
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

engines=true
if [[ ${1:-} == --no-engines ]]; then engines=false; shift; fi

# What this run starts it stops when it ends (the Kubernetes test cluster,
# and dockerd unless it was already answering before the run).
dockerd_was_up=false
if docker --host unix:///var/run/docker.sock version >/dev/null 2>&1; then dockerd_was_up=true; fi
cleanup() {
    if $engines && [[ -n ${KUBE_TEST_CLUSTER_DIR:-} ]]; then scripts/kube-test-cluster.sh down >/dev/null 2>&1 || true; fi
    if $engines && ! $dockerd_was_up; then scripts/test-env.sh --stop-dockerd || true; fi
}
trap cleanup EXIT

if $engines; then
    scripts/test-env.sh
else
    scripts/test-env.sh --no-engines
    export SCION_TEST_ENGINES=0
fi

# The real Claude Code and Codex CLIs the CLI tests run (issue 14; cached).
scripts/test-clis.sh

echo "test: building (debug) with tests"
swift build --build-tests
# Issue 9: the Kubernetes test cluster, for the kube tests (pods are docker
# containers, so only with the engines); stopped again when the run ends.
if $engines; then
    export KUBE_TEST_CLUSTER_DIR=${KUBE_TEST_CLUSTER_DIR:-/tmp/scion-kube-test-cluster-$$}
    scripts/kube-test-cluster.sh up >/dev/null
fi

echo "test: running"
swift test --skip-build "$@"
# Issue 12: the plugin ABI under valgrind (invalid accesses, definite leaks).
echo "test: memory (valgrind)"
scripts/test-memory.sh "$(swift build --show-bin-path)"
