// Bad input to attention()/attentionAsync(): every case must throw a TypeError (wrong kind of
// thing) or RangeError (right kind, wrong size/value) whose message names the argument, and the
// async form must reject with the same class instead of throwing synchronously. Plus the inputs
// that look odd but are valid: views at a byteOffset, SharedArrayBuffer-backed arrays, zero sizes.
import { attention, attentionAsync, AttentionOptions, setIsa, setThreads, info } from '../lib/index';
import { maxAbsDiff, mulberry32, randomData, randomMask, referenceAttention } from './helpers/fixtures';

type T = { data: any; dims: any; type?: any };
interface Args { q: any; k: any; v: any; o?: any }

// A valid call: B 2, H 4, Hk 2, Nq 5, Nk 6, D 3, Dv 7.
const B = 2, H = 4, Hk = 2, Nq = 5, Nk = 6, D = 3, Dv = 7;
function base(): Args & { q: T; k: T; v: T; o: AttentionOptions } {
  const rng = mulberry32(5);
  return {
    q: { data: randomData(rng, B * H * Nq * D), dims: [B, H, Nq, D] },
    k: { data: randomData(rng, B * Hk * Nk * D), dims: [B, Hk, Nk, D] },
    v: { data: randomData(rng, B * Hk * Nk * Dv), dims: [B, Hk, Nk, Dv] },
    o: {},
  };
}

/** Detaches (transfers away) an ArrayBuffer, as postMessage with a transfer list does. */
function detach(buf: ArrayBufferLike): void {
  structuredClone(buf, { transfer: [buf as ArrayBuffer] });
}

type Cls = typeof TypeError | typeof RangeError;
interface Bad { name: string; make: (a: ReturnType<typeof base>) => Args; cls: Cls; msg: RegExp }

const bad = (name: string, cls: Cls, msg: RegExp, make: (a: ReturnType<typeof base>) => Args | void): Bad => ({
  name,
  cls,
  msg,
  make: (a) => make(a) ?? a,
});

