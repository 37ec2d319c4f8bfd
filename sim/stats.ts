/** stats.json: what a run cost (cycles, seconds, joules) and what it measured. */
import type { Chip } from './chip.js';
import type { RunResult, EngineReport, BetaSpec } from './run.js';
import type { GenerateResult } from './dtm.js';
import { ENERGY_COMPONENTS, type EnergyReport } from '../power/energy.js';
import type { EventCounts } from '../power/events.js';
import { areaRows } from './area.js';
import { eng } from './units.js';

export interface Stats {
  config: string;
  /** ideal (no relaxation, mismatch or latency) or cycle-accurate */
  physics: 'ideal' | 'cycle';
  /** the latch engine that ran, what was asked for and what auto passed over (cells/select.ts) */
  engine: EngineReport;
  workload: string;
  cells: number;
  degree: number;
  wires: number;
  tiles: number;
  clock_hz: number;
  cycles: number;
  sim_time_s: number;
  cell_updates: number;
  /** cells x sweeps (all chains or images, all stages) */
  cell_sweeps: number;
  energy_j: Record<string, number>;
  energy_per_cell_update_j: number;
  /** energy of the sweeps alone (no programming, init, readout or leakage outside sweeps) per cell per sweep */
  sweep_energy_per_cell_sweep_j: number;
  /** the sweeps' energy: static (RNG bias, divider, leakage while sweeping) and dynamic (toggles, wires, links, clock) */
  sweep_energy_j: { total: number; static: number; dynamic: number };
  /** weight, bias and clamp bits written */
  programming_energy_j: number;
  /** initialisation, readout and leakage outside the sweeps */
  other_energy_j: number;
  average_power_w: number;
  events: Record<string, number>;
  wall_s: number;
  updates_per_ns: number;
  [extra: string]: unknown;
}

export function energyObject(e: EnergyReport): Record<string, number> {
  const out: Record<string, number> = { total: e.total };
  for (const c of ENERGY_COMPONENTS) out[c] = e[c];
  return out;
}

export interface EnergySplit {
  sweep_j: number;
  static_j: number;
  dynamic_j: number;
  programming_j: number;
  other_j: number;
}

/**
 * Split a run's energy into what the sweeps cost (static: RNG bias, divider and the leakage of
 * the sweeping cells during their sweeps; dynamic: outputs, wires, links, clock) and the rest
 * (programming; init, readout and leakage outside the sweeps). The parts sum to the total.
 */
export function energySplit(chip: Chip, e: EnergyReport, cellSweeps: number): EnergySplit {
  const leakSweeps = Math.min(e.leakage, (chip.table.leakage.joules * cellSweeps * chip.timing.sweepCycles) / chip.timing.clockHz);
  const st = e.rng + e.bias_network + leakSweeps;
  const dyn = e.cell_output + e.wires + e.links + e.clock;
  return { sweep_j: st + dyn, static_j: st, dynamic_j: dyn, programming_j: e.programming, other_j: e.init + e.readout + (e.leakage - leakSweeps) };
}

interface Core {
  workload: string;
  engine: EngineReport;
  events: EventCounts;
  energy: EnergyReport;
  cycles: number;
  simTimeS: number;
  wallS: number;
  cellSweeps: number;
}

function coreStats(chip: Chip, r: Core): Stats {
  const f = chip.fabric;
  const updates = r.events.latches;
  const sp = energySplit(chip, r.energy, r.cellSweeps);
  return {
    config: chip.config.name,
    physics: chip.ideal ? 'ideal' : 'cycle',
    engine: r.engine,
    workload: r.workload,
    cells: f.N,
    degree: f.D,
    wires: f.wires,
    tiles: f.tilesPerSide * f.tilesPerSide,
    clock_hz: chip.timing.clockHz,
    cycles: r.cycles,
    sim_time_s: r.simTimeS,
    cell_updates: updates,
    cell_sweeps: r.cellSweeps,
    energy_j: energyObject(r.energy),
    energy_per_cell_update_j: updates > 0 ? r.energy.total / updates : 0,
    sweep_energy_per_cell_sweep_j: sp.sweep_j / r.cellSweeps,
    sweep_energy_j: { total: sp.sweep_j, static: sp.static_j, dynamic: sp.dynamic_j },
    programming_energy_j: sp.programming_j,
    other_energy_j: sp.other_j,
    average_power_w: r.energy.total / r.simTimeS,
    events: { ...r.events },
    wall_s: r.wallS,
    updates_per_ns: updates / (r.wallS * 1e9),
  };
}

