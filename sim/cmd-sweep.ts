/**
 * `dtca sweep`: run the same Boltzmann-machine workload across values of one config parameter
 * (clock rate, grid size, tau_rng, ...) and report cost (time, energy: static and dynamic) next to
 * quality (stickiness: lag-one autocorrelation of the cells; bias: error of the moments against
 * the ideal chip on the same model). It shows both sides of a trade-off such as the clock rate.
 */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { buildChip } from './chip.js';
import { randomModel, readModel, type Model } from './model.js';
import { runModel } from './run.js';
import { prepareRunDir, writeJson } from './output.js';
import { writeChart } from './plot.js';
import { bmShape, checkResources, estimateRun } from './resources.js';

export interface SweepRow {
  value: unknown;
  engine: 'ideal' | 'cycle';
  sweep_time_s: number;
  energy_per_cell_sweep_j: number;
  static_per_cell_sweep_j: number;
  dynamic_per_cell_sweep_j: number;
  lag1_autocorr: number;
  /** the same on the ideal chip: the model's own autocorrelation */
  lag1_autocorr_ideal: number;
  moment_rmse: number;
  updates_per_ns: number;
}

async function measure(cfg: ResolvedConfig, m: Model, chains: number, sweeps: number, warmup: number) {
  const chip = buildChip(cfg);
  const N = chip.fabric.N;
  const prev = new Float64Array(N);
  let lagSum = 0;
  let lagN = 0;
  const r = await runModel(chip, m, {
    chains,
    sweeps,
    warmup,
    moments: true,
    onSweep: (v) => {
      if (v.sweep > warmup) {
        for (let i = 0; i < N; i++) lagSum += prev[i] * v.s[i];
        lagN += N;
      }
      prev.set(v.s.subarray(0, N));
    },
  });
  return { chip, r, lag1: lagSum / lagN };
}

