// Test helpers: the reference vectors in test/fixtures (see its README), random tensors from the
// project's seeded RNG, error measures, and a plain float64 JavaScript reference of dense attention that
// shares no code with the native kernels.
import * as fs from 'fs';
import * as path from 'path';
import type { Rng } from '../../lib/random';
import { readSafetensors, SafetensorsTensor } from '../../lib/safetensors';

// The project's one seeded generator (lib/random.ts), re-exported so tests import it from here as before.
export { mulberry32, uniform } from '../../lib/random';
export type { Rng } from '../../lib/random';

export const FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures');

/** Fixture case names (file names without `.safetensors`), sorted, optionally filtered by prefix. */
export function listFixtures(prefix = ''): string[] {
  return fs
    .readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.safetensors') && f.startsWith(prefix))
    .map((f) => f.slice(0, -'.safetensors'.length))
    .sort();
}

export interface Fixture {
  name: string;
  file: string;
  /** metadata.kind: dense | dense_t5layer | blockids | tglobal_layer | local_layer | seed_variant */
  kind: string;
  /** metadata.config, parsed from its JSON text. */
  config: Record<string, any>;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
  has(name: string): boolean;
  /** The named tensor, which must have the given dtype. */
  get(name: string, dtype?: string): SafetensorsTensor;
  f32(name: string): Float32Array;
  f64(name: string): Float64Array;
  i32(name: string): Int32Array;
  /** An F32 tensor as {data, dims}, the shape the library takes. */
  tensor(name: string): { data: Float32Array; dims: number[] };
}

/** Loads `test/fixtures/<name>.safetensors` with lib/safetensors and parses its config. */
export function loadFixture(name: string): Fixture {
  const file = path.join(FIXTURE_DIR, `${name}.safetensors`);
  const { tensors, metadata } = readSafetensors(file);
  let config: Record<string, any> = {};
  if (metadata.config !== undefined) config = JSON.parse(metadata.config);
  const get = (t: string, dtype?: string): SafetensorsTensor => {
    const e = tensors.get(t);
    if (!e) throw new Error(`fixture ${name} has no tensor '${t}' (has: ${[...tensors.keys()].join(', ')})`);
    if (dtype !== undefined && e.dtype !== dtype) throw new Error(`fixture ${name}: tensor '${t}' is ${e.dtype}, expected ${dtype}`);
    return e;
  };
  return {
    name,
    file,
    kind: metadata.kind,
    config,
    metadata,
    tensors,
    has: (t) => tensors.has(t),
    get,
    f32: (t) => get(t, 'F32').data as Float32Array,
    f64: (t) => get(t, 'F64').data as Float64Array,
    i32: (t) => get(t, 'I32').data as Int32Array,
    tensor: (t) => ({ data: get(t, 'F32').data as Float32Array, dims: get(t).shape.slice() }),
  };
}

// ---------------------------------------------------------------------------------------------
// Numbers

// Hot loops use these module-level copies: under jest, code runs in a vm context where every
// lookup of a global (Math, Number) goes through an interceptor and is ~20x slower.
const abs = Math.abs;
const exp = Math.exp;
const floor = Math.floor;
const isNaN = Number.isNaN;
const isFinite = Number.isFinite;

/** Uniform values in [lo, hi) as a Float32Array of prod(dims) elements. */
export function randomData(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng();
  return a;
}

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A random {data, dims} tensor with uniform values in [lo, hi). */
export function randomTensor(rng: Rng, dims: readonly number[], lo = -1, hi = 1): { data: Float32Array; dims: number[] } {
  return { data: randomData(rng, numel(dims), lo, hi), dims: dims.slice() };
}

/** A random 0/1 mask of n entries, each 1 with probability p. */
export function randomMask(rng: Rng, n: number, p = 0.7): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = rng() < p ? 1 : 0;
  return m;
}

/** max |a[i] - b[i]|; Infinity on a length mismatch or when either side has a NaN where the other does not. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (isNaN(x) || isNaN(y)) {
      if (isNaN(x) && isNaN(y)) continue;
      return Infinity;
    }
    if (x === y) continue; // also equal infinities
    const d = abs(x - y);
    if (!(d <= m)) m = d;
  }
  return m;
}

/** Index and values of the first element where |a - b| > tol (for readable failure messages). */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): string {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++)
    if (!(abs(a[i] - b[i]) <= tol) && a[i] !== b[i]) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return 'none';
}

/**
 * A copy of a [B, H, N, W] tensor's data with every row (b, h, j) that pick() selects filled with value: keys or
 * values replaced by NaN, Inf or huge numbers where a mask, the causal cut or a bias excludes them.
 */
export function fillKeyRows(data: Float32Array, dims: readonly number[], pick: (b: number, h: number, j: number) => boolean, value: number): Float32Array {
  const [B, H, N, W] = dims;
  const d = Float32Array.from(data);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let j = 0; j < N; j++) if (pick(b, h, j)) d.fill(value, ((b * H + h) * N + j) * W, ((b * H + h) * N + j + 1) * W);
  return d;
}

