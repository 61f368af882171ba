// AbortSignal support for the model's async calls: an already-aborted signal rejects at once, an
// abort while native work runs rejects at once too (the job finishes in the background and its
// result is dropped), and between decode steps generation stops. The error is named 'AbortError'.
import { describe } from '../tensor';

/** An Error named 'AbortError' (what fetch and timers/promises reject with); the signal's reason as its cause. */
export function abortError(signal?: AbortSignal): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  if (signal && signal.reason !== undefined) (e as Error & { cause?: unknown }).cause = signal.reason;
  return e;
}

/** undefined, or an AbortSignal (duck-typed: signals from other realms count too); else a TypeError naming it. */
export function checkSignal(name: string, x: unknown): AbortSignal | undefined {
  if (x === undefined) return undefined;
  if (x !== null && typeof x === 'object' && typeof (x as AbortSignal).aborted === 'boolean' && typeof (x as AbortSignal).addEventListener === 'function')
    return x as AbortSignal;
  throw new TypeError(`${name} must be an AbortSignal, got ${describe(x)}`);
}

/** Something to race native promises against; call done() when the operation ends. */
export interface AbortWatch {
  race<T>(p: Promise<T>): Promise<T>;
  done(): void;
}

export function watchAbort(signal: AbortSignal | undefined): AbortWatch {
  if (!signal) return { race: (p) => p, done: () => undefined };
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);  // observed by whichever race sees it
  return {
    race: (p) => Promise.race([p, aborted]),
    done: () => signal.removeEventListener('abort', onAbort),
  };
}
