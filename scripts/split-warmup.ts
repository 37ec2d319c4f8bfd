/**
 * How fast one chain split over T threads (cells/wasm/tiles.ts) reaches its steady rate: a new
 * engine runs the `dtca bench` workload (sim/bench.ts: G12, random weights) and prints its rate
 * (cell updates per wall ns) in windows from its first sweep, for two engines made one after the
 * other in one process (the second starts with this thread's code warm, its worker threads new).
 * Why `dtca bench` warms its one-chain L >= 256 rows up for SPLIT_WARMUP_S (cli/commands/bench.ts).
 *
 *   npx tsx scripts/split-warmup.ts [--L 256] [--tiles 2] [--engines 2]
 *
 * Needs dist/tile-worker.js (npm run build).
 */
import { parseArgs } from 'node:util';
import { benchRunner } from './bench-runner.js';

const { values } = parseArgs({ options: { L: { type: 'string' }, tiles: { type: 'string' }, engines: { type: 'string' } } });
const L = Number(values.L ?? 256);
const tiles = Number(values.tiles ?? 2);
const engines = Number(values.engines ?? 2);
const windows: [number, number][] = [
  [0, 0.3],
  [0.3, 0.6],
  [0.6, 1],
  [1, 2],
  [2, 3],
];
for (let e = 0; e < engines; e++) {
  const { step, engine, N } = benchRunner({ physics: 'ideal', L, chains: 1, choice: 'wasm', tiles });
  const out: string[] = [];
  const t0 = performance.now();
  for (const [a, b] of windows) {
    let n = 0;
    const ta = performance.now();
    while (performance.now() - t0 < b * 1000) {
      step();
      n++;
    }
    out.push(`${a}-${b} s ${((n * N) / ((performance.now() - ta) * 1e6)).toFixed(3)}`);
  }
  console.log(`L=${L}, ${tiles} thread(s), engine ${e + 1}: ${out.join(', ')}`);
  engine.dispose();
}
