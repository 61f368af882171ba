// Compiled (never run) by test/return-weights.types.test.ts under `strict`: `returnWeights: true`
// narrows the result so `weights` is a Tensor, and without it `weights` is not claimed present.
// Each `@ts-expect-error` line is a check: if the line stops being an error, tsc reports the
// unused directive and the test fails.
import {
  attention, attentionAsync, blockGlobalAttention, blockGlobalAttentionAsync, transientGlobalAttention, transientGlobalAttentionAsync,
  type AttentionResult, type AttentionResultWithWeights, type Tensor,
} from '../../lib/index';

/** true only when A and B are the same type (not merely assignable). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(_: Equals<A, B>): void => undefined;

declare const t: Tensor;
declare const flag: boolean;
const tg = { localRadius: 1, globalBlockSize: 2 };

// --- with returnWeights: true, weights is a Tensor (no `!`, no `?.`)
const dense = attention(t, t, t, { returnWeights: true });
same<typeof dense.weights, Tensor>(true);
const dims: readonly number[] = dense.weights.dims;
const withScale = attention(t, t, t, { scale: 1, causal: true, returnWeights: true });
same<typeof withScale, AttentionResultWithWeights>(true);
const tglobal = transientGlobalAttention(t, t, t, t, t, { ...tg, returnWeights: true });
same<typeof tglobal.weights, Tensor>(true);
const block = blockGlobalAttention(t, t, t, { blockSize: 2, returnWeights: true });
same<typeof block.weights, Tensor>(true);

async function asyncForms(): Promise<number> {
  const a = await attentionAsync(t, t, t, { returnWeights: true });
  const b = await transientGlobalAttentionAsync(t, t, t, t, t, { ...tg, returnWeights: true });
  const c = await blockGlobalAttentionAsync(t, t, t, { blockSize: 2, returnWeights: true });
  same<typeof a.weights, Tensor>(true);
  same<typeof b.weights, Tensor>(true);
  same<typeof c.weights, Tensor>(true);
  const d = await attentionAsync(t, t, t);
  same<typeof d, AttentionResult>(true);
  // @ts-expect-error weights may be absent without returnWeights: true
  return a.weights.data.length + d.weights.data.length;
}

// --- without it (absent, false, or a boolean only known at run time), weights is not claimed present
const plain = attention(t, t, t);
same<typeof plain, AttentionResult>(true);
same<typeof plain.weights, Tensor | undefined>(true);
// @ts-expect-error 'plain.weights' is possibly 'undefined'
plain.weights.data;
const off = attention(t, t, t, { returnWeights: false });
// @ts-expect-error 'off.weights' is possibly 'undefined'
off.weights.dims;
const maybe = attention(t, t, t, { returnWeights: flag });
same<typeof maybe.weights, Tensor | undefined>(true);
const checked: Tensor | undefined = maybe.weights;
// @ts-expect-error weights may be absent
transientGlobalAttention(t, t, t, t, t, tg).weights.data;
// @ts-expect-error weights may be absent
blockGlobalAttention(t, t, t, { blockSize: 2 }).weights.data;

// --- the overloads keep the options checked: a typo is still an error, with or without returnWeights
// @ts-expect-error unknown option 'retrunWeights'
attention(t, t, t, { retrunWeights: true });
// @ts-expect-error unknown option 'scal'
attention(t, t, t, { scal: 1, returnWeights: true });
// @ts-expect-error returnWeights must be a boolean
attention(t, t, t, { returnWeights: 1 });

export { asyncForms, dims, checked };
