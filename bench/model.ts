// The whole-model bench: the LongT5 encoder (ours vs ONNX Runtime running the encoder's exported
// graph, lib/onnx/longt5-encoder.ts, on the same weights) and decode steps (generation with the
// cross-attention keys/values over N encoder tokens cached), on one random checkpoint.
//
//   npm run bench:model -- [--n 1k,4k,16k] [--decode-n 1k,4k,16k] [--threads 1,all] [--reps K] [--steps S]
//                          [--size base|tiny] [--quick] [--no-ort] [--no-mem] [--no-encoder] [--no-decode] [--json FILE]
//
// Checkpoint (--size base, the default): d_model 768, 12 heads, d_kv 64, d_ff 2048, gated-gelu,
// transient-global r 127, g 16, 2 encoder + 2 decoder layers, vocab 32128, untied lm_head; random
// weights (seeded), written once to a temporary folder and loaded with fromPretrained as a user would.
// B = 1, every token valid.
//
// Encoder, per (N, threads): LongT5EncoderModel.encode and an ORT session (intra-op threads = T) on
//   the exported graph run interleaved, one warm-up each, `reps` rounds (3 when a call takes > 2 s),
//   median ms; their outputs compared (max |ours - ORT| / max |ours|); time against the FLOP model
//   (projections, TGlobal core 4·H·N·D·((2r+1) + G), feed-forward) at T × the one-thread FMA peak
//   this bench measures; peak RSS of each in a fresh child process (what the process holds at the
//   peak of one call: weights, activations, runtime), plus checkpoint load time and RSS.
// Decode, per (N, threads): generate(maxNewTokens = steps) with onProgress timestamps: prefill
//   (encoder + cross-attention K/V + first step) and the median decode step; tokens/s; the bytes a
//   step must read (cross K/V over N tokens, self-attention cache, decoder weights, lm_head) per step
//   time, against a STREAM-like probe of the memory bandwidth with T threads (bench/common/bandwidth.ts).
// Progress on stderr, tables on stdout, everything in bench/results/model-<date>.json (--quick: only
// with --json).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { LongT5EncoderModel, LongT5ForConditionalGeneration } from '../lib/index';
import { buildLongT5EncoderOnnx } from '../lib/onnx/longt5-encoder';
import { mulberry32 } from '../lib/random';
import { allCores, measureBandwidth, type BandwidthResult } from './common/bandwidth';
import { runJsonChild } from './common/child';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import { oneThreadPeak } from './common/fma';
import { LoadMeter, type LoadReport } from './common/load';
import { describeMachine, formatMachine, type MachineInfo } from './common/machine';
import { readMem, resetPeak } from './common/memory';
import { createSession, i64, loadOrt, ortLoadError, ortVersion } from './common/ort';
import { defaultResultPath, writeJson } from './common/results';
import { median, nowMs, repsFor, sleep } from './common/stats';
import { fix, formatTable, ms, sci } from './common/table';
import { randomConfig, randomWeights, writeCheckpoint, type RandomLongT5Config } from './model-weights';

export type ModelSize = 'base' | 'tiny';

const SIZES: Record<ModelSize, Parameters<typeof randomConfig>[0]> = {
  base: { d_model: 768, num_heads: 12, d_kv: 64, d_ff: 2048, num_layers: 2, vocab_size: 32128 },
  tiny: { d_model: 64, num_heads: 4, d_kv: 16, d_ff: 128, num_layers: 2, vocab_size: 512 },
};
const DEFAULT_NS = [1024, 4096, 16384];
const QUICK_NS = [256, 512];
const SEED = 20261207;
/** Pause after every timed call: ORT's pool threads spin a while after a run. */
const GAP_MS = 100;
/** |ours - ORT| / max|ours| above this marks the point wrong (float32 encoder outputs). */
const TOLERANCE = 1e-4;

