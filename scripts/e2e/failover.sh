#!/usr/bin/env bash
# Gateway failover end to end, as root, in network namespaces this script creates and removes:
#
#   co (ferryd serve)   g1, g2 (ferryd gateway, ferry-wg, nftables)   c (ferry up)
#        \__________________ lan: a bridge 192.168.L.0/24 _________________/
#   g1, g2  --  int: a bridge 172.29.S.0/24  --  in (ncat: answers with the caller's address)
#
# Two remote gateways serve one internal subnet (g1 priority 10, g2 priority 20, both
# masquerading, so the service sees which one forwarded). Checks: the client reaches the
# service through g1; g1 killed (SIGKILL, its ferry-wg too: the host is gone) -> traffic
# through g2 within 10 s; g1 started again -> traffic back through g1 once its hold-down has
# passed, not before; g1's link cut -> g2 within 10 s; link back -> g1 again. The client's
# routes (which gateway's AllowedIPs hold the subnet, sampled every 250 ms) move exactly
# four times, g2 is never marked down, and the audit log has g1's two downs and two ups.
# Each gateway's --health-listen answers /health 200 and /metrics once up; g1's turns 503
# (no answer from a coordinator) while its link is cut. g2 runs with /proc/sys read-only
# and forwarding already on, as in the Kubernetes gateway pod.
#
# Usage: failover.sh FERRYD FERRY FERRY_WG. Exit 0 pass, 1 fail, 77 skipped (not root / no tun).
set -uo pipefail
FERRYD=${1:?usage: failover.sh FERRYD FERRY FERRY_WG}
FERRY=${2:?usage: failover.sh FERRYD FERRY FERRY_WG}
FERRY_WG=${3:?usage: failover.sh FERRYD FERRY FERRY_WG}
WHAT="gateway failover end-to-end"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): $WHAT"; exit 77
fi
for c in ip wg nft ncat; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): $WHAT"; exit 77; }
done

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
CO=ff-co-$S G1=ff-g1-$S G2=ff-g2-$S C=ff-c-$S IN=ff-in-$S SW=ff-sw-$S
IF1=ffa$S IF2=ffb$S IFC=ffc$S
TMP=$(mktemp -d /tmp/ferry-failover-e2e-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
L=$(( RANDOM % 100 + 120 ))
SUB=$(( RANDOM % 200 + 20 ))
LAN=192.168.$L
INTERNAL=172.29.$SUB.0/24
SERVICE=172.29.$SUB.2
VIA1=172.29.$SUB.1 VIA2=172.29.$SUB.3
HOLD_MS=5000
FAILED=0
SAMPLER=
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN=

cleanup() {
  [ -n "$SAMPLER" ] && kill -9 $SAMPLER 2>/dev/null
  remove_namespaces $C $G1 $G2 $IN $CO $SW
  for i in $IF1 $IF2 $IFC; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    echo "--- ferryd log"; tail -n 40 $TMP/ferryd.err 2>/dev/null
    for f in g1 g2; do echo "--- $f log"; tail -n 25 $TMP/$f.log 2>/dev/null; done
    echo "--- agent log"; tail -n 30 $TMP/c/agent.log 2>/dev/null
    echo "--- route moves"; cat $TMP/moves 2>/dev/null
  fi
  rm -rf $TMP
}
trap cleanup EXIT

# --- two switches (bridges in a namespace of their own) and the hosts on them
add_namespaces $SW $CO $G1 $G2 $C $IN
switch_bridges lan int
attach $CO lan eth0 $LAN.10/24
attach $G1 lan eth0 $LAN.1/24
attach $G2 lan eth0 $LAN.2/24
attach $C lan eth0 $LAN.20/24
attach $G1 int eth1 $VIA1/24
attach $G2 int eth1 $VIA2/24
attach $IN int eth0 $SERVICE/24
inns $IN ncat -lk 8080 --sh-exec 'echo "from $NCAT_REMOTE_ADDR"' &

# --- the coordinator: no gateway of its own; gateways down after 3 s without heartbeat
ip netns exec $CO "$FERRYD" serve --data $TMP/data --listen $LAN.10:$PORT --tls auto \
  --gateway-down-after 3s --gateway-hold-down $((HOLD_MS / 1000))s >$TMP/ferryd.out 2>$TMP/ferryd.err &
for _ in $(seq 300); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
FP=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] && [ -n "$FP" ] || fail "ferryd printed no admin token or fingerprint"
URL=https://$LAN.10:$PORT
admin() { inns $CO env FERRY_URL=$URL FERRY_TOKEN=$TOKEN FERRY_FINGERPRINT=$FP "$FERRY" "$@"; }
gateway_id() { admin gateways ls --json | tr -d '\n' | grep -o "{[^{}]*\"name\" : \"$1\"[^{}]*}" | grep -o '"id" : "[^"]*"' | cut -d'"' -f4; }

