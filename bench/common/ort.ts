// onnxruntime-node for the benches: optional (a dev dependency), loaded on first use.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';

let cached: typeof Ort | null | undefined;
let loadError = '';

/** The onnxruntime-node module, or null when it cannot be loaded (see ortLoadError()). */
export function loadOrt(): typeof Ort | null {
  if (cached === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, when first needed
      cached = require('onnxruntime-node') as typeof Ort;
    } catch (err) {
      cached = null;
      loadError = (err as Error).message;
    }
  }
  return cached;
}

export function ortLoadError(): string {
  return loadError;
}

export function ortVersion(): string | null {
  const ort = loadOrt();
  return ort ? (ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown') : null;
}

/**
 * A session as the benches create them: `threads` intra-op threads, one inter-op thread,
 * all graph optimisations, sequential execution (ORT's defaults otherwise: spinning pool
 * threads, CPU arena).
 */
export function createSession(model: Uint8Array, threads: number): Promise<Ort.InferenceSession> {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${loadError}`);
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
}

/** float32 ORT tensor over `data` (no copy). */
export function f32(data: Float32Array, dims: readonly number[]): Ort.Tensor {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${loadError}`);
  return new ort.Tensor('float32', data, dims.slice());
}

export interface RunProfile {
  /** Wall time of session.run as JavaScript saw it, ms. */
  jsMs: number;
  /** ORT's own model_run span, ms (jsMs - modelRunMs: the Node binding's share: feeds, outputs, hop). */
  modelRunMs: number;
  /** Kernel time by op type, ms. */
  byOp: Record<string, number>;
}

/**
 * Runs `model` `warm + runs` times in a profiling session (separate from any timed session, so
 * profiling never touches the timed figures) and returns ORT's per-op breakdown of the last
 * `runs` runs (median per field).
 */
export async function profileRuns(model: Uint8Array, threads: number, feeds: Record<string, Ort.Tensor>, runs = 2, warm = 1): Promise<RunProfile> {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${loadError}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-bench-prof-'));
  try {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
      enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
    });
    const js: number[] = [];
    for (let i = 0; i < warm + runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      js.push(performance.now() - t0);
    }
    session.endProfiling();
    await session.release();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ORT wrote no profile');
    type Ev = { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } };
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Ev[];
    const runsEv = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts! - b.ts!);
    const per = runsEv.map((r, i) => {
      const byOp: Record<string, number> = {};
      for (const e of events)
        if (e.cat === 'Node' && e.name?.endsWith('_kernel_time') && e.ts! >= r.ts! && e.ts! <= r.ts! + r.dur!) {
          const op = e.args?.op_name ?? 'unknown';
          byOp[op] = (byOp[op] ?? 0) + e.dur! / 1000;
        }
      return { jsMs: js[i], modelRunMs: r.dur! / 1000, byOp };
    }).slice(warm);
    const med = (xs: number[]) => {
      const s = xs.slice().sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    };
    const ops = [...new Set(per.flatMap((p) => Object.keys(p.byOp)))];
    return {
      jsMs: med(per.map((p) => p.jsMs)),
      modelRunMs: med(per.map((p) => p.modelRunMs)),
      byOp: Object.fromEntries(ops.map((op) => [op, med(per.map((p) => p.byOp[op] ?? 0))])),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** int64 ORT tensor over `data` (no copy). */
export function i64(data: BigInt64Array, dims: readonly number[]): Ort.Tensor {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${loadError}`);
  return new ort.Tensor('int64', data, dims.slice());
}
