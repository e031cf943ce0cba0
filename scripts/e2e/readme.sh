#!/usr/bin/env bash
# The README's "A network in five minutes", run as written, as root, in network namespaces
# this script creates and removes:
#
#   dev, ci  --veth--  gw (ferryd --tls auto --gateway, ferry-wg, nftables)  --veth--  in (172.20.0.0/24)
#
# The commands are extracted from README.md, not copied: a command that changes there
# changes here. Each line runs where its comment says ("# on the laptop": the developer's
# namespace, "# in the job": the CI job's, else the gateway host's terminal), with only
# these substitutions: the placeholders (gw.example.com, ferry_..., AA:BB:...) become this
# run's address, the secret the previous command printed and the fingerprint ferryd printed;
# `sudo ` is dropped (root already); `scripts/ferryd.sh` and `swift build` become this
# build's binaries; interface names get a unique suffix (/var/run/wireguard is shared by all
# namespaces) and each machine its own state folder. Then: the developer and the CI job
# reach the internal network, and `ferry peers ls` and `ferry audit` show all of it.
#
# Usage: readme.sh FERRYD FERRY FERRY_WG. Exit 0 pass, 1 fail, 77 skipped (not root / no tun).
set -uo pipefail
FERRYD=${1:?usage: readme.sh FERRYD FERRY FERRY_WG}
FERRY=${2:?usage: readme.sh FERRYD FERRY FERRY_WG}
FERRY_WG=${3:?usage: readme.sh FERRYD FERRY FERRY_WG}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
  echo "SKIPPED (needs root and /dev/net/tun): README walk-through"; exit 77
fi
for c in ip wg nft ping; do
  command -v $c >/dev/null || { echo "SKIPPED (missing $c; run scripts/install-test-deps.sh): README walk-through"; exit 77; }
done

S=$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))
GW=fr-gw-$S IN=fr-in-$S DEV=fr-dev-$S CI=fr-ci-$S
WGIF=frg$S IFD=frd$S IFC=frc$S
TMP=$(mktemp -d /tmp/ferry-readme-$S.XXXX)
BIN=$TMP/bin
FAILED=0
. "$(dirname "$0")/lib.sh"
export FERRY_URL= FERRY_TOKEN= FERRY_STATE= FERRY_FINGERPRINT= FERRY_CI_TOKEN=

cleanup() {
  inns $DEV "$FERRY" down --state $TMP/dev >/dev/null 2>&1
  remove_namespaces $DEV $CI $IN $GW
  for i in $WGIF $IFD $IFC; do rm -f /var/run/wireguard/$i.sock; done
  if [ $FAILED -ne 0 ]; then
    echo "--- ferryd"; tail -n 30 $TMP/ferryd.out $TMP/ferryd.err 2>/dev/null
    echo "--- agent log"; tail -n 30 $TMP/dev/agent.log 2>/dev/null
  fi
  rm -rf $TMP
}
trap cleanup EXIT

# The README's PATH names the release build; this run's binaries stand in for it.
mkdir -p $BIN && ln -s "$FERRY" $BIN/ferry && ln -s "$FERRY_WG" $BIN/ferry-wg

# The block: from "## A network in five minutes" to the end of its first ```sh fence;
# backslash continuations joined.
BLOCK=$(awk '/^## A network in five minutes/{f=1} f&&/^```sh/{g=1;next} g&&/^```/{exit} g' "$ROOT/README.md" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
[ -n "$BLOCK" ] || fail "no 'A network in five minutes' block in README.md"

add_namespaces $GW $IN $DEV $CI
link_clients $GW 192.168.9 $DEV $CI
link_internal $GW $IN 172.20.0
GWADDR=192.168.77.1

SECRET= ADMIN= FP= RAN=0 SAW_SERVER=0 SAW_JOIN=0 SAW_CI=0
subst() {
  local s=$1
  s=${s//gw.example.com/$GWADDR}
  s=${s//AA:BB:.../$FP}
  s=${s//ferry_.../$2}
  s=${s//\$PWD\/.build\/release/$BIN}
  s=${s//sudo /}
  printf '%s' "$s"
}
run_in() {  # run_in NS ENV... -- COMMAND: its output in $TMP/last.out; fails the walk-through on error
  local ns=$1; shift
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done; shift
  ip netns exec $ns env PATH=$BIN:$PATH WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "${env[@]}" bash -c "set -e; $1" >$TMP/last.out 2>$TMP/err \
    || { cat $TMP/last.out $TMP/err; fail "README line failed in $ns: $1"; }
}

while IFS= read -r line; do
  trimmed=$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//')
  [ -z "$trimmed" ] && continue
  case "$trimmed" in \#*) continue ;; esac
  where=gw
  case "$trimmed" in *"# on the laptop"*) where=dev ;; *"# in the job"*) where=ci ;; esac
  cmd=$(printf '%s' "$trimmed" | sed -e 's/[[:space:]][[:space:]]*#.*$//')
  case "$cmd" in
    scripts/ferryd.sh*)
      args=${cmd#scripts/ferryd.sh}
      args=${args//--gateway wg0/--gateway $WGIF}
      ip netns exec $GW env WG_QUICK_USERSPACE_IMPLEMENTATION=$FERRY_WG "$FERRYD" serve --data $TMP/data $args \
        >$TMP/ferryd.out 2>$TMP/ferryd.err &
      for _ in $(seq 150); do grep -q 'listening on' $TMP/ferryd.out 2>/dev/null && break; sleep 0.1; done
      grep -q 'listening on' $TMP/ferryd.out || fail "ferryd did not start: $cmd"
      ADMIN=$(grep -o 'ferry_[A-Za-z0-9_-]*' $TMP/ferryd.out | head -1)
      FP=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' $TMP/ferryd.out | head -1)
      [ -n "$ADMIN" ] && [ -n "$FP" ] || fail "ferryd printed no admin token or fingerprint"
      SAW_SERVER=1; ok "ferryd: $cmd"; continue ;;
    "swift build"*)
      for p in ferry ferry-wg; do case "$cmd" in *"--product $p"*) ;; *) fail "the README's build does not make $p" ;; esac; done
      ok "built already: $cmd"; continue ;;
    export\ *)
      eval "$(subst "$cmd" "$ADMIN")"
      ok "$cmd"; continue ;;
  esac
  c=$(subst "$cmd" "$SECRET")
  case $where in
    gw)
      run_in $GW -- "$c" ;;
    dev)
      case "$c" in *"ferry join "*) c="$c --interface $IFD"; SAW_JOIN=1 ;; esac
      run_in $DEV FERRY_STATE=$TMP/dev FERRY_USERSPACE=$FERRY_WG -- "$c" ;;
    ci)
      c=${c//ferry ci up/ferry ci up --interface $IFC}
      SAW_CI=1
      run_in $CI FERRY_STATE=$TMP/ci FERRY_USERSPACE=$FERRY_WG -- "$c" ;;
  esac
  out=$(cat $TMP/last.out)
  # A command that printed only a secret (ferry tokens add) gives the next ferry_... its value.
  if printf '%s' "$out" | grep -qxE 'ferry_[A-Za-z0-9_-]{43}'; then SECRET=$out; fi
  case "$c" in *"ferry peers ls"*) PEERS=$out ;; esac
  RAN=$((RAN + 1))
  ok "[$where] $cmd"