const CASES: Bad[] = [
  // --- wrong types
  bad('q undefined', TypeError, /\bq\b/, (a) => ({ ...a, q: undefined })),
  bad('q null', TypeError, /\bq\b/, (a) => ({ ...a, q: null })),
  bad('q a number', TypeError, /\bq\b/, (a) => ({ ...a, q: 42 })),
  bad('q a string', TypeError, /\bq\b/, (a) => ({ ...a, q: 'tensor' })),
  bad('q a bare Float32Array', TypeError, /^q must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length 120 — wrap it as \{ data, dims \}$/,
    (a) => ({ ...a, q: a.q.data })),
  bad('k an array', TypeError, /^k must be a Tensor \{ data: Float32Array, dims \}, got an Array of length 1 — convert it with Float32Array\.from/, (a) => ({ ...a, k: [a.k.data] })),
  bad('q an array of numbers', TypeError, /^q must be a Tensor .*got an Array of length 120 — convert it with Float32Array\.from\(\.\.\.\) and wrap it as \{ data, dims \}$/,
    (a) => ({ ...a, q: Array.from(a.q.data) })),
  bad('q undefined says undefined (once)', TypeError, /^q must be a Tensor \{ data: Float32Array, dims \}, got undefined$/, (a) => ({ ...a, q: undefined })),
  bad('v a function', TypeError, /\bv\b/, (a) => ({ ...a, v: () => 1 })),
  bad('q.data a plain Array', TypeError, /^q\.data must be a Float32Array, got an Array of length 120 — convert it with Float32Array\.from\(\.\.\.\)$/, (a) => void (a.q.data = Array.from(a.q.data))),
  bad('q.data a Float64Array', TypeError, /^q\.data must be a Float32Array, got a Float64Array of length 120 — convert it with Float32Array\.from/, (a) => void (a.q.data = Float64Array.from(a.q.data))),
  bad('k.data a Uint8Array', TypeError, /k\.data/, (a) => void (a.k.data = new Uint8Array(a.k.data.length))),
  bad('v.data an Int32Array', TypeError, /v\.data/, (a) => void (a.v.data = new Int32Array(a.v.data.length))),
  bad('v.data missing', TypeError, /^v\.data must be a Float32Array, got undefined$/, (a) => void delete a.v.data),
  bad('v.data an ArrayBuffer', TypeError, /v\.data/, (a) => void (a.v.data = a.v.data.buffer)),
  bad('q.dims missing', TypeError, /q\.dims/, (a) => void delete a.q.dims),
  bad('q.dims a string', TypeError, /q\.dims/, (a) => void (a.q.dims = '2,4,5,3')),
  bad('q.dims a number', TypeError, /q\.dims/, (a) => void (a.q.dims = 120)),
  bad('q.dims an object', TypeError, /q\.dims/, (a) => void (a.q.dims = { 0: 2, 1: 4, 2: 5, 3: 3, length: 4 })),
  bad('k.dims of strings', TypeError, /k\.dims\[0\]/, (a) => void (a.k.dims = a.k.dims.map(String))),
  bad('v.dims with a null', TypeError, /v\.dims\[2\]/, (a) => void (a.v.dims = [B, Hk, null, Dv])),
  bad('q of type int32 (ORT-style tensor)', TypeError, /\bq\b.*float32/, (a) => void (a.q.type = 'int32')),

  // --- sizes that disagree with the data
  bad('q.dims product != data length', RangeError, /q\.data/, (a) => void (a.q.dims = [B, H, Nq + 1, D])),
  bad('v.data one element short', RangeError, /v\.data/, (a) => void (a.v.data = a.v.data.subarray(1))),
  bad('q rank 3', RangeError, /\bq\b.*4 dims/, (a) => void (a.q.dims = [B * H, Nq, D])),
  bad('k rank 5', RangeError, /\bk\b.*4 dims/, (a) => void (a.k.dims = [1, B, Hk, Nk, D])),
  bad('v rank 0', RangeError, /\bv\b.*4 dims/, (a) => void ((a.v.dims = []), (a.v.data = new Float32Array(1)))),
  bad('batch of k differs', RangeError, /batch.*\bk\b/, (a) => void ((a.k.dims = [1, Hk, Nk * 2, D]))),
  bad('batch of v differs', RangeError, /batch.*\bv\b/, (a) => void ((a.v.dims = [1, Hk * 2, Nk, Dv]))),
  bad('heads of k and v differ', RangeError, /\bk\b.*\bv\b.*heads/, (a) => void (a.v.dims = [B, 1, Nk * 2, Dv])),
  bad('sequence of k and v differs', RangeError, /\bk\b.*\bv\b.*sequence/, (a) => void (a.v.dims = [B, Hk, Nk / 2, Dv * 2])),
  bad('D of q and k differs', RangeError, /\bq\b.*\bk\b.*\bD\b/, (a) => void (a.q.dims = [B, H, Nq * D, 1])),
  bad('H not a multiple of Hk', RangeError, /heads.*multiple/, (a) => {
    const rng = mulberry32(1);
    a.k = { data: randomData(rng, B * 3 * Nk * D), dims: [B, 3, Nk, D] };
    a.v = { data: randomData(rng, B * 3 * Nk * Dv), dims: [B, 3, Nk, Dv] };
  }),
  bad('Hk 0 with H > 0', RangeError, /heads.*multiple/, (a) => {
    a.k = { data: new Float32Array(0), dims: [B, 0, Nk, D] };
    a.v = { data: new Float32Array(0), dims: [B, 0, Nk, Dv] };
  }),

  // --- bad dims values
  bad('negative dim', RangeError, /q\.dims\[2\]/, (a) => void (a.q.dims = [B, H, -Nq, D])),
  bad('fractional dim', RangeError, /k\.dims\[3\]/, (a) => void (a.k.dims = [B, Hk, Nk, 2.5])),
  bad('infinite dim', RangeError, /v\.dims\[0\]/, (a) => void (a.v.dims = [Infinity, Hk, Nk, Dv])),
  bad('NaN dim', RangeError, /q\.dims\[1\]/, (a) => void (a.q.dims = [B, NaN, Nq, D])),
  bad('dim 2^53', RangeError, /q\.dims\[0\]|\bq\b/, (a) => void (a.q.dims = [2 ** 53, 1, 1, 1])),
  bad('overflowing dims [2^20]x4 with tiny data', RangeError, /\bq\b.*(too many|elements)/, (a) => void (a.q.dims = [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20])),
  bad('overflowing dims of k', RangeError, /\bk\b.*(too many|elements)/, (a) => void (a.k.dims = [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20])),
  bad('output too large ([1,1,2^13,1] x Dv 2^20) with small inputs', RangeError, /output|out/, (a) => {
    a.q = { data: new Float32Array(2 ** 13), dims: [1, 1, 2 ** 13, 1] };
    a.k = { data: new Float32Array(1), dims: [1, 1, 1, 1] };
    a.v = { data: new Float32Array(2 ** 20), dims: [1, 1, 1, 2 ** 20] };
  }),

  // --- scale
  bad('scale NaN', RangeError, /options\.scale/, (a) => void (a.o.scale = NaN)),
  bad('scale Infinity', RangeError, /options\.scale/, (a) => void (a.o.scale = Infinity)),
  bad('scale -Infinity', RangeError, /options\.scale/, (a) => void (a.o.scale = -Infinity)),
  bad('scale a string', TypeError, /options\.scale/, (a) => void (a.o.scale = '0.5' as any)),
  bad('scale a bigint', TypeError, /options\.scale/, (a) => void (a.o.scale = 1n as any)),
  bad('scale null', TypeError, /options\.scale/, (a) => void (a.o.scale = null as any)),

  // --- options object and its members
  bad('options a number', TypeError, /options/, (a) => ({ ...a, o: 5 })),
  bad('options a string', TypeError, /options/, (a) => ({ ...a, o: 'causal' })),
  bad('options an array', TypeError, /options/, (a) => ({ ...a, o: [1] })),
  bad('unknown option (typo scael)', TypeError, /scael/, (a) => ({ ...a, o: { scael: 1 } })),
  bad('unknown option mask', TypeError, /\bmask\b/, (a) => ({ ...a, o: { mask: new Uint8Array(B * Nk) } })),
  bad('returnWeights a number', TypeError, /^options\.returnWeights must be a boolean, got number 1$/, (a) => void (a.o.returnWeights = 1 as any)),
  bad('causal a number', TypeError, /options\.causal/, (a) => void (a.o.causal = 1 as any)),
  bad('causal a string', TypeError, /options\.causal/, (a) => void (a.o.causal = 'true' as any)),
  bad('threads negative', RangeError, /options\.threads/, (a) => void (a.o.threads = -1)),
  bad('threads fractional', RangeError, /options\.threads/, (a) => void (a.o.threads = 1.5)),
  bad('threads NaN', RangeError, /options\.threads/, (a) => void (a.o.threads = NaN)),
  bad('threads Infinity', RangeError, /options\.threads/, (a) => void (a.o.threads = Infinity)),
  bad('threads huge', RangeError, /options\.threads/, (a) => void (a.o.threads = 2 ** 31)),
  bad('threads a string', TypeError, /options\.threads/, (a) => void (a.o.threads = '2' as any)),

  // --- out
  bad('out too small', RangeError, /options\.out/, (a) => void (a.o.out = new Float32Array(B * H * Nq * Dv - 1))),
  bad('out too large', RangeError, /options\.out/, (a) => void (a.o.out = new Float32Array(B * H * Nq * Dv + 1))),
  bad('out a Float64Array', TypeError, /options\.out/, (a) => void (a.o.out = new Float64Array(B * H * Nq * Dv) as any)),
  bad('out a plain Array', TypeError, /^options\.out must be a Float32Array, got an Array of length 280$/, (a) => void (a.o.out = new Array(B * H * Nq * Dv).fill(0) as any)),
  bad('out a Tensor object', TypeError, /^options\.out must be a Float32Array, got an object — pass its data: the output buffer is the Float32Array itself$/, (a) => void (a.o.out = { data: new Float32Array(B * H * Nq * Dv), dims: [B, H, Nq, Dv] } as any)),
  bad('out is q.data', RangeError, /options\.out.*overlap/, (a) => {
    const buf = new Float32Array(B * H * Nq * Dv);
    a.q.data = buf.subarray(0, B * H * Nq * D);
    a.o.out = buf;
  }),
  bad('out overlaps the tail of k.data', RangeError, /options\.out.*overlap/, (a) => {
    const n = B * H * Nq * Dv;
    const buf = new Float32Array(a.k.data.length + n - 1);
    buf.set(a.k.data);
    a.k.data = buf.subarray(0, a.k.data.length);
    a.o.out = buf.subarray(a.k.data.length - 1);
  }),
  bad('out overlaps v.data (same buffer, offset view)', RangeError, /options\.out.*overlap/, (a) => {
    const n = B * H * Nq * Dv;
    const buf = new Float32Array(n + 10);
    a.v.data = buf.subarray(5, 5 + a.v.data.length);
    a.o.out = buf.subarray(10, 10 + n);
  }),
  bad('out overlaps options.bias', RangeError, /options\.out.*overlap/, (a) => {
    const n = B * H * Nq * Dv;
    const buf = new Float32Array(n + Nk);
    a.o.bias = { data: buf.subarray(n - 1, n - 1 + Nk), dims: [Nk] };
    a.o.out = buf.subarray(0, n);
  }),


  // --- keyMask
  bad('keyMask too short', RangeError, /options\.keyMask/, (a) => void (a.o.keyMask = new Uint8Array(B * Nk - 1))),
  bad('keyMask too long', RangeError, /options\.keyMask/, (a) => void (a.o.keyMask = new Int32Array(B * Nk + 1))),
  bad('keyMask a Float32Array', TypeError, /^options\.keyMask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got a Float32Array of length 12 — convert it with Uint8Array\.from/, (a) => void (a.o.keyMask = new Float32Array(B * Nk) as any)),
  bad('keyMask an Int8Array', TypeError, /options\.keyMask/, (a) => void (a.o.keyMask = new Int8Array(B * Nk) as any)),
  bad('keyMask a plain Array', TypeError, /^options\.keyMask must be an Int32Array or Uint8Array of 0\/1 values, plain or as \{ data, dims \}, got an Array of length 12 — convert it with Uint8Array\.from\(\.\.\.\)$/, (a) => void (a.o.keyMask = new Array(B * Nk).fill(1) as any)),
  bad('keyMask a string', TypeError, /^options\.keyMask must be an Int32Array or Uint8Array .*, got string 111$/, (a) => void (a.o.keyMask = '111' as any)),
  bad('keyMask {data, dims} with wrong dims', RangeError, /options\.keyMask/, (a) => void (a.o.keyMask = { data: new Uint8Array(B * Nk), dims: [Nk, B] })),
  bad('keyMask {data, dims} rank 1', RangeError, /options\.keyMask/, (a) => void (a.o.keyMask = { data: new Uint8Array(B * Nk), dims: [B * Nk] })),
  bad('keyMask {data, dims} data too short', RangeError, /options\.keyMask/, (a) => void (a.o.keyMask = { data: new Uint8Array(B * Nk - 2), dims: [B, Nk] })),
  bad('keyMask {data, dims} data a Float32Array', TypeError, /^options\.keyMask\.data must be an Int32Array or Uint8Array of 0\/1 values, got a Float32Array of length 12/, (a) => void (a.o.keyMask = { data: new Float32Array(B * Nk), dims: [B, Nk] } as any)),
  bad('keyMask {data, dims} string dims', TypeError, /options\.keyMask\.dims/, (a) => void (a.o.keyMask = { data: new Uint8Array(B * Nk), dims: 'B,Nk' } as any)),
  bad('keyMask {data, dims} data a plain Array', TypeError, /^options\.keyMask\.data must be an Int32Array or Uint8Array of 0\/1 values, got an Array of length 12/,
    (a) => void (a.o.keyMask = { data: new Array(B * Nk).fill(1), dims: [B, Nk] } as any)),
  bad('keyMask an ArrayBuffer', TypeError, /^options\.keyMask must be an Int32Array or Uint8Array .*, got an ArrayBuffer$/, (a) => void (a.o.keyMask = new ArrayBuffer(B * Nk) as any)),
  // values other than 0/1: the kernels would read them as 1, silently
  bad('keyMask holding a 2 (Uint8Array)', RangeError, /^options\.keyMask\[7\] is 2 \(row 1, column 1\): a mask holds only 0 .* and 1 /, (a) => {
    const m = new Uint8Array(B * Nk).fill(1);
    m[7] = 2;
    m[9] = 3;  // only the first bad value is named
    a.o.keyMask = m;
  }),
  bad('keyMask holding a -1 (Int32Array)', RangeError, /^options\.keyMask\[0\] is -1 \(row 0, column 0\)/, (a) => void (a.o.keyMask = new Int32Array(B * Nk).fill(-1))),
  bad('keyMask holding 255 (Uint8Array, e.g. a bool mask written as 0xff)', RangeError, /^options\.keyMask\[11\] is 255 \(row 1, column 5\)/, (a) => {
    const m = new Uint8Array(B * Nk).fill(1);
    m[11] = 255;
    a.o.keyMask = m;
  }),
  bad('keyMask {data, dims} holding a 2', RangeError, /^options\.keyMask\.data\[3\] is 2 \(row 0, column 3\)/, (a) => {
    const data = new Int32Array(B * Nk).fill(0);
    data[3] = 2;
    a.o.keyMask = { data, dims: [B, Nk] };
  }),
  bad('keyMask holding 2^31 - 1', RangeError, /^options\.keyMask\[5\] is 2147483647/, (a) => {
    const m = new Int32Array(B * Nk).fill(1);
    m[5] = 2 ** 31 - 1;
    a.o.keyMask = m;
  }),

  // --- bias
  bad('bias not broadcastable (Nk + 1)', RangeError, /options\.bias/, (a) => void (a.o.bias = { data: new Float32Array(B * H * Nq * (Nk + 1)), dims: [B, H, Nq, Nk + 1] })),
  bad('bias not broadcastable (H 2 of 4)', RangeError, /options\.bias/, (a) => void (a.o.bias = { data: new Float32Array(B * 2 * Nq * Nk), dims: [B, 2, Nq, Nk] })),
  bad('bias [Nk, Nq] (transposed)', RangeError, /options\.bias/, (a) => void (a.o.bias = { data: new Float32Array(Nq * Nk), dims: [Nk, Nq] })),
  bad('bias rank 5', RangeError, /options\.bias/, (a) => void (a.o.bias = { data: new Float32Array(B * H * Nq * Nk), dims: [1, B, H, Nq, Nk] })),
  bad('bias data length disagrees with dims', RangeError, /options\.bias/, (a) => void (a.o.bias = { data: new Float32Array(Nk - 1), dims: [1, 1, 1, Nk] })),
  bad('bias data a Float64Array', TypeError, /options\.bias\.data/, (a) => void (a.o.bias = { data: new Float64Array(Nk), dims: [Nk] } as any)),
  bad('bias a bare Float32Array', TypeError, /^options\.bias must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length 240 — wrap it as \{ data, dims \}$/, (a) => void (a.o.bias = new Float32Array(B * H * Nq * Nk) as any)),
  bad('bias dims negative', RangeError, /options\.bias\.dims\[0\]/, (a) => void (a.o.bias = { data: new Float32Array(Nk), dims: [-1, Nk] })),

  // --- detached buffers
  bad('q.data detached', TypeError, /q\.data.*detached/, (a) => detach(a.q.data.buffer)),
  bad('k.data detached', TypeError, /k\.data.*detached/, (a) => detach(a.k.data.buffer)),
  bad('v.data detached', TypeError, /v\.data.*detached/, (a) => detach(a.v.data.buffer)),
  bad('out detached', TypeError, /options\.out.*detached/, (a) => {
    a.o.out = new Float32Array(B * H * Nq * Dv);
    detach(a.o.out.buffer);
  }),
  bad('keyMask detached', TypeError, /options\.keyMask.*detached/, (a) => {
    const m = new Uint8Array(B * Nk).fill(1);
    detach(m.buffer);
    a.o.keyMask = m;
  }),
  bad('bias detached', TypeError, /options\.bias.*detached/, (a) => {
    const data = new Float32Array(Nk);
    a.o.bias = { data, dims: [Nk] };
    detach(data.buffer);
  }),
  bad('q.data detached via MessageChannel', TypeError, /q\.data.*detached/, (a) => {
    const ch = new MessageChannel();
    ch.port1.postMessage(null, [a.q.data.buffer]);
    ch.port1.close();
    ch.port2.close();
  }),
];

