#!/usr/bin/env bash
# Package test: what a user gets from `npm install global-attention`.
#
#  1. Build the shipped prebuilds (x64 + arm64 cross, scripts/prebuild.js, checked there) and pack
#     the package (npm pack: its prepack script re-checks the prebuilds, its prepare script builds
#     dist/). The tarball must hold what ships and
#     nothing else (no tests, fixtures, bench, source maps, build outputs).
#  2. Install the tarball into an empty project offline, with install scripts off and no compiler or
#     cmake on PATH. Its one runtime dependency, node-gyp-build, is packed from this project's
#     node_modules (so no registry and no npm cache is needed); the optional dependencies (cmake-js,
#     node-addon-api: only for a source build) are left out.
#  3. There: require it (the prebuild must be what loads), run dense attention and the LongT5 TGlobal
#     layer on fixtures against their float64 references under every ISA, import it from ESM,
#     type-check TypeScript consumers (CommonJS, ESM, bundler resolution) against the shipped typings
#     with the project's tsc, check the load-failure message, and run the install script (it must
#     take the prebuild, not compile).
#  4. The source fallback: `npm rebuild --build-from-source` in that project, with a compiler and the
#     optional dependencies present, builds from the files in the tarball and passes the same checks.
#
# Needs: node, npm, g++/cmake (for the builds), the aarch64 cross toolchain (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ga-package.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STEPS=0
step() { STEPS=$((STEPS + 1)); printf '\n== package test %d: %s\n' "$STEPS" "$*"; }
fail() { echo "package test FAILED: $*" >&2; exit 1; }

step "prebuilds"
node scripts/prebuild.js

