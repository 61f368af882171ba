// The machine's FMA peak, measured on the spot (what %peak divides by), and a probe that tells whether
// T threads currently get T cores' worth of FMA throughput (on small VMs two vCPUs sometimes
// share one physical core for a while).
import * as path from 'path';
import { Worker } from 'worker_threads';
import { native } from '../../lib/native';
import { sleep } from './stats';

/** One-thread peak FMA GFLOP/s of the active ISA: the best of `tries` runs of `seconds` each. */
export function oneThreadPeak(seconds = 0.3, tries = 3): number {
  let best = 0;
  for (let i = 0; i < tries; i++) best = Math.max(best, native.measureFmaPeak(seconds));
  return best;
}

/** The attention kernel's Q·Kᵀ and P·V micro-kernels, one thread, operands in L1: GFLOP/s. */
export interface MicrokernelRates {
  qk: number;
  pv: number;
}

/** native.measureMicrokernels: each rate the best of `tries` runs of `seconds` per micro-kernel. */
export function microkernelRates(seconds = 0.2, tries = 3): MicrokernelRates {
  const best = { qk: 0, pv: 0 };
  for (let i = 0; i < tries; i++) {
    const r = native.measureMicrokernels(seconds);
    best.qk = Math.max(best.qk, r.qk);
    best.pv = Math.max(best.pv, r.pv);
  }
  return best;
}

export interface CoreProbeResult {
  threads: number;
  /** One thread alone, GFLOP/s. */
  one: number;
  /** Each of `threads` threads running at the same time, GFLOP/s. */
  each: number[];
  /** sum(each) / one: ~threads when every thread has its own core. */
  scaling: number;
  /** scaling < threshold·threads (default 0.8, i.e. < 1.6x for two threads). */
  shared: boolean;
}

/** Keeps `threads` worker threads (each with the addon loaded) ready for quick probes. */
export class CoreProbe {
  private readonly workers: Worker[];

  constructor(readonly threads: number, readonly threshold = 0.8) {
    const script = path.join(__dirname, 'fma-worker.js');
    this.workers = Array.from({ length: threads }, () => new Worker(script));
    for (const w of this.workers) w.unref();
  }

  /** One thread alone for `seconds`, then all threads together for `seconds`. */
  async probe(seconds = 0.2): Promise<CoreProbeResult> {
    const one = native.measureFmaPeak(seconds);
    const flags = new SharedArrayBuffer(8);
    const f = new Int32Array(flags);
    const results = this.workers.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          // Remove the other listener when one fires: a probe per bench point would otherwise pile
          // 'error' listeners on each worker (MaxListenersExceededWarning after ten points).
          const onMessage = (x: number) => {
            w.off('error', onError);
            resolve(x);
          };
          const onError = (e: Error) => {
            w.off('message', onMessage);
            reject(e);
          };
          w.once('message', onMessage);
          w.once('error', onError);
        }),
    );
    for (const w of this.workers) w.postMessage({ flags, seconds });
    while (Atomics.load(f, 1) < this.workers.length) await sleep(1);
    Atomics.store(f, 0, 1);
    Atomics.notify(f, 0);
    const each = await Promise.all(results);
    const scaling = each.reduce((a, b) => a + b, 0) / one;
    return { threads: this.threads, one, each, scaling, shared: scaling < this.threshold * this.threads };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
