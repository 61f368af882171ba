// Process-wide runtime facts and knobs: info(), setThreads(), setIsa().
import * as fs from 'fs';
import * as path from 'path';
import type { NativeReducedPrecisionCpu } from '../binding';
import { native } from './native';
import { checkSize } from './tensor';

export interface Info {
  /** Package version. */
  version: string;
  /** SIMD instruction set the kernels run on: 'scalar' | 'avx2' | 'avx512' | 'neon'. */
  isa: string;
  /** Every ISA this CPU and build can run (for setIsa). */
  availableIsas: string[];
  /** float32 lanes per vector of the active ISA. */
  vectorWidth: number;
  /** Thread budget shared by all calls (setThreads). */
  threads: number;
  hardwareThreads: number;
  /** Whether threads come from OpenMP: false (the library runs its own helper-thread pool, runtime/parallel.cc). */
  openmp: boolean;
  arch: string;
  platform: string;
  /** Set when GLOBAL_ATTENTION_ISA named an ISA that is not available here. */
  isaOverrideError?: string;
  /** Native reduced-precision kernel sets this machine offers, e.g. ['avx512bf16'] (lib/precision.ts). */
  reducedPrecision: string[];
  /** What the 16-bit kernels run on now: a native set, several joined by '+' (e.g. 'neonbf16+neonfp16'), or 'emulated' (setReducedPrecisionIsa). */
  reducedPrecisionIsa: string;
  /** The CPU's reduced-precision features, detected at run time (AMX: with the OS permission request). */
  reducedPrecisionCpu: NativeReducedPrecisionCpu;
  /** Set when GLOBAL_ATTENTION_REDUCED_PRECISION named something not available here. */
  reducedPrecisionOverrideError?: string;
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    let dir = __dirname;
    version = 'unknown';
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p)) {
        version = JSON.parse(fs.readFileSync(p, 'utf8')).version as string;
        break;
      }
    }
  }
  return version;
}

export function info(): Info {
  return { version: packageVersion(), platform: process.platform, ...native.info() };
}

/** Sets the thread budget all calls share (0 = all hardware threads). Returns the new budget. */
export function setThreads(n: number): number {
  return native.setThreads(checkSize('threads', n, { min: 0, max: 65536 }));
}

/**
 * Forces an ISA (one of info().availableIsas, or a native reduced-precision set of info().reducedPrecision,
 * meaning the ISA it extends with that set: lib/precision.ts); the environment variable GLOBAL_ATTENTION_ISA
 * does the same at load.
 */
export function setIsa(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`isa must be a string, got ${typeof name}`);
  if (!native.info().availableIsas.includes(name) && !native.info().reducedPrecision.includes(name))
    throw new RangeError(`isa '${name}' is not available here (available: ${native.info().availableIsas.join(', ')})`);
  return native.setIsa(name);
}
