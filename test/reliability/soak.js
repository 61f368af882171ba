#!/usr/bin/env node
// Soak: many mixed sync/async calls of every kind, at most 64 in flight, every result checked
// against a reference computed once per distinct input; memory must not grow and the event loop
// must stay responsive while long async calls run.
//
//   node --expose-gc test/reliability/soak.js [--calls 10000] [--in-flight 64] [--seed 1]
//        [--warmup N] [--long N (long async calls in phase 4; 0 skips it)] [--no-rss-check]
//        [--no-delay-check] [--json FILE]
//
// Phases:
//   1. references: each distinct input computed once (sync, one thread);
//   2. warm-up: 20% of the calls (at least 1500; --warmup N);
//   3. soak: the remaining calls, a random mix of every entry point, sync and async (async ones
//      kept <= in-flight at once), some with a preallocated `out`, some with byteOffset views;
//      every result compared bitwise with its reference; RSS sampled (after a full GC) at the end
//      of warm-up and at the end: growth must stay under 5 %;
//   4. event-loop delay: long async calls only (dense N 1024 and TGlobal layers, <= in-flight),
//      perf_hooks.monitorEventLoopDelay running: p99 must stay under 20 ms.
// Prints the figures and a JSON line (`SOAK {...}`); exit code 1 when a check fails.
'use strict';
const fs = require('fs');
const { monitorEventLoopDelay, performance } = require('perf_hooks');
const { loadLib } = require('./load-lib');
const U = require('./util');

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : d;
};
const CALLS = Math.max(2, Number(opt('--calls', 10000)));
const IN_FLIGHT = Number(opt('--in-flight', 64));
const SEED = Number(opt('--seed', 1));
const RSS_LIMIT = 0.05;
const DELAY_P99_LIMIT_MS = 20;
const lib = loadLib();
const { T, rand } = U;

if (typeof global.gc !== 'function') {
  // re-exec with --expose-gc: the RSS figures need a full collection before each sample
  const r = require('child_process').spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...argv], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

// ------------------------------------------------------------------------------------------
// distinct inputs: name -> { sync(args) -> result data, async(args) -> Promise, make() -> args }

const CFG = { d_model: 32, d_kv: 8, num_heads: 4, local_radius: 5, global_block_size: 8, relative_attention_num_buckets: 16, relative_attention_max_distance: 64 };
const layerWeights = (seed) => ({
  'q.weight': T([32, 32], seed), 'k.weight': T([32, 32], seed + 1), 'v.weight': T([32, 32], seed + 2), 'o.weight': T([32, 32], seed + 3),
  'relative_attention_bias.weight': T([16, 4], seed + 4), 'global_relative_attention_bias.weight': T([16, 4], seed + 5), 'global_input_layer_norm.weight': T([32], seed + 6),
});
const layers = {
  tglobal: new lib.LongT5TransientGlobalAttention(CFG, layerWeights(10)),
  local: new lib.LongT5LocalAttention(CFG, layerWeights(20)),
  full: new lib.LongT5Attention(CFG, layerWeights(30)),
};

