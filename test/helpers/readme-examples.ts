// The README's code blocks as runnable examples (used by test/readme-examples.test.ts).
//
// Every fenced block whose language is js/javascript/cjs, mjs, or ts/typescript is an example.
// Other blocks (sh, text, json, ...) are not. HTML comments on the lines just above a block
// (blank lines may separate them) can say:
//
//   <!-- example: skip (why) -->                    not run; the test lists it with the reason
//   <!-- example: needs onnxruntime-node -->        run only where onnxruntime-node loads
//   <!-- example: with a LongT5 checkpoint -->      run in a folder that holds ./long-t5-tglobal-base
//        (a small fixture checkpoint from test/fixtures/longt5-model with the fixture tokenizer of
//        test/fixtures/t5-tokenizer) and ./report.txt (a text in that tokenizer's words), with
//        @huggingface/tokenizers installed: the model examples run as written, on a tiny model
//
// A block that mentions `onnxruntime-node` or calls `crossCheck` needs ONNX Runtime without a
// marker. Any other `<!-- example: ... -->` text is an error, so a mistyped marker cannot
// silently turn a check off.
//
// The examples run against this checkout *as a package*: preparePackage() compiles lib/ into a
// temporary package directory (package.json, dist/ with its ESM entry, and links to build/,
// prebuilds/ and node_modules/), and a consumer directory beside it whose
// node_modules/global-attention links to that package. So `require('global-attention')` and
// `import ... from 'global-attention'` resolve through package.json "exports", exactly as for a
// user, and always to the current sources (never a stale dist/).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

export const ROOT = path.resolve(__dirname, '..', '..');

export type ExampleKind = 'cjs' | 'mjs' | 'ts';

export interface Block {
  /** 1-based line of the opening fence in the markdown. */
  line: number;
  /** The fence's language, lower-cased ('' when none). */
  lang: string;
  /** How it runs; undefined when the block is not an example (shell, text, ...). */
  kind?: ExampleKind;
  code: string;
  /** The reason of a `<!-- example: skip (reason) -->` marker. */
  skip?: string;
  needsOrt: boolean;
  /** `<!-- example: with a LongT5 checkpoint -->`: runs where ./long-t5-tglobal-base exists. */
  needsCheckpoint?: boolean;
}

const LANGS: Record<string, ExampleKind | undefined> = { js: 'cjs', javascript: 'cjs', cjs: 'cjs', mjs: 'mjs', ts: 'ts', typescript: 'ts' };
const MARKER = /<!--\s*example:(.*?)-->/g;