/** beta as stats.json gives it: a number, or {start, end} for a ramp over each stage's sweeps */
function betaValue(beta: BetaSpec | undefined): number | { start: number; end: number } | undefined {
  return beta === undefined ? undefined : typeof beta === 'number' ? beta : { start: beta.start, end: beta.end };
}

/** beta for people: "1.1", or "0.8 -> 1.2 over each stage's sweeps" */
export function betaText(beta: unknown): string | null {
  if (typeof beta === 'number') return String(beta);
  if (beta && typeof beta === 'object' && typeof (beta as { start?: unknown }).start === 'number' && typeof (beta as { end?: unknown }).end === 'number')
    return `${(beta as { start: number }).start} -> ${(beta as { end: number }).end}`;
  return null;
}

/** A Boltzmann-machine run (chains of one stage); beta: the one the chains ran at (--beta, else the model's). */
export function makeStats(chip: Chip, r: RunResult, workload: string, beta?: BetaSpec): Stats {
  const s = coreStats(chip, { ...r, workload, cellSweeps: chip.fabric.N * r.chains * (r.sweeps + r.warmup) });
  Object.assign(s, { chains: r.chains, sweeps: r.sweeps, warmup: r.warmup, ...(beta === undefined ? {} : { beta: betaValue(beta) }), program: r.program });
  if (r.moments) s.moments = r.moments;
  return s;
}

/** A DTM generation run; beta: the one each stage ran at (--beta, else the model's). */
export function makeDtmStats(chip: Chip, g: GenerateResult, workload: string, beta?: BetaSpec): Stats {
  const s = coreStats(chip, { ...g, workload, cellSweeps: chip.fabric.N * g.images * g.T * g.sweeps });
  Object.assign(s, {
    images: g.images,
    T: g.T,
    sweeps_per_stage: g.sweeps,
    mapping: g.mapping,
    label_gain: g.labelGain,
    ...(beta === undefined ? {} : { beta: betaValue(beta) }),
    energy_per_image_j: g.energy.total / g.images,
    energy_per_stage_j: g.energy.total / (g.images * g.T),
    image_interval_s: g.imageIntervalS,
    images_per_s: 1 / g.imageIntervalS,
    program: { clipped: g.programClipped, weights_clipped: g.weightsClipped, guidance_weights_clipped: g.guidanceClipped },
    stages: g.stages.map((st) => ({ ...st, energy_j: energyObject(st.energy_j) })),
  });
  return s;
}

/** A number with an SI prefix: eng(3.5e-16, 'J') = "350 aJ" (sim/units.ts). */
export { eng };

/**
 * A seeded random-weight workload's energy, said for what it is: random weights make cells toggle
 * more than a trained model's, so the dynamic energy (and the energy per image) reads high.
 * Sets stats.energy_note (stats.json, and a line of the table).
 */
export function noteRandomWeights(s: Stats, model: { random_weights?: boolean }): void {
  if (!model.random_weights) return;
  const toggles = s.events.toggles / Math.max(1, s.events.latches);
  // a chip that holds its cells back (a clock far beyond the RNG, a cold RNG) toggles no more than a
  // trained model: then the note must not say this run's energy reads high
  if (toggles <= TRAINED_TOGGLE_FRACTION) {
    s.energy_note =
      'random-weight workload: seeded random weights, not a trained model; on the paper chip at 10 MHz, 250 sweeps, random weights toggle more than the shipped trained model (33% against 15% of cell updates, 14.8 against 10.2 nJ per image), ' +
      `but here only ${(100 * toggles).toFixed(1)}% of cell updates toggle, no more than the trained model there, so this run's dynamic energy does not read high for that reason; run a trained model (--model) for a workload's figure`;
    return;
  }
  s.energy_note =
    `random-weight workload: seeded random weights, not a trained model; random weights toggle more than a trained model (here ${(100 * toggles).toFixed(1)}% of cell updates toggle; ` +
    'measured on the paper chip at 10 MHz, 250 sweeps: 33% and 14.8 nJ per image with random weights against 15% and 10.2 nJ for the shipped trained model), ' +
    (typeof s.images === 'number' && s.images > 0
      ? "so the dynamic energy and the energy per image read high; run a trained model (--model) for a workload's figure"
      : "so the dynamic energy reads high; run a trained model (--model) for a workload's figure");
}

