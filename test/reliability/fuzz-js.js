#!/usr/bin/env node
// JS fuzz loops (the native side has the libFuzzer target native/fuzz/fuzz_kernels.cc):
//
//   safetensors  the header parser (lib/safetensors.ts readSafetensors) fed mutated files: seeds
//                are writer output and the files in test/fixtures; mutations flip bits, splice,
//                truncate, rewrite the length field and edit the JSON header structurally.
//                Invariant: either a consistent result (every tensor's data fits its dtype and
//                shape, metadata all strings, and it round-trips through writeSafetensors), or an
//                Error whose message starts with "safetensors:" — never another exception
//                (TypeError from a missed check, "Invalid typed array length", stack overflow),
//                and never slow.
//   binding      the raw addon's entry points fed argument objects that are consistent or off by
//                one field (sizes from an interesting set, arrays of the wrong type or length,
//                detached buffers, bogus enums). Invariant: it returns, or throws/rejects a
//                TypeError or RangeError — never crashes (under ASan: never a memory error).
//
//   node fuzz-js.js [--seconds S | --iterations N] [--seed N] [--only safetensors|binding]
// Prints one summary line per target; on a violation prints the seed, the iteration and the
// input (base64 for files; fuzz-regressions/ keeps them) and exits 1. Files in
// test/reliability/fuzz-regressions/*.safetensors are replayed first.
'use strict';
const fs = require('fs');
const path = require('path');
const { loadLib, loadNative, loadLibModule } = require('./load-lib');
const { mulberry32, describeError, detach } = require('./util');

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : d;
};
const seconds = Number(opt('--seconds', opt('--iterations') ? 1e9 : 10));
const maxIter = Number(opt('--iterations', 1e12));
const seed = Number(opt('--seed', Date.now() % 1e9));
const only = opt('--only');

const lib = loadLib();
const native = loadNative();
const st = loadLibModule('safetensors');
const ROOT = path.resolve(__dirname, '..', '..');
const REGRESSIONS = path.join(__dirname, 'fuzz-regressions');

let failures = 0;
function fail(target, iter, what, input) {
  failures++;
  console.log(`FUZZ FAILURE [${target}] seed ${seed} iteration ${iter}: ${what}`);
  if (input !== undefined) console.log(`  input: ${input}`);
}

// ------------------------------------------------------------------------------------------
// safetensors

function seedFiles() {
  const seeds = [];
  const w = lib.writeSafetensors;
  seeds.push(w({ a: { shape: [2, 3], data: new Float32Array(6).fill(1.5) }, b: { shape: [3], data: new Int32Array([1, 2, 3]) } }, { config: '{"d_model": 8}' }));
  seeds.push(w({ x: { shape: [], data: new Float64Array([3]) }, e: { shape: [0, 4], data: new Float32Array(0) } }));
  seeds.push(w({ h: { dtype: 'F16', shape: [4], data: new Uint16Array([0x3c00, 0x7c00, 0xfc00, 0x7e00]) }, g: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x7fc0]) }, i: { shape: [2], data: new BigInt64Array([1n, -1n]) }, u: { dtype: 'BOOL', shape: [3], data: new Uint8Array([0, 1, 1]) } }));
  seeds.push(w({}));
  const fx = path.join(ROOT, 'test', 'fixtures');
  try {
    for (const f of fs.readdirSync(fx).filter((n) => n.endsWith('.safetensors')).sort().slice(0, 6)) {
      const b = fs.readFileSync(path.join(fx, f));
      if (b.length < 200_000) seeds.push(new Uint8Array(b));
    }
  } catch {
    // no fixtures: the writer seeds are enough
  }
  return seeds;
}

const INTERESTING_NUMBERS = [0, 1, -1, 2, 3, 7, 8, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 8, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -0, 0.5, 1e-300];
const DTYPES = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F16', 'BF16', 'F32', 'F64', 'F8_E4M3', 'F8_E5M2', 'F128', '', '__proto__', 'toString', 'f32'];

