// The newcomer demo (`npm start`): what it prints, the HTML report it writes, its option checking.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main, usage } from '../demo/demo';
import { attends, computeMaps, maxRowSumError } from '../demo/model';
import { tokenize } from '../demo/tokenize';
import { DEFAULT_TEXT } from '../demo/options';

const TOKENS = ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', 'near', 'the', 'riverbank', 'in', 'the', 'sunny', 'park.'];

let ortAvailable = true;
try {
  require.resolve('onnxruntime-node');
} catch {
  ortAvailable = false;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-demo-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test('the default sentence is 16 tokens in blocks of 5, 5, 6 (globalBlockIds)', () => {
  expect(tokenize(DEFAULT_TEXT)).toEqual(TOKENS);
  const maps = computeMaps(TOKENS, 1, 3, 5);
  expect(maps.G).toBe(3);
  expect(maps.blocks.map((b) => b.length)).toEqual([5, 5, 6]);
  expect(maps.blocks[2]).toEqual([10, 11, 12, 13, 14, 15]);
  // Every row of every map is a probability distribution over exactly the keys it may see.
  for (const [kind, values, width] of [
    ['dense', maps.dense, 16], ['tglobal', maps.tglobal, 19], ['blockGlobal', maps.blockGlobal, 19],
  ] as const) {
    expect(values.length).toBe(16 * width);
    expect(maxRowSumError(values, width)).toBeLessThan(1e-5);
    for (let i = 0; i < 16; i++)
      for (let c = 0; c < width; c++) {
        const w = values[i * width + c];
        if (attends(kind, maps, i, c)) expect(w).toBeGreaterThan(0);
        else expect(w).toBe(0);
      }
  }
});

describe('default run (no cost section)', () => {
  let res: { code: number; out: string; err: string };
  let html: string;
  beforeAll(async () => {
    const file = path.join(dir, 'report.html');
    res = await run(['--no-cost', '--out', file]);
    html = fs.readFileSync(file, 'utf8');
  });

  test('exits 0 and says the weights are random', () => {
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/RANDOM weights/);
    expect(html).toMatch(/The weights are random/);
  });

  test('prints the 16 tokens, the blocks 5, 5, 6 and what each global token aggregates', () => {
    expect(res.out).toContain(`16 tokens: ${TOKENS.map((t, i) => `${i}:${t}`).join(' ')}`);
    expect(res.out).toContain('block 0 (5 tokens, 0..4): The quick brown fox jumps');
    expect(res.out).toContain('block 1 (5 tokens, 5..9): over the lazy dog near');
    expect(res.out).toContain('block 2 (6 tokens, 10..15): the riverbank in the sunny park.');
    expect(res.out).toContain('G2 = norm(the + riverbank + in + the + sunny + park.)');
  });

  test('prints, per map, each token\'s top 3 keys with weights that are sorted, in [0, 1], and rows summing to 1', () => {
    const sections = res.out.split(/\n\n/).filter((s) => /row sums 1 ± /.test(s));
    expect(sections).toHaveLength(3);
    for (const sec of sections) {
      const [head, ...rows] = sec.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('top 3'));
      expect(Number(/row sums 1 ± (\S+)\)/.exec(head)![1])).toBeLessThan(1e-5);
      expect(rows).toHaveLength(16);
      rows.forEach((line, i) => {
        const m = /^\s*(\d+) (\S+)\s+→ (.*)$/.exec(line)!;
        expect(Number(m[1])).toBe(i);
        const weights = [...m[3].matchAll(/ (1\.0|\.\d\d)(?=\s|$)/g)].map((x) => Number(x[1]));
        expect(weights).toHaveLength(3);
        expect(weights.every((w) => w >= 0 && w <= 1)).toBe(true);
        expect(weights[0]).toBeGreaterThanOrEqual(weights[1]);
        expect(weights[1]).toBeGreaterThanOrEqual(weights[2]);
        expect(weights[0] + weights[1] + weights[2]).toBeLessThanOrEqual(1.02);
      });
    }
    // TGlobal's and block-global's keys include the global tokens; dense has none.
    expect(sections[0]).not.toMatch(/ G\d /);
    expect(sections[1]).toMatch(/ G\d /);
  });

  test('the HTML report is self-contained and has the blocks picture and three heatmaps', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toMatch(/aria-label="tokens, global blocks and global tokens"/);
    for (const title of ['Dense attention', 'LongT5 TGlobal attention', 'Block-global (seed variant)'])
      expect(html).toContain(`aria-label="${title}"`);
    expect(html).toContain('16 queries × 16 keys; 256 of 256 scores computed');
    // TGlobal: the 16 local keys + 3 global columns; row i computes its window (≤ 7) + 3 globals.
    expect(html).toMatch(/16 queries × 19 keys; 148 of 304 scores computed/);
    expect(html).toMatch(/Skipped \(<code>--no-cost<\/code>\)/);
  });

  test('the cross-checks pass (against ONNX Runtime when it is installed)', () => {
    expect(res.out).toMatch(/ok {3}TGlobal step by step .* vs layer\.forward\(\)/);
    expect(res.out).not.toMatch(/FAIL/);
    if (ortAvailable) {
      expect(res.out).toMatch(/ok {3}dense attention\(\) vs onnxruntime/);
      expect(res.out).toMatch(/ok {3}LongT5 TGlobal layer forward\(\) vs onnxruntime/);
      expect(res.out).toMatch(/ok {3}blockGlobalAttention\(\) vs onnxruntime/);
      expect((html.match(/<td class="ok">ok<\/td>/g) ?? []).length).toBe(4);
      expect(html).not.toMatch(/ONNX Runtime not available/);
    } else {
      expect(res.out).toMatch(/ONNX Runtime not available/);
    }
  });
});

test('options: another sentence, block size and radius; a small cost section', async () => {
  const file = path.join(dir, 'small.html');
  const { code, out } = await run(['--text', 'a b c d e f g', '--block-size=3', '--radius', '1', '--seed', '0', '--cost-n', '128,64', '--out', file]);
  expect(code).toBe(0);
  expect(out).toContain('7 tokens: 0:a 1:b 2:c 3:d 4:e 5:f 6:g');
  expect(out).toContain('block 1 (4 tokens, 3..6): d e f g');
  expect(out).toMatch(/\n\s+64\s.*\n\s+128\s/); // sorted
  const html = fs.readFileSync(file, 'utf8');
  expect(html).toContain('aria-label="Time of one call (ms)"');
  expect(html).toContain('aria-label="FLOPs (GFLOP, DESIGN §4 model)"');
  expect(html).toMatch(/<td>64<\/td><td>0\.\d+<\/td>/);
  expect(html).toContain('7 queries × 9 keys'); // 7 local + 2 globals
});

test('--help prints the usage and exits 0', async () => {
  const { code, out } = await run(['--help']);
  expect(code).toBe(0);
  expect(out).toContain(usage);
  expect(usage).toMatch(/--block-size/);
});

test.each([
  [['--block-size', '0']],
  [['--block-size', '2.5']],
  [['--radius', 'x']],
  [['--radius', '-1']],
  [['--seed', '-3']],
  [['--out']],
  [['--cost-n', '64,,128']],
  [['--no-cost=yes']],
  [['--frobnicate']],
  [['positional']],
  [['--text', '   ']],
  [['--block-size', '17']], // more than the 16 tokens
])('bad options %j exit 2 with a message and the usage', async (argv) => {
  const { code, out, err } = await run(argv);
  expect(code).toBe(2);
  expect(out).toBe('');
  expect(err).toMatch(/^global-attention demo: .+\n\nusage: global-attention demo/);
});
