/**
 * Energy = event counts x a per-event table + static power x on-time, reported by component.
 * The table is computed once from circuit parameters; a missing or non-finite parameter is an
 * error naming it, never a silent zero. Components sum exactly to the total (the total is their
 * sum, in the fixed order of ENERGY_COMPONENTS).
 */
import { UserError } from '../fabric/errors.js';
import { EVENT_KEYS, type EventCounts } from './events.js';

export interface CircuitParams {
  vdd_v: number;
  cell_pitch_m: number;
  wire_cap_f_per_m: number;
  output_cap_f: number;
  clock_cap_f: number;
  leakage_w_per_cell: number;
  weight_write_j_per_bit: number;
  init_j_per_cell: number;
  readout_j_per_cell: number;
  link_energy_j: number;
  g_sigma_s: number;
  rng_energy_per_bit_j: number;
  rng_bit_rate_hz: number;
  rng_duty: number;
}

export const ENERGY_COMPONENTS = ['rng', 'bias_network', 'cell_output', 'wires', 'links', 'clock', 'leakage', 'programming', 'init', 'readout'] as const;
export type EnergyComponent = (typeof ENERGY_COMPONENTS)[number];
export type EnergyReport = { total: number } & Record<EnergyComponent, number>;

/**
 * One entry of the table: joules per counted `event` (for static components the event is
 * cell-seconds of on-time, so the entry is watts per cell), the formula (`what`), what one event
 * is (`per`), and the circuit parameters the value is computed from.
 */
export interface EnergyEntry {
  event: keyof EventCounts;
  joules: number;
  what: string;
  per: string;
  kind: 'dynamic' | 'static';
  params: (keyof CircuitParams)[];
}

/** Joules per counted event (or watts per cell-second of on-time), one entry per component. */
export type EnergyTable = Record<EnergyComponent, EnergyEntry>;

function need(p: Partial<CircuitParams>, key: keyof CircuitParams): number {
  const v = p[key];
  if (v === undefined || typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new UserError(`energy table: circuit parameter "${key}" is ${v === undefined ? 'missing' : `invalid (${v})`}`);
  }
  return v;
}

export function energyTable(p: Partial<CircuitParams>): EnergyTable {
  const vdd = need(p, 'vdd_v');
  const v2 = vdd * vdd;
  return {
    rng: {
      event: 'rng_cell_s',
      joules: need(p, 'rng_energy_per_bit_j') * need(p, 'rng_bit_rate_hz') * need(p, 'rng_duty'),
      what: 'RNG bias power (energy per bit x bit rate x duty) per cell-second',
      per: 'cell-second of RNG on-time',
      kind: 'static',
      params: ['rng_energy_per_bit_j', 'rng_bit_rate_hz', 'rng_duty'],
    },
    bias_network: {
      event: 'divider_s',
      joules: need(p, 'g_sigma_s') * v2,
      what: 'divider static power G_sigma Vdd^2 per unit of gamma(1-gamma) cell-second',
      per: 'cell-second x gamma(1-gamma)',
      kind: 'static',
      params: ['g_sigma_s', 'vdd_v'],
    },
    cell_output: {
      event: 'toggles',
      joules: 0.5 * need(p, 'output_cap_f') * v2,
      what: '1/2 C_out Vdd^2 per output toggle',
      per: 'output toggle',
      kind: 'dynamic',
      params: ['output_cap_f', 'vdd_v'],
    },
    wires: {
      event: 'wire_toggle_pitches',
      joules: 0.5 * need(p, 'wire_cap_f_per_m') * need(p, 'cell_pitch_m') * v2,
      what: '1/2 C_wire (per pitch) Vdd^2 per toggle per pitch of wire driven',
      per: 'toggle x pitch of wire driven',
      kind: 'dynamic',
      params: ['wire_cap_f_per_m', 'cell_pitch_m', 'vdd_v'],
    },
    links: {
      event: 'link_toggles',
      joules: need(p, 'link_energy_j'),
      what: 'per toggle carried by an inter-tile link',
      per: 'link toggle',
      kind: 'dynamic',
      params: ['link_energy_j'],
    },
    clock: {
      event: 'cell_cycles',
      joules: need(p, 'clock_cap_f') * v2,
      what: 'C_clk Vdd^2 per cell per cycle',
      per: 'cell-cycle',
      kind: 'dynamic',
      params: ['clock_cap_f', 'vdd_v'],
    },
    leakage: {
      event: 'leak_cell_s',
      joules: need(p, 'leakage_w_per_cell'),
      what: 'leakage power per cell-second',
      per: 'cell-second',
      kind: 'static',
      params: ['leakage_w_per_cell'],
    },
    programming: {
      event: 'weight_bits_written',
      joules: need(p, 'weight_write_j_per_bit'),
      what: 'per weight bit written',
      per: 'weight bit written',
      kind: 'dynamic',
      params: ['weight_write_j_per_bit'],
    },
    init: {
      event: 'cells_initialised',
      joules: need(p, 'init_j_per_cell'),
      what: 'per cell initialised',
      per: 'cell initialised',
      kind: 'dynamic',
      params: ['init_j_per_cell'],
    },
    readout: {
      event: 'cells_read',
      joules: need(p, 'readout_j_per_cell'),
      what: 'per cell read out',
      per: 'cell read',
      kind: 'dynamic',
      params: ['readout_j_per_cell'],
    },
  };
}

