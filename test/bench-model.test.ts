// bench/model.ts: its work models (FLOPs of the encoder, bytes of a decode step) against numbers
// worked out by hand, its argument parsing, and a quick run of the compiled bench as a user runs it
// (tiny checkpoint, one thread, child processes for peak RSS, ONNX Runtime, decode steps, the
// bandwidth probe) whose JSON must be complete and whose ours-vs-ORT check must pass. No timing
// assertions (the machine may be loaded).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { measureBandwidth } from '../bench/common/bandwidth';
import { benchConfig, decodeStepBytes, encoderFlops, parseModelArgs, usage, type ModelBenchResult } from '../bench/model';

describe('work models', () => {
  test('encoder FLOPs at base dimensions, N = 4096: projections + TGlobal core + gated FF, 2 layers', () => {
    const c = benchConfig('base');
    const N = 4096, G = 256, C = 768, HD = 768;
    const proj = 8 * N * C * HD + 4 * G * C * HD;
    const core = 4 * 12 * N * 64 * (255 + G);
    const ff = 3 * 2 * N * C * 2048;
    expect(encoderFlops(c, N)).toBe(2 * (proj + core + ff));
    expect(encoderFlops(c, N) / 1e9).toBeCloseTo(130.03, 2);
    // N < g: no global tokens; B scales linearly.
    expect(encoderFlops(c, 10, 3)).toBe(3 * 2 * (8 * 10 * C * HD + 4 * 12 * 10 * 64 * 255 + 6 * 10 * C * 2048));
  });

  test('decode step bytes: cross K/V over N dominate at 16k; weights and lm_head at small N', () => {
    const c = benchConfig('base');
    const weights = 4 * (2 * (6 * 768 * 768 + 3 * 768 * 2048 + 3 * 768) + 768 + 32128 * 768);
    const caches = (N: number, t: number) => 4 * 2 * (2 * N * 768 + 2 * t * 768);
    expect(decodeStepBytes(c, 16384, 5)).toBe(weights + caches(16384, 5));
    expect(decodeStepBytes(c, 1024, 1)).toBe(weights + caches(1024, 1));
    expect(caches(16384, 5) / 1e6).toBeCloseTo(201.4, 0);
    expect(decodeStepBytes(c, 16384, 5, 2) - decodeStepBytes(c, 16384, 5)).toBe(caches(16384, 5));
  });
});

describe('arguments', () => {
  test('defaults, --quick and lists', () => {
    const d = parseModelArgs([]);
    if (d === 'help') throw new Error('unexpected help');
    expect(d.ns).toEqual([1024, 4096, 16384]);
    expect(d.decodeNs).toEqual(d.ns);
    expect(d.threads[0]).toBe(1);
    expect(d.size).toBe('base');
    expect(d.json).toBe(path.resolve(path.basename(d.json)));
    expect(path.basename(d.json)).toMatch(/^global-attention-model-\d{4}-\d\d-\d\d\.json$/);
    expect(d.maxWaitS).toBe(15);
    const q = parseModelArgs(['--quick', '--n', '100,1k', '--decode-n', '64', '--threads', '1,all,1', '--size', 'tiny', '--no-ort']);
    if (q === 'help') throw new Error('unexpected help');
    expect(q.ns).toEqual([100, 1024]);
    expect(q.decodeNs).toEqual([64]);
    expect(q.threads).toEqual([...new Set([1, os.cpus().length])]);
    expect(path.basename(q.json)).toMatch(/-quick\.json$/);
    expect(q.maxWaitS).toBe(5);
    expect(q.ort).toBe(false);
    expect(q.anchor).toBe(true);
    const na = parseModelArgs(['--no-anchor']);
    if (na === 'help') throw new Error('unexpected help');
    expect([na.ort, na.anchor]).toEqual([true, false]);
    expect(q.reps).toBe(2);
    expect(q.precisions).toEqual([]);
    const pr = parseModelArgs(['--precision', 'fp32,bf16,fp16,bf16']);
    if (pr === 'help') throw new Error('unexpected help');
    expect(pr.precisions).toEqual(['bf16', 'fp16']);
    expect(parseModelArgs(['--help'])).toBe('help');
    expect(usage).toMatch(/--decode-n/);
  });

  test('bad arguments are refused', () => {
    expect(() => parseModelArgs(['--size', 'huge'])).toThrow(/--size/);
    expect(() => parseModelArgs(['--n', '0'])).toThrow(/--n/);
    expect(() => parseModelArgs(['--threads', 'x'])).toThrow(/--threads/);
    expect(() => parseModelArgs(['--max-wait', '-1'])).toThrow(/--max-wait/);
    expect(() => parseModelArgs(['--bogus'])).toThrow();
    expect(() => parseModelArgs(['--precision', 'bf8'])).toThrow(/--precision: 'bf8'/);
  });
});

