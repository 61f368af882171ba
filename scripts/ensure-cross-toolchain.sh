#!/usr/bin/env bash
# Makes sure the aarch64 cross toolchain (and, with --qemu, qemu-aarch64-static) is installed:
# Debian's g++-aarch64-linux-gnu and qemu-user-static, installed with apt-get when missing (needs
# root, as CI has). Used by scripts/prebuild.js and scripts/test-arm64.sh.
set -euo pipefail
want=(aarch64-linux-gnu-g++=g++-aarch64-linux-gnu)
[[ "${1:-}" == "--qemu" ]] && want+=(qemu-aarch64-static=qemu-user-static)
exec bash "$(dirname "$0")/ensure-apt.sh" "${want[@]}"