function assertError(err: unknown, c: Bad, how: string): void {
  if (!(err instanceof Error) && !(err && typeof err === 'object' && 'message' in err))
    throw new Error(`${c.name} (${how}): expected ${c.cls.name}, got ${err === undefined ? 'no error' : String(err)}`);
  const e = err as Error;
  // Compare by name as well as class: an error made by the native addon comes from another realm.
  if (e.name !== c.cls.name) throw new Error(`${c.name} (${how}): expected ${c.cls.name}, got ${e.name}: ${e.message}`);
  expect(e.constructor.name).toBe(c.cls.name);
  if (!c.msg.test(e.message)) throw new Error(`${c.name} (${how}): message ${JSON.stringify(e.message)} does not match ${c.msg}`);
}

describe('attention() throws, attentionAsync() rejects, with a class and a message naming the argument', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const a = c.make(base());
    let syncErr: unknown;
    try {
      attention(a.q, a.k, a.v, a.o);
    } catch (e) {
      syncErr = e;
    }
    assertError(syncErr, c, 'sync');

    const b = c.make(base());
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = attentionAsync(b.q, b.k, b.v, b.o);
    }).not.toThrow();
    expect(p).toBeInstanceOf(Promise);
    let asyncErr: unknown;
    await p!.then(
      () => undefined,
      (e) => void (asyncErr = e),
    );
    assertError(asyncErr, c, 'async');
  });
});