function kinds() {
  const list = [];
  const add = (name, make, sync, asyncFn, outLen) => list.push({ name, make, sync, async: asyncFn, outLen });
  for (const [i, [B, H, Hk, Nq, Nk, D, Dv]] of [[1, 4, 2, 33, 47, 16, 16], [2, 2, 2, 64, 64, 32, 24], [1, 1, 1, 5, 300, 8, 8]].entries()) {
    add(`attention#${i}`, () => ({ q: T([B, H, Nq, D], i * 3 + 1), k: T([B, Hk, Nk, D], i * 3 + 2), v: T([B, Hk, Nk, Dv], i * 3 + 3), o: { causal: i === 1, keyMask: i === 0 ? Uint8Array.from({ length: B * Nk }, (_, j) => (j % 7 ? 1 : 0)) : undefined } }),
      (a, o) => lib.attention(a.q, a.k, a.v, { ...a.o, ...o }), (a, o) => lib.attentionAsync(a.q, a.k, a.v, { ...a.o, ...o }), B * H * Nq * Dv);
  }
  for (const [i, [N, r, g]] of [[100, 7, 8], [257, 31, 16]].entries()) {
    const G = Math.floor(N / g);
    add(`transientGlobalAttention#${i}`, () => ({
      q: T([1, 2, N, 16], 40 + i), k: T([1, 2, N, 16], 41 + i), v: T([1, 2, N, 16], 42 + i), gk: T([1, 2, G, 16], 43 + i), gv: T([1, 2, G, 16], 44 + i),
      o: { localRadius: r, globalBlockSize: g, relativeAttentionBias: T([32, 2], 45), globalRelativeAttentionBias: T([32, 2], 46), mask: Uint8Array.from({ length: N }, (_, j) => (j < N - 9 ? 1 : 0)) },
    }), (a, o) => lib.transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, { ...a.o, ...o }), (a, o) => lib.transientGlobalAttentionAsync(a.q, a.k, a.v, a.gk, a.gv, { ...a.o, ...o }), 2 * N * 16);
  }
  add('blockGlobalAttention', () => ({ q: T([2, 2, 70, 16], 50), k: T([2, 2, 70, 16], 51), v: T([2, 2, 70, 16], 52), o: { blockSize: 8 } }),
    (a, o) => lib.blockGlobalAttention(a.q, a.k, a.v, { ...a.o, ...o }), (a, o) => lib.blockGlobalAttentionAsync(a.q, a.k, a.v, { ...a.o, ...o }), 2 * 2 * 70 * 16);
  add('linear', () => ({ x: T([3, 50, 64], 60), w: T([48, 64], 61), o: {} }), (a, o) => lib.linear(a.x, a.w, o), (a, o) => lib.linearAsync(a.x, a.w, o), 3 * 50 * 48);
  for (const [name, layer] of Object.entries(layers)) {
    add(`layer:${name}`, () => ({ h: T([2, 90, 32], 70), m: Uint8Array.from({ length: 180 }, (_, j) => (j < 170 ? 1 : 0)), o: {} }),
      (a, o) => layer.forward(a.h, a.m, o), (a, o) => layer.forwardAsync(a.h, a.m, o), 2 * 90 * 32);
  }
  add('globalBlockIds', () => ({ m: { data: Uint8Array.from({ length: 3 * 77 }, (_, j) => (j % 77 < 60 || j < 77 ? 1 : 0)), dims: [3, 77] } }),
    (a) => lib.globalBlockIds(a.m, 6), null, 0);
  add('relativePositionBuckets', () => ({ r: Int32Array.from({ length: 513 }, (_, j) => j - 256) }), (a) => lib.relativePositionBuckets(a.r, 32, 128), null, 0);
  add('globalAggregates', () => ({ h: T([2, 64, 24], 80), o: { normWeight: rand(24, 81) } }), (a) => lib.globalAggregates(a.h, undefined, 8, a.o), null, 0);
  return list;
}

const dataOf = (r) => (r && r.blockIds ? r.blockIds : r && r.data ? r.data : r);

