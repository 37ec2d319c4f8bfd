/**
 * The energy-per-event table, as the power model uses it: `chip.table` (power/energy.ts, built by
 * buildChip) is the table every run multiplies its event counts by, and this module only describes
 * it (event, joules per event, component, formula, the config parameters it comes from) — it never
 * computes a value of its own. `dtca energy-table` prints it; every run directory gets
 * energy-table.json. For every component c:
 *
 *   energy_j[c] = events[table[c].event] * table[c].joules,   total = sum over c in table order
 *
 * which is exactly how power/energy.ts energyOf computes stats.json's energy. Static components
 * (rng, bias_network, leakage) count cell-seconds of on-time, so their entry is watts per cell and
 * events x entry is static power x time.
 */
import { ENERGY_COMPONENTS, type CircuitParams, type EnergyComponent } from '../power/energy.js';
import type { Chip } from './chip.js';
import { csvLine } from '../fabric/csv.js';

export const ENERGY_TABLE_FORMAT = 'dtca-energy-table';
export const ENERGY_TABLE_VERSION = 1;

/** Where each circuit parameter of the energy table lives in the resolved config (as sim/chip.ts passes it). */
export const ENERGY_PARAM_SOURCES: Record<keyof CircuitParams, string> = {
  vdd_v: 'power.vdd_v',
  cell_pitch_m: 'power.cell_pitch_m',
  wire_cap_f_per_m: 'power.wire_cap_f_per_m',
  output_cap_f: 'power.output_cap_f',
  clock_cap_f: 'power.clock_cap_f',
  leakage_w_per_cell: 'power.leakage_w_per_cell',
  weight_write_j_per_bit: 'power.weight_write_j_per_bit',
  init_j_per_cell: 'power.init_j_per_cell',
  readout_j_per_cell: 'power.readout_j_per_cell',
  link_energy_j: 'fabric.tile.link_energy_j',
  g_sigma_s: 'cell.g_sigma_s',
  rng_energy_per_bit_j: 'rng.energy_per_bit_j',
  rng_bit_rate_hz: 'rng.bit_rate_hz',
  rng_duty: 'rng.duty',
};

export function configValue(config: unknown, path: string): unknown {
  let v: unknown = config;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

export interface EnergyTableRow {
  component: EnergyComponent;
  event: string;
  kind: 'dynamic' | 'static';
  joules_per_event: number;
  /** what one event is */
  per: string;
  formula: string;
  /** config path -> value, the parameters the entry is computed from */
  params: Record<string, unknown>;
}

export interface StaticPowerRow {
  component: EnergyComponent;
  w_per_cell: number;
  chip_w: number;
  note: string;
}

export interface EnergyTableReport {
  format: typeof ENERGY_TABLE_FORMAT;
  version: typeof ENERGY_TABLE_VERSION;
  config: string;
  cells: number;
  rule: string;
  /** in the order the power model sums them */
  entries: EnergyTableRow[];
  static_power: { rows: StaticPowerRow[]; chip_w: number; note: string };
}

/** Describes chip.table (the table runs multiply by), in the power model's summation order. */
export function energyTableReport(chip: Chip): EnergyTableReport {
  const t = chip.table;
  const N = chip.fabric.N;
  const entries: EnergyTableRow[] = ENERGY_COMPONENTS.map((c) => {
    const e = t[c];
    const params: Record<string, unknown> = {};
    for (const p of e.params) params[ENERGY_PARAM_SOURCES[p]] = configValue(chip.config, ENERGY_PARAM_SOURCES[p]);
    return { component: c, event: e.event, kind: e.kind, joules_per_event: e.joules, per: e.per, formula: e.what, params };
  });
  const rows: StaticPowerRow[] = [];
  for (const c of ENERGY_COMPONENTS) {
    const e = t[c];
    if (e.kind !== 'static') continue;
    // the divider's power scales with gamma(1 - gamma) of its node; quote its maximum (1/4)
    const w = c === 'bias_network' ? e.joules * 0.25 : e.joules;
    const note = c === 'bias_network' ? 'at gamma(1-gamma) = 1/4, its maximum' : c === 'rng' ? 'while sweeping (rng.duty included)' : 'always';
    rows.push({ component: c, w_per_cell: w, chip_w: w * N, note });
  }
  return {
    format: ENERGY_TABLE_FORMAT,
    version: ENERGY_TABLE_VERSION,
    config: chip.config.name,
    cells: N,
    rule: 'energy_j[c] = events[entry.event] * entry.joules_per_event for each entry in this order; energy_j.total = their sum, added in this order',
    entries,
    static_power: {
      rows,
      chip_w: rows.reduce((a, r) => a + r.chip_w, 0),
      note: 'static entries are joules per cell-second (= watts per cell); their events are cell-seconds of on-time, so events x entry = static power x time',
    },
  };
}

/** One row per entry; static entries also carry their power per cell and for the chip. */
export function energyTableCsv(r: EnergyTableReport): string {
  const head = ['component', 'event', 'kind', 'joules_per_event', 'per', 'formula', 'parameters', 'static_w_per_cell', 'static_chip_w'];
  const lines = [csvLine(head)];
  for (const e of r.entries) {
    const st = r.static_power.rows.find((s) => s.component === e.component);
    const params = Object.entries(e.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('; ');
    lines.push(csvLine([e.component, e.event, e.kind, e.joules_per_event, e.per, e.formula, params, st?.w_per_cell ?? '', st?.chip_w ?? '']));
  }
  return lines.join('\n') + '\n';
}

/** The table for people. */
export function formatEnergyTable(r: EnergyTableReport, eng: (v: number, unit: string) => string): string {
  const out: string[] = [];
  out.push(`energy table of ${r.config} (${r.cells.toLocaleString('en-US')} cells): energy = events x J per event, by component`);
  const rows = r.entries.map((e) => [
    e.component,
    e.event,
    e.kind === 'static' ? eng(e.joules_per_event, 'W') + ' /cell' : eng(e.joules_per_event, 'J'),
    e.per,
    `${e.formula}; ${Object.entries(e.params)
      .map(([k, v]) => `${k} = ${String(v)}`)
      .join(', ')}`,
  ]);
  rows.unshift(['component', 'event', 'per event', 'one event is', 'from']);
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((x) => x[i].length)));
  for (const x of rows) out.push(x.map((v, i) => (i < 4 ? v.padEnd(w[i]) : v)).join('  '));
  out.push('');
  out.push('static power       per cell      chip');
  for (const s of r.static_power.rows) out.push(`${s.component.padEnd(18)} ${eng(s.w_per_cell, 'W').padEnd(13)} ${eng(s.chip_w, 'W').padEnd(12)} ${s.note}`);
  out.push(`${'total'.padEnd(18)} ${''.padEnd(13)} ${eng(r.static_power.chip_w, 'W')}`);
  return out.join('\n') + '\n';
}
