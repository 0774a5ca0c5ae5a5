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

if $engines; then
    scripts/test-env.sh
else
    scripts/test-env.sh --no-engines
    export SCION_TEST_ENGINES=0
fi

echo "test: building (debug) with tests"
swift build --build-tests
echo "test: running"
swift test --skip-build "$@"
# Issue 12: the plugin ABI under valgrind (invalid accesses, definite leaks).
echo "test: memory (valgrind)"
scripts/test-memory.sh "$(swift build --show-bin-path)"