/** The shipped trained model's fraction of cell updates that toggle on the paper chip (docs/energy-and-area.md). */
export const TRAINED_TOGGLE_FRACTION = 0.155;

/** A short table for people. */
export function formatStats(s: Stats): string {
  const rows: [string, string][] = [
    ['config', `${s.config} (${s.physics} physics, ${s.engine.used} engine)`],
    ['workload', s.workload],
    ['grid', `${s.cells} cells, degree ${s.degree}, ${s.tiles} tile${s.tiles === 1 ? '' : 's'}`],
  ];
  if (s.images !== undefined) {
    rows.push(['images x stages x sweeps', `${s.images} x ${s.T} x ${s.sweeps_per_stage} (${s.mapping})`]);
    if (s.label_gain !== undefined && s.label_gain !== 1) rows.push(['label guidance', `x${s.label_gain} on the label cells' wires`]);
  } else {
    if (typeof s.stage === 'number') rows.push(['stage', `${s.stage} of the model, as a Boltzmann machine`]);
    rows.push(['chains x sweeps', `${s.chains} x (${s.warmup} warm-up + ${s.sweeps})${typeof s.init === 'string' ? `, ${s.init} start` : ''}`]);
  }
  const beta = betaText(s.beta);
  if (beta !== null && s.beta !== 1)
    rows.push(['beta', typeof s.beta === 'number' ? beta : `${beta} over each ${s.images !== undefined ? "stage's sweeps" : "chain's warm-up and sweeps"}`]);
  rows.push(
    ['cycles', `${s.cycles.toLocaleString('en-US')} at ${eng(s.clock_hz, 'Hz')}`],
    ['simulated time', eng(s.sim_time_s, 's')],
    ['cell updates', s.cell_updates.toLocaleString('en-US')],
    ['energy total', eng(s.energy_j.total, 'J')],
  );
  for (const [k, v] of Object.entries(s.energy_j)) {
    if (k === 'total') continue;
    const share = s.energy_j.total > 0 ? ((100 * v) / s.energy_j.total).toFixed(1) : '0.0';
    rows.push([`  ${k}`, `${eng(v, 'J')}  (${share}%)`]);
  }
  if (s.images !== undefined) {
    rows.push(['energy / image', eng(s.energy_per_image_j as number, 'J')], ['energy / image / stage', eng(s.energy_per_stage_j as number, 'J')]);
  }
  rows.push(...areaRows(s));
  rows.push(
    [
      'sweep energy / cell / sweep',
      `${eng(s.sweep_energy_per_cell_sweep_j, 'J')}  (static ${eng(s.sweep_energy_j.static / s.cell_sweeps, 'J')}, dynamic ${eng(s.sweep_energy_j.dynamic / s.cell_sweeps, 'J')}; without programming)`,
    ],
    ['programming energy', eng(s.programming_energy_j, 'J')],
    ['init, readout, idle leakage', eng(s.other_energy_j, 'J')],
    ['average power', eng(s.average_power_w, 'W')],
    ['wall time', `${s.wall_s.toFixed(3)} s`],
    // a small run's rate is below 1e-4 (e.g. 0.000871): in significant digits, never a bare 0.0000
    ['updates per ns', s.updates_per_ns >= 0.01 || s.updates_per_ns === 0 ? s.updates_per_ns.toFixed(4) : String(Number(s.updates_per_ns.toPrecision(3)))],
  );
  if (typeof s.energy_note === 'string') rows.push(['note', s.energy_note]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
