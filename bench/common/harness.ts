// One bench point, measured the same way by every bench (dense, TGlobal, and whatever comes next):
//   1. wait (up to maxWaitS) for other processes to leave the CPUs; one-thread FMA probe (and the
//      shared-core probe for T >= 2) before;
//   2. optionally, the peak RSS one call adds, each implementation in a fresh child process;
//   3. build one Runner per implementation (a failure is recorded, the others go on);
//   4. one warm-up call each (then `afterWarmup`, e.g. compare the outputs);
//   5. `reps` interleaved rounds (a, b, c, a, b, c, ...), `gapMs` apart, fewer (repsFor) when a
//      call is slow; the CPU time other processes used meanwhile is recorded;
//   6. `afterTimed` (e.g. ORT's profiler), then the probe after;
//   7. per implementation: the times, median, min, GFLOP/s and % of the one-thread peak.
// A bench supplies the implementations (makeRunner), their FLOP counts, and the hooks; see
// bench/README.md ("Writing a bench").
import { progress } from './cli';
import { BenchContext, notePeak, PointConditions, probeAfter, probeBefore, waitForQuietPoint } from './conditions';
import { LoadMeter } from './load';
import { measureRss, RssDelta } from './memory';
import { runJsonChild } from './child';
import { touch } from './random';
import { gflops, median, min, repsFor, sleep, timeCall } from './stats';
import { fix, ms } from './table';

/** One implementation at one point: a call computes `out` from `arrays` (its inputs). */
export interface Runner {
  run(): unknown;
  out: Float32Array;
  /** Inputs, touched before a memory measurement so that they are resident. */
  arrays: Float32Array[];
  release(): Promise<void>;
}

/** What the harness measured of one implementation at one point. */
export interface Timed {
  /** Times of the timed calls, ms, in order. */
  times: number[];
  medianMs: number;
  minMs: number;
  /** The warm-up call (first call of this process at this shape), ms. */
  warmupMs: number;
  flops: number;
  gflops: number;
  /** gflops / (one-thread FMA peak × threads), percent (percentOfPeak). */
  pctPeak: number;
  error?: string;
}

/**
 * GFLOP/s as a percentage of T threads at the one-thread FMA peak, against the BEST peak among
 * `peaks` (the startup probe and every probe since): a probe taken while another process shared
 * the core reads low, and dividing by it gave figures like "198% of the peak".
 */
export function percentOfPeak(gflopsPerS: number, threads: number, peaks: readonly number[]): number {
  const best = Math.max(...peaks.filter((p) => Number.isFinite(p) && p > 0));
  return best > 0 && threads > 0 ? (100 * gflopsPerS) / (best * threads) : NaN;
}

/** A point as the harness fills it: conditions plus the reps actually run. */
export interface HarnessPoint extends PointConditions {
  reps: number;
}

export interface PointSpec<I extends string, M> {
  /** Prefix of the progress lines, e.g. "[tglobal N=512 T=2]". */
  tag: string;
  impls: readonly I[];
  /** Timed rounds (fewer when one call takes > 2 s, see repsFor). */
  reps: number;
  /** Pause after every call, ms (ORT's pool threads spin ~50 ms after a run; see bench/dense.ts). */
  gapMs: number;
  /** Wait up to this for other processes to leave the CPUs before the point (0: never). */
  maxWaitS: number;
  /** The run's shared state: peak, probes (its bestPeak takes this point's probes). */
  ctx: BenchContext;
  /** The point to fill (N, threads; the harness sets waitedS, probes, sharedCores, load, reps). */
  point: HarnessPoint;
  flops(impl: I): number;
  makeRunner(impl: I): Promise<Runner>;
  /** The RSS one call adds, in a fresh process (measureInChild); not called when absent. */
  memory?(impl: I): Promise<M>;
  /** One progress line's text about a memory result. */
  describeMemory?(m: M): string;
  /** After the warm-up, with the runners that work (e.g. compare their outputs). */
  afterWarmup?(runners: Partial<Record<I, Runner>>): void;
  /** After the timed rounds and the runners' release, before the probe after (e.g. a profiler). */
  afterTimed?(live: I[]): Promise<void>;
}

export interface PointMeasurement<I extends string, M> {
  results: Partial<Record<I, Timed>>;
  memory: Partial<Record<I, M>>;
  /** The best one-thread peak after this point's probes (what pctPeak used). */
  peak: number;
}

