#!/usr/bin/env bash
# Agent end to end, as root, in network namespaces this script creates and removes:
#
#   d1, d2, ci  --veth--  gw (ferryd --tls auto --gateway, ferry-wg, nftables)  --veth--  in (ncat)
#
# Two developer machines `ferry join` (pinning ferryd's certificate) and `ferry up` (ferry-wg
# as their WireGuard: this kernel has no module); a CI job runs `ferry ci up --ttl 20s`.
# Checks: developers reach the internal service behind the gateway; developer-to-developer
# traffic works only once policy allows it (through the hub gateway), and the change reaches
# the agents without disturbing their live session; a disabled peer loses access within 5 s
# and regains it when enabled; the CI peer is gone from the coordinator and the gateway after
# its TTL, and `ferry ci down` deletes another at once; with ferryd killed the tunnels keep
# working, and after its restart a change reaches the agents; `ferry down` removes the
# interface and stops the daemon.
#
# Usage: agent.sh FERRYD FERRY FERRY_WG. Exit 0 pass, 1 fail, 77 skipped (not root / no tun).
set -uo pipefail
FERRYD=${1:?usage: agent.sh FERRYD FERRY FERRY_WG}
FERRY=${2:?usage: agent.sh FERRYD FERRY FERRY_WG}
FERRY_WG=${3:?usage: agent.sh FERRYD FERRY FERRY_WG}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): agent end-to-end"; exit 77
fi
for c in ip wg nft ncat ping; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): agent end-to-end"; exit 77; }
done

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=fa-gw-$S IN=fa-in-$S D1=fa-d1-$S D2=fa-d2-$S CI=fa-ci-$S D3=fa-d3-$S D4=fa-d4-$S NET=fa-net-$S
WGIF=fgw$S IF1=fda$S IF2=fdb$S IF3=fdc$S IF4=fdd$S IFC=fci$S IFC2=fcj$S
TMP=$(mktemp -d /tmp/ferry-agent-e2e-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
SUB=$(( RANDOM % 200 + 20 ))
INTERNAL=172.30.$SUB.0/24
SERVICE=172.30.$SUB.2
FAILED=0
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN=

cleanup() {
  remove_namespaces $D1 $D2 $D3 $D4 $CI $IN $NET $GW
  for i in $WGIF $IF1 $IF2 $IF3 $IF4 $IFC $IFC2; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    echo "--- ferryd log"; tail -n 30 $TMP/ferryd.err 2>/dev/null
    for d in d1 d2 d3 d4; do echo "--- agent $d log"; tail -n 30 $TMP/$d/agent.log 2>/dev/null; done
  fi
  rm -rf $TMP
}
trap cleanup EXIT

# --- namespaces and links (scripts/e2e/lib.sh, as in gateway.sh)
add_namespaces $GW $IN $NET $D1 $D2 $CI $D3 $D4
link_clients $GW 192.168.8 $D1 $D2 $CI $D3 $D4
link_internal $GW $IN 172.30.$SUB
inns $IN ncat -lk 8080 --sh-exec 'echo hello-from-internal' &
# "the internet" beyond the gateway (a documentation prefix, only inside these namespaces)
ip link add n$S netns $GW type veth peer name eth0 netns $NET || fail "veth net"
inns $GW ip addr add 203.0.113.1/24 dev n$S
inns $GW ip link set n$S up
inns $NET ip addr add 203.0.113.2/24 dev eth0
inns $NET ip link set eth0 up
inns $NET ip route add 10.10.0.0/16 via 203.0.113.1
inns $NET ip route add 192.168.0.0/16 via 203.0.113.1
inns $NET ncat -lk 8080 --sh-exec 'echo "from $NCAT_REMOTE_ADDR"' &

# --- ferryd with TLS, hosting the gateway interface on ferry-wg
start_ferryd() {
  # Not through inns (a function runs in a subshell): $! must be ferryd itself (ip and env exec it).
  ip netns exec $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "$FERRYD" serve --data $TMP/data --listen 192.168.77.1:$PORT \
    --tls auto --gateway $WGIF --gateway-name gw1 --reaper-period 1s >>$TMP/ferryd.out 2>>$TMP/ferryd.err &
  FERRYD_PID=$!
  for _ in $(seq 150); do [ "$(grep -c 'listening on' $TMP/ferryd.out 2>/dev/null)" -ge "$1" ] && break; sleep 0.1; done
  for _ in $(seq 50); do inns $GW curl -skf https://192.168.77.1:$PORT/health >/dev/null && return 0; sleep 0.1; done
  fail "ferryd did not come up"
}
start_ferryd 1
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
FP=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] && [ -n "$FP" ] || fail "no admin token or fingerprint printed"
URL=https://192.168.77.1:$PORT
admin() { inns $GW env FERRY_URL=$URL FERRY_TOKEN=$TOKEN FERRY_FINGERPRINT=$FP "$FERRY" "$@"; }
json_field() { grep -o "\"$1\" : \"[^\"]*\"" | head -1 | cut -d'"' -f4; }

