#!/usr/bin/env bash
# The native kernel tests on arm64, from an x86-64 machine: ga_native_tests (native/tests/*.cc) is
# cross-compiled with Debian's g++-aarch64-linux-gnu (cmake/toolchain-aarch64-linux-gnu.cmake) and
# run by ctest under qemu-aarch64-static. The binary runs every test under every ISA the (emulated)
# CPU has, here scalar and neon, and every native reduced-precision set: qemu's default CPU model
# ("max") has BF16 and FHM, so neonbf16 and neonfp16 run (checked below). A second pass of the
# 16-bit tests on a Cortex-A72 model (neither extension) checks the fallback to the emulated
# kernels. Both tools are installed with apt-get when missing (as root).
#
#   bash scripts/test-arm64.sh [extra ga_native_tests arguments, e.g. --filter gemm]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${GA_ARM64_BUILD_DIR:-build-arm64}

bash scripts/ensure-cross-toolchain.sh --qemu
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
export GA_FIXTURES_DIR="$ROOT/test/fixtures"

cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DGA_BUILD_ADDON=OFF -DGA_BUILD_TESTS=ON > "$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log" >&2; exit 1; }
rm -f "$BUILD.configure.log"
cmake --build "$BUILD" --target ga_native_tests --parallel "$(nproc)"

machine=$(readelf -h "$BUILD/ga_native_tests" | sed -n 's/^ *Machine: *//p')
[[ "$machine" == "AArch64" ]] || { echo "ga_native_tests is built for '$machine', not AArch64" >&2; exit 1; }
echo "ga_native_tests: AArch64 ELF, run under $(qemu-aarch64-static --version | head -n1)"

if [[ $# -gt 0 ]]; then
  qemu-aarch64-static "$BUILD/ga_native_tests" "$@"
else
  (cd "$BUILD" && ctest --output-on-failure --verbose --timeout 3000)
  offered() {  # the native reduced-precision sets ga_native_tests finds on qemu CPU model $1
    qemu-aarch64-static -cpu "$1" "$BUILD/ga_native_tests" --filter bf16_scalar_rounding_rule |
      sed -n 's/^ *native reduced-precision sets here://p'
  }
  sets=$(offered max)
  for set in neonbf16 neonfp16; do
    [[ " $sets " == *" $set "* ]] ||
      { echo "qemu -cpu max offers '$sets': the native set $set is missing (build or detection lost it)" >&2; exit 1; }
  done
  sets=$(offered cortex-a72)
  [[ "$sets" == " (none)" ]] ||
    { echo "qemu -cpu cortex-a72 (no BF16, no FHM) offers '$sets': detection is wrong" >&2; exit 1; }
  echo "16-bit kernels on a CPU without BF16/FHM (qemu -cpu cortex-a72): emulated fallback"
  qemu-aarch64-static -cpu cortex-a72 "$BUILD/ga_native_tests" --filter 16
fi
