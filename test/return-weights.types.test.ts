// Type-level test: test/types/return-weights.ts must compile cleanly under `strict` against the
// library's sources. Its `@ts-expect-error` lines make it fail when a negative check stops being an
// error (tsc reports the unused directive), and its positive lines fail when `returnWeights: true`
// stops narrowing `weights` to a Tensor.
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');

function diagnostics(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2021, module: ts.ModuleKind.CommonJS,
    esModuleInterop: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('returnWeights: true narrows weights to a Tensor; without it weights is not claimed present (tsc --strict)', () => {
  expect(diagnostics(path.join(ROOT, 'test', 'types', 'return-weights.ts'))).toEqual([]);
});
