// Loads the compiled addon: a prebuild that matches this platform, else the local cmake-js
// build (build/Release). A failure names what was looked for and what to do.
import * as fs from 'fs';
import * as path from 'path';
import type { NativeBinding } from '../binding';

function packageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'CMakeLists.txt'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, '..');
    dir = up;
  }
}

function load(): NativeBinding {
  const root = packageRoot(__dirname);
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('node-gyp-build')(root) as NativeBinding;
  } catch (err) {
    const libc = (process.report?.getReport() as any)?.header?.glibcVersionRuntime ? 'glibc' : 'musl/other';
    throw new Error(
      `global-attention: could not load the native addon for ${process.platform}-${process.arch} ` +
        `(${libc}, Node ${process.version}, Node-API ${process.versions.napi}). ` +
        `Looked in ${path.join(root, 'prebuilds')} and ${path.join(root, 'build', 'Release')}. ` +
        `Build it from source with \`npm run build:native\` (needs cmake >= 3.15 and a C++17 compiler). ` +
        `Cause: ${(err as Error).message}`,
    );
  }
}

export const native: NativeBinding = load();
