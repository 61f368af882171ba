#!/usr/bin/env node
// The package's "prepack" script (runs on `npm pack` and `npm publish`, not on installs): the
// tarball must carry the linux-x64 and linux-arm64 prebuilds, checked and built from the sources
// being packed, so that its users need no compiler. When prebuilds/ lacks one or it is stale,
// this builds them (scripts/prebuild.js: the arm64 one is cross-compiled with
// g++-aarch64-linux-gnu, installed with apt-get when missing and running as root); when that is
// not possible it refuses, with one line saying what to run. It never lets a binary-less
// tarball through.
//
// GLOBAL_ATTENTION_PREPACK_BUILD=0: only check; refuse instead of building.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { TARGETS, sourceHash, verify } = require('./prebuild.js');

const ROOT = path.resolve(__dirname, '..');
const ARCHS = Object.keys(TARGETS);
const HOW =
  'run `npm run prebuilds` (linux-arm64 is cross-compiled: it needs g++-aarch64-linux-gnu, e.g. ' +
  '`sudo apt-get install g++-aarch64-linux-gnu`), then pack again';

function log(msg) {
  console.error(`prepack: ${msg}`);
}

function problems(hash) {
  const out = {};
  for (const arch of ARCHS) {
    const p = verify(arch, hash);
    if (p.length) out[arch] = p;
  }
  return out;
}

const summary = (bad) => Object.entries(bad).map(([arch, p]) => `linux-${arch}: ${p.join(', ')}`).join('; ');

function refuse(bad) {
  log(`refusing to pack a package without complete prebuilds (${summary(bad)}): ${HOW}`);
  process.exit(1);
}

function main() {
  if (process.platform !== 'linux') {
    log(`prebuilds are made on Linux; refusing to pack on ${process.platform}: pack on Linux after \`npm run prebuilds\``);
    process.exit(1);
  }
  const hash = sourceHash();
  let bad = problems(hash);
  if (Object.keys(bad).length === 0) {
    log(`prebuilds for ${ARCHS.map((a) => `linux-${a}`).join(' and ')} checked and built from these sources`);
    return;
  }
  if (process.env.GLOBAL_ATTENTION_PREPACK_BUILD === '0') refuse(bad);

  const archs = Object.keys(bad);
  log(`${summary(bad)}; building: node scripts/prebuild.js --arch ${archs.join(',')}`);
  const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuild.js'), '--arch', archs.join(',')], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2], // stdout is npm pack's (--json)
  });
  bad = problems(hash);
  if (r.status !== 0 || Object.keys(bad).length) {
    if (Object.keys(bad).length === 0) bad = Object.fromEntries(archs.map((a) => [a, ['the build failed (output above)']]));
    refuse(bad);
  }
  log(`prebuilds for ${ARCHS.map((a) => `linux-${a}`).join(' and ')} built and checked`);
}

main();