function mutateHeaderJson(rng, header) {
  const pick = (a) => a[Math.floor(rng() * a.length)];
  const names = Object.keys(header);
  const name = names.length ? pick(names) : 'x';
  const e = header[name];
  const choice = Math.floor(rng() * 14);
  const num = () => (rng() < 0.5 ? pick(INTERESTING_NUMBERS) : Math.floor(rng() * 100));
  if (name === '__metadata__' || e === null || typeof e !== 'object') {
    if (choice < 4) header[name] = pick([null, 1, 'x', [], { a: 1 }, { a: 'b' }]);
    else header[`n${choice}`] = { dtype: pick(DTYPES), shape: [num()], data_offsets: [num(), num()] };
    return header;
  }
  switch (choice) {
    case 0: e.dtype = pick(DTYPES); break;
    case 1: e.shape = Array.from({ length: Math.floor(rng() * 4) }, num); break;
    case 2: e.data_offsets = [num(), num()]; break;
    case 3: if (Array.isArray(e.data_offsets)) e.data_offsets[Math.floor(rng() * 2)] += Math.floor(rng() * 9) - 4; break;
    case 4: if (Array.isArray(e.shape) && e.shape.length) e.shape[0] = pick([...INTERESTING_NUMBERS, '2', null, [], -3.5]); break;
    case 5: delete e[pick(['dtype', 'shape', 'data_offsets'])]; break;
    case 6: header[name] = pick([null, 3, 'F32', [], [1, 2]]); break;
    case 7: header.__metadata__ = pick([{ a: 'b' }, { a: 1 }, [], null, 'x', { __proto__: 'x' }]); break;
    case 8: header[`${name}_copy`] = JSON.parse(JSON.stringify(e)); break;
    case 9: e.data_offsets = pick([[0], [0, 1, 2], 'x', null, [[0], [1]], [-1, 3], [2 ** 53, 2 ** 53 + 4]]); break;
    // eslint-disable-next-line no-loss-of-precision -- 1e400 is Infinity on purpose (a size beyond any)
    case 10: e.shape = pick([null, 'x', {}, [[1]], [1e400], [2 ** 30, 2 ** 30, 2 ** 30], [0, 2 ** 53]]); break;
    case 11: delete header[name]; break;
    case 12: e.extra = { nested: [1, { x: 2 }] }; break;
    default: header[pick(['__proto__', 'constructor', 'hasOwnProperty', ''])] = JSON.parse(JSON.stringify(e));
  }
  return header;
}

function mutateFile(rng, seedBytes) {
  let b = Buffer.from(seedBytes);
  const n = 1 + Math.floor(rng() * 3);
  for (let m = 0; m < n; m++) {
    const kind = Math.floor(rng() * 9);
    const pos = Math.floor(rng() * Math.max(1, b.length));
    if (kind === 0 && b.length) b[pos] ^= 1 << Math.floor(rng() * 8);
    else if (kind === 1 && b.length) b[pos] = Math.floor(rng() * 256);
    else if (kind === 2) b = b.subarray(0, pos);
    else if (kind === 3) b = Buffer.concat([b.subarray(0, pos), Buffer.from([Math.floor(rng() * 256)]), b.subarray(pos)]);
    else if (kind === 4 && b.length >= 8) {
      // rewrite the header length
      const v = [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(b.length), BigInt(b.length - 8), BigInt(Math.floor(rng() * b.length))][Math.floor(rng() * 7)];
      b.writeBigUInt64LE(v & (2n ** 64n - 1n), 0);
    } else {
      // structural edit of the JSON header, then rebuild the file around the same data section
      try {
        const hl = Number(b.readBigUInt64LE(0));
        const header = JSON.parse(b.subarray(8, 8 + hl).toString('utf8'));
        const json = Buffer.from(JSON.stringify(mutateHeaderJson(rng, header)));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        b = Buffer.concat([len, json, b.subarray(8 + hl)]);
      } catch {
        if (b.length) b[pos] ^= 0x20;
      }
    }
  }
  return new Uint8Array(b);
}

const ELEMENT_SIZE = { BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, U64: 8, I64: 8, F16: 2, BF16: 2, F32: 4, F64: 8, F8_E4M3: 1, F8_E5M2: 1 };

