/**
 * The cycle-accurate kernel's cost against the ideal one, as CPU time per cell update measured in
 * one process with the two interleaved: on a shared machine a `dtca bench` row's wall-clock rate
 * moves with the load between rows (its ideal and cycle rows run minutes apart, each in its own
 * process); here both engines run the same G12 workload as `dtca bench` (sim/bench.ts), chunk after
 * chunk (ideal, cycle, ideal), and each round's ratio uses the CPU time of its own chunks.
 *
 *   npx tsx scripts/cycle-ratio.ts [--chains 64] [--L 70] [--rounds 40] [--chunk 0.05]
 *
 * Prints the median over rounds of the ideal/cycle rate ratio (how many times slower the cycle
 * physics is), the median rates (updates per CPU ns) and the exact decisions per update.
 */
import { parseArgs } from 'node:util';
import { benchRunner, timeSteps, type BenchRunner as Runner } from './bench-runner.js';

const { values } = parseArgs({ options: { chains: { type: 'string' }, L: { type: 'string' }, rounds: { type: 'string' }, chunk: { type: 'string' } } });
const chains = Number(values.chains ?? 64);
const L = Number(values.L ?? 70);
const rounds = Number(values.rounds ?? 40);
const chunk = Number(values.chunk ?? 0.05);

function runner(physics: 'ideal' | 'cycle'): Runner {
  return benchRunner({ physics, L, chains, choice: 'auto' });
}

const run = timeSteps;

const ideal = runner('ideal');
const cycle = runner('cycle');
// warm-up: V8 moves the kernels to its optimising compiler in the background
run(ideal, 1);
run(cycle, 1.5);
const rates: { ideal: number[]; cycle: number[]; ratio: number[] } = { ideal: [], cycle: [], ratio: [] };
for (let k = 0; k < rounds; k++) {
  const a = run(ideal, chunk);
  const b = run(cycle, chunk);
  const c = run(ideal, chunk);
  const ri = (a.updates + c.updates) / (a.cpu + c.cpu) / 1e9;
  const rc = b.updates / b.cpu / 1e9;
  rates.ideal.push(ri);
  rates.cycle.push(rc);
  rates.ratio.push(ri / rc);
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
const st = cycle.engine.stats();
console.log(
  `L=${L}, ${chains} chains, ${rounds} rounds of ${chunk} s: cycle ${median(rates.ratio).toFixed(2)}x slower than ideal ` +
    `(median rates: ideal ${median(rates.ideal).toFixed(4)}, cycle ${median(rates.cycle).toFixed(4)} updates per CPU ns; ` +
    `exact decisions per update ${(st.exact_decisions / st.cell_updates).toExponential(2)})`,
);
