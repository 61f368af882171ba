// The CLI's model verbs (bin/global-attention.js generate / encode), run as a user runs them (a
// child node process on the built dist/) on the fixture checkpoints: the ids must be Hugging
// Face's greedy ids, encode's summary must match the library's encode, and bad arguments must
// give one clear line and a nonzero exit, never a stack trace.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration } from '../lib/index';
import { readSafetensors } from '../lib/safetensors';

const BIN = path.resolve(__dirname, '..', 'bin', 'global-attention.js');
const FIXTURES = path.resolve(__dirname, 'fixtures', 'longt5-model');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fixture's input rows (unpadded; the CLI pads on the right), greedy ids and max_new_tokens. */
function fixture(name: string) {
  const e = readSafetensors(path.join(FIXTURES, name, 'expected.safetensors'));
  const [B, N] = e.tensors.get('input_ids')!.shape;
  const ids = e.tensors.get('input_ids')!.data as Int32Array;
  const mask = e.tensors.get('attention_mask')!.data as Int32Array;
  const rows = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * N, (b + 1) * N)).filter((_, i) => mask[b * N + i] !== 0));
  const g = e.tensors.get('greedy_ids')!;
  const S = g.shape[1];
  const greedy = Array.from({ length: B }, (_, b) => Array.from((g.data as Int32Array).subarray(b * S, (b + 1) * S)));
  return { dir: path.join(FIXTURES, name), rows, greedy, maxNewTokens: JSON.parse(e.metadata.config).max_new_tokens as number };
}

describe('global-attention generate', () => {
  // Right-padded cases: the CLI pads shorter rows on the right, as these fixtures are laid out.
  test.each(['tglobal_tiny_pad', 'local_pad', 'tglobal_n_lt_g'])('%s: Hugging Face greedy ids (--json)', (name) => {
    const f = fixture(name);
    const args = ['generate', f.dir, ...f.rows.flatMap((r) => ['--ids', r.join(',')]), '--max-new-tokens', String(f.maxNewTokens), '--json'];
    const r = cli(...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).toEqual(f.greedy);
    expect(out.dims).toEqual([f.greedy.length, f.greedy[0].length]);
  });

  test('text output, --num-beams 1 and --threads 1: one line of ids per row, equal to greedy', () => {
    const f = fixture('tglobal_tiny_pad');
    const r = cli('generate', f.dir, '--ids', f.rows[0].join(','), `--ids=${f.rows[1].join(',')}`, '--max-new-tokens', String(f.maxNewTokens), '--num-beams', '1', '--threads', '1');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(f.greedy.map((g, b) => `row ${b}: ${g.join(',')}`));
    expect(r.stderr).toMatch(/^generated \[2, 13\] in \d+ ms/);
  });

  test('--precision bf16: the library\'s bf16 greedy ids', () => {
    const f = fixture('tglobal_tiny_pad');
    const r = cli('generate', f.dir, ...f.rows.flatMap((x) => ['--ids', x.join(',')]), '--max-new-tokens', String(f.maxNewTokens), '--precision', 'bf16', '--json');
    expect(r.code).toBe(0);
    const N = Math.max(...f.rows.map((x) => x.length));
    const ids = new Int32Array(2 * N);
    const mask = new Int32Array(2 * N);
    f.rows.forEach((x, b) => {
      ids.set(x, b * N);
      mask.fill(1, b * N, b * N + x.length);
    });
    const m = LongT5ForConditionalGeneration.fromPretrained(f.dir, { precision: 'bf16' });
    const g = m.generate({ data: ids, dims: [2, N] }, { attentionMask: { data: mask, dims: [2, N] }, maxNewTokens: f.maxNewTokens });
    const S = g.dims[1];
    expect(JSON.parse(r.stdout).ids).toEqual([0, 1].map((b) => Array.from(g.data.subarray(b * S, (b + 1) * S))));
  });

  test('beam search runs and returns rows that start with decoder_start_token_id', () => {
    const f = fixture('tglobal_tiny_pad');
    const r = cli('generate', f.dir, '--ids', f.rows[1].join(','), '--max-new-tokens', '5', '--num-beams', '3', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dims[0]).toBe(1);
    expect(out.dims[1]).toBeLessThanOrEqual(6);
    expect(out.ids[0][0]).toBe(0);
  });
});

