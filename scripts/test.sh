#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds in debug, runs every test.
# Tests that need root and /dev/net/tun say loudly when they are skipped.
#
# Two test processes run side by side: the suites that drive real processes in network
# namespaces (they block a thread for a minute or more while scripts, iperf3 and daemons
# run), and everything else. In one process, blocking suites occupy Swift's cooperative
# thread pool (as wide as the machine has cores: two here), and the in-process servers of
# the other suites then wait minutes for a thread and miss their timeouts. (Schemathesis and
# the connection-limit suites drive real processes too, so they go with the namespaces.)
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
if [ $# -gt 0 ]; then
  swift test --skip-build "$@" 2>&1 | tee .build/swift-test.log || status=$?
  logs=(.build/swift-test.log)
else
  NAMESPACES='FerryWGTests\.|WireGuardLinuxTests\.|EndToEnd|Behaviour|UpCleanup|Walkthrough|DNSServerTests|DoctorPathChecks|Interop|OpenAPIProperty|RuntimeLimits'
  # SwiftPM keeps its lock under TMPDIR: a second one lets the two processes run together.
  second_tmp=$(mktemp -d)
  TMPDIR=$second_tmp swift test --skip-build --filter "$NAMESPACES" > .build/swift-test-namespaces.log 2>&1 &
  namespaces=$!
  swift test --skip-build --skip "$NAMESPACES" 2>&1 | tee .build/swift-test.log || status=$?
  wait $namespaces || status=1
  echo "=== the namespace and process suites (run beside the above)"
  cat .build/swift-test-namespaces.log
  rm -rf "$second_tmp"
  logs=(.build/swift-test.log .build/swift-test-namespaces.log)
fi
if wait $fuzz; then tail -n 12 .build/fuzz-smoke.log; else cat .build/fuzz-smoke.log; echo "FAILED: fuzzing smoke run"; status=1; fi
# The test runner's own closing lines, last, for whoever reads the end of this output.
for log in "${logs[@]}"; do grep -E "^(✔|✘) Test run with|Executed [0-9]+ tests?, with" "$log" | tail -n 2; done
exit $status