test('overflowing dims are rejected before any allocation', () => {
  const q = { data: new Float32Array(4), dims: [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20] };
  const k = { data: new Float32Array(4), dims: [1, 1, 4, 1] };
  const before = process.memoryUsage().arrayBuffers;
  const t0 = Date.now();
  expect(() => attention(q, k, k)).toThrow(RangeError);
  // output 2^60 elements; and one whose output alone is too big (q, k, v small)
  expect(() => attention({ data: new Float32Array(2 ** 13), dims: [1, 1, 2 ** 13, 1] }, { data: new Float32Array(1), dims: [1, 1, 1, 1] },
    { data: new Float32Array(2 ** 20), dims: [1, 1, 1, 2 ** 20] })).toThrow(RangeError);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
});

describe('setThreads / setIsa reject bad values', () => {
  test('setThreads', () => {
    const keep = info().threads;
    expect(() => setThreads(-1)).toThrow(RangeError);
    expect(() => setThreads(1.5)).toThrow(RangeError);
    expect(() => setThreads(NaN)).toThrow(RangeError);
    expect(() => setThreads('2' as any)).toThrow(TypeError);
    expect(() => setThreads(undefined as any)).toThrow(/threads/);
    expect(info().threads).toBe(keep);
  });
  test('setIsa', () => {
    const keep = info().isa;
    expect(() => setIsa('avx9000')).toThrow(RangeError);
    expect(() => setIsa('avx9000')).toThrow(/avx9000/);
    expect(() => setIsa(5 as any)).toThrow(TypeError);
    expect(info().isa).toBe(keep);
  });
});

