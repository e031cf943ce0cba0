#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds in debug, runs every test.
# Tests that need root and /dev/net/tun say loudly when they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
export FERRY_TEST_PYTHON=${FERRY_TEST_VENV:-/var/tmp/ferry-test-venv}/bin/python
swift build --build-tests
# The fuzzing smoke run (each libFuzzer target for a few seconds, Fuzz/README.md) alongside
# the tests, at a lower priority; a crash fails the run.
nice -n 10 scripts/fuzz.sh --smoke > .build/fuzz-smoke.log 2>&1 &
fuzz=$!
status=0
swift test --skip-build "$@" || status=$?
if wait $fuzz; then cat .build/fuzz-smoke.log; else cat .build/fuzz-smoke.log; echo "FAILED: fuzzing smoke run"; status=1; fi
exit $status
