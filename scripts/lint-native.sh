#!/usr/bin/env bash
# C++ format check (npm run lint:native): clang-format --dry-run --Werror over native/**/*.{h,cc}
# with the repository's .clang-format. Fails, listing the files, when any file is not formatted;
# `clang-format -i` on those files fixes them. Installs Debian's clang-format when it is missing
# (as root, scripts/ensure-apt.sh). CI uses Debian 12's clang-format 14; other versions may
# break a few lines differently.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-apt.sh clang-format=clang-format
mapfile -t files < <(git ls-files -- 'native/*.h' 'native/*.cc' 2>/dev/null || true)
# Outside a git checkout (an unpacked tarball): every native source on disk.
[[ ${#files[@]} == 0 ]] && mapfile -t files < <(find native \( -name '*.h' -o -name '*.cc' \) | sort)
[[ ${#files[@]} == 0 ]] && { echo "lint:native: no C++ files found under native/" >&2; exit 1; }
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} != 0 ]]; then
  echo "lint:native: ${#bad[@]} of ${#files[@]} C++ files are not formatted ($(clang-format --version | grep -o 'version [0-9.]*')):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "see: clang-format --dry-run FILE; fix: clang-format -i FILE..." >&2
  exit 1
fi
echo "lint:native: ${#files[@]} C++ files formatted as .clang-format says"
