// The machine's condition around one bench point (shared by the benches): wait for other processes
// to leave the CPUs, one-thread FMA probes before and after, the core-sharing probe for T >= 2, and
// the table cells / notes that say which figures to distrust.
import { native } from '../../lib/native';
import { progress } from './cli';
import { CoreProbe, CoreProbeResult, oneThreadPeak } from './fma';
import { LoadReport, waitForQuiet } from './load';
import { describeMachine, MachineInfo } from './machine';
import { ortVersion } from './ort';

/** Other processes using more than this many CPUs on average during a point make it 'busy'. */
export const BUSY_CPUS = 0.1;
/** A one-thread FMA probe below this fraction of the peak marks a slow-core period. */
export const SLOW_FMA = 0.85;

/** What a point records about the machine (fields of the benches' Point objects). */
export interface PointConditions {
  N: number;
  threads: number;
  /** Seconds spent waiting for other processes to quiet down before the point. */
  waitedS: number;
  /** One-thread FMA GFLOP/s just before and after the point. */
  fma1Before?: number;
  fma1After?: number;
  probeBefore?: CoreProbeResult;
  probeAfter?: CoreProbeResult;
  /** Two (or more) threads got less than 0.8·T times one thread's FMA throughput (before or after). */
  sharedCores: boolean | null;
  /** Other processes' CPU use and steal during the timed calls. */
  load: LoadReport | null;
}

/** One CoreProbe per thread count >= 2, created on first use. */
export class ProbePool {
  private readonly probes = new Map<number, CoreProbe>();

  get(threads: number): CoreProbe | undefined {
    if (threads < 2) return undefined;
    let p = this.probes.get(threads);
    if (!p) this.probes.set(threads, (p = new CoreProbe(threads)));
    return p;
  }

  async close(): Promise<void> {
    for (const p of this.probes.values()) await p.close();
    this.probes.clear();
  }
}

/** Waits up to maxWaitS for other processes to use < BUSY_CPUS; returns the seconds waited. */
export async function waitForQuietPoint(tag: string, maxWaitS: number): Promise<number> {
  if (!(maxWaitS > 0)) return 0;
  const w = await waitForQuiet(BUSY_CPUS, maxWaitS * 1000);
  if (w.last && w.last.otherCpus >= BUSY_CPUS)
    progress(`${tag} machine still busy after ${w.waitedS.toFixed(0)} s (other processes: ${w.last.otherCpus.toFixed(2)} CPUs); measuring anyway`);
  else if (w.waitedS > 1) progress(`${tag} waited ${w.waitedS.toFixed(0)} s for other processes to quiet down`);
  return w.waitedS;
}

/** The probe before a point: fills fma1Before (and probeBefore for T >= 2). */
export async function probeBefore(tag: string, point: PointConditions, probe: CoreProbe | undefined): Promise<void> {
  if (probe && point.threads > 1) {
    point.probeBefore = await probe.probe(0.2);
    point.fma1Before = point.probeBefore.one;
    progress(
      `${tag} core probe: one thread ${point.fma1Before.toFixed(0)} GFLOP/s, ${point.threads} threads = ${point.probeBefore.scaling.toFixed(2)}x one` +
        `${point.probeBefore.shared ? '  (SHARED CORES)' : ''}`,
    );
  } else {
    point.fma1Before = native.measureFmaPeak(0.2);
    progress(`${tag} core probe: one thread ${point.fma1Before.toFixed(0)} GFLOP/s`);
  }
}

/** The probe after a point: fills fma1After (and probeAfter, sharedCores for T >= 2). */
export async function probeAfter(tag: string, point: PointConditions, probe: CoreProbe | undefined): Promise<void> {
  if (probe && point.threads > 1) {
    point.probeAfter = await probe.probe(0.2);
    point.fma1After = point.probeAfter.one;
    if (point.probeAfter.shared) progress(`${tag} core probe after: ${point.probeAfter.scaling.toFixed(2)}x (SHARED CORES)`);
  } else {
    point.fma1After = native.measureFmaPeak(0.2);
  }
  if (point.probeBefore) point.sharedCores = point.probeBefore.shared || (point.probeAfter?.shared ?? false);
}

