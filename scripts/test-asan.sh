#!/usr/bin/env bash
# npm run test:asan — the addon and the native kernel test binary built with AddressSanitizer +
# UndefinedBehaviorSanitizer (CMake option GA_SANITIZE) into their own build directory, then:
#   1. the native kernel tests (native/tests, ga_native_tests), leaks checked;
#   2. under node with the ASan runtime preloaded (node itself is not instrumented, so
#      detect_leaks=0): the generated bad-input suite, the NaN/Inf + every-entry-point scenarios,
#      the raw-binding and safetensors fuzz loops, worker_threads, a short soak, and a
#      representative set of the jest suites (in band).
# Any ASan/UBSan report aborts the process (halt_on_error, -fno-sanitize-recover), which fails
# the step. Usage: scripts/test-asan.sh [--no-build] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${GA_ASAN_BUILD_DIR:-build/sanitize}
BUILD=1
QUICK=0
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    --quick) QUICK=1 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
JOBS=$(nproc 2>/dev/null || echo 2)
t0=$(date +%s)
step() { echo; echo "=== test:asan: $* ($(( $(date +%s) - t0 )) s)"; }

mkdir -p "$OUT"
if [ "$BUILD" = 1 ]; then
  step "building the addon and ga_native_tests with -fsanitize=address,undefined into $OUT"
  # cmake-js puts the addon in $OUT/Release; node-gyp-build finds it there through
  # GLOBAL_ATTENTION_PREBUILD=$OUT/.. layout below ($PREFIX/build/Release).
  npx cmake-js compile --release --out "$OUT/build" --parallel "$JOBS" \
    --CDGA_SANITIZE=ON --CDGA_BUILD_TESTS=ON --CDGA_BUILD_ADDON=ON >"$OUT.log" 2>&1 || {
      tail -50 "$OUT.log"; echo "test:asan: the sanitizer build failed (full log: $OUT.log)" >&2; exit 1; }
fi
ADDON=$(ls "$OUT"/build/Release/*.node 2>/dev/null | head -1 || true)
NATIVE_TESTS=$(find "$OUT/build" -name ga_native_tests -type f -perm -u+x 2>/dev/null | head -1 || true)
[ -n "$ADDON" ] || { echo "test:asan: no addon in $OUT/build/Release" >&2; exit 1; }
if ! nm -D "$ADDON" | grep -q __asan_init; then
  ldd "$ADDON" | grep -q libasan || { echo "test:asan: $ADDON is not instrumented" >&2; exit 1; }
fi

export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
status=0

step "native kernel tests under ASan + UBSan (with leak checking)"
if [ -n "$NATIVE_TESTS" ]; then
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    "$NATIVE_TESTS" || { echo "test:asan: ga_native_tests failed under ASan/UBSan" >&2; status=1; }
else
  echo "test:asan: no ga_native_tests binary (native/tests has no sources yet?) -- skipped"
fi

# Node with the ASan runtime preloaded; the addon links libasan/libubsan dynamically (gcc).
LIBASAN=$(gcc -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "test:asan: libasan.so not found (gcc -print-file-name)" >&2; exit 1; }
# detect_leaks=0: node itself leaks by design at exit. max_allocation_size_mb: an absurd allocation
# fails (bad_alloc -> a JS Error) instead of exhausting the machine; the bad-input runner's "heavy"
# cases need that. allocator_may_return_null: the same for malloc.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=4096:detect_odr_violation=0"
export GLOBAL_ATTENTION_PREBUILD="$ROOT/$OUT"
asan_node() { LD_PRELOAD="$LIBASAN" node "$@"; }

step "the sanitizer build loads"
asan_node -e "const {loadNative}=require('./test/reliability/load-lib.js'); const n=loadNative(); console.log('addon:', require.resolve ? '' : '', JSON.stringify(n.info()))"
# Make sure the instrumented addon is the one node-gyp-build picks.
asan_node -e "console.log(require('node-gyp-build').resolve('.'))" | grep -q "$OUT" || {
  echo "test:asan: node-gyp-build did not pick $OUT" >&2; exit 1; }

run() {
  local name=$1; shift
  step "$name"
  if ! "$@"; then echo "test:asan: FAILED: $name" >&2; status=1; fi
}
run "generated bad-input suite (every entry point, sync + async)" asan_node test/reliability/case-runner.js --cases badinput --summary --report-only --supervise --idle-seconds 20
run "NaN/Inf and every-entry-point scenarios" asan_node test/reliability/case-runner.js --cases scenarios --summary --report-only --supervise --idle-seconds 60
run "fuzz loops: raw binding + safetensors header parser (20 s)" asan_node test/reliability/fuzz-js.js --seconds "$([ "$QUICK" = 1 ] && echo 5 || echo 20)"
run "worker_threads: 4 workers, terminate and exit with calls in flight" asan_node test/reliability/workers-runner.js all
run "soak (short: 1200 mixed calls)" asan_node test/reliability/soak.js --calls 1200 --warmup 400 --no-rss-check --no-delay-check
if [ "$QUICK" = 0 ]; then
  step "jest suites in band under ASan"
  # A representative subset: dense (fixtures, async, bad input), TGlobal shapes, LongT5 layer fixtures, safetensors,
  # the whole model (fixtures, bad checkpoints), the standard operator's options, reduced precision, and serving
  # (decode path, packed batches, KV caches, abort).
  SUITES=(test/dense.fixtures.test.ts test/dense.async.test.ts test/dense.badinput.test.ts test/safetensors.test.ts)
  for s in test/tglobal.blocks.test.ts test/longt5.fixtures.test.ts test/tglobal.badinput.test.ts test/weights.test.ts \
           test/model.fixtures.test.ts test/model.badinput.test.ts test/stdop.options.test.ts test/precision.dense.test.ts \
           test/precision.tiles.test.ts test/decode.parity.test.ts test/packed.dense.test.ts test/kvcache.test.ts \
           test/abort.test.ts; do
    [ -f "$s" ] && SUITES+=("$s")
  done
  LD_PRELOAD="$LIBASAN" node node_modules/jest/bin/jest.js --runInBand --silent "${SUITES[@]}" || {
    echo "test:asan: FAILED: jest suites under ASan" >&2; status=1; }
fi

step "done: $([ $status = 0 ] && echo clean || echo FAILED)"
exit $status
