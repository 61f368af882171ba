// The LongT5 model's configuration: Hugging Face's LongT5Config field names (a checkpoint's
// config.json), checked and resolved once. Fields the model does not use are ignored; values it
// cannot run are refused with an error naming the field.

/** Hugging Face `LongT5Config` fields the model reads (config.json); any other field is ignored. */
export interface LongT5ModelConfig {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  /** Defaults to num_layers. */
  num_decoder_layers?: number;
  num_heads: number;
  /** Default 127. */
  local_radius?: number;
  /** Default 16. */
  global_block_size?: number;
  /** Default 32. */
  relative_attention_num_buckets?: number;
  /** Default 128. */
  relative_attention_max_distance?: number;
  /** Default 1e-6. */
  layer_norm_epsilon?: number;
  /** 'relu' (default), 'gated-gelu', or HF's other '[gated-]act' spellings with act relu / gelu_new. */
  feed_forward_proj?: string;
  /** HF derives these from feed_forward_proj; a config.json that carries them overrides it (as HF does). */
  dense_act_fn?: string;
  is_gated_act?: boolean;
  /** 'local' (default) or 'transient-global'. */
  encoder_attention_type?: string;
  /** Default true. */
  tie_word_embeddings?: boolean;
  /** Default 0. */
  decoder_start_token_id?: number;
  /** Default 0. */
  pad_token_id?: number;
  /** Default 1. A list (HF allows several) uses its first entry for padding finished beams, all of them to stop. */
  eos_token_id?: number | number[];
  [other: string]: unknown;
}

/** Feed-forward activation the native model implements. */
export type LongT5Activation = 'relu' | 'gelu_new';

/** Every field resolved (defaults applied, values checked). */
export interface ResolvedLongT5ModelConfig {
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
  /** The feed_forward_proj as given ('relu', 'gated-gelu', ...). */
  feed_forward_proj: string;
  dense_act_fn: LongT5Activation;
  is_gated_act: boolean;
  tie_word_embeddings: boolean;
  decoder_start_token_id: number;
  pad_token_id: number;
  /** All eos ids (usually one); generation stops a row at any of them. */
  eos_token_ids: number[];
  /** eos_token_ids[0]. */
  eos_token_id: number;
}

const MAX_DIM = 2 ** 24;

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '...' : x);
  return typeof x === 'object' ? 'an object' : String(x);
}

// Activations HF's ACT2FN maps to the formula we run: gelu_new and gelu_pytorch_tanh are the same
// tanh approximation (HF's "gelu" is the erf form, which we do not implement).
const ACTIVATIONS: Record<string, LongT5Activation> = { relu: 'relu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new' };

/**
 * Checks a config.json object (parsed JSON) and resolves its defaults as Hugging Face's
 * LongT5Config does. Throws a TypeError (wrong kind of value) or RangeError (unsupported value)
 * naming the field.
 */
