// The generated bad-input suite: every public entry point (sync and async, the layer classes,
// fromSafetensors, the safetensors reader/writer, the runtime knobs, ONNX export when the facade
// has it), crossed with families of bad arguments. Each case knows what it expects:
//   * a TypeError (wrong kind of thing) or RangeError (right kind, wrong size/value) whose message
//     names the argument (sync: thrown; async: a returned Promise that rejects, never a throw), or
//   * an Error naming the file (corrupted / truncated safetensors), or
//   * 'ok': valid but unusual input (views at a byteOffset, SharedArrayBuffer, zero-size dims,
//     Object.create(null) options, arrays detached while an async call runs, extreme but legal
//     sizes) that must compute the same result as a plain call, leave the inputs and the memory
//     around the output untouched, and stay within a time budget.
// Nothing here runs at require time: cases build their arguments when run, in the child process
// (badinput-runner.js), so a crash kills the child, not jest.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const U = require('./util');

const { T, rand, detach, prod } = U;

// ------------------------------------------------------------------------------------------
// argument paths

const DELETE = Symbol('delete');
/** The argument's name in messages: its path, or s.label where the facade calls it differently. */
const argLabel = (s) => s.label ?? label(s.path);
const label = (p) => p.map((s, i) => (i === 0 ? s : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `['${s}']`)).join('');
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const getAt = (o, p) => p.reduce((x, k) => (x == null ? undefined : x[k]), o);
function setAt(o, p, v) {
  let x = o;
  for (let i = 0; i < p.length - 1; i++) {
    if (x[p[i]] === null || typeof x[p[i]] !== 'object') x[p[i]] = {};
    x = x[p[i]];
  }
  if (v === DELETE) delete x[p[p.length - 1]];
  else x[p[p.length - 1]] = v;
}

const TE = ['TypeError'], RE = ['RangeError'], TRE = ['TypeError', 'RangeError'];

// A mutation: a name, the expected error classes, the text its message must contain, and an edit of the args.
const mut = (name, expect, msg, apply, extra = {}) => ({ name, expect, msg: msg instanceof RegExp ? msg : new RegExp(esc(msg)), apply, ...extra });
/** Accepts both classes but notes when the one the convention asks for (TypeError: wrong kind; RangeError: wrong value) is not the one thrown. */
const pref = (cls) => ({ prefer: cls });

// ------------------------------------------------------------------------------------------
// families of bad values

/** A float32 tensor argument ({data: Float32Array, dims}). */
function tensorMuts(s) {
  const L = argLabel(s);
  const out = [];
  const cur = (a) => {
    let t = getAt(a, s.path);
    if (t === undefined && s.valid) setAt(a, s.path, (t = s.valid(a)));
    return t;
  };
  const setData = (f) => (a) => {
    const t = cur(a);
    t.data = f(t);
  };
  const setDims = (f) => (a) => {
    const t = cur(a);
    t.dims = f(t);
  };
  // the tensor itself
  if (!s.optional) out.push(mut('missing (undefined)', TE, L, (a) => setAt(a, s.path, undefined)));
  for (const [n, v] of [
    ['null', null], ['a number', 42], ['a string', 'tensor'], ['a boolean', true], ['a bigint', 7n],
    ['a symbol', Symbol('t')], ['a function', () => 1], ['an empty array', []], ['a Date', new Date(0)],
  ])
    out.push(mut(`${n}`, TE, L, (a) => setAt(a, s.path, v)));
  // what was passed and what is expected, not 'got undefined undefined'
  const notTensor = (got) => new RegExp(`${esc(L)} must be a Tensor \\{ data: Float32Array, dims \\}, got ${got}`);
  if (!s.bare) out.push(mut('a bare Float32Array', TE, notTensor('a Float32Array of length \\d+ — wrap it as \\{ data, dims \\}$'), (a) => setAt(a, s.path, cur(a).data)));
  out.push(mut('an array of numbers', TE, notTensor('an Array of length \\d+ — convert it with Float32Array\\.from\\(\\.\\.\\.\\) and wrap it as \\{ data, dims \\}$'),
    (a) => setAt(a, s.path, Array.from(cur(a).data))));
  out.push(mut('ORT-style tensor of type int32', TE, new RegExp(`${esc(L)}.*float32`), (a) => void (cur(a).type = 'int32')));
  // data
  const D = `${L}.data`;
  const notF32 = (got) => new RegExp(`${esc(D)} must be a Float32Array, got ${got}`);
  out.push(mut('data missing', TE, notF32('undefined$'), (a) => void delete cur(a).data));
  out.push(mut('data null', TE, notF32('null$'), setData(() => null)));
  out.push(mut('data a plain Array', TE, notF32('an Array of length \\d+ — convert it with Float32Array\\.from\\(\\.\\.\\.\\)$'), setData((t) => Array.from(t.data))));
  out.push(mut('data a Float64Array', TE, notF32('a Float64Array of length \\d+ — convert it with Float32Array\\.from'), setData((t) => Float64Array.from(t.data))));
  out.push(mut('data an Int32Array', TE, D, setData((t) => new Int32Array(t.data.length))));
  out.push(mut('data a Uint8Array', TE, D, setData((t) => new Uint8Array(t.data.length))));
  out.push(mut('data a BigInt64Array', TE, D, setData((t) => new BigInt64Array(t.data.length))));
  out.push(mut('data an ArrayBuffer', TE, D, setData((t) => t.data.buffer)));
  out.push(mut('data a DataView', TE, D, setData((t) => new DataView(t.data.buffer))));
  out.push(mut('data a string', TE, D, setData(() => '1,2,3')));
  out.push(mut('data one element short', RE, D, setData((t) => new Float32Array(Math.max(0, t.data.length - 1)).fill(0.5))));
  out.push(mut('data one element long', RE, D, setData((t) => new Float32Array(t.data.length + 1).fill(0.5))));
  out.push(mut('data detached', TRE, new RegExp(`${esc(D)}.*detached`), (a) => detach(cur(a).data.buffer)));
  // dims
  const Dm = `${L}.dims`;
  const rank = s.rank;
  const last = rank === undefined ? 0 : rank - 1;
  const at = (i) => `${Dm}[${i}]`;
  out.push(mut('dims missing', TE, Dm, (a) => void delete cur(a).dims));
  out.push(mut('dims null', TE, Dm, setDims(() => null)));
  out.push(mut('dims a string', TE, Dm, setDims((t) => t.dims.join(','))));
  out.push(mut('dims a number', TE, Dm, setDims((t) => prod(t.dims))));
  out.push(mut('dims an array-like object', TE, Dm, setDims((t) => ({ ...t.dims, length: t.dims.length }))));
  out.push(mut('dims a DataView', TE, Dm, setDims(() => new DataView(new ArrayBuffer(16)))));
  const dimAt = (v) => setDims((t) => {
    const d = t.dims.slice();
    d[last] = v;
    return d;
  });
  for (const [n, v] of [['a string', '3'], ['null', null], ['undefined', undefined], ['an object', {}], ['a boolean', true]])
    out.push(mut(`dims[${last}] ${n}`, TE, at(last), dimAt(v)));
  for (const [n, v] of [
    ['negative', -1], ['-Infinity', -Infinity], ['fractional', 2.5], ['NaN', NaN], ['Infinity', Infinity],
    ['2^53', 2 ** 53], ['2^53 + 2', 2 ** 53 + 2], ['2^32 + 1', 2 ** 32 + 1], ['1e300', 1e300],
  ])
    out.push(mut(`dims[${last}] ${n}`, RE, at(last), dimAt(v)));
  out.push(mut('dims a Float64Array holding NaN', RE, at(0), setDims((t) => Float64Array.from(t.dims, (x, i) => (i === 0 ? NaN : x)))));
  if (rank !== undefined) {
    out.push(mut(`rank ${rank + 1}`, RE, L, setDims((t) => [1, ...t.dims])));
    if (rank > 1) out.push(mut(`rank ${rank - 1}`, RE, L, setDims((t) => [t.dims[0] * t.dims[1], ...t.dims.slice(2)])));
    out.push(mut('rank 0', RE, L, setDims(() => [])));
  }
  // products that overflow 32 and 53 bits, or need a 2^32-element tensor, with the small data
  const r = rank ?? 2;
  const pad = (d) => (r >= d.length ? [...d, ...Array(r - d.length).fill(1)] : [d.reduce((x, y) => x * y, 1)]);
  out.push(mut('dims product 2^33 (overflows 32 bits)', RE, L, setDims(() => pad([2 ** 17, 2 ** 16]))));
  out.push(mut('dims product 2^80 (overflows 53 bits)', RE, L, setDims(() => Array(r).fill(2 ** Math.ceil(80 / r)))));
  out.push(mut('dims product 2^64 then 0 (no wrap-around)', RE, L, setDims(() => (r >= 3 ? [2 ** 32, 2 ** 32, ...Array(r - 2).fill(0)] : [2 ** 32, 2 ** 32]))));
  out.push(mut('dims product exactly 2^32 with small data', RE, D, setDims(() => pad([2 ** 16, 2 ** 16]))));
  // a getter that hands out a valid array while being checked, then a short one (time of check vs use)
  // (a getter is the caller's own code: failing cleanly or computing with what it returned are both fine, a crash is not)
  out.push(mut('data getter changes between check and use', TRE, new RegExp(`${esc(L)}|${esc(s.nativeName ?? s.path[s.path.length - 1])}`), (a) => {
    const t = cur(a);
    const good = t.data;
    let reads = 0;
    const short = new Float32Array(1);
    setAt(a, s.path, {
      dims: t.dims,
      get data() {
        reads++;
        return reads <= 2 ? good : short;
      },
    });
  }, { orOk: true }));
  return out;
}

const NOT_MASK = 'must be an Int32Array or Uint8Array of 0/1 values, plain or as \\{ data, dims \\}';

/** A 0/1 mask argument of exactly rows x cols (plain typed array or {data, dims}). */
function maskMuts(s) {
  const L = argLabel(s);
  const n = s.rows * s.cols;
  const set = (v) => (a) => setAt(a, s.path, typeof v === 'function' ? v(a) : v);
  const out = [
    mut('too short (Uint8Array)', RE, L, set(() => new Uint8Array(n - 1).fill(1))),
    mut('too long (Int32Array)', RE, L, set(() => new Int32Array(n + 1).fill(1))),
    mut('empty', TRE, L, set(() => new Uint8Array(0)), pref('RangeError')),
    mut('a Float32Array', TE, L, set(() => new Float32Array(n).fill(1))),
    mut('an Int8Array', TE, L, set(() => new Int8Array(n).fill(1))),
    mut('a Uint16Array', TE, L, set(() => new Uint16Array(n).fill(1))),
    mut('a Uint8ClampedArray', TE, L, set(() => new Uint8ClampedArray(n).fill(1))),
    mut('a BigInt64Array', TE, L, set(() => new BigInt64Array(n).fill(1n))),
    mut('a plain Array', TE, new RegExp(`${esc(L)} ${NOT_MASK}, got an Array of length ${n} — convert it with Uint8Array\\.from\\(\\.\\.\\.\\)$`), set(() => new Array(n).fill(1))),
    mut('{data, dims} data a plain Array', TE, new RegExp(`${esc(L)}\\.data must be an Int32Array or Uint8Array of 0/1 values, got an Array of length ${n}`),
      set(() => ({ data: new Array(n).fill(1), dims: [s.rows, s.cols] }))),
    mut('undefined data and dims (an empty object)', TE, L, set(() => ({}))),
    // values other than 0/1 (the kernels would read them as 1): a RangeError naming the first bad index
    mut('holding a 2 (Uint8Array, last element)', RE, new RegExp(`${esc(L)}\\[${n - 1}\\] is 2 \\(row ${s.rows - 1}, column ${s.cols - 1}\\): a mask holds only 0`), set(() => {
      const m = new Uint8Array(n).fill(1);
      m[n - 1] = 2;
      return m;
    })),
    mut('holding a -1 (Int32Array, first element)', RE, new RegExp(`${esc(L)}\\[0\\] is -1 \\(row 0, column 0\\)`), set(() => new Int32Array(n).fill(-1))),
    mut('holding 255 (Uint8Array)', RE, new RegExp(`${esc(L)}\\[1\\] is 255`), set(() => Uint8Array.from({ length: n }, (_, i) => (i === 1 ? 255 : i % 2)))),
    mut('holding 2^31 - 1 (Int32Array)', RE, new RegExp(`${esc(L)}\\[${n - 1}\\] is 2147483647`), set(() => Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 2 ** 31 - 1 : 1)))),
    mut('{data, dims} holding a 2', RE, new RegExp(`${esc(L)}\\.data\\[${s.cols}\\] is 2 \\(row 1, column 0\\)`), set(() => {
      const data = new Int32Array(n);
      data[s.cols] = 2;
      return { data, dims: [s.rows, s.cols] };
    })),
    mut('a string', TE, L, set('1111')),
    mut('a number', TE, L, set(1)),
    mut('a boolean', TE, L, set(true)),
    mut('an ArrayBuffer', TE, L, set(() => new ArrayBuffer(n))),
    mut('{data, dims} with dims swapped', RE, L, set(() => ({ data: new Uint8Array(n).fill(1), dims: [s.cols, s.rows] }))),
    mut('{data, dims} of rank 1', RE, L, set(() => ({ data: new Uint8Array(n).fill(1), dims: [n] }))),
    mut('{data, dims} of rank 3', RE, L, set(() => ({ data: new Uint8Array(n).fill(1), dims: [1, s.rows, s.cols] }))),
    mut('{data, dims} data too short', RE, L, set(() => ({ data: new Uint8Array(n - 1).fill(1), dims: [s.rows, s.cols] }))),
    mut('{data, dims} data a Float32Array', TE, L, set(() => ({ data: new Float32Array(n), dims: [s.rows, s.cols] }))),
    mut('{data, dims} without data', TE, L, set(() => ({ dims: [s.rows, s.cols] }))),
    mut('{data, dims} dims a string', TE, `${L}.dims`, set(() => ({ data: new Uint8Array(n), dims: `${s.rows},${s.cols}` }))),
    mut('{data, dims} dims negative', RE, `${L}.dims[1]`, set(() => ({ data: new Uint8Array(n), dims: [s.rows, -s.cols] }))),
    mut('{data, dims} dims NaN', RE, `${L}.dims[0]`, set(() => ({ data: new Uint8Array(n), dims: [NaN, s.cols] }))),
    mut('{data, dims} dims overflowing 53 bits', RE, L, set(() => ({ data: new Uint8Array(n), dims: [2 ** 40, 2 ** 40] }))),
    mut('detached Uint8Array', TRE, new RegExp(`${esc(L)}.*detached`), set(() => {
      const m = new Uint8Array(n).fill(1);
      detach(m.buffer);
      return m;
    })),
    mut('{data, dims} with detached data', TRE, new RegExp(`${esc(L)}.*detached`), set(() => {
      const m = new Int32Array(n).fill(1);
      detach(m.buffer);
      return { data: m, dims: [s.rows, s.cols] };
    })),
  ];
  return out;
}

