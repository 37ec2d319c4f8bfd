/** stats.json: what a run cost (cycles, seconds, joules) and what it measured. */
import type { Chip } from './chip.js';
import type { RunResult } from './run.js';
import { ENERGY_COMPONENTS } from '../power/energy.js';

export interface Stats {
  config: string;
  engine: 'ideal' | 'cycle';
  workload: string;
  cells: number;
  degree: number;
  wires: number;
  tiles: number;
  clock_hz: number;
  chains: number;
  sweeps: number;
  warmup: number;
  cycles: number;
  sim_time_s: number;
  cell_updates: number;
  energy_j: Record<string, number>;
  energy_per_cell_update_j: number;
  energy_per_cell_sweep_j: number;
  average_power_w: number;
  events: Record<string, number>;
  program: { bits: number; clipped: number; cycles: number };
  wall_s: number;
  updates_per_ns: number;
  moments?: { mean_spin: number[]; edge_corr: number[] };
}

export function makeStats(chip: Chip, r: RunResult, workload: string): Stats {
  const f = chip.fabric;
  const energy: Record<string, number> = { total: r.energy.total };
  for (const c of ENERGY_COMPONENTS) energy[c] = r.energy[c];
  const cellSweeps = f.N * r.chains * (r.sweeps + r.warmup);
  const s: Stats = {
    config: chip.config.name,
    engine: chip.ideal ? 'ideal' : 'cycle',
    workload,
    cells: f.N,
    degree: f.D,
    wires: f.wires,
    tiles: f.tilesPerSide * f.tilesPerSide,
    clock_hz: chip.timing.clockHz,
    chains: r.chains,
    sweeps: r.sweeps,
    warmup: r.warmup,
    cycles: r.cycles,
    sim_time_s: r.simTimeS,
    cell_updates: r.cellUpdates,
    energy_j: energy,
    energy_per_cell_update_j: r.cellUpdates > 0 ? r.energy.total / r.cellUpdates : 0,
    energy_per_cell_sweep_j: r.energy.total / cellSweeps,
    average_power_w: r.energy.total / r.simTimeS,
    events: { ...r.events },
    program: r.program,
    wall_s: r.wallS,
    updates_per_ns: r.updatesPerNs,
  };
  if (r.moments) s.moments = r.moments;
  return s;
}

function eng(v: number, unit: string): string {
  if (v === 0) return `0 ${unit}`;
  const prefixes: [number, string][] = [
    [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p'], [1e-15, 'f'], [1e-18, 'a'],
  ];
  const a = Math.abs(v);
  for (const [m, p] of prefixes) if (a >= m) return `${(v / m).toPrecision(4)} ${p}${unit}`;
  return `${v.toExponential(3)} ${unit}`;
}

/** A short table for people. */
export function formatStats(s: Stats): string {
  const rows: [string, string][] = [
    ['config', `${s.config} (${s.engine} engine)`],
    ['workload', s.workload],
    ['grid', `${s.cells} cells, degree ${s.degree}, ${s.tiles} tiles`],
    ['chains x sweeps', `${s.chains} x (${s.warmup} warm-up + ${s.sweeps})`],
    ['cycles', `${s.cycles.toLocaleString('en-US')} at ${eng(s.clock_hz, 'Hz')}`],
    ['simulated time', eng(s.sim_time_s, 's')],
    ['cell updates', s.cell_updates.toLocaleString('en-US')],
    ['energy total', eng(s.energy_j.total, 'J')],
  ];
  for (const [k, v] of Object.entries(s.energy_j)) {
    if (k === 'total') continue;
    const share = s.energy_j.total > 0 ? ((100 * v) / s.energy_j.total).toFixed(1) : '0.0';
    rows.push([`  ${k}`, `${eng(v, 'J')}  (${share}%)`]);
  }
  rows.push(
    ['energy / cell / sweep', eng(s.energy_per_cell_sweep_j, 'J')],
    ['average power', eng(s.average_power_w, 'W')],
    ['wall time', `${s.wall_s.toFixed(3)} s`],
    ['updates per ns', s.updates_per_ns.toFixed(4)],
  );
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
