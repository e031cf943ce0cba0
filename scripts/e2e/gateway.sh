#!/usr/bin/env bash
# Gateway end to end, as root, in network namespaces this script creates and removes:
#
#   dev, oth, ci  --veth--  gw (ferryd --gateway, wireguard-go, nftables)  --veth--  in (ncat)
#
# ferryd keeps the gateway's WireGuard interface and firewall equal to its store. Checks:
# a developer peer reaches the internal service through the split tunnel using its
# rendered wg-quick config; a peer whose segment has no rule to the subnet cannot reach it,
# also after adding the route itself; an ephemeral CI peer works, then stops after its TTL
# (and is gone from the API, its removal audited); a disabled peer loses access.
#
# Usage: [FERRY_WG_BACKEND=uapi|wg] [GATEWAY_WG=wireguard-go|PATH/ferry-wg] gateway.sh FERRYD_BINARY. Exit 0 pass, 1 fail, 77 skipped
# (not root / no tun). The backend is how ferryd drives the interface: the UAPI socket
# (default with wireguard-go) or wg(8) (what it uses over the kernel module). GATEWAY_WG is
# the userspace WireGuard on the gateway (clients always run wireguard-go).
set -uo pipefail
FERRYD=${1:?usage: gateway.sh FERRYD_BINARY}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): gateway end-to-end"; exit 77
fi
for c in ip wg wg-quick wireguard-go nft ncat curl; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): gateway end-to-end"; exit 77; }
done

GATEWAY_WG=${GATEWAY_WG:-wireguard-go}
S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=ferry-gw-$S IN=ferry-in-$S DEV=ferry-dev-$S OTH=ferry-oth-$S CI=ferry-ci-$S
WGIF=fgw$S
TMP=$(mktemp -d /tmp/ferry-e2e-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
SUB=$(( RANDOM % 200 + 20 ))        # internal subnet 172.31.SUB.0/24
INTERNAL=172.31.$SUB.0/24
SERVICE=172.31.$SUB.2
INTERNAL6=fd99:$S::/64
SERVICE6=fd99:$S::2
FAILED=0
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api.sh"

cleanup() {
  remove_namespaces $DEV $OTH $CI $IN $GW
  rm -f /var/run/wireguard/$WGIF.sock /var/run/wireguard/fd$S.sock /var/run/wireguard/fo$S.sock /var/run/wireguard/fc$S.sock
  if [ $FAILED -ne 0 ]; then echo "--- ferryd log"; tail -n 60 $TMP/ferryd.err 2>/dev/null; fi
  rm -rf $TMP
}
trap cleanup EXIT

# --- the namespaces and links
add_namespaces $GW $IN $DEV $OTH $CI
link_clients $GW 192.168.7 $DEV $OTH $CI
link_internal $GW $IN 172.31.$SUB
inns $GW ip -6 addr add fd99:$S::1/64 dev i$S nodad
inns $IN ip -6 addr add $SERVICE6/64 dev eth0 nodad
inns $IN ncat -lk 8080 --sh-exec 'echo hello-from-internal' &

# --- ferryd on the gateway host
inns $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=$GATEWAY_WG FERRY_WG_BACKEND=${FERRY_WG_BACKEND:-auto} "$FERRYD" serve --data $TMP/data \
  --listen 127.0.0.1:$PORT --gateway $WGIF --gateway-name gw1 --reaper-period 1s >$TMP/ferryd.out 2>$TMP/ferryd.err &
for _ in $(seq 100); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] || fail "no admin token printed"
for _ in $(seq 50); do inns $GW curl -sf http://127.0.0.1:$PORT/health >/dev/null && break; sleep 0.1; done

for seg in developers ci others; do
  api $TOKEN POST /v1/segments "{\"name\":\"$seg\"}" >/dev/null; [ "$(code)" = 201 ] || fail "segment $seg: $(cat $TMP/body)"
