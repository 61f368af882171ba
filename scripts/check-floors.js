#!/usr/bin/env node
// Checks that no include or import runs from a lower floor of the code to a higher one
// (docs/ARCHITECTURE.md, "The floors"). Exit 1 and one line per violation if any.
//
// Native floors, lowest first: runtime < kernels < simd < dispatch < ops < binding. A file may
// include its own floor or lower ones; N-API (napi.h) only in binding/. native/tests and
// native/fuzz sit on top and may include anything below them; native/compat includes nothing of ours.
// TypeScript: lib/ (the library) imports nothing from bench/, demo/, test/ or bin/.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const FLOORS = ['runtime', 'kernels', 'simd', 'dispatch', 'ops', 'binding'];
const TOP = ['tests', 'fuzz'];

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function checkNative(problems) {
  const nativeDir = path.join(ROOT, 'native');
  for (const file of walk(nativeDir).filter((f) => /\.(h|hpp|cc|cpp|inc)$/.test(f))) {
    const rel = path.relative(nativeDir, file).split(path.sep);
    const floor = rel[0];
    const level = FLOORS.indexOf(floor);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const m = /^\s*#\s*include\s*([<"])([^>"]+)[>"]/.exec(line);
      if (!m) return;
      const where = `native/${rel.join('/')}:${i + 1}`;
      const target = m[2];
      if (/(^|\/)napi\.h$/.test(target) && floor !== 'binding')
        problems.push(`${where}: includes ${target}: N-API belongs to native/binding only`);
      if (m[1] !== '"') return;
      const tfloor = target.split('/')[0];
      if (target.split('/').length < 2) return;  // a same-directory include is not ours to judge
      const tlevel = FLOORS.indexOf(tfloor);
      if (tlevel < 0) {
        if (TOP.includes(tfloor) && !TOP.includes(floor)) problems.push(`${where}: includes ${target} from the test/fuzz floor`);
        return;
      }
      if (floor === 'compat') problems.push(`${where}: native/compat must not include project headers (${target})`);
      else if (level >= 0 && tlevel > level)
        problems.push(`${where}: ${floor}/ includes ${target}: ${tfloor}/ is a higher floor (${FLOORS.join(' < ')})`);
    });
  }
}

function checkLib(problems) {
  const libDir = path.join(ROOT, 'lib');
  for (const file of walk(libDir).filter((f) => /\.(ts|js|mts|cts)$/.test(f) && !f.endsWith('.d.ts'))) {
    const text = fs.readFileSync(file, 'utf8');
    const re = /(?:import[^'"]*from\s*|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g;
    let m;
    while ((m = re.exec(text))) {
      if (!m[1].startsWith('.')) continue;
      const resolved = path.relative(ROOT, path.resolve(path.dirname(file), m[1]));
      const top = resolved.split(path.sep)[0];
      if (['bench', 'demo', 'test', 'bin'].includes(top)) {
        const line = text.slice(0, m.index).split('\n').length;
        problems.push(`${path.relative(ROOT, file)}:${line}: the library imports ${m[1]} (${top}/ sits above lib/)`);
      }
    }
  }
}

const problems = [];
checkNative(problems);
checkLib(problems);
if (problems.length) {
  console.error(`check-floors: ${problems.length} include(s)/import(s) run upward:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('check-floors: no include or import runs upward');
