// Builds the CLI (and its workers) and the library (dist/index.js) into dist/ with esbuild. Run by `npm ci` (prepare) and by the tests.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // the small pure-JS dependencies are bundled (resolving ~200 files at start-up costs more than
  // the simulation of a short run); the large and native ones stay external and load on demand
  external: ['vega', 'vega-lite', '@resvg/resvg-js', 'msgpackr-extract', 'playwright-core', 'fast-check'],
  sourcemap: true,
  define: { __DTCA_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};
// bundled CommonJS dependencies call require(): give the ESM bundle one
const requireShim = "import { createRequire as __dtcaCreateRequire } from 'node:module';\nconst require = __dtcaCreateRequire(import.meta.url);";
await Promise.all([
  build({
    ...common,
    entryPoints: { dtca: 'cli/main.ts', worker: 'sim/worker.ts', 'tile-worker': 'cells/wasm/tile-worker.ts', 'trace-worker': 'traces/trace-worker.ts' },
    banner: { js: `#!/usr/bin/env node\n${requireShim}` },
  }),
  // the library (package.json "exports"; its types come from tsconfig.build.json: npm run build:types)
  build({ ...common, entryPoints: { index: 'index.ts' }, banner: { js: requireShim } }),
]);
