#!/usr/bin/env node
// Builds the prebuilt addons that ship inside the npm package, with this project's cmake-js build
// (offline: cmake-js takes the Node-API headers from the node-api-headers package, because
// package.json has binary.napi_versions), and puts them where node-gyp-build looks:
//
//   prebuilds/linux-x64/node.napi.glibc.node
//   prebuilds/linux-arm64/node.napi.glibc.node   (cross-compiled, g++-aarch64-linux-gnu)
//
// (Builds that need libgomp.so.1 — none since the library has its own thread pool — get a copy next
// to the addon, found through RUNPATH $ORIGIN.)
//
// (prebuildify's layout and names: one Node-API build serves every Node version >= the Node-API
// version; the glibc tag keeps musl systems off them.)
//
//   node scripts/prebuild.js [--arch x64,arm64] [--clean]
//   node scripts/prebuild.js --verify [--arch x64,arm64]   (check what is in prebuilds/, build nothing)
//
// Each placed prebuild gets prebuilds/linux-ARCH/sources.sha256: a hash of the native sources it
// was built from (the native/ folders package.json ships, CMakeLists.txt, cmake/). --verify, and
// `npm pack` through scripts/prepack.js, refuse a prebuild that is missing, fails the checks below
// or was built from other sources.
//
// Each build is checked before it is placed: ELF machine, shared-library needs (no libstdc++, which
// is linked in statically; nothing beyond libc/libm/libgcc_s/libgomp), glibc symbol versions
// (<= GLIBC_MAX), and for x64 the baseline-ISA check (scripts/check-baseline-isa.js: AVX code only in
// the dispatched ISA objects). The arm64 build needs the cross toolchain; when it is missing,
// scripts/ensure-cross-toolchain.sh installs it (as root, with apt-get).
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const GLIBC_MAX = [2, 34]; // Ubuntu 22.04, Debian 12, RHEL/Alma/Rocky 9, Amazon Linux 2023
const PREBUILD_NAME = 'node.napi.glibc.node';
const STAMP_NAME = 'sources.sha256';

const TARGETS = {
  x64: {
    machine: 'Advanced Micro Devices X86-64',
    loader: 'ld-linux-x86-64.so.2',
    cross: null,
  },
  arm64: {
    machine: 'AArch64',
    loader: 'ld-linux-aarch64.so.1',
    cross: { triple: 'aarch64-linux-gnu', toolchain: path.join(ROOT, 'cmake', 'toolchain-aarch64-linux-gnu.cmake') },
  },
};
const ALLOWED_NEEDED = new Set(['libc.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libgomp.so.1', 'libpthread.so.0', 'libdl.so.2']);

function parseArgs(argv) {
  const opts = { archs: ['x64', 'arm64'], clean: false, verify: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--clean') opts.clean = true;
    else if (a === '--verify') opts.verify = true;
    else if (a === '--arch') opts.archs = argv[++i].split(',');
    else if (a.startsWith('--arch=')) opts.archs = a.slice(7).split(',');
    else throw new Error(`unknown argument ${a} (usage: node scripts/prebuild.js [--arch x64,arm64] [--clean | --verify])`);
  }
  for (const a of opts.archs) if (!TARGETS[a]) throw new Error(`unsupported --arch ${a} (supported: ${Object.keys(TARGETS).join(', ')})`);
  return opts;
}

