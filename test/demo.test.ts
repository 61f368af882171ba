// The newcomer demo (`npm start`): what it prints, the HTML report it writes, its option checking.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main, usage } from '../demo/demo';
import { attends, computeMaps, maxRowSumError } from '../demo/model';
import { tokenize } from '../demo/tokenize';
import { DEFAULT_TEXT } from '../demo/options';
import { tokenLabels } from '../demo/print';
import { NOT_COMPUTED_TEXT, blocksLayout, blocksPicture, heatmapLegend, textWidth } from '../demo/svg';

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
    for (const title of ['Dense attention', 'LongT5 TGlobal attention', 'Block-global (simpler variant)'])
      expect(html).toContain(`aria-label="${title}"`);
    expect(html).toContain('16 queries × 16 keys; 256 of 256 scores computed');
    // TGlobal: the 16 local keys + 3 global columns; row i computes its window (≤ 7) + 3 globals.
    expect(html).toMatch(/16 queries × 19 keys; 148 of 304 scores computed/);
    expect(html).toMatch(/Skipped \(<code>--no-cost<\/code>\)/);
  });

  test('each heatmap has the axis titles "key" (columns) and "query" (rows)', () => {
    const maps = html.match(/<svg[^>]*aria-label="(Dense attention|LongT5 TGlobal attention|Block-global \(simpler variant\))"[\s\S]*?<\/svg>/g) ?? [];
    expect(maps).toHaveLength(3);
    for (const svg of maps) {
      expect(svg).toMatch(/<text class="axis-title"[^>]*>key →<\/text>/);
      expect(svg).toMatch(/<text class="axis-title"[^>]*rotate\(-90[^>]*>← query<\/text>/);
    }
  });

  test('the text describes the not-computed cells as they are drawn (white, grey dot) and the legend is the full sentence', () => {
    expect(html).not.toMatch(/Grey cells are never computed/);
    expect(html).toMatch(/White cells with a small grey dot are never computed/);
    expect(html).toContain(NOT_COMPUTED_TEXT);
    expect(NOT_COMPUTED_TEXT).toBe('not computed (the query never looks at this key)');
  });

  test('block-global is explained in plain words, not as "the seed\'s variant"', () => {
    for (const text of [res.out, html, usage]) expect(text).not.toMatch(/seed'?s variant|seed variant/);
    expect(res.out).toContain("block-global (simpler variant): own block's tokens + that block's mean token");
    expect(usage).toMatch(/each token attends to its own block's tokens plus\s+that block's mean token/);
    expect(html).toMatch(/each token attends only to the tokens of its own block plus that block's global token/);
  });

  test('repeated words carry their position in the top-keys lists (the#6, not two "the")', () => {
    // "the" is token 6, 10 and 13 of the default sentence; "The" (0) is another text.
    expect(tokenLabels(TOKENS).filter((t) => t.startsWith('the'))).toEqual(['the#6', 'the#10', 'the#13']);
    expect(tokenLabels(TOKENS)[0]).toBe('The');
    expect(res.out).toMatch(/→ .*\bthe#(6|10|13) /);
    for (const line of res.out.split('\n').filter((l) => / → /.test(l))) {
      const keys = [...line.split(' → ')[1].matchAll(/(\S+) +(?:1\.0|\.\d\d)/g)].map((m) => m[1]);
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(3); // three different labels: no two bare "the"
      expect(keys).not.toContain('the');
    }
    // Tooltips name the cell's row and column the same way.
    expect(html).toMatch(/<title>the#6 → quick: \d\.\d{3}<\/title>/);
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
  expect(html).toContain('aria-label="FLOPs (GFLOP, counted by the FLOP model)"');
  expect(html).toMatch(/<td>64<\/td><td>0\.\d+<\/td>/);
  expect(html).toContain('7 queries × 9 keys'); // 7 local + 2 globals
});

test('the heatmap legend fits its box: the "not computed" text is not clipped', () => {
  const svg = heatmapLegend();
  const width = Number(/viewBox="0 0 (\d+(?:\.\d+)?) /.exec(svg)![1]);
  expect(Number(/ width="(\d+(?:\.\d+)?)"/.exec(svg)![1])).toBe(width);
  // Every <text>: its start plus its estimated width (0.62 em a character, more than the fonts' average) inside the viewBox.
  const texts = [...svg.matchAll(/<text x="([\d.]+)"[^>]*font-size="(\d+)"(?: text-anchor="(\w+)")?>([^<]*)<\/text>/g)];
  expect(texts.map((m) => m[4])).toContain(NOT_COMPUTED_TEXT);
  for (const [, x, size, anchor, text] of texts) {
    const w = textWidth(text, Number(size));
    const [a, z] = anchor === 'end' ? [Number(x) - w, Number(x)] : anchor === 'middle' ? [Number(x) - w / 2, Number(x) + w / 2] : [Number(x), Number(x) + w];
    expect(a).toBeGreaterThanOrEqual(0);
    expect(z).toBeLessThanOrEqual(width);
  }
});

test.each([5, 1])('the blocks picture wraps 100 tokens (g = %d) onto rows within its width instead of overflowing', (g) => {
  const words = 'the cat sat on a mat and then it ran to the big red barn where all the other animals slept'.split(' ');
  const tokens = Array.from({ length: 100 }, (_, i) => words[(i * 7) % words.length]);
  const maps = computeMaps(tokens, 1, 3, g);
  const layout = blocksLayout(tokens, maps.blockIds, 1300);
  expect(layout.rowCount).toBeGreaterThan(1);
  expect(layout.width).toBeLessThanOrEqual(1300);
  tokens.forEach((_, i) => expect(layout.xs[i] + layout.widths[i]).toBeLessThanOrEqual(layout.width));
  // Rows break at block boundaries when the blocks are narrower than a row.
  for (let i = 1; i < tokens.length; i++) if (layout.rows[i] !== layout.rows[i - 1]) expect(maps.blockIds[i]).not.toBe(maps.blockIds[i - 1]);
  const svg = blocksPicture({ tokens, blockIds: maps.blockIds, radius: 3, title: 't' });
  const width = Number(/viewBox="0 0 ([\d.]+) /.exec(svg)![1]);
  expect(width).toBeLessThanOrEqual(1400);
  for (const m of svg.matchAll(/<rect x="([\d.-]+)" y="[\d.-]+" width="([\d.]+)"/g)) expect(Number(m[1]) + Number(m[2])).toBeLessThanOrEqual(width);
  for (const m of svg.matchAll(/<text x="([\d.]+)"[^>]*font-size="(\d+)"(?: fill="[^"]*")?(?: text-anchor="(\w+)")?[^>]*>([^<]*)<\/text>/g)) {
    if (m[3]) continue; // centred labels sit inside their boxes (checked above)
    expect(Number(m[1]) + textWidth(m[4].replace(/&[a-z#\d]+;/g, '_'), Number(m[2]))).toBeLessThanOrEqual(width + 1);
  }
  // Every global token is drawn once, and their boxes do not overlap.
  expect(svg.match(/>G\d+<\/text>/g)).toHaveLength(maps.G);
  const gBoxes = [...svg.matchAll(/<rect x="([\d.-]+)" y="([\d.]+)" width="([\d.]+)" height="24" rx="12"/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
  expect(gBoxes).toHaveLength(maps.G);
  for (let b = 1; b < gBoxes.length; b++) if (gBoxes[b][1] === gBoxes[b - 1][1]) expect(gBoxes[b][0]).toBeGreaterThanOrEqual(gBoxes[b - 1][0] + gBoxes[b - 1][2]);
  // Block labels ("block b: Σ of n tokens") never run into the next block's label.
  const labels = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*>(block \d+: Σ of \d+ tokens)<\/text>/g)].map((m) => [Number(m[1]), Number(m[2]), textWidth(m[3], 11)]);
  if (g === 5) expect(labels).toHaveLength(maps.G); // room for every label with blocks of 5
  for (let b = 1; b < labels.length; b++) if (labels[b][1] === labels[b - 1][1]) expect(labels[b][0]).toBeGreaterThan(labels[b - 1][0] + labels[b - 1][2]);
});

test("a text shorter than the block size says which --block-size to pass ('Hello world')", async () => {
  const { code, out, err } = await run(['--text', 'Hello world', '--no-cost', '--out', path.join(dir, 'hello.html')]);
  expect(code).toBe(2);
  expect(out).toBe('');
  expect(err).toMatch(/^global-attention demo: --text has 2 tokens, fewer than the block size 5.*Pass --block-size 2 or smaller/);
  // ... and that suggestion works.
  const ok = await run(['--text', 'Hello world', '--block-size', '2', '--no-cost', '--out', path.join(dir, 'hello.html')]);
  expect(ok.code).toBe(0);
  expect(ok.out).toContain('2 tokens: 0:Hello 1:world');
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
