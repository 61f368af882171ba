#!/usr/bin/env node
// global-attention command line: a small dispatcher over subcommands. Each subcommand is an entry
// of COMMANDS ({ summary, usage, run(argv) → exit code }); the library (../dist/lib/index.js, built
// by `npm run build:ts`) is loaded only when a subcommand runs, so --help works without a build.
'use strict';

const path = require('path');

function loadLibrary() {
  const file = path.join(__dirname, '..', 'dist', 'lib', 'index.js');
  try {
    return require(file);
  } catch (err) {
    throw new Error(`cannot load ${file} (build it with \`npm run build:ts\`): ${err.message}`);
  }
}

/** Parses `--name value`, `--name=value` and bare `--flag` arguments against a spec of names. */
function parseOptions(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out.help = true;
      continue;
    }
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in spec)) throw new UsageError(`unknown argument '${a}'`);
    const name = m[1];
    if (spec[name] === 'flag') {
      if (m[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    out[name] = spec[name](value, name);
  }
  return out;
}

class UsageError extends Error {}

const positiveInt = (v, name) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
const precisionName = (v, name) => {
  if (v !== 'fp32' && v !== 'bf16' && v !== 'fp16') throw new UsageError(`--${name} must be fp32, bf16 or fp16, got '${v}'`);
  return v;
};
const nonNegativeNumber = (v, name) => {
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number >= 0, got '${v}'`);
  return n;
};
const oneOf = (choices) => (v, name) => {
  if (!choices.includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v;
};

const fmt = (x) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

// ---------------------------------------------------------------------------------------------
// check: native vs ONNX Runtime

const CHECK_TARGETS = ['tglobal', 'local', 'full', 'dense'];

async function check(argv) {
  const o = parseOptions(argv, {
    layer: oneOf([...CHECK_TARGETS, 'all']),
    n: positiveInt,
    batch: positiveInt,
    seed: positiveInt,
    tolerance: nonNegativeNumber,
    json: 'flag',
  });
  if (o.help) {
    process.stdout.write(COMMANDS.check.usage + '\n');
    return 0;
  }
  const lib = loadLibrary();
  const targets = o.layer === undefined || o.layer === 'all' ? CHECK_TARGETS : [o.layer];
  const inputs = {};
  if (o.n !== undefined) inputs.seqLen = o.n;
  if (o.batch !== undefined) inputs.batch = o.batch;
  if (o.seed !== undefined) inputs.seed = o.seed;
  if (o.tolerance !== undefined) inputs.tolerance = o.tolerance;
  const reports = [];
  for (const t of targets) reports.push(await lib.crossCheck(t, inputs));
  if (o.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  else {
    for (const r of reports) {
      const dims = Object.entries(r.inputDims).map(([k, d]) => `${k} [${d.join(',')}]`).join(', ');
      process.stdout.write(`${r.target}: ${dims}\n`);
      for (const out of r.outputs)
        process.stdout.write(
          `  ${out.ok ? 'ok  ' : 'FAIL'} ${out.name}: max abs ${fmt(out.maxAbs)}, max rel ${fmt(out.maxRel)} ` +
            `(of max |out| ${fmt(out.maxRef)}, ${out.comparedRows}/${out.rows} rows, ${out.finite ? 'all finite' : 'NOT FINITE'}; ` +
            `tolerance ${fmt(r.tolerance)})\n`,
        );
      process.stdout.write(`  native ${r.nativeMs.toFixed(1)} ms, onnxruntime ${r.onnxMs.toFixed(1)} ms\n`);
    }
  }
  const failed = reports.filter((r) => !r.ok).map((r) => r.target);
  if (failed.length > 0) {
    process.stderr.write(`check failed: ${failed.join(', ')} above tolerance\n`);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// generate, encode: a Hugging Face LongT5 checkpoint folder, token ids in

/** Splits off the leading positional argument (the checkpoint folder). */
function checkpointArg(argv, command) {
  const [dir, ...rest] = argv;
  if (dir === '-h' || dir === '--help') return { help: true, rest: [] };
  if (dir === undefined || dir.startsWith('-')) throw new UsageError(`${command} needs a checkpoint folder as its first argument`);
  return { dir, rest };
}

/** "1,2,3" → [1, 2, 3]: non-negative integer ids. */
const idList = (v, name) => {
  const parts = String(v).split(',').map((x) => x.trim());
  if (parts.length === 0 || parts.some((x) => x === ''))
    throw new UsageError(`--${name} must be a comma-separated list of token ids (e.g. 13,8,1), got '${v}'`);
  return parts.map((x) => {
    const n = Number(x);
    if (!/^\d+$/.test(x) || !Number.isSafeInteger(n)) throw new UsageError(`--${name}: '${x}' is not a token id (a non-negative integer) in '${v}'`);
    return n;
  });
};

/** Parses options where `ids` may repeat (one batch row each). */
function parseModelOptions(argv, spec) {
  const rows = [];
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--ids(?:=(.*))?$/.exec(argv[i]);
    if (!m) {
      rest.push(argv[i]);
      continue;
    }
    let value = m[1];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError('--ids needs a value');
      value = argv[++i];
    }
    rows.push(idList(value, 'ids'));
  }
  const o = parseOptions(rest, spec);
  o.ids = rows;
  return o;
}

/** Reads <dir>/config.json for the ids' bounds and padding id; clear errors for a missing or broken folder. */
function readCheckpointConfig(dir) {
  const fs = require('fs');
  let st;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`checkpoint folder '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(`'${dir}' is not a folder (expected a checkpoint folder with config.json and model.safetensors)`);
  const file = path.join(dir, 'config.json');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`checkpoint folder '${dir}' has no config.json`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${err.message}`);
  }
}

/** The rows as one right-padded [B, N] batch (Int32Array ids + mask), checked against vocab_size. */
function batchOf(rows, config) {
  if (rows.length === 0) throw new UsageError('give the input token ids with --ids 1,2,3 (repeat --ids for more rows)');
  const vocab = config.vocab_size;
  for (const [r, row] of rows.entries())
    for (const id of row)
      if (Number.isSafeInteger(vocab) && id >= vocab)
        throw new UsageError(`--ids (row ${r}): token id ${id} is out of range for vocab_size ${vocab}`);
  const B = rows.length;
  const N = Math.max(...rows.map((r) => r.length));
  const pad = Number.isSafeInteger(config.pad_token_id) ? config.pad_token_id : 0;
  const data = new Int32Array(B * N).fill(pad);
  const mask = new Int32Array(B * N);
  rows.forEach((row, b) => {
    data.set(row, b * N);
    mask.fill(1, b * N, b * N + row.length);
  });
  return { ids: { data, dims: [B, N] }, attentionMask: { data: mask, dims: [B, N] }, lengths: rows.map((r) => r.length) };
}

/**
 * Runs `fn(signal)`; Ctrl-C aborts the native work through `signal` (exit 130), and a library error
 * (bad checkpoint, bad input) is printed as one line, exit 1.
 */
async function reportErrors(command, fn) {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(abort.signal);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err && err.name === 'AbortError') {
      process.stderr.write(`global-attention ${command}: interrupted\n`);
      return 130;
    }
    process.stderr.write(`global-attention ${command}: ${err && err.message ? err.message : err}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function generate(argv) {
  const { dir, rest, help } = checkpointArg(argv, 'generate');
  const o = help ? { help } : parseModelOptions(rest, {
    'max-new-tokens': positiveInt, 'num-beams': positiveInt, threads: positiveInt, precision: precisionName, json: 'flag',
  });
  if (o.help) {
    process.stdout.write(COMMANDS.generate.usage + '\n');
    return 0;
  }
  const config = readCheckpointConfig(dir);
  const batch = batchOf(o.ids, config);
  return reportErrors('generate', async (signal) => {
    const lib = loadLibrary();
    const t0 = Date.now();
    const model = lib.LongT5ForConditionalGeneration.fromPretrained(dir, { precision: o.precision ?? 'fp32' });
    const t1 = Date.now();
    const options = { attentionMask: batch.attentionMask, maxNewTokens: o['max-new-tokens'] ?? 20, signal };
    if (o['num-beams'] !== undefined) options.numBeams = o['num-beams'];
    if (o.threads !== undefined) options.threads = o.threads;
    const out = await model.generateAsync(batch.ids, options);
    const t2 = Date.now();
    const [B, S] = out.dims;
    const rows = Array.from({ length: B }, (_, b) => Array.from(out.data.subarray(b * S, (b + 1) * S)));
    if (o.json) process.stdout.write(JSON.stringify({ dims: [B, S], ids: rows, loadMs: t1 - t0, generateMs: t2 - t1 }) + '\n');
    else {
      rows.forEach((r, b) => process.stdout.write(`row ${b}: ${r.join(',')}\n`));
      process.stderr.write(`generated [${B}, ${S}] in ${t2 - t1} ms (checkpoint loaded in ${t1 - t0} ms)\n`);
    }
    return 0;
  });
}

async function encode(argv) {
  const { dir, rest, help } = checkpointArg(argv, 'encode');
  const o = help ? { help } : parseModelOptions(rest, { threads: positiveInt, precision: precisionName, json: 'flag' });
  if (o.help) {
    process.stdout.write(COMMANDS.encode.usage + '\n');
    return 0;
  }
  const config = readCheckpointConfig(dir);
  const batch = batchOf(o.ids, config);
  return reportErrors('encode', async (signal) => {
    const lib = loadLibrary();
    const t0 = Date.now();
    const model = lib.LongT5EncoderModel.fromPretrained(dir, { precision: o.precision ?? 'fp32' });
    const t1 = Date.now();
    const options = { attentionMask: batch.attentionMask, signal };
    if (o.threads !== undefined) options.threads = o.threads;
    const out = await model.encodeAsync(batch.ids, options);
    const t2 = Date.now();
    const [B, N, C] = out.dims;
    // Summary over the unpadded positions only (padded positions' outputs are not meaningful).
    let sum = 0, sumSq = 0, lo = Infinity, hi = -Infinity, count = 0;
    const rows = batch.lengths.map((len, b) => {
      let rs = 0, rq = 0;
      for (let i = 0; i < len * C; i++) {
        const x = out.data[b * N * C + i];
        rs += x;
        rq += x * x;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      sum += rs;
      sumSq += rq;
      count += len * C;
      return { tokens: len, sum: rs, rms: Math.sqrt(rq / Math.max(1, len * C)) };
    });
    const summary = { dims: [B, N, C], tokens: batch.lengths, sum, mean: sum / Math.max(1, count), rms: Math.sqrt(sumSq / Math.max(1, count)), min: lo, max: hi, rows, loadMs: t1 - t0, encodeMs: t2 - t1 };
    if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else {
      process.stdout.write(`last_hidden_state [${B}, ${N}, ${C}] (unpadded tokens per row: ${batch.lengths.join(', ')})\n`);
      process.stdout.write(`  sum ${sum.toPrecision(9)}, mean ${summary.mean.toPrecision(6)}, rms ${summary.rms.toPrecision(6)}, min ${fmt(lo)}, max ${fmt(hi)}\n`);
      rows.forEach((r, b) => process.stdout.write(`  row ${b}: ${r.tokens} tokens, sum ${r.sum.toPrecision(9)}, rms ${r.rms.toPrecision(6)}\n`));
      process.stderr.write(`encoded in ${t2 - t1} ms (checkpoint loaded in ${t1 - t0} ms)\n`);
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// demo, bench: compiled TypeScript modules under dist/ that export `main(argv) → Promise<exit code>`
// and `usage` (a string); they parse their own options.

function loadModule(rel) {
  const file = path.join(__dirname, '..', 'dist', rel);
  try {
    return require(file);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(file))
      throw new Error(`cannot load ${file} (build it with \`npm run build:ts\`)`);
    throw err;
  }
}

const delegate = (rel) => (argv) => loadModule(rel).main(argv);

// ---------------------------------------------------------------------------------------------
// Dispatcher

const COMMANDS = {
  check: {
    summary: 'native kernels vs ONNX Runtime on the same inputs (max abs/rel error)',
    usage: [
      'usage: global-attention check [--layer tglobal|local|full|dense|all] [--n N] [--batch B] [--seed S]',
      '                              [--tolerance T] [--json]',
      '',
      'Runs each layer (seeded random weights: d_model 64, 4 heads, d_kv 16, r 15, g 16) or dense',
      'attention natively and with ONNX Runtime on the graph lib/onnx builds, on seeded random inputs',
      '(default B 2, N 300; row 0 full, row 1 padded), and prints the largest differences on the',
      'compared rows. Exits 1 when max rel (max abs / max |out|) exceeds the tolerance (default 1e-4).',
    ].join('\n'),
    run: check,
  },
  generate: {
    summary: 'LongT5 generation from a Hugging Face checkpoint folder: token ids in, ids out',
    usage: [
      'usage: global-attention generate <checkpoint-dir> --ids 1,2,3 [--ids ...] [--max-new-tokens N]',
      '                                 [--num-beams K] [--threads T] [--precision P] [--json]',
      '',
      'Loads a LongT5 checkpoint folder (config.json + model.safetensors, or a sharded',
      'model.safetensors.index.json) and generates from the given encoder token ids. Each --ids is one',
      'batch row (comma-separated ids, usually ending with eos, id 1 in T5 vocabularies); shorter rows are',
      'right-padded with pad_token_id and masked. Prints one line of output ids per row (first column',
      'decoder_start_token_id, finished rows padded with pad_token_id), as Hugging Face generate returns',
      'them; --json prints { dims, ids, loadMs, generateMs }.',
      '  --max-new-tokens N   tokens to generate at most (default 20)',
      '  --num-beams K        beam search with K beams (default 1: greedy)',
      '  --threads T          threads to use (default: all cores)',
      '  --precision P        fp32 (default), bf16 or fp16: the matrix products\' type; bf16/fp16 keep the',
      '                       weights in 16 bits (a BF16 checkpoint as stored) (docs/precision.md)',
      'Text in and out needs a tokenizer (e.g. @huggingface/tokenizers reading the checkpoint\'s',
      'tokenizer.json); this command takes ids so it needs none.',
    ].join('\n'),
    run: generate,
  },
  encode: {
    summary: "LongT5 encoder: a checkpoint folder's last hidden state for token ids (shape and checksums)",
    usage: [
      'usage: global-attention encode <checkpoint-dir> --ids 1,2,3 [--ids ...] [--threads T] [--precision P] [--json]',
      '',
      'Runs the encoder of a LongT5 checkpoint folder (an encoder-only or a full encoder-decoder',
      'checkpoint) on the given token ids (one --ids per batch row, right-padded and masked) and prints',
      'the output shape [B, N, d_model] with a summary over the unpadded positions: sum, mean, rms, min,',
      'max, and per row. --json prints the same as one JSON object.',
      '  --threads T          threads to use (default: all cores)',
      '  --precision P        fp32 (default), bf16 or fp16 (as for generate)',
    ].join('\n'),
    run: encode,
  },
  demo: {
    summary: 'the seed example: tokens, blocks, global tokens, attention maps, cost (HTML report)',
    usage: 'usage: global-attention demo [--text T] [--block-size G] [--radius R] [--out FILE]  (--help for more)',
    run: delegate('demo/demo.js'),
  },
  bench: {
    summary: 'dense and TGlobal benchmarks on this CPU: table, JSON and an SVG chart',
    usage: 'usage: global-attention bench [--n 512,4096] [--threads 1,2] [--json FILE]  (--help for more)',
    run: delegate('bench/run.js'),
  },
};

function usage() {
  const lines = ['usage: global-attention <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "run 'global-attention <command> --help' for a command's options");
  return lines.join('\n');
}

async function main(argv) {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`global-attention: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`global-attention ${name}: ${err.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    // onnxruntime-node missing (lib/onnx/run.ts): its message is the whole story, one line.
    if (err && err.code === 'ERR_ONNXRUNTIME_UNAVAILABLE') {
      process.stderr.write(`global-attention ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`global-attention ${name}: ${err && err.stack ? err.stack : err}\n`);
    return 1;
  }
}

module.exports = { COMMANDS, main, parseOptions, UsageError, loadLibrary };

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
