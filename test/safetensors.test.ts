// lib/safetensors: the reader on every real fixture, on corrupted / truncated / garbage input
// (clear Errors naming the file and tensor, never a crash), and round trips through the writer.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSafetensors, writeSafetensors, toFloat32, SafetensorsInput, MAX_HEADER_BYTES } from '../lib/safetensors';
import { FIXTURE_DIR, listFixtures, mulberry32, numel } from './helpers/fixtures';

const ELEMENT_SIZE: Record<string, number> = { F64: 8, F32: 4, I32: 4 };
const ALL = listFixtures();

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-safetensors-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Builds a file from a header (object or raw JSON text) and data bytes; `len` overrides the length field. */
function build(header: unknown, data: Uint8Array | number = 0, len?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + d.length);
  new DataView(out.buffer).setBigUint64(0, len ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(d, 8 + json.length);
  return out;
}

/** Asserts that reading `bytes` throws an Error whose message matches every pattern. */
function expectReject(bytes: Uint8Array, ...patterns: RegExp[]): Error {
  let err: unknown;
  try {
    readSafetensors(bytes, { name: 'bad.safetensors' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Error);
  const msg = (err as Error).message;
  expect(msg).toMatch(/bad\.safetensors/);
  for (const p of patterns) expect(msg).toMatch(p);
  return err as Error;
}

describe('reading the fixtures', () => {
  test('there are fixtures of every kind', () => {
    const kinds = new Set(ALL.map((n) => n.replace(/_.*/, '')));
    expect(ALL.length).toBeGreaterThanOrEqual(30);
    for (const k of ['dense', 'blockids', 'tglobal', 'local', 'seed']) expect(kinds).toContain(k);
  });

  test.each(ALL)('%s', (name) => {
    const file = path.join(FIXTURE_DIR, `${name}.safetensors`);
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata.format).toBe('longt5-attention-test-vectors/1');
    expect(metadata.case).toBe(name);
    expect(name.startsWith(metadata.kind)).toBe(true);
    expect(typeof JSON.parse(metadata.config)).toBe('object');
    expect(tensors.size).toBeGreaterThan(0);

    // Independently of the reader: the data section is the file minus 8 + header bytes, and the
    // tensors tile it exactly; each tensor's bytes equal the file's bytes at its offsets.
    const raw = fs.readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
    let covered = 0;
    for (const [tname, t] of tensors) {
      expect(Object.keys(ELEMENT_SIZE)).toContain(t.dtype);
      expect(t.data.length).toBe(numel(t.shape));
      expect(t.data.byteOffset % ELEMENT_SIZE[t.dtype]).toBe(0);
      expect(header[tname].shape).toEqual(t.shape);
      const [b, e] = header[tname].data_offsets;
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      expect(Buffer.compare(Buffer.from(bytes), raw.subarray(8 + n + b, 8 + n + e))).toBe(0);
      covered += e - b;
      expect(t.data.constructor.name).toBe(({ F64: 'Float64Array', F32: 'Float32Array', I32: 'Int32Array' } as Record<string, string>)[t.dtype]);
    }
    expect(covered).toBe(raw.length - 8 - n);

    // Every `x` (F32) is `x_f64` rounded to nearest float32 (README "Conventions").
    for (const [tname, t] of tensors) {
      if (!tname.endsWith('_f64')) continue;
      const f32 = tensors.get(tname.slice(0, -4));
      expect(f32?.dtype).toBe('F32');
      expect(f32!.shape).toEqual(t.shape);
      const a = f32!.data as Float32Array;
      const b = t.data as Float64Array;
      const rounded = Float32Array.from(b); // round to nearest, without a per-element global lookup
      for (let i = 0; i < a.length; i++) if (a[i] !== rounded[i]) throw new Error(`${tname}[${i}]: ${a[i]} != float32(${b[i]})`);
    }
  });

  test('bytes (a Buffer and a plain Uint8Array) read the same as the path; results do not alias the input', () => {
    const file = path.join(FIXTURE_DIR, 'dense_gqa_b2_h8_hk2_n64_d32.safetensors');
    const fromPath = readSafetensors(file);
    const buf = fs.readFileSync(file);
    const plain = new Uint8Array(buf);
    for (const input of [buf, plain]) {
      const fromBytes = readSafetensors(input);
      expect([...fromBytes.tensors.keys()]).toEqual([...fromPath.tensors.keys()]);
      expect(fromBytes.metadata).toEqual(fromPath.metadata);
      for (const [k, t] of fromBytes.tensors) {
        expect(t.data.buffer).not.toBe(input.buffer);
        expect(t).toEqual(fromPath.tensors.get(k));
      }
    }
    const q = readSafetensors(plain).tensors.get('q')!.data as Float32Array;
    const before = q[0];
    plain.fill(0xff);
    expect(q[0]).toBe(before);
  });

  test('an unaligned input (the data section at an odd byte offset) still gives aligned, correct arrays', () => {
    const file = fs.readFileSync(path.join(FIXTURE_DIR, 'dense_basic_b2_h4_n64_d32.safetensors'));
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const view = shifted.subarray(3);
    const a = readSafetensors(view);
    const b = readSafetensors(file);
    for (const [k, t] of a.tensors) {
      expect(t.data.byteOffset).toBe(0);
      expect(t.data).toEqual(b.tensors.get(k)!.data);
    }
  });

  test('an empty tensor (shape with a 0) reads as an empty array', () => {
    const { tensors } = readSafetensors(path.join(FIXTURE_DIR, 'blockids_n3_g5_shorter_than_block.safetensors'));
    const seg = tensors.get('global_segment_ids')!;
    expect(seg.shape[1]).toBe(0);
    expect(seg.data).toBeInstanceOf(Int32Array);
    expect(seg.data.length).toBe(0);
  });
});

describe('round trip with the writer', () => {
  test('every dtype, metadata, scalars and empty tensors', () => {
    const rng = mulberry32(7);
    const r = (n: number) => Array.from({ length: n }, () => rng());
    const input: Record<string, SafetensorsInput> = {
      f32: { shape: [2, 3], data: Float32Array.from(r(6), (x) => x * 10 - 5) },
      f64: { shape: [3], data: Float64Array.from(r(3), (x) => x * 1e300) },
      i32: { shape: [2, 2], data: Int32Array.from([-2147483648, -1, 0, 2147483647]) },
      i64: { shape: [3], data: BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
      u64: { shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      i16: { shape: [2], data: Int16Array.from([-32768, 32767]) },
      u16: { shape: [1], data: Uint16Array.from([65535]) },
      u32: { shape: [1], data: Uint32Array.from([4294967295]) },
      i8: { shape: [3], data: Int8Array.from([-128, 0, 127]) },
      u8: { shape: [3], data: Uint8Array.from([0, 1, 255]) },
      bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      f16: { dtype: 'F16', shape: [4], data: Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7c00]) },
      bf16: { dtype: 'BF16', shape: [2], data: Uint16Array.from([0x3f80, 0xc040]) },
      scalar: { shape: [], data: Float32Array.from([3.5]) },
      empty: { shape: [4, 0, 2], data: new Float32Array(0) },
      'odd name / with "quotes" é': { shape: [1], data: Float32Array.from([1]) },
      __proto__x: { shape: [1], data: Float32Array.from([2]) },
      constructor: { shape: [1], data: Float32Array.from([3]) },
    };
    // An own key named "__proto__" (an object literal would set the prototype instead).
    Object.defineProperty(input, '__proto__', { value: { shape: [2], data: Float32Array.from([4, 5]) }, enumerable: true });
    const meta: Record<string, string> = { config: JSON.stringify({ a: 1 }), 'ünïcode': 'välue', empty: '' };
    Object.defineProperty(meta, '__proto__', { value: 'not a prototype', enumerable: true });
    const bytes = writeSafetensors(input, meta);

    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [k, e] of Object.entries(header)) {
      if (k === '__metadata__') continue;
      const { dtype, data_offsets: [b] } = e as { dtype: string; data_offsets: number[] };
      const size = { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, I16: 2, U16: 2, F16: 2, BF16: 2 }[dtype] ?? 1;
      expect(b % size).toBe(0);
    }

    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual(meta);
    expect(new Set(back.tensors.keys())).toEqual(new Set(Object.keys(input)));
    for (const [k, t] of Object.entries(input)) {
      const got = back.tensors.get(k)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(got.data).toEqual(t.data);
    }
    expect(Object.getOwnPropertyDescriptor(back.metadata, '__proto__')?.value).toBe('not a prototype');
    expect(Array.from(back.tensors.get('__proto__')!.data as Float32Array)).toEqual([4, 5]);
    expect(back.tensors.get('bool')!.dtype).toBe('BOOL');
    expect(back.tensors.get('i64')!.dtype).toBe('I64');
    expect(Array.from(toFloat32(back.tensors.get('f16')!))).toEqual([1, -2, 2 ** -24, Infinity]);
    expect(Array.from(toFloat32(back.tensors.get('bf16')!))).toEqual([1, -3]);
    expect(toFloat32(back.tensors.get('f64')!)).toEqual(Float32Array.from(input.f64.data as Float64Array));
    expect(() => toFloat32(back.tensors.get('i32')!, 'i32')).toThrow(/i32.*I32/);
  });

  test('a Map input keeps its order within each element size; views at an offset are written correctly', () => {
    const big = new Float32Array([9, 9, 1, 2, 3, 9]);
    const m = new Map<string, SafetensorsInput>([
      ['b', { shape: [3], data: big.subarray(2, 5) }],
      ['a', { shape: [1], data: new Float64Array([0.5]) }],
      ['c', { shape: [2], data: new Int32Array([7, 8]) }],
    ]);
    const back = readSafetensors(writeSafetensors(m));
    expect([...back.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(Array.from(back.tensors.get('b')!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(back.metadata).toEqual({});
  });

  test('rewriting a fixture reproduces its data section byte for byte', () => {
    const file = path.join(FIXTURE_DIR, 'dense_combo_b2_h4_hk2_n33_d16_scale1_mask_causal_bias.safetensors');
    const raw = fs.readFileSync(file);
    const { tensors, metadata } = readSafetensors(file);
    const out = writeSafetensors(tensors, metadata);
    const n0 = Number(raw.readBigUInt64LE(0));
    const n1 = Number(Buffer.from(out).readBigUInt64LE(0));
    expect(Buffer.compare(Buffer.from(out.subarray(8 + n1)), raw.subarray(8 + n0))).toBe(0);
    const again = readSafetensors(out);
    expect(again.metadata).toEqual(metadata);
    for (const [k, t] of tensors) expect(again.tensors.get(k)).toEqual(t);
  });

  test('a written file reads back from disk', () => {
    const p = path.join(tmp, 'rt.safetensors');
    fs.writeFileSync(p, writeSafetensors({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { k: 'v' }));
    const back = readSafetensors(p);
    expect(back.metadata).toEqual({ k: 'v' });
    expect(Array.from(back.tensors.get('w')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  test('the writer rejects inconsistent input', () => {
    const f = new Float32Array(4);
    expect(() => writeSafetensors({ x: { shape: [3], data: f } })).toThrow(/"x".*4/);
    expect(() => writeSafetensors({ x: { dtype: 'F64', shape: [4], data: f } })).toThrow(/"x".*F64.*Float64Array/);
    expect(() => writeSafetensors({ x: { dtype: 'F99' as any, shape: [4], data: f } })).toThrow(/"x".*dtype/);
    expect(() => writeSafetensors({ x: { shape: [-4], data: f } })).toThrow(/"x".*shape\[0\]/);
    expect(() => writeSafetensors({ x: { shape: [4], data: [1, 2, 3, 4] as any } })).toThrow(/"x".*typed array/);
    expect(() => writeSafetensors({ __metadata__: { shape: [4], data: f } })).toThrow(/reserved/);
    expect(() => writeSafetensors({}, { n: 1 as any })).toThrow(/metadata "n".*string/);
  });
});

describe('malformed input gives a clear Error', () => {
  const good = () => writeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) }, b: { shape: [1], data: new Float32Array([3]) } });
  const f32 = (shape: unknown, offsets: unknown) => ({ dtype: 'F32', shape, data_offsets: offsets });

  test('the good file parses (control)', () => {
    expect(readSafetensors(good()).tensors.size).toBe(2);
    expect(readSafetensors(build({}, 0)).tensors.size).toBe(0);
  });

  test('too short for the length field', () => {
    expectReject(new Uint8Array(0), /too short/);
    expectReject(new Uint8Array(7), /too short/);
  });

  test('header length past the end of the file', () => {
    expectReject(build({}, 0, 1000n), /header length 1000/);
    expectReject(build({}, 0, 2n ** 64n - 1n), /header length 18446744073709551615/);
    expectReject(build({}, 0, 2n ** 53n + 1n), /header length/);
    const g = good();
    expectReject(g.subarray(0, 20), /header length/);
  });

  test('header length over the limit', () => {
    // Sparse check: a length that fits the (pretend) file but exceeds the limit is refused before
    // the header is read. Build a file just over the limit only in its length field, so the
    // check after the fit check fires.
    const big = new Uint8Array(8 + MAX_HEADER_BYTES + 2);
    new DataView(big.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expectReject(big, /limit/);
  });

  test('truncated data section names the tensor that runs past the end', () => {
    const g = good();
    expectReject(g.subarray(0, g.length - 1), /"b"/, /past the end/);
    expectReject(g.subarray(0, g.length - 5), /past the end/);
  });

  test('trailing bytes after the last tensor', () => {
    const g = good();
    const longer = new Uint8Array(g.length + 4);
    longer.set(g);
    expectReject(longer, /trailing/);
  });

  test('header that is not JSON, not UTF-8, or not an object', () => {
    expectReject(build('{"a": '), /not valid JSON/);
    expectReject(build('garbage!'), /not valid JSON/);
    expectReject(build(''), /not valid JSON/);
    const bad = build('{"a":1}');
    bad[9] = 0xff;
    expectReject(bad, /UTF-8/);
    expectReject(build('[1,2]'), /must be a JSON object.*array/);
    expectReject(build('null'), /must be a JSON object.*null/);
    expectReject(build('42'), /must be a JSON object/);
    expectReject(build('"str"'), /must be a JSON object/);
  });

  test('bad metadata', () => {
    expectReject(build({ __metadata__: [] }), /__metadata__/);
    expectReject(build({ __metadata__: 'x' }), /__metadata__/);
    expectReject(build({ __metadata__: { n: 1 } }), /__metadata__.*"n".*string/);
    expectReject(build({ __metadata__: { n: null } }), /__metadata__.*"n"/);
  });

  test('entry is not an object', () => {
    expectReject(build({ w: 5 }), /tensor "w".*must be an object/);
    expectReject(build({ w: null }), /tensor "w".*must be an object.*null/);
    expectReject(build({ w: [1] }), /tensor "w".*must be an object/);
  });

  test('dtype missing, unknown or of the wrong type', () => {
    expectReject(build({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w".*missing "dtype"/);
    expectReject(build({ w: { dtype: 'F99', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w".*unknown dtype.*F99/);
    expectReject(build({ w: { dtype: 'f32', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w".*unknown dtype/);
    expectReject(build({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w".*unknown dtype.*number/);
    expectReject(build({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w".*unknown dtype/);
  });

  test('shape not an array of non-negative integers', () => {
    expectReject(build({ w: f32(undefined, [0, 4]) }, 4), /tensor "w".*"shape"/);
    expectReject(build({ w: f32(4, [0, 4]) }, 4), /tensor "w".*"shape" must be an array/);
    expectReject(build({ w: f32('4', [0, 4]) }, 4), /tensor "w".*"shape"/);
    expectReject(build({ w: f32([-1], [0, 4]) }, 4), /tensor "w".*shape\[0\].*-1/);
    expectReject(build({ w: f32([1, 1.5], [0, 4]) }, 4), /tensor "w".*shape\[1\].*1\.5/);
    expectReject(build({ w: f32(['1'], [0, 4]) }, 4), /tensor "w".*shape\[0\].*string/);
    expectReject(build({ w: f32([null], [0, 4]) }, 4), /tensor "w".*shape\[0\].*null/);
    expectReject(build({ w: f32([1e300], [0, 4]) }, 4), /tensor "w".*shape\[0\]/);
  });

  test('data_offsets malformed, out of range or inconsistent with the shape', () => {
    expectReject(build({ w: f32([1], undefined) }, 4), /tensor "w".*data_offsets/);
    expectReject(build({ w: f32([1], [0]) }, 4), /tensor "w".*data_offsets/);
    expectReject(build({ w: f32([1], [0, 4, 8]) }, 4), /tensor "w".*data_offsets/);
    expectReject(build({ w: f32([1], { 0: 0, 1: 4 }) }, 4), /tensor "w".*data_offsets/);
    expectReject(build({ w: f32([1], [-4, 0]) }, 4), /tensor "w".*non-negative/);
    expectReject(build({ w: f32([1], [0, '4']) }, 4), /tensor "w".*non-negative/);
    expectReject(build({ w: f32([1], [0.5, 4.5]) }, 4), /tensor "w".*non-negative integers/);
    expectReject(build({ w: f32([1], [4, 0]) }, 4), /tensor "w".*end before/);
    expectReject(build({ w: f32([1], [0, 4]) }, 3), /tensor "w".*past the end/);
    expectReject(build({ w: f32([1], [0, 2 ** 60]) }, 4), /tensor "w".*past the end/);
    expectReject(build({ w: f32([2], [0, 4]) }, 4), /tensor "w".*needs 8 bytes.*hold 4/);
    expectReject(build({ w: f32([1], [0, 8]) }, 8), /tensor "w".*needs 4 bytes.*hold 8/);
    expectReject(build({ w: { dtype: 'F64', shape: [2 ** 52, 2 ** 52], data_offsets: [0, 8] } }, 8), /tensor "w".*bytes/);
  });

  test('overlapping tensors and holes', () => {
    expectReject(build({ a: f32([1], [0, 4]), b: f32([1], [0, 4]) }, 4), /overlaps/, /"a"|"b"/);
    expectReject(build({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, 8), /"b".*overlaps.*"a"/);
    expectReject(build({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12), /"b".*hole/);
    expectReject(build({ a: f32([1], [4, 8]) }, 8), /"a".*hole/);
  });

  test('files on disk: errors name the path and the tensor', () => {
    const p = path.join(tmp, 'broken-weights.safetensors');
    fs.writeFileSync(p, build({ 'layer.0.q.weight': f32([3], [0, 12]) }, 8));
    expect(() => readSafetensors(p)).toThrow(/broken-weights\.safetensors.*"layer\.0\.q\.weight".*past the end/);
    const missing = path.join(tmp, 'nope.safetensors');
    expect(() => readSafetensors(missing)).toThrow(/cannot open.*nope\.safetensors/);
    expect(() => readSafetensors(tmp)).toThrow(/ga-safetensors-/);
    const empty = path.join(tmp, 'empty.safetensors');
    fs.writeFileSync(empty, new Uint8Array(0));
    expect(() => readSafetensors(empty)).toThrow(/empty\.safetensors.*too short/);
  });

  test('wrong argument type is a TypeError', () => {
    expect(() => readSafetensors(42 as any)).toThrow(TypeError);
    expect(() => readSafetensors(new Float32Array(4) as any)).toThrow(TypeError);
    expect(() => readSafetensors(null as any)).toThrow(TypeError);
  });

  test('random garbage and random corruptions of a valid file: either parse or a safetensors Error', () => {
    const rng = mulberry32(1234);
    const base = writeSafetensors(
      { x: { shape: [3, 2], data: new Float32Array(6).fill(1) }, y: { shape: [2], data: new Float64Array(2) }, z: { shape: [1], data: new Int32Array(1) } },
      { m: 'meta' },
    );
    let parsed = 0;
    let rejected = 0;
    const tryRead = (bytes: Uint8Array) => {
      try {
        const r = readSafetensors(bytes);
        for (const t of r.tensors.values()) expect(t.data.length).toBe(numel(t.shape));
        parsed++;
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^safetensors: <bytes>/);
        rejected++;
      }
    };
    for (let iter = 0; iter < 300; iter++) {
      const len = Math.floor(rng() * 64);
      const g = new Uint8Array(len);
      for (let i = 0; i < len; i++) g[i] = Math.floor(rng() * 256);
      if (len >= 8 && rng() < 0.5) new DataView(g.buffer).setBigUint64(0, BigInt(Math.floor(rng() * (len - 7))), true);
      tryRead(g);
    }
    for (let iter = 0; iter < 1000; iter++) {
      const m = base.slice(0, rng() < 0.2 ? Math.floor(rng() * base.length) : base.length);
      const flips = 1 + Math.floor(rng() * 3);
      for (let f = 0; f < flips && m.length > 0; f++) m[Math.floor(rng() * m.length)] = Math.floor(rng() * 256);
      tryRead(m);
    }
    expect(rejected).toBeGreaterThan(100);
    expect(parsed).toBeGreaterThan(0);
  });
});
