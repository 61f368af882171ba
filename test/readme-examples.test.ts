// Every JavaScript and TypeScript example in README.md runs, as a user would run it: ```js blocks
// in a child `node` (CommonJS, or as an ES module when they use import/export), ```mjs blocks as
// ES modules, ```ts blocks type-checked under `strict` against the package's shipped typings and
// then run. `require('global-attention')` and `import ... from 'global-attention'` resolve to this
// checkout, compiled afresh into a temporary package (test/helpers/readme-examples.ts).
//
// New blocks are picked up automatically. A block opts out only with a marker comment above it,
// `<!-- example: skip (reason) -->`, and the test lists what it skipped; blocks that need
// onnxruntime-node (they mention it or call crossCheck, or say `<!-- example: needs
// onnxruntime-node -->`) run where it loads and are listed as skipped where it does not.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Block, Workspace, blockName, exampleFile, extractBlocks, ortLoads, preparePackage, runExample, typeCheck, ROOT,
} from './helpers/readme-examples';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = extractBlocks(README);
const examples = blocks.filter((b) => b.kind !== undefined);

let tmp = '';
let ws: Workspace;
let hasOrt = false;
const skipped: string[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-readme-'));
  ws = preparePackage(tmp);
  hasOrt = ortLoads(ws.consumer);
}, 300_000);

afterAll(() => {
  const list = skipped.length ? `:\n${skipped.map((s) => `  ${s}`).join('\n')}` : '';
  console.log(`README: ${examples.length} examples (js/mjs/ts), ${skipped.length} not run${list}`);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Why a block does not run here, or '' when it does. */
function skipReason(b: Block): string {
  if (b.skip) return `marked skip: ${b.skip}`;
  if (b.needsOrt && !hasOrt) return 'needs onnxruntime-node, which does not load here';
  if (b.needsCheckpoint && !fs.existsSync(path.join(ROOT, 'node_modules', '@huggingface', 'tokenizers')))
    return 'needs @huggingface/tokenizers (a dev dependency), which is not installed here';
  return '';
}

test('the README has js, mjs and ts examples, and every block is accounted for', () => {
  const kinds = new Set(examples.map((b) => b.kind));
  expect([...kinds].sort()).toEqual(['cjs', 'mjs', 'ts']);
  expect(examples.length).toBeGreaterThanOrEqual(10);
  // a block in a JavaScript dialect this test does not run would slip through unchecked: name it js, mjs or ts
  const unrun = blocks.filter((x) => x.kind === undefined && /^(jsx|tsx|mts|cts|node|nodejs|es6|ecmascript|esm)$/.test(x.lang));
  expect(unrun.map(blockName)).toEqual([]);
});

test('TypeScript examples type-check under strict against the shipped typings', () => {
  const ts = examples.filter((b) => b.kind === 'ts' && !b.skip);
  expect(ts.length).toBeGreaterThan(0);
  // `export {}` makes each a module, so two examples may both declare `q`
  const files = Object.fromEntries(ts.map((b) => [exampleFile(b), `${b.code}\nexport {};\n`]));
  // and a control: a file that must NOT type-check (so a check that sees nothing cannot pass)
  files['control-not-narrowed.ts'] = `import { attention, type Tensor } from 'global-attention';
const t: Tensor = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
console.log(attention(t, t, t).weights.dims);
export {};
`;
  // the ES-module typings (dist/esm/index.d.mts, via the "import" condition) narrow the same way
  files['control-esm-narrowed.mts'] = `import { attention, type Tensor } from 'global-attention';
const t: Tensor = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
const dims: readonly number[] = attention(t, t, t, { returnWeights: true }).weights.dims;
console.log(dims);
`;
  const diags = typeCheck(ws.consumer, files);
  expect(diags.get('control-not-narrowed.ts')).toMatch(/possibly 'undefined'/);
  diags.delete('control-not-narrowed.ts');
  expect(Object.fromEntries(diags)).toEqual({});
}, 120_000);

test.each(examples.map((b) => [blockName(b), b] as const))('README example at %s runs', (_name, b) => {
  const why = skipReason(b);
  if (why) {
    skipped.push(`${blockName(b)}: ${why}`);
    return;
  }
  const r = runExample(ws.consumer, b);
  const report = `exit ${r.status ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- code\n${b.code}`;
  if (r.status !== 0) throw new Error(`README example at ${blockName(b)} failed: ${report}`);
  // a clean run prints no warnings or errors either
  expect(r.stderr.trim()).toBe('');
}, 180_000);

test('the extractor: languages, markers, and a mistyped marker is an error', () => {
  const md = [
    '```js', "require('x');", '```',
    '<!-- example: skip (writes to /dev) -->', '', '```ts', 'let a: number = 1;', '```',
    '<!-- example: needs onnxruntime-node -->', '```mjs', 'await 1;', '```',
    '```js', "import { a } from 'b';", '```',
    '```sh', 'npm test', '```',
    'prose', '````js', '```', 'nested fence', '```', '````',
  ].join('\n');
  const got = extractBlocks(md).map((b) => [b.line, b.lang, b.kind, b.skip, b.needsOrt]);
  expect(got).toEqual([
    [1, 'js', 'cjs', undefined, false],
    [6, 'ts', 'ts', 'writes to /dev', false],
    [10, 'mjs', 'mjs', undefined, true],
    [13, 'js', 'mjs', undefined, false],
    [16, 'sh', undefined, undefined, false],
    [20, 'js', 'cjs', undefined, false],
  ]);
  expect(extractBlocks(md)[5].code).toBe('```\nnested fence\n```\n');
  // a marker does not reach past prose to a later block (which then runs)
  expect(extractBlocks('<!-- example: skip (x) -->\ntext\n```js\n1\n```').map((x) => x.skip)).toEqual([undefined]);
  expect(() => extractBlocks('<!-- example: skipp (x) -->\n```js\n1\n```')).toThrow(/unknown example marker 'skipp \(x\)'/);
  expect(() => extractBlocks('<!-- example: skip () -->\n```js\n1\n```')).toThrow(/unknown example marker/);
  expect(() => extractBlocks('```js\n1\n')).toThrow(/never closed/);
});

test('a failing example fails: the runner reports a non-zero exit and stderr', () => {
  const r = runExample(ws.consumer, { line: 0, lang: 'js', kind: 'cjs', code: "require('global-attention').attention(new Float32Array(4));\n", needsOrt: false });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/TypeError: q must be a Tensor \{ data: Float32Array, dims \}, got a Float32Array of length 4/);
});