export function resolveModelConfig(json: unknown): ResolvedLongT5ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || ArrayBuffer.isView(json))
    throw new TypeError(`config must be an object with Hugging Face LongT5Config fields, got ${describe(json)}`);
  const c = json as Record<string, unknown>;
  const int = (key: string, dflt: number | undefined, min: number, max = MAX_DIM): number => {
    const x = c[key] ?? dflt;  // null as in a config.json that writes "field": null: the default
    if (x === undefined) throw new TypeError(`config.${key} is required`);
    if (typeof x !== 'number') throw new TypeError(`config.${key} must be a number, got ${describe(x)}`);
    if (!Number.isInteger(x)) throw new RangeError(`config.${key} must be an integer, got ${x}`);
    if (x < min || x > max) throw new RangeError(`config.${key} must be in [${min}, ${max}], got ${x}`);
    return x;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const x = c[key] ?? dflt;
    if (typeof x !== 'boolean') throw new TypeError(`config.${key} must be a boolean, got ${describe(x)}`);
    return x;
  };
  const str = (key: string, dflt: string): string => {
    const x = c[key] ?? dflt;
    if (typeof x !== 'string') throw new TypeError(`config.${key} must be a string, got ${describe(x)}`);
    return x;
  };

  const vocab_size = int('vocab_size', undefined, 1, 2 ** 26);
  const d_model = int('d_model', undefined, 1);
  const num_layers = int('num_layers', undefined, 0, 4096);

  const attention = str('encoder_attention_type', 'local');
  if (attention !== 'local' && attention !== 'transient-global')
    throw new RangeError(`config.encoder_attention_type must be 'local' or 'transient-global', got ${describe(attention)}`);

  // HF LongT5Config: act_info = feed_forward_proj.split('-'); dense_act_fn = act_info[-1];
  // is_gated_act = act_info[0] == 'gated'; 'gated-gelu' means gelu_new. Fields present in the
  // json override the derived ones (PretrainedConfig sets leftover kwargs as attributes).
  const ffp = str('feed_forward_proj', 'relu');
  const parts = ffp.split('-');
  if ((parts.length > 1 && parts[0] !== 'gated') || parts.length > 2 || parts[parts.length - 1] === '')
    throw new RangeError(`config.feed_forward_proj ${describe(ffp)} is not a valid activation: use 'relu', 'gated-gelu' or '[gated-]{ACT_FN}'`);
  let act = parts[parts.length - 1];
  if (ffp === 'gated-gelu') act = 'gelu_new';
  act = str('dense_act_fn', act);
  const dense_act_fn = ACTIVATIONS[act];
  if (dense_act_fn === undefined)
    throw new RangeError(
      `config.${c.dense_act_fn !== undefined && c.dense_act_fn !== null ? 'dense_act_fn' : 'feed_forward_proj'}: activation ${describe(act)} is not supported (supported: relu, gelu_new; feed_forward_proj 'relu' or 'gated-gelu')`,
    );
  const is_gated_act = bool('is_gated_act', parts[0] === 'gated');

  const eosRaw = c.eos_token_id ?? 1;
  const eosList = Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  if (eosList.length === 0) throw new RangeError('config.eos_token_id must not be an empty list');
  const eos_token_ids = eosList.map((x, i) => {
    const name = Array.isArray(eosRaw) ? `config.eos_token_id[${i}]` : 'config.eos_token_id';
    if (typeof x !== 'number') throw new TypeError(`${name} must be a number, got ${describe(x)}`);
    if (!Number.isInteger(x) || x < 0 || x >= vocab_size) throw new RangeError(`${name} must be an integer in [0, vocab_size ${vocab_size}), got ${x}`);
    return x;
  });

  const eps = c.layer_norm_epsilon ?? 1e-6;
  if (typeof eps !== 'number') throw new TypeError(`config.layer_norm_epsilon must be a number, got ${describe(eps)}`);
  if (!Number.isFinite(eps) || eps < 0) throw new RangeError(`config.layer_norm_epsilon must be a finite number >= 0, got ${eps}`);

  const heads = int('num_heads', undefined, 1);
  const d_kv = int('d_kv', undefined, 1);
  if (heads * d_kv > MAX_DIM) throw new RangeError(`config.num_heads * config.d_kv is too large (${heads * d_kv})`);

  return {
    vocab_size,
    d_model,
    d_kv,
    d_ff: int('d_ff', undefined, 1),
    num_layers,
    num_decoder_layers: int('num_decoder_layers', num_layers, 0, 4096),
    num_heads: heads,
    local_radius: int('local_radius', 127, 0, 2 ** 30),
    global_block_size: int('global_block_size', 16, 1, 2 ** 30),
    relative_attention_num_buckets: int('relative_attention_num_buckets', 32, 2, 2 ** 20),
    relative_attention_max_distance: int('relative_attention_max_distance', 128, 1, 2 ** 30),
    layer_norm_epsilon: eps,
    encoder_attention_type: attention,
    feed_forward_proj: ffp,
    dense_act_fn,
    is_gated_act,
    tie_word_embeddings: bool('tie_word_embeddings', true),
    decoder_start_token_id: int('decoder_start_token_id', 0, 0, vocab_size - 1),
    pad_token_id: int('pad_token_id', 0, 0, vocab_size - 1),
    eos_token_ids,
    eos_token_id: eos_token_ids[0],
  };
}
