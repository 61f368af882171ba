// Tensors, masks and argument validation shared by every entry point. Everything a caller
// passes is checked here, before any native call or allocation, and a bad argument becomes a
// TypeError (wrong kind of thing) or RangeError (right kind, wrong size/value) naming it.

/** A float32 tensor: row-major `data` with shape `dims`. An onnxruntime-node float32 Tensor satisfies it. */
export interface Tensor {
  data: Float32Array;
  dims: readonly number[];
}

/** A 0/1 mask (1 = token / attend, 0 = padding / excluded), plain or with its shape. */
export type MaskInput = Int32Array | Uint8Array | { data: Int32Array | Uint8Array; dims: readonly number[] };

/** Largest element count we accept for one tensor (Float32Array's own limit is lower on some builds). */
export const MAX_ELEMENTS = 2 ** 32;

const tag = (x: unknown) => Object.prototype.toString.call(x);
export const isFloat32Array = (x: unknown): x is Float32Array => tag(x) === '[object Float32Array]';
const isInt32Array = (x: unknown): x is Int32Array => tag(x) === '[object Int32Array]';
const isUint8Array = (x: unknown): x is Uint8Array => tag(x) === '[object Uint8Array]';

/** What a value is, for messages: 'undefined', 'a Float32Array of length 12', 'an Array of length 3', 'number NaN'. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `an Array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) {
    const kind = tag(x).slice(8, -1);
    return 'length' in x ? `a ${kind} of length ${(x as unknown as { length: number }).length}` : `a ${kind}`;
  }
  if (typeof x === 'function') return 'a function';
  if (typeof x === 'object') {
    const kind = tag(x).slice(8, -1);
    return kind === 'Object' ? 'an object' : /^[AEIOU]/.test(kind) ? `an ${kind}` : `a ${kind}`;
  }
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

/**
 * Whether a view's buffer is detached (transferred away). Node 20's V8 lacks
 * ArrayBuffer.prototype.detached; there a detached buffer shows byteLength 0 like an empty one,
 * and only constructing a view on it throws, so that tells the two apart.
 */
