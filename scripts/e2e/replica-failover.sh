#!/usr/bin/env bash
# Coordinator replica failover end to end, as root, in network namespaces this script creates
# and removes:
#
#   co: PostgreSQL (127.0.0.1), ferryd replica A (192.168.L.10), replica B (192.168.L.11)
#   g (ferryd gateway, ferry-wg, nftables)   c (ferry up, ferry-wg)
#        \________________ lan: a bridge 192.168.L.0/24 ________________/
#   g  --  int: 172.29.S.0/24  --  in (the service; also holds 172.30.S.2 and 172.31.S.2)
#
# Two ferryd replicas share one PostgreSQL database (started here: initdb as the
# unprivileged user ferrytest), each with its own self-signed certificate; the agent and the
# remote gateway know both URLs, each with its own pinned fingerprint. Checks, for the replica
# the agent talks to killed (SIGKILL), and then for the other one hung (SIGSTOP: it accepts
# TCP and never answers):
#   - the agent and the gateway talk to the other replica within 5 s;
#   - the tunnel keeps working: a ping to the internal service every 200 ms loses at most a
#     few packets;
#   - a map change made through the surviving replica (a policy rule to a subnet that was
#     closed) reaches both the agent (its AllowedIPs) and the gateway (its firewall): the
#     client reaches the new subnet within 5 s of the change.
#
# Usage: replica-failover.sh FERRYD FERRY FERRY_WG. Exit 0 pass, 1 fail, 77 skipped (not root / no tun).
set -uo pipefail
FERRYD=${1:?usage: replica-failover.sh FERRYD FERRY FERRY_WG}
FERRY=${2:?usage: replica-failover.sh FERRYD FERRY FERRY_WG}
FERRY_WG=${3:?usage: replica-failover.sh FERRYD FERRY FERRY_WG}
WHAT="coordinator replica failover end-to-end"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): $WHAT"; exit 77
fi
for c in ip wg nft ncat ss ping setpriv; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): $WHAT"; exit 77; }
done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
# PostgreSQL is in scripts/install-test-deps.sh: in CI this must run, so its absence fails.
[ -n "$PGBIN" ] || { echo "FAIL: PostgreSQL is not installed (scripts/install-test-deps.sh)"; exit 1; }

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
CO=ff-rco-$S G=ff-rg-$S C=ff-rc-$S IN=ff-rin-$S SW=ff-rsw-$S
IFG=ffg$S IFC=ffc$S
TMP=$(mktemp -d /tmp/ferry-replica-e2e-$S.XXXX)
PORT=8443
L=$(( RANDOM % 100 + 120 ))
SUB=$(( RANDOM % 200 + 20 ))
LAN=192.168.$L
INTERNAL=172.29.$SUB.0/24 SERVICE=172.29.$SUB.2 VIA=172.29.$SUB.1
EXTRA1=172.30.$SUB.0/24 HOST1=172.30.$SUB.2
EXTRA2=172.31.$SUB.0/24 HOST2=172.31.$SUB.2
ADDR_A=$LAN.10 ADDR_B=$LAN.11
FAILED=0
PINGER=
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN= FERRY_DATABASE_URL=

cleanup() {
  [ -n "$PINGER" ] && kill -9 $PINGER 2>/dev/null
  for r in a b; do [ -f $TMP/$r.pid ] && kill -CONT $(cat $TMP/$r.pid) 2>/dev/null; done
  remove_namespaces $C $G $IN $CO $SW
  for i in $IFG $IFC; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    for r in a b; do echo "--- replica $r log"; tail -n 25 $TMP/$r.err 2>/dev/null; done
    echo "--- gateway log"; tail -n 25 $TMP/g.log 2>/dev/null
    echo "--- agent log"; tail -n 30 $TMP/c/agent.log 2>/dev/null
    echo "--- postgres log"; tail -n 10 $TMP/pg/log 2>/dev/null
  fi
  rm -rf $TMP
}
trap cleanup EXIT

# --- one switch (a bridge in a namespace of its own) and the hosts on it
add_namespaces $SW $CO $G $C $IN
switch_bridges lan int
attach $CO lan eth0 $ADDR_A/24
inns $CO ip addr add $ADDR_B/24 dev eth0
attach $G lan eth0 $LAN.1/24
attach $C lan eth0 $LAN.20/24
attach $G int eth1 $VIA/24
attach $IN int eth0 $SERVICE/24
# Two more subnets behind the gateway, closed by policy until the map changes.
inns $IN ip addr add $HOST1/24 dev eth0
inns $IN ip addr add $HOST2/24 dev eth0
inns $G ip route add $EXTRA1 via $SERVICE
inns $G ip route add $EXTRA2 via $SERVICE

