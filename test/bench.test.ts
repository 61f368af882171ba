// The bench CLI and its chart, lightly: the SVG chart is a well-formed document with the series
// given (pure function), `main(['--help'])` returns 0, and a tiny run (N = 64, one thread, one rep,
// no ORT, no child processes) writes a result JSON and a chart. Also: every printed line fits 120
// columns, %peak is taken against the best peak seen (not an early low probe), the shared point
// harness, and where results go. No timing assertions.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchSeries } from '../bench/chart';
import { renderLogLogChart } from '../bench/common/svg-chart';
import { main, summaryText, usage, type SummaryRow } from '../bench/run';
import { DENSE_USAGE, report as denseReport, type Point as DensePoint } from '../bench/dense';
import { analyzeTGlobal, TGLOBAL_USAGE, report as tglobalReport, type Point as TGlobalPoint } from '../bench/tglobal';
import { ProbePool, type BenchContext } from '../bench/common/conditions';
import { doneLine, measurePoint, pctCell, percentOfPeak, type Runner, type Timed } from '../bench/common/harness';
import type { MachineInfo } from '../bench/common/machine';
import { dateStamp, defaultResultPath, inRepository, latestDir, repositoryRoot, resultsDir } from '../bench/common/results';
import { MAX_COLUMNS, wrapNotes, wrapText } from '../bench/common/table';

const REPO = path.resolve(__dirname, '..');

/** Lines longer than MAX_COLUMNS (in characters), with their lengths. */
const tooLong = (text: string) => text.split('\n').filter((l) => l.length > MAX_COLUMNS).map((l) => `${l.length}: ${l}`);

/** Tags balance (a small XML well-formedness check: one root, every element closed, entities valid). */
function checkWellFormed(svg: string): void {
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const between = svg.slice(last, m.index);
    expect(between).not.toMatch(/[<>]/);
    expect(between.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toMatch(/&/);
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
}

describe('bench chart', () => {
  const series = [
    { name: 'ours: TGlobal layer, 1 thread', points: [{ x: 512, y: 9 }, { x: 4096, y: 80 }, { x: 16384, y: 900 }] },
    { name: 'ORT <same graph> & co, 2 threads', dashed: true, points: [{ x: 512, y: 30 }, { x: 4096, y: 300 }, { x: 16384, y: 5000 }, { x: 8192, y: NaN }] },
  ];

  test('renders a well-formed log-log SVG with one line per series, decade ticks and a legend', () => {
    const svg = renderLogLogChart({ title: 'time vs N', subtitle: 'machine', xLabel: 'N', yLabel: 'ms', series, yFormat: (v) => `${v} ms` });
    checkWellFormed(svg);
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // self-contained: only the SVG namespace
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('data-name="ours: TGlobal layer, 1 thread"');
    expect(svg).toContain('data-name="ORT &lt;same graph&gt; &amp; co, 2 threads"');
    expect(svg).toContain('stroke-dasharray');
    // x decades 1k and 10k inside 512..16384; y decades 10, 100, 1000 ms inside 9..5000.
    for (const label of ['>1k<', '>10k<', '>10 ms<', '>100 ms<', '>1000 ms<']) expect(svg).toContain(label);
    // The NaN point is dropped: 3 + 3 markers, plus no NaN coordinates anywhere.
    expect(svg.match(/<circle /g)).toHaveLength(6);
    expect(svg).not.toContain('NaN');
    // Deterministic.
    expect(renderLogLogChart({ title: 'time vs N', subtitle: 'machine', xLabel: 'N', yLabel: 'ms', series, yFormat: (v) => `${v} ms` })).toBe(svg);
  });

  test('an empty chart is still a valid document', () => {
    checkWellFormed(renderLogLogChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }));
  });

  test('benchSeries: one series per implementation and thread count, from result points', () => {
    const r = (layer: number, ort?: number) => ({ layer: { medianMs: layer }, ...(ort ? { ort: { medianMs: ort } } : {}) });
    const s = benchSeries({
      tglobal: {
        points: [
          { N: 512, threads: 1, results: r(10, 30) }, { N: 512, threads: 2, results: r(6, 20) },
          { N: 1024, threads: 1, results: r(20) }, { N: 1024, threads: 2, results: r(11) },
        ],
      },
      dense: { points: [{ N: 512, threads: 1, results: { ours: { medianMs: 8 } } }] },
    });
    expect(s.map((x) => x.name)).toEqual([
      'ours: TGlobal layer, 1 thread', 'ours: TGlobal layer, 2 threads', 'ONNX Runtime: same TGlobal layer graph, 1 thread',
      'ONNX Runtime: same TGlobal layer graph, 2 threads', 'ours: dense attention() core, 1 thread',
    ]);
    expect(s[0].points).toEqual([{ x: 512, y: 10 }, { x: 1024, y: 20 }]);
    expect(s[1].dashed).toBe(true);
  });
});