// ------------------------------------------------------------------------------------------
// Valid but unusual inputs

function expectMatchesReference(out: { data: Float32Array }, a: { q: T; k: T; v: T }, o: AttentionOptions, mask?: Uint8Array): void {
  const ref = referenceAttention(a.q, a.k, a.v, { scale: o.scale, causal: o.causal, bias: o.bias, keyMask: mask });
  expect(maxAbsDiff(out.data, ref)).toBeLessThan(1e-5);
}

/** Copies a typed array into a view that starts `offsetElems` elements into a larger buffer (of the given kind). */
function placeAt<A extends Float32Array | Uint8Array | Int32Array>(src: A, offsetElems: number, shared = false): A {
  const C = src.constructor as { new (b: ArrayBufferLike, o: number, n: number): A; BYTES_PER_ELEMENT: number };
  const bytes = (src.length + offsetElems + 3) * C.BYTES_PER_ELEMENT;
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const view = new C(buf, offsetElems * C.BYTES_PER_ELEMENT, src.length);
  view.set(src as any);
  return view;
}

function unusualArgs(shared: boolean, offset: number) {
  const a = base();
  const rng = mulberry32(77);
  const mask = randomMask(rng, B * Nk, 0.6);
  mask[0] = 1;
  mask[Nk] = 1;
  const bias = { data: randomData(rng, H * Nq * Nk), dims: [H, Nq, Nk] };
  const placed = {
    q: { data: placeAt(a.q.data, offset, shared), dims: a.q.dims },
    k: { data: placeAt(a.k.data, offset + 1, shared), dims: a.k.dims },
    v: { data: placeAt(a.v.data, offset + 2, shared), dims: a.v.dims },
  };
  const o: AttentionOptions = {
    causal: true,
    keyMask: placeAt(mask, offset + 3, shared),
    bias: { data: placeAt(bias.data, offset + 1, shared), dims: bias.dims },
    out: placeAt(new Float32Array(B * H * Nq * Dv).fill(NaN), offset + 5, shared),
  };
  return { a, placed, o, mask, bias };
}

