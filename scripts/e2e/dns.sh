#!/usr/bin/env bash
# Split DNS on the device, end to end, as root, in network namespaces this script creates:
#
#   d1, d2  --veth--  gw (ferryd --tls auto --gateway, ferry-wg): ferryd answers the zone on 10.10.0.1:53
#
# d1 has no systemd-resolved: `ferry up` takes the resolv.conf fallback. Each namespace has
# its own resolv.conf (scripts/e2e/lib.sh; `ip netns exec` mounts it over /etc/resolv.conf),
# so the machine's is never touched. Checks: programs in d1 (getent: glibc, resolv.conf)
# resolve peers' names through the tunnel; `ferry doctor` passes its dns check; `ferry down`
# puts resolv.conf back byte for byte, also after the agent was killed (-9).
# d2 has a fake resolvectl in PATH that logs its arguments: `ferry up` sets the link's server
# and the routing domain ~ZONE there and leaves resolv.conf alone; `ferry down` reverts it.
#
# Usage: dns.sh FERRYD FERRY FERRY_WG. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
FERRYD=${1:?usage: dns.sh FERRYD FERRY FERRY_WG}
FERRY=${2:?usage: dns.sh FERRYD FERRY FERRY_WG}
FERRY_WG=${3:?usage: dns.sh FERRYD FERRY FERRY_WG}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): DNS end-to-end"; exit 77
fi
for c in ip wg nft getent dig; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): DNS end-to-end"; exit 77; }
done

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=fz-gw-$S D1=fz-d1-$S D2=fz-d2-$S
WGIF=fzg$S IF1=fza$S IF2=fzb$S
TMP=$(mktemp -d /tmp/ferry-dns-e2e-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
FAILED=0
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN= FERRY_RESOLV_CONF=

cleanup() {
  remove_namespaces $D1 $D2 $GW
  for i in $WGIF $IF1 $IF2; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    echo "--- ferryd log"; tail -n 30 $TMP/ferryd.err 2>/dev/null
    for d in d1 d2; do echo "--- agent $d log"; tail -n 30 $TMP/$d/agent.log 2>/dev/null; done
  fi
  rm -rf $TMP
}
trap cleanup EXIT

add_namespaces $GW $D1 $D2
link_clients $GW 192.168.9 $D1 $D2
# d1's own resolv.conf, with lines the fallback must keep and give back exactly
printf '# the machine'"'"'s own\nnameserver 192.0.2.53\nsearch example.com\noptions ndots:1 timeout:1 attempts:1\n' >/etc/netns/$D1/resolv.conf
cp /etc/netns/$D1/resolv.conf $TMP/d1-resolv.orig
cp /etc/netns/$D2/resolv.conf $TMP/d2-resolv.orig

ip netns exec $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "$FERRYD" serve --data $TMP/data --listen 192.168.77.1:$PORT \
  --tls auto --gateway $WGIF --gateway-name gw1 >$TMP/ferryd.out 2>$TMP/ferryd.err &
for _ in $(seq 150); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
FP=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] && [ -n "$FP" ] || fail "no admin token or fingerprint printed"
URL=https://192.168.77.1:$PORT
for _ in $(seq 50); do inns $GW curl -skf $URL/health >/dev/null && break; sleep 0.1; done
admin() { inns $GW env FERRY_URL=$URL FERRY_TOKEN=$TOKEN FERRY_FINGERPRINT=$FP "$FERRY" "$@"; }
json_field() { grep -o "\"$1\" : \"[^\"]*\"" | head -1 | cut -d'"' -f4; }

admin segments add developers >/dev/null || fail "segment"
admin gateways add gw1 --endpoint 192.168.77.1:51820 >/dev/null || fail "gateway"
admin policy add developers --to-segment developers >/dev/null || fail "rule"
admin dns add git CNAME git.corp.internal >/dev/null || fail "ferry dns add"
admin dns ls | grep -q "git.ferry.ferry.internal *CNAME *git.corp.internal" || { admin dns ls; fail "ferry dns ls"; }
ZONE=ferry.ferry.internal
ok "network, gateway and a CNAME set up with ferry's admin commands"

# a fake resolvectl for d2: logs what it is asked, succeeds
mkdir -p $TMP/fakebin
printf '#!/bin/sh\necho "$*" >>%s/resolvectl.log\nexit 0\n' "$TMP" >$TMP/fakebin/resolvectl
chmod 755 $TMP/fakebin/resolvectl

for d in 1 2; do
  ns=$([ $d = 1 ] && echo $D1 || echo $D2); ifn=$([ $d = 1 ] && echo $IF1 || echo $IF2)
  path=$([ $d = 2 ] && echo "$TMP/fakebin:$PATH" || echo "$PATH")
  E=$(admin tokens add enrol-$d --scope enroll --segment developers --owner dev$d 2>/dev/null) || fail "enrol token"
  inns $ns "$FERRY" join $URL --token $E --fingerprint $FP --name dev$d --interface $ifn --state $TMP/d$d >/dev/null || fail "join dev$d"
  inns $ns env PATH=$path "$FERRY" up --state $TMP/d$d --userspace $FERRY_WG --background 2>$TMP/up$d.err \
    || { cat $TMP/up$d.err; fail "ferry up dev$d"; }
