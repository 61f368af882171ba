// The blocked local band shared by the 'local' and 'tglobal' attention graphs: O(N·3L) scores,
// not N×N. The sequence is zero-padded to Np = ceil(N / L)·L with L = max(r, 8) >= r and cut into
// nb = Np / L query blocks; block n's queries see the 3L keys of blocks n-1, n, n+1 (K and V padded
// by L zeros on each side, then a Gather of whole blocks [n, n+1, n+2]), which contain every j with
// |i - j| <= r. Scores are one batched MatMul [H,B,nb,L,D+1] x [H,B,nb,D+1,3L]. In-window and the
// bias of slot (t, s) depend only on rel = s - L - t: one constant [H,1,1,L,3L] (bias inside
// |rel| <= r, MASKED outside).
//
// Key masks ride in the score MatMuls: queries get an extra column of ones, keys an extra column
// holding 0 (valid) or MASKED (padding, positions outside [0, N), invalid globals).
import { DataType, tensor } from './model';
import { LONGT5_MASKED_SCORE, LayerInput, LongT5Graph } from './longt5-graph';
import { t5BiasByDistance } from './t5-buckets';

/** What the band leaves for the kind-specific rest of a layer. */
export interface Band {
  /** [B,Np,C] hidden, zero-padded. */
  hp: string;
  /** [H,B,Np,D] queries (padded sequence). */
  q: string;
  /** [H,B,Np,1] ones: the query column that carries key masks. */
  ones: string;
  /** [H,B,nb,L,3L] local scores with bias and masks. */
  local: string;
  /** [H,B,nb,3L,D] values of the three blocks each query block sees. */
  v3: string;
  /** [B,Np] float validity (0 past N), and as bool. */
  validP: string;
  validPB: string;
  /** [1] int64: B, number of blocks, Np. */
  B1: string;
  nb1: string;
  Np1: string;
  /** [2] int64: H, B. */
  HB: string;
  /** [H,B,M,1] column from a [B,M] additive key mask. */
  maskColumn: (x: string) => string;
  /** [4] int64 shape [H, B, Np, last]; `what` names the use (shapes of different uses stay apart). */
  flat: (last: number, what: string) => string;
}

