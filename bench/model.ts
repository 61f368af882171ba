// The whole-model bench: the LongT5 encoder (ours vs ONNX Runtime running the encoder's exported
// graph, lib/onnx/longt5-encoder.ts, and vs the anchor: ONNX Runtime running a replica of Hugging
// Face's own torch.onnx export, bench/common/hf-longt5-export.ts, both on the same weights) and decode
// steps (generation with the cross-attention keys/values over N encoder tokens cached), on one random
// checkpoint.
//
//   npm run bench:model -- [--n 1k,4k,16k] [--decode-n 1k,4k,16k] [--threads 1,all] [--reps K] [--steps S]
//                          [--size base|tiny] [--quick] [--no-ort] [--no-anchor] [--no-mem] [--no-encoder]
//                          [--no-decode] [--max-wait S] [--json FILE]
//
// Checkpoint (--size base, the default): d_model 768, 12 heads, d_kv 64, d_ff 2048, gated-gelu,
// transient-global r 127, g 16, 2 encoder + 2 decoder layers, vocab 32128, untied lm_head; random
// weights (seeded), written once to a temporary folder and loaded with fromPretrained as a user would.
// B = 1, every token valid.
//
// Encoder, per (N, threads): the shared point harness (bench/common/harness.ts: quiet wait, FMA
//   probes, warm-up, interleaved rounds, medians, memory children) runs LongT5EncoderModel.encode
//   and ORT sessions (intra-op threads = T) on the exported graph and on the anchor (HF's export,
//   traced for this N; timed in rounds of its own beside ours, so two sessions never coexist);
//   their outputs are compared (max |ours - ORT| / max |ours|, same for the anchor); time against
//   the FLOP model (projections, TGlobal core
//   4·H·N·D·((2r+1) + G), feed-forward) at T × the run's best one-thread FMA peak; peak RSS of each in
//   a fresh child process (the process's peak during one call: weights, activations, runtime), plus
//   the checkpoint's load time and RSS.
// Decode, per (N, threads): generate(maxNewTokens = steps) with onProgress timestamps: prefill
//   (encoder + cross-attention K/V + first step) and the median decode step; tokens/s; the bytes a
//   step must read (cross K/V over N tokens, self-attention cache, decoder weights, lm_head) per step
//   time, against a STREAM-like probe of the memory bandwidth with T threads (bench/common/bandwidth.ts).
// Progress on stderr, tables on stdout, everything in ./global-attention-model-<date>[-quick].json.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { LongT5EncoderModel, LongT5ForConditionalGeneration } from '../lib/index';
import { checkPrecision, type Precision } from '../lib/precision';
import { buildLongT5EncoderOnnx } from '../lib/onnx/longt5-encoder';
import { buildHfLongT5EncoderExport } from './common/hf-longt5-export';
import { mulberry32 } from '../lib/random';
import { allCores, measureBandwidth, type BandwidthResult } from './common/bandwidth';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import {
  BenchContext, closeContext, conditionCells, conditionColumnNotes, conditionWarnings, createContext, FMA_PEAK_RULE, waitForQuietPoint,
} from './common/conditions';
import {
  CallRss, HarnessPoint, measureInChild, measurePoint, memChildMain, PEAK_NOTE, rebasePctPeak, runnerRss, type PointMeasurement, type Runner, type Timed,
} from './common/harness';
import { LoadMeter, type LoadReport } from './common/load';
import { formatMachine, type MachineInfo } from './common/machine';
import { readMem } from './common/memory';
import { createSession, f32, i64, loadOrt, ortLoadError } from './common/ort';
import { defaultResultPath, writeJson } from './common/results';
import { median, nowMs, sleep } from './common/stats';
import { fix, formatTable, ms, sci, wrapNotes, wrapText } from './common/table';
import { randomConfig, randomWeights, writeBf16Checkpoint, writeCheckpoint, type RandomLongT5Config } from './model-weights';

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
/** |16-bit - float32| / max|float32| above this marks a reduced-precision point wrong (docs/precision.md). */
const REDUCED_TOLERANCE = { bf16: 2e-2, fp16: 5e-3 } as const;

