// global-attention: the public surface. Everything users import comes through here.
export type { Tensor, MaskInput } from './tensor';
export { attention, attentionAsync } from './dense';
export type { AttentionOptions } from './dense';
export { info, setThreads, setIsa } from './runtime';
export type { Info } from './runtime';
