// Async calls without options.out: the addon allocates the float32 result and writes it in place
// (allocateOutputs, native/binding/call_buffers.h; lib/abort.ts runCancellableOut). For every entry
// point that does so: the same bits as the sync call, a plain ArrayBuffer-backed Float32Array of its
// own, and — what the change is for — the output's bytes are not copied (asyncCopiedBytes counts the
// private copies an async call makes; a call given an out copies exactly that many bytes more). An
// output of no elements is a new empty array (the caller's own, when given).
import {
  LongT5TransientGlobalAttention, Tensor, attention, attentionAsync, blockGlobalAttention, blockGlobalAttentionAsync, linear, linearAsync,
  transientGlobalAttention, transientGlobalAttentionAsync,
} from '../lib/index';
import { native } from '../lib/native';
import { firstMismatch, mulberry32, randomTensor } from './helpers/fixtures';

interface Entry {
  name: string;
  sync: (out?: Float32Array) => Tensor;
  async: (out?: Float32Array) => Promise<Tensor>;
}

const rng = mulberry32(20261208);
const t = (dims: number[]) => randomTensor(rng, dims);

function entries(): Entry[] {
  const [q, k, v] = [t([2, 3, 29, 16]), t([2, 3, 41, 16]), t([2, 3, 41, 12])];
  const pq = t([37, 2, 8]), pk = t([37, 2, 8]), pv = t([37, 2, 8]);
  const packed = { layout: 'packed' as const, seqStarts: new Int32Array([0, 5, 37]), causal: true };
  const [tq, tk, tv] = [t([1, 2, 40, 8]), t([1, 2, 40, 8]), t([1, 2, 40, 8])];
  const [gk, gv] = [t([1, 2, 5, 8]), t([1, 2, 5, 8])];
  const tg = { localRadius: 3, globalBlockSize: 8 };
  const x = t([3, 7, 24]), w = t([10, 24]);
  const cfg = { d_model: 16, d_kv: 4, num_heads: 4, local_radius: 3, global_block_size: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 16 };
  const layer = new LongT5TransientGlobalAttention(cfg, {
    'q.weight': t([16, 16]), 'k.weight': t([16, 16]), 'v.weight': t([16, 16]), 'o.weight': t([16, 16]),
    'relative_attention_bias.weight': t([8, 4]), 'global_relative_attention_bias.weight': t([8, 4]), 'global_input_layer_norm.weight': t([16]),
  });
  const hidden = t([2, 13, 16]);
  return [
    { name: 'attention', sync: (out) => attention(q, k, v, { causal: true, out }), async: (out) => attentionAsync(q, k, v, { causal: true, out }) },
    { name: 'attention, packed', sync: (out) => attention(pq, pk, pv, { ...packed, out }), async: (out) => attentionAsync(pq, pk, pv, { ...packed, out }) },
    {
      name: 'transientGlobalAttention',
      sync: (out) => transientGlobalAttention(tq, tk, tv, gk, gv, { ...tg, out }),
      async: (out) => transientGlobalAttentionAsync(tq, tk, tv, gk, gv, { ...tg, out }),
    },
    { name: 'blockGlobalAttention', sync: (out) => blockGlobalAttention(tq, tk, tv, { blockSize: 8, out }), async: (out) => blockGlobalAttentionAsync(tq, tk, tv, { blockSize: 8, out }) },
    { name: 'linear', sync: (out) => linear(x, w, { out }), async: (out) => linearAsync(x, w, { out }) },
    { name: 'linear, precision bf16', sync: (out) => linear(x, w, { out, precision: 'bf16' }), async: (out) => linearAsync(x, w, { out, precision: 'bf16' }) },
    { name: 'LongT5 layer forward', sync: (out) => layer.forward(hidden, undefined, { out, threads: 1 }), async: (out) => layer.forwardAsync(hidden, undefined, { out, threads: 1 }) },
  ];
}

describe.each(entries())('$name', (e) => {
  test('without out: the sync bits in an array of its own, the output not copied', async () => {
    const want = e.sync();
    const given = new Float32Array(want.data.length);
    const c0 = native.asyncCopiedBytes();
    const withOut = await e.async(given);
    const c1 = native.asyncCopiedBytes();
    const r = await e.async();
    const c2 = native.asyncCopiedBytes();
    expect(withOut.data).toBe(given);
    expect(c1 - c0 - (c2 - c1)).toBe(given.byteLength);
    expect(Object.prototype.toString.call(r.data)).toBe('[object Float32Array]');
    expect(Object.prototype.toString.call(r.data.buffer)).toBe('[object ArrayBuffer]');
    expect(r.dims).toEqual(want.dims);
    expect(firstMismatch(r.data, want.data, 0)).toBe('none');
    expect(firstMismatch(given, want.data, 0)).toBe('none');
    const again = await e.async();
    expect(again.data).not.toBe(r.data);
    expect(firstMismatch(again.data, want.data, 0)).toBe('none');
  });
});

test('an output of no elements: a new empty array each call, or the caller\'s own', async () => {
  const q = { data: new Float32Array(0), dims: [1, 2, 0, 4] }, k = t([1, 2, 3, 4]), v = t([1, 2, 3, 4]);
  const a = await attentionAsync(q, k, v), b = await attentionAsync(q, k, v);
  expect([a.data.length, b.data.length, a.data === b.data]).toEqual([0, 0, false]);
  const mine = new Float32Array(0);
  expect((await attentionAsync(q, k, v, { out: mine })).data).toBe(mine);
  const x = { data: new Float32Array(0), dims: [0, 5] }, w = t([3, 5]);
  const l1 = await linearAsync(x, w), l2 = await linearAsync(x, w);
  expect([l1.data.length, l1.data === l2.data, l1.dims]).toEqual([0, false, [0, 3]]);
});