# --- two gateways for one subnet: keys made on their hosts, tokens scoped to each
admin segments add clients >/dev/null || fail "segment"
for n in 1 2; do
  ifn=$([ $n = 1 ] && echo $IF1 || echo $IF2)
  key=$("$FERRYD" gateway --state $TMP/g$n --interface $ifn --print-public-key) || fail "gateway key g$n"
  admin gateways add g$n --endpoint $LAN.$n:51820 --subnet $INTERNAL --masquerade --public-key $key --priority $((n * 10)) >/dev/null \
    || fail "gateways add g$n"
  admin gateways token g$n >$TMP/g$n.token 2>/dev/null || fail "gateway token g$n"
done
admin policy add clients --to-subnet $INTERNAL >/dev/null || fail "policy"
ID1=$(gateway_id g1) ID2=$(gateway_id g2)
[ -n "$ID1" ] && [ -n "$ID2" ] || fail "no gateway ids"
# A gateway token reads its own gateway's map and nothing else.
T1=$(cat $TMP/g1.token)
[ "$(inns $CO curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T1" $URL/v1/peers/$ID2/netmap)" = 404 ] \
  || fail "g1's token read g2's map"
[ "$(inns $CO curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T1" $URL/v1/peers)" = 403 ] \
  || fail "g1's token listed peers"

# g2 runs as in an unprivileged container (dist/kubernetes/gateway/): /proc/sys read-only
# in its own mount namespace, forwarding switched on beforehand (there: by an init
# container); ferryd must leave the sysctls alone. g1 sets them itself.
RO_SYS=(unshare -m --propagation private sh -c 'mount --bind -o ro /proc/sys /proc/sys && exec "$@"' ro-sys)
inns $G2 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || fail "forwarding on in g2"
inns $G2 "${RO_SYS[@]}" sysctl -qw net.ipv4.ip_forward=1 2>/dev/null && fail "/proc/sys is writable under RO_SYS"
start_gateway() {  # start_gateway N
  local ns=$([ $1 = 1 ] && echo $G1 || echo $G2) ifn=$([ $1 = 1 ] && echo $IF1 || echo $IF2) id=$([ $1 = 1 ] && echo $ID1 || echo $ID2)
  local wrap=(); [ $1 = 2 ] && wrap=("${RO_SYS[@]}")
  # In a subshell: not a job of this shell, whose SIGKILL below bash would report.
  ( ip netns exec $ns env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "${wrap[@]}" "$FERRYD" gateway --coordinator $URL --fingerprint $FP \
      --id $id --token-file $TMP/g$1.token --interface $ifn --state $TMP/g$1 --health-listen 127.0.0.1:9101 >>$TMP/g$1.log 2>&1 & )
}
start_gateway 1
start_gateway 2
for _ in $(seq 150); do
  [ "$(admin gateways ls --json | grep -c '"status" : "up"')" = 2 ] && break; sleep 0.2