# --- PostgreSQL: initdb as an unprivileged user (PostgreSQL refuses root), in co on loopback
id -u ferrytest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ferrytest || fail "useradd ferrytest"
aspg() { setpriv --reuid=ferrytest --regid=ferrytest --clear-groups -- "$@"; }
chmod 711 $TMP
mkdir -m 700 $TMP/pg && PW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n') && echo "$PW" >$TMP/pg/pw
chown -R ferrytest $TMP/pg
aspg $PGBIN/initdb -D $TMP/pg/data -U ferry --pwfile=$TMP/pg/pw -E UTF8 --auth-local=trust --auth-host=scram-sha-256 \
  --no-sync --no-instructions >$TMP/initdb.log 2>&1 || { cat $TMP/initdb.log; fail "initdb"; }
( inns $CO setpriv --reuid=ferrytest --regid=ferrytest --clear-groups -- $PGBIN/postgres -D $TMP/pg/data -k $TMP/pg -p 5432 \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB \
    >$TMP/pg/log 2>&1 & )
for _ in $(seq 150); do inns $CO $PGBIN/pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
inns $CO $PGBIN/pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL did not start"
DBURL="postgres://ferry:$PW@127.0.0.1:5432/postgres?sslmode=disable"

# --- two replicas on the database, each with its own --data (keys, its own TLS certificate)
start_replica() {  # start_replica a|b ADDRESS: waits until it listens
  : >$TMP/$1.out
  # In a subshell: not a job of this shell, whose SIGKILL below bash would report. The
  # database URL comes from the environment (the password stays out of ps).
  # Gateways marked down after 3 s without a heartbeat (the default, said explicitly): the
  # gateway's heartbeats must follow the survivor before that, so it is never marked down
  # (checked at the end).
  ( ip netns exec $CO env FERRY_DATABASE_URL=$DBURL "$FERRYD" serve --data $TMP/$1 --listen $2:$PORT --tls auto \
      --gateway-down-after 3s >>$TMP/$1.out 2>>$TMP/$1.err & echo $! >$TMP/$1.pid )
  for _ in $(seq 300); do grep -q 'listening on' $TMP/$1.out 2>/dev/null && return 0; sleep 0.1; done
  fail "replica $1 did not start"
}
start_replica a $ADDR_A
start_replica b $ADDR_B
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/a.out | head -1)
FPA=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/a.out | head -1)
FPB=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/b.out | head -1)
[ -n "$TOKEN" ] && [ -n "$FPA" ] && [ -n "$FPB" ] || fail "the replicas printed no admin token or fingerprints"
[ "$FPA" != "$FPB" ] || fail "the replicas have the same certificate (each should have its own)"
URL_A=https://$ADDR_A:$PORT URL_B=https://$ADDR_B:$PORT
admin() {  # admin a|b ARGS...: the CLI through one replica
  local url=$URL_A fp=$FPA
  [ $1 = b ] && url=$URL_B fp=$FPB
  shift
  inns $CO env FERRY_URL=$url FERRY_TOKEN=$TOKEN FERRY_FINGERPRINT=$fp "$FERRY" "$@"
}
ok "PostgreSQL and two ferryd replicas on it ($URL_A, $URL_B, each with its own certificate)"

# --- a remote gateway for three subnets (two closed by policy), knowing both replicas
admin b segments add clients >/dev/null || fail "segment"
KEY=$("$FERRYD" gateway --state $TMP/g --interface $IFG --print-public-key) || fail "gateway key"
admin a gateways add g1 --endpoint $LAN.1:51820 --subnet $INTERNAL --subnet $EXTRA1 --subnet $EXTRA2 --masquerade \
  --public-key $KEY >/dev/null || fail "gateways add"
admin a gateways token g1 >$TMP/g.token 2>/dev/null || fail "gateway token"
admin b policy add clients --to-subnet $INTERNAL >/dev/null || fail "policy"
GID=$(admin b gateways ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "g1"[^{}]*}' | grep -o '"id" : "[^"]*"' | cut -d'"' -f4)
[ -n "$GID" ] || fail "no gateway id"
( ip netns exec $G env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "$FERRYD" gateway --coordinator $URL_A --coordinator $URL_B \
    --fingerprint $FPA --fingerprint $FPB --id $GID --token-file $TMP/g.token --interface $IFG --state $TMP/g >>$TMP/g.log 2>&1 & )

# --- a client joined with both URLs, each with its own pin
E=$(admin b tokens add enrol-c --scope enroll --segment clients --owner c 2>/dev/null) || fail "enrol token"
inns $C "$FERRY" join $URL_A $URL_B --token $E --fingerprint $FPA --fingerprint $FPB --name c1 --interface $IFC \
  --state $TMP/c >/dev/null || fail "ferry join"
