// Seeded random LongT5 checkpoints for the model bench and the model tests: a resolved-style
// config and weights under Hugging Face's parameter names (PyTorch [out, in] layout), scaled so
// that a few blocks keep activations of order 1, and a writer of the checkpoint folder
// (config.json + model.safetensors) fromPretrained reads.
import * as fs from 'fs';
import * as path from 'path';
import { mulberry32, uniform, type Rng } from '../lib/random';
import { toBf16 } from '../lib/precision';
import { writeSafetensors } from '../lib/safetensors';

/** Hugging Face LongT5Config fields of a random checkpoint (a type alias, so it passes where configs are records). */
export type RandomLongT5Config = {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  num_heads: number;
  local_radius: number;
  global_block_size: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  encoder_attention_type: 'transient-global' | 'local';
  feed_forward_proj: 'relu' | 'gated-gelu';
  dense_act_fn: 'relu' | 'gelu_new';
  is_gated_act: boolean;
  tie_word_embeddings: boolean;
  decoder_start_token_id: number;
  pad_token_id: number;
  eos_token_id: number;
};

/** A config from the fields that matter; the rest take LongT5's defaults (decoder as deep as the encoder). */
export function randomConfig(c: Partial<RandomLongT5Config> & Pick<RandomLongT5Config, 'd_model' | 'd_kv' | 'num_heads' | 'd_ff' | 'num_layers'>): RandomLongT5Config {
  const ffp = c.feed_forward_proj ?? 'gated-gelu';
  return {
    vocab_size: 64, local_radius: 127, global_block_size: 16, relative_attention_num_buckets: 32, relative_attention_max_distance: 128,
    layer_norm_epsilon: 1e-6, encoder_attention_type: 'transient-global', tie_word_embeddings: false, decoder_start_token_id: 0,
    pad_token_id: 0, eos_token_id: 1, num_decoder_layers: c.num_layers,
    ...c,
    feed_forward_proj: ffp,
    dense_act_fn: ffp === 'relu' ? 'relu' : 'gelu_new',
    is_gated_act: ffp !== 'relu',
  };
}

/**
 * Random weights for `config` under Hugging Face's names: encoder only, or with the decoder too.
 * Linear weights are uniform in ±1/√in (so projections keep the scale), norm weights in [0.5, 1.5],
 * bias tables in ±1, embeddings in ±1.
 */
export function randomWeights(config: RandomLongT5Config, seed: number, options: { decoder?: boolean } = {}): Map<string, Float32Array> {
  const rng: Rng = mulberry32(seed);
  const { d_model: C, d_kv, num_heads: H, d_ff: F, vocab_size: V, relative_attention_num_buckets: nb } = config;
  const HD = H * d_kv;
  const w = new Map<string, Float32Array>();
  const lin = (name: string, out: number, inp: number) => w.set(name, uniform(rng, out * inp, 1 / Math.sqrt(inp)));
  const norm = (name: string, n = C) => w.set(name, Float32Array.from(uniform(rng, n, 0.5), (x) => 1 + x));
  const ff = (p: string) => {
    if (config.is_gated_act) {
      lin(`${p}.DenseReluDense.wi_0.weight`, F, C);
      lin(`${p}.DenseReluDense.wi_1.weight`, F, C);
    } else lin(`${p}.DenseReluDense.wi.weight`, F, C);
    lin(`${p}.DenseReluDense.wo.weight`, C, F);
    norm(`${p}.layer_norm.weight`);
  };
  const attention = (p: string, first: boolean, global: boolean) => {
    for (const x of ['q', 'k', 'v']) lin(`${p}.${x}.weight`, HD, C);
    lin(`${p}.o.weight`, C, HD);
    if (first) w.set(`${p}.relative_attention_bias.weight`, uniform(rng, nb * H));
    if (first && global) w.set(`${p}.global_relative_attention_bias.weight`, uniform(rng, nb * H));
    if (global) norm(`${p}.global_input_layer_norm.weight`);
  };
  w.set('shared.weight', uniform(rng, V * C));
  const tglobal = config.encoder_attention_type === 'transient-global';
  const module = tglobal ? 'TransientGlobalSelfAttention' : 'LocalSelfAttention';
  for (let i = 0; i < config.num_layers; i++) {
    attention(`encoder.block.${i}.layer.0.${module}`, i === 0, tglobal);
    norm(`encoder.block.${i}.layer.0.layer_norm.weight`);
    ff(`encoder.block.${i}.layer.1`);
  }
  norm('encoder.final_layer_norm.weight');
  if (options.decoder) {
    for (let i = 0; i < config.num_decoder_layers; i++) {
      attention(`decoder.block.${i}.layer.0.SelfAttention`, i === 0, false);
      norm(`decoder.block.${i}.layer.0.layer_norm.weight`);
      attention(`decoder.block.${i}.layer.1.EncDecAttention`, false, false);
      norm(`decoder.block.${i}.layer.1.layer_norm.weight`);
      ff(`decoder.block.${i}.layer.2`);
    }
    norm('decoder.final_layer_norm.weight');
    if (!config.tie_word_embeddings) lin('lm_head.weight', V, C);
  }
  return w;
}

/** The Hugging Face shape of a parameter (for writing it), from its name and the config. */
function shapeOf(name: string, c: RandomLongT5Config, n: number): number[] {
  const HD = c.num_heads * c.d_kv;
  if (name === 'shared.weight' || name === 'lm_head.weight') return [c.vocab_size, c.d_model];
  if (/relative_attention_bias\.weight$/.test(name)) return [c.relative_attention_num_buckets, c.num_heads];
  if (/\.(q|k|v)\.weight$/.test(name)) return [HD, c.d_model];
  if (/\.o\.weight$/.test(name)) return [c.d_model, HD];
  if (/\.wi(_0|_1)?\.weight$/.test(name)) return [c.d_ff, c.d_model];
  if (/\.wo\.weight$/.test(name)) return [c.d_model, c.d_ff];
  return [n];
}

/** Writes a checkpoint folder (config.json + model.safetensors) as save_pretrained would; returns `dir`. */
/** The same checkpoint with every tensor stored as BF16 (rounded to nearest even, as torch's .to(torch.bfloat16)). */
export function writeBf16Checkpoint(dir: string, config: RandomLongT5Config, weights: Map<string, Float32Array>): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'longt5', ...config }, null, 2));
  const tensors: Record<string, { dtype: 'BF16'; shape: number[]; data: Uint16Array }> = {};
  for (const [k, v] of weights) {
    const shape = shapeOf(k, config, v.length);
    tensors[k] = { dtype: 'BF16', shape, data: toBf16({ data: v, dims: shape }).data };
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  return dir;
}

export function writeCheckpoint(dir: string, config: RandomLongT5Config, weights: Map<string, Float32Array>): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'longt5', ...config }, null, 2));
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of weights) tensors[k] = { shape: shapeOf(k, config, v.length), data: v };
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), bytes);
  return dir;
}