function sh(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status}`);
}

function out(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 28 });
}

function tool(target, name) {
  return target.cross ? `${target.cross.triple}-${name}` : name;
}

function build(arch, clean) {
  const target = TARGETS[arch];
  if (target.cross) sh('bash', [path.join(ROOT, 'scripts', 'ensure-cross-toolchain.sh')]);
  else if (os.arch() !== arch) throw new Error(`building ${arch} on a ${os.arch()} host needs a cross toolchain this script does not know`);

  const buildDir = path.join(ROOT, `build-prebuild-${arch}`);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [ROOT] });
  const args = [cmakeJs, clean ? 'rebuild' : 'build', '--release', '--out', buildDir, '--CDGA_PORTABLE=ON'];
  if (target.cross) args.push('--arch', arch, `--CDCMAKE_TOOLCHAIN_FILE=${target.cross.toolchain}`);
  sh(process.execPath, args);

  const built = path.join(buildDir, 'Release', 'global_attention.node');
  if (!fs.existsSync(built)) throw new Error(`${built} was not produced`);
  return { target, buildDir, built };
}

function versionLess(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] || 0;
    const y = b[i] || 0;
    if (x !== y) return x < y;
  }
  return false;
}

// ELF checks with readelf (which reads any architecture's ELF).
function checkElf(file, target, { addon }) {
  const problems = [];
  const header = out('readelf', ['-h', file]);
  const machine = /Machine:\s+(.+)/.exec(header);
  if (!machine || machine[1].trim() !== target.machine) problems.push(`machine is ${machine && machine[1].trim()}, expected ${target.machine}`);

  const dyn = out('readelf', ['-d', '-W', file]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  for (const n of needed) if (!ALLOWED_NEEDED.has(n) && n !== target.loader) problems.push(`needs ${n}`);
  if (addon && needed.includes('libgomp.so.1') && !/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[\$ORIGIN\]/.test(dyn))
    problems.push('needs libgomp.so.1 but has no RUNPATH $ORIGIN');

  const versions = out('readelf', ['-V', '-W', file]);
  let maxGlibc = [0];
  for (const m of versions.matchAll(/Name: (GLIBC|GLIBCXX|CXXABI)_([0-9.]+)/g)) {
    if (m[1] !== 'GLIBC') {
      problems.push(`needs ${m[1]}_${m[2]} (libstdc++ must be linked statically)`);
      continue;
    }
    const v = m[2].split('.').map(Number);
    if (versionLess(maxGlibc, v)) maxGlibc = v;
  }
  if (versionLess(GLIBC_MAX, maxGlibc)) problems.push(`needs GLIBC_${maxGlibc.join('.')} (> ${GLIBC_MAX.join('.')}) for ${glibcOffenders(file).join(', ')}`);
  if (problems.length) throw new Error(`${file}:\n  ${problems.join('\n  ')}`);
  return { needed, maxGlibc: maxGlibc.join('.') };
}

// Undefined symbols that ask for a glibc newer than GLIBC_MAX.
function glibcOffenders(file) {
  const syms = out('readelf', ['--dyn-syms', '-W', file]);
  const names = [];
  for (const m of syms.matchAll(/\sUND\s+(\S+)@GLIBC_([0-9.]+)/g))
    if (versionLess(GLIBC_MAX, m[2].split('.').map(Number))) names.push(`${m[1]}@GLIBC_${m[2]}`);
  return names;
}

// The files a prebuild is compiled from: the native/ folders the package ships (package.json
// "files"), CMakeLists.txt and cmake/. Their hash, over paths and contents in a fixed order.
function sourceHash() {
  const { files } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const roots = [...files.filter((f) => f.startsWith('native/')), 'CMakeLists.txt', 'cmake'];
  const list = [];
  const walk = (rel) => {
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs)) walk(path.posix.join(rel, e));
    else list.push(rel);
  };
  for (const r of roots) walk(r.replace(/\/+$/, ''));
  const h = crypto.createHash('sha256');
  for (const rel of [...new Set(list)].sort()) {
    const data = fs.readFileSync(path.join(ROOT, rel));
    h.update(`${rel}\0${data.length}\0`).update(data);
  }
  return h.digest('hex');
}

// What is wrong with prebuilds/linux-ARCH as it is: [] when it is complete, passes the ELF checks
// and was built from the current sources.
function verify(arch, hash = sourceHash()) {
  const target = TARGETS[arch];
  const dir = path.join(ROOT, 'prebuilds', `linux-${arch}`);
  const rel = path.relative(ROOT, dir);
  const addon = path.join(dir, PREBUILD_NAME);
  if (!fs.existsSync(addon)) return [`${rel}/${PREBUILD_NAME} is missing`];
  const problems = [];
  try {
    const info = checkElf(addon, target, { addon: true });
    if (info.needed.includes('libgomp.so.1')) {
      const gomp = path.join(dir, 'libgomp.so.1');
      if (!fs.existsSync(gomp)) problems.push(`${rel}/libgomp.so.1 is missing`);
      else checkElf(gomp, target, { addon: false });
    }
  } catch (err) {
    problems.push(err.message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; '));
  }
  const stamp = path.join(dir, STAMP_NAME);
  const built = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').split(/\s/)[0] : null;
  if (built === null) problems.push(`${rel} has no ${STAMP_NAME} (not built by scripts/prebuild.js)`);
  else if (built !== hash) problems.push(`${rel} was built from other native sources than these`);
  return problems;
}

function place(arch, { target, buildDir, built }, hash) {
  const dest = path.join(ROOT, 'prebuilds', `linux-${arch}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });

  if (arch === 'x64') sh(process.execPath, [path.join(ROOT, 'scripts', 'check-baseline-isa.js'), buildDir, built]);

  const addon = path.join(dest, PREBUILD_NAME);
  fs.copyFileSync(built, addon);
  sh(tool(target, 'strip'), ['--strip-unneeded', addon]);
  const info = checkElf(addon, target, { addon: true });

  let gomp = null;
  if (info.needed.includes('libgomp.so.1')) {
    const cxx = tool(target, 'g++');
    const src = fs.realpathSync(out(cxx, ['-print-file-name=libgomp.so.1']).trim());
    gomp = path.join(dest, 'libgomp.so.1');
    fs.copyFileSync(src, gomp);
    fs.chmodSync(gomp, 0o755);
    const g = checkElf(gomp, target, { addon: false });
    if (versionLess(info.maxGlibc.split('.').map(Number), g.maxGlibc.split('.').map(Number))) info.maxGlibc = g.maxGlibc;
  }
  fs.writeFileSync(path.join(dest, STAMP_NAME), `${hash}  native sources (scripts/prebuild.js)\n`);
  const size = (f) => `${(fs.statSync(f).size / 1024).toFixed(0)} KiB`;
  console.log(
    `prebuild linux-${arch}: ${path.relative(ROOT, addon)} (${size(addon)})` +
      (gomp ? ` + libgomp.so.1 (${size(gomp)})` : '') +
      `; needs ${info.needed.join(', ')}; glibc >= ${info.maxGlibc}`,
  );
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const hash = sourceHash();
  if (opts.verify) {
    let bad = 0;
    for (const arch of opts.archs) {
      const problems = verify(arch, hash);
      bad += problems.length;
      console.log(`prebuild linux-${arch}: ${problems.length ? problems.join('; ') : 'ok (checked, built from these sources)'}`);
    }
    return bad === 0 ? 0 : 1;
  }
  if (process.platform !== 'linux') throw new Error('prebuilds are made on Linux (linux-x64, linux-arm64)');
  for (const arch of opts.archs) place(arch, build(arch, opts.clean), hash);
  return 0;
}

module.exports = { TARGETS, sourceHash, verify };

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (err) {
    console.error(`prebuild failed: ${err.message}`);
    process.exit(1);
  }
}
