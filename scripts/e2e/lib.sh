# Shared by the end-to-end scripts (sourced): helpers, and the namespaces they build.
#   gw (192.168.77.1 on lo)  --veth-- one host per client namespace  --veth-- an internal network
# S (a short random suffix) and FAILED must be set by the script.

fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
ok() { echo "ok: $*"; }
inns() { local ns=$1; shift; ip netns exec $ns "$@"; }
now_ms() { date +%s%3N; }

# add_namespaces NS...: new namespaces with lo up, each with its own resolv.conf (a copy of
# the machine's, which `ip netns exec` mounts over /etc/resolv.conf): `ferry up` points the
# network's DNS zone there (docs/dns.md), and must not edit the machine's own file.
add_namespaces() {
  for ns in "$@"; do
    ip netns add $ns || fail "ip netns add $ns"
    mkdir -p /etc/netns/$ns && cp /etc/resolv.conf /etc/netns/$ns/resolv.conf
    inns $ns ip link set lo up
  done
}

# link_clients GW BASE NS...: one veth per client to GW, the n-th on BASE$n.0/30 (GW .1,
# client .2 on eth0, its default route through GW); GW also gets 192.168.77.1 on lo.
link_clients() {
  local gw=$1 base=$2 n=1
  shift 2
  inns $gw ip addr add 192.168.77.1/32 dev lo
  for ns in "$@"; do
    ip link add v$S-$n netns $gw type veth peer name eth0 netns $ns || fail "veth"
    inns $gw ip addr add $base$n.1/30 dev v$S-$n
    inns $gw ip link set v$S-$n up
    inns $ns ip addr add $base$n.2/30 dev eth0
    inns $ns ip link set eth0 up
    inns $ns ip route add default via $base$n.1
    n=$((n+1))
  done
}

# link_internal GW NS PREFIX24: an internal network PREFIX24.0/24 behind GW (GW .1, NS .2),
# NS routing the overlay 10.10.0.0/16 back through GW.
link_internal() {
  local gw=$1 ns=$2 net=$3
  ip link add i$S netns $gw type veth peer name eth0 netns $ns || fail "veth internal"
  inns $gw ip addr add $net.1/24 dev i$S
  inns $gw ip link set i$S up
  inns $ns ip addr add $net.2/24 dev eth0
  inns $ns ip link set eth0 up
  inns $ns ip route add 10.10.0.0/16 via $net.1
}

# remove_namespaces NS...: every process in them stopped (TERM, then KILL), then deleted.
remove_namespaces() {
  for ns in "$@"; do
    for pid in $(ip netns pids $ns 2>/dev/null); do kill $pid 2>/dev/null; done
  done
  sleep 0.3
  for ns in "$@"; do
    for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 $pid 2>/dev/null; done
    ip netns del $ns 2>/dev/null
    rm -rf /etc/netns/$ns
  done
}

# Switches as bridges in the namespace $SW (suffix $S names its veth ends): one per name.
switch_bridges() {
  local b
  for b in "$@"; do
    inns $SW ip link add $b type bridge && inns $SW ip link set $b up || fail "bridge $b"
  done
}
# attach NS BRIDGE IFNAME ADDRESS/LEN: a host on a switch, by a veth pair.
SWITCH_PORTS=0
attach() {
  SWITCH_PORTS=$((SWITCH_PORTS+1))
  ip link add p$SWITCH_PORTS-$S netns $SW type veth peer name $3 netns $1 || fail "veth $1"
  inns $SW ip link set p$SWITCH_PORTS-$S master $2 up
  inns $1 ip addr add $4 dev $3
  inns $1 ip link set $3 up
}
