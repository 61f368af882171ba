// ESLint (flat config) for the TypeScript and JavaScript of this project: `npm run lint` (with
// the C++ format check, scripts/lint-native.sh). ESLint's and typescript-eslint's recommended
// rules, syntax-only (no type-aware rules: they would need a TypeScript program per file set and
// are slow on small CI machines; `tsc --strict` already checks types). No formatting rules here:
// layout is left as written.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['node_modules/', 'dist/', 'build/', 'build-*/', 'prebuilds/', 'coverage/', 'bench/results/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `catch {}` around optional probes (ISA support, onnxruntime-node, /proc files) is deliberate:
      // the empty block means "not available"; comments there say so where it is not obvious.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Unused names are errors, except `_`-prefixed ones (placeholders for a position or a
      // destructured field that is dropped on purpose) and caught errors that are not needed.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Errors are rethrown for the user with the original message folded into one line (what
      // failed, why, what to do); a `cause` chain would print a second stack under it.
      'preserve-caught-error': 'off',
      // Flags defensive initialisers of variables that a loop then always assigns
      // (`let ms = 0; for (;;) { ms = ...; if (...) break; }`); they keep TypeScript's definite
      // assignment analysis and the reader's simple.
      'no-useless-assignment': 'off',
    },
  },
  {
    // CommonJS: the command line, the build/release scripts, the reliability harness, jest's config.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: {
      // These files are plain CommonJS: require() is how they load modules.
      '@typescript-eslint/no-require-imports': 'off',
      // They take `performance`, `crypto`, ... from their modules explicitly
      // (`const { performance } = require('perf_hooks')`), shadowing Node's globals on purpose.
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  {
    files: ['test/**'],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // The bad-input tests pass what the types forbid (`x as any`): that is what they test.
      '@typescript-eslint/no-explicit-any': 'off',
      // jest.isolateModules()/jest.doMock() load fresh module copies with require().
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Type-level tests: compiled by tsc, never run. Their statements exist to be type-checked
    // (`x.weights.data;` under @ts-expect-error, values kept only for `typeof`).
    files: ['test/types/**'],
    rules: {
      '@typescript-eslint/no-unused-vars': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