step "npm pack (its prepack check, scripts/prepack.js, must find the prebuilds complete and current)"
npm pack --pack-destination "$WORK" --json > "$WORK/pack.out"
node - "$WORK/pack.out" <<'EOF'
const fs = require('fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const [pack] = JSON.parse(text.slice(text.indexOf('\n[') + 1 || text.indexOf('[')));
const files = pack.files.map((f) => f.path);
const must = [
  'package.json', 'README.md', 'LICENSE', 'CMakeLists.txt', 'scripts/install.js', 'bin/global-attention.js',
  'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/binding.d.ts',
  'prebuilds/linux-x64/node.napi.glibc.node', 'prebuilds/linux-x64/sources.sha256',
  'prebuilds/linux-arm64/node.napi.glibc.node', 'prebuilds/linux-arm64/sources.sha256',
  'native/dispatch/dispatch.cc', 'native/simd/isa_neon.cc', 'native/compat/glibc_compat.cc',
  'dist/demo/demo.js', 'dist/bench/run.js',  // `global-attention demo` and `global-attention bench`
];
const missing = must.filter((f) => !files.includes(f));
const banned = files.filter((f) =>
  /^(test|bench|demo|build[^/]*|cmake|dist\/test|native\/tests|node_modules|\.ci|coverage)\//.test(f) ||
  /\.(safetensors|map|ts)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.d.mts') ||
  /(^|\/)\.[^/]+$/.test(f));
if (missing.length || banned.length) {
  console.error(`missing from the tarball: ${missing.join(', ') || '-'}\nshould not ship: ${banned.join(', ') || '-'}`);
  process.exit(1);
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const prebuilt = pack.files.filter((f) => f.path.startsWith('prebuilds/')).reduce((s, f) => s + f.size, 0);
console.log(`${pack.filename}: ${kib(pack.size)} packed, ${kib(pack.unpackedSize)} unpacked, ${pack.entryCount} files ` +
  `(prebuilds ${kib(prebuilt)} unpacked); nothing outside the files whitelist`);
fs.writeFileSync(process.argv[2] + '.name', pack.filename);
EOF
TARBALL="$WORK/$(cat "$WORK/pack.out.name")"
npm pack "$ROOT/node_modules/node-gyp-build" --pack-destination "$WORK" --silent > "$WORK/ngb.name"
NGB_TARBALL="$WORK/$(tail -n1 "$WORK/ngb.name")"

step "install into an empty project: offline, --ignore-scripts, no compiler on PATH"
APP="$WORK/app"
mkdir -p "$APP/bin"
cp test/package/check.cjs test/package/esm.mjs test/package/consumer.ts test/package/consumer.mts "$APP/"
echo '{ "name": "ga-consumer", "version": "1.0.0", "private": true }' > "$APP/package.json"
# PATH = node and sh alone: no cc/g++/cmake/make/python, so nothing can be compiled.
ln -s "$(command -v node)" "$APP/bin/node"
ln -s /bin/sh "$APP/bin/sh"   # npm runs lifecycle scripts with sh
NPM_CLI=$(node -p "require('fs').realpathSync(process.argv[1])" "$(command -v npm)")
BARE="env PATH=$APP/bin HOME=$WORK/home npm_config_cache=$WORK/npm-cache"
mkdir -p "$WORK/home"
for tool in cc gcc g++ c++ clang cmake make; do
  if env PATH="$APP/bin" bash -c "command -v $tool" >/dev/null 2>&1; then fail "$tool is on the bare PATH"; fi
done
(cd "$APP" && $BARE node "$NPM_CLI" install --offline --ignore-scripts --omit=optional --no-audit --no-fund \
  "$TARBALL" "$NGB_TARBALL")
[[ -d "$APP/node_modules/cmake-js" || -d "$APP/node_modules/node-addon-api" ]] && fail "optional build dependencies were installed"

step "require + fixtures (CommonJS)"
(cd "$APP" && $BARE node check.cjs "$ROOT/test/fixtures")

step "import (ESM) and the command line"
(cd "$APP" && $BARE node esm.mjs)
(cd "$APP" && $BARE node_modules/.bin/global-attention --help > /dev/null) || fail "the global-attention command does not run"
echo "node_modules/.bin/global-attention --help: ok"
# The demo and the bench ship too; onnxruntime-node (a devDependency) is absent here, so the demo
# must say its cross-check is unavailable and still succeed.
(cd "$APP" && $BARE node_modules/.bin/global-attention demo --no-cost --out "$WORK/report.html" > "$WORK/demo.out" 2>&1) ||
  { tail -n 20 "$WORK/demo.out" >&2; fail "global-attention demo failed without onnxruntime-node"; }
grep -q "<svg" "$WORK/report.html" || fail "the demo report has no SVG"
(cd "$APP" && $BARE node_modules/.bin/global-attention bench --help > /dev/null) || fail "global-attention bench --help failed"
# `check` needs onnxruntime-node: without it, one line that says how to add it, exit code 1.
(cd "$APP" && $BARE node_modules/.bin/global-attention check --layer dense > "$WORK/check.out" 2>&1) &&
  fail "global-attention check succeeded without onnxruntime-node"
[[ $(wc -l < "$WORK/check.out") == 1 ]] && grep -q 'npm install onnxruntime-node' "$WORK/check.out" &&
  ! grep -q 'Require stack' "$WORK/check.out" ||
  { cat "$WORK/check.out" >&2; fail "global-attention check without onnxruntime-node does not say so in one line"; }
echo "node_modules/.bin/global-attention demo (no onnxruntime-node), check (one line: $(cut -c1-60 "$WORK/check.out")...) and bench --help: ok"

step "TypeScript consumers against the shipped typings"
TSC="$ROOT/node_modules/typescript/bin/tsc"
TSFLAGS=(--noEmit --strict --target es2021 --lib es2022 --types node --typeRoots "$ROOT/node_modules/@types")
(cd "$APP" &&
  $BARE node "$TSC" "${TSFLAGS[@]}" --module commonjs --moduleResolution node10 consumer.ts &&
  $BARE node "$TSC" "${TSFLAGS[@]}" --module node16 --moduleResolution node16 consumer.ts &&
  $BARE node "$TSC" "${TSFLAGS[@]}" --module node16 --moduleResolution node16 consumer.mts &&
  $BARE node "$TSC" "${TSFLAGS[@]}" --module esnext --moduleResolution bundler consumer.ts)
echo "tsc: CommonJS (node10, node16), ESM (node16) and bundler consumers type-check"

step "a load failure explains itself"
msg=$(cd "$APP" && GLOBAL_ATTENTION_PREBUILD="$WORK/nowhere" $BARE node -e "require('global-attention')" 2>&1) && fail "loading from an empty prebuild dir succeeded"
for want in "linux-$(node -p process.arch)" "glibc" "Node-API $(node -p process.versions.napi)" "--build-from-source"; do
  grep -qF -- "$want" <<< "$msg" || { echo "$msg" >&2; fail "the load error does not mention '$want'"; }
done
echo "$msg" | grep -m1 'could not load'

step "install script with the prebuild: nothing to compile"
(cd "$APP" && $BARE node "$NPM_CLI" rebuild global-attention --offline --foreground-scripts)
[[ -d "$APP/node_modules/global-attention/build" ]] && fail "the install script built from source although the prebuild fits"
(cd "$APP" && $BARE node check.cjs "$ROOT/test/fixtures" | tail -n1)

step "source fallback: npm rebuild --build-from-source (compiler + optional deps present)"
ln -s "$ROOT/node_modules/cmake-js" "$APP/node_modules/cmake-js"
ln -s "$ROOT/node_modules/node-addon-api" "$APP/node_modules/node-addon-api"
(cd "$APP" && env HOME="$WORK/home" npm_config_cache="$WORK/npm-cache" \
  npm rebuild global-attention --offline --build-from-source --foreground-scripts > "$WORK/rebuild.log" 2>&1) ||
  { tail -n 40 "$WORK/rebuild.log" >&2; fail "the source build from the tarball failed"; }
(cd "$APP" && $BARE node check.cjs "$ROOT/test/fixtures" --expect=build | sed -n '1p;$p')

echo
echo "package-test: $STEPS passed, 0 failed"
