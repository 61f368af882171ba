#!/usr/bin/env node
// worker_threads scenarios, each meant to run in its own child process (workers.test.ts) so that
// a crash or a hang fails a test instead of killing jest. Prints "OK <mode> ..." on success.
//
//   node workers-runner.js parallel     4 workers load the addon at once and compute in parallel
//                                       (sync and async, every kind), each result bitwise equal
//                                       to the main thread's, while the main thread computes too
//   node workers-runner.js terminate    workers terminated with long async calls in flight, half
//                                       of them on SharedArrayBuffers (and
//                                       in the middle of a sync call), 12 rounds; then the main
//                                       thread and a fresh worker still compute correctly
//   node workers-runner.js exit         process.exit(0) from the main thread with calls in flight
//                                       in it and in 2 workers: exit code 0, no crash, no hang
//   node workers-runner.js worker-exit  process.exit() inside a worker with calls in flight: only
//                                       the worker ends; the process carries on
//   node workers-runner.js drain        the script simply ends with async calls pending: node
//                                       waits for them, and their results are right
//   node workers-runner.js abort        3 workers and the main thread each run 200 abort/restart
//                                       cycles (AbortSignal) at once: every call rejects with an
//                                       AbortError or gives the reference result; then a worker is
//                                       terminated with aborted calls still unwinding
//   node workers-runner.js all          every mode above, one after another (for the sanitizers)
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { loadLib } = require('./load-lib');
const U = require('./util');

const { T } = U;
const CFG = { d_model: 16, d_kv: 4, num_heads: 4, local_radius: 3, global_block_size: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 32 };
const weights = (s) => ({
  'q.weight': T([16, 16], s), 'k.weight': T([16, 16], s + 1), 'v.weight': T([16, 16], s + 2), 'o.weight': T([16, 16], s + 3),
  'relative_attention_bias.weight': T([8, 4], s + 4), 'global_relative_attention_bias.weight': T([8, 4], s + 5), 'global_input_layer_norm.weight': T([16], s + 6),
});

/** The same work list in every thread: deterministic inputs from `seed`, results as plain arrays. */
async function work(lib, seed) {
  const out = {};
  const q = T([2, 4, 67, 16], seed), k = T([2, 2, 67, 16], seed + 1), v = T([2, 2, 67, 16], seed + 2);
  out.dense = lib.attention(q, k, v, { causal: true }).data;
  out.denseAsync = (await lib.attentionAsync(q, k, v, { causal: true })).data;
  const tq = T([1, 2, 90, 8], seed + 3), tk = T([1, 2, 90, 8], seed + 4), tv = T([1, 2, 90, 8], seed + 5), gk = T([1, 2, 11, 8], seed + 6), gv = T([1, 2, 11, 8], seed + 7);
  out.tglobal = (await lib.transientGlobalAttentionAsync(tq, tk, tv, gk, gv, { localRadius: 4, globalBlockSize: 8 })).data;
  out.block = lib.blockGlobalAttention(tq, tk, tv, { blockSize: 9 }).data;
  out.linear = (await lib.linearAsync(T([40, 16], seed + 8), T([24, 16], seed + 9))).data;
  const layer = new lib.LongT5TransientGlobalAttention(CFG, weights(seed + 10));
  const h = T([2, 50, 16], seed + 11);
  const mask = Uint8Array.from({ length: 100 }, (_, i) => (i < 95 ? 1 : 0));
  out.layer = layer.forward(h, mask).data;
  const many = await Promise.all(Array.from({ length: 8 }, () => layer.forwardAsync(h, mask)));
  many.forEach((r, i) => (out[`layerAsync${i}`] = r.data));
  out.ids = lib.globalBlockIds(mask, 4).blockIds;
  return out;
}

function sameResults(a, b) {
  const keys = Object.keys(a);
  if (keys.join() !== Object.keys(b).join()) return `keys differ: ${keys} vs ${Object.keys(b)}`;
  for (const k of keys) {
    const d = U.diff(a[k], b[k], k);
    if (d) return d;
  }
  return '';
}

/** n abort/restart cycles of a mid-sized call: counts of aborted and correct results; throws on anything else. */
async function abortCycles(lib, seed, n) {
  const q = T([1, 4, 256, 32], seed), k = T([1, 4, 256, 32], seed + 1), v = T([1, 4, 256, 32], seed + 2);
  const ref = lib.attention(q, k, v).data;
  const counts = { aborted: 0, done: 0 };
  for (let i = 0; i < n; i++) {
    const ac = new AbortController();
    const p = lib.attentionAsync(q, k, v, { signal: ac.signal });
    if (i % 3 === 0) ac.abort();
    else setTimeout(() => ac.abort(), i % 3);
    try {
      const d = U.diff((await p).data, ref);
      if (d) throw new Error(`abort cycle ${i}: result differs: ${d}`);
      counts.done++;
    } catch (e) {
      if (!e || e.name !== 'AbortError') throw e;
      counts.aborted++;
    }
  }
  return counts;
}