/** '' if `bytes` parsed or was refused properly. */
function checkParse(bytes) {
  let res;
  const t0 = Date.now();
  try {
    res = lib.readSafetensors(bytes);
  } catch (e) {
    if (Date.now() - t0 > 2000) return `refusal took ${Date.now() - t0} ms`;
    if (!(e instanceof Error) || e.name !== 'Error' || !/^safetensors: /.test(e.message)) return `threw ${describeError(e)}`;
    return '';
  }
  if (Date.now() - t0 > 2000) return `parse took ${Date.now() - t0} ms`;
  if (!(res.tensors instanceof Map) || typeof res.metadata !== 'object') return 'bad result shape';
  for (const [k, v] of Object.entries(res.metadata)) if (typeof v !== 'string') return `metadata ${k} is not a string`;
  let total = 0;
  for (const [name, t] of res.tensors) {
    if (!(t.dtype in ELEMENT_SIZE)) return `tensor ${name}: dtype ${t.dtype}`;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `tensor ${name}: shape ${t.shape}`;
    if (t.data.byteLength !== n * ELEMENT_SIZE[t.dtype]) return `tensor ${name}: ${t.data.byteLength} bytes for shape ${t.shape} of ${t.dtype}`;
    total += t.data.byteLength;
    if (['F16', 'BF16', 'F32', 'F64'].includes(t.dtype)) {
      const f = st.toFloat32(t, name);
      if (f.length !== n) return `toFloat32(${name}) has ${f.length} elements`;
    }
  }
  if (total > bytes.length) return 'tensors hold more bytes than the file';
  // round trip: write what was read, read it again, same tensors
  try {
    const again = lib.readSafetensors(lib.writeSafetensors(new Map([...res.tensors].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data }])), res.metadata));
    if (again.tensors.size !== res.tensors.size) return 'round trip lost tensors';
    for (const [k, t] of res.tensors) {
      const u = again.tensors.get(k);
      if (!u || u.dtype !== t.dtype || u.shape.join() !== t.shape.join() || Buffer.compare(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)) !== 0)
        return `round trip changed tensor ${k}`;
    }
  } catch (e) {
    return `round trip threw ${describeError(e)}`;
  }
  return '';
}

function fuzzSafetensors(deadline) {
  const rng = mulberry32(seed);
  let iter = 0, refused = 0, parsed = 0;
  // regressions first
  try {
    for (const f of fs.readdirSync(REGRESSIONS).filter((n) => n.endsWith('.safetensors')).sort()) {
      const why = checkParse(new Uint8Array(fs.readFileSync(path.join(REGRESSIONS, f))));
      if (why) fail('safetensors', -1, `regression ${f}: ${why}`);
    }
  } catch {
    // no regressions directory
  }
  const seeds = seedFiles();
  for (const s of seeds) {
    const why = checkParse(s);
    if (why) fail('safetensors', -1, `seed file: ${why}`);
  }
  while (iter < maxIter && Date.now() < deadline && failures < 5) {
    iter++;
    const bytes = mutateFile(rng, seeds[Math.floor(rng() * seeds.length)]);
    if (traceFd !== undefined && iter % 64 === 0) trace(`seed ${seed} safetensors iteration ${iter}\n`);
    const why = checkParse(bytes);
    if (why) fail('safetensors', iter, why, Buffer.from(bytes).toString('base64'));
    else {
      try {
        lib.readSafetensors(bytes);
        parsed++;
      } catch {
        refused++;
      }
    }
  }
  console.log(`fuzz safetensors: ${iter} files (${parsed} parsed, ${refused} refused), seed ${seed}`);
}

// ------------------------------------------------------------------------------------------
// raw binding

const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64];
const BAD_SIZES = [-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, '3', null, undefined, true, 3n];