/** The goals the bench prints what it measured against (informational on a loaded machine). */
export const TARGETS = {
  ortOverOurs: [{ N: 16384, atLeast: 2 }, { N: 4096, atLeast: 1.5 }],
  rssRatio16k: 10,
  /** The issue's speed anchor (HF's export under ORT): the same ratios, against it. */
  anchorOverOurs: [{ N: 16384, atLeast: 2 }, { N: 4096, atLeast: 1.5 }],
  anchorRssRatio16k: 10,
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
  /** The anchor: ORT on the replica of Hugging Face's exported encoder (needs onnxruntime-node too). */
  anchor: boolean;
  mem: boolean;
  encoder: boolean;
  decode: boolean;
  /** Reduced precisions whose encoder is measured beside float32 (each point runs them interleaved). */
  precisions: ReducedPrecision[];
  /** Before each point, wait up to this many seconds for other processes to leave the CPUs. */
  maxWaitS: number;
  /** Result file. */
  json: string;
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
  --quick           smoke run: small N, few reps and steps
  --no-ort          skip ONNX Runtime on our exported graph
  --no-anchor       skip the anchor (ONNX Runtime on a replica of Hugging Face's torch.onnx export)
  --no-mem          skip the peak-RSS child processes
  --no-encoder      skip the encoder bench  --no-decode   skip the decode bench
  --precision LIST  also run the encoder in these precisions beside float32 (bf16, fp16; e.g. fp32,bf16):
                    bf16 loads a BF16 copy of the checkpoint (kept in 16 bits), fp16 rounds at load
  --max-wait S      before each point, wait up to S seconds (default 15, --quick 5; 0 = never) for other
                    processes to leave the CPUs
  --json FILE       result file (default ./global-attention-model-<date>[-quick].json)
`;

function nonNegative(flag: string, s: string): number {
  const x = Number(s);
  if (s.trim() === '' || !(x >= 0 && Number.isFinite(x))) throw new RangeError(`${flag}: '${s}' is not a number >= 0`);
  return x;
}

function threadList(s: string): number[] {
  const all = allCores();
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => (x === 'all' ? all : parsePositiveInt('--threads', x)));
  if (out.length === 0) throw new RangeError('--threads: empty list');
  return [...new Set(out)];
}

type ReducedPrecision = Exclude<Precision, 'fp32'>;

/** --precision: a comma list of fp32 (always measured), bf16, fp16. */
function precisionList(s: string): ReducedPrecision[] {
  const out: ReducedPrecision[] = [];
  for (const x of s.split(',').map((v) => v.trim())) {
    let p: Precision;
    try {
      p = checkPrecision('--precision', x);
    } catch {
      throw new RangeError(`--precision: '${x}' is not fp32, bf16 or fp16`);
    }
    if (p !== 'fp32' && !out.includes(p)) out.push(p);
  }
  return out;
}

/** Parses the CLI; 'help' for --help/-h (throws on bad arguments). */
export function parseModelArgs(argv: string[]): ModelBenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, 'decode-n': { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, steps: { type: 'string' },
      size: { type: 'string' }, json: { type: 'string' }, quick: { type: 'boolean' }, 'no-ort': { type: 'boolean' }, 'no-anchor': { type: 'boolean' }, 'no-mem': { type: 'boolean' },
      'no-encoder': { type: 'boolean' }, 'no-decode': { type: 'boolean' }, 'max-wait': { type: 'string' }, precision: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
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
    anchor: !(values['no-anchor'] ?? false),
    mem: !(values['no-mem'] ?? false),
    encoder: !(values['no-encoder'] ?? false),
    decode: !(values['no-decode'] ?? false),
    precisions: values.precision !== undefined ? precisionList(values.precision) : [],
    maxWaitS: values['max-wait'] !== undefined ? nonNegative('--max-wait', values['max-wait']) : quick ? 5 : 15,
    json: values.json ?? defaultResultPath('model', quick),
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs, the exported graph, the runners

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

/**
 * The anchor: a replica of Hugging Face's torch.onnx export of this encoder, traced for B = 1 and
 * N tokens (bench/common/hf-longt5-export.ts), on the weights the model holds.
 */
export function anchorOnnx(model: LongT5EncoderModel, N: number): Uint8Array {
  return buildHfLongT5EncoderExport(model.config, model.weightsForExport(), { batch: 1, seqLen: N });
}

/** The anchor's file for N in the checkpoint folder (its memory child loads it from there). */
const anchorFile = (N: number) => `anchor-${N}.onnx`;

function ortFeeds(ids: Int32Array): Record<string, Ort.Tensor> {
  const N = ids.length;
  return { input_ids: i64(BigInt64Array.from(ids, (x) => BigInt(x)), [1, N]), attention_mask: i64(new BigInt64Array(N).fill(1n), [1, N]) };
}

type EncImpl = 'ours' | 'ort' | 'anchor' | 'ours-bf16' | 'ours-fp16';
const reducedImpl = (p: ReducedPrecision): EncImpl => `ours-${p}`;
const implPrecision = (impl: EncImpl): Precision => (impl === 'ours-bf16' ? 'bf16' : impl === 'ours-fp16' ? 'fp16' : 'fp32');

/** LongT5EncoderModel.encode (it allocates its output; `out` is the latest one). */
function oursRunner(model: LongT5EncoderModel, ids: Int32Array, threads: number): Runner {
  let out: Float32Array = new Float32Array(0);
  return {
    get out() {
      return out;
    },
    arrays: [],
    run: () => {
      out = model.encode(ids, { threads }).data;
    },
    release: async () => {},
  };
}

/** ORT on the exported encoder (bytes, or the .onnx file's path), output preallocated. */
async function ortRunner(model: Uint8Array | string, ids: Int32Array, C: number, threads: number): Promise<Runner> {
  let session: Ort.InferenceSession;
  if (typeof model === 'string') {
    const ort = loadOrt();
    if (!ort) throw new Error(`onnxruntime-node is not available: ${ortLoadError()}`);
    // From the file, as a user loads an exported model (no copy of its bytes held in JavaScript).
    session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  } else session = await createSession(model, threads);
  const feeds = ortFeeds(ids);
  const out = new Float32Array(ids.length * C);
  const fetches = { last_hidden_state: f32(out, [1, ids.length, C]) };
  return { out, arrays: [], run: () => session.run(feeds, fetches), release: () => session.release() };
}

/** max |a - b| / max |a|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return NaN;
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i] - b[i]);
    if (!(x <= d)) d = x;
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / Math.max(m, 1e-30);
}

// ---------------------------------------------------------------------------------------------
// Peak memory in a fresh process (this script again, with --mem-child)

interface ChildSpec {
  impl: EncImpl;
  /** The checkpoint this impl loads (a BF16 copy for ours-bf16). */
  dir: string;
  size: ModelSize;
  N: number;
  threads: number;
}

/** Two calls' RSS (harness), plus the load: checkpoint (ours) or session creation (ORT). */
export interface EncoderMemory extends CallRss {
  loadMs: number;
  /** Process peak RSS by the end of the load, and RSS once loaded, MiB. */
  loadPeakMiB: number;
  readyMiB: number;
  error?: string;
}

async function memChild(spec: ChildSpec): Promise<EncoderMemory> {
  const c = benchConfig(spec.size);
  const ids = benchIds(c, spec.N);
  const t0 = nowMs();
  const runner =
    spec.impl === 'ours'
      ? oursRunner(LongT5EncoderModel.fromPretrained(spec.dir), ids, spec.threads)
      : spec.impl === 'anchor'
      ? await ortRunner(path.join(spec.dir, anchorFile(spec.N)), ids, c.d_model, spec.threads)
      : spec.impl !== 'ort'
      ? oursRunner(LongT5EncoderModel.fromPretrained(spec.dir, { precision: implPrecision(spec.impl) }), ids, spec.threads)
      : await ortRunner(path.join(spec.dir, 'encoder.onnx'), ids, c.d_model, spec.threads);
  const loadMs = nowMs() - t0;
  const loaded = readMem();
  return { loadMs, loadPeakMiB: Math.max(loaded.hwmKiB, loaded.rssKiB) / 1024, readyMiB: loaded.rssKiB / 1024, ...(await runnerRss(runner)) };
}

// ---------------------------------------------------------------------------------------------
// Encoder points

export interface EncoderPoint extends HarnessPoint {
  results: Partial<Record<EncImpl, Timed>>;
  memory: Partial<Record<EncImpl, EncoderMemory>>;
  gflop: number;
  /** FLOP model at threads × the run's best one-thread FMA peak, ms (set at the end of the run). */
  modelMs: number;
  /** measured / model (= 100 / pctPeak). */
  oursOverModel: number;
  ortOverModel: number | null;
  /** ORT ms / ours ms. */
  speedup: number | null;
  /** max |ours - ORT| / max |ours| after the warm-up. */
  relDiff: number | null;
  /** ORT's / ours' process peak RSS during the first call (fresh processes). */
  rssRatio: number | null;
  /** The anchor (HF's export under ORT): its ms / ours, max |ours - anchor| / max |ours|, its peak RSS / ours. */
  anchorSpeedup: number | null;
  anchorRelDiff: number | null;
  anchorRssRatio: number | null;
  anchorOverModel: number | null;
  /** Ours' median in the anchor's rounds (a pass of its own when ORT on our graph runs too); anchorSpeedup's base. */
  anchorOursMs: number | null;
  /** Each reduced precision beside float32: ours (fp32) ms / its ms, and max |it - fp32| / max |fp32|. */
  reduced: Partial<Record<ReducedPrecision, { speedup: number | null; relDiff: number | null }>>;
  error?: string;
}

/** The checkpoints: float32 (ours, ORT, fp16) and its BF16 copy (bf16). */
interface BenchDirs {
  f32: string;
  bf16: string;
}
const implDir = (d: BenchDirs, impl: EncImpl) => (impl === 'ours-bf16' ? d.bf16 : d.f32);

async function encoderPoint(o: ModelBenchOptions, ctx: BenchContext, c: RandomLongT5Config, dirs: BenchDirs, models: Partial<Record<EncImpl, LongT5EncoderModel>>,
                            onnx: Uint8Array | null, useAnchor: boolean, N: number, threads: number): Promise<EncoderPoint> {
  const tag = `[encoder N=${N} T=${threads}]`;
  const ids = benchIds(c, N);
  const flops = encoderFlops(c, N);
  // The anchor is traced for this shape, as torch.onnx.export traces HF's model; its memory child reads the file.
  let anchor = useAnchor ? anchorOnnx(models.ours!, N) : null;
  const anchorPath = path.join(dirs.f32, anchorFile(N));
  if (anchor) fs.writeFileSync(anchorPath, anchor);
  const impls: EncImpl[] = ['ours', ...o.precisions.map(reducedImpl), ...(onnx ? (['ort'] as const) : []), ...(anchor ? (['anchor'] as const) : [])];
  // With both ONNX Runtime peers, the anchor is timed in rounds of its own beside ours: at 16k
  // the two sessions' arenas (about 8 and 11 GB) do not fit one 24 GB machine at once.
  const passes: EncImpl[][] = onnx && anchor ? [impls.filter((i) => i !== 'anchor'), ['ours', 'anchor']] : [impls];
  const point: EncoderPoint = {
    N, threads, reps: 0, sharedCores: null, load: null, waitedS: 0, results: {}, memory: {}, gflop: flops / 1e9, modelMs: NaN, oursOverModel: NaN,
    ortOverModel: null, speedup: null, relDiff: null, rssRatio: null, anchorSpeedup: null, anchorOursMs: null, anchorRelDiff: null,
    anchorRssRatio: null, anchorOverModel: null, reduced: {},
  };
  const m: PointMeasurement<EncImpl, EncoderMemory> = { results: {}, memory: {}, peak: NaN };
  for (const [pass, passImpls] of passes.entries()) {
    // The harness overwrites the point's conditions in every pass: keep the first pass's.
    const before = pass > 0 ? conditionsOf(point) : null;
    const mp = await measurePoint<EncImpl, EncoderMemory>({
      tag, impls: passImpls, reps: o.reps, gapMs: GAP_MS, maxWaitS: o.maxWaitS, ctx, point,
      flops: () => flops,
      makeRunner: async (impl) =>
        impl === 'ort' ? ortRunner(onnx!, ids, c.d_model, threads) : impl === 'anchor' ? ortRunner(anchor!, ids, c.d_model, threads) : oursRunner(models[impl]!, ids, threads),
      memory: o.mem
        ? (impl) =>
            m.memory[impl]
              ? Promise.resolve(m.memory[impl]!) // measured in an earlier pass
              : measureInChild<ChildSpec, EncoderMemory>(__filename, { impl, dir: implDir(dirs, impl), size: o.size, N, threads }, (error, nan) => ({
                  first: nan, second: nan, loadMs: NaN, loadPeakMiB: NaN, readyMiB: NaN, error,
                }), 1_800_000)
        : undefined,
      describeMemory: (r) => (r.error ? `failed: ${r.error.split('\n')[0]}` : `load ${ms(r.loadMs)} ms, peak ${fix(r.first.peakMiB, 0)} MiB during a call`),
      afterWarmup: (runners) => {
        if (runners.ours && runners.ort) {
          point.relDiff = relDiff(runners.ours.out, runners.ort.out);
          if (!(point.relDiff <= TOLERANCE)) point.error = `ours and ORT differ: max|diff| / max|ours| = ${point.relDiff}`;
        }
        if (runners.ours && runners.anchor) {
          const d = (point.anchorRelDiff = relDiff(runners.ours.out, runners.anchor.out));
          if (!(d <= TOLERANCE)) point.error = [point.error, `ours and the anchor differ: max|diff| / max|ours| = ${d}`].filter(Boolean).join('; ');
        }
        for (const p of o.precisions) {
          const r = runners[reducedImpl(p)];
          if (!runners.ours || !r) continue;
          const d = relDiff(runners.ours.out, r.out);
          point.reduced[p] = { speedup: null, relDiff: d };
          if (!(d <= REDUCED_TOLERANCE[p])) point.error = [point.error, `${p} and fp32 differ: max|diff| / max|fp32| = ${d}`].filter(Boolean).join('; ');
        }
      },
    });
    // The first pass's results stand; a later pass adds its peers, and ours' time beside them.
    for (const i of passImpls) if (!m.results[i]) m.results[i] = mp.results[i];
    Object.assign(m.memory, mp.memory);
    m.peak = mp.peak;
    if (passImpls.includes('anchor') && mp.results.ours) point.anchorOursMs = mp.results.ours.medianMs;
    if (before) {
      // The point's conditions: the first pass's, with the busier load and the shared-core flag of either.
      const busier = (before.load?.otherCpus ?? 0) >= (point.load?.otherCpus ?? 0) ? before.load : point.load;
      const shared = before.sharedCores || point.sharedCores ? true : before.sharedCores ?? point.sharedCores;
      Object.assign(point, { ...before, load: busier, sharedCores: shared, waitedS: before.waitedS + point.waitedS });
    }
  }
  anchor = null; // let the bytes go before the next point
  if (useAnchor) fs.rmSync(anchorPath, { force: true });
  point.results = m.results;
  point.memory = m.memory;
  const ours = m.results.ours, ort = m.results.ort;
  if (ours?.error || ort?.error) point.error = [point.error, ours?.error, ort?.error].filter(Boolean).join('; ');
  if (ours && ort) point.speedup = ort.medianMs / ours.medianMs;
  for (const p of o.precisions) {
    const r = m.results[reducedImpl(p)];
    if (r?.error) point.error = [point.error, r.error].filter(Boolean).join('; ');
    if (ours && r) (point.reduced[p] ??= { speedup: null, relDiff: null }).speedup = ours.medianMs / r.medianMs;
  }
  const om = m.memory.ours, rm = m.memory.ort, am = m.memory.anchor;
  if (om && rm && !om.error && !rm.error) point.rssRatio = rm.first.peakMiB / om.first.peakMiB;
  const an = m.results.anchor;
  if (an?.error) point.error = [point.error, an.error].filter(Boolean).join('; ');
  if (ours && an) point.anchorSpeedup = an.medianMs / (point.anchorOursMs ?? ours.medianMs);
  if (om && am && !om.error && !am.error) point.anchorRssRatio = am.first.peakMiB / om.first.peakMiB;
  const red = o.precisions.map((p) => `, ${p} ${ms(m.results[reducedImpl(p)]?.medianMs)} ms`).join('');
  progress(`${tag} done: ours ${ms(ours?.medianMs)} ms${red}${ort ? `, ORT ${ms(ort.medianMs)} ms` : ''}${an ? `, anchor ${ms(an.medianMs)} ms` : ''}`);
  return point;
}

/** The fields measurePoint sets on a point (its conditions and reps). */
function conditionsOf(p: EncoderPoint) {
  const { waitedS, fma1Before, fma1After, probeBefore, probeAfter, sharedCores, load, reps } = p;
  return { waitedS, fma1Before, fma1After, probeBefore, probeAfter, sharedCores, load, reps };
}

/** The FLOP-model columns against the run's best peak (call once all points are done). */
function finishEncoderPoints(points: EncoderPoint[], bestPeak: number): void {
  rebasePctPeak(points, bestPeak);
  for (const p of points) {
    p.modelMs = (p.gflop * 1e9) / (p.threads * bestPeak * 1e6);
    p.oursOverModel = (p.results.ours?.medianMs ?? NaN) / p.modelMs;
    p.ortOverModel = p.results.ort ? p.results.ort.medianMs / p.modelMs : null;
    p.anchorOverModel = p.results.anchor ? p.results.anchor.medianMs / p.modelMs : null;
  }
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
  waitedS: number;
  load: LoadReport | null;
}

async function decodePoint(o: ModelBenchOptions, c: RandomLongT5Config, model: LongT5ForConditionalGeneration, N: number, threads: number, bw: BandwidthResult): Promise<DecodePoint> {
  const tag = `[decode N=${N} T=${threads}]`;
  const ids = benchIds(c, N);
  const run = () => {
    const stamps: number[] = [];
    const t0 = nowMs();
    model.generate(ids, { maxNewTokens: o.steps, threads, onProgress: () => stamps.push(nowMs()) });
    return { t0, stamps, total: nowMs() - t0 };
  };
  const waitedS = await waitForQuietPoint(tag, o.maxWaitS);
  progress(`${tag} warm-up ...`);
  run();
  await sleep(GAP_MS);
  const meter = new LoadMeter();
  meter.start();
  const r = run();
  const load = meter.stop();
  const steps = r.stamps.length;
  const stepMs = median(r.stamps.slice(1).map((t, i) => t - r.stamps[i]));
  // Step k (1-based) attends over a self cache of k positions.
  let bytes = 0;
  for (let k = 2; k <= steps; k++) bytes += decodeStepBytes(c, N, k);
  const mbPerStep = steps > 1 ? bytes / (steps - 1) / 1e6 : NaN;
  const achievedGBs = mbPerStep / stepMs;
  const p: DecodePoint = {
    N, threads, steps, prefillMs: r.stamps[0] - r.t0, stepMs, tokensPerS: 1000 / stepMs, endToEndTokensPerS: (1000 * steps) / r.total,
    mbPerStep, achievedGBs, probeGBs: bw.bestGBs, bandwidthFraction: achievedGBs / bw.bestGBs, waitedS, load,
  };
  if (steps < 2) progress(`${tag} generation stopped after ${steps} step(s) (eos): no step time`);
  progress(`${tag} done: step ${ms(stepMs)} ms (${fix(p.tokensPerS, 1)} tokens/s), ${mb(mbPerStep)} MB/step = ${fix(achievedGBs, 1)} GB/s of ${fix(bw.bestGBs, 1)}`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface ModelBenchResult {
  bench: 'model';
  schema: 1;
  machine: MachineInfo;
  fmaPeak: { startup: number; best: number; rule: string };
  options: ModelBenchOptions;
  config: RandomLongT5Config;
  flopModel: string;
  decodeBytesModel: string;
  checkpointMB: number;
  /** Native memory of each encoder model's weights (model.weightBytes), MiB. */
  weightMiB: Partial<Record<EncImpl, number>>;
  encoder: EncoderPoint[];
  bandwidth: BandwidthResult[];
  decode: DecodePoint[];
  targets: typeof TARGETS;
  wallSeconds: number;
}

export async function runModelBench(o: ModelBenchOptions, ctx: BenchContext): Promise<ModelBenchResult> {
  const start = nowMs();
  const useOrt = o.ort && o.encoder && loadOrt() !== null;
  const useAnchor = o.anchor && o.encoder && loadOrt() !== null;
  if ((o.ort || o.anchor) && o.encoder && loadOrt() === null) progress(`model: ONNX Runtime skipped: onnxruntime-node cannot be loaded (${ortLoadError().split('\n')[0]})`);
  const c = benchConfig(o.size);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ga-bench-model-${o.size}-`));
  const result: ModelBenchResult = {
    bench: 'model', schema: 1, machine: ctx.machine, fmaPeak: { startup: ctx.startupPeak, best: ctx.bestPeak, rule: FMA_PEAK_RULE }, options: o, config: c,
    flopModel: 'per layer: 4*(2*N*d_model*H*D) + 2*(2*G*d_model*H*D) + 4*H*N*D*((2r+1)+G) + (gated ? 3 : 2)*(2*N*d_model*d_ff); B = 1',
    decodeBytesModel: 'float32: per decoder layer 2*N*H*D (cross K/V) + 2*t*H*D (self cache) + all decoder weights + lm_head (vocab*d_model)',
    checkpointMB: 0, weightMiB: {}, encoder: [], bandwidth: [], decode: [], targets: TARGETS, wallSeconds: 0,
  };
  try {
    progress(`writing a random ${o.size} checkpoint to ${dir} ...`);
    writeCheckpoint(dir, c, randomWeights(c, SEED, { decoder: o.decode }));
    result.checkpointMB = fs.statSync(path.join(dir, 'model.safetensors')).size / 1e6;

    if (o.encoder) {
      const dirs: BenchDirs = { f32: dir, bf16: path.join(dir, 'bf16') };
      if (o.precisions.includes('bf16')) {
        progress(`writing its BF16 copy to ${dirs.bf16} ...`);
        writeBf16Checkpoint(dirs.bf16, c, randomWeights(c, SEED, { decoder: false }));
      }
      const models: Partial<Record<EncImpl, LongT5EncoderModel>> = { ours: LongT5EncoderModel.fromPretrained(dir) };
      for (const p of o.precisions) models[reducedImpl(p)] = LongT5EncoderModel.fromPretrained(implDir(dirs, reducedImpl(p)), { precision: p });
      for (const [impl, m] of Object.entries(models)) result.weightMiB[impl as EncImpl] = m.weightBytes / 2 ** 20;
      let onnx: Uint8Array | null = null;
      if (useOrt) {
        onnx = encoderOnnx(models.ours!);
        fs.writeFileSync(path.join(dir, 'encoder.onnx'), onnx);
      }
      for (const N of o.ns) for (const T of o.threads) result.encoder.push(await encoderPoint(o, ctx, c, dirs, models, onnx, useAnchor, N, T));
      for (const m of Object.values(models)) m.dispose();
      finishEncoderPoints(result.encoder, ctx.bestPeak);
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
  result.fmaPeak.best = ctx.bestPeak;
  result.wallSeconds = (nowMs() - start) / 1000;
  return result;
}

/** MB with 3 significant digits at most. */
const mb = (x: number) => (x >= 100 ? fix(x, 0) : x >= 10 ? fix(x, 1) : fix(x, 2));

const other = (l: LoadReport | null) => (l ? `${l.otherCpus.toFixed(2)}${l.otherCpus > 0.1 ? '!' : ''}` : '-');

/** The result as tables and notes (every line at most 120 columns). */
export function formatModelBench(r: ModelBenchResult): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    wrapText(
      `LongT5 ${r.options.size} checkpoint: d_model ${c.d_model}, ${c.num_heads} heads, d_kv ${c.d_kv}, d_ff ${c.d_ff} ${c.feed_forward_proj}, ` +
        `${c.encoder_attention_type} r ${c.local_radius} g ${c.global_block_size}, ${c.num_layers}+${c.num_decoder_layers} layers, vocab ${c.vocab_size} ` +
        `(${mb(r.checkpointMB)} MB); B = 1; FMA peak ${fix(r.fmaPeak.best, 1)} GFLOP/s per thread (best of the run).`,
      undefined,
      '  ',
    ),
    '',
  );
  const notes: string[] = [];
  if (r.encoder.length) {
    out.push('Encoder: median ms; /mdl = measured / FLOP model at T x the FMA peak; MiB = process peak RSS during one call.');
    out.push(
      formatTable(
        ['N', 'T', 'ours ms', 'ours/mdl', 'ORT ms', 'ORT/mdl', 'ORT/ours', 'ours MiB', 'ORT MiB', 'RSS x', 'diff', 'other', 'fma1', 'cores'],
        r.encoder.map((p) => [
          String(p.N), String(p.threads), ms(p.results.ours?.medianMs), fix(p.oursOverModel, 2), ms(p.results.ort?.medianMs), fix(p.ortOverModel, 2),
          fix(p.speedup, 2), fix(p.memory.ours?.first.peakMiB, 0), fix(p.memory.ort?.first.peakMiB, 0), fix(p.rssRatio, 1), sci(p.relDiff),
          ...conditionCells(p, r.fmaPeak.best),
        ]),
      ),
    );
    if (r.encoder.some((p) => p.results.anchor)) {
      out.push('', "Encoder against the anchor (ONNX Runtime on a replica of Hugging Face's torch.onnx export, traced per N), same rounds:");
      out.push(
        formatTable(
          ['N', 'T', 'ours ms', 'anchor ms', 'anchor/mdl', 'anchor/ours', 'ours MiB', 'anchor MiB', 'RSS x', 'diff'],
          r.encoder.map((p) => [
            String(p.N), String(p.threads), ms(p.anchorOursMs ?? p.results.ours?.medianMs), ms(p.results.anchor?.medianMs), fix(p.anchorOverModel, 2), fix(p.anchorSpeedup, 2),
            fix(p.memory.ours?.first.peakMiB, 0), fix(p.memory.anchor?.first.peakMiB, 0), fix(p.anchorRssRatio, 1), sci(p.anchorRelDiff),
          ]),
        ),
      );
    }
    const precisions = r.options.precisions ?? [];
    if (precisions.length) {
      out.push('', 'Encoder at reduced precision, interleaved with float32 (ours) in the same rounds; MiB = peak RSS during one call:');
      out.push(
        formatTable(
          ['N', 'T', 'precision', 'ms', 'fp32 ms', 'fp32/this', 'diff vs fp32', 'MiB', 'fp32 MiB'],
          r.encoder.flatMap((p) =>
            precisions.map((pr) => {
              const impl = reducedImpl(pr);
              return [
                String(p.N), String(p.threads), pr, ms(p.results[impl]?.medianMs), ms(p.results.ours?.medianMs), fix(p.reduced[pr]?.speedup, 2),
                sci(p.reduced[pr]?.relDiff), fix(p.memory[impl]?.first.peakMiB, 0), fix(p.memory.ours?.first.peakMiB, 0),
              ];
            }),
          ),
        ),
      );
    }
    for (const impl of ['ours', ...precisions.map(reducedImpl)] as EncImpl[]) {
      const load = r.encoder.find((p) => p.memory[impl] && !p.memory[impl]!.error)?.memory[impl];
      const what = impl === 'ours' ? '' : ` (precision ${implPrecision(impl)}${impl === 'ours-bf16' ? ', BF16 checkpoint' : ''})`;
      const wm = r.weightMiB?.[impl];
      const weights = wm !== undefined ? `; weights ${fix(wm, wm < 10 ? 2 : 0)} MiB native` : '';
      if (load)
        out.push(
          '',
          `Checkpoint load${what} (LongT5EncoderModel.fromPretrained, fresh process): ${ms(load.loadMs)} ms, peak RSS ${fix(load.loadPeakMiB, 0)} MiB, ` +
            `${fix(load.readyMiB, 0)} MiB resident after${weights}.`,
        );
      else if (weights) out.push('', `Encoder weights${what}: ${weights.slice(2)}.`);
    }
    out.push('');
    notes.push('diff = max |ours - ORT| (or the anchor) / max |ours| after the warm-up.', ...conditionColumnNotes(), ...conditionWarnings(r.encoder));
    if (r.encoder.some((p) => (p.results.ours?.pctPeak ?? 0) > 100)) notes.push(PEAK_NOTE);
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
  const goals: string[] = [];
  for (const t of TARGETS.ortOverOurs)
    for (const p of r.encoder.filter((x) => x.N === t.N && x.speedup !== null)) goals.push(`N=${t.N} T=${p.threads}: ORT/ours ${fix(p.speedup, 2)} (goal >= ${t.atLeast})`);
  for (const p of r.encoder.filter((x) => x.N === 16384 && x.rssRatio !== null)) goals.push(`N=16384 T=${p.threads}: RSS ORT/ours ${fix(p.rssRatio, 1)} (goal >= ${TARGETS.rssRatio16k})`);
  for (const t of TARGETS.anchorOverOurs)
    for (const p of r.encoder.filter((x) => x.N === t.N && x.anchorSpeedup !== null))
      goals.push(`N=${t.N} T=${p.threads}: anchor/ours ${fix(p.anchorSpeedup, 2)} (goal >= ${t.atLeast})`);
  for (const p of r.encoder.filter((x) => x.N === 16384 && x.anchorRssRatio !== null))
    goals.push(`N=16384 T=${p.threads}: RSS anchor/ours ${fix(p.anchorRssRatio, 1)} (goal >= ${TARGETS.anchorRssRatio16k})`);
  if (r.encoder.length) goals.push(`worst ours/model ${fix(Math.max(...r.encoder.map((p) => p.oursOverModel)), 2)} (goal <= ${TARGETS.flopModel})`);
  for (const p of r.decode.filter((x) => x.N === 16384))
    goals.push(`decode N=16384 T=${p.threads}: ${fix(100 * p.bandwidthFraction, 0)}% of the probe's bandwidth (goal >= ${100 * TARGETS.bandwidthFraction}%)`);
  if (goals.length) notes.push(`Goals (meaningful only when measured on a quiet machine): ${goals.join('; ')}.`);
  const wrong = r.encoder.filter((p) => p.error);
  if (wrong.length) notes.push(...wrong.map((p) => `WRONG: N=${p.N} T=${p.threads}: ${p.error}`));
  if (notes.length) out.push(wrapNotes(notes), '');
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
  const ctx = createContext((o.ort || o.anchor) && o.encoder);
  process.stdout.write(`${formatMachine(ctx.machine)}\n\n`);
  let r: ModelBenchResult;
  try {
    r = await runModelBench(o, ctx);
  } finally {
    await closeContext(ctx);
  }
  process.stdout.write(formatModelBench(r));
  progress(`wrote ${path.relative(process.cwd(), writeJson(o.json, r)) || o.json} (${r.wallSeconds.toFixed(0)} s)`);
  return r.encoder.some((p) => p.error) ? 1 : 0;
}

if (require.main === module && !memChildMain(memChild)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
