/**
 * Event counters filled by the hot loop and the program/readout steps. Energy is these counts
 * times a per-event table (power/energy.ts), plus static power times the on-time counted here.
 */
export interface EventCounts {
  /** chip clock cycles spent sweeping */
  cycles: number;
  /** cells clocked x cycles (clock tree load) */
  cell_cycles: number;
  /** p-bit latches (cell updates) */
  latches: number;
  /** output toggles of latched cells */
  toggles: number;
  /** sum over toggles of the wire length the cell drives, in cell pitches */
  wire_toggle_pitches: number;
  /** toggles carried over inter-tile links */
  link_toggles: number;
  /** integral over time of gamma(1 - gamma) of the bias dividers, cell-seconds */
  divider_s: number;
  /** RNG bias-on time, cell-seconds (before the duty factor) */
  rng_cell_s: number;
  /** cells x total simulated seconds (leakage) */
  leak_cell_s: number;
  /** weight and bias bits written when programming */
  weight_bits_written: number;
  /** cells initialised at chain starts */
  cells_initialised: number;
  /** cells read out */
  cells_read: number;
}

export const EVENT_KEYS: (keyof EventCounts)[] = [
  'cycles',
  'cell_cycles',
  'latches',
  'toggles',
  'wire_toggle_pitches',
  'link_toggles',
  'divider_s',
  'rng_cell_s',
  'leak_cell_s',
  'weight_bits_written',
  'cells_initialised',
  'cells_read',
];

export function zeroEvents(): EventCounts {
  const e = {} as EventCounts;
  for (const k of EVENT_KEYS) e[k] = 0;
  return e;
}

/** a += b, key by key, in a fixed order (deterministic float sums). */
export function addEvents(a: EventCounts, b: EventCounts): EventCounts {
  for (const k of EVENT_KEYS) a[k] += b[k];
  return a;
}

/** dst <- src, key by key. */
export function copyEvents(dst: EventCounts, src: EventCounts): EventCounts {
  for (const k of EVENT_KEYS) dst[k] = src[k];
  return dst;
}

export function diffEvents(a: EventCounts, b: EventCounts): EventCounts {
  const e = zeroEvents();
  for (const k of EVENT_KEYS) e[k] = a[k] - b[k];
  return e;
}
