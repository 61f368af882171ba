// `npm start` / `global-attention demo`: global attention on one sentence, in the terminal and in
// an HTML report. bin/global-attention.js calls main(argv) and exits with what it returns.
import * as fs from 'fs';
import * as path from 'path';
import { info } from '../lib';
import { measureCost, type CostResult } from './cost';
import { runCrossChecks } from './crosscheck';
import { computeMaps } from './model';
import { MAX_TOKENS, UsageError, parseOptions, usage, type DemoOptions } from './options';
import { blocksText, costText, crossCheckText, tokensText, topKeysText } from './print';
import { renderReport } from './report-html';
import { tokenize } from './tokenize';

export { usage };

/** Where the demo writes: stdout for results, stderr for progress and errors. */
export interface DemoIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIO: DemoIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Runs the demo; resolves to the exit code (0 ok, 1 a cross-check failed or the report could not be written, 2 bad options). */
export async function main(argv: string[], io: DemoIO = defaultIO): Promise<number> {
  const say = (...lines: string[]) => io.out(lines.join('\n') + '\n');
  let o: DemoOptions;
  let tokens: string[];
  try {
    o = parseOptions(argv);
    if (o.help) {
      say(usage);
      return 0;
    }
    tokens = tokenize(o.text);
    if (tokens.length === 0) throw new UsageError('--text has no tokens');
    if (tokens.length > MAX_TOKENS) throw new UsageError(`--text has ${tokens.length} tokens; the demo draws at most ${MAX_TOKENS}`);
    if (o.blockSize > tokens.length)
      throw new UsageError(
        `--text has ${tokens.length} token${tokens.length === 1 ? '' : 's'}, fewer than the block size ${o.blockSize}: there would be no complete global block. ` +
          `Pass --block-size ${tokens.length} or smaller (e.g. --block-size ${Math.max(1, Math.floor(tokens.length / 2))}), or a longer --text.`,
      );
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`global-attention demo: ${e.message}\n\n${usage}\n`);
    return 2;
  }

  const started = Date.now();
  say('global-attention demo: dense vs LongT5 transient-global attention on one sentence.',
    'NOTE: the embedding and projections are seeded RANDOM weights (seed ' + o.seed + '): the maps show',
    'which keys each token can see and what that costs, not anything about language.', '');
  const maps = computeMaps(tokens, o.seed, o.radius, o.blockSize);
  say(tokensText(tokens), '', ...blocksText(tokens, maps), '');
  say(`top 3 keys per token (weights of head 0 of a ${maps.layer.config.num_heads}-head toy layer, d_model ${maps.layer.config.d_model}; G0.. are global tokens):`);
  say(...topKeysText(tokens, maps, 'dense'), '', ...topKeysText(tokens, maps, 'tglobal'), '', ...topKeysText(tokens, maps, 'blockGlobal'), '');

  const check = await runCrossChecks(maps);
  say(...crossCheckText(check), '');

  let cost: CostResult | undefined;
  if (o.cost) {
    io.err(`timing dense and TGlobal attention for N = ${o.costN.join(', ')}${o.measureAll ? ' (all measured: this can take minutes)' : ''}...\n`);
    cost = measureCost(o.costN, { measureAll: o.measureAll, log: (l) => io.err(l + '\n') });
    say(...costText(cost), '');
  }

  const html = renderReport({ text: o.text, tokens, maps, seed: o.seed, check, cost, info: info(), command: ['global-attention demo', ...argv].join(' ') });
  const file = path.resolve(o.out);
  try {
    fs.writeFileSync(file, html);
  } catch (e) {
    io.err(`global-attention demo: cannot write the report to ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  say(`report: ${file}  (open it in a browser: heatmaps, blocks picture, cost chart)`,
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!check.ok) {
    io.err('global-attention demo: a cross-check FAILED (see above)\n');
    return 1;
  }
  return 0;
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
