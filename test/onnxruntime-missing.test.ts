// Without onnxruntime-node (an optional dev dependency), everything that needs ONNX Runtime says
// so in one line (what is missing, how to add it), with no stack trace or require stack:
// crossCheck and runOnnx reject with OnnxRuntimeUnavailableError, `global-attention check`
// prints the line and exits 1, and the demo reports its ORT checks skipped and still succeeds.
// ORT is hidden by test/helpers/hide-onnxruntime.js, which makes require('onnxruntime-node')
// throw Node's own "Cannot find module" error.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const HIDE = path.join(__dirname, 'helpers', 'hide-onnxruntime.js');
const CLI = path.join(ROOT, 'bin', 'global-attention.js');

/** The one line: names the package, the install command and the offline/CUDA skip variable. */
function expectOneLineHint(text: string): void {
  expect(text).toMatch(/^[^\n]+$/);
  expect(text).toContain('onnxruntime-node is not installed');
  expect(text).toContain('npm install onnxruntime-node');
  expect(text).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
  expect(text).not.toMatch(/Require stack|Cannot find module|\n\s+at /);
}

/** Node's own error for a module that is not installed (what require() throws then). */
function notFound(): Error {
  const err = new Error(`Cannot find module 'onnxruntime-node'\nRequire stack:\n- ${__filename}`) as Error & { code: string };
  err.code = 'MODULE_NOT_FOUND';
  return err;
}

describe('the library without onnxruntime-node', () => {
  // A fresh module registry per test, with onnxruntime-node unresolvable.
  function withoutOrt<T>(load: () => T): T {
    let mod: T | undefined;
    jest.isolateModules(() => {
      jest.doMock('onnxruntime-node', () => {
        throw notFound();
      });
      mod = load();
    });
    return mod as T;
  }
  afterEach(() => jest.dontMock('onnxruntime-node'));

  test.each(['dense', 'tglobal'] as const)("crossCheck('%s') rejects with the one-line OnnxRuntimeUnavailableError", async (target) => {
    const lib = withoutOrt(() => require('../lib') as typeof import('../lib'));
    const onnx = withoutOrt(() => require('../lib/onnx') as typeof import('../lib/onnx'));
    const err = await lib.crossCheck(target, { seqLen: 8 }).then(
      () => {
        throw new Error('crossCheck resolved without onnxruntime-node');
      },
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_ONNXRUNTIME_UNAVAILABLE');
    expect(onnx.isOnnxRuntimeUnavailable(err)).toBe(true);
    expectOneLineHint(err.message);
  });

  test('runOnnx rejects the same way; a broken install says it does not load', async () => {
    const onnx = withoutOrt(() => require('../lib/onnx') as typeof import('../lib/onnx'));
    const model = onnx.buildDenseAttentionModel({ op: 'Attention', numHeads: 1, headSize: 4 });
    const err = (await onnx.runOnnx(model, {}).catch((e: unknown) => e)) as Error;
    expect(onnx.isOnnxRuntimeUnavailable(err)).toBe(true);
    expectOneLineHint(err.message);

    // Installed but not loadable (e.g. its native library missing): the loader's first line in
    // parentheses, the same hint, still one line.
    let broken: typeof import('../lib/onnx') | undefined;
    jest.isolateModules(() => {
      jest.doMock('onnxruntime-node', () => {
        throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory\n    at Module._extensions..node');
      });
      broken = require('../lib/onnx');
    });
    const err2 = (await broken!.runOnnx(model, {}).catch((e: unknown) => e)) as Error;
    expect(broken!.isOnnxRuntimeUnavailable(err2)).toBe(true);
    expect(err2.message).toMatch(/^onnxruntime-node does not load \(libonnxruntime\.so\.1: cannot open shared object file: No such file or directory\); reinstall it: npm install onnxruntime-node /);
    expect(err2.message).not.toContain('\n');
  });
});

describe('the command line without onnxruntime-node', () => {
  // bin/global-attention.js runs the compiled library (dist/, built by `npm ci` / `npm run build:ts`).
  beforeAll(() => {
    const run = path.join(ROOT, 'dist', 'lib', 'onnx', 'run.js');
    if (!fs.existsSync(run) || !fs.readFileSync(run, 'utf8').includes('ERR_ONNXRUNTIME_UNAVAILABLE'))
      throw new Error(`${path.relative(ROOT, run)} is missing or older than lib/: run \`npm run build:ts\` first`);
  });
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['-r', HIDE, CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

  test('the preload really hides onnxruntime-node (and only it)', () => {
    const r = spawnSync(process.execPath, ['-r', HIDE, '-e', "require('onnxruntime-node')"], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Cannot find module 'onnxruntime-node'");
    const ok = spawnSync(process.execPath, ['-r', HIDE, '-e', "require('node-gyp-build')"], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.status).toBe(0);
  });

  test('check: one line on stderr, exit code 1', () => {
    const r = cli(['check', '--layer', 'dense', '--n', '8']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLineHint(r.stderr.replace(/\n$/, ''));
    expect(r.stderr).toMatch(/^global-attention check: onnxruntime-node is not installed/);
  });

  test('demo: the ORT checks are reported skipped with the same line, and the demo succeeds', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-no-ort-'));
    try {
      const r = cli(['demo', '--no-cost', '--out', path.join(dir, 'report.html')]);
      expect(r.status).toBe(0);
      const lines = (r.stdout + r.stderr).split('\n').filter((l) => /onnxruntime-node is not installed/.test(l));
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const l of lines) expect(l).not.toMatch(/Require stack|Cannot find module/);
      expect(r.stdout + r.stderr).not.toMatch(/Require stack|\n\s+at /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
