// The whole-model reference cases in test/fixtures/longt5-model (see its README): a checkpoint
// folder per case plus expected.safetensors (HF float64 outputs), and the comparisons the tests make.
import * as fs from 'fs';
import * as path from 'path';
import { mulberry32, uniform } from '../../lib/random';
import { readSafetensors, writeSafetensors, SafetensorsInput } from '../../lib/safetensors';

export const MODEL_FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures', 'longt5-model');

export const modelCases = (): string[] =>
  fs.readdirSync(MODEL_FIXTURE_DIR).filter((f) => fs.existsSync(path.join(MODEL_FIXTURE_DIR, f, 'config.json'))).sort();

export interface ModelCase {
  name: string;
  dir: string;
  config: Record<string, unknown>;
  inputIds: { data: Int32Array; dims: number[] };
  attentionMask: { data: Int32Array; dims: number[] };
  decoderInputIds: { data: Int32Array; dims: number[] };
  encoder: Float64Array;
  logits: Float64Array;
  greedy: { data: Int32Array; dims: number[] };
  meta: Record<string, any>;
}

export function loadModelCase(name: string): ModelCase {
  const dir = path.join(MODEL_FIXTURE_DIR, name);
  const { tensors, metadata } = readSafetensors(path.join(dir, 'expected.safetensors'));
  const t = (n: string) => {
    const e = tensors.get(n);
    if (!e) throw new Error(`${name}: expected.safetensors has no ${n}`);
    return e;
  };
  const ints = (n: string) => ({ data: t(n).data as Int32Array, dims: t(n).shape });
  return {
    name,
    dir,
    config: JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')),
    inputIds: ints('input_ids'),
    attentionMask: ints('attention_mask'),
    decoderInputIds: ints('decoder_input_ids'),
    encoder: t('encoder_last_hidden_state').data as Float64Array,
    logits: t('logits').data as Float64Array,
    greedy: ints('greedy_ids'),
    meta: JSON.parse(metadata.config),
  };
}

