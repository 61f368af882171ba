// A way for tests to force a full garbage collection: node --expose-gc, else V8's flag set at run
// time, else none (callers then test what they can without it).
import * as v8 from 'v8';
import * as vm from 'vm';

export function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc');
    if (typeof fn === 'function') return fn;
  } catch {
    /* not available */
  }
  return undefined;
}