function bindingArgs(rng) {
  const pick = (a) => a[Math.floor(rng() * a.length)];
  const sz = () => pick(SIZES.slice(0, 10));
  const f32 = (n) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng() * 2 - 1;
    return a;
  };
  const mask = (n) => (rng() < 0.5 ? Uint8Array : Int32Array).from({ length: n }, () => (rng() < 0.8 ? 1 : 0));
  const which = Math.floor(rng() * 7);
  let fn, a;
  if (which === 0) {
    const B = sz(), Hk = 1 + Math.floor(rng() * 2), H = Hk * (1 + Math.floor(rng() * 2)), Nq = sz(), Nk = sz(), D = sz(), Dv = sz();
    fn = 'denseAttention';
    a = { q: f32(B * H * Nq * D), k: f32(B * Hk * Nk * D), v: f32(B * Hk * Nk * Dv), out: f32(B * H * Nq * Dv), B, H, Hk, Nq, Nk, D, Dv, scale: rng(), causal: rng() < 0.5 };
    if (rng() < 0.4) a.keyMask = mask(B * Nk);
    if (rng() < 0.3) {
      const bd = [B, H, Nq, Nk].map((d) => (rng() < 0.5 ? 1 : d));
      a.bias = f32(bd.reduce((x, y) => x * y, 1));
      a.biasDims = bd;
    }
  } else if (which === 1) {
    const B = sz(), H = 1 + Math.floor(rng() * 2), N = sz(), D = sz(), Dv = sz(), g = 1 + Math.floor(rng() * 4), G = Math.floor(N / g), r = Math.floor(rng() * 5);
    fn = 'tglobalAttention';
    a = { q: f32(B * H * N * D), k: f32(B * H * N * D), v: f32(B * H * N * Dv), out: f32(B * H * N * Dv), globalK: f32(B * H * G * D), globalV: f32(B * H * G * Dv), B, H, N, D, Dv, G, radius: r, scale: 1, layout: rng() < 0.5 ? 'bhnd' : 'bnhd' };
    if (rng() < 0.5) a.mask = mask(B * N);
    if (rng() < 0.5) a.globalValid = mask(B * G);
    if (rng() < 0.5) a.localBias = f32(H * (2 * r + 1));
    if (rng() < 0.5) {
      a.globalBias = f32(H * (2 * G + 1));
      a.blockIds = Int32Array.from({ length: B * N }, () => Math.floor(rng() * (G + 1)) - 1);
    }
  } else if (which === 2) {
    const B = sz(), H = 1 + Math.floor(rng() * 2), N = 1 + sz(), D = sz(), Dv = sz();
    fn = 'blockGlobalAttention';
    a = { q: f32(B * H * N * D), k: f32(B * H * N * D), v: f32(B * H * N * Dv), out: f32(B * H * N * Dv), B, H, N, D, Dv, blockSize: 1 + Math.floor(rng() * N), scale: 1 };
  } else if (which === 3) {
    const M = sz(), K = sz(), N = sz();
    fn = 'linear';
    a = { x: f32(M * K), w: f32(N * K), out: f32(M * N), M, K, N };
  } else if (which === 4) {
    const B = 1 + Math.floor(rng() * 2), N = sz(), dModel = 1 + sz(), H = 1 + Math.floor(rng() * 2), dKv = 1 + Math.floor(rng() * 4), nb = 2 + Math.floor(rng() * 8);
    const kind = pick(['tglobal', 'local', 'full']);
    fn = 'longt5Forward';
    const HD = H * dKv;
    a = {
      kind, B, N, dModel, H, dKv, localRadius: Math.floor(rng() * 4), globalBlockSize: 1 + Math.floor(rng() * 4), numBuckets: nb, maxDistance: 1 + Math.floor(rng() * 20), eps: 1e-6,
      hidden: f32(B * N * dModel), out: f32(B * N * dModel), wq: f32(HD * dModel), wk: f32(HD * dModel), wv: f32(HD * dModel), wo: f32(HD * dModel), relBias: f32(nb * H),
      globalRelBias: f32(nb * H), globalNormWeight: f32(dModel),
    };
    if (rng() < 0.5) a.mask = mask(B * N);
  } else if (which === 5) {
    const B = sz(), N = sz(), C = sz(), g = 1 + Math.floor(rng() * 5), G = Math.floor(N / g);
    fn = 'globalAggregates';
    a = { x: f32(B * N * C), B, N, C, blockIds: Int32Array.from({ length: B * N }, () => Math.floor(rng() * (G + 1)) - 1), G, eps: 1e-6, out: f32(B * G * C) };
    if (rng() < 0.5) a.normWeight = f32(C);
  } else {
    const B = sz(), N = sz(), g = 1 + Math.floor(rng() * 5);
    fn = 'globalBlockIds';
    a = { B, N, g, blockIds: new Int32Array(B * N), segmentIds: new Int32Array(B * Math.floor(N / g)) };
    if (rng() < 0.5) a.mask = mask(B * N);
  }
  // one field off (or none)
  const keys = Object.keys(a).filter((k) => k !== 'kind');
  const k = pick(keys);
  const r = rng();
  if (r < 0.2) {
    /* consistent */
  } else if (r < 0.45) {
    if (typeof a[k] === 'number') a[k] = rng() < 0.5 ? pick(BAD_SIZES) : a[k] + pick([-1, 1, 2]);
    else if (ArrayBuffer.isView(a[k])) a[k] = a[k].subarray(0, Math.max(0, a[k].length - 1));
  } else if (r < 0.6) {
    if (ArrayBuffer.isView(a[k]) && a[k].buffer.byteLength) detach(a[k].buffer);
  } else if (r < 0.75) {
    a[k] = pick([undefined, null, 'x', {}, [], new Float64Array(4), new Uint8Array(4), new Int32Array(4), new Float32Array(4), -1, NaN]);
  } else if (r < 0.85) {
    a.layout = pick(['bnhd', 'bhnd', 'x', 3]);
    if (fn === 'longt5Forward') a.kind = pick(['tglobal', 'local', 'full', 'dense', 1]);
  } else {
    if (typeof a[k] === 'number') a[k] = pick(SIZES);
  }
  if (rng() < 0.5) fn += fn === 'globalBlockIds' || fn === 'globalAggregates' ? '' : 'Async';
  return { fn, a };
}

