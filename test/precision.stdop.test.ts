// Reduced precision and the standard operator's newer options: the bf16/fp16 kernels implement the
// classic options only, so combining them with softcap, causalOffset, window, keyLengths,
// relativeBias, returnScores or returnLogSumExp is a clear RangeError, not a silently ignored option.
import { attention } from '../lib/index';
import { mulberry32, randomTensor } from './helpers/fixtures';

const rng = mulberry32(41);
const q = randomTensor(rng, [1, 2, 5, 8]);
const k = randomTensor(rng, [1, 2, 7, 8]);
const v = randomTensor(rng, [1, 2, 7, 8]);

const newer: Record<string, object> = {
  softcap: { softcap: 30 },
  causalOffset: { causal: true, causalOffset: 1 },
  window: { window: [2, 0] },
  keyLengths: { keyLengths: Int32Array.of(4) },
  relativeBias: { relativeBias: { table: randomTensor(rng, [32, 2]), numBuckets: 32, maxDistance: 128, bidirectional: true } },
  returnScores: { returnScores: 'masked' },
  returnLogSumExp: { returnLogSumExp: true },
};

describe.each(['bf16', 'fp16'] as const)('precision %s', (precision) => {
  test.each(Object.keys(newer))('with %s is refused, naming precision', (name) => {
    expect(() => attention(q, k, v, { precision, ...newer[name] } as never)).toThrow(RangeError);
    expect(() => attention(q, k, v, { precision, ...newer[name] } as never)).toThrow(new RegExp(`options.precision '${precision}' cannot be combined with ${name}`));
  });
  test('the classic options still run', () => {
    const out = attention(q, k, v, { precision, causal: true, keyMask: Uint8Array.of(1, 1, 0, 1, 1, 1, 1) });
    expect(out.dims).toEqual([1, 2, 5, 8]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });
  test('with each option in float32 it runs', () => {
    for (const name of Object.keys(newer)) expect(() => attention(q, k, v, { precision: 'fp32', ...newer[name] } as never)).not.toThrow();
  });
});
