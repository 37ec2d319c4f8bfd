// Builds the CLI (and its worker) into dist/ with esbuild. Run by `npm ci` (prepare) and by the tests.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: { dtca: 'cli/main.ts', worker: 'sim/worker.ts', 'sweep-worker': 'sim/sweep/worker.ts' },
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
  // bundled CommonJS dependencies call require(): give the ESM bundle one
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __dtcaCreateRequire } from 'node:module';\nconst require = __dtcaCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