describe('views at a byteOffset into a larger buffer', () => {
  test.each([1, 3, 17])('offset %i elements: sync and async match the reference and a plain-array call', async (offset) => {
    const { a, placed, o, mask, bias } = unusualArgs(false, offset);
    expect(placed.q.data.byteOffset).toBe(offset * 4);
    const plain = attention(a.q, a.k, a.v, { causal: true, keyMask: mask, bias });
    const sync = attention(placed.q, placed.k, placed.v, o);
    expect(sync.data).toBe(o.out);
    expect(maxAbsDiff(sync.data, plain.data)).toBe(0);
    expectMatchesReference(sync, a, { causal: true, bias }, mask);
    // nothing outside out was written (the buffer around it is zero-filled)
    const whole = new Float32Array(o.out!.buffer);
    const first = o.out!.byteOffset / 4;
    expect(whole[first - 1]).toBe(0);
    expect(whole[first + o.out!.length]).toBe(0);
    expect(o.out!.every((x) => Number.isFinite(x))).toBe(true);
    const o2 = { ...o, out: placeAt(new Float32Array(B * H * Nq * Dv).fill(NaN), offset, false) };
    const asy = await attentionAsync(placed.q, placed.k, placed.v, o2);
    expect(maxAbsDiff(asy.data, plain.data)).toBe(0);
  });
});

