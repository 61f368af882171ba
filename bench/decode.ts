// Decode-step bench: one query per head against a long key/value cache (Nq = 1), the shape of a
// generation step. Ours (attention(), which takes the decode kernel for Nq <= 4, on the same
// Float32Arrays ORT reads; the same call forced onto the query-block kernel, for reference; a
// KVCache stored as float32, bfloat16 or float16 — the library's own storage, on huge pages where
// the system gives them; and attentionAsync on the plain arrays, which it copies, and on a float32
// KVCache, which it reads in place) against ONNX Runtime's com.microsoft MultiHeadAttention and
// Attention on the same inputs, interleaved in one run. A decode step reads every cached key and
// value once, so it is judged by bytes read per call against a memory-bandwidth probe with the same
// threads (memcmp of equal buffers, T workers at once: bench/common/bandwidth.ts).
//
//   node dist/bench/decode.js [--threads 1,2] [--reps 30] [--json FILE]
//
// Prints a table per shape and thread count: median ms, GB/s read, % of the probe, ratio to ORT;
// then the ratios the decode targets are judged by (ORT best / ours with one thread, % of the
// probe, two threads / one thread beside the probe's own, float32 KVCache / 16-bit KVCache), each
// against its target.
// The implementations run in a rotated order each round, so none always runs first after ORT's
// pause (a cold start: idle core, caches and TLB holding the previous call's data).
import * as fs from 'fs';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { KVCache, attention, attentionAsync, info } from '../lib/index';
import { native } from '../lib/native';
import { buildDenseAttentionModel } from '../lib/onnx/dense';
import { measureBandwidth } from './common/bandwidth';
import { parseIntList } from './common/cli';
import { createSession, f32, loadOrt, ortLoadError } from './common/ort';
import { maxAbsDiff, randomNormal } from './common/random';
import { median, nowMs, sleep } from './common/stats';
import { fix, formatTable, ms } from './common/table';

interface Shape { name: string; B: number; H: number; Hk: number; Nq: number; Nk: number; D: number }

const SHAPES: Shape[] = [
  { name: 'Nq=1 Nk=16384 H=8 D=64', B: 1, H: 8, Hk: 8, Nq: 1, Nk: 16384, D: 64 },
  { name: 'Nq=1 Nk=4096 H=32 D=128', B: 1, H: 32, Hk: 32, Nq: 1, Nk: 4096, D: 128 },
];
/** The done-when targets of the decode path (ratios; percent for the probe). */
const TARGETS = { vsOrt1T: 2, ofProbePct: 65, twoVsOneThread: 1.6, halfVsFloatCache: 1.7, vsOrtLargeHeads: 1.5 };
/** ORT's intra-op threads spin ~50 ms after a run: pause so they do not steal a core from the next call. */
const GAP_MS = 60;
const SEED = 4242;

type Impl = 'ours' | 'oursF32Cache' | 'oursBf16Cache' | 'oursF16Cache' | 'oursAsync' | 'oursAsyncF32Cache' | 'oursQueryBlocks' | 'ortMHA' | 'ortAttention';

interface Runner { run(): unknown; out: Float32Array; release(): Promise<void> }

function bytesRead(s: Shape, impl: Impl = 'ours'): number {
  const kvBytes = impl === 'oursBf16Cache' || impl === 'oursF16Cache' ? 2 : 4;
  return 4 * s.B * s.H * s.Nq * s.D + kvBytes * 2 * s.B * s.Hk * s.Nk * s.D;
}