/** A size: non-negative integer in [min, max]. */
function sizeMuts(s) {
  const L = argLabel(s);
  const min = s.min ?? 0;
  const set = (v) => (a) => setAt(a, s.path, v);
  const out = [];
  if (!s.optional) out.push(mut('missing', TE, L, set(DELETE)));
  for (const [n, v] of [['a string', '2'], ['null', null], ['a boolean', true], ['an object', {}], ['an array', [2]], ['a bigint', 2n]])
    out.push(mut(n, TE, L, set(v)));
  for (const [n, v] of [['negative', -1], ['fractional', 1.5], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['2^53', 2 ** 53], ['1e300', 1e300]])
    out.push(mut(n, RE, L, set(v)));
  if (s.max !== undefined && s.max < 2 ** 52) out.push(mut(`max + 1 (${s.max + 1})`, RE, L, set(s.max + 1)));
  if (min > 0) out.push(mut(`min - 1 (${min - 1})`, RE, L, set(min - 1)));
  return out;
}

/** A finite float (scale, eps); `nonNegative` adds -1. */
function numberMuts(s) {
  const L = argLabel(s);
  const set = (v) => (a) => setAt(a, s.path, v);
  const out = [];
  if (s.required) out.push(mut('missing', TE, L, set(DELETE)));
  for (const [n, v] of [['a string', '0.5'], ...(s.nullIsDefault ? [] : [['null', null]]), ['a bigint', 1n], ['an object', {}], ['a boolean', false]])
    out.push(s.lenientType ? mut(n, TRE, L, set(v), pref('TypeError')) : mut(n, TE, L, set(v)));
  for (const [n, v] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]]) out.push(mut(n, RE, L, set(v)));
  if (s.nonNegative) out.push(mut('negative', RE, L, set(-1e-3)));
  return out;
}

function boolMuts(s) {
  const L = argLabel(s);
  const set = (v) => (a) => setAt(a, s.path, v);
  return [['a number', 1], ['zero', 0], ['a string', 'true'], ...(s.nullIsDefault ? [] : [['null', null]]), ['an object', {}]].map(([n, v]) =>
    mut(n, TE, L, set(v)));
}

/** A string out of a fixed set (layout). Non-strings are TypeErrors, unknown strings RangeErrors. */
function enumMuts(s) {
  const L = argLabel(s);
  const set = (v) => (a) => setAt(a, s.path, v);
  return [
    mut('unknown value', RE, L, set('nbhd')),
    mut('wrong case', RE, L, set(s.values[0].toUpperCase())),
    mut('empty string', RE, L, set('')),
    mut('a number', TRE, L, set(1), pref('TypeError')),
    mut('an array', TRE, L, set([s.values[0]]), pref('TypeError')),
  ];
}

/** A preallocated output Float32Array of n elements that must not overlap `inputs` (paths to typed arrays). */
function outMuts(s) {
  const L = argLabel(s);
  const set = (f) => (a) => setAt(a, s.path, f(a));
  const out = [
    mut('one element short', RE, L, set((a) => new Float32Array(s.n(a) - 1))),
    mut('one element long', RE, L, set((a) => new Float32Array(s.n(a) + 1))),
    mut('a Float64Array', TE, L, set((a) => new Float64Array(s.n(a)))),
    mut('a Uint8Array', TE, L, set((a) => new Uint8Array(s.n(a) * 4))),
    mut('a plain Array', TE, L, set((a) => new Array(s.n(a)).fill(0))),
    mut('a Tensor object', TE, L, set((a) => ({ data: new Float32Array(s.n(a)), dims: [s.n(a)] }))),
    mut('an ArrayBuffer', TE, L, set((a) => new ArrayBuffer(s.n(a) * 4))),
    mut('a number', TE, L, set(() => 0)),
    mut('null', TE, L, set(() => null)),
    mut('detached', TRE, new RegExp(`${esc(L)}.*(detached|0 elements)`), set((a) => {
      const o = new Float32Array(s.n(a));
      detach(o.buffer);
      return o;
    })),
  ];
  for (const ip of s.inputs) {
    out.push(mut(`overlaps ${label(ip)} by one element`, RE, new RegExp(`${esc(L)}.*(overlap|share)`), (a) => {
      const src = getAt(a, ip);
      const n = s.n(a);
      const big = new Float32Array(src.length + n);
      big.set(src);
      setAt(a, ip, big.subarray(0, src.length));
      setAt(a, s.path, big.subarray(src.length - 1, src.length - 1 + n));
    }));
  }
  return out;
}

