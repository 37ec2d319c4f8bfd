/**
 * Area by component, from circuit parameters and the fabric's geometry (no simulation needed).
 *
 * The array is a grid of L x L cells at the cell pitch p (`power.cell_pitch_m`, the same pitch the
 * energy model measures wires in). Each cell holds:
 *   rng             the RNG circuit (area per cell)
 *   bias_network    the divider: one programmable conductance per input (D neighbours + the bias),
 *                   a switched unit conductance per weight bit, plus the bias-node capacitor
 *                   C / (capacitance density)
 *   latch           the output latch
 *   weight_storage  (D + 1) values x weight_bits bit cells (each end of a wire keeps its own copy:
 *                   the weight sets a conductance in both cells' dividers); reported per rule
 *   clock           the cell's share of the clock tree (buffers)
 * and a cell occupies max(p^2, its devices): `spare` is what the devices leave free of p^2. When
 * the devices need more than p^2 the cell grows to their sum and `cell.fits` is false (the energy
 * model's wire lengths still use p, so the caller should say so).
 *
 * Wires run in metal over the cells: rule r's wires need length x track pitch of metal
 * (reported per rule). They cost die area only when they do not fit over the array in the routing
 * layers available: `routing` = max(0, metal / layers - array area).
 * Tile links: one driver per direction of every wire that crosses a tile boundary.
 * I/O: one lane per program and readout bit per cycle, plus a fixed interface block (bond pads
 * are not modelled).
 *
 * With `arrays` > 1 (the DTM pipeline mapping: T arrays) everything but the I/O is replicated.
 * Components are reported in m^2 and sum exactly to the total (the total is their sum, in the fixed
 * order of AREA_COMPONENTS). A missing or invalid parameter is an error naming it.
 */
import { UserError } from '../fabric/errors.js';
import { directions, type Rule } from '../fabric/rules.js';

export interface AreaParams {
  /** cell pitch (m): the grid spacing */
  cell_pitch_m: number;
  /** signed weight precision in bits */
  weight_bits: number;
  /** bias-node capacitance (F) */
  node_capacitance_f: number;
  rng_m2: number;
  latch_m2: number;
  weight_bit_m2: number;
  conductance_bit_m2: number;
  cap_density_f_per_m2: number;
  clock_m2_per_cell: number;
  wire_pitch_m: number;
  routing_layers: number;
  link_m2: number;
  io_lane_m2: number;
  io_fixed_m2: number;
  /** program + readout bits per cycle */
  io_lanes: number;
}

export interface AreaGeometry {
  L: number;
  rules: Rule[];
  boundary: 'open' | 'torus';
  tileSize: number;
}

export const AREA_COMPONENTS = ['rng', 'bias_network', 'latch', 'weight_storage', 'clock', 'spare', 'routing', 'links', 'io'] as const;
export type AreaComponent = (typeof AREA_COMPONENTS)[number];

export interface RuleArea {
  rule: Rule;
  /** wire length in cell pitches, sqrt(a^2 + b^2) */
  length_pitches: number;
  /** directed wires of this rule on the grid (both directions of every undirected wire) */
  wires: number;
  /** bit cells storing this rule's 4 weights per cell, m^2 (all arrays) */
  weight_storage_m2: number;
  /** metal the rule's wires occupy (length x track pitch), m^2 (all arrays) */
  wire_metal_m2: number;
}

export interface AreaReport {
  /** m^2 by component plus `total` (their sum in AREA_COMPONENTS order) */
  area_m2: { total: number } & Record<AreaComponent, number>;
  arrays: number;
  cells: number;
  degree: number;
  cell: {
    /** devices of one cell (rng + bias network + latch + weight storage + clock), m^2 */
    devices_m2: number;
    /** pitch^2, m^2 */
    pitch_m2: number;
    /** the area a cell occupies: max(pitch^2, devices) */
    area_m2: number;
    /** devices / pitch^2 */
    fill: number;
    fits: boolean;
    /** weight and bias bits stored per cell */
    weight_bits: number;
    by_component_m2: Record<'rng' | 'bias_network' | 'latch' | 'weight_storage' | 'clock', number>;
  };
  /** per rule: storage and wire metal; the bias's storage is `bias_storage_m2` */
  rules: RuleArea[];
  bias_storage_m2: number;
  routing: { metal_m2: number; layers: number; capacity_m2: number; fill: number };
  /** directed tile-crossing wires (one link driver each) */
  links: number;
  io_lanes: number;
}

