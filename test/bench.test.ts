// The bench CLI and its chart, lightly: the SVG chart is a well-formed document with the series
// given (pure function), `main(['--help'])` returns 0, and a tiny run (N = 64, one thread, one rep,
// no ORT, no child processes) writes a result JSON and a chart. No timing assertions.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchSeries } from '../bench/chart';
import { renderLogLogChart } from '../bench/common/svg-chart';
import { main, usage } from '../bench/run';

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
      expect(stdout).toContain('FMA peak:');
      expect(stdout).toContain('Summary');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