test('the bandwidth probe reports positive rates for 1 thread', async () => {
  const b = await measureBandwidth(1, { mibPerBuffer: 16, seconds: 0.05, rounds: 1 });
  expect(b.threads).toBe(1);
  expect(b.copyGBs).toBeGreaterThan(0);
  expect(b.readGBs).toBeGreaterThan(0);
  expect(b.bestGBs).toBe(Math.max(b.copyGBs, b.readGBs));
  await expect(measureBandwidth(0)).rejects.toThrow(RangeError);
});

test('quick run of the compiled bench (tiny checkpoint, N 64 and 200, one thread): complete JSON, ours = ORT', () => {
  const script = path.resolve(__dirname, '..', 'dist', 'bench', 'model.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-bench-model-test-'));
  const json = path.join(dir, 'model.json');
  try {
    const r = spawnSync(process.execPath, [script, '--quick', '--size', 'tiny', '--n', '64,200', '--threads', '1', '--reps', '1', '--steps', '4', '--max-wait', '0', '--precision', 'bf16', '--json', json], {
      encoding: 'utf8', timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`bench exited ${r.status}: ${r.stderr.slice(-3000)}`);
    expect(r.stdout).toMatch(/Encoder: median ms/);
    expect(r.stdout).toMatch(/Decode \(B = 1/);
    const res = JSON.parse(fs.readFileSync(json, 'utf8')) as ModelBenchResult;
    expect(res.bench).toBe('model');
    expect(res.config.d_model).toBe(64);
    expect(res.fmaPeak.best).toBeGreaterThanOrEqual(res.fmaPeak.startup);
    expect(res.encoder.map((p) => p.N)).toEqual([64, 200]);
    for (const p of res.encoder) {
      expect(p.error).toBeUndefined();
      expect(p.relDiff).not.toBeNull();
      expect(p.relDiff!).toBeLessThanOrEqual(1e-4);
      expect(p.results.ours!.medianMs).toBeGreaterThan(0);
      expect(p.results.ort!.medianMs).toBeGreaterThan(0);
      expect(p.modelMs).toBeCloseTo((p.gflop * 1e3) / res.fmaPeak.best, 6);
      expect(p.oursOverModel).toBeCloseTo(p.results.ours!.medianMs / p.modelMs, 9);
      for (const m of [p.memory.ours!, p.memory.ort!]) {
        expect(m.error).toBeUndefined();
        expect(m.first.peakMiB).toBeGreaterThan(10);
        expect(m.loadMs).toBeGreaterThan(0);
      }
      expect(p.rssRatio).toBeCloseTo(p.memory.ort!.first.peakMiB / p.memory.ours!.first.peakMiB, 9);
      // The anchor (HF's export replica under ORT): timed in the same rounds, its own memory child, same output.
      expect(p.results.anchor!.medianMs).toBeGreaterThan(0);
      expect(p.anchorRelDiff!).toBeLessThanOrEqual(1e-4);
      // ...in rounds of its own beside ours (two ORT sessions at once would not fit at 16k).
      expect(p.anchorOursMs!).toBeGreaterThan(0);
      expect(p.anchorOursMs).not.toBe(p.results.ours!.medianMs);
      expect(p.anchorSpeedup).toBeCloseTo(p.results.anchor!.medianMs / p.anchorOursMs!, 9);
      expect(p.memory.anchor!.error).toBeUndefined();
      expect(p.memory.anchor!.first.peakMiB).toBeGreaterThan(10);
      expect(p.anchorRssRatio).toBeCloseTo(p.memory.anchor!.first.peakMiB / p.memory.ours!.first.peakMiB, 9);
      // bf16 beside float32: its own timing and memory child, within the bf16 tolerance of float32.
      expect(p.results['ours-bf16']!.medianMs).toBeGreaterThan(0);
      expect(p.reduced.bf16!.relDiff!).toBeGreaterThan(0);
      expect(p.reduced.bf16!.relDiff!).toBeLessThanOrEqual(2e-2);
      expect(p.reduced.bf16!.speedup).toBeCloseTo(p.results.ours!.medianMs / p.results['ours-bf16']!.medianMs, 9);
      expect(p.memory['ours-bf16']!.error).toBeUndefined();
    }
    expect(r.stdout).toMatch(/Encoder at reduced precision/);
    expect(r.stdout).toMatch(/Encoder against the anchor/);
    expect(res.weightMiB['ours-bf16']!).toBeLessThan(0.6 * res.weightMiB.ours!);
    expect(res.bandwidth).toHaveLength(1);
    expect(res.bandwidth[0].bestGBs).toBeGreaterThan(0);
    expect(res.decode.map((p) => p.N)).toEqual([64, 200]);
    for (const p of res.decode) {
      expect(p.steps).toBeGreaterThanOrEqual(2);
      expect(p.stepMs).toBeGreaterThan(0);
      expect(p.mbPerStep).toBeGreaterThan(0);
      expect(p.bandwidthFraction).toBeCloseTo(p.achievedGBs / p.probeGBs, 9);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
