#!/usr/bin/env bash
# Builds Ferry's libFuzzer targets (Fuzz/Targets) with coverage and AddressSanitizer, and
# runs each for a while with a corpus that is kept between runs.
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [TARGET...]   # default: every target, 60 s each
#   scripts/fuzz.sh --smoke                                # every target briefly (scripts/test.sh)
#   scripts/fuzz.sh --build                                # build only
#
# Targets: messages device uapi tun wgquick api netmap dns (Fuzz/README.md says what each covers).
# The corpus lives in .build-fuzz/corpus/TARGET (seeded from Fuzz/Seeds/TARGET); the inputs
# that once crashed (Fuzz/Regressions/TARGET) are run first, every time. A crash stops the
# run with a non-zero exit; its input is in .build-fuzz/crashes/TARGET/.
#
# The protocol core, the Linux layer's packet code and FerryCore are compiled here (into
# .build-fuzz) with -sanitize=fuzzer,address; swift-crypto comes from the ordinary debug
# build, which this builds first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.build-fuzz
ALL=(messages device uapi tun wgquick api netmap dns)

seconds=60
smoke=0
build_only=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --smoke) smoke=1; seconds=${FERRY_FUZZ_SMOKE_SECONDS:-6}; shift ;;
        --build) build_only=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

# swift-crypto's objects and modules from the debug build.
# (Not `swift build --show-bin-path`: it would wait for a `swift test` running meanwhile.)
DEBUG=$ROOT/.build/debug
if [ ! -f "$DEBUG/Modules/Crypto.swiftmodule" ] || [ ! -d "$DEBUG/CCryptoBoringSSL.build" ]; then
    swift build --target FerryCore
fi
CHECKOUTS=$ROOT/.build/checkouts

mkdir -p "$OUT/Modules" "$OUT/obj" "$OUT/CFerryLinux" "$OUT/deps"
# Only swift-crypto's modules: the debug build's own WireGuard module must not be found.
for m in Crypto CryptoBoringWrapper; do ln -sf "$DEBUG/Modules/$m.swiftmodule" "$OUT/deps/$m.swiftmodule"; done
cat > "$OUT/CFerryLinux/module.modulemap" <<MAP
module CFerryLinux {
    umbrella header "$ROOT/Sources/CFerryLinux/include/CFerryLinux.h"
    export *
}
MAP

SAN=(-sanitize=fuzzer,address)
SWIFTFLAGS=(-swift-version 6 -O -gline-tables-only -enable-testing -parse-as-library -wmo "${SAN[@]}"
    -I "$OUT/Modules" -I "$OUT/deps" -I "$CHECKOUTS/swift-crypto/Sources/CCryptoBoringSSL/include"
    -I "$CHECKOUTS/swift-crypto/Sources/CCryptoBoringSSLShims/include"
    -Xcc -fmodule-map-file="$OUT/CFerryLinux/module.modulemap")

# Rebuilds `module` from the sources under `dir` when any is newer than its object.
build_module() {
    local module=$1 dir=$2 object=$OUT/obj/$1.o
    local sources
    mapfile -t sources < <(find "$dir" -name '*.swift' | sort)
    if [ -f "$object" ] && [ -z "$(find "$dir" -name '*.swift' -newer "$object" | head -1)" ] \
        && [ "$object" -nt "$0" ]; then
        return
    fi
    echo "fuzz.sh: compiling $module"
    swiftc "${SWIFTFLAGS[@]}" -module-name "$module" -emit-module -emit-module-path "$OUT/Modules/$module.swiftmodule" \
        -c "${sources[@]}" -o "$object"
    # swiftc leaves an output whose bytes did not change untouched: without this, a module
    # whose object comes out the same would be compiled again on every run.
    touch "$object"
}

for c in "$ROOT"/Sources/CFerryLinux/*.c; do
    o=$OUT/obj/CFerryLinux-$(basename "$c" .c).o
    if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$ROOT/Sources/CFerryLinux/include/CFerryLinux.h" -nt "$o" ]; then
        clang -c -O1 -g -fsanitize=fuzzer-no-link,address -I "$ROOT/Sources/CFerryLinux/include" "$c" -o "$o"
    fi
done
build_module WireGuard "$ROOT/Sources/WireGuard"
build_module WireGuardLinux "$ROOT/Sources/WireGuardLinux"
build_module FerryDNS "$ROOT/Sources/FerryDNS"
build_module FerryCore "$ROOT/Sources/FerryCore"

binary=$OUT/ferry-fuzz
newest=$(find "$ROOT/Fuzz/Targets" "$OUT/obj" -newer "$binary" -print -quit 2>/dev/null || echo rebuild)
if [ ! -x "$binary" ] || [ -n "$newest" ]; then
    echo "fuzz.sh: linking ferry-fuzz"
    mapfile -t crypto < <(find "$DEBUG/Crypto.build" "$DEBUG/CryptoBoringWrapper.build" "$DEBUG/CCryptoBoringSSL.build" \
        "$DEBUG/CCryptoBoringSSLShims.build" "$DEBUG/CXKCP.build" "$DEBUG/CXKCPShims.build" -name '*.o')
    mapfile -t harness < <(find "$ROOT/Fuzz/Targets" -name '*.swift' | sort)
    # Swift 5 mode for the harness: libFuzzer calls it from one thread, through globals.
    swiftc "${SWIFTFLAGS[@]}" -swift-version 5 -module-name FerryFuzz -use-ld=lld "${harness[@]}" "$OUT"/obj/*.o "${crypto[@]}" -o "$binary"
fi
for t in "${ALL[@]}"; do ln -sf ferry-fuzz "$OUT/fuzz-$t"; done
[ $build_only = 1 ] && exit 0

# Swift's own crash handler and AddressSanitizer's get in each other's way.
export SWIFT_BACKTRACE=enable=no
failed=()
for t in "${targets[@]}"; do
    [ -n "$(printf '%s\n' "${ALL[@]}" | grep -x "$t")" ] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
    corpus=$OUT/corpus/$t crashes=$OUT/crashes/$t
    mkdir -p "$corpus" "$crashes"
    log=$OUT/fuzz-$t.log
    # Inputs that once crashed: each must run clean.
    if [ -d "$ROOT/Fuzz/Regressions/$t" ] && [ -n "$(ls -A "$ROOT/Fuzz/Regressions/$t")" ]; then
        if ! "$OUT/fuzz-$t" "$ROOT/Fuzz/Regressions/$t"/* > "$log.regressions" 2>&1; then
            echo "fuzz.sh: $t: a regression input fails again (see $log.regressions)"
            failed+=("$t")
            continue
        fi
    fi
    seeds=()
    [ -d "$ROOT/Fuzz/Seeds/$t" ] && seeds=("$ROOT/Fuzz/Seeds/$t")
    if "$OUT/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" > "$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
        echo "fuzz.sh: $t: ${seconds}s, $runs runs, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs, no crash"
    else
        echo "fuzz.sh: $t: CRASH (inputs in $crashes; log $log)"
        grep -E 'ERROR|Fatal error|invariant failed|SUMMARY' "$log" | head -5 || true
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}"
    exit 1
fi
