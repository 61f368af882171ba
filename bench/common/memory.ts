// Resident memory of this process, for "how much RSS does one call add".
//
// Linux: writing 5 to /proc/self/clear_refs resets the high-water mark VmHWM to the current
// VmRSS, so   added = VmHWM(after the call) - VmRSS(before the call)   is the peak RSS the call
// itself added on top of what was resident already (inputs and output, allocated and touched by
// the caller). Elsewhere (or if clear_refs is not writable) we fall back to the process-lifetime
// peak (process.resourceUsage().maxRSS), which is an upper bound only when nothing before the
// call peaked higher; `exact` says which one was used.
import * as fs from 'fs';

export interface MemStatus {
  /** Current resident set, KiB. */
  rssKiB: number;
  /** Peak resident set since start or since the last resetPeak(), KiB. */
  hwmKiB: number;
}

export function readMem(): MemStatus {
  try {
    const s = fs.readFileSync('/proc/self/status', 'utf8');
    const get = (k: string) => {
      const m = new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(s);
      return m ? Number(m[1]) : NaN;
    };
    return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM') };
  } catch {
    return { rssKiB: process.memoryUsage().rss / 1024, hwmKiB: process.resourceUsage().maxRSS };
  }
}

let resettable: boolean | undefined;

/** Resets the peak-RSS mark; false when this platform cannot. */
export function resetPeak(): boolean {
  if (resettable === false) return false;
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    resettable = true;
  } catch {
    resettable = false;
  }
  return resettable;
}

export interface RssDelta {
  /** RSS before the call, MiB. */
  beforeMiB: number;
  /** Peak RSS during the call, MiB. */
  peakMiB: number;
  /** peak - before, MiB: what the call added. */
  addedMiB: number;
  /** RSS after the call, minus before, MiB (what the call kept). */
  keptMiB: number;
  /** False when the peak could not be reset (the figure is then an upper bound at best). */
  exact: boolean;
}

const MiB = 1024;

/** Runs `fn` (sync or async) once and reports the RSS it added. */
export async function measureRss(fn: () => unknown): Promise<RssDelta> {
  const exact = resetPeak();
  const before = readMem();
  const r = fn();
  if (r && typeof (r as Promise<unknown>).then === 'function') await r;
  const after = readMem();
  const peak = Math.max(after.hwmKiB, after.rssKiB);
  return {
    beforeMiB: before.rssKiB / MiB,
    peakMiB: peak / MiB,
    addedMiB: (peak - before.rssKiB) / MiB,
    keptMiB: (after.rssKiB - before.rssKiB) / MiB,
    exact,
  };
}
