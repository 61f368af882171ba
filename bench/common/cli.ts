// Command-line parsing shared by the benches.
import { wrapText } from './table';

/** "256,512,1k" -> [256, 512, 1024]; throws on anything but positive integers. */
export function parseIntList(flag: string, s: string): number[] {
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => {
    const m = /^(\d+)(k?)$/i.exec(x);
    const n = m ? Number(m[1]) * (m[2] ? 1024 : 1) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${flag}: '${x}' is not a positive integer`);
    return n;
  });
  if (out.length === 0) throw new RangeError(`${flag}: empty list`);
  return out;
}

export function parsePositiveInt(flag: string, s: string): number {
  const [n] = parseIntList(flag, s);
  return n;
}

/** Writes a progress line to stderr (stdout is for the table), wrapped at 120 columns. */
export function progress(msg: string): void {
  process.stderr.write(`${wrapText(msg, undefined, '    ')}\n`);
}
