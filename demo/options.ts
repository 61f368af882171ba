// The demo's command-line options: parsing and validation. A bad option is a UsageError (the
// caller prints its message and the usage, and exits 2).

export const DEFAULT_TEXT = 'The quick brown fox jumps over the lazy dog near the riverbank in the sunny park.';
export const DEFAULT_REPORT = 'global-attention-report.html';
/** Sequence lengths of the cost section. */
export const DEFAULT_COST_N = [512, 1024, 2048, 4096, 8192, 16384];
/** The demo draws every token: more than this would not fit a heatmap or a terminal. */
export const MAX_TOKENS = 128;

export interface DemoOptions {
  text: string;
  blockSize: number;
  radius: number;
  out: string;
  seed: number;
  cost: boolean;
  costN: number[];
  measureAll: boolean;
  help: boolean;
}

export const usage = [
  'usage: global-attention demo [options]        (npm start runs it with the defaults)',
  '',
  'Tokenizes a sentence, splits it into LongT5 global blocks, and computes three attention maps on',
  'the same seeded random projections: dense attention, LongT5 transient-global (TGlobal) attention',
  "and block-global attention (a simpler variant: each token attends to its own block's tokens plus",
  "that block's mean token). Prints the tokens, blocks, global tokens and each token's top-3 keys",
  '(a repeated word is shown with its position, e.g. the#6); writes an HTML report with heatmaps, a',
  'cross-check against ONNX Runtime and the cost of dense vs TGlobal attention (FLOPs and time) for',
  'N = 512 ... 16384.',
  '',
  'options:',
  '  --text TEXT       the sentence, split at whitespace into at most ' + MAX_TOKENS + ' tokens; default:',
  `                    "${DEFAULT_TEXT}"`,
  '  --block-size G    global block size g (default 5); at most the number of tokens (a short --text',
  '                    needs a smaller G, e.g. --text \'Hello world\' --block-size 2)',
  '  --radius R        TGlobal local radius r: token i sees tokens |i - j| <= R (default 3)',
  `  --out FILE        HTML report path (default ./${DEFAULT_REPORT})`,
  '  --seed S          seed of the random embedding and projections, integer >= 0 (default 1)',
  '  --no-cost         skip the cost section (FLOPs and timing)',
  '  --cost-n LIST     sequence lengths of the cost section (default 512,1024,2048,4096,8192,16384)',
  '  --measure-all     time every point of the cost section (dense at 16384 takes a while);',
  '                    by default points that would take too long are predicted from the FLOP model',
  '  -h, --help        this text',
].join('\n');

export class UsageError extends Error {}

function positiveInt(name: string, v: string, min = 1): number {
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function intList(name: string, v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((s) => s === '')) throw new UsageError(`--${name} must be a comma-separated list of positive integers, got '${v}'`);
  const list = parts.map((s) => positiveInt(name, s));
  if (list.some((n) => n > 1 << 20)) throw new UsageError(`--${name}: sequence lengths must be <= ${1 << 20}`);
  return [...new Set(list)].sort((a, b) => a - b);
}

const VALUED = ['text', 'block-size', 'radius', 'out', 'seed', 'cost-n'] as const;
const FLAGS = ['no-cost', 'measure-all'] as const;

/** Parses `--name value`, `--name=value` and bare flags. Throws UsageError on anything else. */
export function parseOptions(argv: readonly string[]): DemoOptions {
  const o: DemoOptions = {
    text: DEFAULT_TEXT, blockSize: 5, radius: 3, out: DEFAULT_REPORT, seed: 1, cost: true, costN: DEFAULT_COST_N.slice(),
    measureAll: false, help: false,
  };
  if (!Array.isArray(argv)) throw new UsageError('arguments must be an array of strings');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (typeof a !== 'string') throw new UsageError(`arguments must be strings, got ${typeof a}`);
    if (a === '-h' || a === '--help') {
      o.help = true;
      continue;
    }
    const m = /^--([a-z][a-z-]*)(?:=([\s\S]*))?$/.exec(a);
    if (!m) throw new UsageError(`unknown argument '${a}'`);
    const name = m[1];
    if ((FLAGS as readonly string[]).includes(name)) {
      if (m[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      if (name === 'no-cost') o.cost = false;
      else o.measureAll = true;
      continue;
    }
    if (!(VALUED as readonly string[]).includes(name)) throw new UsageError(`unknown option '--${name}'`);
    let v = m[2];
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      v = argv[++i];
    }
    switch (name) {
      case 'text':
        o.text = v;
        break;
      case 'block-size':
        o.blockSize = positiveInt(name, v);
        break;
      case 'radius':
        o.radius = positiveInt(name, v, 0);
        if (o.radius > 2 ** 30) throw new UsageError(`--radius must be at most 2^30, got '${v}'`);
        break;
      case 'out':
        if (v.trim() === '') throw new UsageError('--out must be a file path');
        o.out = v;
        break;
      case 'seed':
        o.seed = positiveInt(name, v, 0);
        if (o.seed > 0xffffffff) throw new UsageError(`--seed must be < 2^32, got '${v}'`);
        break;
      case 'cost-n':
        o.costN = intList(name, v);
        break;
    }
  }
  return o;
}