done
[ "$(admin gateways ls --json | grep -c '"status" : "up"')" = 2 ] || fail "the gateways did not report up"
ok "two gateways (ferryd gateway, gateway-scoped tokens) up for $INTERNAL"
# Each gateway's own /health and /metrics (--health-listen, in its namespace): converged,
# firewall loaded, the coordinator reached.
health() { inns $1 curl -s -m 2 -w ' %{http_code}' http://127.0.0.1:9101/health; }
for ns in $G1 $G2; do
  for _ in $(seq 50); do [[ "$(health $ns)" == *'"ok"'*' 200' ]] && break; sleep 0.2; done
  [[ "$(health $ns)" == *'"ok"'*' 200' ]] || fail "$ns: /health is not 200 ok: $(health $ns)"
  M=$(inns $ns curl -s -m 2 http://127.0.0.1:9101/metrics)
  grep -q '^ferry_gateway_healthy 1$' <<<"$M" && grep -qF "ferry_gateway_coordinator_active{url=\"$URL\"} 1" <<<"$M" \
    && grep -q '^ferry_gateway_firewall_failures_total 0$' <<<"$M" || fail "$ns: /metrics: $M"
done
ok "both gateways' /health answer 200 and /metrics name the coordinator"

# --- a client
E=$(admin tokens add enrol-c --scope enroll --segment clients --owner c 2>/dev/null) || fail "enrol token"
inns $C "$FERRY" join $URL --token $E --fingerprint $FP --name c1 --interface $IFC --state $TMP/c >/dev/null || fail "ferry join"
inns $C "$FERRY" up --state $TMP/c --userspace $FERRY_WG --background 2>$TMP/up.err || { cat $TMP/up.err; fail "ferry up"; }
probe() { inns $C ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null; }
wait_via() {  # wait_via ADDRESS SECONDS -> 0 once the service sees ADDRESS
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while [ $(now_ms) -lt $deadline ]; do
    [ "$(probe)" = "from $1" ] && return 0
    sleep 0.2
  done
  return 1
}
wait_via $VIA1 30 || fail "the client does not reach the service through g1"
ok "the client reaches $SERVICE through g1 (priority 10)"

# Which gateway's AllowedIPs hold the subnet on the client, each time it changes.
KEY1=$(admin gateways ls --json | tr -d '\n' | grep -o "{[^{}]*\"name\" : \"g1\"[^{}]*}" | grep -o '"publicKey" : "[^"]*"' | cut -d'"' -f4)
( last=
  while :; do
    cur=$(inns $C wg show $IFC allowed-ips 2>/dev/null | awk -v s=$INTERNAL '{for (i = 2; i <= NF; i++) if ($i == s) print $1}')
    if [ -n "$cur" ] && [ "$cur" != "$last" ]; then
      [ "$cur" = "$KEY1" ] && echo "$(now_ms) g1" >>$TMP/moves || echo "$(now_ms) g2" >>$TMP/moves
      last=$cur
    fi
    sleep 0.25
  done ) &
SAMPLER=$!

failover() {  # failover HOW: g1 is gone; the service must be reached through g2 within 10 s
  local t0=$(now_ms)
  wait_via $VIA2 15 || fail "$1: traffic did not move to g2"
  local took=$(( $(now_ms) - t0 ))
  [ $took -le 10000 ] || fail "$1: traffic moved to g2 only after $took ms (more than 10 s)"
  ok "$1: the client's traffic goes through g2 after $took ms"
}
failback() {  # failback HOW: g1 is back; traffic returns, not before the hold-down
  local t0=$(now_ms)
  wait_via $VIA1 30 || fail "$1: traffic did not move back to g1"
  local took=$(( $(now_ms) - t0 ))
  [ $took -ge $((HOLD_MS - 1000)) ] || fail "$1: traffic moved back after $took ms, before the hold-down of $HOLD_MS ms"
  ok "$1: traffic back through g1 after $took ms (hold-down $HOLD_MS ms)"
}

# --- the active gateway's host dies: every process in g1 killed at once (SIGKILL)
for pid in $(ip netns pids $G1); do kill -9 $pid 2>/dev/null; done
failover "g1 killed"
start_gateway 1
failback "g1 restarted"

# --- the active gateway's link cut, then restored
inns $G1 ip link set eth0 down
failover "g1's link cut"
# g1 itself tells: its /health turns 503 once no coordinator answered for 10 s.
for _ in $(seq 100); do [[ "$(health $G1)" == *'no answer from a coordinator for '*' 503' ]] && break; sleep 0.2; done
[[ "$(health $G1)" == *'no answer from a coordinator for '*' 503' ]] || fail "g1's /health with its link cut: $(health $G1)"
ok "g1's /health: 503, no answer from a coordinator"
inns $G1 ip link set eth0 up
failback "g1's link restored"
sleep 2
# SIGKILL: a test runner may start this script with SIGTERM blocked, which its children inherit.
kill -9 $SAMPLER 2>/dev/null; wait $SAMPLER 2>/dev/null; SAMPLER=

MOVES=$(cut -d' ' -f2 $TMP/moves | tr '\n' ' ')
[ "$MOVES" = "g1 g2 g1 g2 g1 " ] || fail "the client's routes moved as [$MOVES], expected g1 g2 g1 g2 g1 (no flapping)"
ok "the client's routes moved exactly four times: $MOVES"
AUDIT=$(admin audit --limit 1000 --json)
DOWNS=$(echo "$AUDIT" | grep -c '"action" : "gateway.down"')
UPS=$(echo "$AUDIT" | grep -c '"action" : "gateway.up"')
[ "$DOWNS" = 2 ] && [ "$UPS" = 2 ] || fail "audit: $DOWNS gateway.down and $UPS gateway.up, expected 2 and 2"
[ "$(admin audit --peer $ID2 --json | grep -c '"action" : "gateway.down"')" = 0 ] || fail "g2 was marked down"
ok "audit: g1 went down twice and came back twice; g2 never went down"
echo "PASS: $WHAT"
