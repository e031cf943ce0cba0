#!/usr/bin/env bash
# Benchmark (not a test): time from the API call creating a peer to (a) the peer being on
# the gateway's interface and (b) its first handshake with the gateway. ferryd --gateway
# over wireguard-go in one namespace, a client in another (root, /dev/net/tun).
#
# Usage: scripts/bench/handshake.sh [FERRYD_BINARY (default .build/release/ferryd)] [ROUNDS (default 10)]
set -uo pipefail
FERRYD=${1:-.build/release/ferryd}
ROUNDS=${2:-10}
[ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] || { echo "SKIPPED (needs root and /dev/net/tun)"; exit 77; }
S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=ferry-bgw-$S CL=ferry-bcl-$S WGIF=fbg$S CLIF=fbc$S
TMP=$(mktemp -d /tmp/ferry-bench-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  for ns in $CL $GW; do for pid in $(ip netns pids $ns 2>/dev/null); do kill $pid 2>/dev/null; done; done
  sleep 0.3
  for ns in $CL $GW; do for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 $pid 2>/dev/null; done; ip netns del $ns 2>/dev/null; done
  rm -f /var/run/wireguard/$WGIF.sock /var/run/wireguard/$CLIF.sock; rm -rf $TMP
}
trap cleanup EXIT
ms() { date +%s%3N; }
ip netns add $GW && ip netns add $CL
ip -n $GW link set lo up; ip -n $CL link set lo up
ip link add vb$S netns $GW type veth peer name eth0 netns $CL
ip -n $GW addr add 192.168.79.1/30 dev vb$S; ip -n $GW link set vb$S up
ip -n $CL addr add 192.168.79.2/30 dev eth0; ip -n $CL link set eth0 up
ip netns exec $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go "$FERRYD" serve --data $TMP/data --listen 127.0.0.1:$PORT \
  --gateway $WGIF --gateway-name gw1 --log-level warning >$TMP/out 2>$TMP/err &
for _ in $(seq 100); do grep -q listening $TMP/out 2>/dev/null && break; sleep 0.1; done
T=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/out | head -1)
api() { ip netns exec $GW curl -sS -H "Authorization: Bearer $T" -H 'Content-Type: application/json' -X "$1" "http://127.0.0.1:$PORT$2" ${3:+-d "$3"}; }
api POST /v1/segments '{"name":"developers"}' >/dev/null
api POST /v1/gateways '{"name":"gw1","endpoint":"192.168.79.1:51820"}' >/dev/null
sleep 1
GWPUB=$(ip netns exec $GW wg show $WGIF public-key)
ip netns exec $CL wireguard-go $CLIF >/dev/null 2>&1
echo "round  API→on-interface  API→handshake   (ms)"
applied=() shaken=()
for r in $(seq $ROUNDS); do
  KEY=$(wg genkey); PUB=$(echo "$KEY" | wg pubkey); echo "$KEY" > $TMP/key
  ip netns exec $CL wg set $CLIF private-key $TMP/key
  t0=$(ms)
  ID=$(api POST /v1/peers "{\"name\":\"b$r\",\"segment\":\"developers\",\"publicKey\":\"$PUB\"}" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  ip netns exec $CL wg set $CLIF peer $GWPUB endpoint 192.168.79.1:51820 allowed-ips 10.10.0.1/32 persistent-keepalive 1
  ip netns exec $CL ip link set $CLIF up
  a=""; h=""
  for _ in $(seq 2000); do
    [ -z "$a" ] && ip netns exec $GW wg show $WGIF peers | grep -q "$PUB" && a=$(( $(ms) - t0 ))
    hs=$(ip netns exec $GW wg show $WGIF latest-handshakes | awk -v k="$PUB" '$1==k {print $2}')
    if [ -n "$hs" ] && [ "$hs" != 0 ]; then h=$(( $(ms) - t0 )); break; fi
    sleep 0.005
  done
  printf "%5d  %16s  %13s\n" $r "${a:-?}" "${h:-?}"
  applied+=("${a:-99999}"); shaken+=("${h:-99999}")
  api DELETE /v1/peers/$ID >/dev/null
  ip netns exec $CL wg set $CLIF peer $GWPUB remove
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: API→on-interface $(median "${applied[@]}") ms, API→handshake $(median "${shaken[@]}") ms (includes curl and wg(8) process start-up)"
