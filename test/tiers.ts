/**
 * The three test tiers (vitest projects, vitest.config.ts). `npm test` runs all three;
 * `npm run test:unit` runs the first alone.
 *
 * - unit: in-process only: no process is spawned (no dtca, no python, no GTKWave); worker threads
 *   are fine. About a minute. test/tiers.test.ts checks that these files import nothing that spawns.
 * - system: needs the machine's services: Slurm (sweep-slurm), Chromium (sweep-browser), a Python
 *   venv with pip (python-pkg), npm installing the checkout globally into a temporary prefix (install).
 * - cli: everything else: tests that spawn the built dtca (dist/dtca.js), /usr/bin/python3 or
 *   GTKWave, or run the CLI in worker threads (fuzz, harden). A new test file lands here unless it
 *   is listed below.
 */
export const UNIT = [
  'test/anygrid.test.ts',
  'test/area.test.ts',
  'test/csv.test.ts',
  'test/determinism.test.ts',
  'test/docs-links.test.ts',
  'test/docs-params.test.ts',
  'test/draws.test.ts',
  'test/dtm.test.ts',
  'test/energy.test.ts',
  'test/engines.test.ts',
  'test/errors.test.ts',
  'test/exact.test.ts',
  'test/fabric.test.ts',
  'test/fmnist.test.ts',
  'test/json-keys.test.ts',
  'test/guidance.test.ts',
  'test/kernel-bound.test.ts',
  'test/library-names.test.ts',
  'test/lint-layering.test.ts',
  'test/manifest.test.ts',
  'test/model-file.test.ts',
  'test/nonideal.test.ts',
  'test/physics.test.ts',
  'test/plausible.test.ts',
  'test/pool.test.ts',
  'test/plot.test.ts',
  'test/quality-classifier.test.ts',
  'test/quality-metrics.test.ts',
  'test/resources-time.test.ts',
  'test/rng.test.ts',
  'test/stale-temps.test.ts',
  'test/stop-hook.test.ts',
  'test/sweep-train-unit.test.ts',
  'test/tiers.test.ts',
  'test/tiles.test.ts',
  'test/train-budget.test.ts',
  'test/train-gradient.test.ts',
  'test/wasm/asm-arena.test.ts',
  'test/wasm/emit-hash.test.ts',
  'test/wasm/struct.test.ts',
  'test/trace-golden.test.ts',
  'test/trace-thread.test.ts',
];

export const SYSTEM = ['test/sweep-slurm.test.ts', 'test/sweep-browser.test.ts', 'test/python-pkg.test.ts', 'test/install.test.ts'];

export const ALL = 'test/**/*.test.ts';
