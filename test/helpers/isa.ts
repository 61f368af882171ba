// Running a test body under each ISA this CPU offers, restoring the active one afterwards.
import { info, setIsa } from '../../lib/index';

/** Every ISA info() reports as runnable here (always includes 'scalar'). */
export const availableIsas = (): string[] => info().availableIsas.slice();

/** Runs fn with `isa` active and switches back to the previously active ISA, even on failure. */
export function withIsa<T>(isa: string, fn: () => T): T {
  const before = info().isa;
  setIsa(isa);
  try {
    return fn();
  } finally {
    setIsa(before);
  }
}

/** Async form of withIsa. Callers must not run other ISA-sensitive work concurrently. */
export async function withIsaAsync<T>(isa: string, fn: () => Promise<T>): Promise<T> {
  const before = info().isa;
  setIsa(isa);
  try {
    return await fn();
  } finally {
    setIsa(before);
  }
}
