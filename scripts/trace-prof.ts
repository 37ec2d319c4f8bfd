// Profile one traced bench row in this process: npx tsx scripts/trace-prof.ts ideal|cycle [chains] [on|off]
// Prints the row's wall time per sweep and, on Linux, this (the engine's) thread's CPU per sweep in
// the steady state: the row measured twice, long and short, the difference of CPU over the
// difference of sweeps (set-up and warm-up cancel). A writer thread's CPU is not in it.
import { readFileSync } from 'node:fs';
import { measureThread } from '../sim/bench.js';
const physics = (process.argv[2] ?? 'ideal') as 'ideal' | 'cycle';
const chains = Number(process.argv[3] ?? 64);
const trace = (process.argv[4] ?? 'on') === 'on';
/** this thread's CPU seconds (user + system), NaN off Linux */
const threadCpu = (): number => {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};
const spec = { physics, L: 70, rules: 'G12' as const, chains, workers: 1, trace, engine: 'auto' as const, sweeps: 20, warmupS: 1, minTimeS: 4 };
const c0 = threadCpu();
const r = await measureThread(spec, 0, chains);
const c1 = threadCpu();
const s = await measureThread({ ...spec, minTimeS: 0.5 }, 0, chains);
const c2 = threadCpu();
const cpuPerSweep = (c1 - c0 - (c2 - c1)) / (r.sweeps - s.sweeps);
console.log(
  physics,
  chains,
  trace ? 'trace' : 'plain',
  (r.updates / r.seconds / 1e9).toFixed(4),
  'updates/ns',
  ((r.seconds / r.sweeps) * 1e6).toFixed(1),
  'us/sweep',
  (cpuPerSweep * 1e6).toFixed(1),
  'us CPU/sweep (this thread)',
);
