// What else ran on the machine while we measured: CPU time of other processes (from
// /proc/stat minus this process's own time) and hypervisor steal, averaged over an interval.
// On a small VM shared with other work (builds, tests) this says which figures to distrust.
import * as fs from 'fs';
import * as os from 'os';

interface Sample {
  busy: number; // machine-wide non-idle jiffies (user+nice+system+irq+softirq)
  steal: number;
  total: number; // all jiffies, all CPUs
  own: number; // this process (all threads, plus waited-for children)
}

function sample(): Sample | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
    const st = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
    // Fields after the command: state is f[0], utime f[11], stime f[12], cutime f[13], cstime f[14].
    return {
      busy: user + nice + system + irq + softirq,
      steal: steal || 0,
      total: user + nice + system + idle + iowait + irq + softirq + (steal || 0),
      own: f[11] + f[12] + f[13] + f[14],
    };
  } catch {
    return null;
  }
}

export interface LoadReport {
  /** Average number of CPUs busy with other processes during the interval. */
  otherCpus: number;
  /** Hypervisor steal, percent of all CPU time in the interval. */
  stealPct: number;
  seconds: number;
}

/** Measures foreign load between start() and stop(); null where /proc is unavailable. */
export class LoadMeter {
  private s0: Sample | null = null;
  private t0 = 0;

  start(): void {
    this.s0 = sample();
    this.t0 = performance.now();
  }

  stop(): LoadReport | null {
    const s1 = sample();
    if (!this.s0 || !s1) return null;
    const total = s1.total - this.s0.total;
    if (total <= 0) return null;
    const cpus = os.cpus().length;
    const other = Math.max(0, s1.busy - this.s0.busy - (s1.own - this.s0.own));
    return { otherCpus: (other / total) * cpus, stealPct: (100 * (s1.steal - this.s0.steal)) / total, seconds: (performance.now() - this.t0) / 1000 };
  }
}

/**
 * Waits until other processes use less than `maxOtherCpus` over a `windowMs` window, or until
 * `timeoutMs` has passed. Returns the seconds waited and the last window's load (null without /proc).
 */
export async function waitForQuiet(maxOtherCpus: number, timeoutMs: number, windowMs = 500): Promise<{ waitedS: number; last: LoadReport | null }> {
  const t0 = performance.now();
  let last: LoadReport | null = null;
  for (;;) {
    const m = new LoadMeter();
    m.start();
    await new Promise((r) => setTimeout(r, windowMs));
    last = m.stop();
    if (!last || last.otherCpus < maxOtherCpus || performance.now() - t0 >= timeoutMs) break;
  }
  return { waitedS: (performance.now() - t0) / 1000, last };
}