/** The goals the bench prints what it measured against (informational on a loaded machine). */
export const TARGETS = {
  ortOverOurs: [{ N: 16384, atLeast: 2 }, { N: 4096, atLeast: 1.5 }],
  rssRatio16k: 10,
  flopModel: 1.3,
  bandwidthFraction: 0.65,
} as const;

/** The bench checkpoint's config: LongT5-base-like dimensions, gated-gelu, TGlobal r 127 g 16. */
export function benchConfig(size: ModelSize): RandomLongT5Config {
  return randomConfig({ ...SIZES[size], local_radius: 127, global_block_size: 16, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false });
}

// ---------------------------------------------------------------------------------------------
// Models of the work

/** FLOPs of one encoder forward (B rows of N tokens): projections, TGlobal core, feed-forward; norms and embedding left out. */
export function encoderFlops(c: RandomLongT5Config, N: number, B = 1): number {
  const HD = c.num_heads * c.d_kv;
  const G = c.encoder_attention_type === 'transient-global' ? Math.floor(N / c.global_block_size) : 0;
  const proj = 4 * 2 * N * c.d_model * HD + 2 * 2 * G * c.d_model * HD; // q, k, v, o of N rows; k, v of G global tokens
  const core = 4 * c.num_heads * N * c.d_kv * (2 * c.local_radius + 1 + G);
  const ff = (c.is_gated_act ? 3 : 2) * 2 * N * c.d_model * c.d_ff;
  return B * c.num_layers * (proj + core + ff);
}

/**
 * Bytes one decode step must read at least (float32): per decoder layer the cached cross-attention
 * keys and values over N encoder tokens and the self-attention cache of `t` positions (per row),
 * every decoder weight once (self q, k, v, o; cross q, o; feed-forward; norms) and the lm_head.
 */
export function decodeStepBytes(c: RandomLongT5Config, N: number, t: number, B = 1): number {
  const HD = c.num_heads * c.d_kv, C = c.d_model;
  const perLayerWeights = 4 * HD * C + 2 * HD * C + (c.is_gated_act ? 3 : 2) * C * c.d_ff + 3 * C;
  const weights = c.num_decoder_layers * perLayerWeights + C + c.vocab_size * C;
  const caches = B * c.num_decoder_layers * (2 * N * HD + 2 * t * HD);
  return 4 * (weights + caches);
}

// ---------------------------------------------------------------------------------------------
// Options

export interface ModelBenchOptions {
  ns: number[];
  decodeNs: number[];
  threads: number[];
  reps: number;
  steps: number;
  size: ModelSize;
  quick: boolean;
  ort: boolean;
  mem: boolean;
  encoder: boolean;
  decode: boolean;
  /** Result file; undefined: none (--quick without --json). */
  json?: string;
}

export const usage = `usage: npm run bench:model -- [options]     (or: node dist/bench/model.js [options])

The whole LongT5 model on this CPU: the encoder (ours vs ONNX Runtime on the exported graph, same
weights) and decode steps (tokens/s, bytes per step vs a memory-bandwidth probe).

  --n LIST          encoder sequence lengths (default 1k,4k,16k; --quick: 256,512)
  --decode-n LIST   encoder lengths for the decode bench (default: as --n)
  --threads LIST    thread counts; 'all' = every logical CPU (default 1,all)
  --reps K          timed rounds per point (default 5, 3 when a call takes > 2 s; --quick: 2)
  --steps S         tokens generated per decode point (default 32; --quick: 6)
  --size base|tiny  checkpoint dimensions (default base: d_model 768, 12 heads, d_kv 64, d_ff 2048)
  --quick           small N, few reps; writes no result file unless --json is given
  --no-ort          skip ONNX Runtime       --no-mem      skip the peak-RSS child processes
  --no-encoder      skip the encoder bench  --no-decode   skip the decode bench
  --json FILE       result file (default bench/results/model-<date>.json)
`;

function threadList(s: string): number[] {
  const all = allCores();
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => (x === 'all' ? all : parsePositiveInt('--threads', x)));
  if (out.length === 0) throw new RangeError('--threads: empty list');
  return [...new Set(out)];
}

