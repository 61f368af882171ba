// The project's one seeded pseudo-random generator (mulberry32), so that crossCheck, the demo, the
// benches and the tests draw the same numbers from the same seed. Not cryptographic; not exported
// from the package's entry point.

/** A generator of floats uniform in [0, 1). */
export type Rng = () => number;

// A module-level copy: under jest, code runs in a vm context where every lookup of a global (Math)
// goes through an interceptor, and `Math.imul` in the loop made the tests' data ~40x slower to draw.
const imul = Math.imul;

/** mulberry32 (Tommy Ettinger): 32 bits of state, fast, good enough for test data. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale). */
export function uniform(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
}
