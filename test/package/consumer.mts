// Package test, types (ESM): the shipped typings under moduleResolution node16, strict, no
// skipLibCheck: named imports and the default import.
import ga, { attention, attentionAsync, info, Tensor, AttentionOptions, LongT5Config } from 'global-attention';

const q: Tensor = { data: new Float32Array(8), dims: [1, 1, 2, 4] };
const options: AttentionOptions = { causal: true };
const out: Tensor = attention(q, q, q, options);
const same: Tensor = ga.attention(q, q, q);
const later: Promise<Tensor> = attentionAsync(q, q, q);
const isa: string = info().isa;
const config: LongT5Config = { d_model: 8, d_kv: 4, num_heads: 2 };
const layer = new ga.LongT5TransientGlobalAttention(config, {});
void [out, same, later, isa, layer];
