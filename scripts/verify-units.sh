#!/usr/bin/env bash
# Checks the systemd units in dist/ with `systemd-analyze verify`, strictly: any warning
# (an unknown key, a typo in a section) fails, not only errors. The units name
# /usr/local/bin/…; they are checked against this build's binaries (BIN, default
# .build/debug). Exit 0 pass, 1 fail, 77 skipped (no systemd-analyze).
set -uo pipefail
cd "$(dirname "$0")/.."
# systemd wants absolute paths; a relative BIN is taken from the repository root.
BIN=$(realpath -m -- "${1:-.build/debug}")
command -v systemd-analyze >/dev/null || { echo "SKIPPED (no systemd-analyze; apt-get install systemd): unit verification"; exit 77; }
TMP=$(mktemp -d); trap 'rm -rf $TMP' EXIT
units=()
for u in dist/*.service; do
  name=$(basename "$u")
  # a template is checked as one instance of it
  [[ $name == *@.service ]] && name=${name%@.service}@wg0.service
  sed "s#/usr/local/bin/#$BIN/#g" "$u" >"$TMP/$name"
  units+=("$TMP/$name")
done
out=$(systemd-analyze verify "${units[@]}" 2>&1); rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then echo "$out"; echo "FAIL: systemd-analyze verify (exit $rc)"; exit 1; fi
echo "PASS: ${#units[@]} units verified: $(cd dist && ls *.service | tr '\n' ' ')"
