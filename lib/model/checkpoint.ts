// A Hugging Face checkpoint's tensors, read one at a time: `model.safetensors`, or the shards a
// `model.safetensors.index.json` names. Headers are parsed and checked when the checkpoint is
// opened; each read() copies one tensor from its file (positioned reads) and widens it to
// float32 (or, readHalf, keeps a BF16/F16 tensor's 16-bit patterns for a 16-bit model), so a
// loader that hands each tensor to the native model and drops it never holds more than the
// model's own weights plus one tensor.
import * as fs from 'fs';
import * as path from 'path';
import { openSafetensors, SafetensorsDtype, SafetensorsReader, toFloat32 } from '../safetensors';

/** Weight dtypes a checkpoint may store (widened to float32 at load). */
export type CheckpointDtype = 'F32' | 'F16' | 'BF16';
const WEIGHT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

export interface CheckpointTensor {
  /** The dtype in the file. */
  dtype: CheckpointDtype;
  shape: number[];
  /** The values, widened to float32 (a fresh array the caller owns). */
  data: Float32Array;
}

export interface CheckpointTensors {
  /** The file or index the tensors come from (for messages). */
  readonly source: string;
  /** Every tensor name. */
  names(): string[];
  has(name: string): boolean;
  /** dtype and shape from the header, without reading data; undefined if absent. */
  info(name: string): { dtype: SafetensorsDtype; shape: number[] } | undefined;
  /** Reads one tensor (throws an Error naming it if absent or not F32/F16/BF16). */
  read(name: string): CheckpointTensor;
  /** Reads a BF16 or F16 tensor's bit patterns as they are (throws for other dtypes). */
  readHalf(name: string): { dtype: 'BF16' | 'F16'; shape: number[]; data: Uint16Array };
  /** Closes the files. Reads after close throw. */
  close(): void;
}

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

function fromReaders(source: string, readers: SafetensorsReader[], where: Map<string, SafetensorsReader>): CheckpointTensors {
  let open = true;
  return {
    source,
    names: () => [...where.keys()],
    has: (name) => where.has(name),
    info: (name) => where.get(name)?.info(name),
    read: (name) => {
      if (!open) throw new Error(`checkpoint ${source} is closed`);
      const r = where.get(name);
      if (!r) throw new Error(`checkpoint ${source}: tensor '${name}' is missing`);
      const t = r.read(name);
      if (!WEIGHT_DTYPES.includes(t.dtype))
        throw new Error(`checkpoint ${r.path}: tensor '${name}' has dtype ${t.dtype}; weights must be F32, F16 or BF16`);
      return { dtype: t.dtype as CheckpointDtype, shape: t.shape, data: toFloat32(t, name) };
    },
    readHalf: (name) => {
      if (!open) throw new Error(`checkpoint ${source} is closed`);
      const r = where.get(name);
      if (!r) throw new Error(`checkpoint ${source}: tensor '${name}' is missing`);
      const t = r.read(name);
      if (t.dtype !== 'BF16' && t.dtype !== 'F16') throw new Error(`checkpoint ${r.path}: tensor '${name}' has dtype ${t.dtype}, not BF16 or F16`);
      return { dtype: t.dtype, shape: t.shape, data: t.data as Uint16Array };
    },
    close: () => {
      if (!open) return;
      open = false;
      for (const r of readers) r.close();
    },
  };
}

function openIndex(indexPath: string): CheckpointTensors {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint ${indexPath}: cannot read the shard index (${(e as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map))
    throw new Error(`checkpoint ${indexPath}: "weight_map" must be an object of tensor name -> shard file`);
  const dir = path.dirname(indexPath);
  const readers = new Map<string, SafetensorsReader>();
  const where = new Map<string, SafetensorsReader>();
  try {
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== 'string' || file === '' || path.isAbsolute(file) || file.split(/[\\/]/).includes('..'))
        throw new Error(`checkpoint ${indexPath}: weight_map['${name}'] must be a shard file name in the same folder, got ${JSON.stringify(file)}`);
      let r = readers.get(file);
      if (!r) {
        r = openSafetensors(path.join(dir, file));
        readers.set(file, r);
      }
      if (!r.info(name)) throw new Error(`checkpoint ${indexPath}: tensor '${name}' is mapped to ${file}, which does not hold it`);
      where.set(name, r);
    }
  } catch (e) {
    for (const r of readers.values()) r.close();
    throw e;
  }
  return fromReaders(indexPath, [...readers.values()], where);
}

function openFile(file: string): CheckpointTensors {
  const r = openSafetensors(file);
  return fromReaders(file, [r], new Map(r.names().map((n) => [n, r])));
}

/**
 * Opens a checkpoint's tensors: `pathOrDir` is a folder (its `model.safetensors`, else its
 * `model.safetensors.index.json`), a `.safetensors` file, or a shard index `.json`.
 */
export function loadCheckpointTensors(pathOrDir: string): CheckpointTensors {
  if (typeof pathOrDir !== 'string' || pathOrDir === '') throw new TypeError('checkpoint path must be a non-empty string');
  let st: fs.Stats;
  try {
    st = fs.statSync(pathOrDir);
  } catch (e) {
    throw new Error(`checkpoint ${pathOrDir}: cannot open (${(e as Error).message})`);
  }
  if (st.isDirectory()) {
    const single = path.join(pathOrDir, SAFETENSORS_FILE);
    if (fs.existsSync(single)) return openFile(single);
    const index = path.join(pathOrDir, SAFETENSORS_INDEX_FILE);
    if (fs.existsSync(index)) return openIndex(index);
    throw new Error(`checkpoint ${pathOrDir}: the folder has neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX_FILE}`);
  }
  return pathOrDir.endsWith('.json') ? openIndex(pathOrDir) : openFile(pathOrDir);
}