/** The options object itself. */
function optionsMuts(s) {
  const L = argLabel(s);
  const set = (v) => (a) => setAt(a, s.path, typeof v === 'function' ? v(a) : v);
  const first = s.names[0];
  const typo = first.length > 2 ? first[1] + first[0] + first.slice(2) : `${first}x`;
  const keep = (a) => ({ ...getAt(a, s.path) });
  const out = [
    mut('a number', TE, L, set(5)),
    mut('a string', TE, L, set(first)),
    mut('a boolean', TE, L, set(true)),
    mut('an array', TE, L, set(() => [1])),
    mut('a Float32Array', TE, L, set(() => new Float32Array(2))),
    mut('a function', TE, L, set(() => () => 1)),
    mut(`unknown option '${typo}' (typo)`, TE, `'${typo}'`, set((a) => ({ ...keep(a), [typo]: 1 }))),
    mut(`unknown option '${first.toUpperCase()}' (case)`, TE, `'${first.toUpperCase()}'`, set((a) => ({ ...keep(a), [first.toUpperCase()]: 1 }))),
    mut("unknown option ''", TE, "''", set((a) => ({ ...keep(a), '': 1 }))),
    mut("unknown option 'constructor'", TE, "'constructor'", set((a) => ({ ...keep(a), constructor: 1 }))),
    mut("unknown option '__proto__' (own key, from JSON)", TE, "'__proto__'", set((a) => Object.assign(JSON.parse('{"__proto__": 1}'), keep(a)))),
  ];
  if (s.required) {
    out.push(mut('missing', TE, L, set(undefined)));
    out.push(mut('null (required members missing)', TE, L, set(null)));
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// entry points

// Dense: B 2, H 4, Hk 2, Nq 5, Nk 6, D 3, Dv 7.
const dn = { B: 2, H: 4, Hk: 2, Nq: 5, Nk: 6, D: 3, Dv: 7 };
const dense = {
  id: 'attention',
  fns: ['attention', 'attentionAsync'],
  make: () => ({
    q: T([dn.B, dn.H, dn.Nq, dn.D], 1), k: T([dn.B, dn.Hk, dn.Nk, dn.D], 2), v: T([dn.B, dn.Hk, dn.Nk, dn.Dv], 3), options: {},
  }),
  call: (lib, fn, a) => lib[fn](a.q, a.k, a.v, a.options),
  rich: (a) => {
    a.options = {
      scale: 0.7, causal: true, keyMask: Uint8Array.from({ length: dn.B * dn.Nk }, (_, i) => (i % 3 === 1 ? 0 : 1)),
      bias: T([dn.H, dn.Nq, dn.Nk], 9), threads: 1,
    };
    return a;
  },
  slots: [
    { kind: 'tensor', path: ['q'], rank: 4 },
    { kind: 'tensor', path: ['k'], rank: 4 },
    { kind: 'tensor', path: ['v'], rank: 4 },
    { kind: 'tensor', path: ['options', 'bias'], optional: true, valid: () => T([dn.Nq, dn.Nk], 5), nativeName: 'bias' },
    { kind: 'options', path: ['options'], names: ['scale', 'causal', 'keyMask', 'bias', 'out', 'threads', 'returnWeights', 'layout'] },
    { kind: 'number', path: ['options', 'scale'] },
    { kind: 'bool', path: ['options', 'causal'] },
    { kind: 'enum', path: ['options', 'layout'], values: ['bhnd', 'bnhd'] },
    { kind: 'bool', path: ['options', 'returnWeights'] },
    { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
    { kind: 'mask', path: ['options', 'keyMask'], rows: dn.B, cols: dn.Nk },
    { kind: 'out', path: ['options', 'out'], n: () => dn.B * dn.H * dn.Nq * dn.Dv, inputs: [['q', 'data'], ['k', 'data'], ['v', 'data']] },
  ],
  custom: [
    mut('batch of k differs', RE, /batch/, (a) => void (a.k = T([1, dn.Hk, dn.Nk * 2, dn.D]))),
    mut('heads of k and v differ', RE, /heads/, (a) => void (a.v = T([dn.B, 1, dn.Nk * 2, dn.Dv]))),
    mut('D of q and k differs', RE, /\bD\b/, (a) => void (a.k = T([dn.B, dn.Hk, dn.Nk, dn.D + 1]))),
    mut('H not a multiple of Hk', RE, /multiple/, (a) => void ((a.k = T([dn.B, 3, dn.Nk, dn.D])), (a.v = T([dn.B, 3, dn.Nk, dn.Dv])))),
    // read as [B, N, H, D], the bhnd tensors give q 5 heads and k 6: not a multiple
    mut('layout bnhd with bhnd-shaped q/k/v', RE, /multiple/, (a) => void (a.options.layout = 'bnhd')),
    mut('bias does not broadcast', RE, /options\.bias/, (a) => void (a.options.bias = T([dn.B, dn.H, dn.Nq, dn.Nk + 1]))),
    mut('bias rank 5', RE, /options\.bias/, (a) => void (a.options.bias = T([1, dn.B, dn.H, dn.Nq, dn.Nk]))),
    mut('output of 2^33 elements from small inputs', RE, /output|out/, (a) => {
      a.q = T([1, 1, 2 ** 13, 1]);
      a.k = T([1, 1, 1, 1]);
      a.v = { data: new Float32Array(2 ** 20), dims: [1, 1, 1, 2 ** 20] };
    }),
    mut('returnWeights of 2^34 probabilities from small inputs', RE, /returnWeights|weights/, (a) => {
      a.q = { data: new Float32Array(2 ** 17), dims: [1, 1, 2 ** 17, 1] };
      a.k = { data: new Float32Array(2 ** 17), dims: [1, 1, 2 ** 17, 1] };
      a.v = { data: new Float32Array(2 ** 17), dims: [1, 1, 2 ** 17, 1] };
      a.options = { returnWeights: true };
    }),
    mut('inherited options member (threads -1 on the prototype)', RE, /options\.threads/, (a) => void (a.options = Object.create({ threads: -1 }))),
  ],
  zero: [
    ['B = 0', [0, 2, 4, 3], [0, 1, 5, 3], [0, 1, 5, 6]],
    ['Nq = 0', [2, 2, 0, 3], [2, 1, 5, 3], [2, 1, 5, 6]],
    ['Nk = 0', [2, 2, 4, 3], [2, 1, 0, 3], [2, 1, 0, 6]],
    ['D = 0', [1, 2, 4, 0], [1, 1, 5, 0], [1, 1, 5, 6]],
    ['Dv = 0', [2, 2, 4, 3], [2, 1, 5, 3], [2, 1, 5, 0]],
  ].map(([n, q, k, v]) => ({ name: n, make: () => ({ q: T(q), k: T(k), v: T(v), options: {} }) })),
};

// linear: x [2, 3, 5], w [4, 5].
const linear = {
  id: 'linear',
  fns: ['linear', 'linearAsync'],
  make: () => ({ x: T([2, 3, 5], 1), w: T([4, 5], 2), options: {} }),
  call: (lib, fn, a) => lib[fn](a.x, a.w, a.options),
  rich: (a) => ((a.options = { threads: 1 }), a),
  slots: [
    { kind: 'tensor', path: ['x'] },
    { kind: 'tensor', path: ['w'], rank: 2 },
    { kind: 'options', path: ['options'], names: ['out', 'threads'] },
    { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
    { kind: 'out', path: ['options', 'out'], n: () => 2 * 3 * 4, inputs: [['x', 'data'], ['w', 'data']] },
  ],
  custom: [
    mut('w in-features differ from x', RE, /\bw\b/, (a) => void (a.w = T([4, 6]))),
    mut('w transposed', RE, /\bw\b/, (a) => void (a.w = T([5, 4]))),
    mut('x rank 0', RE, /\bx\b/, (a) => void (a.x = { data: new Float32Array(1), dims: [] })),
  ],
  zero: [
    ['x [0, 5]', [0, 5], [4, 5]],
    ['x [2, 0]', [2, 0], [4, 0]],
    ['w [0, 5]', [2, 5], [0, 5]],
  ].map(([n, x, w]) => ({ name: n, make: () => ({ x: T(x), w: T(w), options: {} }) })),
};

// The ONNX Attention operator by its names: B 2, H 4, Hk 2, Nq 5, 4 new keys after a past of 2 (T 6), D 3, Dv 7.
const ox = { B: 2, H: 4, Hk: 2, Nq: 5, N: 4, P: 2, D: 3, Dv: 7 };
const onnxOp = {
  id: 'onnxAttention',
  fns: ['onnxAttention', 'onnxAttentionAsync'],
  make: () => ({
    inputs: { Q: T([ox.B, ox.H, ox.Nq, ox.D], 1), K: T([ox.B, ox.Hk, ox.N, ox.D], 2), V: T([ox.B, ox.Hk, ox.N, ox.Dv], 3) },
    attributes: {}, options: {},
  }),
  call: (lib, fn, a) => lib[fn](a.inputs, a.attributes, a.options),
  rich: (a) => {
    Object.assign(a.inputs, {
      past_key: T([ox.B, ox.Hk, ox.P, ox.D], 4), past_value: T([ox.B, ox.Hk, ox.P, ox.Dv], 5), attn_mask: T([ox.Nq, ox.P + ox.N - 1], 6),
    });
    a.attributes = { is_causal: 1, scale: 0.7, softcap: 2, qk_matmul_output_mode: 2 };
    a.options = { threads: 1 };
    return a;
  },
  slots: [
    { kind: 'tensor', path: ['inputs', 'Q'] },
    { kind: 'tensor', path: ['inputs', 'K'] },
    { kind: 'tensor', path: ['inputs', 'V'] },
    { kind: 'options', path: ['attributes'], names: ['is_causal', 'scale', 'softcap', 'q_num_heads', 'kv_num_heads', 'qk_matmul_output_mode',
      'softmax_precision', 'left_window_size', 'right_window_size', 'local_window_size'] },
    { kind: 'options', path: ['options'], names: ['threads', 'outputs'] },
    { kind: 'number', path: ['attributes', 'scale'] },
    { kind: 'number', path: ['attributes', 'softcap'], nonNegative: true },
    { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
  ],
  custom: [
    mut('inputs not an object', TE, /inputs must be an object/, (a) => void (a.inputs = 5)),
    mut("unknown input 'mask'", TE, /'mask'/, (a) => void (a.inputs.mask = T([ox.Nq, ox.N]))),
    mut('Q of rank 2', RE, /inputs\.Q/, (a) => void (a.inputs.Q = T([ox.Nq, ox.D]))),
    mut('3-D Q without q_num_heads', TE, /q_num_heads/, (a) => void Object.assign(a.inputs, {
      Q: T([ox.B, ox.Nq, ox.H * ox.D]), K: T([ox.B, ox.N, ox.Hk * ox.D]), V: T([ox.B, ox.N, ox.Hk * ox.Dv]),
    })),
    mut('q_num_heads 2^40', RE, /attributes\.q_num_heads/, (a) => void (a.attributes.q_num_heads = 2 ** 40)),
    mut('H not a multiple of kv heads', RE, /multiple/, (a) => void ((a.inputs.K = T([ox.B, 3, ox.N, ox.D])), (a.inputs.V = T([ox.B, 3, ox.N, ox.Dv])))),
    mut('attn_mask a string', TE, /inputs\.attn_mask/, (a) => void (a.inputs.attn_mask = 'causal')),
    mut('attn_mask of type int32', TE, /inputs\.attn_mask/, (a) => void (a.inputs.attn_mask = { type: 'int32', data: new Int32Array(ox.Nq * ox.N), dims: [ox.Nq, ox.N] })),
    mut('attn_mask longer than the keys', RE, /inputs\.attn_mask/, (a) => void (a.inputs.attn_mask = T([ox.Nq, ox.N + 1]))),
    mut('attn_mask not broadcastable', RE, /inputs\.attn_mask/, (a) => void (a.inputs.attn_mask = T([3, ox.Nq, ox.N]))),
    mut('bool attn_mask data too short', RE, /inputs\.attn_mask/, (a) => void (a.inputs.attn_mask = { type: 'bool', data: new Uint8Array(3), dims: [ox.Nq, ox.N] })),
    mut('past_key without past_value', TE, /past_value/, (a) => void (a.inputs.past_key = T([ox.B, ox.Hk, 1, ox.D]))),
    mut('past_value with the wrong head size', RE, /inputs\.past_value/, (a) => void Object.assign(a.inputs, { past_key: T([ox.B, ox.Hk, 1, ox.D]), past_value: T([ox.B, ox.Hk, 1, ox.D]) })),
    mut('nonpad_kv_seqlen a Float64Array', TE, /nonpad_kv_seqlen/, (a) => void (a.inputs.nonpad_kv_seqlen = new Float64Array(ox.B))),
    mut('nonpad_kv_seqlen negative', RE, /nonpad_kv_seqlen\[1\]/, (a) => void (a.inputs.nonpad_kv_seqlen = BigInt64Array.of(1n, -1n))),
    mut('nonpad_kv_seqlen 2^63 - 1', RE, /nonpad_kv_seqlen\[0\]/, (a) => void (a.inputs.nonpad_kv_seqlen = BigInt64Array.of(2n ** 63n - 1n, 1n))),
    mut('is_causal 2', RE, /attributes\.is_causal/, (a) => void (a.attributes.is_causal = 2)),
    mut('is_causal a string', TE, /attributes\.is_causal/, (a) => void (a.attributes.is_causal = '1')),
    mut('qk_matmul_output_mode 4', RE, /attributes\.qk_matmul_output_mode/, (a) => void (a.attributes.qk_matmul_output_mode = 4)),
    mut('softmax_precision 7 (INT64)', RE, /attributes\.softmax_precision/, (a) => void (a.attributes.softmax_precision = 7)),
    mut('left_window_size NaN', RE, /attributes\.left_window_size/, (a) => void (a.attributes.left_window_size = NaN)),
    mut('outputs not an array', TE, /options\.outputs/, (a) => void (a.options.outputs = 'Y')),
  ],
  zero: [
    ['B = 0', [0, 4, 5, 3], [0, 2, 4, 3], [0, 2, 4, 7]],
    ['Nq = 0', [2, 4, 0, 3], [2, 2, 4, 3], [2, 2, 4, 7]],
    ['no keys', [2, 4, 5, 3], [2, 2, 0, 3], [2, 2, 0, 7]],
    ['D = 0', [2, 4, 5, 0], [2, 2, 4, 0], [2, 2, 4, 7]],
  ].map(([n, q, k, v]) => ({ name: n, make: () => ({ inputs: { Q: T(q), K: T(k), V: T(v) }, attributes: { is_causal: 1 }, options: {} }) })),
};

// TGlobal core: B 2, H 2, N 12, D 3, Dv 4, g 4 (G 3), r 2.
const tg = { B: 2, H: 2, N: 12, D: 3, Dv: 4, g: 4, G: 3, r: 2, nb: 8 };
const tglobal = {
  id: 'transientGlobalAttention',
  fns: ['transientGlobalAttention', 'transientGlobalAttentionAsync'],
  make: () => ({
    q: T([tg.B, tg.H, tg.N, tg.D], 1), k: T([tg.B, tg.H, tg.N, tg.D], 2), v: T([tg.B, tg.H, tg.N, tg.Dv], 3),
    gk: T([tg.B, tg.H, tg.G, tg.D], 4), gv: T([tg.B, tg.H, tg.G, tg.Dv], 5),
    options: { localRadius: tg.r, globalBlockSize: tg.g },
  }),
  call: (lib, fn, a) => lib[fn](a.q, a.k, a.v, a.gk, a.gv, a.options),
  rich: (a) => {
    Object.assign(a.options, {
      mask: { data: Int32Array.from({ length: tg.B * tg.N }, (_, i) => (i % tg.N < 10 || i < tg.N ? 1 : 0)), dims: [tg.B, tg.N] },
      relativeAttentionBias: T([tg.nb, tg.H], 6), globalRelativeAttentionBias: T([tg.nb, tg.H], 7), maxDistance: 16, scale: 0.9, threads: 1,
    });
    return a;
  },
  slots: [
    { kind: 'tensor', path: ['q'], rank: 4 },
    { kind: 'tensor', path: ['k'], rank: 4 },
    { kind: 'tensor', path: ['v'], rank: 4 },
    { kind: 'tensor', path: ['gk'], rank: 4, label: 'globalK' },
    { kind: 'tensor', path: ['gv'], rank: 4, label: 'globalV' },
    { kind: 'tensor', path: ['options', 'relativeAttentionBias'], rank: 2, optional: true, valid: () => T([tg.nb, tg.H], 6), nativeName: 'localBias' },
    { kind: 'tensor', path: ['options', 'globalRelativeAttentionBias'], rank: 2, optional: true, valid: () => T([tg.nb, tg.H], 7), nativeName: 'globalBias' },
    { kind: 'options', path: ['options'], required: true, names: ['localRadius', 'globalBlockSize', 'mask', 'relativeAttentionBias', 'globalRelativeAttentionBias', 'numBuckets', 'maxDistance', 'scale', 'layout', 'out', 'threads', 'returnWeights'] },
    { kind: 'size', path: ['options', 'localRadius'], max: 2 ** 30 },
    { kind: 'size', path: ['options', 'globalBlockSize'], min: 1, max: 2 ** 30 },
    { kind: 'size', path: ['options', 'numBuckets'], optional: true, min: 2, max: 2 ** 30 },
    { kind: 'size', path: ['options', 'maxDistance'], optional: true, min: 1, max: 2 ** 30 },
    { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
    { kind: 'number', path: ['options', 'scale'] },
    { kind: 'bool', path: ['options', 'returnWeights'] },
    { kind: 'enum', path: ['options', 'layout'], values: ['bhnd', 'bnhd'] },
    { kind: 'mask', path: ['options', 'mask'], rows: tg.B, cols: tg.N },
    { kind: 'out', path: ['options', 'out'], n: () => tg.B * tg.H * tg.N * tg.Dv, inputs: [['q', 'data'], ['k', 'data'], ['v', 'data'], ['gk', 'data'], ['gv', 'data']] },
  ],
  custom: [
    mut('k has another N', RE, /\bk\b/, (a) => void (a.k = T([tg.B, tg.H, tg.N + 1, tg.D]))),
    mut('v has another H', RE, /\bv\b/, (a) => void (a.v = T([tg.B, tg.H + 1, tg.N, tg.Dv]))),
    mut('globalK has G + 1 tokens', RE, /globalK|globalV/, (a) => void (a.gk = T([tg.B, tg.H, tg.G + 1, tg.D]))),
    mut('globalV has another Dv', RE, /globalV/, (a) => void (a.gv = T([tg.B, tg.H, tg.G, tg.Dv + 1]))),
    mut('globalK and globalV have G + 1 (G != floor(N / g))', RE, /globalK|globalBlockSize|G/, (a) => {
      a.gk = T([tg.B, tg.H, tg.G + 1, tg.D]);
      a.gv = T([tg.B, tg.H, tg.G + 1, tg.Dv]);
    }),
    mut('layout bnhd with bhnd-shaped q/k/v', RE, /\bk\b|\bv\b|globalK/, (a) => void (a.options.layout = 'bnhd')),
    mut('relativeAttentionBias with H + 1 heads', RE, /options\.relativeAttentionBias/, (a) => void (a.options.relativeAttentionBias = T([tg.nb, tg.H + 1]))),
    mut('relativeAttentionBias with 1 bucket', RE, /options\.relativeAttentionBias/, (a) => void (a.options.relativeAttentionBias = T([1, tg.H]))),
    mut('globalRelativeAttentionBias buckets != numBuckets', RE, /options\.globalRelativeAttentionBias/, (a) => {
      a.options.numBuckets = tg.nb;
      a.options.globalRelativeAttentionBias = T([tg.nb + 2, tg.H]);
    }),
  ],
  zero: [
    ['B = 0', { B: 0 }], ['H = 0', { H: 0 }], ['N = 0 (G = 0)', { N: 0, G: 0 }], ['N < g (G = 0)', { N: 3, G: 0 }], ['D = 0', { D: 0 }], ['Dv = 0', { Dv: 0 }],
  ].map(([n, o]) => ({
    name: n,
    make: () => {
      const c = { ...tg, ...o };
      return {
        q: T([c.B, c.H, c.N, c.D]), k: T([c.B, c.H, c.N, c.D]), v: T([c.B, c.H, c.N, c.Dv]), gk: T([c.B, c.H, c.G, c.D]), gv: T([c.B, c.H, c.G, c.Dv]),
        options: { localRadius: tg.r, globalBlockSize: tg.g, relativeAttentionBias: T([tg.nb, c.H]), globalRelativeAttentionBias: T([tg.nb, c.H]) },
      };
    },
  })),
};

// Seed block-global variant: B 2, H 2, N 10, D 3, Dv 4, blockSize 3.
const bg = { B: 2, H: 2, N: 10, D: 3, Dv: 4 };
const blockGlobal = {
  id: 'blockGlobalAttention',
  fns: ['blockGlobalAttention', 'blockGlobalAttentionAsync'],
  make: () => ({ q: T([bg.B, bg.H, bg.N, bg.D], 1), k: T([bg.B, bg.H, bg.N, bg.D], 2), v: T([bg.B, bg.H, bg.N, bg.Dv], 3), options: { blockSize: 3 } }),
  call: (lib, fn, a) => lib[fn](a.q, a.k, a.v, a.options),
  rich: (a) => ((a.options.scale = 0.8), (a.options.threads = 1), a),
  slots: [
    { kind: 'tensor', path: ['q'], rank: 4 },
    { kind: 'tensor', path: ['k'], rank: 4 },
    { kind: 'tensor', path: ['v'], rank: 4 },
    { kind: 'options', path: ['options'], required: true, names: ['blockSize', 'scale', 'out', 'threads', 'returnWeights'] },
    { kind: 'size', path: ['options', 'blockSize'], min: 1, max: 2 ** 30 },
    { kind: 'number', path: ['options', 'scale'] },
    { kind: 'bool', path: ['options', 'returnWeights'] },
    { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
    { kind: 'out', path: ['options', 'out'], n: () => bg.B * bg.H * bg.N * bg.Dv, inputs: [['q', 'data'], ['k', 'data'], ['v', 'data']] },
  ],
  custom: [
    mut('blockSize > N', RE, /options\.blockSize/, (a) => void (a.options.blockSize = bg.N + 1)),
    mut('k has another D', RE, /\bk\b/, (a) => void (a.k = T([bg.B, bg.H, bg.N, bg.D + 1]))),
    mut('v has another N', RE, /\bv\b/, (a) => void (a.v = T([bg.B, bg.H, bg.N + 1, bg.Dv]))),
  ],
  zero: [
    ['B = 0', [0, 2, 10, 3], 4], ['N = 0', [2, 2, 0, 3], 4], ['D = 0', [2, 2, 10, 0], 4], ['Dv = 0', [2, 2, 10, 3], 0],
  ].map(([n, d, Dv]) => ({ name: n, make: () => ({ q: T(d), k: T(d), v: T([...d.slice(0, 3), Dv]), options: { blockSize: 3 } }) })),
};

// globalBlockIds(mask, g): the mask gives B and N.
const blockIds = {
  id: 'globalBlockIds',
  fns: ['globalBlockIds'],
  make: () => ({ mask: { data: Uint8Array.from({ length: 20 }, (_, i) => (i % 10 < 8 ? 1 : 0)), dims: [2, 10] }, g: 3 }),
  call: (lib, fn, a) => lib[fn](a.mask, a.g),
  slots: [{ kind: 'size', path: ['g'], min: 1 }],
  custom: [
    mut('mask missing', TE, /mask/, (a) => void (a.mask = undefined)),
    mut('mask null', TE, /mask/, (a) => void (a.mask = null)),
    mut('mask a Float32Array', TE, /mask/, (a) => void (a.mask = new Float32Array(10))),
    mut('mask a plain Array', TE, new RegExp(`^mask ${NOT_MASK}, got an Array of length 3 — convert it with Uint8Array\\.from`), (a) => void (a.mask = [1, 1, 1])),
    mut('mask missing says undefined (once)', TE, new RegExp(`^mask ${NOT_MASK}, got undefined$`), (a) => void (a.mask = undefined)),
    mut('mask {data, dims} holding a 2', RE, /^mask\.data\[12\] is 2 \(row 1, column 2\)/, (a) => void (a.mask.data[12] = 2)),
    mut('mask plain, holding a -1', RE, /^mask\[3\] is -1 \(row 0, column 3\)/, (a) => void (a.mask = new Int32Array([1, 1, 0, -1, 1]))),
    mut('mask a string', TE, /mask/, (a) => void (a.mask = '111')),
    mut('mask an Int8Array', TE, /mask/, (a) => void (a.mask = new Int8Array(10))),
    mut('mask a DataView', TE, /mask/, (a) => void (a.mask = new DataView(new ArrayBuffer(10)))),
    mut('mask {data, dims} data too short', RE, /mask/, (a) => void (a.mask.data = new Uint8Array(19))),
    mut('mask {data, dims} rank 1', RE, /mask/, (a) => void (a.mask.dims = [20])),
    mut('mask {data, dims} dims negative', RE, /mask\.dims\[0\]/, (a) => void (a.mask.dims = [-2, -10])),
    mut('mask {data, dims} dims overflowing', RE, /mask/, (a) => void (a.mask.dims = [2 ** 40, 2 ** 40])),
    mut('mask {data, dims} data Float64Array', TE, /mask/, (a) => void (a.mask.data = new Float64Array(20))),
    mut('mask {data, dims} data detached', TRE, /mask.*detached/, (a) => detach(a.mask.data.buffer)),
    mut('mask plain, detached', TRE, /mask.*detached/, (a) => {
      const m = new Uint8Array(10).fill(1);
      detach(m.buffer);
      a.mask = m;
    }),
  ],
  zero: [
    ['B = 0', () => ({ mask: { data: new Uint8Array(0), dims: [0, 10] }, g: 3 })],
    ['N = 0', () => ({ mask: { data: new Uint8Array(0), dims: [2, 0] }, g: 3 })],
    ['plain empty mask', () => ({ mask: new Int32Array(0), g: 1 })],
    ['N < g', () => ({ mask: new Int32Array([1, 1]), g: 5 })],
  ].map(([n, make]) => ({ name: n, make })),
};

const buckets = {
  id: 'relativePositionBuckets',
  fns: ['relativePositionBuckets'],
  make: () => ({ rel: Int32Array.from({ length: 41 }, (_, i) => (i - 20) * 7), nb: 8, md: 16 }),
  call: (lib, fn, a) => lib[fn](a.rel, a.nb, a.md),
  slots: [
    { kind: 'size', path: ['nb'], label: 'numBuckets', optional: true, min: 2, max: 2 ** 30 },
    { kind: 'size', path: ['md'], label: 'maxDistance', optional: true, min: 1, max: 2 ** 30 },
  ],
  custom: [
    mut('relative undefined', TE, /relative/, (a) => void (a.rel = undefined)),
    mut('relative a string', TE, /relative/, (a) => void (a.rel = '1,2')),
    mut('relative a Float32Array', TE, /relative/, (a) => void (a.rel = new Float32Array(3))),
    mut('relative a Uint32Array', TE, /relative/, (a) => void (a.rel = new Uint32Array(3))),
    mut('relative a BigInt64Array', TE, /relative/, (a) => void (a.rel = new BigInt64Array(3))),
    mut('relative[1] fractional', RE, /relative\[1\]/, (a) => void (a.rel = [0, 0.5])),
    mut('relative[2] NaN', RE, /relative\[2\]/, (a) => void (a.rel = [0, 1, NaN])),
    mut('relative[0] 2^31', RE, /relative\[0\]/, (a) => void (a.rel = [2 ** 31])),
    mut('relative[0] a string', TRE, /relative\[0\]/, (a) => void (a.rel = ['3'])),
    mut('relative Int32Array detached', TRE, /relative.*detached/, (a) => detach(a.rel.buffer)),
  ],
  zero: [['empty Int32Array', () => ({ rel: new Int32Array(0), nb: 32, md: 128 })], ['empty array', () => ({ rel: [], nb: 32, md: 128 })]].map(([n, make]) => ({ name: n, make })),
};

// globalAggregates(hidden [2, 10, 4], mask, g, {normWeight, eps}).
const aggregates = {
  id: 'globalAggregates',
  fns: ['globalAggregates'],
  make: () => ({ hidden: T([2, 10, 4], 1), mask: new Uint8Array(20).fill(1), g: 3, options: { normWeight: rand(4, 5), eps: 1e-6 } }),
  call: (lib, fn, a) => lib[fn](a.hidden, a.mask, a.g, a.options),
  slots: [
    { kind: 'tensor', path: ['hidden'], rank: 3, nativeName: 'x' },
    { kind: 'mask', path: ['mask'], rows: 2, cols: 10 },
    { kind: 'size', path: ['g'], min: 1 },
    { kind: 'options', path: ['options'], names: ['normWeight', 'eps'] },
    { kind: 'number', path: ['options', 'eps'], nonNegative: true },
  ],
  custom: [
    mut('normWeight too short', RE, /options\.normWeight/, (a) => void (a.options.normWeight = new Float32Array(3))),
    mut('normWeight a Float64Array', TE, /options\.normWeight/, (a) => void (a.options.normWeight = new Float64Array(4))),
    mut('normWeight a number', TE, /options\.normWeight/, (a) => void (a.options.normWeight = 1)),
    mut('normWeight a Tensor of rank 2', RE, /options\.normWeight/, (a) => void (a.options.normWeight = T([2, 2]))),
    mut('normWeight detached', TRE, /options\.normWeight/, (a) => detach(a.options.normWeight.buffer)),
  ],
  zero: [
    ['B = 0', () => ({ hidden: T([0, 10, 4]), mask: undefined, g: 3, options: {} })],
    ['N < g', () => ({ hidden: T([2, 2, 4]), mask: undefined, g: 3, options: {} })],
    ['C = 0', () => ({ hidden: T([2, 10, 0]), mask: undefined, g: 3, options: { normWeight: new Float32Array(0) } })],
  ].map(([n, make]) => ({ name: n, make })),
};

// ---- LongT5 layers: d_model 8, d_kv 3, heads 2, r 2, g 4, buckets 8, max distance 16.
const CFG = {
  d_model: 8, d_kv: 3, num_heads: 2, local_radius: 2, global_block_size: 4, relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16, layer_norm_epsilon: 1e-6,
};
const LAYERS = [
  { cls: 'LongT5TransientGlobalAttention', kind: 'tglobal' },
  { cls: 'LongT5LocalAttention', kind: 'local' },
  { cls: 'LongT5Attention', kind: 'full' },
];
function layerWeights(kind, cfg = CFG, seed = 1) {
  const HD = cfg.num_heads * cfg.d_kv, C = cfg.d_model, nb = cfg.relative_attention_num_buckets;
  const w = {
    'q.weight': T([HD, C], seed), 'k.weight': T([HD, C], seed + 1), 'v.weight': T([HD, C], seed + 2), 'o.weight': T([C, HD], seed + 3),
    'relative_attention_bias.weight': T([nb, cfg.num_heads], seed + 4),
  };
  if (kind === 'tglobal') {
    w['global_relative_attention_bias.weight'] = T([nb, cfg.num_heads], seed + 5);
    w['global_input_layer_norm.weight'] = T([C], seed + 6);
  }
  return w;
}

function layerCtor(L) {
  const names = Object.keys(layerWeights(L.kind));
  const weightSlots = names.map((n) => ({ kind: 'tensor', path: ['weights', n], bare: true, rank: n.includes('layer_norm') ? 1 : 2 }));
  const cfgInts = ['d_model', 'd_kv', 'num_heads', 'relative_attention_num_buckets', 'relative_attention_max_distance'];
  if (L.kind !== 'full') cfgInts.push('local_radius');
  if (L.kind === 'tglobal') cfgInts.push('global_block_size');
  const mins = { relative_attention_num_buckets: 2, local_radius: 0 };
  const optional = { relative_attention_num_buckets: true, relative_attention_max_distance: true };
  return {
    id: `new ${L.cls}`,
    fns: ['new'],
    make: () => ({ config: { ...CFG }, weights: layerWeights(L.kind) }),
    call: (lib, fn, a) => new lib[L.cls](a.config, a.weights),
    slots: [
      ...weightSlots,
      ...cfgInts.map((k) => ({ kind: 'size', path: ['config', k], min: mins[k] ?? 1, max: 2 ** 30, optional: !!optional[k] })),
      { kind: 'number', path: ['config', 'layer_norm_epsilon'], nonNegative: true, nullIsDefault: true },
      { kind: 'bool', path: ['config', 'has_relative_attention_bias'], nullIsDefault: true },
    ],
    custom: [
      mut('config undefined', TE, /config/, (a) => void (a.config = undefined)),
      mut('config null', TE, /config/, (a) => void (a.config = null)),
      mut('config a string', TE, /config/, (a) => void (a.config = '{"d_model": 8}')),
      mut('config an array', TE, /config/, (a) => void (a.config = [CFG])),
      mut('weights undefined', TE, /weights/, (a) => void (a.weights = undefined)),
      mut('weights null', TE, /weights/, (a) => void (a.weights = null)),
      mut('weights a Map', TE, /weights/, (a) => void (a.weights = new Map(Object.entries(a.weights)))),
      mut("weights['q.weight'] transposed dims", RE, /weights\['q\.weight'\]/, (a) => void (a.weights['q.weight'] = T([8, 6]))),
      mut("weights['o.weight'] with dims of q.weight", RE, /weights\['o\.weight'\]/, (a) => void (a.weights['o.weight'] = T([6, 8]))),
      mut("weights['relative_attention_bias.weight'] with H + 1 columns", RE, /relative_attention_bias/, (a) => void (a.weights['relative_attention_bias.weight'] = T([8, 3]))),
      mut('num_heads * d_kv * d_model = 2^90 with small weights', RE, /too large|num_heads|weights/, (a) => Object.assign(a.config, { d_model: 2 ** 30, d_kv: 2 ** 30, num_heads: 2 ** 30 })),
      mut('num_heads * d_kv * d_model = 2^40 with small weights', RE, /too large|weights/, (a) => Object.assign(a.config, { d_model: 2 ** 20, d_kv: 2 ** 10, num_heads: 2 ** 10 })),
      mut('d_model 2^30 with small weights', RE, /weights/, (a) => Object.assign(a.config, { d_model: 2 ** 30, d_kv: 1, num_heads: 1 })),
    ],
    ok: [
      {
        name: 'weights as bare Float32Arrays, config with dozens of unused fields',
        run: async (lib) => {
          const w = layerWeights(L.kind);
          const bare = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.data.slice()]));
          const cfg = { ...CFG, vocab_size: 32128, architectures: ['LongT5ForConditionalGeneration'], feed_forward_proj: 'gated-gelu', d_ff: 2048 };
          const h = T([2, 10, 8], 4);
          return U.diff(new lib[L.cls](cfg, bare).forward(h), new lib[L.cls](CFG, w).forward(h));
        },
      },
      {
        name: 'has_relative_attention_bias false: bias weights not needed',
        run: async (lib) => {
          const w = layerWeights(L.kind);
          delete w['relative_attention_bias.weight'];
          delete w['global_relative_attention_bias.weight'];
          const out = new lib[L.cls]({ ...CFG, has_relative_attention_bias: false }, w).forward(T([1, 9, 8]));
          return out.data.every(Number.isFinite) ? '' : 'non-finite output';
        },
      },
    ],
  };
}

function layerForward(L) {
  return {
    id: `${L.cls}#forward`,
    fns: ['forward', 'forwardAsync'],
    make: (lib) => ({ layer: new lib[L.cls](CFG, layerWeights(L.kind)), hidden: T([2, 10, 8], 11), mask: undefined, options: {} }),
    call: (lib, fn, a) => a.layer[fn](a.hidden, a.mask, a.options),
    rich: (a) => {
      a.mask = Uint8Array.from({ length: 20 }, (_, i) => (i % 10 < 7 || i < 10 ? 1 : 0));
      a.options = { threads: 1 };
      return a;
    },
    slots: [
      { kind: 'tensor', path: ['hidden'], rank: 3 },
      { kind: 'mask', path: ['mask'], rows: 2, cols: 10 },
      { kind: 'options', path: ['options'], names: ['out', 'threads'] },
      { kind: 'size', path: ['options', 'threads'], optional: true, max: 65536 },
      { kind: 'out', path: ['options', 'out'], n: () => 2 * 10 * 8, inputs: [['hidden', 'data']] },
    ],
    custom: [
      mut('hidden with another d_model', RE, /hidden/, (a) => void (a.hidden = T([2, 10, 9]))),
      mut('hidden [B, N] (rank 2)', RE, /hidden/, (a) => void (a.hidden = T([2, 10]))),
      mut('options.out is the layer\'s own o.weight (same size)', RE, /options\.out/, (a, lib) => {
        a.layer = new lib[L.cls]({ ...CFG, d_kv: 4 }, layerWeights(L.kind, { ...CFG, d_kv: 4 }));
        a.hidden = T([1, 8, 8]);
        a.options = { out: a.layer.weights['o.weight'] };
      }),
      mut('a weight detached after construction', TRE, /q\.weight|\bwq\b|detached/, (a) => detach(a.layer.weights['q.weight'].buffer)),
    ],
    zero: [
      ['B = 0', (lib) => ({ layer: new lib[L.cls](CFG, layerWeights(L.kind)), hidden: T([0, 10, 8]), mask: undefined, options: {} })],
      ['N = 0', (lib) => ({ layer: new lib[L.cls](CFG, layerWeights(L.kind)), hidden: T([2, 0, 8]), mask: undefined, options: {} })],
      ['N = 1', (lib) => ({ layer: new lib[L.cls](CFG, layerWeights(L.kind)), hidden: T([2, 1, 8]), mask: undefined, options: {} })],
      ['all padding', (lib) => ({ layer: new lib[L.cls](CFG, layerWeights(L.kind)), hidden: T([2, 10, 8]), mask: new Uint8Array(20), options: {} })],
    ].map(([n, make]) => ({ name: n, make })),
  };
}

const ENTRIES = [dense, onnxOp, linear, tglobal, blockGlobal, blockIds, buckets, aggregates, ...LAYERS.map(layerCtor), ...LAYERS.map(layerForward)];

// ------------------------------------------------------------------------------------------
// cases from the entries

function slotMuts(s) {
  switch (s.kind) {
    case 'tensor': return tensorMuts(s);
    case 'mask': return maskMuts(s);
    case 'size': return sizeMuts(s);
    case 'number': return numberMuts(s);
    case 'bool': return boolMuts(s);
    case 'enum': return enumMuts(s);
    case 'out': return outMuts(s);
    case 'options': return optionsMuts(s);
    default: throw new Error(`unknown slot kind ${s.kind}`);
  }
}

/** How a case names the function it calls: attention, attentionAsync, new LongT5Attention, LongT5Attention.forwardAsync. */
function fnLabel(E, fn) {
  if (fn === 'new') return E.id;
  if (fn === 'forward' || fn === 'forwardAsync') return `${E.id.split('#')[0]}.${fn}`;
  return fn;
}

function errorCases() {
  const cases = [];
  for (const E of ENTRIES) {
    const muts = [];
    for (const s of E.slots) for (const m of slotMuts(s)) muts.push({ ...m, name: `${argLabel(s)}: ${m.name}` });
    for (const m of E.custom ?? []) muts.push(m);
    for (const fn of E.fns) {
      const isAsync = /Async$/.test(fn);
      for (const m of muts) {
        cases.push({
          id: `${fnLabel(E, fn)} | ${m.name}`,
          prefer: m.prefer,
          orOk: m.orOk,
          entry: E.id,
          fn,
          async: isAsync,
          expect: m.expect,
          msg: m.msg,
          run: (lib) => {
            const a = E.make(lib);
            m.apply(a, lib);
            return E.call(lib, fn, a);
          },
        });
      }
    }
    for (const o of E.ok ?? []) cases.push({ id: `${E.id} | ok: ${o.name}`, entry: E.id, fn: E.fns[0], async: false, expect: 'ok', run: o.run });
  }
  return cases;
}

// ---- valid-but-unusual inputs: must compute what a plain call computes ----

/** Every typed array reachable from args (not through dims, not through class instances), with a setter. */
function typedSlots(obj, out = [], depth = 0) {
  if (depth > 4 || obj === null || typeof obj !== 'object') return out;
  for (const k of Object.keys(obj)) {
    if (k === 'dims') continue;
    const v = obj[k];
    if (U.isTyped(v)) out.push({ get: () => obj[k], set: (x) => void (obj[k] = x) });
    else if (v && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) typedSlots(v, out, depth + 1);
  }
  return out;
}

// 0xff bytes: as float32 these are NaN. A kernel that reads past a view (even if it multiplies
// what it read by a zero weight) then returns NaN where the plain call does not.
const GUARD = 0xff;
/** Copies `src` into a view `offsetElems` elements into a larger (Shared)ArrayBuffer whose other bytes hold GUARD. */
function placeAt(src, offsetElems, shared) {
  const C = src.constructor;
  const bytes = (src.length + offsetElems + 5) * C.BYTES_PER_ELEMENT;
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  new Uint8Array(buf).fill(GUARD);
  const view = new C(buf, offsetElems * C.BYTES_PER_ELEMENT, src.length);
  view.set(src);
  return view;
}
function guardsIntact(view) {
  const all = new Uint8Array(view.buffer);
  const lo = view.byteOffset, hi = view.byteOffset + view.byteLength;
  for (let i = 0; i < all.length; i++) if ((i < lo || i >= hi) && all[i] !== GUARD) return `byte ${i} outside the view (${lo}..${hi}) changed`;
  return '';
}

function snapshot(slots) {
  return slots.map((s) => s.get().slice());
}

function variantCases() {
  const cases = [];
  const plainCall = (E, fn, lib, make) => E.call(lib, fn.replace(/Async$/, ''), make(lib));
  for (const E of ENTRIES.filter((e) => e.fns[0] !== 'new')) {
    const base = (lib) => (E.rich ? E.rich(E.make(lib)) : E.make(lib));
    for (const fn of E.fns) {
      const isAsync = /Async$/.test(fn);
      const prefix = fnLabel(E, fn);
      // views at byteOffsets / in SharedArrayBuffers
      for (const [name, offset, shared] of [['views at byteOffset 4/8/12..', 1, false], ['views at byteOffset 68..', 17, false], ['SharedArrayBuffer views', 3, true]]) {
        cases.push({
          id: `${prefix} | ok: ${name}`, entry: E.id, fn, async: isAsync, expect: 'ok',
          run: async (lib) => {
            const a = base(lib);
            const ref = plainCall(E, fn, lib, () => base(lib));
            const slots = typedSlots(a);
            slots.forEach((s, i) => s.set(placeAt(s.get(), offset + i, shared)));
            // and a preallocated output at an offset, where the entry takes one
            const outSlot = E.slots.find((s) => s.kind === 'out');
            let out;
            if (outSlot) {
              out = placeAt(new Float32Array(outSlot.n(a)).fill(NaN), offset + 2, shared);
              setAt(a, outSlot.path, out);
            }
            const before = snapshot(slots);
            const res = await E.call(lib, fn, a);
            const why = U.diff(res, ref);
            if (why) return `differs from a plain call: ${why}`;
            for (let i = 0; i < slots.length; i++) {
              if (!U.sameArray(slots[i].get(), before[i])) return `input #${i} was modified`;
              const g = guardsIntact(slots[i].get());
              if (g) return `input #${i}: ${g}`;
            }
            if (out) {
              if (res.data !== out) return 'the result is not the given options.out';
              const g = guardsIntact(out);
              if (g) return `options.out: ${g}`;
            }
            return '';
          },
        });
      }
      // zero-size dims: the right shape, finite, and no native call on nothing
      for (const z of E.zero ?? []) {
        cases.push({
          id: `${prefix} | ok: zero-size ${z.name}`, entry: E.id, fn, async: isAsync, expect: 'ok',
          run: async (lib) => {
            const res = await E.call(lib, fn, z.make(lib));
            const ref = E.call(lib, fn.replace(/Async$/, ''), z.make(lib));
            const why = U.diff(res, ref);
            if (why) return `async differs from sync: ${why}`;
            const arrays = typedSlots(res).map((s) => s.get());
            if (U.isTyped(res)) arrays.push(res);
            for (const x of arrays) for (const v of x) if (typeof v === 'number' && !Number.isFinite(v)) return 'non-finite value in the result';
            return '';
          },
        });
      }
      // options as Object.create(null)
      if (E.slots.some((s) => s.kind === 'options')) {
        cases.push({
          id: `${prefix} | ok: options with a null prototype`, entry: E.id, fn, async: isAsync, expect: 'ok',
          run: async (lib) => {
            const a = base(lib);
            const ref = plainCall(E, fn, lib, () => base(lib));
            const optPath = E.slots.find((s) => s.kind === 'options').path;
            setAt(a, optPath, Object.assign(Object.create(null), getAt(a, optPath)));
            return U.diff(await E.call(lib, fn, a), ref);
          },
        });
      }
      // inputs detached / out detached while an async call runs
      if (isAsync) {
        cases.push({
          id: `${prefix} | ok: inputs detached while the call runs`, entry: E.id, fn, async: true, expect: 'ok',
          run: async (lib) => {
            const a = base(lib);
            const ref = plainCall(E, fn, lib, () => base(lib));
            const p = E.call(lib, fn, a);
            for (const s of typedSlots(a)) if (s.get().buffer.byteLength > 0) detach(s.get().buffer);
            return U.diff(await p, ref);
          },
        });
        const outSlot = E.slots.find((s) => s.kind === 'out');
        if (outSlot)
          cases.push({
            id: `${prefix} | options.out detached while the call runs`, entry: E.id, fn, async: true, expect: TE, msg: /out/,
            run: (lib) => {
              const a = base(lib);
              const out = new Float32Array(outSlot.n(a));
              setAt(a, outSlot.path, out);
              const p = E.call(lib, fn, a);
              detach(out.buffer);
              return p;
            },
          });
      }
    }
  }
  return cases;
}

// ---- extreme but legal sizes: same result as the equivalent small call, quickly, in bounded memory ----
function resourceCases() {
  const cases = [];
  const budget = { ms: 3000, rssMB: 512 };
  const within = async (f) => {
    const t0 = Date.now(), rss0 = process.memoryUsage.rss();
    const r = await f();
    const ms = Date.now() - t0, mb = (process.memoryUsage.rss() - rss0) / 2 ** 20;
    return { r, why: ms > budget.ms ? `took ${ms} ms (budget ${budget.ms})` : mb > budget.rssMB ? `RSS grew ${mb.toFixed(0)} MB` : '' };
  };
  for (const fn of tglobal.fns) {
    for (const withBias of [false, true]) {
      cases.push({
        id: `${fn} | ok: localRadius 2^30 on N = 12 equals localRadius N - 1${withBias ? ' (with bias tables)' : ''}`,
        entry: tglobal.id, fn, async: /Async$/.test(fn), expect: 'ok', heavy: true,
        run: async (lib) => {
          const make = (r) => {
            const a = withBias ? tglobal.rich(tglobal.make()) : tglobal.make();
            a.options.localRadius = r;
            delete a.options.threads;
            return a;
          };
          const ref = tglobal.call(lib, 'transientGlobalAttention', make(tg.N - 1));
          const { r, why } = await within(() => tglobal.call(lib, fn, make(2 ** 30)));
          return why || U.diff(r, ref);
        },
      });
    }
  }
  for (const L of LAYERS.filter((l) => l.kind !== 'full')) {
    cases.push({
      id: `${L.cls}.forward | ok: local_radius 2^30 on N = 10 equals local_radius N - 1`, entry: `${L.cls}#forward`, fn: 'forward', async: false, expect: 'ok', heavy: true,
      run: async (lib) => {
        const hidden = T([2, 10, 8], 3);
        const ref = new lib[L.cls]({ ...CFG, local_radius: 9 }, layerWeights(L.kind)).forward(hidden);
        const { r, why } = await within(() => new lib[L.cls]({ ...CFG, local_radius: 2 ** 30 }, layerWeights(L.kind)).forward(hidden));
        return why || U.diff(r, ref);
      },
    });
  }
  cases.push({
    id: 'LongT5Attention.forward | ok: relative_attention_max_distance 2^30', entry: 'LongT5Attention#forward', fn: 'forward', async: false, expect: 'ok', heavy: true,
    run: async (lib) => {
      const { r, why } = await within(() => new lib.LongT5Attention({ ...CFG, relative_attention_max_distance: 2 ** 30 }, layerWeights('full')).forward(T([1, 300, 8])));
      return why || (r.data.every(Number.isFinite) ? '' : 'non-finite output');
    },
  });
  cases.push({
    id: 'globalBlockIds | ok: g = 2^32 (G = 0)', entry: 'globalBlockIds', fn: 'globalBlockIds', async: false, expect: 'ok',
    run: async (lib) => {
      const { r, why } = await within(() => lib.globalBlockIds(new Uint8Array(50).fill(1), 2 ** 32));
      return why || (r.G === 0 && r.blockIds.every((x) => x === -1) ? '' : `G ${r.G}, blockIds ${r.blockIds.slice(0, 4)}`);
    },
  });
  cases.push({
    id: 'relativePositionBuckets | ok: extreme distances and bucket counts', entry: 'relativePositionBuckets', fn: 'relativePositionBuckets', async: false, expect: 'ok',
    run: async (lib) => {
      const rel = Int32Array.from([-(2 ** 31), -(2 ** 31) + 1, -1, 0, 1, 2 ** 31 - 1]);
      for (const [nb, md] of [[2, 1], [3, 1], [2 ** 30, 2 ** 30], [32, 2 ** 30], [2 ** 30, 1], [33, 128]]) {
        const out = lib.relativePositionBuckets(rel, nb, md);
        for (const b of out) if (!(b >= 0 && b < nb)) return `bucket ${b} outside [0, ${nb}) for numBuckets ${nb}, maxDistance ${md}`;
      }
      return '';
    },
  });
  cases.push({
    id: 'blockGlobalAttention | ok: blockSize = N', entry: blockGlobal.id, fn: 'blockGlobalAttention', async: false, expect: 'ok',
    run: async (lib) => {
      const a = blockGlobal.make();
      a.options.blockSize = bg.N;
      const r = lib.blockGlobalAttention(a.q, a.k, a.v, a.options);
      return r.data.every(Number.isFinite) ? '' : 'non-finite output';
    },
  });
  return cases;
}

// ---- safetensors files: corrupted and truncated, read from bytes and from a path ----

function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
function fileFromHeader(header, dataBytes, { padHeader = true } = {}) {
  let json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  if (padHeader && json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  return new Uint8Array(Buffer.concat([u64(json.length), json, Buffer.alloc(dataBytes)]));
}
const goodHeader = () => ({
  __metadata__: { format: 'pt' },
  'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
  'b.bias': { dtype: 'F32', shape: [3], data_offsets: [24, 36] },
});
const withEntry = (f) => {
  const h = goodHeader();
  f(h);
  return fileFromHeader(h, 36);
};

function safetensorsCases() {
  const corrupt = [];
  const add = (name, bytes) => corrupt.push({ name, bytes });
  const good = () => fileFromHeader(goodHeader(), 36);
  // truncations at every interesting length
  for (const cut of [0, 1, 7, 8, 9, 20, 'header - 1', 'data - 1', 'data - 4'])
    add(`truncated to ${cut} bytes`, () => {
      const g = good();
      const hl = Number(new DataView(g.buffer).getBigUint64(0, true));
      const n = typeof cut === 'number' ? cut : cut === 'header - 1' ? 8 + hl - 1 : cut === 'data - 1' ? g.length - 1 : g.length - 4;
      return g.slice(0, n);
    });
  add('one trailing byte', () => new Uint8Array([...good(), 0]));
  add('header length 2^64 - 1', () => {
    const g = good();
    g.set(u64(2n ** 64n - 1n), 0);
    return g;
  });
  add('header length 2^53 + 1', () => {
    const g = good();
    g.set(u64(2n ** 53n + 1n), 0);
    return g;
  });
  add('header length 0', () => new Uint8Array([...u64(0), ...Buffer.from('{}')]));
  add('header length past the end', () => {
    const g = good();
    g.set(u64(g.length), 0);
    return g;
  });
  add('header not JSON', () => fileFromHeader('{"a": ', 0));
  add('header JSON null', () => fileFromHeader('null', 0));
  add('header a JSON array', () => fileFromHeader('[1, 2]', 0));
  add('header a JSON string', () => fileFromHeader('"x"', 0));
  add('header invalid UTF-8', () => new Uint8Array([...u64(8), 0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20]));
  add('header with a NUL byte', () => new Uint8Array([...u64(8), 0x7b, 0x00, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20]));
  add('all-zero file of 64 bytes', () => new Uint8Array(64));
  add('random bytes', () => Uint8Array.from(rand(16, 99), (x) => Math.floor((x + 1) * 127)));
  add('metadata an array', () => withEntry((h) => void (h.__metadata__ = ['x'])));
  add('metadata value a number', () => withEntry((h) => void (h.__metadata__ = { n: 1 })));
  add('entry a string', () => withEntry((h) => void (h['b.bias'] = 'F32')));
  add('entry null', () => withEntry((h) => void (h['b.bias'] = null)));
  add('dtype missing', () => withEntry((h) => void delete h['a.weight'].dtype));
  add('dtype unknown', () => withEntry((h) => void (h['a.weight'].dtype = 'F128')));
  add('dtype lower case', () => withEntry((h) => void (h['a.weight'].dtype = 'f32')));
  add("dtype '__proto__'", () => withEntry((h) => void (h['a.weight'].dtype = '__proto__')));
  add("dtype 'constructor'", () => withEntry((h) => void (h['a.weight'].dtype = 'constructor')));
  add('dtype a number', () => withEntry((h) => void (h['a.weight'].dtype = 4)));
  add('shape missing', () => withEntry((h) => void delete h['a.weight'].shape));
  add('shape a string', () => withEntry((h) => void (h['a.weight'].shape = '2,3')));
  add('shape negative', () => withEntry((h) => void (h['a.weight'].shape = [-2, -3])));
  add('shape fractional', () => withEntry((h) => void (h['a.weight'].shape = [1.5, 4])));
  add('shape 2^53', () => withEntry((h) => void (h['a.weight'].shape = [2 ** 53, 0])));
  add('shape 1e400 (Infinity)', () => fileFromHeader(JSON.stringify(goodHeader()).replace('[2,3]', '[1e400,3]'), 36));
  add('shape product overflowing 53 bits', () => withEntry((h) => void (h['a.weight'].shape = [2 ** 30, 2 ** 30, 2 ** 30])));
  add('shape disagrees with offsets', () => withEntry((h) => void (h['a.weight'].shape = [3, 3])));
  add('data_offsets missing', () => withEntry((h) => void delete h['a.weight'].data_offsets));
  add('data_offsets of length 3', () => withEntry((h) => void (h['a.weight'].data_offsets = [0, 12, 24])));
  add('data_offsets reversed', () => withEntry((h) => void (h['a.weight'].data_offsets = [24, 0])));
  add('data_offsets negative', () => withEntry((h) => void (h['a.weight'].data_offsets = [-24, 0])));
  add('data_offsets fractional', () => withEntry((h) => void (h['a.weight'].data_offsets = [0, 23.5])));
  add('data_offsets strings', () => withEntry((h) => void (h['a.weight'].data_offsets = ['0', '24'])));
  add('data_offsets 2^64', () => withEntry((h) => void (h['b.bias'].data_offsets = [2 ** 64 - 12, 2 ** 64])));
  add('data_offsets past the data', () => withEntry((h) => void (h['b.bias'].data_offsets = [24, 48])));
  add('overlapping tensors', () => withEntry((h) => void (h['b.bias'].data_offsets = [12, 24])));
  add('a hole between tensors', () => {
    const h = goodHeader();
    h['b.bias'].data_offsets = [28, 40];
    return fileFromHeader(h, 40);
  });
  add('duplicate tensor names (last wins, then sizes disagree)', () =>
    fileFromHeader(JSON.stringify(goodHeader()).replace('"b.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}', '"b.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},"b.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}'), 36));
  add('deeply nested JSON', () => fileFromHeader(`{"x": ${'['.repeat(5000)}${']'.repeat(5000)}}`, 0));

  const cases = [];
  for (const c of corrupt) {
    cases.push({
      id: `readSafetensors(bytes) | ${c.name}`, entry: 'readSafetensors', fn: 'readSafetensors', async: false, expect: ['Error'],
      msg: /safetensors.*<bytes>|safetensors: .*corrupt\.bin/,
      run: (lib) => lib.readSafetensors(c.bytes()),
    });
    cases.push({
      id: `readSafetensors(path) | ${c.name}`, entry: 'readSafetensors', fn: 'readSafetensors', async: false, expect: ['Error'], msg: /corrupt-.*\.safetensors/,
      run: (lib, ctx) => lib.readSafetensors(ctx.file(`corrupt-${cases.length}.safetensors`, c.bytes())),
    });
    cases.push({
      id: `LongT5LocalAttention.fromSafetensors | ${c.name}`, entry: 'fromSafetensors', fn: 'fromSafetensors', async: false, expect: ['Error'], msg: /layer-.*\.safetensors/,
      run: (lib, ctx) => lib.LongT5LocalAttention.fromSafetensors(ctx.file(`layer-${cases.length}.safetensors`, c.bytes())),
    });
  }
  // reader arguments
  for (const [n, v] of [['undefined', undefined], ['null', null], ['a number', 3], ['an Int8Array', new Int8Array(16)], ['an ArrayBuffer', new ArrayBuffer(16)], ['a Buffer of another kind (DataView)', new DataView(new ArrayBuffer(16))]])
    cases.push({ id: `readSafetensors | argument ${n}`, entry: 'readSafetensors', fn: 'readSafetensors', async: false, expect: TE, msg: /readSafetensors|path|bytes/, run: (lib) => lib.readSafetensors(v) });
  for (const [n, p] of [['a missing file', (ctx) => path.join(ctx.dir, 'nope.safetensors')], ['a directory', (ctx) => ctx.dir], ['a path with a NUL byte', () => 'a\0b'], ['an empty path', () => ''], ['/dev/null', () => '/dev/null']])
    cases.push({ id: `readSafetensors | ${n}`, entry: 'readSafetensors', fn: 'readSafetensors', async: false, expect: ['Error', 'TypeError'], msg: /safetensors/, run: (lib, ctx) => lib.readSafetensors(p(ctx)) });
  // fromSafetensors: arguments and well-formed files with the wrong content
  const layerFile = (lib, ctx, name, edit, meta = { config: JSON.stringify(CFG) }) => {
    const w = layerWeights('tglobal');
    const tensors = {};
    for (const [k, v] of Object.entries(w)) tensors[k] = { data: v.data ?? v, shape: v.dims ?? [v.length] };
    edit(tensors, meta);
    return ctx.file(name, lib.writeSafetensors(tensors, meta));
  };
  const fromCases = [
    ['path a number', TE, /path/, (lib) => lib.LongT5TransientGlobalAttention.fromSafetensors(5)],
    ['path undefined', TE, /path/, (lib) => lib.LongT5TransientGlobalAttention.fromSafetensors(undefined)],
    ['path a Uint8Array', TE, /path/, (lib) => lib.LongT5TransientGlobalAttention.fromSafetensors(new Uint8Array(8))],
    ['prefix a number', TE, /prefix/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'p.safetensors', () => {}), 3)],
    ['missing file', ['Error'], /nope/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(path.join(ctx.dir, 'nope.safetensors'))],
    ['a tensor missing', ['Error'], /k\.weight.*missing|missing.*k\.weight/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'm.safetensors', (t) => delete t['k.weight']))],
    ['wrong prefix', ['Error'], /encoder\.q\.weight/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'pf.safetensors', () => {}), 'encoder.')],
    ['a tensor of dtype I32', ['Error', 'TypeError'], /q\.weight/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'i.safetensors', (t) => void (t['q.weight'] = { data: new Int32Array(48), shape: [6, 8] })))],
    ['a tensor of dtype U8', ['Error', 'TypeError'], /q\.weight/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'u.safetensors', (t) => void (t['q.weight'] = { data: new Uint8Array(48), shape: [6, 8] })))],
    ['a tensor with the wrong shape', RE, /q\.weight/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 's.safetensors', (t) => void (t['q.weight'] = { data: new Float32Array(48), shape: [8, 6] })))],
    ['no config anywhere', ['Error'], /config/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'nc.safetensors', () => {}, {}))],
    ['metadata config not JSON', ['Error'], /config/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'nj.safetensors', () => {}, { config: '{d_model: 8' }))],
    ['metadata config JSON null', TE, /config/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'nn.safetensors', () => {}, { config: 'null' }))],
    ['metadata config JSON number', TE, /config/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'nu.safetensors', () => {}, { config: '7' }))],
    ['metadata config with d_model a string', TE, /config\.d_model/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'ds.safetensors', () => {}, { config: JSON.stringify({ ...CFG, d_model: '8' }) }))],
    ['metadata config with d_model 2^40', RE, /config\.d_model/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'dl.safetensors', () => {}, { config: JSON.stringify({ ...CFG, d_model: 2 ** 40 }) }))],
    ['config argument a string', TE, /config/, (lib, ctx) => lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'cs.safetensors', () => {}), undefined, 'x')],
    ['has_relative_attention_bias false in the metadata config: bias tensors may be absent', 'ok', null, (lib, ctx) => {
      const l = lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'hb.safetensors', (t) => {
        delete t['relative_attention_bias.weight'];
        delete t['global_relative_attention_bias.weight'];
      }, { config: JSON.stringify({ ...CFG, has_relative_attention_bias: false }) }));
      return l.forward(T([1, 9, 8])).data.every(Number.isFinite) ? '' : 'non-finite output';
    }],
    ['weights in F16 and F64 load', 'ok', null, (lib, ctx) => {
      const l = lib.LongT5TransientGlobalAttention.fromSafetensors(layerFile(lib, ctx, 'hf.safetensors', (t) => {
        t['q.weight'] = { dtype: 'F16', data: new Uint16Array(48).fill(0x3c00), shape: [6, 8] };
        t['k.weight'] = { data: new Float64Array(48).fill(0.25), shape: [6, 8] };
      }));
      return l.forward(T([1, 9, 8])).data.every(Number.isFinite) ? '' : 'non-finite output';
    }],
  ];
  for (const [n, expect, msg, run] of fromCases)
    cases.push({
      id: `LongT5TransientGlobalAttention.fromSafetensors | ${n}`, entry: 'fromSafetensors', fn: 'fromSafetensors', async: false, expect, msg,
      run: expect === 'ok' ? async (lib, ctx) => run(lib, ctx) : run,
    });
  // writer
  const writerCases = [
    ['tensor entry a number', TE, /"x"/, { x: 1 }],
    ['tensor data a plain Array', TE, /"x".*data/, { x: { shape: [2], data: [1, 2] } }],
    ['tensor data a DataView', TE, /"x".*data/, { x: { shape: [2], data: new DataView(new ArrayBuffer(8)) } }],
    ['dtype unknown', TE, /"x".*dtype/, { x: { dtype: 'F128', shape: [2], data: new Float32Array(2) } }],
    ['dtype disagrees with the array', TE, /"x".*dtype/, { x: { dtype: 'F64', shape: [2], data: new Float32Array(2) } }],
    ['shape a string', TE, /"x".*shape/, { x: { shape: '2', data: new Float32Array(2) } }],
    ['shape negative', RE, /"x".*shape\[0\]/, { x: { shape: [-2], data: new Float32Array(2) } }],
    ['shape disagrees with the data', RE, /"x".*shape/, { x: { shape: [3], data: new Float32Array(2) } }],
    ['shape NaN', RE, /"x".*shape\[0\]/, { x: { shape: [NaN], data: new Float32Array(2) } }],
    ['the reserved name __metadata__', ['Error'], /__metadata__/, { __metadata__: { shape: [2], data: new Float32Array(2) } }],
  ];
  for (const [n, expect, msg, tensors] of writerCases)
    cases.push({ id: `writeSafetensors | ${n}`, entry: 'writeSafetensors', fn: 'writeSafetensors', async: false, expect, msg, run: (lib) => lib.writeSafetensors(tensors) });
  cases.push({ id: 'writeSafetensors | metadata value a number', entry: 'writeSafetensors', fn: 'writeSafetensors', async: false, expect: TE, msg: /metadata.*"n"/, run: (lib) => lib.writeSafetensors({}, { n: 1 }) });
  cases.push({ id: 'writeSafetensors | metadata an array', entry: 'writeSafetensors', fn: 'writeSafetensors', async: false, expect: TE, msg: /metadata/, run: (lib) => lib.writeSafetensors({}, ['x']) });
  cases.push({
    id: 'writeSafetensors | ok: a detached tensor of shape [0] and views at byteOffsets round-trip', entry: 'writeSafetensors', fn: 'writeSafetensors', async: false, expect: 'ok',
    run: async (lib) => {
      const big = new Float32Array(10).map((_, i) => i);
      const bytes = lib.writeSafetensors({ a: { shape: [3], data: big.subarray(5, 8) }, z: { shape: [0], data: new Float32Array(0) } });
      const back = lib.readSafetensors(bytes);
      return U.diff(Array.from(back.tensors.get('a').data), [5, 6, 7]);
    },
  });
  return cases;
}

