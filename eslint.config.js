// eslint (flat config): correctness rules only (style is prettier's), plus the layering rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './tools/eslint-layering.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...nodeGlobals() } },
    plugins: { dtca: layering },
    rules: {
      'dtca/layering': 'error',
      // the code base writes `a(), b()` comma sequences on purpose (tallies, best-so-far updates)
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // escaping control characters for display is what those regexes are for
      'no-control-regex': 'off',
      'no-regex-spaces': 'off',
    },
  },
);

function nodeGlobals() {
  const names = [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'TextEncoder',
    'TextDecoder',
    'performance',
    'WebAssembly',
    'AbortController',
    'AbortSignal',
    'SharedArrayBuffer',
    'Atomics',
    'fetch',
    'globalThis',
    '__dirname',
    '__filename',
    'require',
    'module',
  ];
  return Object.fromEntries(names.map((n) => [n, 'readonly']));
}
