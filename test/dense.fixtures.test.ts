// Every dense_* reference vector (float64 PyTorch, test/fixtures/README.md) through attention()
// and attentionAsync() under every ISA this CPU runs: max abs error <= 1e-5 against out_f64, and
// rows without an admissible key exactly 0. (dense_t5layer_* is a layer case, tested elsewhere.)
import { attention, attentionAsync, AttentionOptions, info } from '../lib/index';
import { emptyRows, firstMismatch, listFixtures, loadFixture, maxAbsDiff, referenceAttention, Fixture } from './helpers/fixtures';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';

const TOL = 1e-5;
const CASES = listFixtures('dense_').filter((n) => !n.startsWith('dense_t5layer'));
const ISAS = availableIsas();

interface Prepared {
  fx: Fixture;
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  options: AttentionOptions;
  mask?: Int32Array;
  expected: Float64Array;
  empty: boolean[];
  dims: number[];
}

function prepare(name: string): Prepared {
  const fx = loadFixture(name);
  const c = fx.config;
  const q = fx.tensor('q');
  const k = fx.tensor('k');
  const v = fx.tensor('v');
  const [B, H, Nq] = q.dims;
  const Nk = k.dims[2];
  // The config and the tensors must tell the same story, or the case is not what we think it is.
  expect([B, H, Nq, q.dims[3]]).toEqual([c.batch, c.num_heads, c.q_len, c.head_dim]);
  expect(k.dims).toEqual([c.batch, c.num_kv_heads, c.kv_len, c.head_dim]);
  expect(fx.has('key_padding_mask')).toBe(c.has_key_padding_mask);
  expect(fx.has('bias')).toBe(c.has_bias);
  const options: AttentionOptions = { scale: c.scale, causal: c.causal };
  let mask: Int32Array | undefined;
  if (c.has_key_padding_mask) {
    mask = fx.i32('key_padding_mask');
    options.keyMask = { data: mask, dims: [B, Nk] };
  }
  if (c.has_bias) {
    options.bias = fx.tensor('bias');
    expect(options.bias.dims).toEqual(c.bias_shape);
  }
  const expected = fx.f64('out_f64');
  const dims = [B, H, Nq, v.dims[3]];
  expect(fx.get('out_f64').shape).toEqual(dims);
  return { fx, q, k, v, options, mask, expected, empty: emptyRows(B, H, Nq, Nk, c.causal, mask), dims };
}

/** Rows of `out` (row length Dv) that must be empty and are not exactly +0/-0. */
function nonZeroEmptyRows(out: Float32Array, empty: boolean[], Dv: number): number[] {
  const bad: number[] = [];
  empty.forEach((e, r) => {
    if (!e) return;
    for (let d = 0; d < Dv; d++) if (out[r * Dv + d] !== 0) return void bad.push(r);
  });
  return bad;
}

function check(p: Prepared, out: { data: Float32Array; dims: readonly number[] }, label: string): void {
  expect(out.dims).toEqual(p.dims);
  const err = maxAbsDiff(out.data, p.expected);
  if (!(err <= TOL)) throw new Error(`${label}: max abs error ${err} > ${TOL}; first mismatch ${firstMismatch(out.data, p.expected, TOL)}`);
  expect(nonZeroEmptyRows(out.data, p.empty, p.dims[3])).toEqual([]);
}

test('the fixture set and the ISA list are what this file expects', () => {
  expect(CASES.length).toBe(11);
  expect(ISAS).toContain('scalar');
  expect(ISAS).toContain(info().isa);
});

describe.each(CASES)('%s', (name) => {
  let p: Prepared;
  beforeAll(() => {
    p = prepare(name);
  });

  test('the JS float64 reference reproduces out_f64 (validates the helper)', () => {
    const ref = referenceAttention(p.q, p.k, p.v, { ...p.options, keyMask: p.mask } as never);
    expect(maxAbsDiff(ref, p.expected)).toBeLessThan(1e-12);
    // out (F32) is out_f64 rounded to nearest
    expect(maxAbsDiff(p.fx.f32('out'), p.expected)).toBeLessThan(1e-6);
  });

  test('cases with empty rows really have them (and others do not)', () => {
    const n = p.empty.filter(Boolean).length;
    if (/allmasked|bottomright/.test(name)) expect(n).toBeGreaterThan(0);
    if (n > 0) {
      // the reference stores exact zeros there
      p.empty.forEach((e, r) => {
        if (e) for (let d = 0; d < p.dims[3]; d++) expect(p.expected[r * p.dims[3] + d]).toBe(0);
      });
    }
  });

  test.each(ISAS)('sync, isa %s', (isa) => {
    withIsa(isa, () => {
      expect(info().isa).toBe(isa);
      check(p, attention(p.q, p.k, p.v, p.options), `${name} sync ${isa}`);
    });
  });

  test.each(ISAS)('async, isa %s', async (isa) => {
    const options = { ...p.options };
    if (p.mask) options.keyMask = p.mask; // the plain-array form of the mask
    const out = await withIsaAsync(isa, () => attentionAsync(p.q, p.k, p.v, options));
    check(p, out, `${name} async ${isa}`);
  });

  test.each(ISAS)('into a preallocated out with a Uint8Array mask, isa %s', (isa) => {
    const options = { ...p.options };
    if (p.mask) options.keyMask = Uint8Array.from(p.mask);
    const outBuf = new Float32Array(p.expected.length).fill(NaN);
    const out = withIsa(isa, () => attention(p.q, p.k, p.v, { ...options, out: outBuf }));
    expect(out.data).toBe(outBuf);
    check(p, out, `${name} out= ${isa}`);
  });
});

test('the ISA in use is restored after the tests above', () => {
  // withIsa restores; this is a tripwire for a test that switched without restoring.
  expect(ISAS).toContain(info().isa);
});
