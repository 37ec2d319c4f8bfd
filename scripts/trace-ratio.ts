/**
 * What tracing every sweep costs a `dtca bench` row, measured with the untraced and the traced row
 * alternated in one process (the host's speed drifts between a bench's rows): each round times the
 * row off, then on (sim/bench.ts measureThread: the same workload, trace file and writer thread),
 * and its ratio is the traced row's time per sweep over the untraced one's.
 *
 *   npx tsx scripts/trace-ratio.ts [--physics ideal|cycle] [--chains 64] [--rounds 5] [--time 1.5]
 *
 * Prints each round's µs per sweep off and on, and the median overhead.
 */
import { parseArgs } from 'node:util';
import { measureThread, type RowSpec } from '../sim/bench.js';

const { values } = parseArgs({ options: { physics: { type: 'string' }, chains: { type: 'string' }, rounds: { type: 'string' }, time: { type: 'string' } } });
const physics = (values.physics ?? 'ideal') as 'ideal' | 'cycle';
const chains = Number(values.chains ?? 64);
const rounds = Number(values.rounds ?? 5);
const time = Number(values.time ?? 1.5);
const spec = (trace: boolean): RowSpec => ({
  physics,
  L: 70,
  rules: 'G12',
  chains,
  workers: 1,
  trace,
  engine: 'auto',
  sweeps: 20,
  warmupS: 0.5,
  minTimeS: time,
});
const us = (r: { seconds: number; sweeps: number }) => (r.seconds * 1e6) / r.sweeps;
const ratios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const off = us(await measureThread(spec(false), 0, chains));
  const on = us(await measureThread(spec(true), 0, chains));
  ratios.push(on / off);
  console.log(`${physics} ${chains} chains, round ${i + 1}: off ${off.toFixed(1)} µs/sweep, on ${on.toFixed(1)}: +${((on / off - 1) * 100).toFixed(1)} %`);
}
const med = [...ratios].sort((a, b) => a - b)[ratios.length >> 1];
console.log(`${physics} ${chains} chains: tracing every sweep +${((med - 1) * 100).toFixed(1)} % (median of ${rounds} rounds)`);
