/**
 * Area of a configured chip (power/area.ts does the arithmetic): `areaOf(config)` for any caller
 * (runs, sweeps, `dtca area`), the parameters it reads and where they live in the config, and the
 * formatting shared by `dtca area` and `dtca run`.
 */
import { UserError } from '../fabric/errors.js';
import { resolveRules } from '../fabric/rules.js';
import { areaModel, AREA_COMPONENTS, type AreaParams, type AreaReport } from '../power/area.js';
import type { ResolvedConfig } from './config.js';

export type { AreaReport } from '../power/area.js';
export { AREA_COMPONENTS } from '../power/area.js';

/** Where each area-model parameter comes from in the resolved config. */
export const AREA_PARAM_SOURCES: Record<keyof AreaParams, string> = {
  cell_pitch_m: 'power.cell_pitch_m',
  weight_bits: 'cell.weight_bits',
  node_capacitance_f: 'cell.node_capacitance_f',
  rng_m2: 'area.rng_m2',
  latch_m2: 'area.latch_m2',
  weight_bit_m2: 'area.weight_bit_m2',
  conductance_bit_m2: 'area.conductance_bit_m2',
  cap_density_f_per_m2: 'area.cap_density_f_per_m2',
  clock_m2_per_cell: 'area.clock_m2_per_cell',
  wire_pitch_m: 'area.wire_pitch_m',
  routing_layers: 'area.routing_layers',
  link_m2: 'area.link_m2',
  io_lane_m2: 'area.io_lane_m2',
  io_fixed_m2: 'area.io_fixed_m2',
  io_lanes: 'io.program_bits_per_cycle + io.readout_bits_per_cycle',
};

/** The area model's parameters from a resolved config. Exact (ideal) weights have no storage area. */
export function areaParams(cfg: ResolvedConfig): AreaParams {
  const wb = cfg.cell.weight_bits;
  if (wb === 'exact') {
    throw new UserError(
      'area: cell.weight_bits is "exact" (the ideal chip, e.g. --ideal): exact weights have no storage to measure; give a bit count, e.g. --set cell.weight_bits=8',
    );
  }
  if (!cfg.area) throw new UserError('area: the config has no "area" section (see dtca config schema)');
  return {
    ...cfg.area,
    cell_pitch_m: cfg.power.cell_pitch_m,
    weight_bits: wb,
    node_capacitance_f: cfg.cell.node_capacitance_f,
    io_lanes: cfg.io.program_bits_per_cycle + cfg.io.readout_bits_per_cycle,
  };
}

export interface AreaOptions {
  /** arrays on the chip (the DTM pipeline mapping uses T); default 1 */
  arrays?: number;
}

/** Area by component of the configured chip (m^2). Throws a UserError naming a missing parameter. */
export function areaOf(cfg: ResolvedConfig, opts: AreaOptions = {}): AreaReport {
  const f = cfg.fabric;
  return areaModel(areaParams(cfg), { L: f.L, rules: resolveRules(f.rules), boundary: f.boundary, tileSize: f.tile.size }, opts.arrays ?? 1);
}

/** The parameters with their config paths and values (for --json and the README). */
export function areaSources(cfg: ResolvedConfig): Record<string, { from: string; value: number }> {
  const p = areaParams(cfg);
  const out: Record<string, { from: string; value: number }> = {};
  for (const k of Object.keys(AREA_PARAM_SOURCES) as (keyof AreaParams)[]) out[k] = { from: AREA_PARAM_SOURCES[k], value: p[k] };
  return out;
}

/** m^2 -> "0.08453 mm²" */
export function mm2(v: number, digits = 4): string {
  return `${Number((v * 1e6).toPrecision(digits))} mm²`;
}

