// Running a model with onnxruntime-node (an optional dev dependency: loaded only when these are
// called, so importing lib/onnx never requires it; without it they throw
// OnnxRuntimeUnavailableError, whose message says how to add it).
import * as vm from 'vm';
import type * as Ort from 'onnxruntime-node';

export interface OnnxSessionOptions {
  /** Threads inside one op (ORT's intraOpNumThreads); default: ORT's choice. */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/**
 * A feed: an ORT Tensor, or typed data with dims (`type` picks bool/uint8 for a Uint8Array, default
 * uint8; float16/bfloat16/uint16 for a Uint16Array of bits, default uint16).
 */
export type OnnxFeed = Ort.Tensor | { data: Typed; dims: readonly number[]; type?: 'bool' | 'uint8' | 'float16' | 'bfloat16' | 'uint16' };

/** An output: its typed data and dims. */
export interface OnnxOutput {
  type: string;
  data: Typed | unknown;
  dims: readonly number[];
}

type TypedName =
  | 'Float32Array' | 'Float64Array' | 'Int8Array' | 'Uint8Array' | 'Int16Array' | 'Uint16Array' | 'Int32Array'
  | 'Uint32Array' | 'BigInt64Array' | 'BigUint64Array' | 'Float16Array';
const TYPED_ARRAYS: TypedName[] = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'BigInt64Array', 'BigUint64Array',
];
if (vm.runInThisContext('typeof Float16Array') === 'function') TYPED_ARRAYS.push('Float16Array');
type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Typed;

/**
 * Typed-array constructors of Node's main realm. Under a vm sandbox (jest) they differ from this
 * module's globals, while ORT's native binding creates its outputs in the main realm and
 * onnxruntime-common checks data with `instanceof`: ORT is therefore loaded with main-realm
 * constructors and fed main-realm views.
 */
const mainRealm = Object.fromEntries(TYPED_ARRAYS.map((n) => [n, vm.runInThisContext(n) as Ctor])) as Record<TypedName, Ctor>;
const g = globalThis as unknown as Record<TypedName, unknown>;

let ort: typeof Ort | undefined;

/** How to add onnxruntime-node; the same words as the README's "ONNX Runtime (optional)". */
export const ONNXRUNTIME_INSTALL_HINT =
  'npm install onnxruntime-node (offline or behind a firewall: ONNXRUNTIME_NODE_INSTALL=skip npm install ' +
  'onnxruntime-node, so that its install script downloads no CUDA files)';

/**
 * onnxruntime-node is not installed, or does not load here. Its message is one line (what is
 * missing, how to add it), without the require stack, for the command line and the demo to print
 * as it is; `code` tells it apart from a failing check.
 */
export class OnnxRuntimeUnavailableError extends Error {
  readonly code = 'ERR_ONNXRUNTIME_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxRuntimeUnavailableError';
  }
}

/** Whether `e` says onnxruntime-node could not be loaded (as opposed to a failing model run). */
export function isOnnxRuntimeUnavailable(e: unknown): e is OnnxRuntimeUnavailableError {
  return (e as { code?: unknown } | null)?.code === 'ERR_ONNXRUNTIME_UNAVAILABLE';
}

function unavailable(err: Error & { code?: string }): OnnxRuntimeUnavailableError {
  // Node's message is "Cannot find module 'x'\nRequire stack:\n- ...": the first line is the news.
  const first = String(err.message).split('\n')[0];
  if (err.code === 'MODULE_NOT_FOUND' && first.includes("'onnxruntime-node'"))
    return new OnnxRuntimeUnavailableError(
      `onnxruntime-node is not installed (optional; the checks against ONNX Runtime need it): ${ONNXRUNTIME_INSTALL_HINT}`,
    );
  return new OnnxRuntimeUnavailableError(
    `onnxruntime-node does not load (${first}); reinstall it: ${ONNXRUNTIME_INSTALL_HINT}`,
  );
}