function need(p: Partial<AreaParams>, key: keyof AreaParams, positive = false): number {
  const v = p[key];
  if (v === undefined || typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new UserError(`area model: parameter "${key}" is ${v === undefined ? 'missing' : `invalid (${String(v)})`}`);
  }
  return v;
}

/**
 * Directed wires of direction (dx, dy), and how many cross a tile boundary, without building the
 * fabric: the x and y conditions are independent, so count each axis once (O(L)).
 */
export function directionCounts(L: number, dx: number, dy: number, boundary: 'open' | 'torus', tileSize: number): { wires: number; crossing: number } {
  const ts = Math.min(tileSize, L);
  const axis = (d: number) => {
    let valid = 0;
    let same = 0;
    for (let x = 0; x < L; x++) {
      let nx = x + d;
      if (boundary === 'torus') nx = ((nx % L) + L) % L;
      else if (nx < 0 || nx >= L) continue;
      valid++;
      if (Math.floor(x / ts) === Math.floor(nx / ts)) same++;
    }
    return { valid, same };
  };
  const ax = axis(dx);
  const ay = axis(dy);
  const wires = ax.valid * ay.valid;
  return { wires, crossing: wires - ax.same * ay.same };
}

export function areaModel(p: Partial<AreaParams>, g: AreaGeometry, arrays = 1): AreaReport {
  if (!Number.isInteger(arrays) || arrays < 1) throw new UserError(`area model: arrays = ${arrays}: must be an integer >= 1`);
  const pitch = need(p, 'cell_pitch_m', true);
  const bits = need(p, 'weight_bits', true);
  const layers = need(p, 'routing_layers', true);
  const N = g.L * g.L;
  const dirs = directions(g.rules);
  const D = dirs.length;
  const inputs = D + 1;
  const perCell = {
    rng: need(p, 'rng_m2'),
    bias_network: inputs * bits * need(p, 'conductance_bit_m2') + need(p, 'node_capacitance_f') / need(p, 'cap_density_f_per_m2', true),
    latch: need(p, 'latch_m2'),
    weight_storage: inputs * bits * need(p, 'weight_bit_m2'),
    clock: need(p, 'clock_m2_per_cell'),
  };
  const devices = perCell.rng + perCell.bias_network + perCell.latch + perCell.weight_storage + perCell.clock;
  const pitchArea = pitch * pitch;
  const cellArea = Math.max(pitchArea, devices);
  const wirePitch = need(p, 'wire_pitch_m', true);
  const bitArea = need(p, 'weight_bit_m2');
  let metal = 0;
  let crossing = 0;
  const rules: RuleArea[] = g.rules.map((rule, r) => {
    let wires = 0;
    for (let q = 0; q < 4; q++) {
      const [dx, dy] = dirs[4 * r + q];
      const c = directionCounts(g.L, dx, dy, g.boundary, g.tileSize);
      wires += c.wires;
      crossing += c.crossing;
    }
    const len = Math.hypot(rule[0], rule[1]);
    const m = arrays * wires * len * pitch * wirePitch;
    metal += m;
    return { rule: [rule[0], rule[1]], length_pitches: len, wires, weight_storage_m2: arrays * N * 4 * bits * bitArea, wire_metal_m2: m };
  });
  const arrayArea = arrays * N * cellArea;
  const capacity = layers * arrayArea;
  const ioLanes = need(p, 'io_lanes');
  const area = { total: 0 } as AreaReport['area_m2'];
  area.rng = arrays * N * perCell.rng;
  area.bias_network = arrays * N * perCell.bias_network;
  area.latch = arrays * N * perCell.latch;
  area.weight_storage = arrays * N * perCell.weight_storage;
  area.clock = arrays * N * perCell.clock;
  area.spare = arrays * N * (cellArea - devices);
  area.routing = Math.max(0, metal / layers - arrayArea);
  area.links = arrays * crossing * need(p, 'link_m2');
  area.io = need(p, 'io_fixed_m2') + ioLanes * need(p, 'io_lane_m2');
  let total = 0;
  for (const c of AREA_COMPONENTS) total += area[c];
  area.total = total;
  return {
    area_m2: area,
    arrays,
    cells: N,
    degree: D,
    cell: {
      devices_m2: devices,
      pitch_m2: pitchArea,
      area_m2: cellArea,
      fill: devices / pitchArea,
      fits: devices <= pitchArea,
      weight_bits: inputs * bits,
      by_component_m2: perCell,
    },
    rules,
    bias_storage_m2: arrays * N * bits * bitArea,
    routing: { metal_m2: metal, layers, capacity_m2: capacity, fill: metal / capacity },
    links: arrays * crossing,
    io_lanes: ioLanes,
  };
}