function rmse(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

export function sweepCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'sweep [config]',
    'run one workload across values of a config parameter: cost against quality',
    (yy) =>
      yy
        .positional('config', { type: 'string', describe: 'preset name or config file' })
        .option('param', { type: 'string', demandOption: true, describe: 'dotted config path, e.g. clock.clock_hz' })
        .option('values', { type: 'string', demandOption: true, describe: 'comma-separated JSON values, e.g. 5e6,1e7,2e7,4e7' })
        .option('set', { type: 'string', array: true, describe: 'other overrides, as for dtca run' })
        .option('model', { type: 'string', describe: 'Boltzmann-machine model file (default: seeded random weights on the fabric)' })
        .option('chains', { type: 'number', default: 2 })
        .option('sweeps', { type: 'number', default: 400 })
        .option('warmup', { type: 'number', default: 50 })
        .option('json', { type: 'boolean', default: false })
        .option('out', { type: 'string', describe: 'output directory (default runs/<time>-sweep)' }),
    async (a) => {
      const values = String(a.values)
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (values.length === 0) throw new UserError('--values: give at least one value');
      const chains = Number(a.chains);
      const sweeps = Number(a.sweeps);
      const warmup = Number(a.warmup);
      for (const [k, v] of [['chains', chains], ['sweeps', sweeps], ['warmup', warmup]] as const) {
        if (!Number.isInteger(v) || v < (k === 'warmup' ? 0 : 1)) throw new UserError(`--${k} ${v}: must be a whole number`);
      }
      const sets = (a.set as string[] | undefined) ?? [];
      const model = a.model ? readModel(a.model as string) : null;
      const rows: SweepRow[] = [];
      const cfgAt = (v: string, ideal: boolean, seedShift = 0) => {
        const c = resolveConfig(a.config as string | undefined, { sets: [...sets, `${String(a.param)}=${v}`], ideal });
        c.seed += seedShift;
        return c;
      };
      // every row's run checked before the first starts: memory, exact counters (sim/resources.ts)
      for (const v of values) {
        const shape = bmShape(cfgAt(v, false), { chains, sweeps: sweeps + warmup, stages: model?.stages.length, edges: model ? Math.max(...model.stages.map((st) => st.ei.length)) : undefined });
        checkResources(shape, estimateRun(shape), { canForce: false, what: `the run at ${String(a.param)}=${v}` });
      }
      // one model for every row (built from the base seed when no file is given)
      const base = cfgAt(values[0], false);
      const m = model ?? randomModel(buildChip(base).fabric, base.seed, 0.25, 0.1);
      const moments = (r: Awaited<ReturnType<typeof measure>>) => [...r.r.moments!.mean_spin, ...r.r.moments!.edge_corr];
      // references run on the ideal chip with another seed, so every RMSE below carries the same
      // sampling noise; the floor is the RMSE between two ideal runs with different seeds
      const floor = rmse(moments(await measure(cfgAt(values[0], true), m, chains, sweeps, warmup)), moments(await measure(cfgAt(values[0], true, 1), m, chains, sweeps, warmup)));
      for (const v of values) {
        const ref = await measure(cfgAt(v, true, 1), m, chains, sweeps, warmup);
        const got = await measure(cfgAt(v, false), m, chains, sweeps, warmup);
        const e = got.r.energy;
        const cellSweeps = got.chip.fabric.N * chains * (sweeps + warmup);
        const stat = e.rng + e.bias_network + e.leakage;
        const dyn = e.cell_output + e.wires + e.links + e.clock;
        rows.push({
          value: JSON.parse(v),
          engine: got.chip.ideal ? 'ideal' : 'cycle',
          sweep_time_s: got.chip.timing.sweepCycles / got.chip.timing.clockHz,
          energy_per_cell_sweep_j: (stat + dyn) / cellSweeps,
          static_per_cell_sweep_j: stat / cellSweeps,
          dynamic_per_cell_sweep_j: dyn / cellSweeps,
          lag1_autocorr: got.lag1,
          lag1_autocorr_ideal: ref.lag1,
          moment_rmse: rmse(moments(got), moments(ref)),
          updates_per_ns: got.r.updatesPerNs,
        });
      }
      const dir = prepareRunDir(a.out as string | undefined, 'sweep');
      const report = { param: a.param, chains, sweeps, warmup, moment_rmse_floor: floor, rows };
      writeJson(`${dir}/sweep.json`, report);
      const data = rows.flatMap((r) => [
        { value: String(r.value), metric: 'energy per cell-sweep (fJ)', y: r.energy_per_cell_sweep_j * 1e15 },
        { value: String(r.value), metric: 'lag-1 autocorrelation', y: r.lag1_autocorr },
        { value: String(r.value), metric: 'moment RMSE vs ideal', y: r.moment_rmse },
      ]);
      await writeChart(
        {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          title: `Sweep of ${String(a.param)}`,
          data: { values: data },
          facet: { row: { field: 'metric', type: 'nominal', title: null } },
          spec: {
            width: 360,
            height: 120,
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'value', type: 'ordinal', sort: null, title: String(a.param) },
              y: { field: 'y', type: 'quantitative', title: null },
            },
          },
          resolve: { scale: { y: 'independent' } },
        },
        `${dir}/sweep`,
      );
      if (a.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      const head = `${String(a.param).padEnd(16)} engine  sweep time   E/cell/sweep  static   dynamic  lag-1 autocorr (ideal)  moment RMSE`;
      const lines = rows.map(
        (r) =>
          `${String(r.value).padEnd(16)} ${r.engine.padEnd(6)}  ${(r.sweep_time_s * 1e9).toFixed(1).padStart(7)} ns  ${(r.energy_per_cell_sweep_j * 1e15).toFixed(3).padStart(8)} fJ  ${(r.static_per_cell_sweep_j * 1e15).toFixed(3)}    ${(r.dynamic_per_cell_sweep_j * 1e15).toFixed(3)}    ${r.lag1_autocorr.toFixed(4).padStart(8)} (${r.lag1_autocorr_ideal.toFixed(4)})     ${r.moment_rmse.toFixed(4)}`,
      );
      process.stdout.write([head, ...lines, `moment RMSE between two ideal runs (statistical floor): ${floor.toFixed(4)}`, `written to ${dir}`].join('\n') + '\n');
    },
  );
}
