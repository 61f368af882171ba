// The window bench's FLOP model counts exactly the (i, j) pairs a causal sliding window admits, its CLI
// rejects malformed arguments, and its `floor` column (the products' own bound, from the micro-kernel
// probe) is computed from rates the probe really measures, on every ISA of this machine.
import { native } from '../lib/native';
import { microkernelRates } from '../bench/common/fma';
import { pairsOf, parseWindowArgs, productsFloor, report, type Point } from '../bench/window';
import { MAX_COLUMNS } from '../bench/common/table';
import { availableIsas, withIsa } from './helpers/isa';

/** Brute force over the N x N grid. */
function pairsBrute(N: number, left: number, right: number): number {
  let n = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (j <= i && j >= i - left && j <= i + right) n++;
  return n;
}

test('pairsOf counts the admissible pairs', () => {
  for (const [N, l, r] of [[1, 0, 0], [7, 2, 0], [50, 255, 0], [300, 255, 0], [300, 16, 3], [64, 0, 5]])
    expect(pairsOf(N, l, r)).toBe(pairsBrute(N, l, r));
  // The issue's case: N = 16384, window 256 (255 before + itself): N·256 less the first rows' triangle.
  expect(pairsOf(16384, 255, 0)).toBe(16384 * 256 - (255 * 256) / 2);
});

test('CLI', () => {
  const o = parseWindowArgs(['--n', '4096', '--window', '127,0', '--no-dense']);
  expect(o).toMatchObject({ ns: [4096], window: [127, 0], dense: false, half: true, threads: [1] });
  expect(parseWindowArgs(['--no-half'])).toMatchObject({ half: false, dense: true });
  expect(parseWindowArgs(['--help'])).toBe('help');
  expect(() => parseWindowArgs(['--window', '1,2,3'])).toThrow(RangeError);
  expect(() => parseWindowArgs(['--max-wait=-1'])).toThrow(RangeError);
  expect(() => parseWindowArgs(['--bogus'])).toThrow();
});

test('productsFloor: half the FLOPs at each micro-kernel rate, against the peak', () => {
  expect(productsFloor(200, { qk: 200, pv: 200 })).toBe(1);
  expect(productsFloor(200, { qk: 100, pv: 200 })).toBeCloseTo(1.5, 12);
  expect(productsFloor(180, { qk: 150, pv: 120 })).toBeCloseTo(0.5 * 1.2 + 0.5 * 1.5, 12);
});

// The probe runs the kernels' own micro-tiles: its rates are real work (finite, above zero) and,
// since those micro-tiles are FMAs, not above what the FMA probe of the same ISA measures (with
// room for frequency noise between the two). A FLOP count off by a factor of two fails this.
test.each(availableIsas())('micro-kernel probe on %s: measured, and bounded by the FMA peak', (isa) => {
  withIsa(isa, () => {
    let peak = 0;
    for (let i = 0; i < 3; i++) peak = Math.max(peak, native.measureFmaPeak(0.05));
    const r = microkernelRates(0.05, 2);
    for (const x of [r.qk, r.pv]) {
      expect(Number.isFinite(x)).toBe(true);
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(1.5 * peak);
    }
  });
});

test('report: the floor column and its note, within the line width', () => {
  const point: Point = {
    N: 16384, threads: 1, reps: 7, pairs: pairsOf(16384, 255, 0), flops: 1, results: {}, modelMs: 40, overModel: 1.9, floor: 1.15,
    denseOverWindow: null, halfOverFloat: null, maxAbsDiff: 2e-7, maxAbsDiffHalf: null, sharedCores: null, load: null, waitedS: 0,
  };
  const { table, notes } = report([point], { window: [255, 0] }, 210, { qk: 185, pv: 180 });
  const [header, , row] = table.split('\n');
  const cols = header.trim().split(/\s+/);
  expect(cols.slice(0, 6)).toEqual(['N', 'T', 'window', 'model', 't/model', 'floor']);
  expect(row.trim().split(/\s+/)[5]).toBe('1.15');
  const note = notes.find((n) => n.startsWith('floor ='));
  expect(note).toMatch(/185\.0 and 180\.0 GFLOP\/s \(88 % and 86 %/);
  for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(MAX_COLUMNS);
});
