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

/**
 * Exact event counts, in integer units, accumulated in any order: what the engines tally
 * (cells/physics.ts) times integer cycle counts. Sums are kept in doubles while they are exactly
 * representable and spilled into BigInts before they could round, so a run's counts do not depend
 * on how its chains were batched or spread over threads. toEvents() converts to SI once.
 */
const EXACT_KEYS = [
  'cycles',
  'cell_cycles',
  'latches',
  'toggles',
  'wire_q',
  'link_toggles',
  'divider_q_cycles',
  'rng_latch_cycles',
  'leak_cell_cycles',
  'weight_bits_written',
  'cells_initialised',
  'cells_read',
] as const;
export type ExactKey = (typeof EXACT_KEYS)[number];
const SPILL = 2 ** 52;

export class ExactEvents {
  private readonly n: Record<ExactKey, number>;
  private readonly big: Record<ExactKey, bigint>;

  constructor() {
    this.n = {} as Record<ExactKey, number>;
    this.big = {} as Record<ExactKey, bigint>;
    for (const k of EXACT_KEYS) {
      this.n[k] = 0;
      this.big[k] = 0n;
    }
  }

  /** add a non-negative integer count */
  add(k: ExactKey, v: number): void {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`event ${k}: ${v} is not a count`);
    const x = this.n[k] + v;
    if (x >= SPILL) {
      this.big[k] += BigInt(this.n[k]) + BigInt(v);
      this.n[k] = 0;
    } else this.n[k] = x;
  }

  addAll(o: ExactEvents): void {
    for (const k of EXACT_KEYS) {
      this.big[k] += o.big[k];
      this.add(k, o.n[k]);
    }
  }

  get(k: ExactKey): bigint {
    return this.big[k] + BigInt(this.n[k]);
  }

  /** a plain object (BigInts as decimal strings) for messages between threads */
  toJSON(): Record<ExactKey, string> {
    const o = {} as Record<ExactKey, string>;
    for (const k of EXACT_KEYS) o[k] = this.get(k).toString();
    return o;
  }

  static fromJSON(o: Record<ExactKey, string>): ExactEvents {
    const e = new ExactEvents();
    for (const k of EXACT_KEYS) e.big[k] = BigInt(o[k]);
    return e;
  }

  /** SI event counts (power/energy.ts); divider and wire units from cells/physics.ts */
  toEvents(clockHz: number, wireUnitsPerPitch: number, dividerUnits: number): EventCounts {
    const num = (k: ExactKey) => Number(this.get(k));
    return {
      cycles: num('cycles'),
      cell_cycles: num('cell_cycles'),
      latches: num('latches'),
      toggles: num('toggles'),
      wire_toggle_pitches: num('wire_q') / wireUnitsPerPitch,
      link_toggles: num('link_toggles'),
      divider_s: num('divider_q_cycles') / dividerUnits / clockHz,
      rng_cell_s: num('rng_latch_cycles') / clockHz,
      leak_cell_s: num('leak_cell_cycles') / clockHz,
      weight_bits_written: num('weight_bits_written'),
      cells_initialised: num('cells_initialised'),
      cells_read: num('cells_read'),
    };
  }
}
