// The demo's console output: plain text, 80 columns where it can.
import type { CostResult } from './cost';
import type { CrossCheckSummary } from './crosscheck';
import { maxRowSumError, topKeys, type DemoMaps } from './model';

export type MapKind = 'dense' | 'tglobal' | 'blockGlobal';

export const MAP_TITLES: Record<MapKind, string> = {
  dense: 'dense attention: every token looks at all N tokens',
  tglobal: 'LongT5 TGlobal: local window ±r + every global token',
  blockGlobal: "block-global (simpler variant): own block's tokens + that block's mean token",
};

/**
 * A token's label where text alone is ambiguous: `the#6` when the same text occurs more than once
 * (so two "the" in a top-keys list can be told apart), the bare text otherwise.
 */
export function tokenLabels(tokens: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const t of tokens) count.set(t, (count.get(t) ?? 0) + 1);
  return tokens.map((t, i) => (count.get(t)! > 1 ? `${t}#${i}` : t));
}

/** Column labels of a map: the N tokens (or the given labels of them), then G0..G(G-1). */
export function columnLabels(tokens: readonly string[], maps: DemoMaps, kind: MapKind): string[] {
  return kind === 'dense' ? tokens.slice() : [...tokens, ...Array.from({ length: maps.G }, (_, g) => `G${g}`)];
}

export function mapWeights(maps: DemoMaps, kind: MapKind): { values: Float32Array; width: number } {
  if (kind === 'dense') return { values: maps.dense, width: maps.N };
  return { values: kind === 'tglobal' ? maps.tglobal : maps.blockGlobal, width: maps.N + maps.G };
}

const fmtW = (w: number) => (w >= 0.995 ? '1.0' : w.toFixed(2).replace(/^0/, ''));
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export function tokensText(tokens: readonly string[]): string {
  return `${tokens.length} token${tokens.length === 1 ? "" : "s"}: ${tokens.map((t, i) => `${i}:${t}`).join(' ')}`;
}

export function blocksText(tokens: readonly string[], maps: DemoMaps): string[] {
  const lines = [
    `global blocks of g = ${maps.blockSize} (LongT5: block ⌊i/g⌋; a short last block merges into the previous one; G = ⌊N/g⌋ = ${maps.G}):`,
  ];
  if (maps.G === 0) lines.push(`  none: N = ${maps.N} < g, so TGlobal is local attention only`);
  maps.blocks.forEach((members, b) =>
    lines.push(`  block ${b} (${members.length} token${members.length === 1 ? '' : 's'}, ${members[0]}..${members[members.length - 1]}): ${members.map((i) => tokens[i]).join(' ')}`),
  );
  lines.push('global tokens (globalAggregates: the SUM of a block\'s embeddings, then RMS layer norm; projected like tokens):');
  maps.blocks.forEach((members, b) => lines.push(`  G${b} = norm(${members.map((i) => tokens[i]).join(' + ')})`));
  return lines;
}

/** Per query, the 3 keys with the largest weight, one line per token. */
export function topKeysText(tokens: readonly string[], maps: DemoMaps, kind: MapKind): string[] {
  const { values, width } = mapWeights(maps, kind);
  const labels = columnLabels(tokenLabels(tokens), maps, kind);
  const tw = Math.min(10, Math.max(...tokens.map((t) => t.length)));
  const kw = Math.min(14, Math.max(...labels.map((t) => t.length)));
  const lines = [`${MAP_TITLES[kind]} (row sums 1 ± ${maxRowSumError(values, width).toExponential(0)})`];
  for (let i = 0; i < maps.N; i++) {
    const top = topKeys(values, width, i, 3).map(([c, w]) => `${clip(labels[c], kw).padEnd(kw)} ${fmtW(w)}`);
    lines.push(`  ${String(i).padStart(2)} ${clip(tokens[i], tw).padEnd(tw)} → ${top.join('  ')}`);
  }
  return lines;
}

export function crossCheckText(c: CrossCheckSummary): string[] {
  const lines = ['cross-check (max |difference| / max |output|, tolerance 1e-4):'];
  for (const l of c.lines)
    lines.push(`  ${l.ok ? 'ok  ' : 'FAIL'} ${l.name} vs ${l.against}${l.note ? ` (${l.note})` : ''}: ${l.maxRel.toExponential(1)}`);
  if (!c.ortAvailable) lines.push(`  ONNX Runtime not available, skipped the ORT checks: ${c.ortError}`);
  return lines;
}

const fmtFlops = (x: number) => (x >= 1e9 ? `${(x / 1e9).toFixed(x >= 1e10 ? 0 : 1)} G` : `${(x / 1e6).toFixed(0)} M`);
export const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export function costText(c: CostResult): string[] {
  const k = c.config;
  const lines = [
    `cost: dense vs TGlobal core, B ${k.B}, H ${k.H}, D ${k.D}, r ${k.radius}, g ${k.blockSize}; ${c.threads} threads, ${c.isa}`,
    '      N   FLOPs dense  TGlobal  ratio    ms dense      TGlobal  speed-up',
  ];
  for (const p of c.points) {
    const d = `${fmtMs(p.dense.ms)}${p.dense.measured ? ' ' : '*'}`, t = `${fmtMs(p.tglobal.ms)}${p.tglobal.measured ? ' ' : '*'}`;
    lines.push(
      `  ${String(p.N).padStart(5)} ${fmtFlops(p.denseFlops).padStart(11)} ${fmtFlops(p.tglobalFlops).padStart(8)} ${(p.denseFlops / p.tglobalFlops).toFixed(1).padStart(5)}×` +
        ` ${d.padStart(11)} ${t.padStart(12)} ${(p.dense.ms / p.tglobal.ms).toFixed(1).padStart(8)}×`,
    );
  }
  if (c.points.some((p) => !p.dense.measured || !p.tglobal.measured))
    lines.push(`  * predicted from the FLOP model at the largest measured point's speed (--measure-all times everything)`);
  return lines;
}