// ---- runtime knobs ----
function runtimeCases() {
  const cases = [];
  for (const [n, v, expect] of [['-1', -1, RE], ['1.5', 1.5, RE], ['NaN', NaN, RE], ['Infinity', Infinity, RE], ['2^31', 2 ** 31, RE], ['a string', '2', TE], ['undefined', undefined, TE], ['null', null, TE], ['a bigint', 2n, TE]])
    cases.push({ id: `setThreads | ${n}`, entry: 'setThreads', fn: 'setThreads', async: false, expect, msg: /threads/, run: (lib) => lib.setThreads(v) });
  for (const [n, v, expect] of [['unknown', 'avx9000', RE], ['upper case', 'AVX2', RE], ['empty', '', RE], ['a number', 5, TE], ['undefined', undefined, TE], ['an object', { toString: () => 'scalar' }, TE]])
    cases.push({ id: `setIsa | ${n}`, entry: 'setIsa', fn: 'setIsa', async: false, expect, msg: /isa/, run: (lib) => lib.setIsa(v) });
  cases.push({
    id: 'setThreads | ok: bad values leave the budget unchanged', entry: 'setThreads', fn: 'setThreads', async: false, expect: 'ok',
    run: async (lib) => {
      const keep = lib.info().threads;
      for (const v of [-1, NaN, '3', 2 ** 40]) try { lib.setThreads(v); } catch { /* expected */ }
      return lib.info().threads === keep ? '' : `threads changed from ${keep} to ${lib.info().threads}`;
    },
  });
  return cases;
}