/** Lower of the worse two-thread scalings measured around the point (NaN without probes). */
export function coreScaling(p: PointConditions): number {
  const s = [p.probeBefore?.scaling, p.probeAfter?.scaling].filter((x): x is number => x !== undefined);
  return s.length ? Math.min(...s) : NaN;
}

/** Table cells 'other', 'fma1', 'cores' of a point, against the run's one-thread peak. */
export function conditionCells(p: PointConditions, peak1: number): string[] {
  const cells = [p.load ? `${p.load.otherCpus.toFixed(2)}${p.load.otherCpus > BUSY_CPUS ? '!' : ''}` : '-'];
  const f1 = Math.min(p.fma1Before ?? NaN, p.fma1After ?? NaN) / peak1;
  cells.push(Number.isFinite(f1) ? `${(100 * f1).toFixed(0)}%${f1 < SLOW_FMA ? '!' : ''}` : '-');
  cells.push(p.sharedCores === null ? '-' : `${coreScaling(p).toFixed(2)}x${p.sharedCores ? '!' : ''}`);
  return cells;
}

/** Notes explaining the condition columns. */
export function conditionColumnNotes(): string[] {
  return [
    "cores = T threads of FMA at once vs one thread alone, the worse of a probe before and after the point ('!' below 0.8·T: shared cores).",
    `fma1 = one-thread FMA probe just before/after the point (the lower) vs that peak ('!' below ${100 * SLOW_FMA}%: the core was slower than usual, e.g. a busy sibling hyperthread).`,
    `other = CPUs other processes used on average during the timed calls ('!' above ${BUSY_CPUS}: the point ran on a busy machine).`,
  ];
}

/** Notes listing the points measured on a busy machine, with steal, or on shared cores. */
export function conditionWarnings(points: readonly PointConditions[]): string[] {
  const notes: string[] = [];
  const busy = points.filter((p) => p.load && p.load.otherCpus > BUSY_CPUS);
  if (busy.length) notes.push(`Busy machine during: ${busy.map((p) => `N=${p.N} T=${p.threads} (${p.load!.otherCpus.toFixed(2)} CPUs)`).join(', ')}.`);
  const steal = points.filter((p) => p.load && p.load.stealPct > 1);
  if (steal.length) notes.push(`Hypervisor steal > 1% during: ${steal.map((p) => `N=${p.N} T=${p.threads} (${p.load!.stealPct.toFixed(1)}%)`).join(', ')}.`);
  const shared = points.filter((p) => p.sharedCores);
  if (shared.length) notes.push(`Shared cores during: ${shared.map((p) => `N=${p.N} T=${p.threads}`).join(', ')} — their multi-thread figures understate the machine.`);
  return notes;
}

/** What the benches of one run share: the FMA peak, the machine, the core probes. */
export interface BenchContext {
  /** One-thread FMA GFLOP/s measured at startup (best of 3 × 0.3 s). */
  startupPeak: number;
  /** Best one-thread FMA rate seen so far (startup and every per-point probe); %peak uses it. */
  bestPeak: number;
  machine: MachineInfo;
  probes: ProbePool;
}

/**
 * Measures the one-thread FMA peak and describes the machine (progress on stderr); `withOrt` false
 * leaves onnxruntime-node unloaded (the machine then names no ORT version).
 */
export function createContext(withOrt = true): BenchContext {
  progress('measuring the one-thread FMA peak ...');
  const peak1 = oneThreadPeak(0.3, 3);
  return { startupPeak: peak1, bestPeak: peak1, machine: describeMachine(peak1, withOrt ? ortVersion() : null), probes: new ProbePool() };
}

export async function closeContext(ctx: BenchContext): Promise<void> {
  await ctx.probes.close();
}

/** Folds a point's probes into the run's best one-thread peak. */
export function notePeak(ctx: BenchContext, p: PointConditions): void {
  ctx.bestPeak = Math.max(ctx.bestPeak, p.fma1Before ?? 0, p.fma1After ?? 0);
}

export const FMA_PEAK_RULE = 'max of the startup probes (3 x 0.3 s) and every per-point one-thread probe (0.2 s)';
