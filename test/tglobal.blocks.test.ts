// LongT5 bookkeeping and the seed variant against the reference vectors (test/fixtures/README.md):
// globalBlockIds on every blockids_* fixture (exact: block ids and segment ids, N < g giving G = 0,
// left padding, rows shorter than a block), relativePositionBuckets against the fixtures' bucket
// tensors and against the JS reference over distances -5000..5000, and every seed_variant_*
// fixture through blockGlobalAttention(+Async) under every ISA (<= 1e-5 abs vs out_f64).
import { blockGlobalAttention, blockGlobalAttentionAsync, globalBlockIds, info, relativePositionBuckets } from '../lib/index';
import { firstMismatch, listFixtures, loadFixture, maxAbsDiff, mulberry32 } from './helpers/fixtures';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';
import { refBlockGlobal, refBlockIds, refBucket, refBucketF64 } from './helpers/longt5-reference';

const ISAS = availableIsas();
const BLOCKID_CASES = listFixtures('blockids_');
const SEED_CASES = listFixtures('seed_variant_');

test('the fixture sets are what this file expects', () => {
  expect(BLOCKID_CASES.length).toBe(6);
  expect(SEED_CASES.length).toBe(2);
  expect(ISAS).toContain('scalar');
});

// ---------------------------------------------------------------------------------------------
// globalBlockIds

describe.each(BLOCKID_CASES)('%s', (name) => {
  const fx = loadFixture(name);
  const c = fx.config;
  const mask = fx.i32('attention_mask');
  const ids = fx.i32('global_block_ids');
  const seg = fx.i32('global_segment_ids');
  const B = c.batch, N = c.seq_len, g = c.global_block_size, G = c.global_seq_len;

  test('the fixture is what its config says', () => {
    expect(fx.get('attention_mask').shape).toEqual([B, N]);
    expect(fx.get('global_segment_ids').shape).toEqual([B, G]);
    expect(G).toBe(Math.floor(N / g));
    for (let b = 0; b < B; b++) {
      const row = Array.from(mask.subarray(b * N, (b + 1) * N));
      const L = c.valid_lengths[b];
      expect(row.reduce((s, x) => s + x, 0)).toBe(L);
      // right padding, or left padding for the listed rows
      const left = c.left_padded_rows.includes(b);
      row.forEach((x, i) => expect(x).toBe(left ? (i >= N - L ? 1 : 0) : i < L ? 1 : 0));
    }
  });

  test('the JS reference (README integer rule) reproduces the HF tensors', () => {
    const ref = refBlockIds(mask, B, N, g);
    expect(ref.G).toBe(G);
    expect(Array.from(ref.blockIds)).toEqual(Array.from(ids));
    expect(Array.from(ref.segmentIds)).toEqual(Array.from(seg));
  });

  test('globalBlockIds({data, dims}) with an Int32Array and a Uint8Array mask: exact', () => {
    for (const data of [mask, Uint8Array.from(mask)]) {
      const r = globalBlockIds({ data, dims: [B, N] }, g);
      expect([r.B, r.N, r.G]).toEqual([B, N, G]);
      expect(r.blockIds).toBeInstanceOf(Int32Array);
      expect(r.segmentIds).toBeInstanceOf(Int32Array);
      expect(Array.from(r.blockIds)).toEqual(Array.from(ids));
      expect(Array.from(r.segmentIds)).toEqual(Array.from(seg));
    }
  });

  test('globalBlockIds on each row as a plain mask (B = 1): exact', () => {
    for (let b = 0; b < B; b++) {
      const r = globalBlockIds(mask.slice(b * N, (b + 1) * N), g);
      expect([r.B, r.N, r.G]).toEqual([1, N, G]);
      expect(Array.from(r.blockIds)).toEqual(Array.from(ids.subarray(b * N, (b + 1) * N)));
      expect(Array.from(r.segmentIds)).toEqual(Array.from(seg.subarray(b * G, (b + 1) * G)));
    }
  });
});

