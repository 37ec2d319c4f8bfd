/**
 * Chip assembly: resolved config -> fabric (built once), fabrication (per-cell mismatch), what the
 * latch engines need (cells/engine.ts EngineSpec), the clock's timing and the energy table.
 */
import { buildFabric, type Fabric } from '../fabric/fabric.js';
import { resolveRules } from '../fabric/rules.js';
import { fabricate, decay, type Fabrication } from '../rng/telegraph.js';
import { quantisePlanes, bitsPerValue, type Planes } from '../cells/planes.js';
import { isIdealPhysics, type EngineSpec } from '../cells/engine.js';
import { wireQ, WIRE_Q, DIVIDER_Q } from '../cells/physics.js';
import type { ExactEvents, EventCounts } from '../power/events.js';
import { energyTable, type EnergyTable } from '../power/energy.js';
import type { ResolvedConfig } from './config.js';
import { checkModelFitsFabric, stagePlanes, type Model } from './model.js';

export interface Timing {
  clockHz: number;
  phaseCycles: number;
  sweepCycles: number;
  substeps: number;
  /** seconds per analog substep */
  dt: number;
  tauBiasS: number;
  tauRngS: number;
}

export interface Chip {
  config: ResolvedConfig;
  fabric: Fabric;
  fab: Fabrication;
  timing: Timing;
  spec: EngineSpec;
  table: EnergyTable;
  /** true when every non-ideality is off: the kernel is exact chromatic Gibbs */
  ideal: boolean;
}

export function buildChip(config: ResolvedConfig): Chip {
  const rules = resolveRules(config.fabric.rules);
  const fabric = buildFabric({
    L: config.fabric.L,
    rules,
    boundary: config.fabric.boundary,
    tileSize: config.fabric.tile.size,
    linkLatencyCycles: config.fabric.tile.link_latency_cycles,
  });
  const fab = fabricate(config.rng, fabric.N, config.seed, config.chip_id);
  const c = config.clock;
  const dt = 1 / (c.clock_hz * c.analog_substeps);
  const tauBiasS = config.cell.node_capacitance_f / config.cell.g_sigma_s;
  const tauRngS = config.rng.tau_rng_s;
  const timing: Timing = {
    clockHz: c.clock_hz,
    phaseCycles: c.phase_cycles,
    sweepCycles: 2 * c.phase_cycles,
    substeps: c.analog_substeps,
    dt,
    tauBiasS,
    tauRngS,
  };
  const spec: EngineSpec = {
    layout: {
      L: fabric.L,
      N: fabric.N,
      D: fabric.D,
      dirs: fabric.dirs,
      boundary: fabric.boundary,
      nbr: fabric.nbr,
      cross: fabric.cross,
      crossCount: fabric.crossCount,
      wireQ: Int32Array.from(fabric.cellWireLen, wireQ),
      colourCells: fabric.colourCells,
    },
    physics: {
      aBias: decay(dt, tauBiasS),
      aRng: decay(dt, tauRngS),
      substeps: c.analog_substeps,
      gain: fab.gain,
      offset: fab.offset,
      vsOverVdd: fab.vSNominal / config.power.vdd_v,
      latency: config.fabric.tile.link_latency_cycles,
      phaseCycles: c.phase_cycles,
    },
  };
  const p = config.power;
  const table = energyTable({
    ...p,
    link_energy_j: config.fabric.tile.link_energy_j,
    g_sigma_s: config.cell.g_sigma_s,
    rng_energy_per_bit_j: config.rng.energy_per_bit_j,
    rng_bit_rate_hz: config.rng.bit_rate_hz,
    rng_duty: config.rng.duty,
  });
  return { config, fabric, fab, timing, spec, table, ideal: isIdealPhysics(spec.physics) };
}

export interface Program {
  planes: Planes;
  stage: number;
  /** weight and bias bits written to program the stage */
  bits: number;
  /** programmed values clipped by the weight full scale */
  clipped: number;
}

/** Write one stage of a model into the chip's planes (quantised to its weight precision). */
export function programStage(chip: Chip, model: Model, stage: number): Program {
  checkModelFitsFabric(model, chip.config, chip.fabric.rules);
  const st = model.stages[stage];
  const planes = stagePlanes(chip.fabric, st, `${model.source}: stages[${stage}]`);
  const cc = chip.config.cell;
  const clipped = quantisePlanes(planes, cc.weight_bits, cc.weight_full_scale);
  return { planes, stage, bits: planes.programmed * bitsPerValue(cc.weight_bits), clipped };
}

/** Exact event counts of this chip in SI units (power/events.ts). */
export function chipEvents(chip: Chip, ev: ExactEvents): EventCounts {
  return ev.toEvents(chip.timing.clockHz, WIRE_Q, DIVIDER_Q);
}
