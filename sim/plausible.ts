/**
 * Plausibility of a resolved config's physical values: a unit mistake (a 1 m cell pitch, a Vdd
 * of 800 V typed for 800 mV, a 10 Hz clock typed for 10 MHz, a capacitance in pF typed as F)
 * passes the schema (sim/config.ts), whose ranges are wide enough for any chip one may want to
 * explore. Every quantity with a unit has a plausible range here, decades either side of the paper
 * chip's value (docs/physics.md and docs/energy-and-area.md, column "plausible", give them); a
 * non-zero value outside it is a warning, never a refusal: the run goes on and its result is the
 * same. Zero is never implausible (it turns a mechanism off: tau_rng_s 0, --ideal's
 * node_capacitance_f 0, no leakage).
 *
 * One implementation for every command: checkConfig (sim/config.ts) computes the warnings of each
 * config it resolves (CheckedConfig.warnings) and hands them to the command's warning sink
 * (withConfigWarnings: the CLI logs each once per command on stderr, as its other warnings).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { eng, unitLabelOfKey } from './units.js';
import { getPath } from './config-check.js';

/** [low, high] of each config path with a unit, in the unit of the key (sim/units.ts unitLabelOfKey) */
export const PLAUSIBLE_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  'fabric.tile.link_energy_j': [1e-20, 1e-11],
  'clock.clock_hz': [1e4, 1e11],
  'rng.tau_rng_s': [1e-12, 1e-3],
  'rng.temperature_k': [1, 1000],
  'rng.nominal_temperature_k': [1, 1000],
  'rng.v_off_sigma_v': [1e-6, 0.5],
  'rng.energy_per_bit_j': [1e-20, 1e-11],
  'rng.bit_rate_hz': [1e4, 1e11],
  'cell.node_capacitance_f': [1e-18, 1e-11],
  'cell.g_sigma_s': [1e-11, 1e-3],
  'power.vdd_v': [0.05, 5],
  'power.cell_pitch_m': [1e-7, 1e-4],
  'power.wire_cap_f_per_m': [1e-12, 1e-8],
  'power.output_cap_f': [1e-18, 1e-11],
  'power.clock_cap_f': [1e-18, 1e-11],
  'power.leakage_w_per_cell': [1e-15, 1e-6],
  'power.weight_write_j_per_bit': [1e-19, 1e-9],
  'power.init_j_per_cell': [1e-20, 1e-11],
  'power.readout_j_per_cell': [1e-19, 1e-9],
  'area.rng_m2': [1e-15, 1e-8],
  'area.latch_m2': [1e-16, 1e-9],
  'area.weight_bit_m2': [1e-17, 1e-10],
  'area.conductance_bit_m2': [1e-17, 1e-10],
  'area.cap_density_f_per_m2': [1e-4, 1],
  'area.clock_m2_per_cell': [1e-16, 1e-9],
  'area.wire_pitch_m': [1e-8, 1e-5],
  'area.link_m2': [1e-16, 1e-9],
  'area.io_lane_m2': [1e-15, 1e-8],
  'area.io_fixed_m2': [1e-12, 1e-5],
};

/** A bound or a value as the warning writes it: "0.05", "300", "1e-7", "1e11". */
export function plainNumber(v: number): string {
  const x = Number(v.toPrecision(6));
  const a = Math.abs(x);
  if (x === 0 || (a >= 1e-2 && a < 1e4)) return String(x);
  return x.toExponential().replace('e+', 'e');
}

/** A value with an SI prefix in the path's unit: "1 µm", "800 mV", "9 µm²" (the prefix on the metre), "250 pW/cell". */
function withPrefix(v: number, label: string): string {
  const [unit, per] = label.split(/\/(?=bit$|cell$)/);
  let text: string;
  if (unit === 'm²') {
    const scales: [number, string][] = [
      [1, 'm²'],
      [1e-6, 'mm²'],
      [1e-12, 'µm²'],
      [1e-18, 'nm²'],
    ];
    const [m, u] = scales.find(([m]) => Math.abs(v) >= 0.01 * m) ?? scales[scales.length - 1];
    text = `${Number((v / m).toPrecision(4))} ${u}`;
  } else text = eng(v, unit);
  return per ? `${text}/${per}` : text;
}

/**
 * The warning for `value` at config `path`, or null when it is plausible (inside the path's range,
 * or zero, or a path without a range). When a rescale by a power of 1000 (1e-18 ... 1e18) lands the
 * value in range, the warning names it (of several, the one nearest the middle of the range on a
 * log scale; none for a temperature, never written with a prefix): "power.cell_pitch_m = 1 m is far
 * outside 1e-7..1e-4 m; did you mean 1 µm (1e-6)?".
 */
export function plausibilityWarning(path: string, value: unknown): string | null {
  const range = PLAUSIBLE_RANGES[path];
  if (!range || typeof value !== 'number' || !Number.isFinite(value) || value === 0) return null;
  const [lo, hi] = range;
  if (value >= lo && value <= hi) return null;
  const label = unitLabelOfKey(path.split('.').pop() ?? '') ?? '';
  const head = `${path} = ${plainNumber(value)} ${label} is far outside ${plainNumber(lo)}..${plainNumber(hi)} ${label}`;
  // a temperature is not written with a prefix: a rescale of it is no likely mistake
  if (label === 'K') return head;
  const mid = (Math.log10(lo) + Math.log10(hi)) / 2;
  let best: number | null = null;
  for (let k = 1; k <= 6; k++) {
    const f = 1000 ** k;
    // dividing is exact for the usual mistakes (800 / 1000 = 0.8); the nearest to the middle of the range wins
    for (const x of [value / f, value * f])
      if (x >= lo && x <= hi && (best === null || Math.abs(Math.log10(x) - mid) < Math.abs(Math.log10(best) - mid))) best = x;
  }
  if (best === null) return head;
  const v = Number(best.toPrecision(12));
  return `${head}; did you mean ${withPrefix(v, label)} (${plainNumber(v)})?`;
}

/** One implausible value of a config: its dotted path, its value, and the warning line. */
export interface Implausible {
  path: string;
  value: number;
  message: string;
}

/** Every implausible value of a resolved config (an object of sections), in PLAUSIBLE_RANGES's order. */
export function implausibleValues(config: unknown): Implausible[] {
  const out: Implausible[] = [];
  for (const path of Object.keys(PLAUSIBLE_RANGES)) {
    const v = getPath(config, path).value;
    const message = plausibilityWarning(path, v);
    if (message !== null) out.push({ path, value: v as number, message });
  }
  return out;
}

/** Where the warnings of the configs a command resolves go (the CLI: its logger, each line once). */
export type ConfigWarningSink = (w: Implausible) => void;

const sink = new AsyncLocalStorage<ConfigWarningSink>();

/** Run `fn` (and all it awaits) with the configs it resolves warning to `warn` (cli/main.ts: one per command). */
export function withConfigWarnings<T>(warn: ConfigWarningSink, fn: () => T): T {
  return sink.run(warn, fn);
}

/** Hand a resolved config's warnings to the current command's sink (none outside a command: a library caller reads CheckedConfig.warnings). */
export function reportConfigWarnings(ws: readonly Implausible[]): void {
  const warn = sink.getStore();
  if (warn) for (const w of ws) warn(w);
}
