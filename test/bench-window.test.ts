// The window bench's FLOP model counts exactly the (i, j) pairs a causal sliding window admits, and its CLI
// rejects malformed arguments.
import { pairsOf, parseWindowArgs } from '../bench/window';

/** Brute force over the N x N grid. */
function pairsBrute(N: number, left: number, right: number): number {
  let n = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (j <= i && j >= i - left && j <= i + right) n++;
  return n;
}

test('pairsOf counts the admissible pairs', () => {
  for (const [N, l, r] of [[1, 0, 0], [7, 2, 0], [50, 255, 0], [300, 255, 0], [300, 16, 3], [64, 0, 5]])
    expect(pairsOf(N, l, r)).toBe(pairsBrute(N, l, r));
  // The issue's case: N = 16384, window 256 (255 before + itself): N·256 less the first rows' triangle.
  expect(pairsOf(16384, 255, 0)).toBe(16384 * 256 - (255 * 256) / 2);
});

test('CLI', () => {
  const o = parseWindowArgs(['--n', '4096', '--window', '127,0', '--no-dense']);
  expect(o).toMatchObject({ ns: [4096], window: [127, 0], dense: false, half: true, threads: [1] });
  expect(parseWindowArgs(['--no-half'])).toMatchObject({ half: false, dense: true });
  expect(parseWindowArgs(['--help'])).toBe('help');
  expect(() => parseWindowArgs(['--window', '1,2,3'])).toThrow(RangeError);
  expect(() => parseWindowArgs(['--max-wait=-1'])).toThrow(RangeError);
  expect(() => parseWindowArgs(['--bogus'])).toThrow();
});
