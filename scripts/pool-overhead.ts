/**
 * The cost of a tiny library call on worker threads, call after call in one process: what a
 * notebook or a design-space script calling `generate` / `runModel` in a loop pays per call beyond
 * the simulation itself (thread start-up and the WebAssembly compile inside each new thread, when
 * the threads are not kept between calls: sim/pool.ts).
 *
 *   npx tsx scripts/pool-overhead.ts [--calls 10] [--workers 2] [--lib path/to/dist/index.js]
 *
 * Prints, for each call, the median wall time of N calls after a first one (which starts the
 * threads); with `closeWorkers` in the library, the same with every call ending its threads
 * (closeWorkers() after each, timed with the call: what every call paid before the threads were
 * kept); and with workers: 1 (the simulation alone, in the caller's thread). `--lib` measures
 * another build (an older checkout's dist/index.js: before and after, alternated, in one session);
 * by default these sources. Needs dist/worker.js (npm run build).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({ options: { calls: { type: 'string' }, workers: { type: 'string' }, lib: { type: 'string' } } });
const calls = Number(values.calls ?? 10);
const workers = Number(values.workers ?? 2);
const lib = (values.lib ? await import(pathToFileURL(resolve(values.lib)).href) : await import('../index.js')) as typeof import('../index.js');
const { resolveConfig, buildChip, randomModel, runModel, newDtmModel, generate, closeWorkers } = lib;

const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8', 'seed=3'] }));
const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
const dtm = newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.2 }, seed: 4 });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** median wall ms of `calls` calls of f after one untimed call; `fresh`: every call also ends its threads */
async function block(f: () => Promise<unknown>, fresh: boolean): Promise<number> {
  await f();
  if (fresh) await closeWorkers();
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await f();
    if (fresh) await closeWorkers();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}
async function time(label: string, f: (w: number) => Promise<unknown>): Promise<void> {
  const kept = await block(() => f(workers), false);
  const fresh = closeWorkers ? `, new threads each call ${(await block(() => f(workers), true)).toFixed(1).padStart(6)} ms` : '';
  const one = await block(() => f(1), false);
  console.log(`${label.padEnd(38)} workers ${workers}: ${kept.toFixed(1).padStart(6)} ms${fresh}; workers 1: ${one.toFixed(1).padStart(5)} ms`);
}

console.log(`${values.lib ?? 'these sources'}: node ${process.version}, median of ${calls} calls each, L = 16 (G8)`);
await time('runModel (4 chains, 5 + 20 sweeps)', (w) => runModel(chip, bm, { chains: 4, sweeps: 20, warmup: 5, workers: w }));
await time('generate (T = 2, 4 images, 10 sweeps)', (w) => generate(chip, dtm, { images: 4, sweeps: 10, workers: w }));
// the process ends by itself without this (idle threads are unref'd); it ends the threads now
await closeWorkers?.();