/** Measures one point (steps 1-7 above); progress on stderr. */
export async function measurePoint<I extends string, M>(s: PointSpec<I, M>): Promise<PointMeasurement<I, M>> {
  const { tag, point, ctx } = s;
  const probe = ctx.probes.get(point.threads);
  point.waitedS = await waitForQuietPoint(tag, s.maxWaitS);
  await probeBefore(tag, point, probe);

  const memory: Partial<Record<I, M>> = {};
  if (s.memory)
    for (const impl of s.impls) {
      const m = (memory[impl] = await s.memory(impl));
      progress(`${tag} memory ${impl}: ${s.describeMemory ? s.describeMemory(m) : JSON.stringify(m)}`);
    }

  const runners: Partial<Record<I, Runner>> = {};
  const errors: Partial<Record<I, string>> = {};
  for (const impl of s.impls) {
    try {
      runners[impl] = await s.makeRunner(impl);
    } catch (err) {
      errors[impl] = (err as Error).message;
      progress(`${tag} ${impl} could not start: ${errors[impl]}`);
    }
  }
  const live = () => s.impls.filter((i) => runners[i] && !errors[i]);
  const call = async (impl: I): Promise<number> => {
    try {
      const t = await timeCall(() => runners[impl]!.run());
      await sleep(s.gapMs);
      return t;
    } catch (err) {
      errors[impl] = (err as Error).message;
      progress(`${tag} ${impl} failed: ${errors[impl]}`);
      return NaN;
    }
  };

  // Warm-up (the first call at this shape pays page faults and lazy setup).
  await sleep(s.gapMs);
  const meter = new LoadMeter();
  meter.start();
  const warm: Partial<Record<I, number>> = {};
  for (const impl of live()) warm[impl] = await call(impl);
  progress(`${tag} warm-up: ${live().map((i) => `${i} ${ms(warm[i])} ms`).join(', ')}`);
  if (s.afterWarmup) {
    const ok: Partial<Record<I, Runner>> = {};
    for (const i of live()) ok[i] = runners[i];
    s.afterWarmup(ok);
  }

  // Interleaved rounds.
  const times: Partial<Record<I, number[]>> = {};
  let reps = s.reps;
  for (let r = 0; r < reps; r++) {
    let slowest = 0;
    for (const impl of live()) {
      const t = await call(impl);
      (times[impl] ??= []).push(t);
      if (t > slowest) slowest = t;
    }
    if (r === 0) reps = repsFor(s.reps, slowest);
    progress(`${tag} round ${r + 1}/${reps}: ${live().map((i) => `${i} ${ms(times[i]![r])}`).join(', ')} ms`);
  }
  point.reps = reps;
  point.load = meter.stop();
  for (const impl of s.impls) await runners[impl]?.release();
  if (s.afterTimed) await s.afterTimed(live());

  await probeAfter(tag, point, probe);
  notePeak(ctx, point);

  const results: Partial<Record<I, Timed>> = {};
  for (const impl of s.impls) {
    const ts = times[impl] ?? [];
    const med = median(ts);
    const flops = s.flops(impl);
    const g = gflops(flops, med);
    results[impl] = {
      times: ts, medianMs: med, minMs: min(ts), warmupMs: warm[impl] ?? NaN, flops, gflops: g, pctPeak: percentOfPeak(g, point.threads, [ctx.bestPeak]),
      ...(errors[impl] ? { error: errors[impl] } : {}),
    };
  }
  return { results, memory, peak: ctx.bestPeak };
}

/**
 * A %peak table cell: the whole percentage, with '!' above 100 — the FMA probes then all ran while
 * the core was busy, so the peak is understated (PEAK_NOTE says so under the table).
 */
export function pctCell(pct: number | null | undefined): string {
  return pct === null || pct === undefined || !Number.isFinite(pct) ? '-' : `${pct.toFixed(0)}${pct > 100 ? '!' : ''}`;
}

export const PEAK_NOTE =
  "%pk '!' = above 100%: every FMA probe of the run ran while another process used the core, so the measured peak is too " +
  'low; compare GF/s instead.';

/** The progress line at the end of a point: "<tag> done: <impl> 12.3 ms (45.6 GFLOP/s, 52% of the peak)<extra>". */
export function doneLine(tag: string, impl: string, r: Timed | undefined, extra = ''): string {
  const pct = r?.pctPeak;
  // Above 100% the probes so far read low (a busy core), not the kernel beating the hardware: say so rather than print it.
  const share = pct !== undefined && pct > 100 ? 'above the FMA peak measured so far: the probes ran on a busy core' : `${fix(pct, 0)}% of the peak`;
  return `${tag} done: ${impl} ${ms(r?.medianMs)} ms (${fix(r?.gflops)} GFLOP/s, ${share})${extra}`;
}

/** Re-bases every result's pctPeak on the run's final best peak (call once all points are done). */
export function rebasePctPeak(points: readonly { threads: number; results: Partial<Record<string, { gflops: number; pctPeak: number }>> }[], bestPeak: number): void {
  for (const p of points) for (const r of Object.values(p.results)) if (r) r.pctPeak = percentOfPeak(r.gflops, p.threads, [bestPeak]);
}

// ---------------------------------------------------------------------------------------------
// Memory in a child process: the bench's own script, run again with `--mem-child <json spec>`.

/** What one call adds in a fresh process: the first call, and a second right after. */
export interface CallRss {
  first: RssDelta;
  second: RssDelta;
}

const NAN_RSS: RssDelta = { beforeMiB: NaN, peakMiB: NaN, addedMiB: NaN, keptMiB: NaN, exact: false };

/** Touches the runner's inputs and output, measures two calls' added RSS, releases the runner. */
export async function runnerRss(runner: Runner): Promise<CallRss> {
  for (const a of [...runner.arrays, runner.out]) touch(a);
  const first = await measureRss(() => runner.run());
  const second = await measureRss(() => runner.run());
  await runner.release();
  return { first, second };
}

/**
 * Runs `node script --mem-child <spec>` (the script calls memChildMain) and returns its result;
 * on failure, `failed(message)` (so one broken measurement does not end the bench).
 */
export async function measureInChild<S, M>(script: string, spec: S, failed: (error: string, nan: RssDelta) => M, timeoutMs = 300_000): Promise<M> {
  try {
    return await runJsonChild<M>(script, ['--mem-child', JSON.stringify(spec)], timeoutMs);
  } catch (err) {
    return failed((err as Error).message, NAN_RSS);
  }
}

/**
 * The child's side: when this process was started with `--mem-child <spec>`, runs `handler(spec)`,
 * prints its result as one JSON line and returns true (the script should then do nothing else).
 */
export function memChildMain<S, M>(handler: (spec: S) => Promise<M>): boolean {
  const at = process.argv.indexOf('--mem-child');
  if (at < 0) return false;
  handler(JSON.parse(process.argv[at + 1]) as S).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
  return true;
}
