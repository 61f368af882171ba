// Loads the compiled addon with node-gyp-build: a local source build (build/Release) if there is
// one, else the prebuild in prebuilds/<platform>-<arch>/ that fits (Node-API, glibc/musl). When
// nothing loads, one Error says what this system is, what the package has, and what to do.
import * as fs from 'fs';
import * as path from 'path';
import type { NativeBinding } from '../binding';

/** Node-API version the addon is built for (package.json binary.napi_versions, NAPI_VERSION in CMakeLists.txt). */
const NAPI_VERSION = 8;
/** Oldest glibc the shipped prebuilds load on (checked by scripts/prebuild.js). */
const PREBUILD_GLIBC = '2.34';

/** The package directory: the nearest package.json named global-attention above this file. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg && pkg.name === 'global-attention') return dir;
    } catch {
      // no (readable) package.json here: keep going up
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..');
    dir = up;
  }
}

/** "glibc 2.36", "musl", or "" off Linux. */
function libc(): string {
  if (process.platform !== 'linux') return '';
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  } catch {
    // process.report unavailable: fall through
  }
  return fs.existsSync('/etc/alpine-release') ? 'musl' : 'musl or another non-glibc libc';
}

function listPrebuilds(root: string): string[] {
  const dir = path.join(root, 'prebuilds');
  try {
    return fs
      .readdirSync(dir)
      .flatMap((tuple) => fs.readdirSync(path.join(dir, tuple)).filter((f) => f.endsWith('.node')).map((f) => `${tuple}/${f}`));
  } catch {
    return [];
  }
}

function loadError(root: string, cause: Error): Error {
  const system = [`${process.platform}-${process.arch}`, libc(), `Node ${process.version}`, `Node-API ${process.versions.napi ?? '?'}`]
    .filter(Boolean)
    .join(', ');
  const msg = cause.message.trim().split('\n')[0];
  const prebuilds = listPrebuilds(root);
  const lines = [
    `global-attention: could not load its native addon on this system (${system}).`,
    `  Cause: ${msg}`,
    `  Looked in ${path.join(root, 'build', 'Release')} (a source build) and ${path.join(root, 'prebuilds')} ` +
      `(${prebuilds.length ? `has ${prebuilds.join(', ')}` : 'none shipped here'}; they need glibc >= ${PREBUILD_GLIBC}).`,
  ];
  const napi = Number(process.versions.napi);
  const glibc = /^glibc (\d+\.\d+)/.exec(libc());
  const [maj, min] = (glibc ? glibc[1] : '0.0').split('.').map(Number);
  const [needMaj, needMin] = PREBUILD_GLIBC.split('.').map(Number);
  const olderGlibc = glibc !== null && (maj < needMaj || (maj === needMaj && min < needMin));
  if (Number.isFinite(napi) && napi < NAPI_VERSION) {
    lines.push(`  What to do: this addon needs Node-API ${NAPI_VERSION} or newer; upgrade Node.js (>= 18).`);
  } else {
    const why =
      /GLIBC_[0-9.]+' not found/.test(msg) || olderGlibc
        ? `this glibc is older than the prebuilt addon needs (${PREBUILD_GLIBC})`
        : /wrong ELF class|cannot open shared object|invalid ELF header|No native build was found/.test(msg)
          ? 'no prebuilt addon fits this platform'
          : 'the addon failed to load';
    lines.push(
      `  What to do: ${why}; build it from source: \`npm rebuild global-attention --build-from-source\` ` +
        '(needs cmake >= 3.15, a C++17 compiler, and the optional dependencies cmake-js and node-addon-api); ' +
        'in a git checkout, `npm run build:native`.',
    );
  }
  const err = new Error(lines.join('\n'));
  (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

function load(): NativeBinding {
  const root = packageRoot();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, when first needed
    return require('node-gyp-build')(root) as NativeBinding;
  } catch (err) {
    throw loadError(root, err as Error);
  }
}

export const native: NativeBinding = load();
