// Package test, ESM side: named and default imports of the package work from an ES module, and
// they are the same objects as the CommonJS build (one module instance, one addon).
import assert from 'assert';
import { createRequire } from 'module';
import ga, { attention, info, readSafetensors, LongT5TransientGlobalAttention } from 'global-attention';

const cjs = createRequire(import.meta.url)('global-attention');
assert.strictEqual(attention, cjs.attention);
assert.strictEqual(ga.attention, cjs.attention);
assert.strictEqual(typeof readSafetensors, 'function');
assert.strictEqual(typeof LongT5TransientGlobalAttention, 'function');
for (const name of Object.keys(cjs)) assert.ok(name in ga, `default export lacks ${name}`);

// q = k = v = ones [1,1,2,4]: every output row is ones.
const ones = () => ({ data: new Float32Array(8).fill(1), dims: [1, 1, 2, 4] });
const out = attention(ones(), ones(), ones());
assert.deepStrictEqual([...out.dims], [1, 1, 2, 4]);
assert.ok(out.data.every((x) => Math.abs(x - 1) < 1e-6));
console.log(`ESM: import works (isa ${info().isa}, ${Object.keys(cjs).length} exports)`);
