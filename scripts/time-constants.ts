/**
 * Measures the wall-time constants of sim/resources.ts (TIME) on this machine: it plans and runs
 * DTM generations through sim/workload.ts, as `dtca run` does, on one thread, and compares what
 * each took with what estimateRun() announced for it.
 *
 *   npx tsx scripts/time-constants.ts [--quick] [--scale X] [--repeat 3]
 *
 * Each workload runs at two sweep counts (S and 3S); the difference of their CPU times divided by
 * the difference of their cell updates is the cost per update, free of set-up, and the shorter
 * run's remainder is the set-up. CPU time (process.cpuUsage: this thread does all the work with
 * --workers 1) is printed beside wall time because on a shared machine the wall clock moves with
 * the load and CPU time much less. Rows: the ideal and the cycle physics (the paper preset, and
 * its clock.analog_substeps and clock.phase_cycles varied), one image (the one-chain engine) and
 * 32 images (the many-chain engine where the weights are quantised), on the 70x70 G12 paper chip with its shipped model.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { resolveConfig } from '../sim/config.js';
import { planWorkload, executeWorkload } from '../sim/workload.js';
import { quietContext } from '../sim/context.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, scale: { type: 'string' }, repeat: { type: 'string' } } });
const scale = Number(values.scale ?? 1) * (values.quick ? 0.25 : 1);
const repeat = Number(values.repeat ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  name: string;
  ideal: boolean;
  sets: string[];
  images: number;
  /** sweeps per stage of the shorter run (the longer runs 3x) */
  sweeps: number;
}

// --ideal keeps exact weights (the one-chain engine); cell.weight_bits=8 lets the many-chain engine run it
const rows: Row[] = [
  { name: 'ideal, exact weights, 1 image', ideal: true, sets: [], images: 1, sweeps: 300 },
  { name: 'ideal, exact weights, 32 images', ideal: true, sets: [], images: 32, sweeps: 15 },
  { name: 'ideal, 8-bit weights, 32 images', ideal: true, sets: ['cell.weight_bits=8'], images: 32, sweeps: 60 },
  { name: 'cycle (4 substeps x 2 cycles), 1 image', ideal: false, sets: [], images: 1, sweeps: 300 },
  { name: 'cycle (4 substeps x 2 cycles), 32 images', ideal: false, sets: [], images: 32, sweeps: 30 },
  { name: 'cycle (1 substep x 2 cycles), 32 images', ideal: false, sets: ['clock.analog_substeps=1'], images: 32, sweeps: 30 },
  { name: 'cycle (16 substeps x 2 cycles), 32 images', ideal: false, sets: ['clock.analog_substeps=16'], images: 32, sweeps: 15 },
  { name: 'cycle (4 substeps x 20 cycles), 32 images', ideal: false, sets: ['clock.phase_cycles=10'], images: 32, sweeps: 15 },
  { name: 'cycle (16 substeps x 2 cycles), 1 image', ideal: false, sets: ['clock.analog_substeps=16'], images: 1, sweeps: 150 },
];

async function once(r: Row, sweeps: number) {
  const config = resolveConfig(undefined, { ideal: r.ideal, sets: r.sets });
  const ctx = quietContext();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const plan = planWorkload({ config, images: r.images, sweeps, workers: 1 }, ctx);
  const out = await executeWorkload(plan, ctx);
  const wall = (performance.now() - w0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const updates = out.stats.cell_updates;
  return { wall, cpu, updates, estimate: plan.estimate.seconds, engine: out.stats.engine?.used ?? '?' };
}

console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('row | engine | ns/update (CPU; median, range over the repeats) | ns/update (wall) | set-up s (CPU) | run at 3S: CPU s, wall s, estimate s');
for (const r of rows) {
  await once(r, 2); // compiles the kernels this row uses, so neither timed run pays for them
  const S = Math.max(2, Math.round(r.sweeps * scale));
  const cpuNs: number[] = [];
  const wallNs: number[] = [];
  const setups: number[] = [];
  let b = await once(r, 3 * S);
  for (let k = 0; k < repeat; k++) {
    const a = await once(r, S);
    b = await once(r, 3 * S);
    const du = b.updates - a.updates;
    const nsCpu = ((b.cpu - a.cpu) / du) * 1e9;
    cpuNs.push(nsCpu);
    wallNs.push(((b.wall - a.wall) / du) * 1e9);
    setups.push(a.cpu - (a.updates * nsCpu) / 1e9);
  }
  const spread = `${Math.min(...cpuNs).toFixed(2)}-${Math.max(...cpuNs).toFixed(2)}`;
  console.log(
    `${r.name} | ${b.engine} | ${median(cpuNs).toFixed(2)} (${spread}) | ${median(wallNs).toFixed(2)} | ${median(setups).toFixed(2)} | ${b.cpu.toFixed(2)}, ${b.wall.toFixed(2)}, ${b.estimate.toFixed(2)}`,
  );
}
console.log(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
