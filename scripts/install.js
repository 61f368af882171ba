#!/usr/bin/env node
// The package's "install" script.
//
// * Installed from npm: if a prebuilt addon in prebuilds/ fits this platform and actually loads
//   (right arch, glibc new enough, ...), there is nothing to do.
// * Otherwise (no prebuild fits or it does not load, a git checkout, or a source build was asked
//   for with `npm install --build-from-source` / GLOBAL_ATTENTION_BUILD_FROM_SOURCE=1), build from
//   source with cmake-js (needs cmake >= 3.15 and a C++17 compiler).
//
// With --ignore-scripts nothing runs at all: the prebuild is then simply loaded at require time.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';

function log(msg) {
  console.error(`global-attention: ${msg}`);
}

// The prebuild node-gyp-build picks for this platform (prebuilds only: PREBUILDS_ONLY makes it skip
// build/), loaded in a child process so that a failure, even a crash, cannot take this script down.
// Returns { file } when it loads, { file, why } when it does not, {} when there is none.
function probePrebuild() {
  if (!fs.existsSync(path.join(ROOT, 'prebuilds'))) return {};
  let gypBuild;
  try {
    gypBuild = require.resolve('node-gyp-build', { paths: [ROOT] });
  } catch {
    return {};
  }
  const code =
    `const f = require(${JSON.stringify(gypBuild)}).resolve(${JSON.stringify(ROOT)});` +
    'process.stdout.write(f + "\\n"); require(f);';
  const r = spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8',
    env: { ...process.env, PREBUILDS_ONLY: '1' },
  });
  const file = (r.stdout || '').split('\n')[0].trim();
  if (!file) return {};
  if (r.status === 0) return { file };
  const lines = (r.stderr || '').trim().split('\n');
  return { file, why: lines.find((l) => /Error/.test(l)) || lines[0] || `exit code ${r.status}` };
}

function buildFromSource(reason) {
  log(`${reason}; building from source with cmake-js`);
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [ROOT] });
    require.resolve('node-addon-api', { paths: [ROOT] });
  } catch {
    log(
      'cannot build from source: cmake-js and node-addon-api (optional dependencies of this package) are not ' +
        'installed. Install without --omit=optional / --no-optional, or add them: `npm install cmake-js node-addon-api`, ' +
        'then `npm rebuild global-attention`.',
    );
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--release'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    log(
      `the source build failed (platform ${process.platform}-${process.arch}, Node ${process.version}, ` +
        `Node-API ${process.versions.napi}). It needs cmake >= 3.15 and a C++17 compiler (g++ >= 9 or clang >= 10) ` +
        'on PATH; the output above says what went wrong.',
    );
    process.exit(r.status || 1);
  }
}

function main() {
  const fromSource =
    truthy(process.env.GLOBAL_ATTENTION_BUILD_FROM_SOURCE) ||
    truthy(process.env.npm_config_build_from_source) ||
    (process.env.npm_config_build_from_source || '').split(',').includes('global-attention');
  if (fromSource) return buildFromSource('a source build was requested');
  if (fs.existsSync(path.join(ROOT, '.git'))) return buildFromSource('a git checkout');

  const { file, why } = probePrebuild();
  if (!file) return buildFromSource(`no prebuilt addon for ${process.platform}-${process.arch}`);
  if (why) return buildFromSource(`the prebuilt addon ${path.relative(ROOT, file)} does not load here (${why})`);
  log(`using the prebuilt addon ${path.relative(ROOT, file)}`);
}

main();