export function isDetached(view: ArrayBufferView): boolean {
  const buf = view.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof buf.detached === 'boolean') return buf.detached;
  // A SharedArrayBuffer never detaches. (By tag, not instanceof: the buffer may come from another realm.)
  if (buf.byteLength !== 0 || Object.prototype.toString.call(buf) !== '[object ArrayBuffer]') return false;
  try {
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

/** A size: a safe non-negative integer. */
export function checkSize(name: string, x: unknown, { min = 0, max = MAX_ELEMENTS } = {}): number {
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number, got ${describe(x)}`);
  if (!Number.isInteger(x)) throw new RangeError(`${name} must be an integer, got ${x}`);
  if (x < min) throw new RangeError(`${name} must be >= ${min}, got ${x}`);
  if (x > max) throw new RangeError(`${name} must be <= ${max}, got ${x}`);
  return x;
}

/** Product of sizes with overflow checks (no 53-bit rounding can sneak past). */
export function checkedProduct(name: string, sizes: readonly number[]): number {
  let n = 1;
  for (const s of sizes) {
    n *= s;
    if (n > MAX_ELEMENTS) throw new RangeError(`${name}: shape [${sizes.join(', ')}] has too many elements (> 2^32)`);
  }
  return n;
}

export function checkDims(name: string, dims: unknown, rank?: number): number[] {
  if (!Array.isArray(dims) && !(ArrayBuffer.isView(dims) && !(dims instanceof DataView)))
    throw new TypeError(`${name}.dims must be an array of sizes, got ${describe(dims)}`);
  const d = Array.from(dims as ArrayLike<unknown>, (x, i) => {
    if (typeof x === 'bigint') x = Number(x);
    return checkSize(`${name}.dims[${i}]`, x);
  });
  if (rank !== undefined && d.length !== rank)
    throw new RangeError(`${name} must have ${rank} dims, got ${d.length} ([${d.join(', ')}])`);
  checkedProduct(name, d);
  return d;
}

function checkLength(name: string, view: ArrayBufferView & { length: number }, expected: number, what = 'its dims say'): void {
  if (view.length === expected) return;
  if (isDetached(view)) throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
  throw new RangeError(`${name} has ${view.length} elements but ${what} ${expected}`);
}

const TENSOR = 'a Tensor { data: Float32Array, dims }';

/** The hint after "got X" when X is numbers in the wrong container. */
function floatHint(x: unknown, wrap: boolean): string {
  const then = wrap ? ' and wrap it as { data, dims }' : '';
  if (isFloat32Array(x)) return wrap ? ' — wrap it as { data, dims }' : '';
  if (Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView))) return ` — convert it with Float32Array.from(...)${then}`;
  return '';
}

/** A float32 tensor of the given rank; returns plain {data, dims}. */
export function checkTensor(name: string, t: unknown, rank?: number): { data: Float32Array; dims: number[] } {
  if (t === null || typeof t !== 'object' || ArrayBuffer.isView(t) || Array.isArray(t))
    throw new TypeError(`${name} must be ${TENSOR}, got ${describe(t)}${floatHint(t, true)}`);
  const o = t as { data?: unknown; dims?: unknown; type?: unknown };
  if (typeof o.type === 'string' && o.type !== 'float32')
    throw new TypeError(`${name} must be a float32 tensor, got type '${o.type}'`);
  // Each property read once: a getter may return something else the second time (checked, then swapped).
  const data = o.data;
  if (!isFloat32Array(data)) throw new TypeError(`${name}.data must be a Float32Array, got ${describe(data)}${floatHint(data, false)}`);
  const dims = checkDims(name, o.dims, rank);
  checkLength(`${name}.data`, data, checkedProduct(name, dims));
  return { data, dims };
}

const MASK_DATA = 'an Int32Array or Uint8Array of 0/1 values';

/** The TypeError for a value that is not a mask (a plain Array, a Float32Array, a string...); `ofObject`: it is the data of a { data, dims }. */
export function notAMask(name: string, x: unknown, ofObject = false): TypeError {
  const hint = Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView)) ? ' — convert it with Uint8Array.from(...)' : '';
  return new TypeError(`${name} must be ${MASK_DATA}${ofObject ? '' : ', plain or as { data, dims }'}, got ${describe(x)}${hint}`);
}

/** Whether a non-view mask argument is the `{ data, dims }` form (else it is something else entirely). */
export function isMaskObject(m: unknown): m is { data?: unknown; dims?: unknown } {
  return m !== null && typeof m === 'object' && !ArrayBuffer.isView(m) && !Array.isArray(m) && ('data' in m || 'dims' in m);
}

/**
 * A mask holds 0 and 1 only: any other value is a RangeError naming its index. (The kernels read
 * "non-zero = attend", so a 2 or a -1 would be silently taken as 1: most likely a caller passing
 * token ids or a bias where the mask goes.)
 */
function checkMaskValues(name: string, data: Int32Array | Uint8Array, cols: number): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x !== 0 && x !== 1) {
      const at = cols > 0 ? ` (row ${Math.floor(i / cols)}, column ${i % cols})` : '';
      throw new RangeError(`${name}[${i}] is ${x}${at}: a mask holds only 0 (excluded / padding) and 1 (attend / token)`);
    }
  }
}

/** A mask of exactly `rows x cols`, plain or `{data, dims}`, of 0/1 values; returned as the typed array. */
export function checkMask(name: string, m: unknown, rows: number, cols: number): Int32Array | Uint8Array {
  let data: unknown = m;
  let where = name;
  if (isMaskObject(m)) {
    data = m.data;
    where = `${name}.data`;
    const dims = checkDims(name, m.dims, 2);
    if (dims[0] !== rows || dims[1] !== cols)
      throw new RangeError(`${name} must have dims [${rows}, ${cols}], got [${dims.join(', ')}]`);
  }
  if (!isInt32Array(data) && !isUint8Array(data)) throw notAMask(where, data, where !== name);
  checkLength(name, data, rows * cols, `[${rows}, ${cols}] needs`);
  checkMaskValues(where, data, cols);
  return data;
}

/** Options objects reject unknown names, so a typo is an error rather than a silent default. */
export function checkOptions<T extends object>(name: string, opts: unknown, allowed: readonly (keyof T & string)[]): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts) || ArrayBuffer.isView(opts))
    throw new TypeError(`${name} must be an object, got ${describe(opts)}`);
  for (const key of Object.keys(opts))
    if (!(allowed as readonly string[]).includes(key))
      throw new TypeError(`${name}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
  return opts as Partial<T>;
}

export function checkFiniteNumber(name: string, x: unknown): number {
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number, got ${describe(x)}`);
  if (!Number.isFinite(x)) throw new RangeError(`${name} must be finite, got ${x}`);
  return x;
}

/** 'bhnd' ([B, H, N, D], the default) or 'bnhd' (Hugging Face's [B, N, H, D]). */
export type Layout = 'bhnd' | 'bnhd';

/** An options.layout value: undefined -> 'bhnd'; not a string -> TypeError; another string -> RangeError. */
export function checkLayout(name: string, x: unknown): Layout {
  if (x === undefined) return 'bhnd';
  if (typeof x !== 'string') throw new TypeError(`${name} must be the string 'bhnd' or 'bnhd', got ${describe(x)}`);
  if (x !== 'bhnd' && x !== 'bnhd') throw new RangeError(`${name} must be 'bhnd' or 'bnhd', got '${x}'`);
  return x;
}

export function checkBoolean(name: string, x: unknown): boolean {
  if (typeof x !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(x)}`);
  return x;
}

