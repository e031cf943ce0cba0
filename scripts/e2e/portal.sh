#!/usr/bin/env bash
# The web portal end to end, as root, in network namespaces this script creates and removes:
#
#   dev (wg-quick)  --veth--  gw (ferryd --gateway + the portal, the test OpenID provider,
#                                 headless Chromium)  --veth--  in (ncat service)
#
# A developer signs in to the portal through the test provider (authorization code flow
# with PKCE), adds a device whose key pair the browser makes, downloads its wg-quick file
# and reads its QR code (zbarimg); the file brings a tunnel up with wg-quick in `dev` that
# reaches the service behind the gateway. The private key is in none of: the requests the
# browser made (Chromium's performance log), ferryd's output, the store's files. An admin
# creates a segment and a rule through the policy preview and watches a CI peer's TTL run
# out on the page. Screenshots are kept in ARTIFACTS (default .build/artifacts/portal).
#
# Usage: portal.sh FERRYD_BINARY. Needs FERRY_TEST_PYTHON (the test venv: Selenium, authlib).
# Exit 0 pass, 1 fail, 77 skipped (not root, no tun, a tool missing).
set -uo pipefail
FERRYD=${1:?usage: portal.sh FERRYD_BINARY}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${FERRY_TEST_PYTHON:-/var/tmp/ferry-test-venv/bin/python}
ARTIFACTS=${ARTIFACTS:-$ROOT/.build/artifacts/portal}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): portal end-to-end"; exit 77
fi
for c in ip wg wg-quick wireguard-go nft ncat curl zbarimg /usr/bin/chromium /usr/bin/chromedriver "$PY"; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): portal end-to-end"; exit 77; }
done
[ -f "$ROOT/scripts/browser/browser.py" ] || { echo "SKIPPED (no scripts/browser/browser.py): portal end-to-end"; exit 77; }

