// Checking the model's call arguments: token ids and attention masks, as a tokenizer or ONNX
// Runtime hands them over (Int32Array or BigInt64Array, plain or {data, dims}). Every problem is a
// TypeError (wrong kind of thing) or RangeError (wrong size or value) naming the argument.
import { checkDims, checkMask, describe } from '../tensor';

/** Token ids [B, N]: a plain Int32Array / BigInt64Array is one row (B = 1). */
export type TokenIds =
  | Int32Array
  | BigInt64Array
  | { data: Int32Array | BigInt64Array; dims: readonly number[]; type?: string };

/** An attention mask [B, N] (1 = token, 0 = padding): Int32Array, Uint8Array or BigInt64Array, plain or {data, dims}. */
export type AttentionMask =
  | Int32Array
  | Uint8Array
  | BigInt64Array
  | { data: Int32Array | Uint8Array | BigInt64Array; dims: readonly number[]; type?: string };

export interface CheckedIds {
  ids: Int32Array;
  B: number;
  N: number;
}

const tag = (x: unknown) => Object.prototype.toString.call(x).slice(8, -1);

/** Checks token ids against the vocabulary; returns them as a fresh Int32Array with B and N. */
export function checkTokenIds(name: string, x: unknown, vocab: number): CheckedIds {
  let data: unknown = x;
  let dims: number[] | undefined;
  if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x)) {
    const o = x as { data?: unknown; dims?: unknown; type?: unknown };
    if (o.type !== undefined && o.type !== 'int32' && o.type !== 'int64')
      throw new TypeError(`${name} must hold int32 or int64 token ids, got type ${describe(o.type)}`);
    data = o.data;
    dims = checkDims(name, o.dims, 2);
  }
  const t = tag(data);
  if (t !== 'Int32Array' && t !== 'BigInt64Array')
    throw new TypeError(`${name} must be an Int32Array or BigInt64Array of token ids (or {data, dims}), got ${describe(data)}`);
  const arr = data as Int32Array | BigInt64Array;
  const [B, N] = dims ?? [1, arr.length];
  if (arr.length !== B * N) {
    if (arr.length === 0 && arr.buffer.byteLength === 0 && B * N > 0) throw new TypeError(`${name}.data is empty (a detached buffer?)`);
    throw new RangeError(`${name} has ${arr.length} ids but its dims [${B}, ${N}] need ${B * N}`);
  }
  const ids = new Int32Array(B * N);
  for (let i = 0; i < ids.length; i++) {
    const v = arr[i];
    const n = typeof v === 'bigint' ? (v >= 0n && v < BigInt(vocab) ? Number(v) : -1) : v;
    if (n < 0 || n >= vocab)
      throw new RangeError(`${name}: id ${String(v)} at [${Math.floor(i / N)}, ${i % N}] is not in [0, vocab_size ${vocab})`);
    ids[i] = n;
  }
  return { ids, B, N };
}

/** Checks a 0/1 mask of dims [B, N]; returns it as a Uint8Array (undefined stays undefined). */
export function checkAttentionMask(name: string, m: unknown, B: number, N: number): Uint8Array | undefined {
  if (m === undefined) return undefined;
  let x = m;
  // int64 masks (what tokenizers and ORT hand out): checked here, then as 0/1 bytes.
  const big = (v: unknown) => tag(v) === 'BigInt64Array';
  if (big(m) || (m !== null && typeof m === 'object' && !ArrayBuffer.isView(m) && big((m as { data?: unknown }).data))) {
    const o = big(m) ? { data: m as BigInt64Array } : (m as { data: BigInt64Array; dims: readonly number[] });
    const bytes = new Uint8Array(o.data.length);
    for (let i = 0; i < bytes.length; i++) {
      const v = o.data[i];
      if (v !== 0n && v !== 1n) throw new RangeError(`${name}: value ${v} at index ${i} is not 0 or 1`);
      bytes[i] = Number(v);
    }
    x = big(m) ? bytes : { data: bytes, dims: (m as { dims: readonly number[] }).dims };
  }
  // checkMask also checks the values are 0/1; a private copy, so async work never sees later edits.
  return Uint8Array.from(checkMask(name, x, B, N));
}