/** Threads for one call: 0 or undefined = the process budget (setThreads). */
export function checkThreads(name: string, x: unknown): number {
  if (x === undefined) return 0;
  return checkSize(name, x, { min: 0, max: 65536 });
}

/** Whether two views share bytes of one buffer. */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * What checkOut returns for an async call's absent output (`lazy`): the addon allocates that output
 * and hands it over when the call succeeds (lib/abort.ts runCancellableOut). Empty; compared by identity.
 */
export const ADDON_OUT = new Float32Array(0);

/** An output buffer: a Float32Array of exactly `expected` elements not overlapping any input (absent: a new one, or ADDON_OUT when `lazy`). */
export function checkOut(name: string, out: unknown, expected: number, inputs: readonly ArrayBufferView[], lazy = false): Float32Array {
  if (out === undefined) return lazy ? ADDON_OUT : new Float32Array(expected);
  if (!isFloat32Array(out)) {
    const tensorLike = out !== null && typeof out === 'object' && isFloat32Array((out as { data?: unknown }).data);
    throw new TypeError(`${name} must be a Float32Array, got ${describe(out)}${tensorLike ? ' — pass its data: the output buffer is the Float32Array itself' : ''}`);
  }
  checkLength(name, out, expected, 'the result needs');
  for (const i of inputs) if (overlaps(out, i)) throw new RangeError(`${name} overlaps an input tensor`);
  return out;
}

/** A result tensor, with the attention probabilities when the call asked for them (options.returnWeights). */
export interface AttentionResult extends Tensor {
  weights?: Tensor;
}

/**
 * The result of a call whose options say `returnWeights: true`: the entry points' overloads return this,
 * so `result.weights` needs no `!` under strict TypeScript.
 */
export interface AttentionResultWithWeights extends AttentionResult {
  weights: Tensor;
}

/** Options that ask for the weights (`returnWeights: true` as a literal): selects the entry points' AttentionResultWithWeights overloads. */
export type WithWeights<O> = O & { returnWeights: true };

/** The result of an attention call: `weights` only when the call asked for them. */
export function attentionResult(data: Float32Array, dims: number[], weights: Tensor | undefined): AttentionResult {
  return weights ? { data, dims, weights } : { data, dims };
}

/** Allocates the probabilities output for options.returnWeights (they are N x N-sized by nature). */
export function weightsBuffer(name: string, flag: unknown, dims: number[]): Tensor | undefined {
  if (flag === undefined || flag === false) return undefined;
  if (flag !== true) throw new TypeError(`${name} must be a boolean, got ${describe(flag)}`);
  return { data: new Float32Array(checkedProduct(`${name}: attention weights`, dims)), dims };
}
