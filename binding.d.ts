// Typings of the raw native addon (build/Release/global_attention.node). Not public API: the
// TypeScript facade in lib/ validates and normalises every argument before calling these.

export interface NativeInfo {
  isa: string;
  vectorWidth: number;
  availableIsas: string[];
  threads: number;
  hardwareThreads: number;
  openmp: boolean;
  arch: string;
  isaOverrideError?: string;
}

export type NativeMask = Uint8Array | Int32Array;

export interface NativeDenseArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  scale: number;
  causal: boolean;
  keyMask?: NativeMask;                 // [B, Nk]
  bias?: Float32Array;                  // shape biasDims, each dim 1 or full
  biasDims?: [number, number, number, number];
  threads?: number;                     // 0 or absent = the whole budget
}

export interface NativeBinding {
  info(): NativeInfo;
  setThreads(n: number): number;
  setIsa(name: string): string;
  measureFmaPeak(seconds: number): number;
  denseAttention(args: NativeDenseArgs): void;
  denseAttentionAsync(args: NativeDenseArgs): Promise<void>;
}
