#!/usr/bin/env bash
# Least privilege at every moment, end to end, as root, in network namespaces this script
# creates and removes (same layout as gateway.sh):
#
#   dev, ci, oth  --veth--  gw (ferryd --gateway, wireguard-go, nftables)  --veth--  in (ncat)
#
# Checks: with nft failing, ferryd puts no peer on the interface and /health is degraded;
# ports in policy open exactly those ports (IPv4 and IPv6); the gateway host is default
# deny (a rule `developers -> gateway tcp/2222` opens that port only; ICMP echo for all);
# a ruleset flushed from outside is restored within 2 s while a rule-less peer that widened
# its own AllowedIPs probes continuously and never gets through; a CI peer with a 20 s TTL
# loses access at 20 s (not before) with ferryd SIGKILLed 5 s after creating it, and is
# removed and audited as expired once ferryd is back; two concurrent gateway key rotations
# end with key file, interface and store agreeing.
#
# Usage: enforcement.sh FERRYD_BINARY. Exit 0 pass, 1 fail, 77 skipped (not root / no tun).
set -uo pipefail
FERRYD=${1:?usage: enforcement.sh FERRYD_BINARY}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): enforcement end-to-end"; exit 77
fi
for c in ip wg wg-quick wireguard-go nft ncat curl; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): enforcement end-to-end"; exit 77; }
done

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=ferry-egw-$S IN=ferry-ein-$S DEV=ferry-edv-$S OTH=ferry-eot-$S CI=ferry-eci-$S
WGIF=feg$S
TMP=$(mktemp -d /tmp/ferry-enf-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
SUB=$(( RANDOM % 200 + 20 ))
INTERNAL=172.30.$SUB.0/24
SERVICE=172.30.$SUB.2
INTERNAL6=fd98:$S::/64
SERVICE6=fd98:$S::2
FERRYD_PID=
FAILED=0
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api.sh"

cleanup() {
  if [ -n "${KEEP:-}" ] && [ $FAILED -ne 0 ]; then echo "KEEP: namespaces and $TMP left in place"; return; fi
  [ -n "$FERRYD_PID" ] && kill -9 $FERRYD_PID 2>/dev/null
  remove_namespaces $DEV $OTH $CI $IN $GW
  rm -f /var/run/wireguard/$WGIF.sock /var/run/wireguard/ed$S.sock /var/run/wireguard/eo$S.sock /var/run/wireguard/ec$S.sock
  if [ $FAILED -ne 0 ]; then echo "--- ferryd log"; grep -v "^\(r[a-z0-9]* 0x\|[ 0-9]*\[\)" $TMP/ferryd.err | tail -n 40 2>/dev/null; fi
  rm -rf $TMP
}
trap cleanup EXIT

add_namespaces $GW $IN $DEV $OTH $CI
link_clients $GW 192.168.8 $DEV $OTH $CI
link_internal $GW $IN 172.30.$SUB
inns $GW ip -6 addr add fd98:$S::1/64 dev i$S nodad
inns $IN ip -6 addr add $SERVICE6/64 dev eth0 nodad
inns $IN ncat -lk 8080 --sh-exec 'echo hello-8080' &
inns $IN ncat -lk 9090 --sh-exec 'echo hello-9090' &
inns $GW ncat -lk 2222 --sh-exec 'echo hello-2222' &
inns $GW ncat -lk 2223 --sh-exec 'echo hello-2223' &
# a UDP service on the gateway host (answers every datagram; ncat -u serves one peer only)
inns $GW python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5300))
while True:
    d, a = s.recvfrom(512); s.sendto(b"hello-5300\n", a)' &

