// Builds the CLI (and its workers) and the library (dist/index.js) into dist/ with esbuild. Run by the
// tests and `npm run build`; `node build.mjs --prepare` (npm's prepare) also writes the library's
// types, and does nothing when dist/ is newer than every source: npm runs prepare after `npm ci`,
// and again when the first `npx dtca` in a checkout installs the checkout into npx's cache to find
// its bin (about 10 s of building for nothing).
import { build } from 'esbuild';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const prepare = process.argv.includes('--prepare');
/** the newest modification time of the sources */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs|js|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['cells', 'cli', 'configs', 'fabric', 'power', 'rng', 'sim', 'traces']) walk(d);
  for (const f of ['index.ts', 'build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
    newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}
/** the oldest modification time of the outputs (0: one is missing) */
function oldestOutput() {
  let oldest = Infinity;
  for (const f of ['dtca.js', 'cli.js', 'worker.js', 'tile-worker.js', 'trace-worker.js', 'index.js', 'types/index.d.ts']) {
    try {
      oldest = Math.min(oldest, statSync(join('dist', f)).mtimeMs);
    } catch {
      return 0;
    }
  }
  return oldest;
}
if (prepare && oldestOutput() > newestSource()) {
  console.log('dtca: dist/ is up to date');
  process.exit(0);
}

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
    // dtca.js, the program, is small (cli/program.ts: it holds SIGINT/SIGTERM, then loads cli.js, the CLI)
    entryPoints: {
      dtca: 'cli/program.ts',
      cli: 'cli/main.ts',
      worker: 'sim/worker.ts',
      'tile-worker': 'cells/wasm/tile-worker.ts',
      'trace-worker': 'traces/trace-worker.ts',
    },
    banner: { js: `#!/usr/bin/env node\n${requireShim}` },
  }),
  // the library (package.json "exports"; its types come from tsconfig.build.json: npm run build:types)
  build({ ...common, entryPoints: { index: 'index.ts' }, banner: { js: requireShim } }),
]);

if (prepare) {
  // the library's types (tsconfig.build.json), as `npm run build:types`
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
