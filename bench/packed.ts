// Packed mixed-length batch bench (serving shapes): 8 sequences of lengths 64 ... 4096 packed back
// to back, H=8, D=64, against the same calls one sequence at a time and ONNX Runtime on the batch
// padded to the longest sequence with a key-padding mask; plus the ordinary batched shape B=8,
// N=1024. Interleaved rounds in one process, medians; wall and process CPU time per call.
//
//   node dist/bench/packed.js [--threads 1,2] [--reps 5] [--lengths 64,128,...] [--no-layer] [--json FILE]
//
// Rows:
//   dense packed      attention(q, k, v, { layout: 'packed', seqStarts }) on q, k, v [T, H, D]
//   dense per-seq     one attention() per sequence on [1, N_b, H, D] views of the same buffers (layout 'bnhd')
//   dense ORT-A/-MHA  ONNX Attention / com.microsoft MultiHeadAttention on [8, H, Nmax, D] + key_mask [8, Nmax]
//   layer packed      LongT5TransientGlobalAttention.forward(hidden [T, d_model], undefined, { seqStarts })
//   layer per-seq     one forward() per sequence on [1, N_b, d_model] views
//   layer ORT         layer.toOnnx() on hidden [8, Nmax, d_model] + attention_mask [8, Nmax]
//   B=8 N=1024        attention() on [8, H, 1024, D] vs ORT-A / ORT-MHA (no mask)
// Checks: packed vs per-seq max |diff| (target <= 1e-6), packed vs ORT over the real rows.
import * as fs from 'fs';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { attention, info, LongT5TransientGlobalAttention } from '../lib/index';
import type { LongT5Config, LongT5Weights } from '../lib/index';
import { buildDenseAttentionModel } from '../lib/onnx/dense';
import { parseIntList } from './common/cli';
import { createSession, f32, i64, loadOrt, ortLoadError } from './common/ort';
import { randomNormal } from './common/random';
import { median, nowMs, sleep } from './common/stats';
import { fix, formatTable, ms } from './common/table';

const H = 8;
const D = 64;
const D_MODEL = 512;
const DEFAULT_LENGTHS = [64, 128, 256, 512, 1024, 2048, 3072, 4096];
const BATCH_B = 8;
const BATCH_N = 1024;
/** ORT's intra-op threads spin ~50 ms after a run: pause so they do not steal a core from the next call. */
const GAP_MS = 100;
const SEED = 1313;

interface Runner { run(): unknown; out: Float32Array; release(): Promise<void> }
interface Row { impl: string; runner: Runner; ort: boolean }