async function runner(impl: Impl, s: Shape, x: { q: Float32Array; k: Float32Array; v: Float32Array }, threads: number): Promise<Runner> {
  const qd = [s.B, s.H, s.Nq, s.D], kd = [s.B, s.Hk, s.Nk, s.D];
  const out = new Float32Array(s.B * s.H * s.Nq * s.D);
  if (impl === 'ours') {
    const q = { data: x.q, dims: qd }, k = { data: x.k, dims: kd }, v = { data: x.v, dims: kd };
    return { out, run: () => attention(q, k, v, { out, threads }), release: async () => {} };
  }
  if (impl === 'oursAsync') {  // copies q, k and v for the call (ordinary buffers may be detached meanwhile)
    const q = { data: x.q, dims: qd }, k = { data: x.k, dims: kd }, v = { data: x.v, dims: kd };
    return { out, run: () => attentionAsync(q, k, v, { out, threads }), release: async () => {} };
  }
  if (impl === 'oursAsyncF32Cache') {  // reads the cache in place (a SharedArrayBuffer)
    const cache = new KVCache({ batch: s.B, kvHeads: s.Hk, headSize: s.D, capacity: s.Nk });
    cache.append({ data: x.k, dims: kd }, { data: x.v, dims: kd });
    const q = { data: x.q, dims: qd }, k = cache.keys, v = cache.values;
    return { out, run: () => attentionAsync(q, k, v, { out, threads }), release: async () => {} };
  }
  if (impl === 'oursF32Cache' || impl === 'oursBf16Cache' || impl === 'oursF16Cache') {
    const dtype = impl === 'oursF32Cache' ? 'float32' : impl === 'oursF16Cache' ? 'float16' : 'bfloat16';
    const cache = new KVCache({ batch: s.B, kvHeads: s.Hk, headSize: s.D, capacity: s.Nk, dtype });
    cache.append({ data: x.k, dims: kd }, { data: x.v, dims: kd });
    const q = { data: x.q, dims: qd }, k = cache.keys, v = cache.values;
    return { out, run: () => attention(q, k, v, { out, threads }), release: async () => {} };
  }
  if (impl === 'oursQueryBlocks') {
    const args = { q: x.q, k: x.k, v: x.v, out, B: s.B, H: s.H, Hk: s.Hk, Nq: s.Nq, Nk: s.Nk, D: s.D, Dv: s.D,
      scale: 1 / Math.sqrt(s.D), causal: false, threads, path: 'flash' as const };
    return { out, run: () => native.denseAttention(args), release: async () => {} };
  }
  const model = buildDenseAttentionModel({ op: impl === 'ortMHA' ? 'MultiHeadAttention' : 'Attention', numHeads: s.H, headSize: s.D });
  const session = await createSession(model, threads);
  const feeds: Record<string, Ort.Tensor> = { q: f32(x.q, qd), k: f32(x.k, kd), v: f32(x.v, kd) };
  const fetches = { out: f32(out, qd) };
  return { out, run: () => session.run(feeds, fetches), release: () => session.release() };
}