done <<< "$BLOCK"

[ $SAW_SERVER = 1 ] && [ $SAW_JOIN = 1 ] && [ $SAW_CI = 1 ] || fail "the README block lacks the server, a join or a CI job"
[ $RAN -ge 8 ] || fail "only $RAN commands ran"
echo "$PEERS" | grep -q alice-laptop && echo "$PEERS" | grep -q gw1 && echo "$PEERS" | grep -qw ci \
  || { echo "$PEERS"; fail "ferry peers ls does not show the gateway, the developer and the CI peer"; }
grep -q peer.enroll $TMP/last.out && grep -q peer.create $TMP/last.out || { cat $TMP/last.out; fail "ferry audit does not show the enrolment and the CI peer"; }
ok "ferry peers ls and ferry audit show the gateway, alice-laptop, the CI peer and their records"
reach() { for _ in $(seq 30); do inns $1 ping -c 1 -W 1 172.20.0.2 >/dev/null 2>&1 && return 0; sleep 0.3; done; return 1; }
reach $DEV || fail "the developer does not reach the internal network"
reach $CI || fail "the CI job does not reach the internal network"
ok "the developer and the CI job reach 172.20.0.2 behind the gateway"
inns $CI env FERRY_STATE=$TMP/ci "$FERRY" ci down >/dev/null || fail "ferry ci down"

# After the walk-through, a device's first-day lifecycle with its running agent: an admin
# rotates its key (the agent and doctor name the cause; `ferry rotate-key` repairs it), then
# removes it (the agent says so, takes the interface down and exits 8).
admin() { inns $GW env PATH=$BIN:$PATH "$FERRY" "$@"; }
dev() { inns $DEV env FERRY_STATE=$TMP/dev "$FERRY" "$@"; }
wait_log() { for _ in $(seq 60); do grep -q "$1" $TMP/dev/agent.log 2>/dev/null && return 0; sleep 0.25; done; return 1; }
admin peers rotate-key alice-laptop >/dev/null || fail "ferry peers rotate-key"
wait_log "another public key" || fail "the agent did not notice its key was rotated elsewhere"
out=$(dev doctor 2>&1); st=$?
[ $st = 2 ] && echo "$out" | grep -q "rotated elsewhere" && ! echo "$out" | grep -q "open UDP" \
  || { echo "$out"; fail "ferry doctor does not name the rotated key (exit $st)"; }
dev rotate-key >/dev/null || fail "ferry rotate-key"
wait_log "key was rotated" || fail "the agent did not take the new key"
reach $DEV || fail "the developer does not reach the internal network after ferry rotate-key"
ok "a key rotated by the admin is named by the agent and doctor; ferry rotate-key repairs it"
out=$(dev down 2>&1) || fail "ferry down"
echo "$out" | grep -q "$IFD down (agent pid [0-9]* stopped)" && ! echo "$out" | grep -q "was not up" \
  || { echo "$out"; fail "ferry down with a running agent does not say one true thing"; }
inns $DEV env FERRY_STATE=$TMP/dev FERRY_USERSPACE=$FERRY_WG "$FERRY" up --background 2>/dev/null || fail "ferry up again"
ok "ferry down with a running agent: one line, the interface down and the agent stopped"
admin peers rm alice-laptop >/dev/null || fail "ferry peers rm"
wait_log "removed from the network" || fail "the agent did not say the machine was removed"
for _ in $(seq 40); do inns $DEV ip link show $IFD >/dev/null 2>&1 || break; sleep 0.25; done
inns $DEV ip link show $IFD >/dev/null 2>&1 && fail "the interface stayed up after the machine was removed"
for _ in $(seq 40); do [ -e $TMP/dev/agent.pid ] || break; sleep 0.25; done
[ -e $TMP/dev/agent.pid ] && fail "the agent did not stop"
grep -q "exit 8" $TMP/dev/agent.log || fail "the agent did not stop with exit 8"
ok "a removed machine's agent says so, takes the interface down and exits 8"
echo "PASS: README walk-through"