/** ES module syntax in a ```js block (import/export statements, not `import(...)`): run it as .mjs. */
const looksEsm = (code: string): boolean => /^\s*(import\s+[\w*{'"]|export\s)/m.test(code);

/** The fenced blocks of a markdown text, with their markers. Throws on a marker it does not know. */
export function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let pending: string[] = [];  // markers seen since the last block or prose line
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (!open) {
      const markers = [...line.matchAll(MARKER)].map((m) => m[1].trim());
      if (markers.length) pending.push(...markers.map((m) => `${m}@${i + 1}`));
      else if (line.trim() !== '') pending = [];  // a marker applies only to the very next block
      continue;
    }
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    const closes = (l: string) => {
      const m = /^\s*(`{3,}|~{3,})\s*$/.exec(l);
      return !!m && m[1][0] === fence[0] && m[1].length >= fence.length;
    };
    while (j < lines.length && !closes(lines[j])) body.push(lines[j++]);
    if (j >= lines.length) throw new Error(`README line ${i + 1}: the code block is never closed`);
    const lang = open[3].toLowerCase();
    const code = body.join('\n') + '\n';
    let kind = LANGS[lang];
    if (kind === 'cjs' && looksEsm(code)) kind = 'mjs';
    const block: Block = { line: i + 1, lang, kind, code, needsOrt: /onnxruntime-node|\bcrossCheck\s*\(/.test(code) };
    for (const tagged of pending) {
      const at = tagged.lastIndexOf('@');
      const marker = tagged.slice(0, at);
      const where = `README line ${tagged.slice(at + 1)}`;
      const skip = /^skip\s*\((.*)\)$/.exec(marker);
      if (skip && skip[1].trim()) block.skip = skip[1].trim();
      else if (marker === 'needs onnxruntime-node') block.needsOrt = true;
      else if (marker === 'with a LongT5 checkpoint') block.needsCheckpoint = true;
      else throw new Error(`${where}: unknown example marker '${marker}' (known: 'skip (reason)', 'needs onnxruntime-node', 'with a LongT5 checkpoint')`);
    }
    if (pending.length && !kind) throw new Error(`README line ${i + 1}: an example marker stands above a '${lang || 'plain'}' block, which is not run anyway`);
    pending = [];
    blocks.push(block);
    i = j;
  }
  if (pending.length) throw new Error(`${pending.map((p) => `README line ${p.slice(p.lastIndexOf('@') + 1)}`).join(', ')}: example marker with no code block after it`);
  return blocks;
}

/** A short name for messages: "line 92 (js)". */
export const blockName = (b: Block): string => `line ${b.line} (${b.lang || 'plain'})`;

export interface Workspace {
  /** The temporary package: package.json, dist/, links to build/, prebuilds/, node_modules/. */
  pkg: string;
  /** The consumer project: node_modules/global-attention -> pkg (and onnxruntime-node, when installed here). */
  consumer: string;
}

const link = (target: string, at: string): void => {
  if (fs.existsSync(target)) fs.symlinkSync(target, at, fs.statSync(target).isDirectory() ? 'dir' : 'file');
};

/** Compiles lib/ into `dir`/pkg as a package and makes a consumer project beside it. */
export function preparePackage(dir: string): Workspace {
  const pkg = path.join(dir, 'pkg');
  const consumer = path.join(dir, 'consumer');
  fs.mkdirSync(pkg, { recursive: true });
  fs.mkdirSync(path.join(consumer, 'node_modules'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.copyFileSync(path.join(ROOT, 'binding.d.ts'), path.join(pkg, 'binding.d.ts'));
  for (const name of ['build', 'prebuilds', 'node_modules', 'lib']) link(path.join(ROOT, name), path.join(pkg, name));

  // dist/lib: the project's tsconfig, emitted into the package (only lib/ and what it imports)
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), { outDir: path.join(pkg, 'dist'), sourceMap: false }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([path.join(ROOT, 'lib', 'index.ts'), path.join(ROOT, 'binding.d.ts')], parsed.options);
  const emitted = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length || emitted.emitSkipped) throw new Error(`compiling lib/ failed:\n${formatDiagnostics(errors)}`);

  // dist/esm and dist/binding.d.ts: the project's own script, run with the package as its root
  fs.mkdirSync(path.join(pkg, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'build-esm.js'), path.join(pkg, 'scripts', 'build-esm.js'));
  const esm = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'build-esm.js')], { encoding: 'utf8' });
  if (esm.status !== 0) throw new Error(`scripts/build-esm.js failed: ${esm.stderr}`);

  fs.symlinkSync(pkg, path.join(consumer, 'node_modules', 'global-attention'), 'dir');
  link(path.join(ROOT, 'node_modules', 'onnxruntime-node'), path.join(consumer, 'node_modules', 'onnxruntime-node'));
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true }) + '\n');
  prepareCheckpoint(consumer);
  return { pkg, consumer };
}

/**
 * What the model examples expect beside them: ./long-t5-tglobal-base (the tglobal_tiny_pad fixture
 * checkpoint plus the fixture tokenizer, whose 61 words are that model's vocabulary), ./report.txt
 * (a text in those words) and @huggingface/tokenizers.
 */
function prepareCheckpoint(consumer: string): void {
  const dir = path.join(consumer, 'long-t5-tglobal-base');
  fs.mkdirSync(dir);
  const model = path.join(ROOT, 'test', 'fixtures', 'longt5-model', 'tglobal_tiny_pad');
  const tok = path.join(ROOT, 'test', 'fixtures', 't5-tokenizer');
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(model, f), path.join(dir, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tok, f), path.join(dir, f));
  const vocab = (JSON.parse(fs.readFileSync(path.join(tok, 'tokenizer.json'), 'utf8')).model.vocab as [string, number][])
    .map(([piece]) => piece)
    .filter((p) => p.startsWith('\u2581'))
    .map((p) => p.slice(1));
  const words = Array.from({ length: 300 }, (_, i) => vocab[(i * 7) % vocab.length]);
  fs.writeFileSync(path.join(consumer, 'report.txt'), words.join(' ') + '\n');
  fs.mkdirSync(path.join(consumer, 'node_modules', '@huggingface'), { recursive: true });
  link(path.join(ROOT, 'node_modules', '@huggingface', 'tokenizers'), path.join(consumer, 'node_modules', '@huggingface', 'tokenizers'));
}

export function formatDiagnostics(diags: readonly ts.Diagnostic[]): string {
  return diags
    .map((d) => {
      const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    })
    .join('\n');
}

/** The file an example is written to in the consumer project. */
export const exampleFile = (b: Block): string => `readme-line-${b.line}.${b.kind === 'mjs' ? 'mjs' : b.kind === 'ts' ? 'ts' : 'cjs'}`;

/**
 * Type-checks TypeScript sources as a user's project would (strict, against the package's shipped
 * typings through node_modules/global-attention). Returns the diagnostics per file name.
 */
export function typeCheck(consumer: string, files: Record<string, string>): Map<string, string> {
  const names = Object.keys(files).map((f) => path.join(consumer, f));
  for (const f of Object.keys(files)) fs.writeFileSync(path.join(consumer, f), files[f]);
  const program = ts.createProgram(names, {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16, esModuleInterop: true, types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  });
  const out = new Map<string, string>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? path.basename(d.file.fileName) : '(global)';
    out.set(file, [out.get(file), formatDiagnostics([d])].filter(Boolean).join('\n'));
  }
  return out;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs an example in a child `node` in the consumer project (a ts example transpiled to CommonJS first). */
export function runExample(consumer: string, b: Block, timeoutMs = 120_000): RunResult {
  let file = exampleFile(b);
  let code = b.code;
  if (b.kind === 'ts') {
    code = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
    file = file.replace(/\.ts$/, '.cjs');
  }
  fs.writeFileSync(path.join(consumer, file), code);
  const r = spawnSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Whether onnxruntime-node loads in the consumer project (a child process: a failing native load cannot hurt jest). */
export function ortLoads(consumer: string): boolean {
  const r = spawnSync(process.execPath, ['-e', "require('onnxruntime-node')"], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}
