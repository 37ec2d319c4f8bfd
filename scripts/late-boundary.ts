/**
 * What a late chip boundary does (cells/wasm/tiles.ts TileModel): the paper chip's grid (L = 70,
 * G12) split into two chips of 35 rows whose boundary rows reach the other chip `lag` sweeps late,
 * one chain of a random Boltzmann machine (weights U(-w, w), biases U(-0.1, 0.1)), against its
 * zero-latency twin. Prints, per lag: the lag-1 autocorrelation of the spins (mean over cells of
 * the sweep-to-sweep correlation) for cells within the rules' reach (10 rows) of a boundary and for
 * the others, and the error of the boundary-crossing edges' correlations <s_i s_j> against the
 * twin's long-run values (the stationary distribution a late boundary distorts), with the same
 * error between the twin and a twin with other draws (seed + 1) as the noise floor.
 *
 *   npx tsx scripts/late-boundary.ts [--w 0.5] [--sweeps 4000] [--lags 0,1,2,4,8] [--physics ideal|cycle]
 */
import { parseArgs } from 'node:util';
import { benchConfig } from '../sim/bench.js';
import { buildChip } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { runModel } from '../sim/run.js';
import { bandOf } from '../cells/wasm/tiles.js';

const { values } = parseArgs({ options: { w: { type: 'string' }, sweeps: { type: 'string' }, lags: { type: 'string' }, physics: { type: 'string' } } });
const w = Number(values.w ?? 0.5);
const sweeps = Number(values.sweeps ?? 4000);
const lags = (values.lags ?? '0,1,2,4,8').split(',').map(Number);
const physics = (values.physics ?? 'ideal') as 'ideal' | 'cycle';
const L = 70;
const bands = 2;
const R = 10;

const cfg = benchConfig({ physics, L, rules: 'G12' });
const chip = buildChip(cfg);
const model = randomModel(chip.fabric, cfg.seed, w, 0.1);
const N = chip.fabric.N;
const band = (y: number) => (y < bandOf(L, bands, 1)[0] ? 0 : 1);
const nearRow = (y: number) => Array.from({ length: 2 * R + 1 }, (_, k) => k - R).some((dy) => y + dy >= 0 && y + dy < L && band(y + dy) !== band(y));
const near = Uint8Array.from({ length: N }, (_, i) => (nearRow(Math.floor(i / L)) ? 1 : 0));
const st = model.stages[0];
const crossing = Array.from(st.ei, (_, e) => e).filter((e) => band(Math.floor(st.ei[e] / L)) !== band(Math.floor(st.ej[e] / L)));

async function measure(lag: number | null, onChip = chip) {
  const prev = new Float64Array(N);
  let have = false;
  const acc = [0, 0];
  const cnt = [0, 0];
  const r = await runModel(onChip, model, {
    chains: 1,
    sweeps,
    warmup: 100,
    moments: true,
    engine: lag === null ? 'reference' : 'wasm',
    tiles: lag === null ? undefined : 1,
    tileModel: lag === null ? undefined : { bands, lag },
    onSweep: (v) => {
      if (v.sweep < 100) return;
      if (have) {
        for (let i = 0; i < N; i++) {
          acc[near[i]] += v.s[i] * prev[i];
          cnt[near[i]]++;
        }
      }
      prev.set(v.s.subarray(0, N));
      have = true;
    },
  });
  // the sweep-to-sweep product minus the squared mean spin, per cell, averaged
  const m = r.moments!.mean_spin;
  let m2 = [0, 0];
  const n = [0, 0];
  for (let i = 0; i < N; i++) {
    m2[near[i]] += m[i] * m[i];
    n[near[i]]++;
  }
  m2 = m2.map((x, k) => x / n[k]);
  const rho = acc.map((a, k) => (a / cnt[k] - m2[k]) / (1 - m2[k]));
  return { rho, edge: crossing.map((e) => r.moments!.edge_corr[e]) };
}

const twin = await measure(null);
console.log(`L = ${L} G12, ${physics} physics, w = ${w}, 2 chips of 35 rows, ${sweeps} sweeps, ${crossing.length} boundary-crossing edges`);
console.log('lag  rho1 near boundary  rho1 interior  |<ss> - twin| on crossing edges (mean)');
console.log(`twin ${twin.rho[1].toFixed(4).padStart(17)} ${twin.rho[0].toFixed(4).padStart(14)}`);
// the noise floor: the twin with other draws (seed + 1) against the twin
const other = await measure(null, buildChip({ ...cfg, seed: cfg.seed + 1 }));
const floor = other.edge.reduce((a, x, k) => a + Math.abs(x - twin.edge[k]), 0) / other.edge.length;
console.log(`twin, seed + 1 (noise floor) ${other.rho[1].toFixed(4).padStart(5)} ${other.rho[0].toFixed(4).padStart(14)} ${floor.toFixed(4).padStart(12)}`);
for (const lag of lags) {
  const r = await measure(lag);
  const err = r.edge.reduce((a, x, k) => a + Math.abs(x - twin.edge[k]), 0) / r.edge.length;
  console.log(`${String(lag).padStart(4)} ${r.rho[1].toFixed(4).padStart(17)} ${r.rho[0].toFixed(4).padStart(14)} ${err.toFixed(4).padStart(12)}`);
}