/** Wall and CPU (user + system, whole process) ms of one call. */
async function timed(run: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  const r = run();
  if (r && typeof (r as Promise<unknown>).then === 'function') await r;
  const wall = nowMs() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Max |a - b| over rows of `rowLen` floats: a's rows [t0, t0 + n) against b's rows [p0, p0 + n), per sequence. */
function packedVsPadded(packed: Float32Array, padded: Float32Array, starts: Int32Array, Nmax: number, rowLen: number,
                        paddedIndex: (b: number, i: number, c: number) => number): number {
  let m = 0;
  for (let b = 0; b + 1 < starts.length; b++)
    for (let i = 0; i < starts[b + 1] - starts[b]; i++)
      for (let c = 0; c < rowLen; c++) {
        const d = Math.abs(packed[(starts[b] + i) * rowLen + c] - padded[paddedIndex(b, i, c)]);
        if (!(d <= m)) m = d;
      }
  void Nmax;
  return m;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

function startsOf(lengths: number[]): Int32Array {
  const s = new Int32Array(lengths.length + 1);
  for (let b = 0; b < lengths.length; b++) s[b + 1] = s[b] + lengths[b];
  return s;
}

/** Interleaved rounds (one warm-up), medians; returns a table and the JSON rows. */
async function measure(title: string, rows: Row[], reps: number, threads: number, base: string, notes: string[]) {
  const wall = new Map<string, number[]>(rows.map((r) => [r.impl, []]));
  const cpu = new Map<string, number[]>(rows.map((r) => [r.impl, []]));
  for (let r = 0; r <= reps; r++)
    for (const row of rows) {
      const t = await timed(() => row.runner.run());
      if (r > 0) {
        wall.get(row.impl)!.push(t.wall);
        cpu.get(row.impl)!.push(t.cpu);
      }
      await sleep(row.ort ? GAP_MS : 10);
    }
  const med = (impl: string) => median(wall.get(impl)!);
  const medCpu = (impl: string) => median(cpu.get(impl)!);
  const ortBest = Math.min(...rows.filter((r) => r.ort).map((r) => med(r.impl)));
  const ortBestCpu = Math.min(...rows.filter((r) => r.ort).map((r) => medCpu(r.impl)));
  const ratio = (x: number) => (Number.isFinite(x) ? `${fix(x, 2)}x` : '-');
  const table = formatTable(
    ['impl', 'wall ms', 'cpu ms', `wall / ${base}`, 'ORT best / this', 'same, cpu'],
    rows.map((r) => [
      r.impl, ms(med(r.impl)), ms(medCpu(r.impl)), ratio(med(r.impl) / med(base)), ratio(ortBest / med(r.impl)), ratio(ortBestCpu / medCpu(r.impl)),
    ]),
  );
  console.log(`\n${title}, ${threads} thread(s), median of ${reps} (cpu: the whole process's, spinning threads included)`);
  console.log(table);
  for (const n of notes) console.log(`  ${n}`);
  for (const r of rows) await r.runner.release();
  return rows.map((r) => ({ title, threads, impl: r.impl, wallMs: wall.get(r.impl), cpuMs: cpu.get(r.impl), medianMs: med(r.impl) }));
}

async function ortDense(op: 'Attention' | 'MultiHeadAttention', feeds: Record<string, Ort.Tensor>, out: Float32Array, dims: number[],
                        threads: number, keyMask: boolean): Promise<Runner> {
  const session = await createSession(buildDenseAttentionModel({ op, numHeads: H, headSize: D, keyMask }), threads);
  const fetches = { out: f32(out, dims) };
  return { out, run: () => session.run(feeds, fetches), release: () => session.release() };
}

async function densePacked(lengths: number[], threads: number, reps: number, withOrt: boolean) {
  const starts = startsOf(lengths);
  const T = starts[lengths.length], B = lengths.length, Nmax = Math.max(...lengths);
  const q = randomNormal(T * H * D, SEED), k = randomNormal(T * H * D, SEED + 1), v = randomNormal(T * H * D, SEED + 2);
  const dims = [T, H, D];
  const outPacked = new Float32Array(T * H * D), outSeq = new Float32Array(T * H * D);
  const rows: Row[] = [];
  const packedOptions = { layout: 'packed' as const, seqStarts: starts, out: outPacked, threads };
  rows.push({ impl: 'packed', ort: false, runner: { out: outPacked, run: () => attention({ data: q, dims }, { data: k, dims }, { data: v, dims }, packedOptions), release: async () => {} } });
  const view = (x: Float32Array, b: number) => ({ data: x.subarray(starts[b] * H * D, starts[b + 1] * H * D), dims: [1, lengths[b], H, D] });
  const calls = lengths.map((_, b) => ({ q: view(q, b), k: view(k, b), v: view(v, b), o: { layout: 'bnhd' as const, out: outSeq.subarray(starts[b] * H * D, starts[b + 1] * H * D), threads } }));
  rows.push({ impl: 'per-seq', ort: false, runner: { out: outSeq, run: () => { for (const c of calls) attention(c.q, c.k, c.v, c.o); }, release: async () => {} } });
  const notes: string[] = [];
  const pdims = [B, H, Nmax, D];
  let padded: { out: Float32Array[] } | undefined;
  if (withOrt) {
    // The batch padded to the longest, head-major [B, H, Nmax, D], zeros past each length.
    const pad = (x: Float32Array) => {
      const p = new Float32Array(B * H * Nmax * D);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < lengths[b]; i++)
          for (let h = 0; h < H; h++) p.set(x.subarray(((starts[b] + i) * H + h) * D, ((starts[b] + i) * H + h + 1) * D), ((b * H + h) * Nmax + i) * D);
      return p;
    };
    const mask = new Int32Array(B * Nmax);
    for (let b = 0; b < B; b++) mask.fill(1, b * Nmax, b * Nmax + lengths[b]);
    const ort = loadOrt()!;
    const feeds = { q: f32(pad(q), pdims), k: f32(pad(k), pdims), v: f32(pad(v), pdims), key_mask: new ort.Tensor('int32', mask, [B, Nmax]) };
    padded = { out: [] };
    for (const op of ['Attention', 'MultiHeadAttention'] as const) {
      const out = new Float32Array(B * H * Nmax * D);
      padded.out.push(out);
      rows.push({ impl: op === 'Attention' ? 'ORT-A padded' : 'ORT-MHA padded', ort: true, runner: await ortDense(op, feeds, out, pdims, threads, true) });
    }
  }
  // Outputs: one call each before the timed rounds.
  for (const r of rows) await r.runner.run();
  const dSeq = maxDiff(outPacked, outSeq);
  notes.push(`max |packed - per-seq| = ${dSeq.toExponential(2)} (target <= 1e-6)${dSeq <= 1e-6 ? '' : '  FAIL'}`);
  if (padded)
    for (const [i, o] of padded.out.entries()) {
      const d = packedVsPadded(outPacked, o, starts, Nmax, H * D, (b, n, c) => ((b * H + Math.floor(c / D)) * Nmax + n) * D + (c % D));
      notes.push(`max |packed - ${i === 0 ? 'ORT-A' : 'ORT-MHA'}| over the real rows = ${d.toExponential(2)}`);
    }
  const flops = lengths.reduce((a, n) => a + 4 * H * n * n * D, 0);
  notes.push(`work: packed ${fix(flops / 1e9, 1)} GFLOP vs padded ${fix((4 * B * H * Nmax * Nmax * D) / 1e9, 1)} GFLOP`);
  const title = `dense packed batch, lengths ${lengths.join(',')} (T=${T}), H=${H}, D=${D}`;
  return measure(title, rows, reps, threads, 'packed', notes);
}

const CONFIG: LongT5Config = {
  d_model: D_MODEL, d_kv: D, num_heads: H, local_radius: 127, global_block_size: 16,
  relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6,
};

function makeWeights(): LongT5Weights {
  const HD = H * D;
  return {
    'q.weight': randomNormal(HD * D_MODEL, SEED + 11, 1 / Math.sqrt(D_MODEL)),
    'k.weight': randomNormal(HD * D_MODEL, SEED + 12, 1 / Math.sqrt(D_MODEL)),
    'v.weight': randomNormal(HD * D_MODEL, SEED + 13, 1 / Math.sqrt(D_MODEL)),
    'o.weight': randomNormal(D_MODEL * HD, SEED + 14, 1 / Math.sqrt(HD)),
    'relative_attention_bias.weight': randomNormal(32 * H, SEED + 15),
    'global_relative_attention_bias.weight': randomNormal(32 * H, SEED + 16),
    'global_input_layer_norm.weight': randomNormal(D_MODEL, SEED + 17, 0.1).map((x) => 1 + x),
  };
}

async function layerPacked(lengths: number[], threads: number, reps: number, withOrt: boolean) {
  const starts = startsOf(lengths);
  const T = starts[lengths.length], B = lengths.length, Nmax = Math.max(...lengths);
  const layer = new LongT5TransientGlobalAttention(CONFIG, makeWeights());
  const hidden = randomNormal(T * D_MODEL, SEED + 20);
  const outPacked = new Float32Array(T * D_MODEL), outSeq = new Float32Array(T * D_MODEL);
  const rows: Row[] = [];
  const h = { data: hidden, dims: [T, D_MODEL] };
  const po = { seqStarts: starts, out: outPacked, threads };
  rows.push({ impl: 'packed', ort: false, runner: { out: outPacked, run: () => layer.forward(h, undefined, po), release: async () => {} } });
  const calls = lengths.map((n, b) => ({
    h: { data: hidden.subarray(starts[b] * D_MODEL, starts[b + 1] * D_MODEL), dims: [1, n, D_MODEL] },
    o: { out: outSeq.subarray(starts[b] * D_MODEL, starts[b + 1] * D_MODEL), threads },
  }));
  rows.push({ impl: 'per-seq', ort: false, runner: { out: outSeq, run: () => { for (const c of calls) layer.forward(c.h, undefined, c.o); }, release: async () => {} } });
  let ortOut: Float32Array | undefined;
  if (withOrt) {
    const ph = new Float32Array(B * Nmax * D_MODEL);
    const mask = new BigInt64Array(B * Nmax);
    for (let b = 0; b < B; b++) {
      ph.set(hidden.subarray(starts[b] * D_MODEL, starts[b + 1] * D_MODEL), b * Nmax * D_MODEL);
      mask.fill(1n, b * Nmax, b * Nmax + lengths[b]);
    }
    const session = await createSession(layer.toOnnx(), threads);
    const feeds = { hidden_states: f32(ph, [B, Nmax, D_MODEL]), attention_mask: i64(mask, [B, Nmax]) };
    ortOut = new Float32Array(B * Nmax * D_MODEL);
    const fetches = { output: f32(ortOut, [B, Nmax, D_MODEL]) };
    rows.push({ impl: 'ORT padded', ort: true, runner: { out: ortOut, run: () => session.run(feeds, fetches), release: () => session.release() } });
  }
  for (const r of rows) await r.runner.run();
  const notes: string[] = [];
  const dSeq = maxDiff(outPacked, outSeq);
  notes.push(`max |packed - per-seq| = ${dSeq.toExponential(2)} (target <= 1e-6)${dSeq <= 1e-6 ? '' : '  FAIL'}`);
  if (ortOut) {
    const d = packedVsPadded(outPacked, ortOut, starts, Nmax, D_MODEL, (b, n, c) => (b * Nmax + n) * D_MODEL + c);
    notes.push(`max |packed - ORT| over the real rows = ${d.toExponential(2)}`);
  }
  const title = `TGlobal layer (d_model ${D_MODEL}, r 127, g 16) packed batch, lengths ${lengths.join(',')} (T=${T})`;
  return measure(title, rows, reps, threads, 'packed', notes);
}

async function denseBatch(threads: number, reps: number, withOrt: boolean) {
  const dims = [BATCH_B, H, BATCH_N, D];
  const n = BATCH_B * H * BATCH_N * D;
  const q = randomNormal(n, SEED + 30), k = randomNormal(n, SEED + 31), v = randomNormal(n, SEED + 32);
  const out = new Float32Array(n);
  const o = { out, threads };
  const rows: Row[] = [{ impl: 'ours', ort: false, runner: { out, run: () => attention({ data: q, dims }, { data: k, dims }, { data: v, dims }, o), release: async () => {} } }];
  if (withOrt) {
    const feeds = { q: f32(q, dims), k: f32(k, dims), v: f32(v, dims) };
    rows.push({ impl: 'ORT-A', ort: true, runner: await ortDense('Attention', feeds, new Float32Array(n), dims, threads, false) });
    rows.push({ impl: 'ORT-MHA', ort: true, runner: await ortDense('MultiHeadAttention', feeds, new Float32Array(n), dims, threads, false) });
  }
  for (const r of rows) await r.runner.run();
  const notes = rows.filter((r) => r.ort).map((r) => `max |ours - ${r.impl}| = ${maxDiff(out, r.runner.out).toExponential(2)}`);
  return measure(`dense B=${BATCH_B} N=${BATCH_N} H=${H} D=${D}`, rows, reps, threads, 'ours', notes);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string' }, reps: { type: 'string' }, lengths: { type: 'string' }, json: { type: 'string' },
      'no-layer': { type: 'boolean' }, 'no-dense': { type: 'boolean' }, 'no-batch': { type: 'boolean' }, 'no-ort': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: node dist/bench/packed.js [--threads 1,2] [--reps 5] [--lengths 64,128,...] [--no-dense] [--no-layer] [--no-batch] [--no-ort] [--json FILE]');
    return;
  }
  const threadList = values.threads ? parseIntList('--threads', values.threads) : [1, Math.min(2, info().hardwareThreads)];
  const reps = values.reps ? Number(values.reps) : 5;
  const lengths = values.lengths ? parseIntList('--lengths', values.lengths) : DEFAULT_LENGTHS;
  const withOrt = !values['no-ort'] && loadOrt() !== null;
  if (!values['no-ort'] && !withOrt) console.log(`warning: onnxruntime-node not available (${ortLoadError()}); ours only`);
  console.log(`packed bench: ${info().isa}, ${info().hardwareThreads} hardware threads`);
  const results: unknown[] = [];
  for (const threads of threadList) {
    if (!values['no-dense']) results.push(...(await densePacked(lengths, threads, reps, withOrt)));
    if (!values['no-layer']) results.push(...(await layerPacked(lengths, threads, reps, withOrt)));
    if (!values['no-batch']) results.push(...(await denseBatch(threads, reps, withOrt)));
  }
  if (values.json) fs.writeFileSync(values.json, JSON.stringify({ isa: info().isa, lengths, results }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