/** The last-level cache size in bytes (Linux sysfs), or NaN. */
function lastLevelCacheBytes(): number {
  try {
    const dir = '/sys/devices/system/cpu/cpu0/cache';
    let best = NaN, level = 0;
    for (const idx of fs.readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const l = Number(fs.readFileSync(`${dir}/${idx}/level`, 'utf8'));
      const m = /^(\d+)([KMG]?)/.exec(fs.readFileSync(`${dir}/${idx}/size`, 'utf8').trim());
      if (m && l > level) {
        level = l;
        best = Number(m[1]) * ({ '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 } as Record<string, number>)[m[2]];
      }
    }
    return best;
  } catch {
    return NaN;
  }
}

/** One line per decode target: the measured ratio, the target, and whether it is met. */
function targetLines(medians: Map<string, number>, threadList: number[], probes: Map<number, number>): string[] {
  const lines: string[] = [];
  const get = (s: Shape, threads: number, impl: Impl) => medians.get(`${s.name} ${threads} ${impl}`) ?? NaN;
  const line = (what: string, value: number, target: number, unit = 'x') => {
    if (!Number.isFinite(value)) return;
    const v = unit === '%' ? `${fix(value, 0)}%` : `${fix(value, 2)}x`;
    const t = unit === '%' ? `${target}%` : `${target}x`;
    lines.push(`  ${what}: ${v} (target >= ${t}: ${value >= target ? 'met' : 'NOT met'})`);
  };
  for (const s of SHAPES) {
    const large = s.D >= 128;
    for (const threads of threadList) {
      const ours = get(s, threads, 'ours');
      const ort = Math.min(get(s, threads, 'ortMHA'), get(s, threads, 'ortAttention'));
      const t = `${s.name}, ${threads}T`;
      if (threads === 1 || large) line(`${t}: ORT best / ours`, ort / ours, large ? TARGETS.vsOrtLargeHeads : TARGETS.vsOrt1T);
      if (!large) line(`${t}: ours, GB/s of the ${threads}-thread probe`, (100 * bytesRead(s) / (ours * 1e6)) / probes.get(threads)!, TARGETS.ofProbePct, '%');
      const asyncRatio = get(s, threads, 'oursAsyncF32Cache') / get(s, threads, 'oursF32Cache');
      if (!large && Number.isFinite(asyncRatio)) lines.push(`  ${t}: attentionAsync on a float32 KVCache takes ${fix(asyncRatio, 2)}x attention's time on it (no copies)`);
      if (!large) {
        // Both sides KVCaches (the same storage, on huge pages where the system gives them): only the element size differs.
        const f32Cache = get(s, threads, 'oursF32Cache');
        line(`${t}: float32 cache / bfloat16 cache`, f32Cache / get(s, threads, 'oursBf16Cache'), TARGETS.halfVsFloatCache);
        line(`${t}: float32 cache / float16 cache`, f32Cache / get(s, threads, 'oursF16Cache'), TARGETS.halfVsFloatCache);
      }
    }
    if (!large && threadList.includes(1) && threadList.includes(2)) {
      line(`${s.name}: ours 1T / 2T`, get(s, 1, 'ours') / get(s, 2, 'ours'), TARGETS.twoVsOneThread);
      // A step that already streams at the one-thread probe's rate can go no faster than memory.
      lines.push(`    (the machine's memory: the 2-thread probe reads ${fix(probes.get(2)! / probes.get(1)!, 2)}x the 1-thread probe's GB/s)`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: node dist/bench/decode.js [--threads 1,2] [--reps 30] [--json FILE]');
    return;
  }
  const threadList = values.threads ? parseIntList('--threads', values.threads) : [1, Math.min(2, info().hardwareThreads)];
  const reps = values.reps ? Number(values.reps) : 30;
  const impls: Impl[] = ['ours', 'oursF32Cache', 'oursBf16Cache', 'oursF16Cache', 'oursAsync', 'oursAsyncF32Cache', 'oursQueryBlocks'];
  if (loadOrt()) impls.push('ortMHA', 'ortAttention');
  else console.log(`warning: onnxruntime-node not available (${ortLoadError()}); ours only`);
  // Read bandwidth with T threads at once (memcmp of equal buffers, bench/common/bandwidth.ts).
  const probes = new Map<number, number>();
  for (const t of threadList) probes.set(t, (await measureBandwidth(t)).readGBs);
  console.log(`decode bench: ${info().isa}, ${info().hardwareThreads} hardware threads; memory-bandwidth probe (memcmp, read GB/s): ${threadList.map((t) => `${t}T ${fix(probes.get(t)!, 1)}`).join(', ')}`);
  const llc = lastLevelCacheBytes();
  const fits = SHAPES.filter((sh) => bytesRead(sh, 'oursBf16Cache') <= llc).map((sh) => sh.name);
  if (fits.length)
    console.log(`note: the last-level cache holds ${(llc / 2 ** 20).toFixed(0)} MiB; a 16-bit cache of ${fits.join(', ')} fits in it, so repeated calls may be partly served from it (faster than memory)`);
  const results: unknown[] = [];
  const medians = new Map<string, number>(); // `${shape} ${threads} ${impl}` -> median ms
  for (const s of SHAPES) {
    const n = s.B * s.H * s.Nq * s.D, nk = s.B * s.Hk * s.Nk * s.D;
    const x = { q: randomNormal(n, SEED), k: randomNormal(nk, SEED + 1), v: randomNormal(nk, SEED + 2) };
    for (const threads of threadList) {
      const runners = new Map<Impl, Runner>();
      for (const impl of impls) runners.set(impl, await runner(impl, s, x, threads));
      const times = new Map<Impl, number[]>(impls.map((i) => [i, []]));
      for (let r = 0; r < reps + 3; r++)
        for (let i = 0; i < impls.length; i++) {
          const impl = impls[(i + r) % impls.length];
          const run = runners.get(impl)!;
          const t = nowMs();
          await run.run();
          if (r >= 3) times.get(impl)!.push(nowMs() - t);
          if (impl.startsWith('ort')) await sleep(GAP_MS);
        }
      const ours = runners.get('ours')!.out;
      const rows: string[][] = [];
      const ortBest = Math.min(...impls.filter((i) => i.startsWith('ort')).map((i) => median(times.get(i)!)));
      for (const impl of impls) {
        const m = median(times.get(impl)!);
        medians.set(`${s.name} ${threads} ${impl}`, m);
        const gbs = bytesRead(s, impl) / (m * 1e6);
        const err = maxAbsDiff(runners.get(impl)!.out, ours);
        rows.push([impl, ms(m), fix(gbs, 1), `${fix((100 * gbs) / probes.get(threads)!, 0)}%`, Number.isFinite(ortBest) ? `${fix(ortBest / m, 2)}x` : '-', err.toExponential(1)]);
        results.push({ shape: s, threads, impl, medianMs: m, gbPerS: gbs, probeGbPerS: probes.get(threads), bytesRead: bytesRead(s, impl), maxAbsDiffVsOurs: err });
      }
      console.log(`\n${s.name}, B=${s.B}, ${threads} thread(s): ${(bytesRead(s) / 2 ** 20).toFixed(1)} MiB read per call (float32 K/V; half with a 16-bit cache)`);
      console.log(formatTable(['impl', 'median ms', 'GB/s', 'of probe', 'ORT best / this', '|diff| vs ours (16-bit: rounding)'], rows));
      for (const r of runners.values()) await r.release();
    }
  }
  const targets = targetLines(medians, threadList, probes);
  console.log(`\ntargets (side by side in this run; medians):\n${targets.join('\n')}`);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify({ isa: info().isa, probeGbPerS: Object.fromEntries(probes), results, targets }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