done
api $TOKEN POST /v1/gateways "{\"name\":\"gw1\",\"endpoint\":\"192.168.77.1:51820\",\"subnets\":[\"$INTERNAL\",\"$INTERNAL6\"]}" >/dev/null
[ "$(code)" = 201 ] || fail "gateway: $(cat $TMP/body)"
OVERLAY6=$(api $TOKEN GET /v1/network | field ipv6)
inns $IN ip -6 route add $OVERLAY6 via fd99:$S::1
api $TOKEN POST /v1/policy/rules "{\"from\":\"developers\",\"toSubnet\":\"$INTERNAL6\"}" >/dev/null
[ "$(code)" = 201 ] || fail "rule v6: $(cat $TMP/body)"
for seg in developers ci; do
  api $TOKEN POST /v1/policy/rules "{\"from\":\"$seg\",\"toSubnet\":\"$INTERNAL\"}" >/dev/null
  [ "$(code)" = 201 ] || fail "rule: $(cat $TMP/body)"
done
ok "network set up through the API"

reach() {  # reach NS TRIES [ADDRESS] -> 0 when the service answers
  local ns=$1 tries=${2:-10} addr=${3:-$SERVICE}
  for _ in $(seq $tries); do
    [ "$(inns $ns ncat -w 1 -i 3 --recv-only $addr 8080 2>/dev/null)" = hello-from-internal ] && return 0
    sleep 0.5
  done
  return 1
}
# on_gateway PUBKEY present|absent T0 -> milliseconds from T0 until the gateway's interface
# agrees (fails the test past one second: ferryd applies changes within one)
on_gateway() {
  local pub=$1 want=$2 t0=$3 ms
  for _ in $(seq 400); do
    if inns $GW wg show $WGIF peers | grep -qF "$pub"; then [ $want = present ] && break; else [ $want = absent ] && break; fi
    sleep 0.005
  done
  ms=$(( $(now_ms) - t0 ))
  [ $ms -le 1000 ] || fail "gateway interface took $ms ms to have the peer $want (limit 1000)"
  echo $ms
}
# --- a developer reaches the internal service through the split tunnel
newpeer $TOKEN dev1 developers; DEVID=$PID_ DEVPUB=$PUB_
ok "created peer on the gateway interface after $(on_gateway $DEVPUB present $T0_) ms"
up $DEV fd$S $DEVID "$KEY_" $TOKEN
grep -q "^DNS = 10.10.0.1, ferry.ferry.internal$" $TMP/fd$S.dns || fail "the config lacks DNS = GATEWAY, ZONE: $(cat $TMP/fd$S.dns)"
grep -q "AllowedIPs = .*$INTERNAL" $TMP/fd$S.conf || fail "split tunnel config lacks the internal subnet"
reach $DEV 20 || { inns $GW wg show; inns $GW nft list ruleset; fail "developer cannot reach the internal service"; }
ok "developer reaches $SERVICE:8080 through the gateway (split tunnel)"
reach $DEV 10 $SERVICE6 || fail "developer cannot reach the internal service over IPv6"
ok "developer reaches [$SERVICE6]:8080 over IPv6 (mirrored overlay address)"
if command -v dig >/dev/null; then
  DEVIP=$(api $TOKEN GET /v1/peers/$DEVID | field ipv4)
  for proto in +notcp +tcp; do
    [ "$(inns $DEV dig +short +time=2 +tries=2 $proto @10.10.0.1 dev1.developers.ferry.ferry.internal)" = "$DEVIP" ] \
      || fail "dig $proto through the tunnel: dev1's name does not resolve to $DEVIP"
  done
  ok "dig through the tunnel (UDP and TCP) at the gateway's overlay address: dev1.developers.ferry.ferry.internal is $DEVIP"
fi

# --- a peer whose segment has no rule cannot reach it, even with its own route
newpeer $TOKEN other1 others; OTHID=$PID_
up $OTH fo$S $OTHID "$KEY_" $TOKEN
grep -q "$INTERNAL" $TMP/fo$S.conf && fail "the config of a segment without a rule routes the internal subnet"
reach $OTH 2 && fail "peer without a rule reached the internal service"
reach $OTH 2 $SERVICE6 && fail "peer without a rule reached the internal service over IPv6"
GWPUB=$(inns $OTH wg show fo$S peers | head -1)
inns $OTH wg set fo$S peer $GWPUB allowed-ips 0.0.0.0/0
inns $OTH ip route add $INTERNAL dev fo$S
inns $OTH ping -c 1 -W 2 10.10.0.1 >/dev/null || fail "other peer has no tunnel to the gateway at all"
[ "$(inns $OTH wg show fo$S latest-handshakes | awk '{print $2}')" != 0 ] || fail "other peer never completed a handshake"
reach $OTH 4 && fail "peer without a rule reached the internal service by adding the route itself"
ok "peer without a rule is refused, also with a route it added itself (handshake done, firewall drops)"

