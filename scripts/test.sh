#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds in debug, runs every test.
# Tests that need root and /dev/net/tun say loudly when they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
export FERRY_TEST_PYTHON=${FERRY_TEST_VENV:-/var/tmp/ferry-test-venv}/bin/python
swift build --build-tests
swift test --skip-build "$@"
