#!/usr/bin/env bash
# Makes sure the aarch64 cross toolchain (and, with --qemu, qemu-aarch64-static) is installed:
# Debian's g++-aarch64-linux-gnu and qemu-user-static, installed with apt-get when missing (needs
# root, as CI has). Used by scripts/prebuild.js and scripts/test-arm64.sh.
set -euo pipefail
want_qemu=0
[[ "${1:-}" == "--qemu" ]] && want_qemu=1

missing=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || missing+=(g++-aarch64-linux-gnu)
if [[ $want_qemu == 1 ]]; then
  command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
fi
[[ ${#missing[@]} == 0 ]] && exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})." >&2
  exit 1
fi
echo "installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
