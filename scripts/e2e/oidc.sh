#!/usr/bin/env bash
# Keyless CI peers and `ferry login`, end to end, as root, in network namespaces this script
# creates and removes:
#
#   ci, d1  --veth--  gw (ferryd --tls auto --gateway on ferry-wg; the test issuer)  --veth--  in (two hosts)
#
# The test OpenID Connect issuer (scripts/oidc/test_issuer.py, authlib) runs in gw; its URL
# is http://127.0.0.1:PORT, and ncat forwards that port from the ci and d1 namespaces, so the
# job, the person and ferryd all see one issuer. Checks: a trust rule for acme/api on main
# (added with `ferry ci trust add`); `ferry ci up --oidc` with GitHub Actions' token request
# reaches the one allowed host and not the other; tokens for another repository or branch,
# expired, signed by an unknown key, for another audience, and the same token twice are each
# refused with their message and leave nothing behind; the peer is gone after its TTL;
# `ferry login` (device code, approved at the issuer) enrols a machine in the segment the
# person's claims map to, and `ferry up` reaches the internal service.
#
# Usage: oidc.sh FERRYD FERRY FERRY_WG [PYTHON]. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
FERRYD=${1:?usage: oidc.sh FERRYD FERRY FERRY_WG [PYTHON]}
FERRY=${2:?}
FERRY_WG=${3:?}
PY=${4:-${FERRY_TEST_PYTHON:-/var/tmp/ferry-test-venv/bin/python}}
ISSUER_PY="$(cd "$(dirname "$0")/.." && pwd)/oidc/test_issuer.py"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): OIDC end-to-end"; exit 77
fi
for c in ip wg nft ncat curl; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): OIDC end-to-end"; exit 77; }
done
"$PY" -c 'import authlib' 2>/dev/null || { echo "SKIPPED (no authlib in $PY; run scripts/install-test-deps.sh): OIDC end-to-end"; exit 77; }

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=fo-gw-$S IN=fo-in-$S CI=fo-ci-$S D1=fo-d1-$S
WGIF=fog$S IFC=foc$S IFC2=fod$S IF1=foe$S
TMP=$(mktemp -d /tmp/ferry-oidc-e2e-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
IPORT=$(( PORT + 1 ))
SUB=$(( RANDOM % 200 + 20 ))
INTERNAL=172.31.$SUB.0/24
SERVICE=172.31.$SUB.2
OTHER=172.31.$SUB.3
ISS=http://127.0.0.1:$IPORT
FAILED=0
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN= FERRY_ID_TOKEN=

cleanup() {
  remove_namespaces $CI $D1 $IN $GW
  for i in $WGIF $IFC $IFC2 $IF1; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    echo "--- ferryd log"; tail -n 30 $TMP/ferryd.err 2>/dev/null
    echo "--- agent log"; tail -n 20 $TMP/d1/agent.log 2>/dev/null
  fi
  rm -rf $TMP
}
trap cleanup EXIT

add_namespaces $GW $IN $CI $D1
link_clients $GW 192.168.9 $CI $D1
link_internal $GW $IN 172.31.$SUB
inns $IN ip addr add $OTHER/24 dev eth0
inns $IN ncat -lk $SERVICE 8080 --sh-exec 'echo hello-from-api' &
inns $IN ncat -lk $OTHER 8080 --sh-exec 'echo hello-from-other' &

# --- the issuer in gw (stdin held open by a fifo writer so it lives until cleanup)
mkfifo $TMP/issuer.in
ip netns exec $GW "$PY" "$ISSUER_PY" --port $IPORT --host 0.0.0.0 --client-id ferry-cli <$TMP/issuer.in >$TMP/issuer.out 2>$TMP/issuer.err &
exec 9>$TMP/issuer.in
for _ in $(seq 100); do grep -q issuer $TMP/issuer.out 2>/dev/null && break; sleep 0.1; done
grep -q "\"$ISS\"" $TMP/issuer.out || { cat $TMP/issuer.err; fail "the test issuer did not start"; }
for ns in $CI $D1; do inns $ns ncat -lk 127.0.0.1 $IPORT --sh-exec "ncat 192.168.77.1 $IPORT" & done
issuer() { inns $GW curl -sf -H 'Content-Type: application/json' "$ISS$1" ${2:+-d "$2"}; }
mint() { issuer /test/mint "$1" | sed 's/.*"token": *"\([^"]*\)".*/\1/'; }

# --- ferryd with TLS, hosting the gateway, with a login provider
ip netns exec $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "$FERRYD" serve --data $TMP/data --listen 192.168.77.1:$PORT \
  --tls auto --gateway $WGIF --gateway-name gw1 --reaper-period 1s --oidc-refetch-interval 1s \
  --login-issuer $ISS --login-client-id ferry-cli --login-map 'groups=dev*:developers' >>$TMP/ferryd.out 2>>$TMP/ferryd.err &
for _ in $(seq 150); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
FP=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] && [ -n "$FP" ] || fail "ferryd did not start"
URL=https://192.168.77.1:$PORT
admin() { inns $GW env FERRY_URL=$URL FERRY_TOKEN=$TOKEN FERRY_FINGERPRINT=$FP "$FERRY" "$@"; }
admin segments add developers >/dev/null && admin segments add ci >/dev/null || fail "segments"
admin gateways add gw1 --endpoint 192.168.77.1:51820 --subnet $INTERNAL >/dev/null || fail "gateway"
admin policy add ci --to-subnet $INTERNAL >/dev/null && admin policy add developers --to-subnet $INTERNAL >/dev/null || fail "policy"
admin ci trust add --issuer $ISS --audience ferry --claim repository=acme/api --claim ref=refs/heads/main \
  --segment ci --max-ttl 15s --allowed-ip $SERVICE/32 >$TMP/rule.out 2>&1 || { cat $TMP/rule.out; fail "ferry ci trust add"; }
