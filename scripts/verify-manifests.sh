#!/usr/bin/env bash
# Validates every manifest under dist/kubernetes offline with kubernetes-validate (PyPI,
# pinned in scripts/test-requirements.txt), strictly: against the schemas of one Kubernetes
# version it ships, rejecting unknown fields (--strict), and failing on any error or
# warning (a deprecated API version warns), not only on errors.
# The tool is found next to the test Python: PYDIR (first argument), else the folder of
# $FERRY_TEST_PYTHON, else /var/tmp/ferry-test-venv/bin. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
# The Kubernetes version the manifests are written for; raise it together with the pin.
K8S_VERSION=1.34.0
PYDIR=${1:-$(dirname "${FERRY_TEST_PYTHON:-/var/tmp/ferry-test-venv/bin/python}")}
KV=$PYDIR/kubernetes-validate
if [ ! -x "$KV" ]; then
  echo "SKIPPED (no $KV; scripts/install-test-deps.sh installs it from scripts/test-requirements.txt): manifest validation"
  exit 77
fi
mapfile -t files < <(find dist/kubernetes -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
others=$(find dist/kubernetes -type f ! -name '*.yaml' ! -name '*.yml')
if [ -n "$others" ]; then echo "$others"; echo "FAIL: files in dist/kubernetes that are not YAML manifests"; exit 1; fi
if [ ${#files[@]} -eq 0 ]; then echo "FAIL: no manifests under dist/kubernetes"; exit 1; fi
failed=0
for f in "${files[@]}"; do
  out=$("$KV" --kubernetes-version "$K8S_VERSION" --strict "$f" 2>&1); rc=$?
  # Passing output is one "INFO FILE passed for resource …" line per object; any other line
  # (WARN, ERROR, a Python traceback) fails the file.
  if [ $rc -ne 0 ] || [ -z "$out" ] || grep -qvE '^INFO .* passed for resource ' <<<"$out"; then
    echo "$out"; echo "FAIL: $f (exit $rc)"; failed=1; continue
  fi
  # Each object names the namespace ferry (the Namespace itself excepted).
  if ! grep -qE '^kind: Namespace$' "$f" && ! grep -qE '^  namespace: ferry$' "$f"; then
    echo "FAIL: $f does not put its object in the namespace ferry"; failed=1; continue
  fi
  echo "$out"
done
[ $failed -eq 0 ] || { echo "FAIL: manifest validation (kubernetes-validate $("$KV" --version), Kubernetes $K8S_VERSION, strict)"; exit 1; }
echo "PASS: ${#files[@]} manifests valid for Kubernetes $K8S_VERSION (kubernetes-validate $("$KV" --version), strict): ${files[*]#dist/kubernetes/}"
