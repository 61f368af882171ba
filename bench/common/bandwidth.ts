// The machine's memory bandwidth, measured on the spot (a STREAM-like probe): T worker threads at
// once each stream over their own buffers, far larger than the caches, for a fixed time:
//   copy:  dst.set(src)               (memcpy: reads S bytes, writes S bytes; counted as 2·S, as STREAM's Copy)
//   read:  Buffer.compare(a, b), a = b (memcmp of equal buffers: reads 2·S bytes, writes nothing)
// Both run through libc's vectorised routines, so they measure the memory system rather than
// JavaScript. A decode step mostly reads (cached keys and values, weights), so `read` is the closer
// reference; the benches report both and compare against the larger (the stricter reference).
import * as os from 'os';
import { Worker } from 'worker_threads';

export interface BandwidthResult {
  threads: number;
  /** Bytes per buffer per thread. */
  bufferBytes: number;
  /** Best of the rounds, GB/s (1e9 bytes), all threads together. */
  copyGBs: number;
  readGBs: number;
  /** max(copyGBs, readGBs). */
  bestGBs: number;
}

// The worker: allocates its buffers, touches them, then per request streams for `seconds` and
// reports the bytes it moved. Runs as an eval'd script so the probe is one file.
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const n = workerData.bytes;
const a = Buffer.alloc(n, 1), b = Buffer.alloc(n, 1);
const src = new Float64Array(a.buffer, a.byteOffset, n / 8), dst = new Float64Array(b.buffer, b.byteOffset, n / 8);
parentPort.on('message', ({ flags, kind, seconds }) => {
  const f = new Int32Array(flags);
  Atomics.add(f, 1, 1);                 // ready
  Atomics.wait(f, 0, 0);                // go
  const t0 = performance.now();
  let bytes = 0, t = 0;
  do {
    if (kind === 'copy') { dst.set(src); bytes += 2 * n; }
    else { if (Buffer.compare(a, b) !== 0) throw new Error('buffers differ'); bytes += 2 * n; }
    t = performance.now() - t0;
  } while (t < seconds * 1000);
  parentPort.postMessage({ bytes, ms: t });
});
`;

/** Runs `threads` workers together for each of `rounds` rounds of both probes; the best round of each counts. */
export async function measureBandwidth(threads: number, options: { mibPerBuffer?: number; seconds?: number; rounds?: number } = {}): Promise<BandwidthResult> {
  if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const mib = options.mibPerBuffer ?? 128;
  const seconds = options.seconds ?? 0.25;
  const rounds = options.rounds ?? 3;
  const bytes = Math.round(mib * 2 ** 20 / 8) * 8;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes } }));
  try {
    const round = async (kind: 'copy' | 'read'): Promise<number> => {
      const flags = new SharedArrayBuffer(8);
      const f = new Int32Array(flags);
      const done = workers.map(
        (w) =>
          new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
            const onMessage = (x: { bytes: number; ms: number }) => {
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
      for (const w of workers) w.postMessage({ flags, kind, seconds });
      while (Atomics.load(f, 1) < workers.length) await new Promise((r) => setTimeout(r, 1));
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      const res = await Promise.all(done);
      // Aggregate rate: total bytes over the longest worker's time (they start together).
      const total = res.reduce((s, r) => s + r.bytes, 0);
      const ms = Math.max(...res.map((r) => r.ms));
      return total / (ms * 1e6);
    };
    let copy = 0, read = 0;
    for (let i = 0; i < rounds; i++) {
      copy = Math.max(copy, await round('copy'));
      read = Math.max(read, await round('read'));
    }
    return { threads, bufferBytes: bytes, copyGBs: copy, readGBs: read, bestGBs: Math.max(copy, read) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Logical CPUs (the "all cores" thread count of the benches). */
export const allCores = (): number => os.cpus().length;
