/**
 * One chain split over T threads (cells/wasm/tiles.ts) against the same chain on one thread, in
 * one process with the two interleaved: on a shared machine a `dtca bench` row's wall-clock rate
 * moves with the load between rows (each row runs in its own process, minutes apart); here both
 * engines run the `dtca bench` workload (sim/bench.ts: G12, random weights) chunk after chunk
 * (one thread, T threads, one thread), and each round's ratio uses the wall time of its own chunks.
 *
 *   npx tsx scripts/tiles-ratio.ts [--L 256] [--tiles 2] [--physics ideal|cycle] [--rounds 20] [--chunk 0.2]
 *
 * Prints the median over rounds of the T-thread / one-thread wall-clock rate ratio, the median
 * rates (updates per wall ns) and the CPU time per update of each (the split's overhead: halo
 * copies and waiting at the barriers, spinning included). Needs dist/tile-worker.js (npm run build).
 */
import { parseArgs } from 'node:util';
import { benchRunner, timeSteps, type BenchRunner as Runner } from './bench-runner.js';

const { values } = parseArgs({
  options: { L: { type: 'string' }, tiles: { type: 'string' }, physics: { type: 'string' }, rounds: { type: 'string' }, chunk: { type: 'string' } },
});
const L = Number(values.L ?? 256);
const T = Number(values.tiles ?? 2);
const physics = (values.physics ?? 'ideal') as 'ideal' | 'cycle';
const rounds = Number(values.rounds ?? 20);
const chunk = Number(values.chunk ?? 0.2);

function runner(tiles: number): Runner {
  return benchRunner({ physics, L, chains: 1, choice: 'wasm', tiles });
}

const run = timeSteps;

const one = runner(1);
const many = runner(T);
// warm-up: V8 moves the kernels to its optimising compiler in the background
run(one, 1);
run(many, 1);
const r: { one: number[]; many: number[]; ratio: number[]; cpuOne: number[]; cpuMany: number[] } = { one: [], many: [], ratio: [], cpuOne: [], cpuMany: [] };
for (let k = 0; k < rounds; k++) {
  const a = run(one, chunk);
  const b = run(many, chunk);
  const c = run(one, chunk);
  const r1 = (a.updates + c.updates) / (a.wall + c.wall) / 1e9;
  const rT = b.updates / b.wall / 1e9;
  r.one.push(r1);
  r.many.push(rT);
  r.ratio.push(rT / r1);
  r.cpuOne.push(((a.cpu + c.cpu) / (a.updates + c.updates)) * 1e9);
  r.cpuMany.push((b.cpu / b.updates) * 1e9);
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
console.log(
  `${physics}, L=${L}, one chain, ${rounds} rounds of ${chunk} s: ${T} threads ${median(r.ratio).toFixed(2)}x one ` +
    `(median wall rates: one ${median(r.one).toFixed(4)}, ${T} threads ${median(r.many).toFixed(4)} updates/ns; ` +
    `CPU ns per update: one ${median(r.cpuOne).toFixed(2)}, ${T} threads ${median(r.cpuMany).toFixed(2)})`,
);
one.engine.dispose();
many.engine.dispose();
