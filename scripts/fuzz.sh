#!/usr/bin/env bash
# Fuzzing (npm run fuzz; called from .ci/run):
#   1. native: the libFuzzer target native/fuzz/fuzz_kernels.cc, built with clang + ASan + UBSan
#      into build/fuzz (clang and its runtime come from Debian's registry if missing, which needs
#      root); first every input in native/fuzz/regressions/ is replayed with no suppressions (a
#      known bug still fails the run), then FUZZ_SECONDS (default 60) of fuzzing with
#      native/fuzz/ubsan.supp silencing only the findings already reported.
#   2. JS: test/reliability/fuzz-js.js (the safetensors header parser, the raw addon) for
#      FUZZ_JS_SECONDS (default 30), under an address-space limit.
# New crashes are written to build/fuzz/artifacts/; copy them into native/fuzz/regressions/.
# Usage: scripts/fuzz.sh [--native-only | --js-only]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_NATIVE=${FUZZ_SECONDS:-60}
SECONDS_JS=${FUZZ_JS_SECONDS:-30}
OUT=build/fuzz
DO_NATIVE=1
DO_JS=1
case "${1:-}" in
  --native-only) DO_JS=0 ;;
  --js-only) DO_NATIVE=0 ;;
  "") ;;
  *) echo "usage: scripts/fuzz.sh [--native-only | --js-only]" >&2; exit 2 ;;
esac
status=0
t0=$(date +%s)
step() { echo; echo "=== fuzz: $* ($(( $(date +%s) - t0 )) s)"; }

have_libfuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >/tmp/ga-fuzz-probe.cc
  clang++ -fsanitize=fuzzer,address,undefined /tmp/ga-fuzz-probe.cc -o /tmp/ga-fuzz-probe >/dev/null 2>&1
}

if [ "$DO_NATIVE" = 1 ]; then
  step "native: clang with libFuzzer"
  if ! have_libfuzzer; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing clang and its runtime (libFuzzer, sanitizers) from Debian"
      export DEBIAN_FRONTEND=noninteractive
      { apt-get install -y --no-install-recommends clang libclang-rt-dev ||
        { apt-get update && apt-get install -y --no-install-recommends clang libclang-rt-dev; } ||
        { apt-get update && apt-get install -y --no-install-recommends clang "libclang-rt-$(clang --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p' | head -1)-dev"; }
      } >/tmp/ga-fuzz-apt.log 2>&1
      if ! have_libfuzzer; then
        # Debian 12 names the runtime after the clang version
        v=$(clang --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p' | head -1)
        [ -n "$v" ] && apt-get install -y --no-install-recommends "libclang-rt-$v-dev" >>/tmp/ga-fuzz-apt.log 2>&1
      fi
    fi
  fi
  if ! have_libfuzzer; then
    echo "fuzz: FAILED: no clang with -fsanitize=fuzzer (apt-get install clang libclang-rt-dev, as root)" >&2
    tail -5 /tmp/ga-fuzz-apt.log 2>/dev/null
    status=1
  else
    step "native: building $OUT (clang, ASan + UBSan, -fsanitize=fuzzer)"
    mkdir -p "$OUT"
    # GA_SANITIZE stays off: the same sanitizers come from these flags, with float-cast-overflow
    # and shifts recoverable so that ubsan.supp can silence the known finding while fuzzing.
    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize-recover=float-cast-overflow,shift,pointer-overflow -fno-omit-frame-pointer -g"
    if ! { cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
             -DGA_BUILD_ADDON=OFF -DGA_BUILD_TESTS=OFF -DGA_BUILD_FUZZERS=ON -DGA_SANITIZE=OFF \
             -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >"$OUT/cmake.log" 2>&1 &&
           cmake --build "$OUT" --target fuzz_kernels -j "$(nproc)" >"$OUT/build.log" 2>&1; }; then
      tail -30 "$OUT/build.log" "$OUT/cmake.log"
      echo "fuzz: FAILED: building fuzz_kernels" >&2
      status=1
    else
      FUZZER=$OUT/fuzz_kernels
      export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1"
      step "native: replaying native/fuzz/regressions (no suppressions)"
      shopt -s nullglob
      for f in native/fuzz/regressions/*; do
        [ -f "$f" ] || continue
        case "$f" in *.md) continue ;; esac
        if UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" "$FUZZER" "$f" >"$OUT/replay.log" 2>&1; then
          echo "  ok    $f"
        else
          echo "  FAIL  $f (a known bug still there; see native/fuzz/ubsan.supp):"
          grep -E "runtime error|ERROR: AddressSanitizer|invariant violated" "$OUT/replay.log" | head -3 | sed 's/^/        /'
          status=1
        fi
      done
      step "native: fuzzing for ${SECONDS_NATIVE} s"
      mkdir -p "$OUT/corpus" "$OUT/artifacts"
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/native/fuzz/ubsan.supp" \
        "$FUZZER" -max_total_time="$SECONDS_NATIVE" -max_len=4096 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
          -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" native/fuzz/regressions >"$OUT/fuzz.log" 2>&1
      rc=$?
      grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$OUT/fuzz.log" | sed 's/^/  /'
      echo "  corpus: $(ls "$OUT/corpus" | wc -l) inputs"
      if [ $rc -ne 0 ]; then
        echo "fuzz: FAILED: fuzz_kernels found a problem (artifacts in $OUT/artifacts):" >&2
        grep -E "runtime error|ERROR: |invariant violated|SUMMARY|Test unit written" "$OUT/fuzz.log" | head -10 >&2
        status=1
      else
        echo "  clean"
      fi
    fi
  fi
fi

if [ "$DO_JS" = 1 ]; then
  step "JS: safetensors header parser + raw addon for ${SECONDS_JS} s"
  seed=$(( $(date +%s) % 1000000000 ))
  if ! ( ulimit -v 6291456 && node test/reliability/fuzz-js.js --seconds "$SECONDS_JS" --seed "$seed" --trace build/fuzz-js.trace ); then
    echo "fuzz: FAILED: fuzz-js (last input: $(cat build/fuzz-js.trace 2>/dev/null))" >&2
    status=1
  fi
fi

step "done: $([ $status = 0 ] && echo clean || echo FAILED)"
exit $status