# start_ferryd [PATH_PREFIX]: ferryd on the gateway host (a PATH prefix can shadow nft)
start_ferryd() {
  : >$TMP/ferryd.out
  ip netns exec $GW env PATH="${1:+$1:}$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go "$FERRYD" serve --data $TMP/data \
    --listen 127.0.0.1:$PORT --gateway $WGIF --gateway-name gw1 --reaper-period 1s >$TMP/ferryd.out 2>>$TMP/ferryd.err &
  FERRYD_PID=$!
  for _ in $(seq 100); do inns $GW curl -s -o /dev/null http://127.0.0.1:$PORT/health && break; sleep 0.1; done
}
# stop_ferryd: SIGKILL, then wait until its port is free
stop_ferryd() {
  kill -9 $FERRYD_PID 2>/dev/null; wait $FERRYD_PID 2>/dev/null; FERRYD_PID=
  for _ in $(seq 100); do inns $GW ss -Hltn "sport = :$PORT" | grep -q . || return 0; sleep 0.1; done
  fail "ferryd's port $PORT still in use after SIGKILL"
}
# answers_udp NS ADDRESS PORT -> 0 when a datagram gets hello-PORT back within 2 s (ncat -u
# gives up as soon as its input ends, too early for a busy machine)
answers_udp() {
  [ "$(inns $1 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
try: print(s.recv(512).decode().strip())
except OSError: pass' $2 $3 2>/dev/null)" = "hello-$3" ]
}
# connects NS ADDRESS PORT -> 0 when the banner hello-PORT comes back
connects() { [ "$(inns $1 ncat -w 1 -i 3 --recv-only $2 $3 2>/dev/null)" = "hello-$3" ]; }
eventually() {  # eventually TRIES CMD... -> 0 once CMD succeeds
  local tries=$1; shift
  for _ in $(seq $tries); do "$@" && return 0; sleep 0.5; done
  return 1
}

# --- ferryd where nft fails: no peer on the interface, /health degraded
mkdir -p $TMP/badbin
printf '#!/bin/sh\necho "nft: simulated failure" >&2\nexit 1\n' >$TMP/badbin/nft; chmod +x $TMP/badbin/nft
start_ferryd $TMP/badbin
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] || fail "no admin token printed"
for seg in developers ci others; do
  api $TOKEN POST /v1/segments "{\"name\":\"$seg\"}" >/dev/null; [ "$(code)" = 201 ] || fail "segment $seg: $(cat $TMP/body)"