inns $C "$FERRY" up --state $TMP/c --userspace $FERRY_WG --background 2>$TMP/up.err || { cat $TMP/up.err; fail "ferry up"; }
reaches() { inns $C ping -c 1 -W 1 $1 >/dev/null 2>&1; }
wait_reaches() {  # wait_reaches ADDRESS SECONDS
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while [ $(now_ms) -lt $deadline ]; do reaches $1 && return 0; sleep 0.1; done
  return 1
}
wait_reaches $SERVICE 30 || fail "the client does not reach the service through the gateway"
reaches $HOST1 && fail "the client reaches $HOST1 before any rule allows it"
ok "the client reaches $SERVICE through the gateway; $EXTRA1 is closed"

# Which replica (a, b or nothing) a namespace has an established connection to.
talks_to() {  # talks_to NS -> "a", "b", "a b" or ""
  local peers=$(inns $1 ss -Htn state established "( dport = :$PORT )" 2>/dev/null | awk '{print $4}')
  local out=
  echo "$peers" | grep -q "^$ADDR_A:" && out="a"
  echo "$peers" | grep -q "^$ADDR_B:" && out="${out:+$out }b"
  echo "$out"
}
wait_talks_to() {  # wait_talks_to NS REPLICA SECONDS: until NS has a connection to REPLICA
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  while [ $(now_ms) -lt $deadline ]; do
    case " $(talks_to $1) " in *" $2 "*) return 0 ;; esac
    sleep 0.1
  done
  return 1
}
# The agent long-polls one replica (the first URL while it answers); so does the gateway.
wait_talks_to $C a 10 || fail "the agent does not talk to replica a (it talks to [$(talks_to $C)])"
wait_talks_to $G a 10 || fail "the gateway does not talk to replica a (it talks to [$(talks_to $G)])"

# fail_over HOW SIGNAL FROM TO HOST SUBNET: stops replica FROM with SIGNAL while a ping runs
# through the tunnel; the agent and the gateway must be talking to TO within 5 s, a rule
# opening SUBNET made through TO must let the client reach HOST within 5 s, and the ping
# must lose at most a few packets.
fail_over() {
  local how=$1 sig=$2 from=$3 to=$4 host=$5 subnet=$6
  # ip netns exec execs ping, so $! is ping's pid (a background job ignores SIGINT: it is
  # SIGKILLed and its output counted).
  ip netns exec $C ping -i 0.2 -W 1 $SERVICE >$TMP/ping.$from 2>&1 &
  PINGER=$!
  sleep 1
  local t0=$(now_ms)
  kill -$sig $(cat $TMP/$from.pid) || fail "$how: kill -$sig replica $from"
  wait_talks_to $C $to 5 || fail "$how: the agent did not move to replica $to within 5 s (it talks to [$(talks_to $C)])"
  local agent=$(( $(now_ms) - t0 ))
  wait_talks_to $G $to 5 || fail "$how: the gateway did not move to replica $to within 5 s (it talks to [$(talks_to $G)])"
  local gateway=$(( $(now_ms) - t0 ))
  ok "$how: the agent talks to replica $to after $agent ms, the gateway within $gateway ms"
  t0=$(now_ms)
  admin $to policy add clients --to-subnet $subnet >/dev/null || fail "$how: policy add through replica $to"
  wait_reaches $host 10 || fail "$how: the client does not reach $host after the rule made through replica $to"
  local took=$(( $(now_ms) - t0 ))
  [ $took -le 5000 ] || fail "$how: the rule made through replica $to took $took ms to reach the agent and the gateway"
  ok "$how: a rule made through replica $to opened $subnet at the agent and the gateway after $took ms"
  sleep 1
  kill -9 $PINGER; wait $PINGER 2>/dev/null; PINGER=
  # Lost: the sequence numbers up to the last answered one that got no answer.
  local got=$(grep -c 'bytes from' $TMP/ping.$from)
  local sent=$(grep -oE 'icmp_seq=[0-9]+' $TMP/ping.$from | cut -d= -f2 | sort -n | tail -1)
  [ -n "$sent" ] && [ "$sent" -ge 10 ] || fail "$how: the ping got no answers ($(tail -2 $TMP/ping.$from))"
  [ $(( sent - got )) -le 3 ] || fail "$how: the tunnel lost $((sent - got)) of $sent pings while the replica went away"
  ok "$how: the tunnel kept working ($got of $sent pings every 200 ms answered)"
}

# --- the replica both talk to killed: they move to b
fail_over "replica a killed" KILL a b $HOST1 $EXTRA1
# --- a back (same data, same certificate); b hung: they move to a
start_replica a $ADDR_A
sleep 1
fail_over "replica b hung (SIGSTOP)" STOP b a $HOST2 $EXTRA2
kill -CONT $(cat $TMP/b.pid)
[ "$(admin a gateways ls --json | grep -c '"status" : "up"')" = 1 ] || fail "the gateway is not up after both failovers"
[ "$(admin a audit --limit 1000 --json | grep -c '"action" : "gateway.down"')" = 0 ] || fail "the gateway was marked down during a failover"
ok "the gateway stayed up throughout (its heartbeats followed the surviving replica)"
echo "PASS: $WHAT"
