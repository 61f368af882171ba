// The layering rule (docs/ARCHITECTURE.md): scripts/check-floors.js finds no upward include or
// import in this tree, and does find them in a small tree that has each kind.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.resolve(__dirname, '..', 'scripts', 'check-floors.js');
const run = (root?: string) => spawnSync(process.execPath, root ? [SCRIPT, root] : [SCRIPT], { encoding: 'utf8' });

test('this repository: no include or import runs upward', () => {
  const r = run();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('a tree with upward includes and imports is refused, each one named', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-floors-'));
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  try {
    write('native/kernels/k.h', '#include "dispatch/dispatch.h"\n#include "runtime/parallel.h"\n');
    write('native/runtime/r.cc', '#include "kernels/k.h"\n');
    write('native/ops/o.cc', '#include <napi.h>\n#include "kernels/k.h"\n');
    write('native/binding/b.cc', '#include <napi.h>\n#include "ops/o.h"\n');
    write('lib/x.ts', "import { a } from '../bench/common/stats';\nimport { b } from './y';\n");
    const r = run(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/native\/kernels\/k\.h:1: kernels\/ includes dispatch\/dispatch\.h/);
    expect(r.stderr).toMatch(/native\/runtime\/r\.cc:1: runtime\/ includes kernels\/k\.h/);
    expect(r.stderr).toMatch(/native\/ops\/o\.cc:1: includes napi\.h/);
    expect(r.stderr).toMatch(/lib\/x\.ts:1: the library imports \.\.\/bench\/common\/stats/);
    expect(r.stderr).toMatch(/4 include\(s\)\/import\(s\) run upward/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