admin ci trust ls | grep -q "repository=acme/api" || fail "ferry ci trust ls"
admin audit | grep -q "trust.create" || fail "the trust rule is not audited"
ok "trust rule added, listed and audited: $(cat $TMP/rule.out)"

reach() {  # reach NS HOST TRIES
  for _ in $(seq ${3:-10}); do
    [ -n "$(inns $1 ncat -w 1 -i 3 --recv-only $2 8080 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  return 1
}

# --- the job, with GitHub Actions' token request (no Ferry secret anywhere)
issuer /test/gha '{"claims":{"repository":"acme/api","ref":"refs/heads/main","run_id":"777"}}' >/dev/null || fail "issuer gha claims"
ciup() { inns $CI env FERRY_URL=$URL FERRY_FINGERPRINT=$FP "$@"; }
T0=$(now_ms)
ciup env ACTIONS_ID_TOKEN_REQUEST_URL="$ISS/gha-token?x=1" ACTIONS_ID_TOKEN_REQUEST_TOKEN=gha-secret \
  "$FERRY" ci up --oidc --name job-$S --interface $IFC --state $TMP/ci --userspace $FERRY_WG >$TMP/ci.out 2>$TMP/ci.err \
  || { cat $TMP/ci.err; fail "ferry ci up --oidc"; }
for _ in $(seq 100); do [ "$(inns $CI ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-from-api ] && break; sleep 0.05; done
T1=$(now_ms)
[ "$(inns $CI ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-from-api ] || { inns $CI wg show; fail "the job cannot reach $SERVICE"; }
[ "$(wc -l <$TMP/ci.out)" = 1 ] || { cat $TMP/ci.out; fail "ferry ci up printed more than one line"; }
reach $CI $OTHER 3 && fail "the job reaches $OTHER, outside the rule's allowed IPs"
CIPUB=$(inns $CI wg show $IFC public-key)
ok "ferry ci up --oidc (GitHub Actions token request): $(cat $TMP/ci.out)"
ok "the job reaches $SERVICE and not $OTHER; ci up to first answer through the tunnel: $(( T1 - T0 )) ms"
admin audit --json 2>/dev/null | grep -q '"run_id" *: *"777"' || fail "the peer's audit record lacks the token's claims"
ok "the peer's audit record names the issuer and the claims (run_id 777)"

# --- refusals: each with its message; nothing left behind
refused() {  # refused NAME EXPECTED TOKEN
  echo "$3" >$TMP/tok
  ciup "$FERRY" ci up --oidc --oidc-token-file $TMP/tok --interface $IFC2 --state $TMP/refused >$TMP/r.out 2>$TMP/r.err \
    && fail "$1: accepted"
  grep -q "$2" $TMP/r.err || { cat $TMP/r.err; fail "$1: message lacks '$2'"; }
  inns $CI ip link show $IFC2 >/dev/null 2>&1 && fail "$1: left an interface"
  [ -e $TMP/refused/state.json ] && fail "$1: left state"
  ok "$1 refused: $(tail -1 $TMP/r.err)"
}
GOOD='"repository":"acme/api","ref":"refs/heads/main"'
refused "another repository" "'repository' (acme/web) does not match" "$(mint '{"claims":{"repository":"acme/web","ref":"refs/heads/main"}}')"
refused "another branch" "'ref' (refs/heads/dev) does not match" "$(mint '{"claims":{"repository":"acme/api","ref":"refs/heads/dev"}}')"
refused "an expired token" "expired" "$(mint "{\"claims\":{$GOOD},\"exp_in\":-120,\"iat_offset\":-600}")"
refused "an unknown key" "does not publish" "$(mint "{\"claims\":{$GOOD},\"kid\":\"unknown\"}")"
refused "a wrong audience" "audience (elsewhere)" "$(mint "{\"claims\":{$GOOD},\"aud\":\"elsewhere\"}")"
ONCE=$(mint "{\"claims\":{$GOOD}}")
echo "$ONCE" >$TMP/once
ciup "$FERRY" ci up --oidc --oidc-token-file $TMP/once --ttl 10s --interface $IFC2 --state $TMP/ci2 --userspace $FERRY_WG >/dev/null 2>$TMP/ci2.err \
  || { cat $TMP/ci2.err; fail "second job"; }
ciup "$FERRY" ci down --state $TMP/ci2 >/dev/null 2>&1 || fail "ferry ci down of the second job"
refused "the same token twice" "already used" "$ONCE"

# --- the peer is gone after its TTL (15 s)
while [ $(( $(now_ms) - T0 )) -lt 17500 ]; do sleep 0.5; done
admin peers ls --json | grep -q "\"job-$S\"" && fail "the job's peer outlived its TTL"
inns $GW wg show $WGIF peers | grep -qF "$CIPUB" && fail "the job's peer is still on the gateway after its TTL"
reach $CI $SERVICE 2 && fail "the job still reaches $SERVICE after its TTL"
ok "the job's peer is gone after its TTL (coordinator and gateway)"

# --- ferry login: device code, approval at the issuer, enrolled in the mapped segment
inns $D1 "$FERRY" login $URL --fingerprint $FP --name dev1 --interface $IF1 --state $TMP/d1 >$TMP/login.out 2>$TMP/login.err &
LOGIN=$!
for _ in $(seq 100); do grep -q "enter the code" $TMP/login.err 2>/dev/null && break; sleep 0.1; done
CODE=$(grep -o 'enter the code [A-Z-]*' $TMP/login.err | awk '{print $4}')
[ -n "$CODE" ] || { cat $TMP/login.err; fail "ferry login showed no code"; }
ok "ferry login shows: $(grep 'enter the code' $TMP/login.err)"
issuer /test/approve "{\"user_code\":\"$CODE\",\"claims\":{\"email\":\"dev1@acme.test\",\"groups\":[\"staff\",\"developers\"]}}" >/dev/null || fail "approve"
wait $LOGIN || { cat $TMP/login.err; fail "ferry login"; }
grep -q "segment developers" $TMP/login.out && grep -q "dev1@acme.test" $TMP/login.out || { cat $TMP/login.out; fail "login enrolled elsewhere"; }
[ "$(stat -c %a $TMP/d1/private.key)" = 600 ] || fail "the private key file is not 0600"
ok "$(cat $TMP/login.out)"
inns $D1 "$FERRY" up --state $TMP/d1 --userspace $FERRY_WG --background 2>$TMP/up.err || { cat $TMP/up.err; fail "ferry up after login"; }
reach $D1 $SERVICE 30 || fail "the logged-in machine cannot reach $SERVICE"
ok "after ferry login, ferry up reaches $SERVICE"
inns $D1 "$FERRY" down --state $TMP/d1 >/dev/null 2>&1

echo "PASS: OIDC end-to-end"
