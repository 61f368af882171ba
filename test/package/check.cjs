// Package test, CommonJS side (run by scripts/test-package.sh inside a fresh project that installed
// the packed tarball with --ignore-scripts, no compiler on PATH):
//   node check.cjs <fixture dir> [--expect=prebuild|build]
// The addon must come from the shipped prebuild; dense attention and the LongT5 TGlobal layer must
// reproduce stored float64 references under every ISA this CPU runs.
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const ga = require('global-attention');

const FIXTURES = process.argv[2];
const pkgDir = path.dirname(require.resolve('global-attention/package.json'));

// 1. What got loaded: by default the shipped prebuild for this platform, nothing compiled here
//    (--expect=build: the package's own source build, after `npm rebuild --build-from-source`).
const expect = (process.argv.find((a) => a.startsWith('--expect=')) || '--expect=prebuild').slice(9);
const gypBuild = require(require.resolve('node-gyp-build', { paths: [pkgDir] }));
const loaded = gypBuild.resolve(pkgDir);
const where = expect === 'build' ? path.join(pkgDir, 'build', 'Release') : path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`);
assert.ok(loaded.startsWith(where + path.sep), `expected the addon from ${where}, loaded ${loaded}`);
if (expect !== 'build') assert.ok(!fs.existsSync(path.join(pkgDir, 'build')), 'the installed package has a build/ directory');
const info = ga.info();
console.log(`loaded ${path.relative(pkgDir, loaded)}: ${JSON.stringify(info)}`);
assert.ok(info.availableIsas.includes('scalar'));

function load(name) {
  const f = ga.readSafetensors(path.join(FIXTURES, `${name}.safetensors`));
  const get = (t) => {
    const e = f.tensors.get(t);
    assert.ok(e, `${name}: no tensor ${t}`);
    return e;
  };
  return { config: JSON.parse(f.metadata.config), get, has: (t) => f.tensors.has(t), tensor: (t) => ({ data: get(t).data, dims: get(t).shape }) };
}

// max |out - ref| over rows (of length rowLen) where keep(row); and max |ref| there.
function rowError(out, ref, rowLen, keep) {
  assert.strictEqual(out.length, ref.length);
  let err = 0;
  let scale = 0;
  for (let r = 0; r < ref.length / rowLen; r++) {
    if (!keep(r)) continue;
    for (let i = r * rowLen; i < (r + 1) * rowLen; i++) {
      const e = Math.abs(out[i] - ref[i]);
      if (!(e <= err)) err = e; // NaN sticks
      scale = Math.max(scale, Math.abs(ref[i]));
    }
  }
  return { err, scale };
}

const DENSE = ['dense_gqa_b2_h8_hk2_n64_d32', 'dense_combo_b2_h4_hk2_n33_d16_scale1_mask_causal_bias'];
const TGLOBAL = ['tglobal_layer_n37_r3_g5_pad', 'tglobal_layer_n300_r31_g16_b2'];
const DENSE_TOL = 1e-5; // absolute, as test/dense.fixtures.test.ts
const LAYER_TOL = 1e-4; // x max|truth| over unpadded rows, as test/longt5.fixtures.test.ts

async function main() {
  let checks = 0;
  for (const isa of info.availableIsas) {
    ga.setIsa(isa);
    for (const name of DENSE) {
      const fx = load(name);
      const c = fx.config;
      const options = { scale: c.scale, causal: c.causal };
      if (c.has_key_padding_mask) options.keyMask = fx.tensor('key_padding_mask');
      if (c.has_bias) options.bias = fx.tensor('bias');
      const ref = fx.get('out_f64').data;
      for (const [mode, out] of [
        ['sync', ga.attention(fx.tensor('q'), fx.tensor('k'), fx.tensor('v'), options)],
        ['async', await ga.attentionAsync(fx.tensor('q'), fx.tensor('k'), fx.tensor('v'), options)],
      ]) {
        assert.deepStrictEqual([...out.dims], fx.get('out_f64').shape);
        const { err } = rowError(out.data, ref, 1, () => true);
        assert.ok(err <= DENSE_TOL, `${isa} ${name} (${mode}): max abs error ${err} > ${DENSE_TOL}`);
        checks++;
      }
    }
    for (const name of TGLOBAL) {
      const fx = load(name);
      const layer = ga.LongT5TransientGlobalAttention.fromSafetensors(path.join(FIXTURES, `${name}.safetensors`));
      const hidden = fx.tensor('hidden_states');
      const mask = fx.get('attention_mask').data;
      const C = hidden.dims[2];
      const ref = fx.get('out_f64').data;
      for (const [mode, out] of [
        ['sync', layer.forward(hidden, mask)],
        ['async', await layer.forwardAsync(hidden, mask)],
      ]) {
        assert.deepStrictEqual([...out.dims], hidden.dims);
        const { err, scale } = rowError(out.data, ref, C, (r) => mask[r] === 1);
        assert.ok(err <= LAYER_TOL * scale, `${isa} ${name} (${mode}): max abs error ${err} > ${LAYER_TOL} x ${scale}`);
        checks++;
      }
    }
    console.log(`  ${isa}: ${DENSE.length} dense + ${TGLOBAL.length} TGlobal fixtures match their float64 references (sync and async)`);
  }
  console.log(`CommonJS: ${checks} fixture checks passed`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