/** --trace FILE: the call about to run is written there first, so a hang or crash leaves its input behind. */
const traceFile = opt('--trace');
const traceFd = traceFile ? fs.openSync(traceFile, 'w') : undefined;
function trace(text) {
  if (traceFd === undefined) return;
  fs.ftruncateSync(traceFd, 0);
  fs.writeSync(traceFd, text, 0);
}

async function fuzzBinding(deadline) {
  const rng = mulberry32(seed ^ 0x5bd1e995);
  let iter = 0, ok = 0, refused = 0, oom = 0;
  const inFlight = [];
  while (iter < maxIter && Date.now() < deadline && failures < 5) {
    iter++;
    const { fn, a } = bindingArgs(rng);
    const describe = () => `${fn}(${JSON.stringify(a, (k, v) => (ArrayBuffer.isView(v) ? `${v.constructor.name}(${v.length})` : typeof v === 'bigint' ? `${v}n` : v === undefined ? 'undefined' : v))})`;
    const judge = (e) => {
      if (e === undefined) return void ok++;
      if (e && (e.name === 'TypeError' || e.name === 'RangeError')) return void refused++;
      if (e && e.name === 'Error' && /out of memory/.test(e.message)) return void oom++;
      fail('binding', iter, describeError(e), describe());
    };
    if (traceFd !== undefined) trace(`seed ${seed} iteration ${iter}: ${describe()}\n`);
    try {
      const r = native[fn](a);
      if (r && typeof r.then === 'function') {
        const it = iter;
        inFlight.push(r.then(() => judge(undefined), (e) => judge(e, it)));
        if (inFlight.length >= 16) await Promise.all(inFlight.splice(0));
      } else judge(undefined);
    } catch (e) {
      judge(e);
    }
  }
  await Promise.all(inFlight);
  console.log(`fuzz binding: ${iter} calls (${ok} computed, ${refused} refused with TypeError/RangeError, ${oom} out of memory), seed ${seed}`);
}

async function main() {
  const t0 = Date.now();
  const targets = only ? [only] : ['safetensors', 'binding'];
  const share = (seconds * 1000) / targets.length;
  for (const [i, t] of targets.entries()) {
    const deadline = t0 + share * (i + 1);
    if (t === 'safetensors') fuzzSafetensors(deadline);
    else if (t === 'binding') await fuzzBinding(deadline);
    else throw new Error(`unknown target ${t}`);
  }
  if (failures) {
    console.log(`fuzz-js: ${failures} failures (reproduce: node test/reliability/fuzz-js.js --seed ${seed} ...)`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.log(`fuzz-js: fatal ${describeError(e)}\n${e.stack}`);
  process.exit(2);
});
