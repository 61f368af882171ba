// Cancellation of async calls: every `…Async` entry point takes `signal` (an AbortSignal). An
// already-aborted signal rejects at once; aborting mid-call sets the call's native cancel token,
// the kernels stop within a tile or an item (native/runtime/cancel.h), the call's memory is freed
// and its threads go back to the budget, and the promise rejects with an Error named 'AbortError'.
import type { AllocatedOutputs, NativeCancelToken, WithAllocatedOut } from '../binding';
import { native } from './native';
import { ADDON_OUT, describe } from './tensor';

/** The option every async call accepts on top of its sync form's options. */
export interface AbortOptions {
  /** Aborting it stops the call; the promise then rejects with an Error whose name is 'AbortError'. */
  signal?: AbortSignal;
}

/** The error an aborted call rejects with (as Node's own APIs: name 'AbortError', code 'ABORT_ERR', cause = signal.reason). */
export function abortError(signal?: AbortSignal): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  // (Set after construction: Error's options argument needs the ES2022 typings.)
  if (signal && signal.reason !== undefined) (e as Error & { cause?: unknown }).cause = signal.reason;
  (e as Error & { code: string }).code = 'ABORT_ERR';
  return e;
}

function isAbortSignal(x: unknown): x is AbortSignal {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Partial<AbortSignal>;
  return typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function';
}

/**
 * Takes `signal` out of an async call's options: returns the other options (for the sync form's
 * validation) and the signal. A signal that is not an AbortSignal is a TypeError; an aborted one
 * throws the AbortError now, before any work or allocation.
 */
export function takeSignal<T extends object>(name: string, options: (T & AbortOptions) | undefined): [T | undefined, AbortSignal | undefined] {
  if (options === null || typeof options !== 'object' || Array.isArray(options) || !('signal' in options)) return [options, undefined];
  const { signal, ...rest } = options;
  if (signal === undefined) return [rest as T, undefined];
  if (!isAbortSignal(signal)) throw new TypeError(`${name}.signal must be an AbortSignal, got ${describe(signal)}`);
  if (signal.aborted) throw abortError(signal);
  return [rest as T, signal];
}

/**
 * Runs a native async call with a cancel token tied to `signal` (none without a signal). Rejects
 * with the AbortError whenever the signal aborted before the call settled (even if the native work
 * had just finished); the listener is removed when it settles.
 */
export async function runCancellable<A extends object, R = void>(signal: AbortSignal | undefined, args: A,
                                                                  call: (args: A & { cancel?: NativeCancelToken }) => Promise<R>): Promise<R> {
  if (signal === undefined) return call(args);
  if (signal.aborted) throw abortError(signal);
  const cancel = native.newCancelToken();
  const onAbort = () => native.cancelToken(cancel);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await call({ ...args, cancel });
    // Aborted before the promise settled, though the work got done: still an abort, as callers expect.
    if (signal.aborted) throw abortError(signal);
    return r;
  } catch (e) {
    if (signal.aborted) throw abortError(signal);
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * runCancellable for a call whose float32 output is `out`; returns that output: args.out itself (the
 * caller's, filled in place or copied back) or, when args.out is ADDON_OUT (the caller gave none), the
 * array the addon allocated and wrote in place (`allocateOutputs`, binding.d.ts WithAllocatedOut): the
 * main thread then neither zeroes a private copy nor copies it back into a fresh array. run = false
 * (nothing to compute): no call, and an absent output is a new empty array.
 */
export async function runCancellableOut<A extends { out: Float32Array }>(
  signal: AbortSignal | undefined, args: A, call: (args: A & { cancel?: NativeCancelToken }) => Promise<unknown>, run = true,
): Promise<Float32Array> {
  if (!run) return args.out === ADDON_OUT ? new Float32Array(0) : args.out;
  if (args.out !== ADDON_OUT) {
    await runCancellable(signal, args, call);
    return args.out;
  }
  const { out: _absent, ...rest } = args;
  const request: WithAllocatedOut<A> = { ...rest, allocateOutputs: true };
  // `call` is typed for the entry point's own arguments, out included: the addon takes either form.
  const made = (await runCancellable(signal, request as unknown as A, call)) as AllocatedOutputs | undefined;
  if (!made?.out) throw new Error('global-attention: the addon did not hand over the output it allocated');
  return made.out;
}
