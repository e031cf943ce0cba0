#!/usr/bin/env bash
# Installs, from Debian's packages, what Ferry's tests drive: a real wireguard-go peer,
# wg and wg-quick, iperf3, ncat, ip/ss/nstat, iptables/nft, sysctl, setpriv (ferry-wg run
# as an unprivileged user), SQLite headers, zbarimg (decodes the QR codes the QRCode tests
# render), dig (the DNS tests), conntrack (the NAT matrix flushes its NAT routers), Chromium and its WebDriver (the portal's browser tests),
# PostgreSQL (the store's second engine; started by the tests in a temporary folder).
# Only what is missing.
set -euo pipefail
declare -A need=(
  [wireguard-go]=wireguard-go [wg]=wireguard-tools [wg-quick]=wireguard-tools
  [iperf3]=iperf3 [ncat]=ncat [ip]=iproute2 [iptables]=iptables [nft]=nftables
  [ping]=iputils-ping [pgrep]=procps [sysctl]=procps [ss]=iproute2 [nstat]=iproute2
  [setpriv]=util-linux [openssl]=openssl [curl]=curl [zbarimg]=zbar-tools [systemd-analyze]=systemd [dig]=dnsutils
  [chromium]=chromium [chromedriver]=chromium-driver [conntrack]=conntrack
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
# initdb and postgres are not on PATH (Debian keeps them under /usr/lib/postgresql/N/bin).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: wireguard-tools would otherwise pull in a kernel.
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# Python test helpers (an OpenID Connect provider, API fuzzing, manifest validation, …) live
# in one virtual environment made from scripts/test-requirements.txt; tests find its
# interpreter through FERRY_TEST_PYTHON (set by scripts/test.sh). Rebuilt when the list changes.
venv=${FERRY_TEST_VENV:-/var/tmp/ferry-test-venv}
reqs=scripts/test-requirements.txt
if [ -s "$reqs" ] && grep -qv '^\s*\(#\|$\)' "$reqs"; then
  python3 -c 'import venv' 2>/dev/null || { apt-get update -qq; apt-get install -y -qq python3-venv >/dev/null; }
  if ! cmp -s "$reqs" "$venv/.requirements" 2>/dev/null; then
    echo "install-test-deps: preparing $venv from $reqs" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.requirements"
  fi
fi
