#!/usr/bin/env bash
# Installs, from Debian's packages, what Ferry's tests drive: a real wireguard-go peer,
# wg and wg-quick, iperf3, ncat, ip, iptables/nft, SQLite headers, zbarimg (decodes the QR
# codes the QRCode tests render). Only what is missing.
set -euo pipefail
declare -A need=(
  [wireguard-go]=wireguard-go [wg]=wireguard-tools [wg-quick]=wireguard-tools
  [iperf3]=iperf3 [ncat]=ncat [ip]=iproute2 [iptables]=iptables [nft]=nftables
  [ping]=iputils-ping [pgrep]=procps [openssl]=openssl [curl]=curl [zbarimg]=zbar-tools
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
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
