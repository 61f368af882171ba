// Text in, text out: a tokenizer from @huggingface/tokenizers (a dev dependency only; the library
// does not depend on it) reading a T5-style tokenizer.json (test/fixtures/t5-tokenizer, generated
// by its make-tokenizer.js) paired with a fixture checkpoint. The texts are chosen so that their
// ids are the fixture's input_ids: the generated ids must then be Hugging Face's greedy ids, and
// they decode back to words.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongT5ForConditionalGeneration } from '../lib/index';
import { readSafetensors } from '../lib/safetensors';

const TOKENIZER = path.resolve(__dirname, 'fixtures', 't5-tokenizer');
const CHECKPOINT = path.resolve(__dirname, 'fixtures', 'longt5-model', 'tglobal_tiny_pad');

function loadTokenizer(): Tokenizer {
  const json = JSON.parse(fs.readFileSync(path.join(TOKENIZER, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(TOKENIZER, 'tokenizer_config.json'), 'utf8'));
  return new Tokenizer(json, config);
}

/** Rows of a [B, N] I32 tensor, each cut at its mask. */
function rows(data: Int32Array, mask: Int32Array, B: number, N: number): number[][] {
  return Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * N, (b + 1) * N)).filter((_, i) => mask[b * N + i] !== 0));
}

/** The words whose ids are `ids` (without the trailing eos); unknown id 2 becomes a word outside the vocabulary. */
function textOf(tok: Tokenizer, ids: number[]): string {
  return ids
    .filter((id) => id !== 1)
    .map((id) => (id === 2 ? 'zebra' : tok.id_to_token(id)!.replace(/^\u2581/, '')))
    .join(' ');
}

describe('tokenizer.json → ids → generate → text', () => {
  const tok = loadTokenizer();
  const expected = readSafetensors(path.join(CHECKPOINT, 'expected.safetensors')).tensors;
  const [B, N] = expected.get('input_ids')!.shape;
  const inputRows = rows(expected.get('input_ids')!.data as Int32Array, expected.get('attention_mask')!.data as Int32Array, B, N);
  const greedy = expected.get('greedy_ids')!;
  const texts = inputRows.map((r) => textOf(tok, r));

  test('the tokenizer turns the texts into the fixture input ids, </s> appended, and back', () => {
    expect(tok.token_to_id('<pad>')).toBe(0);
    expect(tok.token_to_id('</s>')).toBe(1);
    expect(tok.token_to_id('<unk>')).toBe(2);
    inputRows.forEach((r, b) => {
      const enc = tok.encode(texts[b]);
      expect(enc.ids).toEqual(r);
      expect(enc.attention_mask.every((m) => m === 1)).toBe(true);
    });
    expect(tok.decode(tok.encode('the long document').ids, { skip_special_tokens: true })).toBe('the long document');
  });

  test('a padded batch of two texts generates Hugging Face greedy ids and decodes them', async () => {
    const model = LongT5ForConditionalGeneration.fromPretrained(CHECKPOINT);
    // Right-pad with pad_token_id (0), mask 0, as a tokenizer with padding would.
    const encoded = texts.map((t) => tok.encode(t).ids);
    const width = Math.max(...encoded.map((e) => e.length));
    expect(width).toBe(N);
    const ids = new Int32Array(B * width);
    const mask = new Int32Array(B * width);
    encoded.forEach((e, b) => {
      ids.set(e, b * width);
      mask.fill(1, b * width, b * width + e.length);
    });
    const maxNewTokens = JSON.parse(readSafetensors(path.join(CHECKPOINT, 'expected.safetensors')).metadata.config).max_new_tokens;
    const out = await model.generateAsync({ data: ids, dims: [B, width] }, { attentionMask: { data: mask, dims: [B, width] }, maxNewTokens });
    expect(out.dims).toEqual(greedy.shape);
    expect(Array.from(out.data)).toEqual(Array.from(greedy.data as Int32Array));
    const S = out.dims[1];
    const decoded = Array.from({ length: B }, (_, b) => tok.decode(Array.from(out.data.subarray(b * S, (b + 1) * S)), { skip_special_tokens: true }));
    // Every generated id is a word of the vocabulary (ids >= 3) or a special token, which decode skips.
    decoded.forEach((text, b) => {
      const words = Array.from(out.data.subarray(b * S, (b + 1) * S)).filter((id) => id > 2).map((id) => tok.id_to_token(id)!.slice(1));
      expect(text).toBe(words.join(' '));
      expect(words.length).toBeGreaterThan(3);
    });
  });

  test('one text alone (B = 1, a plain Int32Array) gives the same ids as its row of the batch', () => {
    const model = LongT5ForConditionalGeneration.fromPretrained(CHECKPOINT);
    const ids = Int32Array.from(tok.encode(texts[1]).ids);
    const maxNewTokens = greedy.shape[1] - 1;
    const out = model.generate(ids, { maxNewTokens });
    const S = greedy.shape[1];
    const row1 = Array.from((greedy.data as Int32Array).subarray(S, 2 * S));
    // Row 1 finished (eos) before the last step: alone, generation stops there, as HF's does.
    const end = row1.indexOf(1) + 1;
    expect(Array.from(out.data)).toEqual(row1.slice(0, end));
    expect(tok.decode(Array.from(out.data), { skip_special_tokens: true }).split(' ').length).toBe(end - 2);
  });
});