/** the keys of an EnergyReport in order: total, then ENERGY_COMPONENTS (energyInto writes their values in this order) */
export const ENERGY_REPORT_KEYS: readonly string[] = ['total', ...ENERGY_COMPONENTS];

/**
 * The values of energyOf(ev, table) in ENERGY_REPORT_KEYS' order into out[at ..], without building
 * the report (traces take one per chain and sweep); energyOf is this, made into an object.
 */
export function energyInto(ev: EventCounts, table: EnergyTable, out: Float64Array, at: number): void {
  const v = scratchValues;
  for (let i = 0; i < EVENT_KEYS.length; i++) v[i] = ev[EVENT_KEYS[i]];
  energyIntoValues(v, table, out, at);
}
const scratchValues = new Float64Array(EVENT_KEYS.length);

/**
 * energyInto for counts given by position, vals[i] the count of EVENT_KEYS[i] (a trace's sweep
 * energy, once per chain and sweep: no keyed lookups). The same products and the same sum.
 */
export function energyIntoValues(vals: ArrayLike<number>, table: EnergyTable, out: Float64Array, at: number): void {
  const a = tableArrays(table);
  let total = 0;
  for (let q = 0; q < a.event.length; q++) {
    const x = vals[a.event[q]] * a.joules[q];
    out[at + 1 + q] = x;
    total += x;
  }
  out[at] = total;
}

/** a table's entries in ENERGY_COMPONENTS' order as arrays: each one's event (its index in EVENT_KEYS) and joules (tables are not changed once made) */
function tableArrays(table: EnergyTable): { event: Int32Array; joules: Float64Array } {
  let a = tableArraysOf.get(table);
  if (!a) {
    a = {
      event: Int32Array.from(ENERGY_COMPONENTS, (c) => EVENT_KEYS.indexOf(table[c].event)),
      joules: Float64Array.from(ENERGY_COMPONENTS, (c) => table[c].joules),
    };
    if (a.event.some((i) => i < 0)) throw new Error('energy table: an entry counts an event not in EVENT_KEYS');
    tableArraysOf.set(table, a);
  }
  return a;
}
const tableArraysOf = new WeakMap<EnergyTable, { event: Int32Array; joules: Float64Array }>();

export function energyOf(ev: EventCounts, table: EnergyTable): EnergyReport {
  // the values by position into a scratch array, then one object of every key at once in the report's
  // order (total, then ENERGY_COMPONENTS): no keyed stores, one shape
  const e = scratchEnergy;
  energyInto(ev, table, e, 0);
  return {
    total: e[0],
    rng: e[1],
    bias_network: e[2],
    cell_output: e[3],
    wires: e[4],
    links: e[5],
    clock: e[6],
    leakage: e[7],
    programming: e[8],
    init: e[9],
    readout: e[10],
  };
}
const scratchEnergy = new Float64Array(ENERGY_COMPONENTS.length + 1);

{
  // the literal in energyOf lists the components in ENERGY_COMPONENTS' order (the key order reports and traces keep)
  const probe = energyOf(
    { cycles: 1 } as EventCounts,
    Object.fromEntries(ENERGY_COMPONENTS.map((c, q) => [c, { event: 'cycles', joules: q + 1 }])) as unknown as EnergyTable,
  );
  const keys = Object.keys(probe);
  if (!ENERGY_COMPONENTS.every((c, q) => probe[c] === q + 1)) throw new Error('energyOf: a component read from the wrong position');
  if (keys.join() !== ENERGY_REPORT_KEYS.join()) throw new Error(`energyOf: keys ${keys.join()} out of ENERGY_COMPONENTS' order`);
}
