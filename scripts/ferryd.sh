#!/usr/bin/env bash
# Ferry's main job: the coordinator, ferryd, on its embedded defaults — a network
# 10.10.0.0/16 with a random IPv6 ULA, SQLite under .ferry-data/ (or $FERRY_DATA),
# listening on http://127.0.0.1:8080. The first start prints the admin token once.
# Extra arguments go to `ferryd serve` (e.g. --gateway wg0, --tls auto, --listen ADDR:PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/include/sqlite3.h ]; then
  # GRDB links the system SQLite.
  if [ "$(id -u)" -ne 0 ]; then echo "ferryd.sh: libsqlite3-dev is missing; install it (as root: apt-get install libsqlite3-dev)" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libsqlite3-dev >/dev/null
fi
echo "ferryd.sh: building ferryd (release; the first build takes several minutes)..." >&2
swift build -c release --product ferryd >&2
data="${FERRY_DATA:-.ferry-data}"
exec .build/release/ferryd serve --data "$data" "$@"