/** onnxruntime-node, loaded on first use; throws OnnxRuntimeUnavailableError without it. */
export function loadOrt(): typeof Ort {
  if (ort) return ort;
  const saved = TYPED_ARRAYS.map((n) => g[n]);
  let o: typeof Ort;
  try {
    for (const n of TYPED_ARRAYS) g[n] = mainRealm[n];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, when first needed
      o = require('onnxruntime-node') as typeof Ort;
    } catch (err) {
      throw unavailable(err as Error);
    }
    // onnxruntime-common maps int64/uint64/float16 lazily, on the first Tensor it builds.
    new o.Tensor('float32', new mainRealm.Float32Array(new ArrayBuffer(4), 0, 1) as Float32Array, [1]);
    return (ort = o);
  } finally {
    TYPED_ARRAYS.forEach((n, i) => (g[n] = saved[i]));
  }
}

/** Zero-copy view of `a` with the same element type from the given realm's constructors. */
function view(a: Typed, ctors: Record<TypedName, unknown>): Typed {
  const name = Object.prototype.toString.call(a).slice(8, -1) as TypedName;
  const C = ctors[name] as Ctor;
  return a instanceof (C as unknown as typeof Float32Array) ? a : new C(a.buffer, a.byteOffset, a.length);
}

function toOrtTensor(o: typeof Ort, name: string, f: OnnxFeed): Ort.Tensor {
  if (f instanceof o.Tensor) return f;
  const { data, dims } = f as Exclude<OnnxFeed, Ort.Tensor>;
  const tag = Object.prototype.toString.call(data).slice(8, -1);
  const type = ({
    Float32Array: 'float32', Float64Array: 'float64', Int32Array: 'int32', BigInt64Array: 'int64', Int8Array: 'int8',
    Uint8Array: (f as { type?: string }).type === 'bool' ? 'bool' : 'uint8',
    Uint16Array: ({ float16: 'float16', bfloat16: 'bfloat16' } as Record<string, string>)[(f as { type?: string }).type ?? ''] ?? 'uint16',
  } as Record<string, string>)[tag];
  if (type === undefined) throw new TypeError(`feed '${name}': unsupported data ${tag}`);
  return new o.Tensor(type as 'float32', view(data, mainRealm) as Float32Array, dims.slice());
}

/** An ORT inference session over model bytes, kept for repeated runs. */
export class OnnxSession {
  private constructor(private readonly o: typeof Ort, readonly session: Ort.InferenceSession) {}

  static async create(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const o = loadOrt();
    const opts: Ort.InferenceSession.SessionOptions = {};
    if (options.intraOpNumThreads !== undefined) opts.intraOpNumThreads = options.intraOpNumThreads;
    if (options.interOpNumThreads !== undefined) opts.interOpNumThreads = options.interOpNumThreads;
    if (options.graphOptimizationLevel !== undefined) opts.graphOptimizationLevel = options.graphOptimizationLevel;
    return new OnnxSession(o, await o.InferenceSession.create(view(model, mainRealm) as Uint8Array, opts));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; outputs come back as this realm's typed arrays (views, no copy). */
  async run(feeds: Readonly<Record<string, OnnxFeed>>): Promise<Record<string, OnnxOutput>> {
    const f: Record<string, Ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = toOrtTensor(this.o, k, v);
    const res = await this.session.run(f);
    const out: Record<string, OnnxOutput> = {};
    for (const [k, t] of Object.entries(res)) {
      const d = ArrayBuffer.isView(t.data) ? view(t.data as Typed, g) : t.data;
      out[k] = { type: t.type, data: d, dims: t.dims.slice() };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** One-shot: load `model`, run it on `feeds`, release the session. */
export async function runOnnx(
  model: Uint8Array,
  feeds: Readonly<Record<string, OnnxFeed>>,
  options: OnnxSessionOptions = {},
): Promise<Record<string, OnnxOutput>> {
  const s = await OnnxSession.create(model, options);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}
