#!/usr/bin/env node
// Proves that an x86-64 build runs on any x86-64 CPU: AVX code exists only where run-time
// dispatch guards it.
//
//   node scripts/check-baseline-isa.js <cmake build dir> [addon.node]
//
// 1. Every object file except the ISA translation units (isa_avx2.cc.o, isa_avx512.cc.o,
//    isa_avx512bf16.cc.o, isa_amxbf16.cc.o) has no VEX/EVEX instruction (no v-prefixed mnemonic, no ymm/zmm/mask register): the baseline is
//    plain x86-64 (SSE2), no -march=native, no -mavx leaking in.
// 2. No function that contains AVX code in an ISA object is also defined in a baseline object
//    (an inline function or template instantiated in both: the linker keeps one copy, and if it
//    keeps the AVX one, baseline code calls it on any CPU), and baseline objects reference
//    nothing of an ISA object except its isa_table_*() entry point, which dispatch calls only
//    after cpuid said yes.
// 3. In the linked addon (unstripped), every function that contains AVX code is one that only
//    the ISA objects define.
// Exits non-zero, listing the offending functions, if any check fails.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ISA_OBJECT = /[\\/]isa_(avx2|avx512|avx512bf16|amxbf16)\.cc\.o$/;
const ENTRY_POINT = /^_ZN2ga\d+isa_table_(avx2|avx512|avx512bf16|amxbf16)Ev$/;
const AVX_INSN = /^\s*[0-9a-f]+:\s+(?:\{[^}]*\}\s*)?v[a-z0-9]+\b|%[yz]mm\d|%k[0-7]\b/;

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
}

function demangle(names) {
  if (names.length === 0) return [];
  try {
    return run('c++filt', names).trimEnd().split('\n');
  } catch {
    return names;
  }
}

// Function name -> true if its disassembly has at least one AVX instruction.
function avxFunctions(file) {
  const out = run('objdump', ['-d', '--no-show-raw-insn', file]);
  const fns = new Map();
  let cur = null;
  for (const line of out.split('\n')) {
    const label = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (label) {
      cur = label[1];
      if (!fns.has(cur)) fns.set(cur, false);
    } else if (cur !== null && AVX_INSN.test(line)) {
      fns.set(cur, true);
    }
  }
  return fns;
}

// { defined: Map<name, type>, undefined: Set<name> } from nm.
function symbols(file) {
  const defined = new Map();
  const undef = new Set();
  for (const line of run('nm', [file]).split('\n')) {
    const m = /^(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'U') undef.add(m[2]);
    else defined.set(m[2], m[1]);
  }
  return { defined, undefined: undef };
}

function listObjects(dir) {
  const found = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.o')) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

function main() {
  const [buildDir, addonArg] = process.argv.slice(2);
  if (!buildDir) {
    console.error('usage: node scripts/check-baseline-isa.js <cmake build dir> [addon.node]');
    process.exit(2);
  }
  const objects = listObjects(path.join(buildDir, 'CMakeFiles'));
  if (objects.length === 0) throw new Error(`no object files under ${buildDir}/CMakeFiles`);
  const isaObjects = objects.filter((o) => ISA_OBJECT.test(o));
  const baseObjects = objects.filter((o) => !ISA_OBJECT.test(o));
  const problems = [];

  // 1. Baseline objects: not one AVX instruction.
  const baseDefined = new Set();
  const baseUndefined = new Map(); // name -> object
  for (const o of baseObjects) {
    const fns = avxFunctions(o);
    const bad = [...fns].filter(([, avx]) => avx).map(([n]) => n);
    for (const [n, d] of demangle(bad).map((d, i) => [bad[i], d]))
      problems.push(`baseline object ${path.relative(buildDir, o)}: AVX instructions in ${d} (${n})`);
    const s = symbols(o);
    for (const n of s.defined.keys()) baseDefined.add(n);
    for (const n of s.undefined) if (!baseUndefined.has(n)) baseUndefined.set(n, o);
  }

  // 2. ISA objects: their AVX functions are theirs alone.
  const isaOnly = new Set(); // AVX-containing functions defined only in ISA objects
  let isaAvxCount = 0;
  for (const o of isaObjects) {
    const fns = avxFunctions(o);
    const s = symbols(o);
    for (const [n, avx] of fns) {
      if (!avx) continue;
      isaAvxCount++;
      const type = s.defined.get(n);
      const local = type !== undefined && type === type.toLowerCase() && type !== 'w' && type !== 'v';
      if (!local && baseDefined.has(n))
        problems.push(`${path.relative(buildDir, o)}: ${demangle([n])[0]} has AVX code here and is also defined in baseline code (ODR: the linker may keep the AVX copy)`);
      else if (!local && baseUndefined.has(n) && !ENTRY_POINT.test(n))
        problems.push(`${path.relative(buildDir, baseUndefined.get(n))} calls ${demangle([n])[0]}, AVX code outside run-time dispatch`);
      else isaOnly.add(n);
    }
  }
  if (isaObjects.length > 0 && isaAvxCount === 0)
    problems.push('the ISA objects contain no AVX code at all: is this check still matching AVX instructions?');

  // 3. The linked addon.
  let addonAvx = 0;
  if (addonArg) {
    for (const [n, avx] of avxFunctions(addonArg)) {
      if (!avx) continue;
      addonAvx++;
      const base = n.replace(/\.(?:isra|part|constprop|cold|lto_priv)\.\d+.*$/, '');
      if (!isaOnly.has(n) && !isaOnly.has(base))
        problems.push(`${addonArg}: AVX code in ${demangle([n])[0]}, which is not a function of the ISA objects`);
    }
  }

  const summary =
    `baseline ISA check: ${baseObjects.length} baseline objects with no AVX instruction, ` +
    `${isaObjects.length} ISA objects (${isaAvxCount} AVX functions, none shared with baseline code)` +
    (addonArg ? `, ${path.basename(addonArg)}: ${addonAvx} AVX functions, all from the ISA objects` : '');
  if (problems.length) {
    console.error(problems.join('\n'));
    console.error(`baseline ISA check FAILED: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(summary);
}

main();
