// A description of the machine a result was measured on: CPU, cores, caches, memory, our
// build (ISA, OpenMP), the FMA peak, ONNX Runtime's version, the git commit.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { info } from '../../lib/index';
import { wrapText } from './table';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the OS reports (vCPUs on a VM). */
  logicalCpus: number;
  /** Distinct (physical id, core id) pairs in /proc/cpuinfo; what a VM claims, not necessarily the truth. */
  physicalCores: number | null;
  /** CPU flags relevant to the kernels. */
  simdFlags: string[];
  caches: Record<string, string>;
  memTotalGiB: number;
  os: string;
  node: string;
  package: { version: string; isa: string; availableIsas: string[]; vectorWidth: number; openmp: boolean; threads: number; hardwareThreads: number };
  /** One-thread peak FMA GFLOP/s of the active ISA, measured by the bench. */
  fmaPeak1T: number;
  onnxruntime: string | null;
  git: { commit: string; dirty: boolean } | null;
  date: string;
}

function readCpuinfo(): { model: string; physicalCores: number | null; flags: string[] } {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let physicalCores: number | null = null;
  let flags: string[] = [];
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    for (const block of text.split(/\n\s*\n/)) {
      const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
      const m = field('model name');
      if (m) model = m;
      const pid = field('physical id');
      const cid = field('core id');
      if (pid !== undefined && cid !== undefined) cores.add(`${pid}/${cid}`);
      const f = field('flags') ?? field('Features');
      if (f && flags.length === 0) flags = f.split(/\s+/);
    }
    if (cores.size) physicalCores = cores.size;
  } catch {
    /* not Linux */
  }
  const simd = flags.filter((f) => /^(fma|avx|avx2|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_fp16|amx_\w+|asimd|sve|sve2|neon)$/.test(f));
  return { model, physicalCores, flags: simd };
}

function readCaches(): Record<string, string> {
  const out: Record<string, string> = {};
  const dir = '/sys/devices/system/cpu/cpu0/cache';
  try {
    for (const idx of fs.readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const r = (f: string) => fs.readFileSync(path.join(dir, idx, f), 'utf8').trim();
      const type = r('type');
      const name = `L${r('level')}${type === 'Data' ? 'd' : type === 'Instruction' ? 'i' : ''}`;
      out[name] = r('size');
    }
  } catch {
    /* not available */
  }
  return out;
}

function gitState(): MachineInfo['git'] {
  try {
    const cwd = path.resolve(__dirname, '..', '..', '..');
    const opts = { cwd, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

export function describeMachine(fmaPeak1T: number, onnxruntime: string | null): MachineInfo {
  const cpu = readCpuinfo();
  const i = info();
  return {
    cpuModel: cpu.model,
    logicalCpus: os.cpus().length,
    physicalCores: cpu.physicalCores,
    simdFlags: cpu.flags,
    caches: readCaches(),
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    package: {
      version: i.version, isa: i.isa, availableIsas: i.availableIsas, vectorWidth: i.vectorWidth, openmp: i.openmp,
      threads: i.threads, hardwareThreads: i.hardwareThreads,
    },
    fmaPeak1T,
    onnxruntime,
    git: gitState(),
    date: new Date().toISOString(),
  };
}

/** The machine as a few human-readable lines. */
export function formatMachine(m: MachineInfo): string {
  const caches = Object.entries(m.caches).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `CPU:      ${m.cpuModel}; ${m.logicalCpus} logical CPUs, ${m.physicalCores ?? '?'} core(s) as reported; ${m.memTotalGiB} GiB RAM`,
    `          ${m.simdFlags.join(' ')}${caches ? `; ${caches}` : ''}`,
    `Build:    global-attention ${m.package.version}, ISA ${m.package.isa} (${m.package.vectorWidth} lanes; available ${m.package.availableIsas.join(', ')}), ` +
      `OpenMP ${m.package.openmp ? 'on' : 'off'}, thread budget ${m.package.threads}`,
    `FMA peak: ${m.fmaPeak1T.toFixed(1)} GFLOP/s per thread (${m.package.isa}, measured now)`,
    `ORT:      ${m.onnxruntime ? `onnxruntime-node ${m.onnxruntime}` : 'not available'}; Node ${m.node}; ${m.os}` +
      (m.git ? `; git ${m.git.commit}${m.git.dirty ? ' (dirty tree)' : ''}` : ''),
  ]
    .map((line) => wrapText(line, undefined, '          '))
    .join('\n');
}