describe('bench CLI (bench/run.ts)', () => {
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;
  beforeEach(() => {
    out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    out.mockRestore();
    err.mockRestore();
  });

  test('--help prints the usage and returns 0', async () => {
    await expect(main(['--help'])).resolves.toBe(0);
    expect(out.mock.calls.map((c) => String(c[0])).join('')).toContain(usage);
    expect(usage).toMatch(/--n LIST/);
    expect(usage).toMatch(/--json FILE/);
  });

  test('bad arguments return 2', async () => {
    await expect(main(['--frobnicate'])).resolves.toBe(2);
    await expect(main(['--n', 'abc'])).resolves.toBe(2);
  });

  test('a tiny run writes the result JSON and the chart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-bench-test-'));
    try {
      const json = path.join(dir, 'r.json');
      const code = await main(['--n', '64', '--threads', '1', '--reps', '1', '--no-mem', '--no-ort', '--max-wait', '0', '--json', json]);
      expect(code).toBe(0);
      const r = JSON.parse(fs.readFileSync(json, 'utf8'));
      expect(r.bench).toBe('suite');
      expect(typeof r.machine.cpuModel).toBe('string');
      expect(r.machine.fmaPeak1T).toBeGreaterThan(0);
      expect(r.machine.package.isa).toEqual(expect.any(String));
      expect(r.ort.available).toBe(false);
      expect(r.failures).toEqual([]);
      expect(r.tglobal.bench).toBe('tglobal');
      expect(r.tglobal.points).toHaveLength(1);
      const p = r.tglobal.points[0];
      expect(p).toMatchObject({ N: 64, threads: 1, G: 4, reps: 1 });
      for (const impl of ['layer', 'core', 'dense']) {
        expect(p.results[impl].times).toHaveLength(1);
        expect(p.results[impl].medianMs).toBeGreaterThan(0);
        expect(p.results[impl].flops).toBeGreaterThan(0);
        expect(p.results[impl].gflops).toBeGreaterThan(0);
      }
      expect(p.results.ort).toBeUndefined();
      expect(Array.isArray(r.tglobal.targets)).toBe(true);
      expect(r.dense.bench).toBe('dense');
      expect(r.dense.points[0]).toMatchObject({ N: 64, threads: 1 });
      expect(r.dense.points[0].results.ours.medianMs).toBeGreaterThan(0);
      expect(r.summary.rows).toHaveLength(1);
      expect(r.summary.rows[0]).toMatchObject({ N: 64, threads: 1, ortLayerMs: null });
      expect(r.summary.markdown).toMatch(/^\| N \| T \|/);
      expect(r.chart).toBe('r.svg');
      const svg = fs.readFileSync(path.join(dir, 'r.svg'), 'utf8');
      checkWellFormed(svg);
      expect(svg).toContain('ours: TGlobal layer, 1 thread');
      const stdout = out.mock.calls.map((c) => String(c[0])).join('');
      const stderr = err.mock.calls.map((c) => String(c[0])).join('');
      expect(stdout).toContain('FMA peak:');
      expect(stdout).toContain('Summary');
      // Every printed line fits 120 columns; no internal tracker text; %peak re-based on the run's final peak.
      expect(tooLong(stdout)).toEqual([]);
      expect(tooLong(stderr)).toEqual([]);
      expect(stdout).not.toMatch(/Targets|issue/);
      expect(stderr).not.toMatch(/\b(1\d\d|[2-9]\d\d)% of the peak/);
      expect(r.tglobal.fmaPeak.best).toBe(r.fmaPeak.best);
      expect(r.dense.fmaPeak.best).toBe(r.fmaPeak.best);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('%peak against the best peak seen', () => {
  test('percentOfPeak divides by the largest peak, so an early low probe cannot give more than 100%', () => {
    // The startup probe ran on a busy core (50 GFLOP/s); a later one saw the real peak (170).
    expect(percentOfPeak(99, 1, [50])).toBeCloseTo(198, 0); // what the old progress line printed
    expect(percentOfPeak(99, 1, [50, 170])).toBeCloseTo(58.2, 1);
    expect(percentOfPeak(99, 1, [170, 50])).toBeCloseTo(58.2, 1);
    expect(percentOfPeak(300, 2, [50, 170, NaN, 0])).toBeCloseTo(88.2, 1);
    expect(percentOfPeak(1, 1, [])).toBeNaN();
  });

  test('the harness counts the point\'s own probes before computing %peak', async () => {
    // An absurdly low peak "seen so far" (an early probe on a busy core): the point's probes must replace it.
    const ctx: BenchContext = { startupPeak: 0.01, bestPeak: 0.01, machine: {} as MachineInfo, probes: new ProbePool() };
    const point = { N: 1, threads: 1, reps: 0, sharedCores: null, load: null, waitedS: 0 };
    const out = new Float32Array(16);
    let calls = 0;
    const runner: Runner = { out, arrays: [], run: () => calls++, release: async () => {} };
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const m = await measurePoint<'a', never>({
        tag: '[test]', impls: ['a'], reps: 2, gapMs: 0, maxWaitS: 0, ctx, point, flops: () => 1e3, makeRunner: async () => runner,
      });
      expect(calls).toBe(3); // one warm-up, two timed rounds
      expect(point.reps).toBe(2);
      expect(point.fma1Before).toBeGreaterThan(0.01);
      expect(ctx.bestPeak).toBe(Math.max(0.01, point.fma1Before!, point.fma1After!));
      const r = m.results.a!;
      expect(r.times).toHaveLength(2);
      expect(r.pctPeak).toBeCloseTo(percentOfPeak(r.gflops, 1, [ctx.bestPeak]), 10);
      expect(r.pctPeak).toBeLessThan(percentOfPeak(r.gflops, 1, [0.01]));
    } finally {
      err.mockRestore();
      await ctx.probes.close();
    }
  });

  test('a progress line never prints a figure above 100% of the peak; a table cell flags it', () => {
    const r = (pct: number): Timed => ({ times: [1], medianMs: 1, minMs: 1, warmupMs: 1, flops: 1e9, gflops: 1000, pctPeak: pct });
    expect(doneLine('[t]', 'layer', r(52))).toBe('[t] done: layer 1.00 ms (1000.0 GFLOP/s, 52% of the peak)');
    const high = doneLine('[t]', 'layer', r(198));
    expect(high).not.toMatch(/\d+% of the peak/);
    expect(high).toMatch(/above the FMA peak measured so far/);
    expect(pctCell(52.4)).toBe('52');
    expect(pctCell(198)).toBe('198!');
    expect(pctCell(NaN)).toBe('-');
  });
});

describe('printed lines fit 120 columns', () => {
  const cond = (T: number) => ({
    sharedCores: T > 1 ? true : null, load: { otherCpus: 1.95, stealPct: 12.5, seconds: 9 }, waitedS: 15, fma1Before: 12.3, fma1After: 170.1,
    ...(T > 1 ? { probeBefore: { threads: T, one: 170, each: [80, 90], scaling: 1.0, shared: true }, probeAfter: { threads: T, one: 170, each: [80, 90], scaling: 1.06, shared: true } } : {}),
  });
  const mem = (mib: number) => {
    const d = { beforeMiB: 300, peakMiB: 300 + mib, addedMiB: mib, keptMiB: 1, exact: true };
    return { first: d, second: d, sessionMiB: 12.5, tensorsMiB: 99.9, processPeakMiB: 3333.3 };
  };
  const timed = (ms: number, pct: number): Timed => ({ times: [ms], medianMs: ms, minMs: ms, warmupMs: ms, flops: 1e12, gflops: 1234.5, pctPeak: pct });
  const machine = { fmaPeak1T: 169.9 } as MachineInfo;

  test('the dense table and notes, worst case (ORT, memory, 2 threads, slow calls, big numbers, wrong results)', () => {
    const points: DensePoint[] = [16384, 131072].flatMap((N) =>
      [1, 64].map((T) => ({
        N, threads: T, flops: 1e12, reps: 3, ortBest: 'ortMHA' as const, speedupVsOrtBest: 123.45, ...cond(T),
        results: {
          ours: { ...timed(12345.6, 198), memory: mem(12345.6) },
          ortAttention: { ...timed(99999.9, 50), maxAbsDiff: 1.2345e-3, memory: mem(98765.4) },
          ortMHA: { ...timed(99999.9, 50), maxAbsDiff: 2.5e-7, memory: mem(98765.4), error: 'x'.repeat(300) },
        },
      })),
    );
    const { table, notes } = denseReport(points, ['ours', 'ortAttention', 'ortMHA'], machine, { mem: true });
    expect(tooLong(table)).toEqual([]);
    expect(tooLong(wrapNotes(notes)).filter((l) => !/x{100}/.test(l))).toEqual([]); // only an unbreakable 300-character word may overflow
    expect(table.split('\n')[0]).toMatch(/ORT-A .*RSS-MHA .*cores$/);
    expect(table).toContain('198!'); // a %peak above 100 is flagged ...
    expect(notes.join(' ')).toMatch(/above 100%: every FMA probe/); // ... and explained
  });

  test('the TGlobal tables and notes, worst case', () => {
    const points: TGlobalPoint[] = [2048, 4096, 16384, 131072].flatMap((N) =>
      [1, 64].map((T) => ({
        N, threads: T, G: N / 16, reps: 3, ortOverLayer: 12.34, denseOverLayer: 123.4, ...cond(T),
        results: {
          layer: { ...timed(12345.6, 99), memory: mem(12345.6) },
          core: { ...timed(12345.6, 99), memory: mem(12345.6) },
          dense: { ...timed(99999.9, 99), memory: mem(98765.4) },
          ort: { ...timed(99999.9, 99), maxAbsDiff: 1.5e-3, maxRelDiff: 1e-3, memory: mem(98765.4) },
        },
      })),
    );
    const { fits, scaling, targets } = analyzeTGlobal(points, 169.9);
    const r = tglobalReport(points, ['layer', 'core', 'dense', 'ort'], machine, { mem: true, ns: [2048, 131072], denseMax: 4096 }, fits, scaling, targets);
    expect(tooLong(r.table)).toEqual([]);
    expect(tooLong(r.scalingTable)).toEqual([]);
    expect(tooLong(wrapNotes(r.notes))).toEqual([]);
    expect(targets.length).toBeGreaterThan(0); // the targets are computed (for the JSON) ...
    expect(r.notes.join('\n')).not.toMatch(/Targets \(issue|issue/); // ... but nothing says "issue"
  });

  test('the summary table, worst case', () => {
    const row: SummaryRow = {
      N: 131072, threads: 64, tglobalLayerMs: 12345.6, tglobalCoreMs: 12345.6, ortLayerMs: 99999.9, longT5AttentionMs: 99999.9, denseAttentionMs: 99999.9,
      layerGflops: 1234.5, layerPctPeak: 198, ortOverLayer: 123.45, layerRssMiB: 12345.6, ortRssMiB: 98765.4,
    };
    expect(tooLong(summaryText([row, row]))).toEqual([]);
  });

  test('the usage texts', () => {
    for (const u of [usage, DENSE_USAGE, TGLOBAL_USAGE]) expect(tooLong(u)).toEqual([]);
  });

  test('wrapText wraps at spaces, keeps newlines and long words whole', () => {
    expect(wrapText('aa bb cc dd', 5, '  ')).toBe('aa bb\n  cc\n  dd');
    expect(wrapText('aa\nbb cc', 5)).toBe('aa\nbb cc');
    expect(wrapText('a ' + 'x'.repeat(8) + ' b', 5)).toBe('a\n' + 'x'.repeat(8) + '\nb');
    expect(wrapNotes(['one two three'], 9)).toBe('- one two\n  three');
  });
});

describe('where results go', () => {
  const before = () => new Set(fs.readdirSync(path.join(REPO, 'bench', 'results')));

  test('the clone is found from the sources; the current folder decides "inside the repository"', () => {
    expect(repositoryRoot()).toBe(REPO);
    expect(resultsDir()).toBe(path.join(REPO, 'bench', 'results'));
    expect(inRepository(REPO)).toBe(true);
    expect(inRepository(path.join(REPO, 'bench'))).toBe(true);
    expect(inRepository(os.tmpdir())).toBe(false);
    expect(defaultResultPath('bench', true, new Date(2026, 0, 2))).toBe(path.resolve('global-attention-bench-2026-01-02-quick.json'));
  });

  test('run from another folder, a bench writes into that folder (also --latest), never into bench/results', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-bench-cwd-'));
    const cwd = process.cwd();
    const had = before();
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      process.chdir(dir);
      expect(latestDir(path.join(dir, 'x.json'))).toBe(dir); // not inside the clone: next to the file
      const code = await main(['--only', 'dense', '--n', '64', '--threads', '1', '--reps', '1', '--no-mem', '--no-ort', '--max-wait', '0', '--quick', '--latest']);
      expect(code).toBe(0);
      const stem = `global-attention-bench-${dateStamp()}-quick`;
      expect(fs.readdirSync(dir).sort()).toEqual([`${stem}.json`, `${stem}.svg`, 'latest.json', 'latest.svg']);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).bench).toBe('suite');
    } finally {
      process.chdir(cwd);
      out.mockRestore();
      err.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(before()).toEqual(had);
  });

  test('inside the clone, --latest goes to bench/results (checked without writing)', () => {
    const cwd = process.cwd();
    try {
      process.chdir(REPO);
      expect(latestDir(path.join(os.tmpdir(), 'x.json'))).toBe(path.join(REPO, 'bench', 'results'));
    } finally {
      process.chdir(cwd);
    }
  });
});