describe('what the blockids fixtures single out', () => {
  const lib = (name: string) => {
    const fx = loadFixture(name);
    const c = fx.config;
    return { c, r: globalBlockIds({ data: fx.i32('attention_mask'), dims: [c.batch, c.seq_len] }, c.global_block_size) };
  };
  test('16 tokens in blocks of 5: 5, 5, 6 (orphan token 15 joins block 2)', () => {
    const { r } = lib('blockids_n16_g5');
    expect(Array.from(r.blockIds)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(Array.from(r.segmentIds)).toEqual([1, 1, 1]);
  });
  test('N < g: G = 0, empty segment ids, every token -1', () => {
    const { c, r } = lib('blockids_n3_g5_shorter_than_block');
    expect(r.G).toBe(0);
    expect(r.segmentIds.length).toBe(0);
    expect(Array.from(r.blockIds)).toEqual(new Array(c.batch * c.seq_len).fill(-1));
  });
  test('a row shorter than one block (7 of g = 16): ids all -1, segment ids all 0', () => {
    const { r } = lib('blockids_n100_g16_pad');
    expect(Array.from(r.blockIds.subarray(100, 200))).toEqual(new Array(100).fill(-1));
    expect(Array.from(r.segmentIds.subarray(6, 12))).toEqual(new Array(6).fill(0));
  });
  test('left padding keeps absolute block positions', () => {
    const { c, r } = lib('blockids_n50_g8_leftpad');
    const N = c.seq_len, L = c.valid_lengths[1];
    const row = Array.from(r.blockIds.subarray(N, 2 * N));
    expect(row.slice(0, N - L)).toEqual(new Array(N - L).fill(-1));
    // the first real token sits at N - L = 10: block 1, not block 0
    expect(row[N - L]).toBe(Math.floor((N - L) / 8));
    expect(r.segmentIds[c.global_seq_len]).toBe(1); // global 0 stays valid although empty
  });
});

describe('globalBlockIds vs the JS reference on random masks (holes, left/right padding, all zeros)', () => {
  const rng = mulberry32(2024);
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 10, 1], [2, 10, 10], [2, 10, 11], [4, 37, 5], [3, 64, 16], [2, 100, 7], [2, 450, 25], [1, 1000, 3], [5, 33, 2],
  ];
  test.each(shapes)('B %i, N %i, g %i', (B, N, g) => {
    const mask = new Int32Array(B * N);
    for (let b = 0; b < B; b++) {
      const mode = b % 5;
      const L = Math.floor(rng() * (N + 1));
      for (let i = 0; i < N; i++)
        mask[b * N + i] = mode === 0 ? (i < L ? 1 : 0) : mode === 1 ? (i >= N - L ? 1 : 0) : mode === 2 ? (rng() < 0.7 ? 1 : 0) : mode === 3 ? 1 : 0;
    }
    const ref = refBlockIds(mask, B, N, g);
    const r = globalBlockIds({ data: mask, dims: [B, N] }, g);
    expect(r.G).toBe(ref.G);
    expect(Array.from(r.blockIds)).toEqual(Array.from(ref.blockIds));
    expect(Array.from(r.segmentIds)).toEqual(Array.from(ref.segmentIds));
  });
  test('an empty mask: N = 0 and B = 0', () => {
    const r0 = globalBlockIds(new Int32Array(0), 4);
    expect([r0.B, r0.N, r0.G, r0.blockIds.length, r0.segmentIds.length]).toEqual([1, 0, 0, 0, 0]);
    const r1 = globalBlockIds({ data: new Uint8Array(0), dims: [0, 12] }, 4);
    expect([r1.B, r1.N, r1.G, r1.blockIds.length, r1.segmentIds.length]).toEqual([0, 12, 3, 0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// relativePositionBuckets

describe('relativePositionBuckets', () => {
  test('equals every bucket tensor stored in the layer fixtures', () => {
    let checked = 0;
    for (const name of [...listFixtures('tglobal_layer_'), ...listFixtures('local_layer_'), ...listFixtures('dense_t5layer_')]) {
      const fx = loadFixture(name);
      const c = fx.config;
      const nb = c.relative_attention_num_buckets, md = c.relative_attention_max_distance;
      if (fx.has('local_relative_position_bucket')) {
        const bl = c.block_len;
        const rel = new Int32Array(bl * 3 * bl);
        for (let t = 0; t < bl; t++) for (let s = 0; s < 3 * bl; s++) rel[t * 3 * bl + s] = s - bl - t;
        expect(Array.from(relativePositionBuckets(rel, nb, md))).toEqual(Array.from(fx.i32('local_relative_position_bucket')));
        checked++;
      }
      if (fx.has('side_relative_position_bucket')) {
        const G = c.global_seq_len, ids = fx.i32('global_block_ids');
        const rel: number[] = [];
        for (let bi = 0; bi < ids.length; bi++) for (let m = 0; m < G; m++) rel.push(m - ids[bi]);
        expect(Array.from(relativePositionBuckets(rel, nb, md))).toEqual(Array.from(fx.i32('side_relative_position_bucket')));
        checked++;
      }
      if (fx.has('relative_position_bucket')) {
        const N = c.seq_len;
        const rel = new Int32Array(N * N);
        for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) rel[i * N + j] = j - i;
        expect(Array.from(relativePositionBuckets(rel))).toEqual(Array.from(fx.i32('relative_position_bucket')));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  const all = new Int32Array(10001).map((_, i) => i - 5000);
  // (16, 36) and (8, 18): log(3)/log(9)·4 and log(3)/log(9)·2 are exact integers at distance 12 and 6;
  // float32 arithmetic (as HF's torch ops and refBucket) gives them, float64 rounds one bucket down.
  test.each([[32, 128], [16, 64], [64, 256], [8, 16], [16, 36], [8, 18], [128, 1024], [6, 9]])(
    'numBuckets %i, maxDistance %i: == the JS reference for every distance in -5000..5000', (nb, md) => {
      const got = relativePositionBuckets(all, nb, md);
      expect(got).toBeInstanceOf(Int32Array);
      const want = Int32Array.from(all, (r) => refBucket(r, nb, md));
      expect(firstMismatch(got, want, 0)).toBe('none');
      // structure: bidirectional halves, 0 at distance 0, monotone in |distance|, within [0, nb),
      // and T5's symmetry: +d and -d share the bucket index inside their halves
      const half = nb / 2;
      const broken: number[] = [];
      for (let r = 1; r <= 5000; r++) {
        const pos = got[5000 + r], neg = got[5000 - r];
        if (pos < half || neg >= half || neg < 0 || pos >= nb || pos - half !== neg || (r > 1 && pos < got[5000 + r - 1]) || neg < got[5000 - r + 1])
          broken.push(r);
      }
      expect(got[5000]).toBe(0);
      expect(broken).toEqual([]);
      expect(Math.max(...got)).toBe(nb - 1);
    });

  test('the float32 boundary cases are real: float64 arithmetic would differ there', () => {
    expect(refBucket(12, 16, 36)).not.toBe(refBucketF64(12, 16, 36));
    expect(relativePositionBuckets([12, -12], 16, 36)).toEqual(Int32Array.from([12, -12], (r) => refBucket(r, 16, 36)));
    expect(relativePositionBuckets([6, -6], 8, 18)).toEqual(Int32Array.from([6, -6], (r) => refBucket(r, 8, 18)));
  });

  test('defaults are 32 buckets and max distance 128; a number[] works like an Int32Array', () => {
    const rel = [-200, -129, -128, -64, -33, -32, -16, -8, -7, -1, 0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 1000];
    const want = Int32Array.from(rel, (r) => refBucket(r, 32, 128));
    expect(Array.from(relativePositionBuckets(rel))).toEqual(Array.from(want));
    expect(Array.from(relativePositionBuckets(Int32Array.from(rel)))).toEqual(Array.from(want));
    expect(relativePositionBuckets([]).length).toBe(0);
    // known T5 values (32, 128): exact for |d| < 8, log-spaced up to 128, clamped after
    expect(Array.from(relativePositionBuckets([0, 1, 7, -1, -7, 8, -8, 16, 128, 100000, -128, -100000]))).toEqual([0, 17, 23, 1, 7, 24, 8, 26, 31, 31, 15, 15]);
  });

  test('the extreme 32-bit distances', () => {
    const rel = Int32Array.from([2 ** 31 - 1, -(2 ** 31), -(2 ** 31 - 1), 2 ** 30]);
    expect(Array.from(relativePositionBuckets(rel))).toEqual([31, 15, 15, 31]);
    expect(Array.from(relativePositionBuckets(rel, 64, 256))).toEqual([63, 31, 31, 63]);
  });
});

// ---------------------------------------------------------------------------------------------
// blockGlobalAttention: the seed variant

describe.each(SEED_CASES)('%s', (name) => {
  const fx = loadFixture(name);
  const c = fx.config;
  const q = fx.tensor('q'), k = fx.tensor('k'), v = fx.tensor('v');
  const truth = fx.f64('out_f64');
  const [B, H, N, D] = q.dims;
  const TOL = 1e-5;
  const check = (out: { data: Float32Array; dims: readonly number[] }, label: string) => {
    expect(out.dims).toEqual([B, H, N, D]);
    const err = maxAbsDiff(out.data, truth);
    if (!(err <= TOL)) throw new Error(`${label}: max abs error ${err} > ${TOL}; first mismatch ${firstMismatch(out.data, truth, TOL)}`);
  };

  test('the fixture and the JS reference agree', () => {
    expect([B, H, N, D]).toEqual([c.batch, c.num_heads, c.seq_len, c.head_dim]);
    expect(c.scale).toBeCloseTo(1 / Math.sqrt(D), 12);
    expect(Array.from(fx.i32('block_ids'))).toEqual(Array.from(refBlockIds(undefined, 1, N, c.global_block_size).blockIds));
    const ref = refBlockGlobal(q.data, k.data, v.data, B, H, N, D, D, c.global_block_size, c.scale);
    expect(maxAbsDiff(ref, truth)).toBeLessThan(1e-12);
  });

  test.each(ISAS)('sync (explicit and default scale), async, out=, threads, isa %s', async (isa) => {
    withIsa(isa, () => {
      expect(info().isa).toBe(isa);
      check(blockGlobalAttention(q, k, v, { blockSize: c.global_block_size, scale: c.scale }), `${name} sync ${isa}`);
      const buf = new Float32Array(truth.length).fill(NaN);
      const o = blockGlobalAttention(q, k, v, { blockSize: c.global_block_size, out: buf, threads: 1 });
      expect(o.data).toBe(buf);
      check(o, `${name} default scale out= ${isa}`);
    });
    check(await withIsaAsync(isa, () => blockGlobalAttentionAsync(q, k, v, { blockSize: c.global_block_size, threads: 2 })), `${name} async ${isa}`);
  });
});

test('the ISA in use is restored after the tests above', () => {
  expect(ISAS).toContain(info().isa);
});