done
api $TOKEN POST /v1/gateways "{\"name\":\"gw1\",\"endpoint\":\"192.168.77.1:51820\",\"subnets\":[\"$INTERNAL\",\"$INTERNAL6\"]}" >/dev/null
[ "$(code)" = 201 ] || fail "gateway: $(cat $TMP/body)"
newpeer $TOKEN dev1 developers; DEVID=$PID_ DEVKEY=$KEY_ DEVPUB=$PUB_
sleep 2
[ -n "$(inns $GW wg show $WGIF peers 2>/dev/null)" ] && fail "peers are on the interface although the firewall could not be loaded"
H=$(inns $GW curl -s -w ' %{http_code}' http://127.0.0.1:$PORT/health)
case "$H" in *'"status":"degraded"'*503) ;; *) fail "health is not degraded with nft failing: $H" ;; esac
M=$(inns $GW curl -s http://127.0.0.1:$PORT/metrics)
grep -q '^ferry_gateway_firewall_failures_total [1-9]' <<<"$M" || fail "no firewall failure counted: $(grep firewall <<<"$M")"
ok "nft failing: no peer on the interface, /health 503 degraded, failures counted"
stop_ferryd

# --- the real nft: the rules with ports and the gateway-host rule
start_ferryd
OVERLAY6=$(api $TOKEN GET /v1/network | field ipv6)
inns $IN ip -6 route add $OVERLAY6 via fd98:$S::1
rule() {  # rule JSON
  api $TOKEN POST /v1/policy/rules "$1" >/dev/null; [ "$(code)" = 201 ] || fail "rule $1: $(cat $TMP/body)"
}
rule "{\"from\":\"developers\",\"toSubnet\":\"$INTERNAL\",\"ports\":[\"tcp/8080\"]}"
rule "{\"from\":\"developers\",\"toSubnet\":\"$INTERNAL6\",\"ports\":[\"tcp/8080\"]}"
rule '{"from":"developers","toGateway":"gw1","ports":["tcp/2222"]}'
rule "{\"from\":\"ci\",\"toSubnet\":\"$SERVICE/32\",\"ports\":[\"tcp/8080\"]}"
api $TOKEN GET /v1/policy/rules >/dev/null; grep -q '"toGateway":"gw1"' $TMP/body && grep -q '"tcp/2222"' $TMP/body \
  || fail "the API does not show the gateway rule's ports: $(cat $TMP/body)"
eventually 20 sh -c "ip netns exec $GW wg show $WGIF peers | grep -qF '$DEVPUB'" || fail "peer not on the interface once nft works"
ok "nft working: the peer is on the interface"

up $DEV ed$S $DEVID "$DEVKEY" $TOKEN
eventually 20 connects $DEV $SERVICE 8080 || { inns $GW nft list ruleset; fail "developer cannot reach tcp/8080 on the internal subnet"; }
connects $DEV $SERVICE 9090 && fail "developer reached tcp/9090, which no rule opens"
connects $DEV $SERVICE6 8080 || fail "developer cannot reach tcp/8080 over IPv6"
connects $DEV $SERVICE6 9090 && fail "developer reached tcp/9090 over IPv6"
ok "ports: tcp/8080 open, tcp/9090 closed on the internal subnet (IPv4 and IPv6)"
GWADDR=$(api $TOKEN GET /v1/gateways | field ipv4)
connects $DEV $GWADDR 2222 || fail "developers -> gateway tcp/2222 does not open it"
connects $DEV $GWADDR 2223 && fail "developers reached tcp/2223 on the gateway host"
connects $DEV 172.30.$SUB.1 2223 && fail "developers reached tcp/2223 on the gateway host's internal address (through the tunnel)"
inns $DEV ping -c 1 -W 2 $GWADDR >/dev/null || fail "ICMP echo to the gateway does not work"
ok "gateway host: tcp/2222 open to developers, tcp/2223 closed (overlay and other addresses), ICMP echo answered"

CITOK=$(api $TOKEN POST /v1/tokens '{"name":"ci-runner","scope":"ci","segment":"ci","maxTTLSeconds":600}' | field secret)
[ "$(code)" = 201 ] || fail "ci token: $(cat $TMP/body)"
TTL=20
newpeer $CITOK job1 ci ",\"ttlSeconds\":$TTL"; CIID=$PID_; CREATED_MS=$(now_ms)
up $CI ec$S $CIID "$KEY_" $CITOK
eventually 20 connects $CI $SERVICE 8080 || fail "CI peer cannot reach its service"
inns $CI ping -c 1 -W 2 $GWADDR >/dev/null || fail "ICMP echo to the gateway does not work for the CI peer"
connects $CI $GWADDR 2222 && fail "a CI peer with a subnet-only rule opened tcp/2222 on the gateway host"
connects $CI $GWADDR 2223 && fail "a CI peer with a subnet-only rule opened tcp/2223 on the gateway host"
eventually 10 answers_udp $GW 127.0.0.1 5300 || fail "the gateway's UDP service does not answer locally (test wiring)"
answers_udp $CI $GWADDR 5300 && fail "a CI peer with a subnet-only rule reached udp/5300 on the gateway host"
answers_udp $DEV $GWADDR 5300 && fail "developers reached udp/5300 on the gateway host (their rule opens tcp/2222 only)"
ok "CI peer (subnet-only rule) reaches its service, not the gateway host's TCP or UDP ports; ICMP echo answered"

# --- drift: the ruleset flushed from outside while a rule-less peer probes continuously
newpeer $TOKEN other1 others; OTHID=$PID_
up $OTH eo$S $OTHID "$KEY_" $TOKEN
GWPUB=$(inns $OTH wg show eo$S peers | head -1)
inns $OTH wg set eo$S peer $GWPUB allowed-ips 0.0.0.0/0
inns $OTH ip route add $INTERNAL dev eo$S
inns $OTH ping -c 1 -W 2 $GWADDR >/dev/null || fail "the rule-less peer has no tunnel to the gateway"
( end=$(( $(now_ms) + 6000 ))
  while [ $(now_ms) -lt $end ]; do
    [ "$(inns $OTH ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-8080 ] && echo through
    sleep 0.05
  done >$TMP/probe ) &
PROBE=$!
sleep 1
for round in 1 2; do
  T0=$(now_ms)
  inns $GW nft flush ruleset
  until inns $GW nft list table inet ferry_$WGIF >/dev/null 2>&1; do
    [ $(( $(now_ms) - T0 )) -gt 2000 ] && fail "flushed ruleset not restored within 2 s"
    sleep 0.02
  done
  ok "flushed ruleset restored after $(( $(now_ms) - T0 )) ms (round $round)"
  sleep 1
done
wait $PROBE
[ -s $TMP/probe ] && fail "the rule-less peer got through $(wc -l <$TMP/probe) times while the ruleset was flushed"
connects $DEV $SERVICE 8080 || fail "developer lost access after the repairs"
ok "no probe of the rule-less peer got through while the ruleset was flushed and restored"

# --- TTL enforced by the data plane: ferryd SIGKILLed 5 s after the CI peer was created
while [ $(( $(now_ms) - CREATED_MS )) -lt 5000 ]; do sleep 0.1; done
stop_ferryd
LAST_OK=0 FIRST_FAIL=0
while [ $(( $(now_ms) - CREATED_MS )) -lt $(( TTL * 1000 + 2500 )) ]; do
  t=$(( $(now_ms) - CREATED_MS ))
  if [ "$(inns $CI ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-8080 ]; then LAST_OK=$t
  elif [ $FIRST_FAIL = 0 ]; then FIRST_FAIL=$t; fi
  sleep 0.2
done
[ $FIRST_FAIL -ge $(( (TTL - 1) * 1000 )) ] || fail "CI peer lost access at $FIRST_FAIL ms, before its TTL of $TTL s"
[ $LAST_OK -le $(( (TTL + 1) * 1000 )) ] || fail "CI peer still had access at $LAST_OK ms, past its TTL of $TTL s with ferryd down"
ok "with ferryd killed, the CI peer's access ended at ~$FIRST_FAIL ms (TTL $TTL s; last success at $LAST_OK ms)"
start_ferryd
eventually 20 sh -c "ip netns exec $GW curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/v1/peers/$CIID | grep -q 404" \
  || fail "expired CI peer not removed after ferryd came back"
api $TOKEN GET "/v1/audit?peer=$CIID" >/dev/null; grep -q '"action":"peer.expire"' $TMP/body || fail "expiry not audited after the restart"
ok "after the restart the expired CI peer is removed and audited as expired"

# --- two concurrent gateway key rotations end consistent
GWID=$(api $TOKEN GET /v1/gateways | field id)
ROTATIONS=
for i in 1 2; do
  inns $GW curl -s -o $TMP/rot$i -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{}' http://127.0.0.1:$PORT/v1/gateways/$GWID/rotate-key >$TMP/rotcode$i &
  ROTATIONS="$ROTATIONS $!"
done
wait $ROTATIONS; sleep 2
FILEPUB=$(wg pubkey <$TMP/data/gateway-$WGIF.key)
IFPUB=$(inns $GW wg show $WGIF public-key)
STOREPUB=$(api $TOKEN GET /v1/gateways/$GWID | field publicKey)
[ "$FILEPUB" = "$IFPUB" ] && [ "$IFPUB" = "$STOREPUB" ] || fail "after two concurrent rotations: file $FILEPUB, interface $IFPUB, store $STOREPUB"
inns $GW curl -sf http://127.0.0.1:$PORT/health >/dev/null || fail "ferryd unhealthy after two concurrent rotations"
ok "two concurrent rotations ($(cat $TMP/rotcode1) and $(cat $TMP/rotcode2)): key file, interface and store agree"
echo "PASS: enforcement end-to-end"