/** Parses the CLI; 'help' for --help/-h (throws on bad arguments). */
export function parseModelArgs(argv: string[]): ModelBenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, 'decode-n': { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, steps: { type: 'string' },
      size: { type: 'string' }, json: { type: 'string' }, quick: { type: 'boolean' }, 'no-ort': { type: 'boolean' }, 'no-mem': { type: 'boolean' },
      'no-encoder': { type: 'boolean' }, 'no-decode': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const size = (values.size ?? 'base') as ModelSize;
  if (!(size in SIZES)) throw new RangeError(`--size must be base or tiny, got '${values.size}'`);
  const ns = values.n ? parseIntList('--n', values.n) : quick ? QUICK_NS : DEFAULT_NS;
  return {
    ns,
    decodeNs: values['decode-n'] ? parseIntList('--decode-n', values['decode-n']) : ns,
    threads: values.threads ? threadList(values.threads) : [...new Set([1, allCores()])],
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : quick ? 2 : 5,
    steps: values.steps ? parsePositiveInt('--steps', values.steps) : quick ? 6 : 32,
    size,
    quick,
    ort: !(values['no-ort'] ?? false),
    mem: !(values['no-mem'] ?? false),
    encoder: !(values['no-encoder'] ?? false),
    decode: !(values['no-decode'] ?? false),
    json: values.json ?? (quick ? undefined : defaultResultPath('model')),
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs and the exported graph

/** B = 1 row of N seeded ids in [2, vocab), eos (1) last. */
export function benchIds(c: RandomLongT5Config, N: number): Int32Array {
  const r = mulberry32(SEED + N);
  const ids = new Int32Array(N);
  for (let i = 0; i < N; i++) ids[i] = i === N - 1 ? c.eos_token_id : 2 + Math.floor(r() * (c.vocab_size - 2));
  return ids;
}

/** What the encoder's toOnnx() exports: the resolved config and the weights the model holds. */
export function encoderOnnx(model: LongT5EncoderModel): Uint8Array {
  return buildLongT5EncoderOnnx(model.config, model.weightsForExport());
}

function ortFeeds(ids: Int32Array): Record<string, Ort.Tensor> {
  const N = ids.length;
  return { input_ids: i64(BigInt64Array.from(ids, (x) => BigInt(x)), [1, N]), attention_mask: i64(new BigInt64Array(N).fill(1n), [1, N]) };
}

/** max |a - b| / max |a|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i] - b[i]);
    if (!(x <= d)) d = x;
    m = Math.max(m, Math.abs(a[i]));
  }
  return a.length === b.length ? d / Math.max(m, 1e-30) : NaN;
}

// ---------------------------------------------------------------------------------------------
// Peak memory in a fresh process

interface ChildSpec {
  kind: 'ours' | 'ort';
  dir: string;
  size: ModelSize;
  N: number;
  threads: number;
}

export interface ChildMemory {
  /** Checkpoint load (ours) or session creation (ORT): ms, and the process peak RSS by its end, MiB. */
  loadMs: number;
  loadPeakMiB: number;
  /** RSS once loaded, before the call. */
  readyMiB: number;
  /** Process peak RSS during one encoder call (weights + activations + runtime), and what the call added. */
  callPeakMiB: number;
  callAddedMiB: number;
  /** False when the peak could not be reset before the call (then callPeakMiB is the lifetime peak). */
  exact: boolean;
}

async function memChild(spec: ChildSpec): Promise<ChildMemory> {
  const c = benchConfig(spec.size);
  const ids = benchIds(c, spec.N);
  const t0 = nowMs();
  let call: () => Promise<unknown>;
  if (spec.kind === 'ours') {
    const model = LongT5EncoderModel.fromPretrained(spec.dir);
    call = () => model.encodeAsync(ids, { threads: spec.threads });
  } else {
    const ort = loadOrt();
    if (!ort) throw new Error(`onnxruntime-node is not available: ${ortLoadError()}`);
    // From the file, as a user loads an exported model (no copy of the bytes held in JavaScript).
    const session = await ort.InferenceSession.create(path.join(spec.dir, 'encoder.onnx'), {
      intraOpNumThreads: spec.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
    });
    const feeds = ortFeeds(ids);
    call = () => session.run(feeds);
  }
  const loadMs = nowMs() - t0;
  const loaded = readMem();
  const exact = resetPeak();
  const ready = readMem();
  await call();
  const after = readMem();
  const peak = Math.max(after.hwmKiB, after.rssKiB);
  return {
    loadMs, loadPeakMiB: Math.max(loaded.hwmKiB, loaded.rssKiB) / 1024, readyMiB: ready.rssKiB / 1024,
    callPeakMiB: peak / 1024, callAddedMiB: (peak - ready.rssKiB) / 1024, exact,
  };
}

// ---------------------------------------------------------------------------------------------
// Encoder points

export interface EncoderPoint {
  N: number;
  threads: number;
  reps: number;
  gflop: number;
  /** FLOP model at threads × the one-thread FMA peak, ms. */
  modelMs: number;
  oursMs: number;
  ortMs: number | null;
  /** ORT ms / ours ms. */
  speedup: number | null;
  /** measured / model. */
  oursOverModel: number;
  ortOverModel: number | null;
  /** max |ours - ORT| / max |ours|. */
  relDiff: number | null;
  oursMem: ChildMemory | null;
  ortMem: ChildMemory | null;
  /** ORT call peak / ours call peak. */
  rssRatio: number | null;
  load: LoadReport | null;
  error?: string;
}

async function encoderPoint(o: ModelBenchOptions, c: RandomLongT5Config, dir: string, model: LongT5EncoderModel, N: number, threads: number, peak1: number, session: Ort.InferenceSession | null): Promise<EncoderPoint> {
  const tag = `[encoder N=${N} T=${threads}]`;
  const ids = benchIds(c, N);
  const flops = encoderFlops(c, N);
  const modelMs = flops / (threads * peak1 * 1e6);
  const point: EncoderPoint = {
    N, threads, reps: 0, gflop: flops / 1e9, modelMs, oursMs: NaN, ortMs: null, speedup: null, oursOverModel: NaN, ortOverModel: null,
    relDiff: null, oursMem: null, ortMem: null, rssRatio: null, load: null,
  };
  const ours = () => model.encode(ids, { threads });
  const feeds = ortFeeds(ids);
  const ort = session ? () => session.run(feeds) : null;

  progress(`${tag} warm-up ...`);
  let t0 = nowMs();
  const outOurs = ours().data;
  const firstMs = nowMs() - t0;
  if (ort) {
    const res = await ort();
    point.relDiff = relDiff(outOurs, res.last_hidden_state.data as Float32Array);
    if (!(point.relDiff <= TOLERANCE)) point.error = `ours and ORT differ: max|diff| / max|ours| = ${point.relDiff}`;
  }
  const reps = repsFor(o.reps, firstMs);
  const times: { ours: number[]; ort: number[] } = { ours: [], ort: [] };
  const meter = new LoadMeter();
  meter.start();
  for (let i = 0; i < reps; i++) {
    t0 = nowMs();
    ours();
    times.ours.push(nowMs() - t0);
    await sleep(GAP_MS);
    if (ort) {
      t0 = nowMs();
      await ort();
      times.ort.push(nowMs() - t0);
      await sleep(GAP_MS);
    }
  }
  point.load = meter.stop();
  point.reps = reps;
  point.oursMs = median(times.ours);
  point.oursOverModel = point.oursMs / modelMs;
  if (ort) {
    point.ortMs = median(times.ort);
    point.speedup = point.ortMs / point.oursMs;
    point.ortOverModel = point.ortMs / modelMs;
  }
  progress(`${tag} ours ${ms(point.oursMs)} ms${ort ? `, ORT ${ms(point.ortMs)} ms` : ''} (model ${ms(modelMs)} ms)`);
  if (o.mem) {
    const script = __filename;
    const run = (kind: 'ours' | 'ort') => runJsonChild<ChildMemory>(script, ['--mem-child', JSON.stringify({ kind, dir, size: o.size, N, threads } satisfies ChildSpec)], 1_800_000);
    point.oursMem = await run('ours');
    if (ort) {
      point.ortMem = await run('ort');
      point.rssRatio = point.ortMem.callPeakMiB / point.oursMem.callPeakMiB;
    }
    progress(`${tag} peak RSS ours ${fix(point.oursMem.callPeakMiB, 0)} MiB${point.ortMem ? `, ORT ${fix(point.ortMem.callPeakMiB, 0)} MiB` : ''}`);
  }
  return point;
}

// ---------------------------------------------------------------------------------------------
// Decode points

export interface DecodePoint {
  N: number;
  threads: number;
  /** Decode steps timed (generation stops early if the row produces eos). */
  steps: number;
  /** Encoder + cross-attention K/V + first step, ms. */
  prefillMs: number;
  /** Median time of steps 2.., ms. */
  stepMs: number;
  tokensPerS: number;
  /** Generated tokens / whole generate() time. */
  endToEndTokensPerS: number;
  /** Mean bytes a step reads (decodeStepBytes over the timed steps), MB (1e6). */
  mbPerStep: number;
  /** mbPerStep / stepMs, GB/s, and its fraction of the probe's bandwidth with the same threads. */
  achievedGBs: number;
  probeGBs: number;
  bandwidthFraction: number;
  load: LoadReport | null;
}

async function decodePoint(o: ModelBenchOptions, c: RandomLongT5Config, model: LongT5ForConditionalGeneration, N: number, threads: number, bw: BandwidthResult): Promise<DecodePoint> {
  const tag = `[decode N=${N} T=${threads}]`;
  const ids = benchIds(c, N);
  const run = () => {
    const stamps: number[] = [];
    const t0 = nowMs();
    const out = model.generate(ids, { maxNewTokens: o.steps, threads, onProgress: () => stamps.push(nowMs()) });
    return { t0, stamps, total: nowMs() - t0, S: out.dims[1] };
  };
  progress(`${tag} warm-up ...`);
  run();
  await sleep(GAP_MS);
  const meter = new LoadMeter();
  meter.start();
  const r = run();
  const load = meter.stop();
  const steps = r.stamps.length;
  const gaps = r.stamps.slice(1).map((t, i) => t - r.stamps[i]);
  const stepMs = median(gaps);
  // Step k (1-based) attends over a self cache of k positions.
  let bytes = 0;
  for (let k = 2; k <= steps; k++) bytes += decodeStepBytes(c, N, k);
  const mbPerStep = steps > 1 ? bytes / (steps - 1) / 1e6 : decodeStepBytes(c, N, 1) / 1e6;
  const achievedGBs = mbPerStep / stepMs;
  const p: DecodePoint = {
    N, threads, steps, prefillMs: r.stamps[0] - r.t0, stepMs, tokensPerS: 1000 / stepMs, endToEndTokensPerS: (1000 * steps) / r.total,
    mbPerStep, achievedGBs, probeGBs: bw.bestGBs, bandwidthFraction: achievedGBs / bw.bestGBs, load,
  };
  progress(`${tag} step ${ms(stepMs)} ms (${fix(p.tokensPerS, 1)} tokens/s), ${mb(mbPerStep)} MB/step = ${fix(achievedGBs, 1)} GB/s of ${fix(bw.bestGBs, 1)}`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface ModelBenchResult {
  bench: 'model';
  machine: MachineInfo;
  fmaPeak1T: number;
  options: ModelBenchOptions;
  config: RandomLongT5Config;
  checkpointMB: number;
  encoder: EncoderPoint[];
  bandwidth: BandwidthResult[];
  decode: DecodePoint[];
  targets: typeof TARGETS;
  wallSeconds: number;
}

export async function runModelBench(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const start = nowMs();
  progress('measuring the one-thread FMA peak ...');
  const peak1 = oneThreadPeak(0.3, 3);
  const useOrt = o.ort && o.encoder && loadOrt() !== null;
  if (o.ort && o.encoder && !useOrt) progress(`onnxruntime-node not available (${ortLoadError()}): ORT columns skipped`);
  const machine = describeMachine(peak1, useOrt ? ortVersion() : null);
  progress(formatMachine(machine));
  const c = benchConfig(o.size);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ga-bench-model-${o.size}-`));
  const result: ModelBenchResult = {
    bench: 'model', machine, fmaPeak1T: peak1, options: o, config: c, checkpointMB: 0, encoder: [], bandwidth: [], decode: [], targets: TARGETS, wallSeconds: 0,
  };
  try {
    progress(`writing a random ${o.size} checkpoint to ${dir} ...`);
    writeCheckpoint(dir, c, randomWeights(c, SEED, { decoder: o.decode }));
    result.checkpointMB = fs.statSync(path.join(dir, 'model.safetensors')).size / 1e6;

    if (o.encoder) {
      const model = LongT5EncoderModel.fromPretrained(dir);
      let onnx: Uint8Array | null = null;
      if (useOrt) {
        onnx = encoderOnnx(model);
        fs.writeFileSync(path.join(dir, 'encoder.onnx'), onnx);
      }
      for (const T of o.threads) {
        const session = onnx ? await createSession(onnx, T) : null;
        try {
          for (const N of o.ns) result.encoder.push(await encoderPoint(o, c, dir, model, N, T, peak1, session));
        } finally {
          await session?.release();
        }
      }
      model.dispose();
    }
    if (o.decode) {
      const model = LongT5ForConditionalGeneration.fromPretrained(dir);
      for (const T of o.threads) {
        progress(`[bandwidth T=${T}] probing ...`);
        const bw = await measureBandwidth(T, o.quick ? { mibPerBuffer: 64, rounds: 2 } : {});
        result.bandwidth.push(bw);
        for (const N of o.decodeNs) result.decode.push(await decodePoint(o, c, model, N, T, bw));
      }
      model.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  result.wallSeconds = (nowMs() - start) / 1000;
  return result;
}

/** MB with 3 significant digits at most. */
const mb = (x: number) => (x >= 100 ? fix(x, 0) : x >= 10 ? fix(x, 1) : fix(x, 2));

const other = (l: LoadReport | null) => (l ? `${l.otherCpus.toFixed(2)}${l.otherCpus > 0.1 ? '!' : ''}` : '-');

/** The result as tables and notes. */
export function formatModelBench(r: ModelBenchResult): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    `LongT5 ${r.options.size} checkpoint: d_model ${c.d_model}, ${c.num_heads} heads, d_kv ${c.d_kv}, d_ff ${c.d_ff} ${c.feed_forward_proj}, ` +
      `${c.encoder_attention_type} r ${c.local_radius} g ${c.global_block_size},`,
    `  ${c.num_layers}+${c.num_decoder_layers} layers, vocab ${c.vocab_size} (${mb(r.checkpointMB)} MB); B = 1; FMA peak ${fix(r.fmaPeak1T, 1)} GFLOP/s per thread.`,
    '',
  );
  if (r.encoder.length) {
    out.push('Encoder (median ms; model = FLOP model at T x the FMA peak; RSS = process peak during one call, fresh process):');
    out.push(
      formatTable(
        ['N', 'T', 'model ms', 'ours ms', 'ours/model', 'ORT ms', 'ORT/model', 'ORT/ours', 'ours MiB', 'ORT MiB', 'RSS x', 'rel diff', 'other'],
        r.encoder.map((p) => [
          String(p.N), String(p.threads), ms(p.modelMs), ms(p.oursMs), fix(p.oursOverModel, 2), ms(p.ortMs), fix(p.ortOverModel, 2),
          fix(p.speedup, 2), fix(p.oursMem?.callPeakMiB, 0), fix(p.ortMem?.callPeakMiB, 0), fix(p.rssRatio, 1), sci(p.relDiff), other(p.load),
        ]),
      ),
    );
    const load = r.encoder.find((p) => p.oursMem)?.oursMem;
    if (load) out.push('', `Checkpoint load (LongT5EncoderModel.fromPretrained, fresh process): ${ms(load.loadMs)} ms, peak RSS ${fix(load.loadPeakMiB, 0)} MiB, ${fix(load.readyMiB, 0)} MiB resident after.`);
    out.push('');
  }
  if (r.decode.length) {
    out.push(`Memory bandwidth probe (GB/s): ${r.bandwidth.map((b) => `T=${b.threads} copy ${fix(b.copyGBs, 1)}, read ${fix(b.readGBs, 1)}`).join('; ')}`);
    out.push('Decode (B = 1; step = median of steps 2..; MB/step = cross K/V over N, self cache, decoder weights, lm_head):');
    out.push(
      formatTable(
        ['N', 'T', 'steps', 'prefill ms', 'step ms', 'tokens/s', 'e2e tok/s', 'MB/step', 'GB/s', 'probe GB/s', '% bw', 'other'],
        r.decode.map((p) => [
          String(p.N), String(p.threads), String(p.steps), ms(p.prefillMs), ms(p.stepMs), fix(p.tokensPerS, 1), fix(p.endToEndTokensPerS, 1),
          mb(p.mbPerStep), fix(p.achievedGBs, 1), fix(p.probeGBs, 1), `${fix(100 * p.bandwidthFraction, 0)}%`, other(p.load),
        ]),
      ),
    );
    out.push('');
  }
  const notes: string[] = [];
  for (const t of TARGETS.ortOverOurs)
    for (const p of r.encoder.filter((x) => x.N === t.N && x.speedup !== null))
      notes.push(`N=${t.N} T=${p.threads}: ORT/ours ${fix(p.speedup, 2)} (target >= ${t.atLeast})`);
  for (const p of r.encoder.filter((x) => x.N === 16384 && x.rssRatio !== null)) notes.push(`N=16384 T=${p.threads}: RSS ORT/ours ${fix(p.rssRatio, 1)} (target >= ${TARGETS.rssRatio16k})`);
  const worst = r.encoder.reduce((m, p) => Math.max(m, p.oursOverModel), 0);
  if (r.encoder.length) notes.push(`worst ours/model ${fix(worst, 2)} (target <= ${TARGETS.flopModel})`);
  for (const p of r.decode.filter((x) => x.N === 16384)) notes.push(`decode N=16384 T=${p.threads}: ${fix(100 * p.bandwidthFraction, 0)}% of the probe's bandwidth (target >= ${100 * TARGETS.bandwidthFraction}%)`);
  if (notes.length) out.push('Goals (meaningful only when measured on a quiet machine):', ...notes.map((n) => `  ${n}`), '');
  const wrong = r.encoder.filter((p) => p.error);
  if (wrong.length) out.push(...wrong.map((p) => `WRONG: N=${p.N} T=${p.threads}: ${p.error}`), '');
  return out.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let o: ModelBenchOptions | 'help';
  try {
    o = parseModelArgs(argv);
  } catch (err) {
    process.stderr.write(`bench:model: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  const r = await runModelBench(o);
  process.stdout.write(`${formatMachine(r.machine)}\n\n${formatModelBench(r)}`);
  if (o.json) progress(`wrote ${path.relative(process.cwd(), writeJson(o.json, r))} (${r.wallSeconds.toFixed(0)} s)`);
  return r.encoder.some((p) => p.error) ? 1 : 0;
}

if (require.main === module) {
  const childAt = process.argv.indexOf('--mem-child');
  if (childAt >= 0) {
    memChild(JSON.parse(process.argv[childAt + 1]) as ChildSpec).then(
      (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  } else {
    main(process.argv.slice(2)).then(
      (code) => (process.exitCode = code),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  }
}
