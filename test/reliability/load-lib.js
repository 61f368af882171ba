// Loads the library for the reliability child processes (plain `node`, not jest).
//
// By default it loads the TypeScript sources in lib/ directly, transpiled in memory with the
// project's own `typescript` (what ts-jest does for the other suites), so the children always run
// the current sources and `npm test` needs no build step beyond the addon itself. Set
// GA_RELIABILITY_LIB=dist to load the compiled package (dist/lib/index.js) instead.
//
// The native addon comes from wherever lib/native.ts finds it (build/Release, or the directory
// named by GLOBAL_ATTENTION_PREBUILD, which is how scripts/test-asan.sh swaps in the
// sanitizer build).
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');

let hooked = false;
function installTsHook() {
  if (hooked) return;
  hooked = true;
  const ts = require(require.resolve('typescript', { paths: [ROOT] }));
  const options = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2021,
    esModuleInterop: true,
    sourceMap: false,
    inlineSourceMap: true,
    isolatedModules: true,
  };
  const previous = Module._extensions['.ts'];
  Module._extensions['.ts'] = function compileTs(module, filename) {
    if (!filename.startsWith(ROOT + path.sep) || filename.includes(`${path.sep}node_modules${path.sep}`)) {
      if (previous) return previous(module, filename);
      throw new Error(`load-lib: refusing to transpile ${filename}`);
    }
    const source = fs.readFileSync(filename, 'utf8');
    const out = ts.transpileModule(source, { compilerOptions: options, fileName: filename });
    module._compile(out.outputText, filename);
  };
}

function loadLib() {
  if (process.env.GA_RELIABILITY_LIB === 'dist') {
    return require(path.join(ROOT, 'dist', 'lib', 'index.js'));
  }
  installTsHook();
  return require(path.join(LIB, 'index.ts'));
}

/** The raw addon, exactly as lib/native.ts loaded it (shares the same module instance). */
function loadNative() {
  if (process.env.GA_RELIABILITY_LIB === 'dist') return require(path.join(ROOT, 'dist', 'lib', 'native.js')).native;
  installTsHook();
  return require(path.join(LIB, 'native.ts')).native;
}

/** Any other module of lib/ by its name without extension ('safetensors', 'tglobal', ...). */
function loadLibModule(name) {
  if (process.env.GA_RELIABILITY_LIB === 'dist') return require(path.join(ROOT, 'dist', 'lib', `${name}.js`));
  installTsHook();
  return require(path.join(LIB, `${name}.ts`));
}

module.exports = { ROOT, loadLib, loadNative, loadLibModule };