/** Whether every element is finite. */
export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!isFinite(a[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Float64 reference of dense attention (docs/ARCHITECTURE.md §1.1)

export interface RefTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}

export interface RefOptions {
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Bottom-right aligned: key j allowed for query i iff j <= i + (Nk - Nq). */
  causal?: boolean;
  /** [B, Nk], nonzero = attend; plain (length B·Nk) or {data, dims}. */
  keyMask?: ArrayLike<number> | RefTensor;
  /** Broadcastable (NumPy rules) to [B, H, Nq, Nk]. */
  bias?: RefTensor;
}

/**
 * out[b,h,i,:] = Σ_j softmax_j(scale·q[b,h,i]·k[b,h',j] + bias[b,h,i,j]) v[b,h',j] over the
 * admissible keys j (key mask and causal rule), h' = floor(h / (H/Hk)); rows without an admissible
 * key are 0. Everything in float64; returns [B, H, Nq, Dv].
 */
export function referenceAttention(q: RefTensor, k: RefTensor, v: RefTensor, opts: RefOptions = {}): Float64Array {
  const [B, H, Nq, D] = q.dims;
  const [Bk, Hk, Nk, Dk] = k.dims;
  const [Bv, Hv, Nv, Dv] = v.dims;
  if (q.dims.length !== 4 || k.dims.length !== 4 || v.dims.length !== 4) throw new Error('reference: q, k, v must be 4-D');
  if (Bk !== B || Bv !== B || Hv !== Hk || Nv !== Nk || Dk !== D) throw new Error('reference: shapes disagree');
  if (Hk === 0 ? H !== 0 : H % Hk !== 0) throw new Error('reference: H must be a multiple of Hk');
  const group = Hk === 0 ? 1 : H / Hk;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const causal = opts.causal ?? false;
  const mask: ArrayLike<number> | undefined =
    opts.keyMask === undefined ? undefined : 'dims' in (opts.keyMask as object) ? (opts.keyMask as RefTensor).data : (opts.keyMask as ArrayLike<number>);
  if (mask !== undefined && mask.length !== B * Nk) throw new Error('reference: keyMask must have B*Nk entries');

  // Bias: left-pad to rank 4, stride 0 along broadcast (size-1) dims.
  let bias: ArrayLike<number> | undefined;
  const bs = [0, 0, 0, 0];
  if (opts.bias !== undefined) {
    const bd = [...Array(4 - opts.bias.dims.length).fill(1), ...opts.bias.dims];
    const full = [B, H, Nq, Nk];
    let stride = 1;
    for (let i = 3; i >= 0; i--) {
      if (bd[i] !== 1 && bd[i] !== full[i]) throw new Error('reference: bias does not broadcast');
      bs[i] = bd[i] === 1 ? 0 : stride;
      stride *= bd[i];
    }
    if (opts.bias.data.length !== stride) throw new Error('reference: bias data length disagrees with its dims');
    bias = opts.bias.data;
  }

  const out = new Float64Array(B * H * Nq * Dv);
  const s = new Float64Array(Nk);
  const ok = new Uint8Array(Nk);
  const acc = new Float64Array(Dv);
  const qd = q.data;
  const kd = k.data;
  const vd = v.data;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = floor(h / group);
      const kBase = (b * Hk + hk) * Nk;
      for (let i = 0; i < Nq; i++) {
        const qo = ((b * H + h) * Nq + i) * D;
        let max = -Infinity;
        let any = false;
        for (let j = 0; j < Nk; j++) {
          ok[j] = (mask === undefined || mask[b * Nk + j] !== 0) && (!causal || j <= i + (Nk - Nq)) ? 1 : 0;
          if (!ok[j]) continue;
          const ko = (kBase + j) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qd[qo + d] * kd[ko + d];
          let x = scale * dot;
          if (bias !== undefined) x += bias[b * bs[0] + h * bs[1] + i * bs[2] + j * bs[3]];
          s[j] = x;
          if (x > max) max = x;
          any = true;
        }
        const oo = ((b * H + h) * Nq + i) * Dv;
        if (!any) continue; // stays exactly 0
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < Nk; j++) {
          if (!ok[j]) continue;
          const p = exp(s[j] - max);
          sum += p;
          const vo = (kBase + j) * Dv;
          for (let d = 0; d < Dv; d++) acc[d] += p * vd[vo + d];
        }
        for (let d = 0; d < Dv; d++) out[oo + d] = acc[d] / sum;
      }
    }
  return out;
}

/**
 * Which query rows [B, H, Nq] have no admissible key (their output must be exactly 0).
 * Same rules as referenceAttention.
 */
export function emptyRows(B: number, H: number, Nq: number, Nk: number, causal: boolean, keyMask?: ArrayLike<number>): boolean[] {
  const rows: boolean[] = [];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Nq; i++) {
        let any = false;
        for (let j = 0; j < Nk && !any; j++)
          any = (keyMask === undefined || keyMask[b * Nk + j] !== 0) && (!causal || j <= i + (Nk - Nq));
        rows.push(!any);
      }
  return rows;
}