/** Builds a layer's local band scores; mask-only values are shared across layers (LongT5Graph.once). */
export function localBand(cx: LongT5Graph, layer: LayerInput): Band {
  const { H, D, L, r } = cx.d;
  const { N1, validF, shape } = cx.seq();
  const op = cx.op.bind(cx);
  const i64 = cx.i64.bind(cx);
  const once = cx.once.bind(cx);
  const nb1 = once('num_blocks', () => op('Div', [op('Add', [N1, i64([L - 1])]), i64([L])], {}, 'num_blocks'));
  const Np1 = once('padded_len', () => op('Mul', [nb1, i64([L])], {}, 'padded_len'));
  const padAmt = once('pad_len', () => op('Sub', [Np1, N1], {}, 'pad_len'));
  const hp = op('Pad', [layer.hidden, once('hidden_pads', () => op('Concat', [i64([0, 0, 0, 0]), padAmt, i64([0])], { axis: 0 }))], {}, 'hidden_padded');
  const validP = once('valid_padded', () => op('Pad', [validF, op('Concat', [i64([0, 0, 0]), padAmt], { axis: 0 })], {}, 'valid_padded')); // [B,Np] float
  const validPB = once('valid_padded_b', () => op('Cast', [validP], { to: DataType.BOOL }, 'valid_padded_b'));
  const B1 = once('B', () => op('Slice', [shape, i64([0]), i64([1])], {}, 'B'));
  const allHeads = once('all_heads', () => i64([H, 1, 1, 1], 'all_heads'));
  // Shapes name H and B explicitly: a copied 0 next to a computed dim becomes -1 in ORT's reshape
  // fusion, which cannot infer anything at B = 0.
  const HB = once('HB', () => op('Concat', [i64([H]), B1], { axis: 0 }, 'HB'));
  /** [B, M] additive key mask → [H, B, M, 1], a column appended to the keys. */
  const maskColumn = (x: string) => op('Expand', [op('Unsqueeze', [x, i64([0, 3])]), allHeads]);

  const { wq, wk, wv } = layer.proj;
  const q = cx.heads(hp, wq, 'q'); // [H,B,Np,D]
  const k = cx.heads(hp, wk, 'k');
  const v = cx.heads(hp, wv, 'v');
  // Key masks ride in the score MatMul: queries get a column of ones, keys a column of 0 (valid)
  // or MASKED (padding, outside [0, N), invalid global), so q'·k' = q·k + mask.
  const ones = once('query_ones', () => op('Expand', [cx.f32(1, 'one_f'), op('Concat', [i64([H]), B1, Np1, i64([1])], { axis: 0 })]));
  const qb = op('Reshape', [
    op('Concat', [q, ones], { axis: 3 }),
    once('q_blocks_shape', () => op('Concat', [HB, nb1, i64([L, D + 1])], { axis: 0 })),
  ], {}, 'q_blocks'); // [H,B,nb,L,D+1]
  const nb2 = once('num_blocks_2', () => op('Add', [nb1, i64([2])], {}, 'num_blocks_2'));
  // Block n sees blocks n-1, n, n+1 of the sequence padded by L on each side: a Gather of whole
  // blocks with indices [n, n+1, n+2].
  const window = once('block_window', () =>
    op('Add', [op('Unsqueeze', [op('Range', [cx.zero(), cx.toScalar(nb1, 'nb'), cx.one()]), i64([1])]), i64([0, 1, 2])], {}, 'block_window')); // [nb,3]
  const threeBlocks = (x: string, width: number, name: string) => {
    const xb = op('Reshape', [x, once(`blocks_shape_${width}`, () => op('Concat', [HB, nb2, i64([L, width])], { axis: 0 }))]); // [H,B,nb+2,L,w]
    return op('Reshape', [
      op('Gather', [xb, window], { axis: 2 }),
      once(`three_blocks_shape_${width}`, () => op('Concat', [HB, nb1, i64([3 * L, width])], { axis: 0 })),
    ], {}, name);
  };
  const padSeq = (x: string) => op('Pad', [x, i64([0, 0, L, 0, 0, 0, L, 0])]);
  const keyCol = once('key_mask', () => op('Pad', [op('Where', [validPB, cx.ZERO, cx.NEG]), i64([0, L, 0, L]), cx.NEG], {}, 'key_mask')); // [B,Np+2L]
  const k3 = threeBlocks(op('Concat', [padSeq(k), once('key_mask_column', () => maskColumn(keyCol))], { axis: 3 }), D + 1, 'k_3blocks'); // [H,B,nb,3L,D+1]
  const v3 = threeBlocks(padSeq(v), D, 'v_3blocks'); // [H,B,nb,3L,D]

  // Local bias and band: constant [H,1,1,L,3L]; slot (t, s) of a block is key j = i + (s - L - t).
  // Block 0's table serves every layer.
  const bandBias = once('local_band_bias', () => {
    const lt = t5BiasByDistance(layer.weights['relative_attention_bias.weight'], cx.d.numBuckets, cx.d.maxDistance, H);
    const band = new Float32Array(H * L * 3 * L);
    for (let t = 0; t < L; t++)
      for (let s = 0; s < 3 * L; s++) {
        const rel = s - L - t;
        const row = Math.min(Math.max(rel, -lt.S), lt.S) + lt.S;
        for (let h = 0; h < H; h++) band[(h * L + t) * 3 * L + s] = Math.abs(rel) <= r ? lt.table[row * H + h] : LONGT5_MASKED_SCORE;
      }
    return cx.g.addInitializer('local_band_bias', tensor('float32', [H, 1, 1, L, 3 * L], band));
  });
  const local = op('Add', [op('MatMul', [qb, op('Transpose', [k3], { perm: [0, 1, 2, 4, 3] })]), bandBias], {}, 'local_scores'); // [H,B,nb,L,3L]
  const flat = (last: number, what: string) => once(`flat_shape_${what}`, () => op('Concat', [HB, Np1, i64([last])], { axis: 0 }));
  return { hp, q, ones, local, v3, validP, validPB, B1, nb1, Np1, HB, maskColumn, flat };
}

/** [H,B,Np,D] context heads → [B,N,H·D], the first N positions, padded queries 0. */
export function bandedContext(cx: LongT5Graph, ctxHeads: string): string {
  const { N1, validF } = cx.seq();
  const ctx = cx.op('Slice', [cx.merge(ctxHeads), cx.i64([0]), N1, cx.i64([1])]);
  return cx.op('Mul', [ctx, cx.once('valid_column', () => cx.op('Unsqueeze', [validF, cx.i64([2])]))]);
}