async function main() {
  const KINDS = kinds();
  const keepThreads = lib.info().threads;
  // 1. references, one thread
  lib.setThreads(1);
  const refs = KINDS.map((k) => dataOf(k.sync(k.make(), {})).slice());
  lib.setThreads(keepThreads);
  const inputs = KINDS.map((k) => k.make());

  const rng = U.mulberry32(SEED);
  let mismatches = 0, errors = 0, done = 0, syncCalls = 0, asyncCalls = 0;
  const firstProblems = [];
  const problem = (s) => {
    if (firstProblems.length < 10) firstProblems.push(s);
  };
  const check = (ki, res) => {
    const d = U.diff(dataOf(res), refs[ki]);
    if (d) {
      mismatches++;
      problem(`${KINDS[ki].name}: ${d}`);
    }
    done++;
  };
  const inflight = new Set();
  let peakInFlight = 0;

  async function run(n) {
    for (let c = 0; c < n; c++) {
      const ki = Math.floor(rng() * KINDS.length);
      const k = KINDS[ki];
      const a = inputs[ki];
      const o = {};
      const roll = rng();
      if (k.outLen && roll < 0.25) o.out = new Float32Array(k.outLen);
      else if (k.outLen && roll < 0.35) o.out = new Float32Array(new ArrayBuffer((k.outLen + 3) * 4), 12, k.outLen);
      if (k.outLen && rng() < 0.2) o.threads = 1 + Math.floor(rng() * 2);
      const useAsync = k.async && rng() < 0.6;
      if (useAsync) {
        asyncCalls++;
        const p = k.async(a, o).then((r) => check(ki, r), (e) => {
          errors++;
          problem(`${k.name} (async): ${U.describeError(e)}`);
        });
        inflight.add(p);
        p.finally(() => inflight.delete(p));
        peakInFlight = Math.max(peakInFlight, inflight.size);
        if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
      } else {
        syncCalls++;
        try {
          check(ki, k.sync(a, o));
        } catch (e) {
          errors++;
          problem(`${k.name} (sync): ${U.describeError(e)}`);
        }
        // let completions run now and then
        if (c % 16 === 0) await new Promise(setImmediate);
      }
    }
    await Promise.all(inflight);
  }

  const rss = () => {
    global.gc();
    global.gc();
    return process.memoryUsage().rss;
  };
  // RSS settles after ~1500 calls here (JIT, heap sizing, one malloc arena per libuv worker)
  const warm = Math.min(CALLS - 1, Number(opt('--warmup', Math.max(1500, Math.floor(CALLS / 5)))));
  const t0 = performance.now();
  await run(warm);
  const rssWarm = rss();
  const hist = monitorEventLoopDelay({ resolution: 5 });
  hist.enable();
  await run(CALLS - warm);
  const t2 = performance.now();
  hist.disable();
  const rssEnd = rss();
  const mixedP99 = hist.percentile(99) / 1e6;

  // 4. event-loop delay while long async calls run (nothing else on the main thread)
  // inputs built before the measurement (the calls copy them), so that only the calls are in the window
  const lq = T([1, 8, 1024, 64], 1), lk = T([1, 8, 1024, 64], 2), lv = T([1, 8, 1024, 64], 3), lh = T([4, 1024, 32], 4);
  const long = [() => lib.attentionAsync(lq, lk, lv), () => layers.tglobal.forwardAsync(lh)];
  const delay = monitorEventLoopDelay({ resolution: 2 });
  const nLong = opt('--long') !== undefined ? Number(opt('--long')) : Math.max(16, Math.min(128, Math.floor(CALLS / 80)));
  delay.enable();
  const t3 = performance.now();
  const pending = new Set();
  let longDone = 0;
  for (let i = 0; i < nLong; i++) {
    const p = long[i % long.length]().then(() => longDone++);
    pending.add(p);
    p.finally(() => pending.delete(p));
    if (pending.size >= IN_FLIGHT) await Promise.race(pending);
  }
  await Promise.all(pending);
  const t4 = performance.now();
  delay.disable();

  const fig = {
    calls: CALLS, warmup: warm, syncCalls, asyncCalls, peakInFlight, checked: done, mismatches, errors,
    seconds: +((t2 - t0) / 1000).toFixed(2), callsPerSecond: Math.round((CALLS) / ((t2 - t0) / 1000)),
    rssWarmMB: +(rssWarm / 2 ** 20).toFixed(1), rssEndMB: +(rssEnd / 2 ** 20).toFixed(1), rssGrowthPct: +(((rssEnd - rssWarm) / rssWarm) * 100).toFixed(2),
    mixedDelayP99Ms: +mixedP99.toFixed(2),
    longAsyncCalls: longDone, longAsyncSeconds: +((t4 - t3) / 1000).toFixed(2),
    longDelayP50Ms: +(delay.percentile(50) / 1e6).toFixed(2), longDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(2), longDelayMaxMs: +(delay.max / 1e6).toFixed(2),
    isa: lib.info().isa, threads: lib.info().threads, node: process.version,
  };
  console.log(`soak: ${CALLS} calls (${syncCalls} sync, ${asyncCalls} async, <= ${peakInFlight} in flight) in ${fig.seconds} s = ${fig.callsPerSecond} calls/s; ${mismatches} mismatches, ${errors} errors`);
  console.log(`soak: RSS ${fig.rssWarmMB} MB after warm-up -> ${fig.rssEndMB} MB at the end (${fig.rssGrowthPct} %); event-loop delay p99 ${fig.mixedDelayP99Ms} ms during the mixed phase`);
  console.log(`soak: ${longDone} long async calls in ${fig.longAsyncSeconds} s: event-loop delay p50 ${fig.longDelayP50Ms} ms, p99 ${fig.longDelayP99Ms} ms, max ${fig.longDelayMaxMs} ms`);
  console.log(`SOAK ${JSON.stringify(fig)}`);
  if (opt('--json')) fs.writeFileSync(opt('--json'), JSON.stringify(fig, null, 2) + '\n');
  const failed = [];
  if (mismatches || errors || done !== CALLS) failed.push(`results: ${mismatches} mismatches, ${errors} errors, ${done}/${CALLS} checked; first: ${firstProblems.join(' | ')}`);
  if (!argv.includes('--no-rss-check') && fig.rssGrowthPct >= RSS_LIMIT * 100) failed.push(`RSS grew ${fig.rssGrowthPct} % (limit ${RSS_LIMIT * 100} %)`);
  if (!argv.includes('--no-delay-check') && fig.longDelayP99Ms >= DELAY_P99_LIMIT_MS) failed.push(`event-loop delay p99 ${fig.longDelayP99Ms} ms (limit ${DELAY_P99_LIMIT_MS} ms)`);
  if (failed.length) {
    console.log(`soak: FAILED\n  ${failed.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.log(`soak: fatal ${U.describeError(e)}\n${e.stack}`);
  process.exit(2);
});