admin segments add developers >/dev/null || fail "segment developers"
admin segments add ci >/dev/null || fail "segment ci"
admin gateways add gw1 --endpoint 192.168.77.1:51820 --subnet $INTERNAL >/dev/null || fail "gateway"
admin policy add developers --to-subnet $INTERNAL >/dev/null || fail "rule developers"
admin policy add ci --to-subnet $INTERNAL >/dev/null || fail "rule ci"
ok "network set up with ferry's admin commands (TLS pinned by fingerprint)"

# --- two developers join and come up
for d in 1 2; do
  ns=$([ $d = 1 ] && echo $D1 || echo $D2); ifn=$([ $d = 1 ] && echo $IF1 || echo $IF2)
  E=$(admin tokens add enrol-$d --scope enroll --segment developers --owner dev$d $([ $d = 1 ] && echo --allow-mesh) 2>/dev/null) || fail "enrol token"
  inns $ns "$FERRY" join $URL --token $E --fingerprint $FP --name dev$d --interface $ifn --state $TMP/d$d $([ $d = 1 ] && echo --mesh) >/dev/null \
    || fail "ferry join dev$d"
  [ "$(stat -c %a $TMP/d$d)" = 700 ] && [ "$(stat -c %a $TMP/d$d/private.key)" = 600 ] || fail "state modes"
  inns $ns "$FERRY" up --state $TMP/d$d --userspace $FERRY_WG --background --report-interval 2s 2>$TMP/up$d.err \
    || { cat $TMP/up$d.err; fail "ferry up dev$d"; }
done
ok "dev1 (mesh) and dev2 joined and are up (agents in the background)"

