// Bad input to the LongT5 / TGlobal entry points: globalBlockIds, relativePositionBuckets,
// globalAggregates, linear(+Async), transientGlobalAttention(+Async), blockGlobalAttention(+Async),
// the layer constructors, forward(+Async) and fromSafetensors. Every case must throw a TypeError
// (wrong kind of thing) or RangeError (right kind, wrong size/value) whose message names the
// argument — files give an Error naming the file and what is wrong — and the async forms must
// reject with the same class instead of throwing synchronously.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, blockGlobalAttention, blockGlobalAttentionAsync, globalAggregates,
  globalBlockIds, linear, linearAsync, relativePositionBuckets, transientGlobalAttention, transientGlobalAttentionAsync, writeSafetensors,
} from '../lib/index';
import { maxAbsDiff, mulberry32, randomData } from './helpers/fixtures';

type Cls = typeof TypeError | typeof RangeError | typeof Error;
type Any = any; // bad input is deliberately mistyped

/** Detaches (transfers away) an ArrayBuffer, as postMessage with a transfer list does. */
function detach(buf: ArrayBufferLike): void {
  structuredClone(buf, { transfer: [buf as ArrayBuffer] });
}

function assertError(err: unknown, cls: Cls | Cls[], msg: RegExp, label: string): void {
  const classes = Array.isArray(cls) ? cls : [cls];
  if (!(err && typeof err === 'object' && 'message' in err))
    throw new Error(`${label}: expected ${classes.map((c) => c.name).join(' or ')}, got ${err === undefined ? 'no error' : String(err)}`);
  const e = err as Error;
  // by name too: errors made by the native addon come from another realm
  if (!classes.some((c) => c.name === e.name)) throw new Error(`${label}: expected ${classes.map((c) => c.name).join(' or ')}, got ${e.name}: ${e.message}`);
  if (!msg.test(e.message)) throw new Error(`${label}: message ${JSON.stringify(e.message)} does not match ${msg}`);
}

function expectThrow(fn: () => unknown, cls: Cls | Cls[], msg: RegExp, label = 'sync'): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assertError(err, cls, msg, label);
}

async function expectReject(fn: () => Promise<unknown>, cls: Cls | Cls[], msg: RegExp, label = 'async'): Promise<void> {
  let p: Promise<unknown> | undefined;
  let thrown: unknown;
  try {
    p = fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown !== undefined) throw new Error(`${label}: threw synchronously instead of rejecting: ${String(thrown)}`);
  expect(p).toBeInstanceOf(Promise);
  let err: unknown;
  await p!.then(
    () => undefined,
    (e) => void (err = e),
  );
  assertError(err, cls, msg, label);
}

interface Case<A> {
  name: string;
  cls: Cls | Cls[];
  msg: RegExp;
  /** mutates or replaces a fresh set of valid arguments */
  make: (a: A) => A | void;
}
const bad = <A>(name: string, cls: Cls | Cls[], msg: RegExp, make: (a: A) => A | void): Case<A> => ({ name, cls, msg, make });
const rows = <A>(cases: Case<A>[]) => cases.map((c) => [c.name, c] as const);

// ---------------------------------------------------------------------------------------------
// globalBlockIds(mask, g)

