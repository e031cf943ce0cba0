# Sourced by the end-to-end scripts that drive ferryd's REST API with curl from the gateway
# namespace: needs TMP, GW and PORT set (and lib.sh sourced).

api() {  # api TOKEN METHOD PATH [BODY] -> body on stdout; HTTP code in $TMP/code
  local tok=$1 method=$2 path=$3 body=${4:-}
  inns $GW curl -sS -o $TMP/body -w '%{http_code}' -X $method -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' ${body:+--data "$body"} http://127.0.0.1:$PORT$path >$TMP/code
  cat $TMP/body
}
code() { cat $TMP/code; }
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# up NS IFNAME PEER_ID PRIVATE_KEY TOKEN: the peer's rendered wg-quick config, plus its key
up() {
  local ns=$1 ifname=$2 id=$3 key=$4 tok=$5
  api $tok GET /v1/peers/$id/config >$TMP/$ifname.conf
  [ "$(code)" = 200 ] || fail "config of $id: $(cat $TMP/body)"
  sed -i "s|^# PrivateKey = .*|PrivateKey = $key|" $TMP/$ifname.conf
  chmod 600 $TMP/$ifname.conf
  inns $ns env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up $TMP/$ifname.conf >$TMP/$ifname.up 2>&1 \
    || { cat $TMP/$ifname.up; fail "wg-quick up $ifname"; }
}
newpeer() {  # newpeer TOKEN NAME SEGMENT [EXTRA_JSON] -> sets PID_ KEY_ PUB_ T0_
  local tok=$1 name=$2 seg=$3 extra=${4:-}
  KEY_=$(wg genkey); PUB_=$(echo "$KEY_" | wg pubkey); local pub=$PUB_
  T0_=$(now_ms)
  PID_=$(api $tok POST /v1/peers "{\"name\":\"$name\",\"segment\":\"$seg\",\"publicKey\":\"$pub\"$extra}" | field id)
  [ "$(code)" = 201 ] || fail "peer $name: $(cat $TMP/body)"
}

