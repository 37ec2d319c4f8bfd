// Profile one traced bench row in this process: npx tsx scripts/trace-prof.ts ideal|cycle [chains] [on|off]
import { measureThread } from '../sim/bench.js';
const physics = (process.argv[2] ?? 'ideal') as 'ideal' | 'cycle';
const chains = Number(process.argv[3] ?? 64);
const trace = (process.argv[4] ?? 'on') === 'on';
const r = await measureThread({ physics, L: 70, rules: 'G12', chains, workers: 1, trace, engine: 'auto', sweeps: 20, warmupS: 1, minTimeS: 4 }, 0, chains);
console.log(
  physics,
  chains,
  trace ? 'trace' : 'plain',
  (r.updates / r.seconds / 1e9).toFixed(4),
  'updates/ns',
  ((r.seconds / r.sweeps) * 1e6).toFixed(1),
  'us/sweep',
);