reach() {  # reach NS TRIES -> 0 when the service answers
  local ns=$1 tries=${2:-10}
  for _ in $(seq $tries); do
    [ "$(inns $ns ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-from-internal ] && return 0
    sleep 0.3
  done
  return 1
}
reach $D1 30 || { inns $D1 wg show; inns $GW wg show; fail "dev1 cannot reach the internal service"; }
reach $D2 30 || fail "dev2 cannot reach the internal service"
ok "both developers reach $SERVICE:8080 through the gateway"

# --- developer to developer: refused until policy allows it, then through the hub
DEV2=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev2"[^{}]*}' | json_field ipv4)
DEV1=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev1"[^{}]*}' | json_field ipv4)
[ -n "$DEV2" ] || fail "no address for dev2"
inns $D1 ping -c 1 -W 1 $DEV2 >/dev/null 2>&1 && fail "dev1 reached dev2 without a policy rule"
GWKEY=$(inns $D1 wg show $IF1 peers | head -1)
HS1=$(inns $D1 wg show $IF1 latest-handshakes | awk '{print $2}')
RULE=$(admin policy add developers --to-segment developers | grep -o 'rule_[a-z0-9]*' | head -1)
[ -n "$RULE" ] || fail "rule developers -> developers"
T0=$(now_ms)
for _ in $(seq 50); do inns $D1 ping -c 1 -W 1 $DEV2 >/dev/null 2>&1 && break; sleep 0.2; done
inns $D1 ping -c 1 -W 1 $DEV2 >/dev/null 2>&1 || { tail $TMP/d1/agent.log; fail "dev1 cannot reach dev2 after the rule"; }
ok "dev1 reaches dev2 ($DEV2) $(( $(now_ms) - T0 )) ms after the rule (agents applied the new map)"
DEVSEG=$(admin segments ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "developers"[^{}]*}' | json_field ipv4)
inns $D1 wg show $IF1 allowed-ips | grep -qF "$DEVSEG" \
  || fail "dev1's gateway entry does not route the developers segment $DEVSEG"
[ "$(inns $D1 wg show $IF1 latest-handshakes | awk '{print $2}')" = "$HS1" ] || fail "applying the map restarted the gateway session"
[ "$(inns $D1 wg show $IF1 peers | head -1)" = "$GWKEY" ] || fail "gateway peer replaced"
ok "the live session to the gateway survived the change (same handshake)"

# --- mesh: dev3 (segment ops) and dev1 link directly; policy lets developers open
# connections to ops, not the other way, and the agents enforce that on the direct link
admin segments add ops >/dev/null || fail "segment ops"
E=$(admin tokens add enrol-3 --scope enroll --segment ops --owner dev3 --allow-mesh 2>/dev/null) || fail "enrol token 3"
inns $D3 "$FERRY" join $URL --token $E --fingerprint $FP --name dev3 --interface $IF3 --state $TMP/d3 --mesh >/dev/null || fail "join dev3"
inns $D3 "$FERRY" up --state $TMP/d3 --userspace $FERRY_WG --background 2>/dev/null || fail "ferry up dev3"
for ns in $D3 $D1; do inns $ns ping -c 1 -W 5 10.10.0.1 >/dev/null 2>&1; done   # the gateway learns their endpoints
admin policy add developers --to-segment ops >/dev/null || fail "rule developers -> ops"
DEV3=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev3"[^{}]*}' | json_field ipv4)
for _ in $(seq 100); do inns $D1 wg show $IF1 allowed-ips | grep -q "$DEV3/32" && break; sleep 0.1; done
inns $D1 wg show $IF1 allowed-ips | grep -q "$DEV3/32" || { tail $TMP/d1/agent.log; fail "dev1 has no direct mesh entry for dev3"; }
for _ in $(seq 100); do inns $D3 wg show $IF3 allowed-ips | grep -q "$DEV1/32" && break; sleep 0.1; done
inns $D3 wg show $IF3 allowed-ips | grep -q "$DEV1/32" || { tail $TMP/d3/agent.log; fail "dev3 has no direct mesh entry for dev1"; }
for _ in $(seq 10); do inns $D1 ping -c 1 -W 1 $DEV3 >/dev/null && break; done
inns $D1 ping -c 1 -W 2 $DEV3 >/dev/null || fail "dev1 cannot reach dev3 over the mesh link"
M3=$(inns $D1 wg show $IF1 allowed-ips | grep "$DEV3/32" | cut -f1)
[ "$(inns $D1 wg show $IF1 latest-handshakes | grep "$M3" | cut -f2)" != 0 ] || fail "no direct handshake between dev1 and dev3"
inns $D3 ping -c 1 -W 1 $DEV1 >/dev/null 2>&1 && fail "dev3 opened a connection to dev1 against policy"
inns $D1 nft list table inet ferry_mesh_$IF1 >/dev/null 2>&1 || fail "dev1's agent loaded no mesh firewall"
ok "mesh: dev1 -> dev3 directly (own handshake), dev3 -> dev1 refused by the agents' local firewall"

# --- a CI job: ephemeral peer with a 20 s TTL
CITOK=$(admin tokens add runner --scope ci --segment ci --max-ttl 60s 2>/dev/null) || fail "ci token"
ci() { inns $CI env FERRY_URL=$URL FERRY_CI_TOKEN=$CITOK FERRY_FINGERPRINT=$FP "$FERRY" ci "$@"; }
CI_T0=$(date +%s)
ci up --ttl 20s --route $INTERNAL --name job-$S --interface $IFC --state $TMP/ci --userspace $FERRY_WG >$TMP/ci.out 2>$TMP/ci.err \
  || { cat $TMP/ci.err; fail "ferry ci up"; }
[ "$(wc -l <$TMP/ci.out)" = 1 ] || { cat $TMP/ci.out; fail "ferry ci up printed more than one line"; }
grep -q "job-$S" $TMP/ci.out || fail "status line names no peer: $(cat $TMP/ci.out)"
reach $CI 20 || fail "the CI job cannot reach the internal service"
CIPUB=$(inns $CI wg show $IFC public-key)
inns $CI "$FERRY" status --state $TMP/ci >$TMP/cistatus.txt 2>&1 || { cat $TMP/cistatus.txt; fail "ferry status of the CI peer"; }
grep -q "expires in: 1[0-9]s (ephemeral)\|expires in: 20s (ephemeral)\|expires in: [0-9]s (ephemeral)" $TMP/cistatus.txt || { cat $TMP/cistatus.txt; fail "status shows no TTL"; }
ok "ferry ci up: $(cat $TMP/ci.out)"
ok "ferry status of the CI peer: $(grep 'expires in' $TMP/cistatus.txt | head -1 | sed 's/^ *//')"

# a second job ends early with ferry ci down
ci up --ttl 50s --interface $IFC2 --state $TMP/ci2 --userspace $FERRY_WG >/dev/null 2>$TMP/ci2up.err || { cat $TMP/ci2up.err; fail "second ci up"; }
CI2PUB=$(inns $CI wg show $IFC2 public-key)
ci down --state $TMP/ci2 >/dev/null 2>$TMP/ci2.err || { cat $TMP/ci2.err; fail "ferry ci down"; }
inns $CI ip link show $IFC2 >/dev/null 2>&1 && fail "ci down left the interface"
[ -e $TMP/ci2/state.json ] && fail "ci down left its state"
sleep 1.2
inns $GW wg show $WGIF peers | grep -qF "$CI2PUB" && fail "deleted CI peer still on the gateway"
ok "ferry ci down deleted the peer (gone from the gateway) and took its tunnel down"

# --- a disabled peer loses access within 5 s, and comes back when enabled
admin peers disable dev2 >/dev/null || fail "disable"
T0=$(now_ms)
while reach $D2 1; do [ $(( $(now_ms) - T0 )) -gt 5000 ] && fail "dev2 still reaches the service 5 s after being disabled"; done
ok "disabled dev2 lost access after $(( $(now_ms) - T0 )) ms"
for _ in $(seq 40); do grep -q 'disabled or expired' $TMP/d2/agent.log && break; sleep 0.1; done
grep -q 'disabled or expired' $TMP/d2/agent.log || fail "dev2's agent did not apply the disabled map"
admin peers enable dev2 >/dev/null || fail "enable"
reach $D2 40 || fail "re-enabled dev2 cannot reach the service"
ok "re-enabled dev2 reaches the service again (its agent re-added the gateway)"

# --- ferryd killed: tunnels keep working; restarted: agents resynchronise
kill -9 $FERRYD_PID; wait $FERRYD_PID 2>/dev/null
reach $D1 5 || fail "dev1 lost the service with ferryd down"
inns $D1 ping -c 1 -W 2 $DEV2 >/dev/null || fail "dev1 lost dev2 with ferryd down"
for _ in $(seq 100); do grep -q 'coordinator unreachable' $TMP/d1/agent.log && break; sleep 0.1; done
grep -q 'coordinator unreachable' $TMP/d1/agent.log || fail "dev1's agent did not notice the coordinator went away"
ok "ferryd killed: tunnels keep working, the agent keeps its last map and says so"
start_ferryd 2
admin policy rm $RULE >/dev/null || fail "policy rm after restart"
T0=$(now_ms)
for _ in $(seq 150); do
  inns $D1 ping -c 1 -W 1 $DEV2 >/dev/null 2>&1 || break
  sleep 0.1
done
inns $D1 ping -c 1 -W 1 $DEV2 >/dev/null 2>&1 && fail "dev1 still reaches dev2 after the rule was removed post-restart"
for _ in $(seq 150); do inns $D1 wg show $IF1 allowed-ips | grep -qF "$DEVSEG" || break; sleep 0.1; done
inns $D1 wg show $IF1 allowed-ips | grep -qF "$DEVSEG" && fail "dev1's interface did not get the map made after the restart"
grep -q 'coordinator reachable again' $TMP/d1/agent.log || fail "dev1's agent did not log the coordinator's return"
ok "after ferryd's restart a change reached the agents ($(( $(now_ms) - T0 )) ms): dev1 no longer routes $DEVSEG nor reaches dev2"
reach $D1 10 || fail "dev1 lost the service after the resync"

# --- status, with names, roles, segments (admin token at hand)
inns $D1 env FERRY_TOKEN=$TOKEN "$FERRY" status --state $TMP/d1 >$TMP/status.txt 2>&1 || { cat $TMP/status.txt; fail "ferry status"; }
grep -q "peer: gw1 (gateway)" $TMP/status.txt && grep -q "segment: gateways" $TMP/status.txt && grep -q "latest handshake" $TMP/status.txt \
  || { cat $TMP/status.txt; fail "status lacks names"; }
inns $D1 "$FERRY" status --state $TMP/d1 --json | grep -q '"coordinatorReachable" : true' || fail "status --json"
admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev1"[^{}]*}' | grep -q '"rxBytes" : [1-9]' || fail "dev1's agent did not report counters"
ok "ferry status names the gateway and its segment; the agent reported its counters"

# --- the CI peer is gone after its TTL, from the coordinator and the gateway
while [ $(( $(date +%s) - CI_T0 )) -lt 23 ]; do sleep 0.5; done
admin peers ls --json | grep -q "\"job-$S\"" && fail "CI peer still at the coordinator after its TTL"
inns $GW wg show $WGIF peers | grep -qF "$CIPUB" && fail "CI peer still on the gateway after its TTL"
reach $CI 2 && fail "CI job still reaches the service after its TTL"
ci down --state $TMP/ci >$TMP/cidown.out 2>&1 || { cat $TMP/cidown.out; fail "ci down after the TTL"; }
grep -q "already gone" $TMP/cidown.out || fail "ci down did not say the TTL removed it"
ok "the CI peer is gone from the coordinator and the gateway after its TTL; ci down cleans up"

# --- a full-tunnel developer: everything through the gateway (policy routing as wg-quick)
E=$(admin tokens add enrol-4 --scope enroll --segment developers --owner dev4 --allow-full-tunnel 2>/dev/null) || fail "enrol token 4"
inns $D4 "$FERRY" join $URL --token $E --fingerprint $FP --name dev4 --interface $IF4 --state $TMP/d4 --full-tunnel >/dev/null 2>$TMP/j4.err || { cat $TMP/j4.err; fail "join dev4"; }
[ "$(inns $D4 ncat -w 2 -i 3 --recv-only 203.0.113.2 8080)" = "from 192.168.85.2" ] || fail "dev4 does not reach the outside directly before the tunnel"
inns $D4 "$FERRY" up --state $TMP/d4 --userspace $FERRY_WG --background 2>/dev/null || { tail -5 $TMP/d4/agent.log; fail "ferry up dev4"; }
DEV4=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev4"[^{}]*}' | json_field ipv4)
for _ in $(seq 30); do [ "$(inns $D4 ncat -w 1 -i 3 --recv-only 203.0.113.2 8080 2>/dev/null)" = "from $DEV4" ] && break; sleep 0.3; done
[ "$(inns $D4 ncat -w 1 -i 3 --recv-only 203.0.113.2 8080 2>/dev/null)" = "from $DEV4" ] || { inns $D4 ip rule; inns $D4 wg show; fail "dev4's traffic to the outside does not go through the tunnel"; }
reach $D4 10 || fail "the full-tunnel developer cannot reach the internal service"
# disabled, its map has no peers: the agent (its own traffic marked, bypassing the tunnel
# like WireGuard's UDP) gets it although the gateway dropped the tunnel, and routes directly
# again; enabled, the full tunnel returns
admin peers disable dev4 >/dev/null || fail "disable dev4"
for _ in $(seq 50); do grep -q 'disabled or expired' $TMP/d4/agent.log && break; sleep 0.2; done
grep -q 'disabled or expired' $TMP/d4/agent.log || fail "dev4's agent did not get the disabled map"
[ "$(inns $D4 ncat -w 2 -i 3 --recv-only 203.0.113.2 8080 2>/dev/null)" = "from 192.168.85.2" ] || fail "disabled dev4 does not route directly"
admin peers enable dev4 >/dev/null || fail "enable dev4"
for _ in $(seq 80); do [ "$(inns $D4 ncat -w 1 -i 3 --recv-only 203.0.113.2 8080 2>/dev/null)" = "from $DEV4" ] && break; sleep 0.3; done
[ "$(inns $D4 ncat -w 1 -i 3 --recv-only 203.0.113.2 8080 2>/dev/null)" = "from $DEV4" ] || fail "the full tunnel did not come back after enable"
inns $D4 "$FERRY" down --state $TMP/d4 >/dev/null || fail "ferry down dev4"
inns $D4 ip rule | grep -q "lookup 51820" && fail "ferry down left the full-tunnel rules"
[ "$(inns $D4 ncat -w 2 -i 3 --recv-only 203.0.113.2 8080)" = "from 192.168.85.2" ] || fail "dev4's direct route is not back after ferry down"
ok "full tunnel: dev4 reaches the outside as $DEV4 through the gateway, its agent follows disable and enable (its own traffic bypasses the tunnel), ferry down restores direct routing"

# --- ferry down
T0=$(now_ms)
inns $D1 "$FERRY" down --state $TMP/d1 >/dev/null || fail "ferry down"
[ $(( $(now_ms) - T0 )) -lt 3000 ] || fail "ferry down took $(( $(now_ms) - T0 )) ms (the agent must leave its long poll at once)"
inns $D1 ip link show $IF1 >/dev/null 2>&1 && fail "ferry down left the interface"
[ -e $TMP/d1/agent.pid ] && fail "ferry down left the agent's pid file"
for _ in $(seq 30); do [ -e /var/run/wireguard/$IF1.sock ] || break; sleep 0.1; done
[ -e /var/run/wireguard/$IF1.sock ] && fail "ferry-wg still runs after ferry down"
ok "ferry down removed the interface and stopped the agent and ferry-wg"

# --- an agent started while the coordinator is down comes up from the last map
kill -9 $FERRYD_PID; wait $FERRYD_PID 2>/dev/null
inns $D1 "$FERRY" up --state $TMP/d1 --userspace $FERRY_WG --background 2>/dev/null || { tail -5 $TMP/d1/agent.log; fail "ferry up with ferryd down"; }
grep -q 'starting from the last map saved' $TMP/d1/agent.log || fail "the agent did not say it started from the saved map"
reach $D1 30 || fail "dev1 brought up from the saved map cannot reach the service"
inns $D1 "$FERRY" down --state $TMP/d1 >/dev/null || fail "ferry down (2)"
ok "with ferryd down, ferry up brings the interface up from the last saved map; the service answers"
echo "PASS: agent end-to-end"