test('Ctrl-C (SIGINT) aborts a long generation: one line, exit 130', async () => {
  // tied_relu_tglobal_leftpad row 0 cycles between two tokens and never produces eos.
  const f = fixture('tied_relu_tglobal_leftpad');
  const child = spawn(process.execPath, [BIN, 'generate', f.dir, '--ids', f.rows[0].join(','), '--max-new-tokens', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 2000)); // loaded and generating by then
  expect(child.exitCode).toBeNull();
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(stderr).toBe('global-attention generate: interrupted\n');
});

describe('global-attention encode', () => {
  test('shape and summary over the unpadded positions match the library', () => {
    const f = fixture('tglobal_tiny_pad');
    const r = cli('encode', f.dir, ...f.rows.flatMap((x) => ['--ids', x.join(',')]), '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const N = Math.max(...f.rows.map((x) => x.length));
    expect(out.dims).toEqual([2, N, 32]);
    expect(out.tokens).toEqual(f.rows.map((x) => x.length));
    // The same numbers from the library directly.
    const ids = new Int32Array(2 * N);
    const mask = new Int32Array(2 * N);
    f.rows.forEach((x, b) => {
      ids.set(x, b * N);
      mask.fill(1, b * N, b * N + x.length);
    });
    const h = LongT5EncoderModel.fromPretrained(f.dir).encode({ data: ids, dims: [2, N] }, { attentionMask: { data: mask, dims: [2, N] } });
    let sum = 0;
    f.rows.forEach((x, b) => {
      for (let i = 0; i < x.length * 32; i++) sum += h.data[b * N * 32 + i];
    });
    expect(out.sum).toBeCloseTo(sum, 3);
    expect(out.rows).toHaveLength(2);
    // And the expected encoder output (HF float64): the row sums agree within float32 tolerance.
    const ref = readSafetensors(path.join(f.dir, 'expected.safetensors')).tensors.get('encoder_last_hidden_state')!.data as Float64Array;
    let refSum = 0;
    f.rows.forEach((x, b) => {
      for (let i = 0; i < x.length * 32; i++) refSum += ref[b * N * 32 + i];
    });
    expect(Math.abs(out.sum - refSum)).toBeLessThan(1e-3);
  });

  test('text output names the shape', () => {
    const f = fixture('tglobal_n_lt_g');
    const r = cli('encode', f.dir, '--ids', f.rows[0].join(','));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^last_hidden_state \[1, 12, 32\]/);
  });
});

describe('clear errors', () => {
  const f = fixture('tglobal_tiny_pad');
  const cases: [string, string[], RegExp][] = [
    ['missing folder', ['generate', '/nonexistent/checkpoint', '--ids', '1'], /checkpoint folder '\/nonexistent\/checkpoint' does not exist/],
    ['no folder', ['generate', '--ids', '1'], /needs a checkpoint folder/],
    ['no ids', ['generate', f.dir], /give the input token ids with --ids/],
    ['non-numeric id', ['generate', f.dir, '--ids', '3,x,1'], /'x' is not a token id/],
    ['negative id', ['encode', f.dir, '--ids', '-3'], /'-3' is not a token id/],
    ['empty id', ['generate', f.dir, '--ids', '3,,1'], /comma-separated list of token ids/],
    ['id past the vocabulary', ['generate', f.dir, '--ids', '3,64'], /token id 64 is out of range for vocab_size 64/],
    ['bad --max-new-tokens', ['generate', f.dir, '--ids', '3', '--max-new-tokens', '0'], /--max-new-tokens must be a positive integer/],
    ['unknown option', ['encode', f.dir, '--ids', '3', '--beams', '2'], /unknown argument '--beams'/],
    ['bad --precision', ['encode', f.dir, '--ids', '3', '--precision', 'bf8'], /--precision must be fp32, bf16 or fp16, got 'bf8'/],
  ];
  test.each(cases)('%s', (_what, args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('a folder without config.json, and a broken checkpoint, fail with one line (exit 1 or 2), no stack trace', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-cli-'));
    try {
      let r = cli('generate', dir, '--ids', '3,1');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/has no config.json/);
      fs.copyFileSync(path.join(f.dir, 'config.json'), path.join(dir, 'config.json'));
      const weights = fs.readFileSync(path.join(f.dir, 'model.safetensors'));
      fs.writeFileSync(path.join(dir, 'model.safetensors'), weights.subarray(0, weights.length - 1000)); // truncated
      r = cli('generate', dir, '--ids', '3,1');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^global-attention generate: .*model\.safetensors/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help of each verb', () => {
    for (const verb of ['generate', 'encode']) {
      const r = cli(verb, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: global-attention ${verb} <checkpoint-dir> --ids`));
    }
    expect(cli('--help').stdout).toMatch(/generate .*\n\s+encode /);
  });
});