// ---- ONNX export: layer.toOnnx(options) and exportOnnx(layer, path, options), when the facade has them ----
function onnxCases() {
  const cases = [];
  const layerOf = (lib, L, cfg = CFG) => new lib[L.cls](cfg, layerWeights(L.kind, cfg));
  const add = (id, needs, expect, msg, run, extra = {}) => cases.push({ id, needs, entry: needs, fn: needs, async: false, expect, msg, run, ...extra });
  const badOptions = [
    ['options.opset 17 (below 18)', RE, /opset/, { opset: 17 }],
    ['options.opset fractional', RE, /opset/, { opset: 18.5 }],
    ['options.opset NaN', RE, /opset/, { opset: NaN }],
    ['options.opset a string', TE, /opset/, { opset: '18' }],
    ['options.opset 2^53', RE, /opset/, { opset: 2 ** 53 }],
    ["unknown option 'opsett'", TE, /'opsett'/, { opsett: 18 }],
    ['options a number', TE, /options/, 5],
    ['options a string', TE, /options/, 'opset'],
    ['options null', TE, /options/, null],
  ];
  for (const L of LAYERS) {
    for (const [n, expect, msg, o, extra] of badOptions)
      add(`${L.cls}#toOnnx | ${n}`, 'toOnnx', expect, msg, (lib) => layerOf(lib, L).toOnnx(o), extra);
    add(`${L.cls}#toOnnx | a weight detached after construction`, 'toOnnx', TRE, /q\.weight|detached/, (lib) => {
      const layer = layerOf(lib, L);
      detach(layer.weights['q.weight'].buffer);
      return layer.toOnnx();
    });
    add(`${L.cls}#toOnnx | ok: the model bytes start with an ONNX ModelProto and are deterministic`, 'toOnnx', 'ok', null, async (lib) => {
      const a = layerOf(lib, L).toOnnx(), b = layerOf(lib, L).toOnnx();
      if (!(a instanceof Uint8Array) || a.length < 100) return 'not model bytes';
      return U.diff(a, b);
    });
  }
  for (const L of LAYERS.filter((l) => l.kind !== 'full')) {
    // the band constant is [H, 1, L, 3L] with L = max(r, 8): O(H·r²) floats
    add(`${L.cls}#toOnnx | local_radius 2^30: refused with a RangeError naming local_radius`, 'toOnnx', RE, /local_radius/, (lib) => layerOf(lib, L, { ...CFG, local_radius: 2 ** 30 }).toOnnx(), { heavy: true });
    add(`${L.cls}#toOnnx | local_radius 2^15 (a 25 GB band constant): refused with a RangeError naming local_radius`, 'toOnnx', RE, /local_radius/, (lib) => layerOf(lib, L, { ...CFG, local_radius: 2 ** 15 }).toOnnx(), { heavy: true });
  }
  const make = (lib) => layerOf(lib, LAYERS[0]);
  for (const [n, v] of [['undefined', undefined], ['null', null], ['a number', 1], ['a plain object', { config: CFG }], ['an object whose toOnnx is not a function', { toOnnx: 5 }]])
    add(`exportOnnx | layer ${n}`, 'exportOnnx', TE, /layer/, (lib, ctx) => lib.exportOnnx(v, path.join(ctx.dir, 'x.onnx')));
  for (const [n, v] of [['a number', 5], ['empty', ''], ['undefined', undefined], ['a Buffer', Buffer.from('x.onnx')], ['an array', ['x.onnx']]])
    add(`exportOnnx | path ${n}`, 'exportOnnx', TE, /path/, (lib) => lib.exportOnnx(make(lib), v));
  add('exportOnnx | path in a missing directory', 'exportOnnx', ['Error'], /no-such-dir/, (lib, ctx) => lib.exportOnnx(make(lib), path.join(ctx.dir, 'no-such-dir', 'c.onnx')));
  add('exportOnnx | path is a directory', 'exportOnnx', ['Error'], /EISDIR|directory/, (lib, ctx) => lib.exportOnnx(make(lib), ctx.dir));
  add('exportOnnx | path with a NUL byte', 'exportOnnx', ['Error', 'TypeError'], /path|null bytes/, (lib, ctx) => lib.exportOnnx(make(lib), path.join(ctx.dir, 'a\0b.onnx')));
  for (const [n, expect, msg, o, extra] of badOptions)
    add(`exportOnnx | ${n}`, 'exportOnnx', expect, msg, (lib, ctx) => lib.exportOnnx(make(lib), path.join(ctx.dir, 'o.onnx'), o), extra);
  add('exportOnnx | ok: writes exactly the bytes toOnnx returns, and returns their length', 'exportOnnx', 'ok', null, async (lib, ctx) => {
    const layer = make(lib);
    const p = path.join(ctx.dir, 'ok.onnx');
    const n = lib.exportOnnx(layer, p);
    const bytes = new Uint8Array(fs.readFileSync(p));
    if (n !== bytes.length) return `returned ${n}, wrote ${bytes.length}`;
    return U.diff(bytes, layer.toOnnx());
  });
  return cases;
}

