// The whole model at shapes the HF fixtures lack, against the plain float64 JavaScript reference
// (test/helpers/model-reference.ts): random checkpoints with other dims, radii, block sizes,
// bucket counts (decoders long enough for log-spaced causal buckets), unequal encoder/decoder
// depths, padded and left-padded rows; and an encoder long enough that the feed-forward runs in
// several row blocks.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration } from '../lib/index';
import { mulberry32 } from '../lib/random';
import { availableIsas, withIsa } from './helpers/isa';
import { randomWeights, relError, writeCheckpoint } from './helpers/model-fixtures';
import { RefModelConfig, refDecoder, refEncoder } from './helpers/model-reference';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-model-ref-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Case {
  name: string;
  cfg: RefModelConfig;
  B: number;
  N: number;
  T: number;
  /** per row: [first real position, number of real tokens] */
  rows: [number, number][];
}

const base = { layer_norm_epsilon: 1e-6, relative_attention_max_distance: 128 };
const cases: Case[] = [
  {
    name: 'tglobal gated-gelu untied, 2 enc / 3 dec layers, r 7 g 6, N 61 padded',
    cfg: { ...base, vocab_size: 50, d_model: 48, d_kv: 16, num_heads: 3, d_ff: 96, num_layers: 2, num_decoder_layers: 3, local_radius: 7, global_block_size: 6,
      relative_attention_num_buckets: 32, encoder_attention_type: 'transient-global', feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
    B: 2, N: 61, T: 9, rows: [[0, 61], [0, 45]],
  },
  {
    name: 'local relu tied, 16 buckets / max distance 40, T 30 (log-spaced causal buckets), left-padded',
    cfg: { ...base, vocab_size: 70, d_model: 40, d_kv: 8, num_heads: 5, d_ff: 72, num_layers: 3, num_decoder_layers: 1, local_radius: 15, global_block_size: 16,
      relative_attention_num_buckets: 16, relative_attention_max_distance: 40, encoder_attention_type: 'local', feed_forward_proj: 'relu', tie_word_embeddings: true },
    B: 2, N: 100, T: 30, rows: [[0, 100], [23, 77]],
  },
  {
    name: 'tglobal relu untied, H*D != d_model, N 13 < g 16, B 3',
    cfg: { ...base, vocab_size: 33, d_model: 24, d_kv: 10, num_heads: 4, d_ff: 40, num_layers: 1, num_decoder_layers: 2, local_radius: 3, global_block_size: 16,
      relative_attention_num_buckets: 8, relative_attention_max_distance: 20, encoder_attention_type: 'transient-global', feed_forward_proj: 'relu', tie_word_embeddings: false },
    B: 3, N: 13, T: 12, rows: [[0, 13], [0, 1], [4, 9]],
  },
  {
    name: 'tglobal gated-gelu tied, g 5 with orphans, r larger than N',
    cfg: { ...base, vocab_size: 40, d_model: 32, d_kv: 8, num_heads: 4, d_ff: 48, num_layers: 2, num_decoder_layers: 2, local_radius: 127, global_block_size: 5,
      relative_attention_num_buckets: 32, encoder_attention_type: 'transient-global', feed_forward_proj: 'gated-gelu', tie_word_embeddings: true },
    B: 2, N: 38, T: 6, rows: [[0, 38], [0, 22]],
  },
];

function inputs(c: Case, seed: number) {
  const rng = mulberry32(seed);
  const ids = new Int32Array(c.B * c.N);
  const mask = new Int32Array(c.B * c.N);
  c.rows.forEach(([start, len], b) => {
    for (let i = start; i < start + len; i++) {
      mask[b * c.N + i] = 1;
      ids[b * c.N + i] = 2 + Math.floor(rng() * (c.cfg.vocab_size - 2));
    }
  });
  const dec = new Int32Array(c.B * c.T).map((_, i) => (i % c.T === 0 ? 0 : Math.floor(rng() * c.cfg.vocab_size)));
  return { ids, mask, dec };
}

describe.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_, c, i) => {
  const dir = () => {
    const d = path.join(tmp, `case-${i}`);
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d);
      writeCheckpoint(d, c.cfg as unknown as Record<string, unknown>, randomWeights(c.cfg, 100 + i));
    }
    return d;
  };
  const { ids, mask, dec } = inputs(c, 200 + i);
  let refEnc: Float64Array;
  let refLogits: Float64Array;
  beforeAll(() => {
    const w = new Map([...randomWeights(c.cfg, 100 + i)].map(([n, t]) => [n, t.data as Float32Array]));
    refEnc = refEncoder(c.cfg, w, ids, mask, c.B, c.N);
    refLogits = refDecoder(c.cfg, w, refEnc, mask, c.B, c.N, dec, c.T);
  });

  test.each(availableIsas())('encoder and logits within 1e-4 x max|ref| (isa %s)', (isa) => {
    withIsa(isa, () => {
      const m = LongT5ForConditionalGeneration.fromPretrained(dir());
      const attentionMask = { data: mask, dims: [c.B, c.N] };
      const enc = m.encode({ data: ids, dims: [c.B, c.N] }, { attentionMask });
      expect(relError(enc.data, refEnc, c.cfg.d_model, mask)).toBeLessThan(1e-4);
      const logits = m.forward({ inputIds: { data: ids, dims: [c.B, c.N] }, attentionMask, decoderInputIds: { data: dec, dims: [c.B, c.T] } });
      expect(relError(logits.data, refLogits, c.cfg.vocab_size)).toBeLessThan(1e-4);
      m.dispose();
    });
  });
});

test('a long encoder input runs its feed-forward in several row blocks and matches the reference', () => {
  // d_ff 64: row blocks of 65536, so N = 70000 takes two.
  const cfg: RefModelConfig = {
    ...base, vocab_size: 20, d_model: 16, d_kv: 4, num_heads: 2, d_ff: 64, num_layers: 1, num_decoder_layers: 1, local_radius: 2, global_block_size: 16,
    relative_attention_num_buckets: 32, encoder_attention_type: 'local', feed_forward_proj: 'gated-gelu', tie_word_embeddings: true,
  };
  const d = path.join(tmp, 'long');
  fs.mkdirSync(d);
  const weights = randomWeights(cfg, 7);
  writeCheckpoint(d, cfg as unknown as Record<string, unknown>, weights);
  const N = 70000;
  const rng = mulberry32(8);
  const ids = new Int32Array(N).map(() => Math.floor(rng() * cfg.vocab_size));
  const mask = new Int32Array(N).fill(1);
  const got = LongT5EncoderModel.fromPretrained(d).encode(ids);
  const want = refEncoder(cfg, new Map([...weights].map(([n, t]) => [n, t.data as Float32Array])), ids, mask, 1, N);
  expect(relError(got.data, want, cfg.d_model)).toBeLessThan(1e-4);
});
