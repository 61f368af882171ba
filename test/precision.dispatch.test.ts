// The reduced-precision part of the dispatch (native/dispatch/dispatch.h, lib/precision.ts): what
// info() reports, against the CPU's own flags; setReducedPrecisionIsa(), setIsa() with a native
// set's name, and the two environment variables, in child processes (read once, at load).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { info, setIsa, setReducedPrecisionIsa } from '../lib/index';

const cpuFlags = (): Set<string> | undefined => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
  return line ? new Set(line.split(':')[1].trim().split(/\s+/)) : undefined;
};

test('info() reports the reduced-precision kernels and the CPU features', () => {
  const i = info();
  expect(Array.isArray(i.reducedPrecision)).toBe(true);
  // 'emulated', a set, or sets for different 16-bit types joined by '+' (e.g. 'neonbf16+neonfp16' under 'auto')
  for (const set of i.reducedPrecisionIsa.split('+')) expect(['emulated', ...i.reducedPrecision]).toContain(set);
  for (const key of ['avx512bf16', 'avx512fp16', 'f16c', 'amxBf16', 'amxPermission', 'armBf16', 'armFp16', 'armAsimdhp', 'armFhm'])
    expect(typeof (i.reducedPrecisionCpu as any)[key]).toBe('boolean');
  expect(i.reducedPrecisionOverrideError).toBeUndefined();
});

test('the features agree with /proc/cpuinfo (x64 Linux)', () => {
  const flags = cpuFlags();
  if (!flags) return;
  const cpu = info().reducedPrecisionCpu;
  expect(cpu.avx512bf16).toBe(flags.has('avx512_bf16'));
  expect(cpu.avx512fp16).toBe(flags.has('avx512_fp16'));
  expect(cpu.f16c).toBe(flags.has('f16c'));
  expect(cpu.amxBf16).toBe(flags.has('amx_bf16') && flags.has('amx_tile'));
  // Only the amxbf16 set asks for the tile state, and only where the CPU has AMX-BF16 (and the
  // AVX512-BF16 it extends); Linux grants it unless an alternate signal stack is too small.
  if (!(cpu.amxBf16 && cpu.avx512bf16)) expect(cpu.amxPermission).toBe(false);
  // A native set is offered exactly when the CPU has it and the build has its ISA.
  const avx512 = info().availableIsas.includes('avx512');
  expect(info().reducedPrecision.includes('avx512bf16')).toBe(cpu.avx512bf16 && avx512);
  if (info().reducedPrecision.includes('amxbf16')) expect(cpu.amxBf16 && cpu.avx512bf16 && cpu.amxPermission && avx512).toBe(true);
  // On Linux with a toolchain that knows AMX (GCC 11+: this build's), a CPU with it gets the set.
  else expect(cpu.amxBf16 && cpu.avx512bf16 && cpu.amxPermission && avx512).toBe(false);
  // By default bf16 runs natively where it can, on the best set (amxbf16 supersedes avx512bf16).
  if (info().isa === 'avx512') {
    if (info().reducedPrecision.includes('amxbf16')) expect(info().reducedPrecisionIsa).toBe('amxbf16');
    else if (info().reducedPrecision.includes('avx512bf16')) expect(info().reducedPrecisionIsa).toBe('avx512bf16');
  }
});

describe('setReducedPrecisionIsa / setIsa', () => {
  const keepIsa = info().isa;
  afterEach(() => {
    setIsa(keepIsa);
    setReducedPrecisionIsa('auto');
  });

  test("'emulated' and 'auto'; the float32 ISA is untouched", () => {
    expect(setReducedPrecisionIsa('emulated')).toBe('emulated');
    expect(info().reducedPrecisionIsa).toBe('emulated');
    expect(info().isa).toBe(keepIsa);
    setReducedPrecisionIsa('auto');
    const natives = info().reducedPrecision;
    const best = natives.includes('amxbf16') ? 'amxbf16' : natives[0];  // a superseding set alone
    expect(info().reducedPrecisionIsa).toBe(natives.length > 0 && keepIsa === 'avx512' ? best : 'emulated');
    if (natives.includes('amxbf16')) {
      // Named together, both sets run (amxbf16's kernels where it has them).
      expect(setReducedPrecisionIsa('avx512bf16+amxbf16')).toBe('avx512bf16+amxbf16');
      expect(info().reducedPrecisionIsa).toBe('avx512bf16+amxbf16');
    }
  });

  test('a native set runs only while the ISA it extends is active', () => {
    for (const set of info().reducedPrecision) {
      expect(setIsa(set)).toBe('avx512');  // the set's base ISA
      expect(info().isa).toBe('avx512');
      expect(info().reducedPrecisionIsa).toBe(set);
      setIsa('scalar');
      expect(info().reducedPrecisionIsa).toBe('emulated');
      setIsa('avx512');
      expect(info().reducedPrecisionIsa).toBe(set);
    }
  });

  test('bad names are named errors and change nothing', () => {
    const before = info().reducedPrecisionIsa;
    expect(() => setReducedPrecisionIsa('amx9000')).toThrow(RangeError);
    expect(() => setReducedPrecisionIsa('amx9000')).toThrow(/amx9000/);
    expect(() => setReducedPrecisionIsa(3 as any)).toThrow(TypeError);
    for (const bad of ['+', `${info().reducedPrecision[0] ?? 'auto'}+bogus`]) expect(() => setReducedPrecisionIsa(bad)).toThrow(RangeError);
    expect(() => setIsa('avx512bf17')).toThrow(RangeError);
    expect(info().reducedPrecisionIsa).toBe(before);
    expect(info().isa).toBe(keepIsa);
  });
});

describe('environment variables (read once, at load)', () => {
  const dist = path.resolve(__dirname, '..', 'dist', 'lib', 'index.js');
  const probe = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['-e', `const i = require(${JSON.stringify(dist)}).info(); console.log(JSON.stringify(i))`], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };
  const haveDist = fs.existsSync(dist);

  (haveDist ? test : test.skip)('GLOBAL_ATTENTION_REDUCED_PRECISION=emulated / bogus', () => {
    expect(probe({ GLOBAL_ATTENTION_REDUCED_PRECISION: 'emulated' }).reducedPrecisionIsa).toBe('emulated');
    const bad = probe({ GLOBAL_ATTENTION_REDUCED_PRECISION: 'bogus' });
    expect(bad.reducedPrecisionOverrideError).toMatch(/GLOBAL_ATTENTION_REDUCED_PRECISION=bogus/);
    expect(bad.reducedPrecisionIsa).toBe(info().reducedPrecisionIsa);
  });

  (haveDist ? test : test.skip)('GLOBAL_ATTENTION_ISA accepts a native set: its base ISA with that set', () => {
    for (const set of info().reducedPrecision) {
      const i = probe({ GLOBAL_ATTENTION_ISA: set, GLOBAL_ATTENTION_REDUCED_PRECISION: 'emulated' });
      expect([i.isa, i.reducedPrecisionIsa, i.isaOverrideError]).toEqual(['avx512', set, undefined]);
    }
    const s = probe({ GLOBAL_ATTENTION_ISA: 'scalar' });
    expect([s.isa, s.reducedPrecisionIsa]).toEqual(['scalar', 'emulated']);
  });
});