// ---- the raw addon with garbage: the binding's own checks (defence in depth) must hold too ----
function bindingCases() {
  const cases = [];
  const f = (n) => new Float32Array(n);
  const dense = () => ({ q: f(8), k: f(8), v: f(8), out: f(8), B: 1, H: 1, Hk: 1, Nq: 2, Nk: 2, D: 4, Dv: 4, scale: 1, causal: false });
  const tgl = () => ({ q: f(8), k: f(8), v: f(8), out: f(8), globalK: f(0), globalV: f(0), B: 1, H: 1, N: 2, D: 4, Dv: 4, G: 0, radius: 1, scale: 1 });
  const layer = () => ({
    kind: 'local', B: 1, N: 2, dModel: 2, H: 1, dKv: 2, localRadius: 1, globalBlockSize: 1, numBuckets: 4, maxDistance: 8, eps: 1e-6,
    hidden: f(4), out: f(4), wq: f(4), wk: f(4), wv: f(4), wo: f(4), relBias: f(4),
  });
  const lin = () => ({ x: f(6), w: f(6), out: f(4), M: 2, K: 3, N: 2 });
  const sets = {
    denseAttention: [dense, ['B', 'H', 'Hk', 'Nq', 'Nk', 'D', 'Dv'], ['q', 'k', 'v', 'out']],
    tglobalAttention: [tgl, ['B', 'H', 'N', 'D', 'Dv', 'G', 'radius'], ['q', 'k', 'v', 'out']],
    blockGlobalAttention: [() => ({ ...tgl(), blockSize: 1 }), ['B', 'H', 'N', 'D', 'Dv', 'blockSize'], ['q', 'k', 'v', 'out']],
    linear: [lin, ['M', 'K', 'N'], ['x', 'w', 'out']],
    longt5Forward: [layer, ['B', 'N', 'dModel', 'H', 'dKv', 'numBuckets', 'maxDistance', 'localRadius'], ['hidden', 'out', 'wq', 'wo', 'relBias']],
  };
  for (const [name, [make, sizes, arrays]] of Object.entries(sets)) {
    for (const fn of [name, `${name}Async`]) {
      // radius 2^40 is legal for the binding: after it the call must either be refused or compute (radius >= N is all keys)
      const add = (what, edit) => cases.push({
        id: `binding.${fn} | ${what}`, entry: `binding.${name}`, fn, async: /Async$/.test(fn), native: true, expect: TRE, msg: /./,
        ...(what.startsWith('radius = 2^40') ? { orOk: true, heavy: true } : {}),
        run: (lib, ctx) => {
          const a = make();
          edit(a);
          return ctx.native[fn](a);
        },
      });
      add('no argument object', (a) => Object.keys(a).forEach((k) => delete a[k]));
      for (const s of sizes) {
        add(`${s} = 2^40 with small arrays`, (a) => void (a[s] = 2 ** 40));
        add(`${s} = 2^53`, (a) => void (a[s] = 2 ** 53));
        add(`${s} = -1`, (a) => void (a[s] = -1));
        add(`${s} = NaN`, (a) => void (a[s] = NaN));
        add(`${s} a string`, (a) => void (a[s] = '2'));
      }
      for (const k of arrays) {
        add(`${k} one element short`, (a) => void (a[k] = f(Math.max(0, a[k].length - 1) || 1)));
        add(`${k} a Float64Array`, (a) => void (a[k] = new Float64Array(a[k].length)));
        add(`${k} detached`, (a) => detach(a[k].buffer));
      }
    }
  }
  const one = (fn, what, args) => cases.push({ id: `binding.${fn} | ${what}`, entry: `binding.${fn}`, fn, async: /Async$/.test(fn), native: true, expect: TRE, msg: /./, run: (lib, ctx) => ctx.native[fn](...args()) });
  one('tglobalAttention', 'blockIds out of range', () => [{ ...tgl(), G: 1, N: 2, globalK: f(4), globalV: f(4), globalBias: f(3), blockIds: new Int32Array([0, 5]) }]);
  one('tglobalAttention', 'blockIds below -1', () => [{ ...tgl(), G: 1, N: 2, globalK: f(4), globalV: f(4), globalBias: f(3), blockIds: new Int32Array([-7, 0]) }]);
  one('tglobalAttention', 'localBias too short for the radius', () => [{ ...tgl(), radius: 5, localBias: f(3) }]);
  one('tglobalAttention', 'layout bogus', () => [{ ...tgl(), layout: 'xyz' }]);
  one('denseAttention', 'Hk = 0', () => [{ ...dense(), Hk: 0 }]);
  one('denseAttention', 'bias with biasDims that do not broadcast', () => [{ ...dense(), bias: f(4), biasDims: [1, 1, 2, 3] }]);
  one('denseAttention', 'bias with biasDims missing', () => [{ ...dense(), bias: f(4) }]);
  one('denseAttention', 'keyMask a Float32Array', () => [{ ...dense(), keyMask: f(2) }]);
  one('denseAttention', 'layout bogus', () => [{ ...dense(), layout: 'xyz' }]);
  one('denseAttentionAsync', 'layout a number', () => [{ ...dense(), layout: 1 }]);
  const oneMsg = (fn, what, msg, args) => cases.push({ id: `binding.${fn} | ${what}`, entry: `binding.${fn}`, fn, async: /Async$/.test(fn), native: true, expect: TRE, msg, run: (lib, ctx) => ctx.native[fn](...args()) });
  oneMsg('denseAttentionAsync', 'allocateOutputs a string', /allocateOutputs must be a boolean/, () => [{ ...dense(), out: undefined, allocateOutputs: 'yes' }]);
  oneMsg('denseAttention', 'allocateOutputs without out (sync)', /out must be a Float32Array/, () => [{ ...dense(), out: undefined, allocateOutputs: true }]);
  oneMsg('longt5ForwardAsync', 'allocateOutputs a number', /allocateOutputs must be a boolean/, () => [{ ...layer(), out: undefined, allocateOutputs: 1 }]);
  oneMsg('denseAttentionAsync', 'allocateOutputs with an output over 2^32 elements', /more than a typed array holds/,
    () => [{ ...dense(), q: f(0), k: f(0), v: f(0), out: undefined, Nq: 2 ** 33, Nk: 0, D: 0, Dv: 1, allocateOutputs: true }]);
  oneMsg('linearAsync', 'allocateOutputs with an output over 2^32 elements', /more than a typed array holds/,
    () => [{ x: f(0), w: f(0), M: 2 ** 20, K: 0, N: 2 ** 13, allocateOutputs: true }]);
  one('globalAggregates', 'blockIds out of range', () => [{ x: f(8), B: 1, N: 2, C: 4, blockIds: new Int32Array([0, 9]), G: 1, eps: 0, out: f(4) }]);
  one('globalAggregates', 'eps negative', () => [{ x: f(8), B: 1, N: 2, C: 4, blockIds: new Int32Array([0, 0]), G: 1, eps: -1, out: f(4) }]);
  one('globalBlockIds', 'g = 0', () => [{ B: 1, N: 4, g: 0, blockIds: new Int32Array(4), segmentIds: new Int32Array(4) }]);
  one('globalBlockIds', 'B * N overflowing without a mask', () => [{ B: 2 ** 40, N: 2 ** 40, g: 1, blockIds: new Int32Array(4), segmentIds: new Int32Array(4) }]);
  // found by test/reliability/fuzz-js.js: global_block_ids loops over all B rows even when N = 0 (a hang for B = 2^40)
  cases.push({
    id: 'binding.globalBlockIds | B = 2^40 with N = 0 returns at once (fuzz-js regression: a 2^40-iteration loop)', entry: 'binding.globalBlockIds', fn: 'globalBlockIds',
    async: false, native: true, expect: TRE, msg: /./, orOk: true,
    run: (lib, ctx) => ctx.native.globalBlockIds({ B: 2 ** 40, N: 0, g: 4, blockIds: new Int32Array(0), segmentIds: new Int32Array(0) }),
  });
  // found by fuzz-js.js under ASan: without a mask the binding allocates and fills a B*N byte mask
  // before checking blockIds' length (B*N up to 2^46): 16 GB here, for a 1-element blockIds
  cases.push({
    id: 'binding.globalBlockIds | B * N = 2^34 with a 1-element blockIds is refused before allocating (fuzz-js regression)', entry: 'binding.globalBlockIds', fn: 'globalBlockIds',
    async: false, native: true, expect: TRE, msg: /blockIds/, heavy: true,
    run: (lib, ctx) => ctx.native.globalBlockIds({ B: 2 ** 17, N: 2 ** 17, g: 1, blockIds: new Int32Array(1), segmentIds: new Int32Array(1) }),
  });
  // found by fuzz-js.js under ASan: with B = 0 every array is empty and valid, but block_means
  // allocates its accumulator by Dv (2^32 doubles = 32 GB) before finding there are no rows
  cases.push({
    id: 'binding.blockGlobalAttentionAsync | B = 0 with Dv = 2^32 returns without allocating (fuzz-js regression)', entry: 'binding.blockGlobalAttention',
    fn: 'blockGlobalAttentionAsync', async: true, native: true, expect: TRE, msg: /./, orOk: true, heavy: true,
    run: (lib, ctx) => ctx.native.blockGlobalAttentionAsync({ q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0), out: new Float32Array(0), B: 0, H: 2, N: 5, D: 2, Dv: 2 ** 32, blockSize: 3, scale: 1 }),
  });
  cases.push({
    id: 'binding.globalAggregates | B = 0 with C = 2^34 returns without allocating (fuzz-js regression)', entry: 'binding.globalAggregates',
    fn: 'globalAggregates', async: false, native: true, expect: TRE, msg: /./, orOk: true, heavy: true,
    run: (lib, ctx) => ctx.native.globalAggregates({ x: new Float32Array(0), B: 0, N: 1, C: 2 ** 34, blockIds: new Int32Array(0), G: 1, eps: 1e-6, out: new Float32Array(0) }),
  });
  one('globalBlockIds', 'blockIds too short', () => [{ B: 1, N: 4, g: 1, blockIds: new Int32Array(3), segmentIds: new Int32Array(4) }]);
  one('relativePositionBuckets', 'out too short', () => [{ relative: new Int32Array(4), numBuckets: 8, maxDistance: 8, out: new Int32Array(3) }]);
  one('relativePositionBuckets', 'numBuckets 1', () => [{ relative: new Int32Array(4), numBuckets: 1, maxDistance: 8, out: new Int32Array(4) }]);
  one('longt5Forward', 'kind bogus', () => [{ ...layer(), kind: 'dense' }]);
  one('longt5Forward', 'tglobal without globalRelBias', () => [{ ...layer(), kind: 'tglobal', globalBlockSize: 1 }]);
  one('longt5Forward', 'tglobal with globalBlockSize 0', () => [{ ...layer(), kind: 'tglobal', globalBlockSize: 0, globalRelBias: f(4), globalNormWeight: f(2) }]);
  one('setThreads', 'no argument', () => []);
  one('setIsa', 'a number', () => [3]);
  one('measureFmaPeak', 'NaN seconds', () => [NaN]);
  one('measureFmaPeak', '100 seconds', () => [100]);
  one('measureMicrokernels', 'no argument', () => []);
  one('measureMicrokernels', 'a string', () => ['0.1']);
  one('measureMicrokernels', 'NaN seconds', () => [NaN]);
  one('measureMicrokernels', '0 seconds', () => [0]);
  one('measureMicrokernels', 'negative seconds', () => [-1]);
  one('measureMicrokernels', '100 seconds', () => [100]);
  one('adviseHugePages', 'no argument', () => []);
  one('adviseHugePages', 'a number', () => [4 << 20]);
  one('adviseHugePages', 'a plain array', () => [[1, 2, 3]]);
  for (const fn of ['denseAttention', 'tglobalAttentionAsync', 'linear', 'longt5ForwardAsync', 'globalBlockIds', 'globalAggregates', 'relativePositionBuckets'])
    for (const [n, v] of [['undefined', undefined], ['a number', 1], ['a string', 'x'], ['a Proxy that throws', new Proxy({}, { get() { throw new TypeError('proxy get trap'); } })]])
      one(fn, `argument ${n}`, () => [v]);
  return cases;
}

/** Every case, in a fixed order (ids are unique). */
function allCases() {
  const cases = [...errorCases(), ...variantCases(), ...resourceCases(), ...safetensorsCases(), ...runtimeCases(), ...onnxCases(), ...bindingCases()];
  const seen = new Map();
  for (const c of cases) {
    let id = c.id;
    for (let i = 2; seen.has(id); i++) id = `${c.id} #${i}`;
    c.id = id;
    seen.set(id, c);
  }
  return cases;
}

/** Context the cases need at run time: a scratch directory for files, the raw addon. */
function makeContext(native) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-badinput-'));
  let n = 0;
  return {
    dir,
    native,
    file(name, bytes) {
      const p = path.join(dir, `${n++}-${name}`);
      fs.writeFileSync(p, bytes);
      return p;
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { allCases, makeContext, ENTRIES };
