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