describe('globalBlockIds', () => {
  interface A { mask: Any; g: Any }
  const base = (): A => ({ mask: { data: new Int32Array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0]), dims: [2, 6] }, g: 2 });
  const CASES: Case<A>[] = [
    bad('mask undefined', TypeError, /^mask must be an Int32Array or Uint8Array .*, got undefined$/, (a) => void (a.mask = undefined)),
    bad('mask null', TypeError, /\bmask\b/, (a) => void (a.mask = null)),
    bad('mask a number', TypeError, /\bmask\b/, (a) => void (a.mask = 12)),
    bad('mask a string', TypeError, /\bmask\b/, (a) => void (a.mask = '110')),
    bad('mask a plain Array', TypeError, /^mask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got an Array of length 3 — convert it with Uint8Array\.from\(\.\.\.\)$/, (a) => void (a.mask = [1, 1, 0])),
    bad('mask {data, dims} data a plain Array', TypeError, /^mask\.data must be an Int32Array or Uint8Array of 0\/1 values, got an Array of length 12/,
      (a) => void (a.mask.data = Array.from(a.mask.data))),
    bad('mask holding a 2 (plain Int32Array)', RangeError, /^mask\[4\] is 2 \(row 0, column 4\): a mask holds only 0 .* and 1 /,
      (a) => void (a.mask = new Int32Array([1, 1, 1, 1, 2, 1]))),
    bad('mask {data, dims} holding a -1', RangeError, /^mask\.data\[10\] is -1 \(row 1, column 4\)/, (a) => void (a.mask.data[10] = -1)),
    bad('mask holding 255 (Uint8Array)', RangeError, /^mask\[0\] is 255 \(row 0, column 0\)/, (a) => void (a.mask = new Uint8Array([255, 1, 1]))),
    bad('mask a Float32Array', TypeError, /\bmask\b/, (a) => void (a.mask = new Float32Array(6))),
    bad('mask an Int8Array', TypeError, /\bmask\b/, (a) => void (a.mask = new Int8Array(6))),
    bad('mask {data, dims} rank 1', RangeError, /\bmask\b/, (a) => void (a.mask.dims = [12])),
    bad('mask {data, dims} rank 3', RangeError, /\bmask\b/, (a) => void (a.mask.dims = [1, 2, 6])),
    bad('mask {data, dims} data too short', RangeError, /\bmask\b/, (a) => void (a.mask.data = a.mask.data.subarray(1))),
    bad('mask {data, dims} data a Float32Array', TypeError, /^mask\.data must be an Int32Array or Uint8Array of 0\/1 values, got a Float32Array of length 12/, (a) => void (a.mask.data = new Float32Array(12))),
    bad('mask {data, dims} dims a string', TypeError, /mask\.dims/, (a) => void (a.mask.dims = '2,6')),
    bad('mask {data, dims} negative dim', RangeError, /mask\.dims\[0\]/, (a) => void (a.mask.dims = [-2, -6])),
    bad('mask {data, dims} fractional dim', RangeError, /mask\.dims\[1\]/, (a) => void (a.mask.dims = [2, 6.5])),
    bad('mask detached', TypeError, /\bmask\b.*detached/, (a) => detach(a.mask.data.buffer)),
    bad('g undefined', TypeError, /\bg\b/, (a) => void (a.g = undefined)),
    bad('g a string', TypeError, /\bg\b/, (a) => void (a.g = '2')),
    bad('g 0', RangeError, /\bg\b/, (a) => void (a.g = 0)),
    bad('g negative', RangeError, /\bg\b/, (a) => void (a.g = -3)),
    bad('g fractional', RangeError, /\bg\b/, (a) => void (a.g = 2.5)),
    bad('g NaN', RangeError, /\bg\b/, (a) => void (a.g = NaN)),
    bad('g Infinity', RangeError, /\bg\b/, (a) => void (a.g = Infinity)),
  ];
  test('the base call is valid', () => expect(globalBlockIds(base().mask, 2).G).toBe(3));
  test.each(rows(CASES))('%s', (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => globalBlockIds(a.mask, a.g), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// relativePositionBuckets(relative, numBuckets, maxDistance)

describe('relativePositionBuckets', () => {
  interface A { rel: Any; nb: Any; md: Any }
  const base = (): A => ({ rel: Int32Array.from([-3, 0, 5, 200]), nb: 32, md: 128 });
  const CASES: Case<A>[] = [
    bad('relative undefined', TypeError, /^relative must be .*, got undefined$/, (a) => void (a.rel = undefined)),
    bad('relative a number', TypeError, /\brelative\b/, (a) => void (a.rel = 5)),
    bad('relative a string', TypeError, /\brelative\b/, (a) => void (a.rel = '1,2')),
    bad('relative a Float32Array', TypeError, /^relative must be an Int32Array or an array of integers, got a Float32Array of length 3$/, (a) => void (a.rel = new Float32Array(3))),
    bad('relative a Uint32Array', TypeError, /\brelative\b/, (a) => void (a.rel = new Uint32Array(3))),
    bad('relative a BigInt64Array', TypeError, /\brelative\b/, (a) => void (a.rel = new BigInt64Array(3))),
    bad('relative an object', TypeError, /\brelative\b/, (a) => void (a.rel = { length: 2, 0: 1, 1: 2 })),
    bad('relative [0, 1.5]', RangeError, /relative\[1\]/, (a) => void (a.rel = [0, 1.5])),
    bad('relative [2^31]', RangeError, /relative\[0\]/, (a) => void (a.rel = [2 ** 31])),
    bad('relative [-2^31 - 1]', RangeError, /relative\[0\]/, (a) => void (a.rel = [-(2 ** 31) - 1])),
    bad('relative [NaN]', RangeError, /relative\[0\]/, (a) => void (a.rel = [NaN])),
    bad('relative [1, 2, Infinity]', RangeError, /relative\[2\]/, (a) => void (a.rel = [1, 2, Infinity])),
    // a string element is the wrong kind of thing; either class names it
    bad("relative ['3']", [TypeError, RangeError], /relative\[0\]/, (a) => void (a.rel = ['3'])),
    bad('numBuckets 1', RangeError, /numBuckets/, (a) => void (a.nb = 1)),
    bad('numBuckets 0', RangeError, /numBuckets/, (a) => void (a.nb = 0)),
    bad('numBuckets fractional', RangeError, /numBuckets/, (a) => void (a.nb = 31.5)),
    bad('numBuckets NaN', RangeError, /numBuckets/, (a) => void (a.nb = NaN)),
    bad('numBuckets a string', TypeError, /numBuckets/, (a) => void (a.nb = '32')),
    bad('numBuckets null', TypeError, /numBuckets/, (a) => void (a.nb = null)),
    bad('numBuckets 2^31', RangeError, /numBuckets/, (a) => void (a.nb = 2 ** 31)),
    bad('maxDistance 0', RangeError, /maxDistance/, (a) => void (a.md = 0)),
    bad('maxDistance negative', RangeError, /maxDistance/, (a) => void (a.md = -128)),
    bad('maxDistance Infinity', RangeError, /maxDistance/, (a) => void (a.md = Infinity)),
    bad('maxDistance a string', TypeError, /maxDistance/, (a) => void (a.md = '128')),
  ];
  test('the base call is valid', () => expect(relativePositionBuckets(base().rel).length).toBe(4));
  test.each(rows(CASES))('%s', (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => relativePositionBuckets(a.rel, a.nb, a.md), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// globalAggregates(hidden, mask, g, {normWeight, eps})

describe('globalAggregates', () => {
  const B = 2, N = 7, C = 3;
  interface A { hidden: Any; mask: Any; g: Any; o: Any }
  const base = (): A => {
    const rng = mulberry32(4);
    return { hidden: { data: randomData(rng, B * N * C), dims: [B, N, C] }, mask: new Uint8Array(B * N).fill(1), g: 2, o: { normWeight: randomData(rng, C), eps: 1e-6 } };
  };
  const CASES: Case<A>[] = [
    bad('hidden undefined', TypeError, /\bhidden\b/, (a) => void (a.hidden = undefined)),
    bad('hidden a bare Float32Array', TypeError, /^hidden must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length 42 — wrap it as \{ data, dims \}$/,
      (a) => void (a.hidden = a.hidden.data)),
    bad('hidden rank 2', RangeError, /\bhidden\b.*3 dims/, (a) => void (a.hidden.dims = [B * N, C])),
    bad('hidden.data a Float64Array', TypeError, /hidden\.data/, (a) => void (a.hidden.data = new Float64Array(B * N * C))),
    bad('hidden.data shorter than its dims', RangeError, /hidden\.data/, (a) => void (a.hidden.dims = [B, N + 1, C])),
    bad('hidden detached', TypeError, /hidden\.data.*detached/, (a) => detach(a.hidden.data.buffer)),
    bad('mask too short', RangeError, /\bmask\b/, (a) => void (a.mask = new Uint8Array(B * N - 1))),
    bad('mask a Float32Array', TypeError, /\bmask\b/, (a) => void (a.mask = new Float32Array(B * N))),
    bad('mask {data, dims} transposed', RangeError, /\bmask\b/, (a) => void (a.mask = { data: a.mask, dims: [N, B] })),
    bad('mask a plain Array', TypeError, /^mask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got an Array of length 14 — convert it/, (a) => void (a.mask = Array.from(a.mask))),
    bad('mask holding a 2', RangeError, /^mask\[8\] is 2 \(row 1, column 1\)/, (a) => void (a.mask[8] = 2)),
    bad('g 0', RangeError, /\bg\b/, (a) => void (a.g = 0)),
    bad('g a string', TypeError, /\bg\b/, (a) => void (a.g = '2')),
    bad('g fractional', RangeError, /\bg\b/, (a) => void (a.g = 1.5)),
    bad('options a number', TypeError, /options/, (a) => void (a.o = 3)),
    bad('unknown option weight', TypeError, /\bweight\b/, (a) => void (a.o = { weight: a.o.normWeight })),
    bad('normWeight too short', RangeError, /options\.normWeight/, (a) => void (a.o.normWeight = new Float32Array(C - 1))),
    bad('normWeight a Float64Array', TypeError, /options\.normWeight/, (a) => void (a.o.normWeight = new Float64Array(C))),
    bad('normWeight a plain Array', TypeError, /options\.normWeight/, (a) => void (a.o.normWeight = [1, 1, 1])),
    bad('normWeight a Tensor of rank 2', RangeError, /options\.normWeight/, (a) => void (a.o.normWeight = { data: new Float32Array(C), dims: [1, C] })),
    bad('eps negative', RangeError, /options\.eps/, (a) => void (a.o.eps = -1e-6)),
    bad('eps NaN', RangeError, /options\.eps/, (a) => void (a.o.eps = NaN)),
    bad('eps Infinity', RangeError, /options\.eps/, (a) => void (a.o.eps = Infinity)),
    bad('eps a string', TypeError, /options\.eps/, (a) => void (a.o.eps = '1e-6')),
  ];
  test('the base call is valid', () => {
    const a = base();
    expect(globalAggregates(a.hidden, a.mask, a.g, a.o).dims).toEqual([B, 3, C]);
  });
  test.each(rows(CASES))('%s', (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => globalAggregates(a.hidden, a.mask, a.g, a.o), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// linear(x, w, options) and linearAsync

describe('linear / linearAsync', () => {
  interface A { x: Any; w: Any; o: Any }
  const base = (): A => {
    const rng = mulberry32(6);
    return { x: { data: randomData(rng, 2 * 3 * 5), dims: [2, 3, 5] }, w: { data: randomData(rng, 4 * 5), dims: [4, 5] }, o: {} };
  };
  const CASES: Case<A>[] = [
    bad('x undefined', TypeError, /\bx\b/, (a) => void (a.x = undefined)),
    bad('x a bare Float32Array', TypeError, /\bx\b/, (a) => void (a.x = a.x.data)),
    bad('x rank 0', RangeError, /\bx\b/, (a) => void (a.x = { data: new Float32Array(1), dims: [] })),
    bad('x.data a Float64Array', TypeError, /x\.data/, (a) => void (a.x.data = Float64Array.from(a.x.data))),
    bad('x.data length disagrees with dims', RangeError, /x\.data/, (a) => void (a.x.dims = [2, 4, 5])),
    bad('x detached', TypeError, /x\.data.*detached/, (a) => detach(a.x.data.buffer)),
    bad('w undefined', TypeError, /\bw\b/, (a) => void (a.w = undefined)),
    bad('w rank 1', RangeError, /\bw\b/, (a) => void (a.w.dims = [20])),
    bad('w rank 3', RangeError, /\bw\b/, (a) => void (a.w.dims = [1, 4, 5])),
    bad('w [in, out] (transposed)', RangeError, /\bw\b.*\bin\b/, (a) => void (a.w.dims = [5, 4])),
    bad('w.data an Int32Array', TypeError, /w\.data/, (a) => void (a.w.data = new Int32Array(20))),
    bad('w of type float16 (ORT-style)', TypeError, /\bw\b.*float32/, (a) => void (a.w.type = 'float16')),
    bad('options a number', TypeError, /options/, (a) => void (a.o = 1)),
    bad('unknown option bias', TypeError, /\bbias\b/, (a) => void (a.o = { bias: new Float32Array(4) })),
    bad('out too small', RangeError, /options\.out/, (a) => void (a.o.out = new Float32Array(2 * 3 * 4 - 1))),
    bad('out a Float64Array', TypeError, /options\.out/, (a) => void (a.o.out = new Float64Array(24))),
    bad('out overlaps x', RangeError, /options\.out.*overlap/, (a) => {
      const buf = new Float32Array(30 + 24);
      buf.set(a.x.data);
      a.x.data = buf.subarray(0, 30);
      a.o.out = buf.subarray(29, 53);
    }),
    bad('out is w.data', RangeError, /options\.out.*overlap/, (a) => {
      const buf = new Float32Array(24);
      buf.set(a.w.data);
      a.w.data = buf.subarray(0, 20);
      a.o.out = buf;
    }),
    bad('threads negative', RangeError, /options\.threads/, (a) => void (a.o.threads = -1)),
    bad('threads a string', TypeError, /options\.threads/, (a) => void (a.o.threads = '2')),
  ];
  test('the base call is valid', () => {
    const a = base();
    expect(linear(a.x, a.w).dims).toEqual([2, 3, 4]);
  });
  test.each(rows(CASES))('%s', async (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => linear(a.x, a.w, a.o), c.cls, c.msg);
    const b = base();
    c.make(b);
    await expectReject(() => linearAsync(b.x, b.w, b.o), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// transientGlobalAttention(q, k, v, globalK, globalV, options) and the Async form

describe('transientGlobalAttention / transientGlobalAttentionAsync', () => {
  const B = 2, H = 2, N = 10, D = 4, g = 3, G = 3, r = 2;
  interface A { q: Any; k: Any; v: Any; gk: Any; gv: Any; o: Any }
  const base = (): A => {
    const rng = mulberry32(8);
    const t = (dims: number[]) => ({ data: randomData(rng, dims.reduce((x, y) => x * y, 1)), dims });
    return {
      q: t([B, H, N, D]), k: t([B, H, N, D]), v: t([B, H, N, D]), gk: t([B, H, G, D]), gv: t([B, H, G, D]),
      o: {
        localRadius: r, globalBlockSize: g, mask: new Int32Array(B * N).fill(1),
        relativeAttentionBias: t([32, H]), globalRelativeAttentionBias: t([32, H]),
      },
    };
  };
  const CASES: Case<A>[] = [
    bad('options undefined', TypeError, /options/, (a) => void (a.o = undefined)),
    bad('options a number', TypeError, /options/, (a) => void (a.o = 2)),
    bad('options an array', TypeError, /options/, (a) => void (a.o = [r, g])),
    bad('unknown option (typo localradius)', TypeError, /localradius/, (a) => void (a.o.localradius = 2)),
    bad('unknown option keyMask', TypeError, /keyMask/, (a) => void (a.o.keyMask = a.o.mask)),
    bad('localRadius missing', TypeError, /options\.localRadius/, (a) => void delete a.o.localRadius),
    bad('localRadius negative', RangeError, /options\.localRadius/, (a) => void (a.o.localRadius = -1)),
    bad('localRadius fractional', RangeError, /options\.localRadius/, (a) => void (a.o.localRadius = 1.5)),
    bad('localRadius a string', TypeError, /options\.localRadius/, (a) => void (a.o.localRadius = '2')),
    bad('globalBlockSize missing', TypeError, /options\.globalBlockSize/, (a) => void delete a.o.globalBlockSize),
    bad('globalBlockSize 0', RangeError, /options\.globalBlockSize/, (a) => void (a.o.globalBlockSize = 0)),
    bad('globalBlockSize NaN', RangeError, /options\.globalBlockSize/, (a) => void (a.o.globalBlockSize = NaN)),
    bad('globalBlockSize disagrees with G (floor(10/4) = 2 != 3)', RangeError, /globalK|globalBlockSize/, (a) => void (a.o.globalBlockSize = 4)),
    bad('q undefined', TypeError, /\bq\b/, (a) => void (a.q = undefined)),
    bad('q rank 3', RangeError, /\bq\b/, (a) => void (a.q.dims = [B * H, N, D])),
    bad('q.data a Float64Array', TypeError, /q\.data/, (a) => void (a.q.data = new Float64Array(B * H * N * D))),
    bad('k with a different N', RangeError, /\bk\b/, (a) => void (a.k = { data: new Float32Array(B * H * (N + 1) * D), dims: [B, H, N + 1, D] })),
    bad('k with a different D', RangeError, /\bk\b/, (a) => void (a.k.dims = [B, H, N * 2, D / 2])),
    bad('v with a different batch', RangeError, /\bv\b/, (a) => void (a.v.dims = [1, H * 2, N, D])),
    bad('globalK a bare Float32Array', TypeError, /^globalK must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length 48 — wrap it as \{ data, dims \}$/, (a) => void (a.gk = a.gk.data)),
    bad('globalK with a different D', RangeError, /globalK/, (a) => void (a.gk.dims = [B, H, G * 2, D / 2])),
    bad('globalV with a different G', RangeError, /globalV/, (a) => void (a.gv = { data: new Float32Array(B * H * (G + 1) * D), dims: [B, H, G + 1, D] })),
    bad('globalV with a different Dv than v', RangeError, /globalV/, (a) => void (a.gv.dims = [B, H, G * 2, D / 2])),
    bad('layout unknown', RangeError, /options\.layout/, (a) => void (a.o.layout = 'nhd')),
    bad('layout a number', TypeError, /options\.layout/, (a) => void (a.o.layout = 0)),
    bad('mask too long', RangeError, /options\.mask/, (a) => void (a.o.mask = new Int32Array(B * N + 1))),
    bad('mask a Float32Array', TypeError, /options\.mask/, (a) => void (a.o.mask = new Float32Array(B * N))),
    bad('mask {data, dims} with wrong dims', RangeError, /options\.mask/, (a) => void (a.o.mask = { data: a.o.mask, dims: [N, B] })),
    bad('mask detached', TypeError, /options\.mask.*detached/, (a) => detach(a.o.mask.buffer)),
    bad('mask a plain Array', TypeError, /^options\.mask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got an Array of length 20 — convert it with Uint8Array\.from/, (a) => void (a.o.mask = Array.from(a.o.mask))),
    bad('mask holding a 2', RangeError, /^options\.mask\[13\] is 2 \(row 1, column 3\): a mask holds only 0 .* and 1 /, (a) => void (a.o.mask[13] = 2)),
    bad('mask {data, dims} holding a -1', RangeError, /^options\.mask\.data\[0\] is -1 \(row 0, column 0\)/, (a) => {
      a.o.mask[0] = -1;
      a.o.mask = { data: a.o.mask, dims: [B, N] };
    }),
    bad('relativeAttentionBias for 3 heads', RangeError, /options\.relativeAttentionBias/, (a) => void (a.o.relativeAttentionBias = { data: new Float32Array(96), dims: [32, 3] })),
    bad('relativeAttentionBias rank 1', RangeError, /options\.relativeAttentionBias/, (a) => void (a.o.relativeAttentionBias.dims = [64])),
    bad('relativeAttentionBias with 1 bucket', RangeError, /options\.relativeAttentionBias/, (a) => void (a.o.relativeAttentionBias = { data: new Float32Array(H), dims: [1, H] })),
    bad('relativeAttentionBias a bare Float32Array', TypeError, /^options\.relativeAttentionBias must be a Tensor .*, got a Float32Array of length 64 — wrap it as \{ data, dims \}$/, (a) => void (a.o.relativeAttentionBias = a.o.relativeAttentionBias.data)),
    bad('globalRelativeAttentionBias [H, 32] (transposed)', RangeError, /options\.globalRelativeAttentionBias/, (a) => void (a.o.globalRelativeAttentionBias.dims = [H, 32])),
    bad('globalRelativeAttentionBias.data a Float64Array', TypeError, /options\.globalRelativeAttentionBias/, (a) => void (a.o.globalRelativeAttentionBias.data = new Float64Array(64))),
    bad('numBuckets disagrees with the tables', RangeError, /numBuckets/, (a) => void (a.o.numBuckets = 16)),
    bad('numBuckets 1', RangeError, /options\.numBuckets/, (a) => void (a.o.numBuckets = 1)),
    bad('maxDistance 0', RangeError, /options\.maxDistance/, (a) => void (a.o.maxDistance = 0)),
    bad('maxDistance a string', TypeError, /options\.maxDistance/, (a) => void (a.o.maxDistance = '128')),
    bad('scale NaN', RangeError, /options\.scale/, (a) => void (a.o.scale = NaN)),
    bad('scale a string', TypeError, /options\.scale/, (a) => void (a.o.scale = '1')),
    bad('threads fractional', RangeError, /options\.threads/, (a) => void (a.o.threads = 1.5)),
    bad('out too small', RangeError, /options\.out/, (a) => void (a.o.out = new Float32Array(B * H * N * D - 1))),
    bad('out a plain Array', TypeError, /options\.out/, (a) => void (a.o.out = new Array(B * H * N * D).fill(0))),
    bad('out overlaps q', RangeError, /options\.out.*overlap/, (a) => {
      const buf = new Float32Array(B * H * N * D);
      buf.set(a.q.data);
      a.q.data = buf;
      a.o.out = buf;
    }),
    bad('out overlaps globalV', RangeError, /options\.out.*overlap/, (a) => {
      const n = B * H * N * D, m = a.gv.data.length;
      const buf = new Float32Array(n + m - 1);
      buf.set(a.gv.data, n - 1);
      a.gv.data = buf.subarray(n - 1);
      a.o.out = buf.subarray(0, n);
    }),
    bad('returnWeights a string', TypeError, /^options\.returnWeights must be a boolean, got string yes$/, (a) => void (a.o.returnWeights = 'yes')),
    bad('k detached', TypeError, /k\.data.*detached/, (a) => detach(a.k.data.buffer)),
  ];
  test('the base call is valid (both layouts)', () => {
    const a = base();
    expect(transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, a.o).dims).toEqual([B, H, N, D]);
  });
  test.each(rows(CASES))('%s', async (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, a.o), c.cls, c.msg);
    const b = base();
    c.make(b);
    await expectReject(() => transientGlobalAttentionAsync(b.q, b.k, b.v, b.gk, b.gv, b.o), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// blockGlobalAttention(q, k, v, options) and the Async form

describe('blockGlobalAttention / blockGlobalAttentionAsync', () => {
  const B = 1, H = 2, N = 10, D = 4;
  interface A { q: Any; k: Any; v: Any; o: Any }
  const base = (): A => {
    const rng = mulberry32(9);
    const t = () => ({ data: randomData(rng, B * H * N * D), dims: [B, H, N, D] });
    return { q: t(), k: t(), v: t(), o: { blockSize: 3 } };
  };
  const CASES: Case<A>[] = [
    bad('options undefined', TypeError, /options/, (a) => void (a.o = undefined)),
    bad('options a number', TypeError, /options/, (a) => void (a.o = 3)),
    bad('unknown option mask', TypeError, /\bmask\b/, (a) => void (a.o.mask = new Uint8Array(N))),
    bad('blockSize missing', TypeError, /options\.blockSize/, (a) => void delete a.o.blockSize),
    bad('blockSize 0', RangeError, /options\.blockSize/, (a) => void (a.o.blockSize = 0)),
    bad('blockSize > N (no complete block)', RangeError, /options\.blockSize/, (a) => void (a.o.blockSize = N + 1)),
    bad('blockSize fractional', RangeError, /options\.blockSize/, (a) => void (a.o.blockSize = 2.5)),
    bad('blockSize a string', TypeError, /options\.blockSize/, (a) => void (a.o.blockSize = '3')),
    bad('q undefined', TypeError, /\bq\b/, (a) => void (a.q = undefined)),
    bad('q rank 5', RangeError, /\bq\b/, (a) => void (a.q.dims = [1, B, H, N, D])),
    bad('k with a different N', RangeError, /\bk\b/, (a) => void (a.k.dims = [B, H, N / 2, D * 2])),
    bad('v with a different H', RangeError, /\bv\b/, (a) => void (a.v.dims = [B, 1, N, D * 2])),
    bad('v.data an Int32Array', TypeError, /v\.data/, (a) => void (a.v.data = new Int32Array(B * H * N * D))),
    bad('scale Infinity', RangeError, /options\.scale/, (a) => void (a.o.scale = Infinity)),
    bad('scale null', TypeError, /options\.scale/, (a) => void (a.o.scale = null)),
    bad('threads huge', RangeError, /options\.threads/, (a) => void (a.o.threads = 2 ** 31)),
    bad('out too large', RangeError, /options\.out/, (a) => void (a.o.out = new Float32Array(B * H * N * D + 1))),
    bad('out is k.data', RangeError, /options\.out.*overlap/, (a) => void (a.o.out = a.k.data)),
    bad('returnWeights a number', TypeError, /options\.returnWeights/, (a) => void (a.o.returnWeights = 1)),
    bad('v detached', TypeError, /v\.data.*detached/, (a) => detach(a.v.data.buffer)),
  ];
  test('the base call is valid', () => {
    const a = base();
    expect(blockGlobalAttention(a.q, a.k, a.v, a.o).dims).toEqual([B, H, N, D]);
  });
  test.each(rows(CASES))('%s', async (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => blockGlobalAttention(a.q, a.k, a.v, a.o), c.cls, c.msg);
    const b = base();
    c.make(b);
    await expectReject(() => blockGlobalAttentionAsync(b.q, b.k, b.v, b.o), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// Layers: constructors and forward

const C = 8, Dk = 3, H = 2, HD = H * Dk, NB = 32;
const CLASSES = { tglobal: LongT5TransientGlobalAttention, local: LongT5LocalAttention, full: LongT5Attention } as const;
type Kind = keyof typeof CLASSES;
const KINDS = Object.keys(CLASSES) as Kind[];

function layerConfig(kind: Kind): Record<string, Any> {
  const c: Record<string, Any> = { d_model: C, d_kv: Dk, num_heads: H, relative_attention_num_buckets: NB, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6 };
  if (kind !== 'full') c.local_radius = 2;
  if (kind === 'tglobal') c.global_block_size = 3;
  return c;
}
function layerWeights(kind: Kind, seed = 11): Record<string, Float32Array> {
  const rng = mulberry32(seed);
  const w: Record<string, Float32Array> = {
    'q.weight': randomData(rng, HD * C, -0.5, 0.5), 'k.weight': randomData(rng, HD * C, -0.5, 0.5),
    'v.weight': randomData(rng, HD * C, -0.5, 0.5), 'o.weight': randomData(rng, C * HD, -0.5, 0.5),
    'relative_attention_bias.weight': randomData(rng, NB * H),
  };
  if (kind === 'tglobal') {
    w['global_relative_attention_bias.weight'] = randomData(rng, NB * H);
    w['global_input_layer_norm.weight'] = randomData(rng, C, 0.5, 1.5);
  }
  return w;
}

describe.each(KINDS)('new %s layer: bad config and weights', (kind) => {
  const Cls = CLASSES[kind];
  interface A { c: Any; w: Any }
  const base = (): A => ({ c: layerConfig(kind), w: layerWeights(kind) });
  const CASES: Case<A>[] = [
    bad('config undefined', TypeError, /\bconfig\b/, (a) => void (a.c = undefined)),
    bad('config null', TypeError, /\bconfig\b/, (a) => void (a.c = null)),
    bad('config a number', TypeError, /\bconfig\b/, (a) => void (a.c = 8)),
    bad('config a string', TypeError, /\bconfig\b/, (a) => void (a.c = '{"d_model": 8}')),
    bad('config an array', TypeError, /\bconfig\b/, (a) => void (a.c = [a.c])),
    bad('config {}', TypeError, /config\.d_model/, (a) => void (a.c = {})),
    bad('d_model missing', TypeError, /config\.d_model/, (a) => void delete a.c.d_model),
    bad('d_model 0', RangeError, /config\.d_model/, (a) => void (a.c.d_model = 0)),
    bad('d_model negative', RangeError, /config\.d_model/, (a) => void (a.c.d_model = -8)),
    bad('d_model fractional', RangeError, /config\.d_model/, (a) => void (a.c.d_model = 8.5)),
    bad('d_model a string', TypeError, /config\.d_model/, (a) => void (a.c.d_model = '8')),
    bad('d_kv missing', TypeError, /config\.d_kv/, (a) => void delete a.c.d_kv),
    bad('d_kv 0', RangeError, /config\.d_kv/, (a) => void (a.c.d_kv = 0)),
    bad('num_heads 0', RangeError, /config\.num_heads/, (a) => void (a.c.num_heads = 0)),
    bad('num_heads NaN', RangeError, /config\.num_heads/, (a) => void (a.c.num_heads = NaN)),
    bad('relative_attention_num_buckets 1', RangeError, /config\.relative_attention_num_buckets/, (a) => void (a.c.relative_attention_num_buckets = 1)),
    bad('relative_attention_max_distance 0', RangeError, /config\.relative_attention_max_distance/, (a) => void (a.c.relative_attention_max_distance = 0)),
    bad('relative_attention_max_distance a string', TypeError, /config\.relative_attention_max_distance/, (a) => void (a.c.relative_attention_max_distance = '128')),
    bad('layer_norm_epsilon negative', RangeError, /config\.layer_norm_epsilon/, (a) => void (a.c.layer_norm_epsilon = -1)),
    bad('layer_norm_epsilon NaN', RangeError, /config\.layer_norm_epsilon/, (a) => void (a.c.layer_norm_epsilon = NaN)),
    // a string is the wrong kind of thing; either class names it
    bad('layer_norm_epsilon a string', [TypeError, RangeError], /config\.layer_norm_epsilon/, (a) => void (a.c.layer_norm_epsilon = '1e-6')),
    bad('has_relative_attention_bias a string', TypeError, /config\.has_relative_attention_bias/, (a) => void (a.c.has_relative_attention_bias = 'true')),
    ...(kind === 'full' ? [] : [
      bad<A>('local_radius missing', TypeError, /config\.local_radius/, (a) => void delete a.c.local_radius),
      bad<A>('local_radius negative', RangeError, /config\.local_radius/, (a) => void (a.c.local_radius = -1)),
      bad<A>('local_radius fractional', RangeError, /config\.local_radius/, (a) => void (a.c.local_radius = 1.5)),
    ]),
    ...(kind !== 'tglobal' ? [] : [
      bad<A>('global_block_size missing', TypeError, /config\.global_block_size/, (a) => void delete a.c.global_block_size),
      bad<A>('global_block_size 0', RangeError, /config\.global_block_size/, (a) => void (a.c.global_block_size = 0)),
      bad<A>('global_input_layer_norm.weight missing', TypeError, /global_input_layer_norm\.weight/, (a) => void delete a.w['global_input_layer_norm.weight']),
      bad<A>('global_input_layer_norm.weight too long', RangeError, /global_input_layer_norm\.weight/, (a) => void (a.w['global_input_layer_norm.weight'] = new Float32Array(C + 1))),
      bad<A>('global_relative_attention_bias.weight missing', TypeError, /global_relative_attention_bias\.weight/, (a) => void delete a.w['global_relative_attention_bias.weight']),
      bad<A>('global_relative_attention_bias.weight for 16 buckets', RangeError, /global_relative_attention_bias\.weight/, (a) => void (a.w['global_relative_attention_bias.weight'] = new Float32Array(16 * H))),
    ]),
    bad('weights undefined', TypeError, /\bweights\b/, (a) => void (a.w = undefined)),
    bad('weights null', TypeError, /\bweights\b/, (a) => void (a.w = null)),
    bad('weights a number', TypeError, /\bweights\b/, (a) => void (a.w = 1)),
    bad('q.weight missing', TypeError, /q\.weight/, (a) => void delete a.w['q.weight']),
    bad('o.weight missing', TypeError, /o\.weight/, (a) => void delete a.w['o.weight']),
    bad('relative_attention_bias.weight missing', TypeError, /relative_attention_bias\.weight/, (a) => void delete a.w['relative_attention_bias.weight']),
    bad('k.weight one element short', RangeError, /k\.weight/, (a) => void (a.w['k.weight'] = a.w['k.weight'].subarray(1))),
    bad('v.weight a Float64Array', TypeError, /v\.weight/, (a) => void (a.w['v.weight'] = Float64Array.from(a.w['v.weight']))),
    bad('q.weight a plain Array', TypeError, /q\.weight/, (a) => void (a.w['q.weight'] = Array.from(a.w['q.weight']))),
    bad('o.weight as a Tensor [H·D, d_model] (not PyTorch [out, in])', RangeError, /o\.weight/, (a) => void (a.w['o.weight'] = { data: a.w['o.weight'], dims: [HD, C] })),
    bad('q.weight as a Tensor of rank 1', RangeError, /q\.weight/, (a) => void (a.w['q.weight'] = { data: a.w['q.weight'], dims: [HD * C] })),
    bad('q.weight as a Tensor whose data disagrees with its dims', RangeError, /q\.weight/, (a) => void (a.w['q.weight'] = { data: a.w['q.weight'].subarray(2), dims: [HD, C] })),
    bad('relative_attention_bias.weight for 3 heads', RangeError, /relative_attention_bias\.weight/, (a) => void (a.w['relative_attention_bias.weight'] = new Float32Array(NB * 3))),
    bad('weights sized for another d_model', RangeError, /weight/, (a) => void (a.c.d_model = C + 1)),
  ];
  test('the base construction is valid', () => {
    const a = base();
    expect(new Cls(a.c, a.w)).toBeInstanceOf(Cls);
  });
  test.each(rows(CASES))('%s', (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => new Cls(a.c, a.w), c.cls, c.msg);
  });
});

describe.each(KINDS)('%s layer forward / forwardAsync: bad arguments', (kind) => {
  const layer = new CLASSES[kind](layerConfig(kind) as Any, layerWeights(kind));
  const B = 2, N = 9;
  interface A { h: Any; m: Any; o: Any }
  const base = (): A => ({ h: { data: randomData(mulberry32(12), B * N * C), dims: [B, N, C] }, m: new Int32Array(B * N).fill(1), o: undefined });
  const CASES: Case<A>[] = [
    bad('hidden undefined', TypeError, /\bhidden\b/, (a) => void (a.h = undefined)),
    bad('hidden a bare Float32Array', TypeError, /^hidden must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length \d+ — wrap it as \{ data, dims \}$/, (a) => void (a.h = a.h.data)),
    bad('hidden rank 2', RangeError, /\bhidden\b/, (a) => void (a.h.dims = [B * N, C])),
    bad('hidden rank 4', RangeError, /\bhidden\b/, (a) => void (a.h.dims = [1, B, N, C])),
    bad('hidden last dim != d_model', RangeError, /\bhidden\b.*d_model/, (a) => void (a.h.dims = [B, N * 2, C / 2])),
    bad('hidden.data a Float64Array', TypeError, /hidden\.data/, (a) => void (a.h.data = new Float64Array(B * N * C))),
    bad('hidden.data shorter than its dims', RangeError, /hidden\.data/, (a) => void (a.h.data = a.h.data.subarray(C))),
    bad('hidden of type int32 (ORT-style)', TypeError, /\bhidden\b.*float32/, (a) => void (a.h.type = 'int32')),
    bad('hidden detached', TypeError, /hidden\.data.*detached/, (a) => detach(a.h.data.buffer)),
    bad('mask one short', RangeError, /\bmask\b/, (a) => void (a.m = new Int32Array(B * N - 1))),
    bad('mask for one row only', RangeError, /\bmask\b/, (a) => void (a.m = new Uint8Array(N))),
    bad('mask a Float32Array', TypeError, /\bmask\b/, (a) => void (a.m = new Float32Array(B * N))),
    bad('mask a plain Array', TypeError, /^mask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got an Array of length 18 — convert it with Uint8Array\.from/, (a) => void (a.m = new Array(B * N).fill(1))),
    bad('mask holding a 2', RangeError, /^mask\[17\] is 2 \(row 1, column 8\): a mask holds only 0 .* and 1 /, (a) => void (a.m[17] = 2)),
    bad('mask {data, dims} holding a -1', RangeError, /^mask\.data\[9\] is -1 \(row 1, column 0\)/, (a) => {
      a.m[9] = -1;
      a.m = { data: a.m, dims: [B, N] };
    }),
    bad('mask a boolean', TypeError, /\bmask\b/, (a) => void (a.m = true)),
    bad('mask {data, dims} transposed', RangeError, /\bmask\b/, (a) => void (a.m = { data: a.m, dims: [N, B] })),
    bad('mask {data, dims} rank 3', RangeError, /\bmask\b/, (a) => void (a.m = { data: a.m, dims: [B, N, 1] })),
    bad('mask detached', TypeError, /\bmask\b.*detached/, (a) => detach(a.m.buffer)),
    bad('options a string', TypeError, /options/, (a) => void (a.o = 'fast')),
    bad('unknown option mask (belongs in the 2nd argument)', TypeError, /\bmask\b/, (a) => void (a.o = { mask: a.m })),
    bad('unknown option (typo outt)', TypeError, /outt/, (a) => void (a.o = { outt: new Float32Array(B * N * C) })),
    bad('out too small', RangeError, /options\.out/, (a) => void (a.o = { out: new Float32Array(B * N * C - 1) })),
    bad('out a Float64Array', TypeError, /options\.out/, (a) => void (a.o = { out: new Float64Array(B * N * C) })),
    bad('out shares hidden\'s memory', RangeError, /options\.out/, (a) => void (a.o = { out: a.h.data })),
    bad('threads negative', RangeError, /options\.threads/, (a) => void (a.o = { threads: -2 })),
    bad('threads a string', TypeError, /options\.threads/, (a) => void (a.o = { threads: 'all' })),
  ];
  test('the base call is valid, with and without a mask', async () => {
    const a = base();
    expect(layer.forward(a.h, a.m).dims).toEqual([B, N, C]);
    expect((await layer.forwardAsync(a.h)).dims).toEqual([B, N, C]);
  });
  test.each(rows(CASES))('%s', async (_n, c) => {
    const a = base();
    c.make(a);
    expectThrow(() => layer.forward(a.h, a.m, a.o), c.cls, c.msg);
    const b = base();
    c.make(b);
    await expectReject(() => layer.forwardAsync(b.h, b.m, b.o), c.cls, c.msg);
  });
});

// ---------------------------------------------------------------------------------------------
// fromSafetensors(path, prefix?, config?)

describe('fromSafetensors: bad files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-longt5-bad-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  type Tensors = Record<string, { dtype?: Any; shape: number[]; data: Any }>;
  const tensorsOf = (kind: Kind, prefix = ''): Tensors => {
    const w = layerWeights(kind);
    const dims: Record<string, number[]> = {
      'q.weight': [HD, C], 'k.weight': [HD, C], 'v.weight': [HD, C], 'o.weight': [C, HD],
      'relative_attention_bias.weight': [NB, H], 'global_relative_attention_bias.weight': [NB, H], 'global_input_layer_norm.weight': [C],
    };
    const t: Tensors = {};
    for (const [n, d] of Object.entries(w)) t[prefix + n] = { shape: dims[n], data: d };
    return t;
  };
  const write = (name: string, bytes: Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };
  const good = (kind: Kind, name: string, mutate?: (t: Tensors, meta: Record<string, string>) => void, prefix = '') => {
    const t = tensorsOf(kind, prefix);
    const meta: Record<string, string> = { config: JSON.stringify(layerConfig(kind)) };
    mutate?.(t, meta);
    return write(name, writeSafetensors(t as Any, meta));
  };
  /** an Error (any class) whose message matches every pattern */
  const fails = (fn: () => unknown, ...patterns: RegExp[]) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof Error) && !(err && typeof err === 'object' && 'message' in err)) throw new Error(`expected an Error, got ${String(err)}`);
    for (const p of patterns) if (!p.test((err as Error).message)) throw new Error(`message ${JSON.stringify((err as Error).message)} does not match ${p}`);
  };

  test('a valid file loads (the baseline the bad files below depart from), with config from metadata and given', () => {
    for (const kind of KINDS) {
      const p = good(kind, `ok-${kind}.safetensors`);
      const a = CLASSES[kind].fromSafetensors(p);
      const b = new CLASSES[kind](layerConfig(kind) as Any, layerWeights(kind));
      const h = { data: randomData(mulberry32(1), 2 * 7 * C), dims: [2, 7, C] };
      expect(maxAbsDiff(a.forward(h).data, b.forward(h).data)).toBe(0);
      // an explicit config wins over the metadata
      const c = CLASSES[kind].fromSafetensors(p, undefined, { ...layerConfig(kind), layer_norm_epsilon: 0.25 } as Any);
      expect(c.config.layer_norm_epsilon).toBe(0.25);
    }
  });

  test('prefix: tensors under a state-dict prefix; F64 weights are accepted (rounded to float32)', () => {
    const prefix = 'encoder.block.0.layer.0.TransientGlobalSelfAttention.';
    const p = good('tglobal', 'prefixed.safetensors', (t) => {
      t[prefix + 'q.weight'] = { shape: [HD, C], data: Float64Array.from(t[prefix + 'q.weight'].data) };
    }, prefix);
    const a = LongT5TransientGlobalAttention.fromSafetensors(p, prefix);
    const b = new LongT5TransientGlobalAttention(layerConfig('tglobal') as Any, layerWeights('tglobal'));
    const h = { data: randomData(mulberry32(2), 9 * C), dims: [1, 9, C] };
    expect(maxAbsDiff(a.forward(h).data, b.forward(h).data)).toBe(0);
    // without the prefix nothing is found
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(p), /q\.weight/, /missing/);
    // a wrong prefix names the tensor it looked for
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(p, 'decoder.'), /decoder\.q\.weight/);
  });

  test('path and prefix of the wrong type: TypeError naming them (also for the other classes)', () => {
    for (const kind of KINDS) {
      expectThrow(() => CLASSES[kind].fromSafetensors(5 as Any), TypeError, /\bpath\b/);
      expectThrow(() => CLASSES[kind].fromSafetensors(undefined as Any), TypeError, /\bpath\b/);
      expectThrow(() => CLASSES[kind].fromSafetensors(path.join(dir, `ok-${kind}.safetensors`), 7 as Any), TypeError, /\bprefix\b/);
    }
  });

  test('a missing file: Error naming the path', () => {
    const p = path.join(dir, 'does-not-exist.safetensors');
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(p), /does-not-exist\.safetensors/);
    fails(() => LongT5LocalAttention.fromSafetensors(p), /does-not-exist\.safetensors/);
    // a directory is not a file either
    fails(() => LongT5Attention.fromSafetensors(dir), /not a regular file|EISDIR|illegal operation/i);
  });

  test('truncated files: Error naming the file', () => {
    const bytes = fs.readFileSync(good('tglobal', 'full.safetensors'));
    const cut = (n: number, name: string) => write(name, bytes.subarray(0, n));
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(cut(0, 'empty.safetensors')), /empty\.safetensors/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(cut(5, 'cut5.safetensors')), /cut5\.safetensors/, /truncated|short/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(cut(100, 'cut-header.safetensors')), /cut-header\.safetensors/, /header/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(cut(bytes.length - 4, 'cut-data.safetensors')), /cut-data\.safetensors/, /truncated|past the end/);
  });

  test('bad headers: Error naming the file', () => {
    const withHeader = (json: string, name: string, extra = 0) => {
      const h = new TextEncoder().encode(json);
      const b = new Uint8Array(8 + h.length + extra);
      new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
      b.set(h, 8);
      return write(name, b);
    };
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(withHeader('{"q.weight": ', 'json.safetensors')), /json\.safetensors/, /JSON/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(withHeader('[1, 2]', 'array.safetensors')), /array\.safetensors/, /object/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(withHeader('{"q.weight": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}', 'dtype.safetensors', 4)),
      /dtype\.safetensors/, /F99/);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(withHeader('{"q.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', 'size.safetensors', 4)),
      /size\.safetensors/, /q\.weight/);
    // a header length far beyond the file
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(write('hugeheader.safetensors', b)), /hugeheader\.safetensors/, /header length/);
  });

  test.each(KINDS)('%s: a missing tensor is an Error naming it and the file', (kind) => {
    const p = good(kind, `missing-o-${kind}.safetensors`, (t) => void delete t['o.weight']);
    fails(() => CLASSES[kind].fromSafetensors(p), /o\.weight/, /missing/, new RegExp(`missing-o-${kind}`));
    const p2 = good(kind, `missing-rel-${kind}.safetensors`, (t) => void delete t['relative_attention_bias.weight']);
    fails(() => CLASSES[kind].fromSafetensors(p2), /relative_attention_bias\.weight/);
  });

  test('tglobal: a missing global_input_layer_norm.weight', () => {
    const p = good('tglobal', 'missing-norm.safetensors', (t) => void delete t['global_input_layer_norm.weight']);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(p), /global_input_layer_norm\.weight/, /missing/);
  });

  test('a weight of a non-float dtype (I32, U8, I64): Error naming the tensor and the dtype', () => {
    const cases: [string, Any][] = [['I32', new Int32Array(HD * C)], ['U8', new Uint8Array(HD * C)], ['I64', new BigInt64Array(HD * C)]];
    for (const [dtype, data] of cases) {
      const p = good('tglobal', `dtype-${dtype}.safetensors`, (t) => void (t['q.weight'] = { dtype, shape: [HD, C], data }));
      fails(() => LongT5TransientGlobalAttention.fromSafetensors(p), /q\.weight/, new RegExp(dtype));
    }
  });

  test('a weight of the wrong shape: RangeError naming it', () => {
    const p = good('local', 'shape.safetensors', (t) => void (t['k.weight'] = { shape: [HD, C + 1], data: new Float32Array(HD * (C + 1)) }));
    expectThrow(() => LongT5LocalAttention.fromSafetensors(p), RangeError, /k\.weight/);
    const p2 = good('full', 'transposed.safetensors', (t) => void (t['relative_attention_bias.weight'] = { shape: [H, NB], data: t['relative_attention_bias.weight'].data }));
    expectThrow(() => LongT5Attention.fromSafetensors(p2), RangeError, /relative_attention_bias\.weight/);
  });

  test('metadata config: invalid JSON, absent, not an object, missing or bad fields', () => {
    const bad1 = good('tglobal', 'cfg-json.safetensors', (_t, m) => void (m.config = '{"d_model": 8,'));
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(bad1), /config/, /JSON/, /cfg-json\.safetensors/);
    const bad2 = good('tglobal', 'cfg-none.safetensors', (_t, m) => void delete m.config);
    fails(() => LongT5TransientGlobalAttention.fromSafetensors(bad2), /config/, /cfg-none\.safetensors/);
    // ... but an explicit config makes that file loadable
    expect(LongT5TransientGlobalAttention.fromSafetensors(bad2, '', layerConfig('tglobal') as Any)).toBeInstanceOf(LongT5TransientGlobalAttention);
    for (const text of ['null', '5', '"d_model"', '[8, 3, 2]']) {
      const p = good('local', `cfg-${text.replace(/\W/g, '')}x.safetensors`, (_t, m) => void (m.config = text));
      expectThrow(() => LongT5LocalAttention.fromSafetensors(p), TypeError, /\bconfig\b/);
    }
    const bad3 = good('tglobal', 'cfg-fields.safetensors', (_t, m) => void (m.config = JSON.stringify({ ...layerConfig('tglobal'), global_block_size: undefined })));
    expectThrow(() => LongT5TransientGlobalAttention.fromSafetensors(bad3), TypeError, /config\.global_block_size/);
    const bad4 = good('local', 'cfg-radius.safetensors', (_t, m) => void (m.config = JSON.stringify({ ...layerConfig('local'), local_radius: -3 })));
    expectThrow(() => LongT5LocalAttention.fromSafetensors(bad4), RangeError, /config\.local_radius/);
    // the file's config must fit its tensors
    const bad5 = good('full', 'cfg-heads.safetensors', (_t, m) => void (m.config = JSON.stringify({ ...layerConfig('full'), num_heads: 3 })));
    expectThrow(() => LongT5Attention.fromSafetensors(bad5), RangeError, /weight/);
  });

  test('an explicit config that is not an object: TypeError', () => {
    const p = path.join(dir, 'ok-local.safetensors');
    expectThrow(() => LongT5LocalAttention.fromSafetensors(p, '', 'config' as Any), TypeError, /\bconfig\b/);
    expectThrow(() => LongT5LocalAttention.fromSafetensors(p, '', null as Any), TypeError, /\bconfig\b/);
  });
});