rm -f "$ARTIFACTS"/*.png   # this run's screenshots only
S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=ferry-pgw-$S IN=ferry-pin-$S DEV=ferry-pdev-$S
WGIF=fpg$S
TMP=$(mktemp -d /tmp/ferry-portal-$S.XXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
IPORT=$(( PORT + 1 ))
SUB=$(( RANDOM % 200 + 20 ))
INTERNAL=172.30.$SUB.0/24
SERVICE=172.30.$SUB.2
FAILED=0
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api.sh"

cleanup() {
  exec 3>&-
  remove_namespaces $DEV $IN $GW
  rm -f /var/run/wireguard/$WGIF.sock /var/run/wireguard/pd$S.sock
  if [ $FAILED -ne 0 ]; then echo "--- ferryd log"; tail -n 60 $TMP/ferryd.err 2>/dev/null; fi
  rm -rf $TMP
}
trap cleanup EXIT

add_namespaces $GW $IN $DEV
link_clients $GW 192.168.9 $DEV
link_internal $GW $IN 172.30.$SUB
inns $IN ncat -lk 8080 --sh-exec 'echo hello-from-internal' >/dev/null 2>&1 &

# --- the identity provider, and ferryd with the portal, both on the gateway host
# The provider ends when its stdin closes: a fifo this script holds open until it exits.
mkfifo $TMP/issuer.in
inns $GW "$PY" "$ROOT/scripts/oidc/test_issuer.py" --port $IPORT <$TMP/issuer.in >$TMP/issuer.out 2>$TMP/issuer.err &
exec 3>$TMP/issuer.in
for _ in $(seq 100); do grep -q '"issuer"' $TMP/issuer.out 2>/dev/null && break; sleep 0.1; done
ISSUER=http://127.0.0.1:$IPORT
inns $GW curl -sf -XPOST -H 'Content-Type: application/json' $ISSUER/test/users -d '{"users": {
  "alice": {"email": "alice@acme.test", "groups": ["dev"]},
  "root": {"email": "root@acme.test", "groups": ["platform"]}}}' >/dev/null || fail "the test provider did not start: $(cat $TMP/issuer.err)"
echo portal-secret >$TMP/client-secret
inns $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go "$FERRYD" serve --data $TMP/data \
  --listen 127.0.0.1:$PORT --gateway $WGIF --gateway-name gw1 --reaper-period 1s \
  --portal-issuer $ISSUER --portal-client-id ferry-portal --portal-client-secret-file $TMP/client-secret \
  --portal-url http://127.0.0.1:$PORT --portal-admin groups=platform --portal-developer 'groups=dev:developers' \
  >$TMP/ferryd.out 2>$TMP/ferryd.err </dev/null &
for _ in $(seq 100); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
[ -n "$TOKEN" ] || fail "no admin token printed"
for seg in developers ci; do
  api $TOKEN POST /v1/segments "{\"name\":\"$seg\"}" >/dev/null; [ "$(code)" = 201 ] || fail "segment $seg: $(cat $TMP/body)"
done
api $TOKEN POST /v1/gateways "{\"name\":\"gw1\",\"endpoint\":\"192.168.77.1:51820\",\"subnets\":[\"$INTERNAL\"]}" >/dev/null
[ "$(code)" = 201 ] || fail "gateway: $(cat $TMP/body)"
api $TOKEN POST /v1/policy/rules "{\"from\":\"developers\",\"toSubnet\":\"$INTERNAL\"}" >/dev/null
[ "$(code)" = 201 ] || fail "rule: $(cat $TMP/body)"
ok "ferryd with the portal, a gateway in front of $INTERNAL, developers allowed there"

# --- the browser, on the gateway host (its loopback is where ferryd and the provider listen)
CIPUB=$(wg genkey | wg pubkey)
inns $GW "$PY" "$ROOT/scripts/e2e/portal_browser.py" http://127.0.0.1:$PORT $TOKEN $INTERNAL $TMP/out "$ARTIFACTS" $CIPUB \
  >$TMP/browser.out 2>&1; status=$?
cat $TMP/browser.out
[ $status -eq 0 ] || fail "the browser steps failed"
KEY=$(cat $TMP/out/private.key)

# --- the download is what the page showed; the QR code holds the same text
cmp -s $TMP/out/config.conf $TMP/out/shown.conf || fail "the downloaded file differs from the config the page showed"
zbarimg --raw -q $TMP/out/qr.png >$TMP/qr.txt 2>/dev/null || fail "zbarimg could not read the QR code"
# zbarimg ends its output with a newline of its own
[ "$(cat $TMP/qr.txt)" = "$(cat $TMP/out/config.conf)" ] || fail "the QR code does not hold the config: $(head -c 300 $TMP/qr.txt)"
ok "downloaded config equals the page's; zbarimg reads the same text from the QR code"

# --- the private key never reached the server: not in ferryd's output nor the store's files
for f in $TMP/ferryd.out $TMP/ferryd.err $TMP/data/*; do
  [ -f "$f" ] || continue
  ! grep -aqF "$KEY" "$f" || fail "the private key is in $f"
done
ok "the private key is in neither ferryd's log nor its store ($(ls $TMP/data | wc -l) files)"

# --- the downloaded file brings up a tunnel that reaches the service behind the gateway
cp $TMP/out/config.conf $TMP/pd$S.conf
sed -i '/^DNS = /d' $TMP/pd$S.conf   # wg-quick would give it to resolvconf (see api.sh's up)
chmod 600 $TMP/pd$S.conf
inns $DEV env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up $TMP/pd$S.conf >$TMP/up.out 2>&1 || { cat $TMP/up.out; fail "wg-quick up"; }
reached=0
for _ in $(seq 20); do
  [ "$(inns $DEV ncat -w 1 -i 3 --recv-only $SERVICE 8080 2>/dev/null)" = hello-from-internal ] && { reached=1; break; }
  sleep 0.5
done
[ $reached = 1 ] || { inns $GW wg show; fail "the portal's device cannot reach $SERVICE:8080"; }
ok "wg-quick up with the portal's file: $SERVICE:8080 answers through the gateway"
ls "$ARTIFACTS"/*.png >/dev/null 2>&1 || fail "no screenshots in $ARTIFACTS"
echo "PASS: portal end-to-end (screenshots in $ARTIFACTS)"