/** m^2 -> "15.74 µm²" */
export function um2(v: number, digits = 4): string {
  return `${Number((v * 1e12).toPrecision(digits))} µm²`;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** One line on the cell: devices against the pitch. */
export function cellLine(r: AreaReport, pitchM: number): string {
  const c = r.cell;
  const pitch = `${Number((pitchM * 1e6).toPrecision(4))} µm pitch`;
  if (c.fits) return `${um2(c.devices_m2)} of devices in ${um2(c.pitch_m2)} (${pitch}): fill ${pct(c.fill)}`;
  return `${um2(c.devices_m2)} of devices > ${um2(c.pitch_m2)} (${pitch}): the cell is taken as ${um2(c.area_m2)}; wire energies still use the ${pitch}`;
}

/** The note a run logs when the cell does not fit its pitch (undefined when it does). */
export function cellMisfit(r: AreaReport, pitchM: number): string | undefined {
  return r.cell.fits
    ? undefined
    : `cell devices need ${um2(r.cell.devices_m2)}, more than the pitch^2 of ${um2(r.cell.pitch_m2)} (power.cell_pitch_m = ${pitchM}): area uses the devices' sum; the energy model's wire lengths use the configured pitch`;
}

/** The `area_*` fields a run's stats.json gains, with throughput per mm^2 where it applies. */
export function areaStats(
  cfg: ResolvedConfig,
  s: { mapping?: unknown; T?: unknown; images_per_s?: unknown; cell_updates: number; sim_time_s: number },
): Record<string, unknown> {
  const arrays = s.mapping === 'pipeline' && typeof s.T === 'number' ? s.T : 1;
  let r: AreaReport;
  try {
    r = areaOf(cfg, { arrays });
  } catch (e) {
    if (e instanceof UserError) return { area_m2: null, area_note: e.message };
    throw e;
  }
  const a: Record<string, number> = { total: r.area_m2.total };
  for (const c of AREA_COMPONENTS) a[c] = r.area_m2[c];
  const mm = r.area_m2.total * 1e6;
  const out: Record<string, unknown> = {
    area_m2: a,
    area_arrays: arrays,
    area_cell_m2: r.cell.area_m2,
    area_cell_fill: r.cell.fill,
  };
  const misfit = cellMisfit(r, cfg.power.cell_pitch_m);
  if (misfit) out.area_note = misfit;
  if (typeof s.images_per_s === 'number') out.images_per_s_per_mm2 = s.images_per_s / mm;
  else out.cell_updates_per_s_per_mm2 = s.cell_updates / s.sim_time_s / mm;
  return out;
}

/** Table rows for a run's stats (area total and its non-zero components). */
export function areaRows(s: Record<string, unknown>): [string, string][] {
  const a = s.area_m2 as Record<string, number> | null | undefined;
  if (a === undefined) return [];
  if (a === null) return [['area', `n/a: ${String(s.area_note ?? 'no area model').replace(/^area: /, '')}`]];
  const arrays = s.area_arrays as number;
  const rows: [string, string][] = [['area total', `${mm2(a.total)}${arrays > 1 ? ` (${arrays} arrays)` : ''}, cell fill ${pct(s.area_cell_fill as number)}`]];
  for (const c of AREA_COMPONENTS) {
    if (a[c] === 0) continue;
    rows.push([`  ${c}`, `${mm2(a[c])}  (${((100 * a[c]) / a.total).toFixed(1)}%)`]);
  }
  if (typeof s.images_per_s_per_mm2 === 'number')
    rows.push(['images / s / mm²', Number(s.images_per_s_per_mm2.toPrecision(5)).toLocaleString('en-US', { maximumSignificantDigits: 5 })]);
  if (typeof s.cell_updates_per_s_per_mm2 === 'number') rows.push(['updates / s / mm²', s.cell_updates_per_s_per_mm2.toExponential(3)]);
  return rows;
}

/** The `dtca area` table. */
export function formatArea(cfg: ResolvedConfig, r: AreaReport): string {
  const rules = resolveRules(cfg.fabric.rules);
  const rows: [string, string][] = [
    [
      'config',
      `${cfg.name}: ${cfg.fabric.L} x ${cfg.fabric.L} cells, ${typeof cfg.fabric.rules === 'string' ? cfg.fabric.rules : JSON.stringify(rules)} (degree ${r.degree}), ${cfg.cell.weight_bits}-bit weights${r.arrays > 1 ? `, ${r.arrays} arrays` : ''}`,
    ],
    ['area total', `${mm2(r.area_m2.total)}  (${Number((Math.sqrt(r.area_m2.total) * 1e3).toPrecision(3))} mm square)`],
  ];
  for (const c of AREA_COMPONENTS) rows.push([`  ${c}`, `${mm2(r.area_m2[c])}  (${((100 * r.area_m2[c]) / r.area_m2.total).toFixed(1)}%)`]);
  const pc = r.cell.by_component_m2;
  rows.push(
    ['cell', cellLine(r, cfg.power.cell_pitch_m)],
    [
      '  devices',
      `rng ${um2(pc.rng)}, bias network ${um2(pc.bias_network)}, latch ${um2(pc.latch)}, weight storage ${um2(pc.weight_storage)} (${r.cell.weight_bits} bits), clock ${um2(pc.clock)}`,
    ],
  );
  for (const ru of r.rules) {
    rows.push([
      `rule (${ru.rule[0]},${ru.rule[1]})`,
      `${Number(ru.length_pitches.toPrecision(4))} pitch${ru.length_pitches === 1 ? '' : 'es'}, ${ru.wires.toLocaleString('en-US')} wires: storage ${mm2(ru.weight_storage_m2)}, wire metal ${mm2(ru.wire_metal_m2)}`,
    ]);
  }
  rows.push(['bias storage', mm2(r.bias_storage_m2)]);
  const rt = r.routing;
  rows.push([
    'routing',
    `${mm2(rt.metal_m2)} of metal in ${rt.layers} layer${rt.layers === 1 ? '' : 's'} over the array: ${pct(rt.fill)} of the capacity${rt.fill <= 1 ? ' (fits: no extra area)' : ` (overflows: ${mm2(r.area_m2.routing)} extra)`}`,
  ]);
  rows.push(
    ['links', `${r.links.toLocaleString('en-US')} tile-crossing drivers`],
    ['io', `${r.io_lanes.toLocaleString('en-US')} program/readout lanes + interface block`],
  );
  const w = Math.max(...rows.map((x) => x[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