// ------------------------------------------------------------------------------------------
// worker side

if (!isMainThread) {
  const lib = loadLib();
  const { mode, seed } = workerData;
  (async () => {
    if (mode === 'compute') {
      parentPort.postMessage({ ready: true, isa: lib.info().isa });
      const results = await work(lib, seed);
      parentPort.postMessage({ results });
    } else if (mode === 'busy') {
      // keep long async calls in flight until terminated; and sometimes sit in a long sync call
      const big = () => [T([1, 8, 768, 64], seed), T([1, 8, 768, 64], seed + 1), T([1, 8, 768, 64], seed + 2)];
      const [q, k, v] = big();
      // Every other call on SharedArrayBuffers, which async calls read and write in place: the
      // terminate must not free them under a running call (ASan runs this too).
      const onShared = (t) => {
        const data = new Float32Array(new SharedArrayBuffer(t.data.byteLength));
        data.set(t.data);
        return { data, dims: t.dims };
      };
      const [qs, ks, vs] = [q, k, v].map(onShared);
      const inflight = new Set();
      parentPort.postMessage({ ready: true });
      for (let i = 0; ; i++) {
        const shared = i % 2 === 1;
        const out = shared ? new Float32Array(new SharedArrayBuffer(q.data.byteLength)) : new Float32Array(q.data.length);
        const p = (shared ? lib.attentionAsync(qs, ks, vs, { out }) : lib.attentionAsync(q, k, v, { out })).then(() => inflight.delete(p));
        inflight.add(p);
        if (i % 5 === 4) lib.attention(q, k, v);  // a sync call the terminate may land in
        if (inflight.size >= 16) await Promise.race(inflight);
        if (i === 3) parentPort.postMessage({ inFlight: inflight.size });
      }
    } else if (mode === 'abort') {
      parentPort.postMessage({ ready: true });
      parentPort.postMessage({ abort: await abortCycles(lib, seed, 200) });
      // then leave aborted calls unwinding for the terminate
      const q = T([1, 8, 768, 64], seed);
      for (let i = 0; i < 8; i++) {
        const ac = new AbortController();
        lib.attentionAsync(q, q, q, { signal: ac.signal }).catch(() => {});
        setTimeout(() => ac.abort(), i);
      }
      parentPort.postMessage({ unwinding: true });
      setInterval(() => {}, 1000);  // stay alive until terminated
    } else if (mode === 'exit-inside') {
      const q = T([1, 8, 512, 64], seed);
      for (let i = 0; i < 8; i++) lib.attentionAsync(q, q, q);
      parentPort.postMessage({ ready: true });
      setTimeout(() => process.exit(3), 20);
    }
  })().catch((e) => {
    parentPort.postMessage({ error: U.describeError(e) });
  });
  return;
}

// ------------------------------------------------------------------------------------------
// main side

const file = __filename;
const startWorker = (mode, seed) => new Worker(file, { workerData: { mode, seed } });
const message = (w, pred = () => true) => new Promise((resolve, reject) => {
  const onMsg = (m) => {
    if (m.error) return reject(new Error(`worker: ${m.error}`));
    if (pred(m)) {
      w.off('message', onMsg);
      resolve(m);
    }
  };
  w.on('message', onMsg);
  w.once('error', reject);
});
const ok = (s) => console.log(`OK ${s}`);

async function parallel() {
  const lib = loadLib();
  const seeds = [11, 22, 33, 44];
  const t0 = Date.now();
  const workers = seeds.map((s) => startWorker('compute', s));
  const exited = workers.map((w) => new Promise((r) => w.once('exit', r)));
  const results = workers.map((w) => message(w, (m) => m.results).then((m) => m.results));
  // the main thread computes meanwhile (its own inputs and the workers' references)
  const refs = [];
  for (const s of seeds) refs.push(await work(lib, s));
  const got = await Promise.all(results);
  const codes = await Promise.all(exited);
  if (codes.some((c) => c !== 0)) throw new Error(`worker exit codes ${codes}`);
  got.forEach((g, i) => {
    const d = sameResults(g, refs[i]);
    if (d) throw new Error(`worker ${i} (seed ${seeds[i]}) differs from the main thread: ${d}`);
  });
  ok(`parallel: 4 workers loaded the addon and matched the main thread bitwise (${Date.now() - t0} ms)`);
}

