#!/usr/bin/env node
// Prints a SHA-256 over the outputs of every compute entry point on the test fixtures (and on
// seeded random shapes), under every ISA this CPU runs and one and two threads. Two builds whose
// lines match compute bit-identical results: run it before and after a refactor that must not
// change numbers (`node scripts/output-checksums.js > before.txt`, then diff).
// Uses the built package (dist/ + the addon): run `npm run build` first.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const ga = require('../dist/lib/index.js');
const { readSafetensors } = require('../dist/lib/safetensors.js');

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const hash = (f32) => crypto.createHash('sha256').update(Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)).digest('hex').slice(0, 16);
const tensor = (t) => ({ data: t.data, dims: t.shape.slice() });

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
const rand = (r, dims) => ({ data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, r), dims });

const cases = [];
for (const file of fs.readdirSync(FIX).filter((f) => f.endsWith('.safetensors')).sort()) {
  const name = file.slice(0, -'.safetensors'.length);
  const full = path.join(FIX, file);
  const { tensors: t, metadata } = readSafetensors(full);
  const c = JSON.parse(metadata.config || '{}');
  if (metadata.kind === 'dense') {
    const opts = { scale: c.scale, causal: c.causal };
    if (t.has('key_padding_mask')) opts.keyMask = { data: t.get('key_padding_mask').data, dims: [c.batch, c.kv_len] };
    if (t.has('bias')) opts.bias = tensor(t.get('bias'));
    cases.push([name, (threads) => ga.attention(tensor(t.get('q')), tensor(t.get('k')), tensor(t.get('v')), { ...opts, threads }).data]);
    cases.push([`${name}+weights`, (threads) => ga.attention(tensor(t.get('q')), tensor(t.get('k')), tensor(t.get('v')), { ...opts, threads, returnWeights: true }).weights.data]);
  } else if (metadata.kind === 'seed_variant') {
    cases.push([name, (threads) => ga.blockGlobalAttention(tensor(t.get('q')), tensor(t.get('k')), tensor(t.get('v')), { blockSize: c.global_block_size, scale: c.scale, threads }).data]);
  } else if (['tglobal_layer', 'local_layer', 'dense_t5layer'].includes(metadata.kind)) {
    const Cls = { tglobal_layer: ga.LongT5TransientGlobalAttention, local_layer: ga.LongT5LocalAttention, dense_t5layer: ga.LongT5Attention }[metadata.kind];
    const layer = Cls.fromSafetensors(full);
    const mask = t.get('attention_mask').data;
    cases.push([name, (threads) => layer.forward(tensor(t.get('hidden_states')), mask, { threads }).data]);
  }
}
// The TGlobal core and linear on seeded random shapes (odd sizes, padding).
for (const [B, H, N, D, G, r] of [[2, 3, 45, 24, 5, 7], [1, 4, 300, 64, 18, 31]]) {
  const R = rng(B * 1000 + N);
  const q = rand(R, [B, H, N, D]), k = rand(R, [B, H, N, D]), v = rand(R, [B, H, N, D]);
  const gk = rand(R, [B, H, G, D]), gv = rand(R, [B, H, G, D]);
  const g = Math.floor(N / G);
  const mask = Int32Array.from({ length: B * N }, (_, i) => (i % N < N - 3 * (Math.floor(i / N)) ? 1 : 0));
  const rb = rand(R, [32, H]), grb = rand(R, [32, H]);
  const opts = { localRadius: r, globalBlockSize: g, mask, relativeAttentionBias: rb, globalRelativeAttentionBias: grb };
  cases.push([`tglobal-core-${B}x${H}x${N}x${D}`, (threads) => ga.transientGlobalAttention(q, k, v, gk, gv, { ...opts, threads }).data]);
  const x = rand(R, [B * N, 96]), w = rand(R, [40, 96]);
  cases.push([`linear-${B * N}x96x40`, (threads) => ga.linear(x, w, { threads }).data]);
}

for (const isa of ga.info().availableIsas) {
  ga.setIsa(isa);
  for (const [name, run] of cases)
    for (const threads of [1, 2]) {
      let line;
      try { line = hash(run(threads)); } catch (e) { line = `error: ${e.message.split('\n')[0]}`; }
      console.log(`${isa} t${threads} ${name} ${line}`);
    }
}