# --- an ephemeral CI peer works, then stops after its TTL
CITOK=$(api $TOKEN POST /v1/tokens '{"name":"ci-runner","scope":"ci","segment":"ci","maxTTLSeconds":60}' | field secret)
[ "$(code)" = 201 ] || fail "ci token: $(cat $TMP/body)"
api $CITOK POST /v1/peers "{\"name\":\"too-long\",\"publicKey\":\"$(wg genkey | wg pubkey)\",\"ttlSeconds\":61}" >/dev/null
[ "$(code)" = 403 ] || fail "ci token exceeded its max TTL: $(code)"
TTL=8
newpeer $CITOK job1 ci ",\"ttlSeconds\":$TTL"; CIID=$PID_; CREATED=$(date +%s)
up $CI fc$S $CIID "$KEY_" $CITOK
reach $CI 20 || fail "ephemeral CI peer cannot reach the internal service"
ok "ephemeral CI peer reaches the service"
while [ $(( $(date +%s) - CREATED )) -lt $((TTL - 2)) ]; do
  reach $CI 1 || fail "ephemeral CI peer lost access before its TTL"
  sleep 1
done
sleep $(( TTL + 3 - ($(date +%s) - CREATED) ))
reach $CI 2 && fail "ephemeral CI peer still reaches the service after TTL + reaper period"
api $TOKEN GET /v1/peers/$CIID >/dev/null; [ "$(code)" = 404 ] || fail "expired peer still in the API ($(code))"
api $TOKEN GET "/v1/audit?peer=$CIID" | grep -q '"action":"peer.expire"' || fail "expiry not audited"
inns $GW wg show $WGIF peers | grep -q "$(echo "$KEY_" | wg pubkey)" && fail "expired peer still on the gateway interface"
ok "ephemeral CI peer lost access after its TTL; removed from the store, the interface and audited"

# --- a disabled peer loses access within seconds
T0=$(now_ms)
api $TOKEN PATCH /v1/peers/$DEVID '{"enabled":false}' >/dev/null; [ "$(code)" = 200 ] || fail "disable: $(cat $TMP/body)"
ok "disabled peer off the gateway interface after $(on_gateway $DEVPUB absent $T0) ms"
sleep 0.5
reach $DEV 2 && fail "disabled peer still reaches the service"
api $TOKEN PATCH /v1/peers/$DEVID '{"enabled":true}' >/dev/null
reach $DEV 20 || fail "re-enabled peer cannot reach the service"
ok "disabled peer loses access; re-enabled regains it"

# --- gateway key rotation: the peer's rendered config follows
OLDPUB=$(inns $GW wg show $WGIF public-key)
GWID=$(api $TOKEN GET /v1/gateways | field id)
api $TOKEN POST /v1/gateways/$GWID/rotate-key '{}' >/dev/null; [ "$(code)" = 200 ] || fail "rotate: $(cat $TMP/body)"
sleep 1.5
NEWPUB=$(inns $GW wg show $WGIF public-key)
[ "$OLDPUB" != "$NEWPUB" ] || fail "gateway interface key unchanged after rotation"
api $TOKEN GET /v1/peers/$DEVID/config | grep -q "PublicKey = $NEWPUB" || fail "peer config does not follow the new gateway key"
[ "$(stat -c %a $TMP/data/gateway-$WGIF.key)" = 600 ] || fail "gateway key file not 0600"
ok "gateway key rotated on the interface and in rendered configs; key file 0600"

T0=$(now_ms)
api $TOKEN DELETE /v1/peers/$OTHID >/dev/null; [ "$(code)" = 204 ] || fail "delete: $(code)"
OTHPUB=$(inns $OTH wg show fo$S public-key)
ok "deleted peer off the gateway interface after $(on_gateway $OTHPUB absent $T0) ms"

inns $GW curl -sf http://127.0.0.1:$PORT/metrics | grep -q '^wireguard_latest_handshake_seconds{' || fail "no wireguard metrics"
ok "metrics expose the interface's peers"
echo "PASS: gateway end-to-end (backend ${FERRY_WG_BACKEND:-auto}, gateway $(basename $GATEWAY_WG))"