done
DEV1=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev1"[^{}]*}' | json_field ipv4)
DEV2=$(admin peers ls --json | tr -d '\n' | grep -o '{[^{}]*"name" : "dev2"[^{}]*}' | json_field ipv4)

# --- d1: the resolv.conf fallback
for _ in $(seq 50); do grep -q '^nameserver 10.10.0.1' /etc/netns/$D1/resolv.conf && break; sleep 0.1; done
grep -q '^nameserver 10.10.0.1' /etc/netns/$D1/resolv.conf || { cat /etc/netns/$D1/resolv.conf; fail "d1's resolv.conf does not name the gateway"; }
grep -q "^search $ZONE example.com" /etc/netns/$D1/resolv.conf || fail "d1's resolv.conf lacks the zone first in search"
grep -q '^options ndots:1 timeout:1 attempts:1' /etc/netns/$D1/resolv.conf || fail "the fallback dropped the options line"
got=""
for _ in $(seq 30); do got=$(inns $D1 getent ahostsv4 dev2.developers.$ZONE | awk 'NR==1{print $1}'); [ "$got" = "$DEV2" ] && break; sleep 0.3; done
[ "$got" = "$DEV2" ] || fail "getent in d1: dev2.developers.$ZONE is '$got', not $DEV2"
[ "$(inns $D1 getent ahostsv4 dev1 | awk 'NR==1{print $1}')" = "$DEV1" ] || fail "the search domain does not complete 'dev1'"
ok "d1 (no systemd-resolved): getent resolves dev2.developers.$ZONE to $DEV2 and 'dev1' to $DEV1 through the tunnel (resolv.conf fallback)"
inns $D1 "$FERRY" doctor --state $TMP/d1 --json >$TMP/doctor.json 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[c for c in d.get("results", d if isinstance(d, list) else []) if c.get("check") == "dns"]; sys.exit(0 if r and r[0]["status"] == "pass" else 1)' $TMP/doctor.json \
  || { cat $TMP/doctor.json; fail "ferry doctor's dns check did not pass"; }
ok "ferry doctor: the zone resolves through the gateway and the machine's resolver"
inns $D1 "$FERRY" down --state $TMP/d1 >/dev/null || fail "ferry down d1"
cmp -s /etc/netns/$D1/resolv.conf $TMP/d1-resolv.orig || { diff $TMP/d1-resolv.orig /etc/netns/$D1/resolv.conf; fail "ferry down did not restore resolv.conf exactly"; }
ok "ferry down restored d1's resolv.conf byte for byte"

# after a crash: the agent killed, the file still edited; ferry down puts it back
inns $D1 "$FERRY" up --state $TMP/d1 --userspace $FERRY_WG --background 2>/dev/null || fail "ferry up d1 (2)"
for _ in $(seq 50); do grep -q '^nameserver 10.10.0.1' /etc/netns/$D1/resolv.conf && break; sleep 0.1; done
kill -9 "$(cat $TMP/d1/agent.pid)"
sleep 0.3
grep -q '^nameserver 10.10.0.1' /etc/netns/$D1/resolv.conf || fail "resolv.conf not edited before the crash"
inns $D1 "$FERRY" down --state $TMP/d1 >/dev/null || fail "ferry down d1 after the crash"
cmp -s /etc/netns/$D1/resolv.conf $TMP/d1-resolv.orig || fail "ferry down after a crash did not restore resolv.conf exactly"
ok "after the agent was killed (-9), ferry down restored d1's resolv.conf byte for byte"

# --- d2: systemd-resolved (a fake resolvectl)
for _ in $(seq 50); do grep -q "^domain $IF2 ~$ZONE" $TMP/resolvectl.log 2>/dev/null && break; sleep 0.1; done
grep -q "^dns $IF2 10.10.0.1$" $TMP/resolvectl.log || { cat $TMP/resolvectl.log; fail "resolvectl dns not set for $IF2"; }
grep -q "^domain $IF2 ~$ZONE$" $TMP/resolvectl.log || { cat $TMP/resolvectl.log; fail "resolvectl domain ~$ZONE not set for $IF2"; }
cmp -s /etc/netns/$D2/resolv.conf $TMP/d2-resolv.orig || fail "with resolvectl, ferry up edited resolv.conf"
[ "$(inns $D2 dig +short +time=2 @10.10.0.1 dev1.$ZONE)" = "$DEV1" ] || fail "dig in d2 through the tunnel"
[ "$(inns $D2 dig +short +time=2 @10.10.0.1 git.$ZONE)" = "git.corp.internal." ] || fail "the CNAME through the tunnel"
inns $D2 env PATH=$TMP/fakebin:$PATH "$FERRY" down --state $TMP/d2 >/dev/null || fail "ferry down d2"
grep -q "^revert $IF2$" $TMP/resolvectl.log || { cat $TMP/resolvectl.log; fail "ferry down did not revert the link's DNS"; }
ok "d2 (resolvectl): the link gets 10.10.0.1 and ~$ZONE, resolv.conf untouched, ferry down reverts; dig through the tunnel answers"

echo "PASS: DNS end-to-end"