describe('SharedArrayBuffer-backed inputs', () => {
  test('sync and async match a plain-array call', async () => {
    const { a, placed, o, mask, bias } = unusualArgs(true, 2);
    expect(placed.q.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const plain = attention(a.q, a.k, a.v, { causal: true, keyMask: mask, bias });
    const sync = attention(placed.q, placed.k, placed.v, o);
    expect(maxAbsDiff(sync.data, plain.data)).toBe(0);
    expectMatchesReference(sync, a, { causal: true, bias }, mask);
    const o2 = { ...o, out: placeAt(new Float32Array(B * H * Nq * Dv).fill(NaN), 0, true) };
    const asy = await attentionAsync(placed.q, placed.k, placed.v, o2);
    expect(maxAbsDiff(asy.data, plain.data)).toBe(0);
  });
});

describe('zero-size dims', () => {
  const rng = mulberry32(3);
  const t = (dims: number[]) => ({ data: randomData(rng, dims.reduce((x, y) => x * y, 1)), dims });
  const shapes: [string, number[], number[], number[], number[]][] = [
    // name, q, k, v, expected out dims
    ['B = 0', [0, 2, 4, 3], [0, 1, 5, 3], [0, 1, 5, 6], [0, 2, 4, 6]],
    ['Nq = 0', [2, 2, 0, 3], [2, 1, 5, 3], [2, 1, 5, 6], [2, 2, 0, 6]],
    ['Nk = 0 (no keys: zeros)', [2, 2, 4, 3], [2, 1, 0, 3], [2, 1, 0, 6], [2, 2, 4, 6]],
    ['H = Hk = 0', [2, 0, 4, 3], [2, 0, 5, 3], [2, 0, 5, 6], [2, 0, 4, 6]],
    ['Dv = 0', [2, 2, 4, 3], [2, 1, 5, 3], [2, 1, 5, 0], [2, 2, 4, 0]],
    ['D = 0 (all scores 0: the mean of v)', [1, 2, 4, 0], [1, 1, 5, 0], [1, 1, 5, 6], [1, 2, 4, 6]],
  ];
  test.each(shapes)('%s', async (_n, qd, kd, vd, od) => {
    const q = t(qd), k = t(kd), v = t(vd);
    const ref = referenceAttention(q, k, v, { scale: 1 });
    for (const causal of [false, true]) {
      const n = od.reduce((x, y) => x * y, 1);
      const opts = { scale: 1, causal, out: new Float32Array(n).fill(NaN) };
      const s = attention(q, k, v, opts);
      expect(s.dims).toEqual(od);
      expect(s.data.length).toBe(n);
      const r = causal ? referenceAttention(q, k, v, { scale: 1, causal }) : ref;
      expect(maxAbsDiff(s.data, r)).toBeLessThan(1e-6);
      const as = await attentionAsync(q, k, v, { scale: 1, causal });
      expect(as.dims).toEqual(od);
      expect(maxAbsDiff(as.data, r)).toBeLessThan(1e-6);
      // and with a [B, Nk] mask
      const m = new Uint8Array(qd[0] * kd[2]).fill(1);
      const sm = attention(q, k, v, { scale: 1, causal, keyMask: m });
      expect(maxAbsDiff(sm.data, r)).toBeLessThan(1e-6);
    }
    if (kd[2] === 0) for (const x of attention(q, k, v).data) expect(x).toBe(0);
  });
});