/** max |got - want| / max |want| over the rows (of `width` values) where mask is 1 (all rows without a mask). */
export function relError(got: Float32Array, want: Float64Array, width: number, mask?: Int32Array): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs expected ${want.length}`);
  let diff = 0;
  let scale = 0;
  for (let r = 0; r < want.length / width; r++) {
    if (mask && !mask[r]) continue;
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      if (!Number.isFinite(got[i])) return Infinity;
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
  }
  return diff / scale;
}

/** Rewrites a checkpoint's model.safetensors as `shards` shard files plus model.safetensors.index.json in `dest`. */
export function writeSharded(srcDir: string, dest: string, shards: number): void {
  const { tensors } = readSafetensors(path.join(srcDir, 'model.safetensors'));
  const names = [...tensors.keys()];
  const per = Math.ceil(names.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = new Map<string, SafetensorsInput>();
    for (const n of names.slice(s * per, (s + 1) * per)) {
      part.set(n, tensors.get(n)!);
      weightMap[n] = file;
    }
    fs.writeFileSync(path.join(dest, file), writeSafetensors(part, { format: 'pt' }));
  }
  fs.writeFileSync(path.join(dest, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2));
  fs.copyFileSync(path.join(srcDir, 'config.json'), path.join(dest, 'config.json'));
}

/** float32 -> bfloat16 bits, round to nearest even (as torch's .to(torch.bfloat16)). */
export function toBf16Bits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = u[i];
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** float32 -> IEEE half bits (round to nearest even; the fixtures' weights are small, so no overflow). */
export function toF16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i];
    const b = u[0];
    const sign = (b >>> 16) & 0x8000;
    const exp = ((b >>> 23) & 0xff) - 127 + 15;
    let mant = b & 0x7fffff;
    if (exp <= 0) {
      // subnormal half: shift with round to nearest even
      if (exp < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - exp;
      const half = 1 << (shift - 1);
      const rem = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rem > half || (rem === half && (m & 1))) m++;
      out[i] = sign | m;
      continue;
    }
    if (exp >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    let h = (exp << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
  }
  return out;
}

/** Writes the checkpoint in `srcDir` into `dest` with every weight stored as `dtype` (F16 or BF16); returns the float32 values that dtype holds. */
export function writeReducedPrecision(srcDir: string, dest: string, dtype: 'F16' | 'BF16'): Map<string, SafetensorsInput> {
  const { tensors } = readSafetensors(path.join(srcDir, 'model.safetensors'));
  const out = new Map<string, SafetensorsInput>();
  const rounded = new Map<string, SafetensorsInput>();
  for (const [n, t] of tensors) {
    const bits = dtype === 'BF16' ? toBf16Bits(t.data as Float32Array) : toF16Bits(t.data as Float32Array);
    out.set(n, { dtype, shape: t.shape, data: bits });
    rounded.set(n, { shape: t.shape, data: widen(bits, dtype) });
  }
  fs.writeFileSync(path.join(dest, 'model.safetensors'), writeSafetensors(out, { format: 'pt' }));
  fs.copyFileSync(path.join(srcDir, 'config.json'), path.join(dest, 'config.json'));
  return rounded;
}

function widen(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  const out = new Float32Array(bits.length);
  if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
    return out;
  }
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** Writes tensors as a checkpoint folder (model.safetensors + config.json). */
export function writeCheckpoint(dest: string, config: Record<string, unknown>, tensors: Map<string, SafetensorsInput>): void {
  fs.writeFileSync(path.join(dest, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  fs.writeFileSync(path.join(dest, 'config.json'), JSON.stringify(config, null, 2));
}

/** Random weights under HF's names for a resolved-style config (uniform, nn.Linear-like scales), seeded. */
export function randomWeights(
  cfg: {
    vocab_size: number; d_model: number; d_kv: number; num_heads: number; d_ff: number; num_layers: number; num_decoder_layers: number;
    relative_attention_num_buckets: number; encoder_attention_type: string; feed_forward_proj: string; tie_word_embeddings: boolean;
  },
  seed: number,
): Map<string, SafetensorsInput> {
  const rng = mulberry32(seed);
  const C = cfg.d_model, HD = cfg.num_heads * cfg.d_kv, F = cfg.d_ff, V = cfg.vocab_size, nb = cfg.relative_attention_num_buckets, H = cfg.num_heads;
  const out = new Map<string, SafetensorsInput>();
  const add = (name: string, shape: number[], scale: number, offset = 0) =>
    out.set(name, { shape, data: uniform(rng, shape.reduce((a, b) => a * b, 1), scale).map((x) => x + offset) });
  const linear = (name: string, o: number, i: number) => add(name, [o, i], 1 / Math.sqrt(i));
  const norm = (name: string) => add(name, [C], 0.5, 1);
  const ff = (p: string) => {
    if (cfg.feed_forward_proj === 'gated-gelu') {
      linear(p + 'DenseReluDense.wi_0.weight', F, C);
      linear(p + 'DenseReluDense.wi_1.weight', F, C);
    } else linear(p + 'DenseReluDense.wi.weight', F, C);
    linear(p + 'DenseReluDense.wo.weight', C, F);
    norm(p + 'layer_norm.weight');
  };
  add('shared.weight', [V, C], 1);
  const A = cfg.encoder_attention_type === 'local' ? 'LocalSelfAttention' : 'TransientGlobalSelfAttention';
  for (let l = 0; l < cfg.num_layers; l++) {
    const p = `encoder.block.${l}.layer.0.`;
    for (const x of ['q', 'k', 'v']) linear(`${p}${A}.${x}.weight`, HD, C);
    linear(`${p}${A}.o.weight`, C, HD);
    if (l === 0) add(`${p}${A}.relative_attention_bias.weight`, [nb, H], 1);
    if (A === 'TransientGlobalSelfAttention') {
      if (l === 0) add(`${p}${A}.global_relative_attention_bias.weight`, [nb, H], 1);
      norm(`${p}${A}.global_input_layer_norm.weight`);
    }
    norm(p + 'layer_norm.weight');
    ff(`encoder.block.${l}.layer.1.`);
  }
  norm('encoder.final_layer_norm.weight');
  for (let l = 0; l < cfg.num_decoder_layers; l++) {
    const p = `decoder.block.${l}.`;
    for (const x of ['q', 'k', 'v']) {
      linear(`${p}layer.0.SelfAttention.${x}.weight`, HD, C);
      linear(`${p}layer.1.EncDecAttention.${x}.weight`, HD, C);
    }
    linear(`${p}layer.0.SelfAttention.o.weight`, C, HD);
    linear(`${p}layer.1.EncDecAttention.o.weight`, C, HD);
    if (l === 0) add(`${p}layer.0.SelfAttention.relative_attention_bias.weight`, [nb, H], 1);
    norm(`${p}layer.0.layer_norm.weight`);
    norm(`${p}layer.1.layer_norm.weight`);
    ff(`${p}layer.2.`);
  }
  add('decoder.final_layer_norm.weight', [C], 1.5);  // random signs: a tied random model would otherwise echo its input
  if (!cfg.tie_word_embeddings) linear('lm_head.weight', V, C);
  return out;
}