async function terminate() {
  const lib = loadLib();
  for (let round = 0; round < 12; round++) {
    const w = startWorker('busy', round);
    await message(w, (m) => m.inFlight);
    await new Promise((r) => setTimeout(r, 5 + (round % 4) * 15));
    const code = await w.terminate();
    if (code !== 1) throw new Error(`round ${round}: terminate() gave exit code ${code}`);
  }
  // still healthy: the main thread and a fresh worker compute the same as before
  const ref = await work(lib, 5);
  const w = startWorker('compute', 5);
  const got = (await message(w, (m) => m.results)).results;
  const d = sameResults(got, ref);
  if (d) throw new Error(`after the terminations a fresh worker differs: ${d}`);
  ok('terminate: 12 workers terminated with 16 long async calls in flight; main thread and a fresh worker still correct');
}

async function exitWithCallsInFlight() {
  const lib = loadLib();
  const w1 = startWorker('busy', 1), w2 = startWorker('busy', 2);
  await Promise.all([message(w1, (m) => m.inFlight), message(w2, (m) => m.inFlight)]);
  const q = T([1, 8, 768, 64], 3);
  for (let i = 0; i < 16; i++) lib.attentionAsync(q, q, q);
  ok('exit: calling process.exit(0) with 16 calls in flight here and ~16 in each of 2 workers');
  process.exit(0);
}

async function workerExit() {
  const lib = loadLib();
  const w = startWorker('exit-inside', 9);
  const code = await new Promise((resolve) => w.once('exit', resolve));
  if (code !== 3) throw new Error(`worker exit code ${code}, expected 3`);
  const r = await lib.attentionAsync(T([1, 2, 10, 4], 1), T([1, 2, 10, 4], 2), T([1, 2, 10, 4], 3));
  if (!r.data.every(Number.isFinite)) throw new Error('main thread result not finite');
  ok('worker-exit: a worker called process.exit() with 8 calls in flight; the process carried on');
}

function drain() {
  const lib = loadLib();
  const q = T([1, 4, 300, 32], 1), k = T([1, 4, 300, 32], 2), v = T([1, 4, 300, 32], 3);
  const ref = lib.attention(q, k, v);
  let settled = 0;
  for (let i = 0; i < 24; i++)
    lib.attentionAsync(q, k, v).then((r) => {
      const d = U.diff(r.data, ref.data);
      if (d) {
        console.log(`FAIL drain: ${d}`);
        process.exitCode = 1;
      }
      if (++settled === 24) ok('drain: the script ended with 24 calls pending; node waited for all, all correct');
    });
  process.on('exit', () => {
    if (settled !== 24) {
      console.log(`FAIL drain: only ${settled} of 24 calls settled before exit`);
      process.exitCode = 1;
    }
  });
}

async function abortMode() {
  const lib = loadLib();
  const workers = [1, 2, 3].map((s) => startWorker('abort', s));
  const results = workers.map((w) => message(w, (m) => m.abort).then((m) => m.abort));
  const unwinding = workers.map((w) => message(w, (m) => m.unwinding));
  const mine = await abortCycles(lib, 9, 200);
  const theirs = await Promise.all(results);
  for (const c of [mine, ...theirs]) if (c.aborted + c.done !== 200 || c.aborted < 60) throw new Error(`abort cycles: ${JSON.stringify(c)}`);
  await Promise.all(unwinding);
  const codes = await Promise.all(workers.map((w) => w.terminate()));
  if (codes.some((c) => c !== 1)) throw new Error(`terminate() exit codes ${codes}`);
  const again = await abortCycles(lib, 10, 20);
  ok(`abort: 4 threads x 200 abort/restart cycles (${[mine, ...theirs].map((c) => c.aborted).join('/')} aborted, the rest correct); workers terminated while aborted calls unwound; ${again.done + again.aborted} more cycles after`);
}

const MODES = { parallel, terminate, exit: exitWithCallsInFlight, 'worker-exit': workerExit, drain, abort: abortMode };

async function main() {
  const mode = process.argv[2];
  if (mode === 'all') {
    // each mode in its own child process (exit ends the process by design)
    const { spawnSync } = require('child_process');
    let failed = 0;
    for (const m of Object.keys(MODES)) {
      const r = spawnSync(process.execPath, [file, m], { encoding: 'utf8', timeout: 120_000, env: process.env });
      process.stdout.write(r.stdout);
      const good = r.status === 0 && r.stdout.includes(`OK ${m}`);
      if (!good) {
        failed++;
        console.log(`FAIL ${m}: status ${r.status} signal ${r.signal}\n${(r.stderr || '').slice(-3000)}`);
      }
    }
    process.exitCode = failed ? 1 : 0;
    return;
  }
  const f = MODES[mode];
  if (!f) throw new Error(`unknown mode ${mode}; one of ${Object.keys(MODES).join(', ')}, all`);
  await f();
}

main().catch((e) => {
  console.log(`FAIL ${process.argv[2]}: ${U.describeError(e)}\n${e.stack}`);
  process.exit(1);
});
