// Package test, types: a TypeScript consumer type-checks against the shipped typings (strict, no
// skipLibCheck), as CommonJS (consumer.mts does the same as an ES module).
import * as fs from 'fs';
import {
  attention, attentionAsync, info, setThreads, readSafetensors, LongT5TransientGlobalAttention,
  Tensor, AttentionOptions, Info, LongT5Config,
} from 'global-attention';

const q: Tensor = { data: new Float32Array(8), dims: [1, 1, 2, 4] };
const options: AttentionOptions = { causal: true, scale: 0.5 };
const out: Tensor = attention(q, q, q, options);
const later: Promise<Tensor> = attentionAsync(q, q, q);
const i: Info = info();
const isa: string = i.isa;
const n: number = setThreads(0);
const config: LongT5Config = { d_model: 8, d_kv: 4, num_heads: 2, local_radius: 2, global_block_size: 4 };
const layer: LongT5TransientGlobalAttention | undefined = fs.existsSync('x') ? LongT5TransientGlobalAttention.fromSafetensors('x') : undefined;
const file = fs.existsSync('x') ? readSafetensors('x') : undefined;
void [out, later, isa, n, config, layer, file];
