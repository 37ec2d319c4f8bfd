/**
 * Numbers with units, both ways: `eng` writes 1e7 Hz as "10 MHz"; `parseQuantity` reads "10MHz",
 * "2.5GHz", "100ns", "350aJ", "9um2" (or a plain number) back. One parser serves every place a
 * number with a unit is taken: config files, --set, sweep axes (--axis, --clock, plan files).
 *
 * Units are SI symbols, case-sensitive ("MHz" is mega, "mHz" milli); "u" may stand for "µ"; an
 * area's prefix applies to the metre ("9um2" = 9e-12 m²). A bare multiplier (k, M, G, T) is taken
 * without the unit ("2.5M" for 2.5 MHz). A config key's unit is its name's suffix (`_hz`, `_s`,
 * `_j`, `_f`, `_v`, `_w`, `_m`, `_m2`, `_k`, with `_per_bit` / `_per_cell` allowed after it);
 * keys with compound units (F/m, F/m²) and plain counts take plain numbers.
 */

const PREFIX: Record<string, number> = {
  a: 1e-18,
  f: 1e-15,
  p: 1e-12,
  n: 1e-9,
  u: 1e-6,
  µ: 1e-6,
  μ: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};
/** multipliers accepted without the unit */
const BARE = new Set(['k', 'M', 'G', 'T']);

/** What each unit measures, for error messages. */
const MEASURES: Record<string, string> = {
  Hz: 'a frequency',
  s: 'a time',
  J: 'an energy',
  F: 'a capacitance',
  V: 'a voltage',
  W: 'a power',
  m: 'a length',
  m2: 'an area',
  K: 'a temperature',
  S: 'a conductance',
};
const EXAMPLE: Record<string, string> = { Hz: '10MHz', s: '100ns', J: '350aJ', F: '2fF', V: '0.8V', W: '5nW', m: '1.5um', m2: '9um2', K: '300K', S: '1uS' };

/** An example of a quantity in `unit` ("10MHz" for Hz). */
export function unitExample(unit: string): string {
  return EXAMPLE[unit] ?? `1${unit}`;
}

/** The SI prefixes dtca writes, largest first, with their scales. */
export const SI_PREFIXES: readonly (readonly [number, string])[] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'µ'],
  [1e-9, 'n'],
  [1e-12, 'p'],
  [1e-15, 'f'],
  [1e-18, 'a'],
];

/** 1e7, "Hz" -> "10 MHz" (4 significant digits by default). */
export function eng(v: number, unit: string, digits = 4): string {
  if (v === 0) return `0 ${unit}`;
  if (!Number.isFinite(v)) return `${v} ${unit}`;
  const a = Math.abs(v);
  for (const [m, p] of SI_PREFIXES) if (a >= m) return `${Number((v / m).toPrecision(digits))} ${p}${unit}`;
  return `${v.toExponential(digits - 1)} ${unit}`;
}

const NUMBER = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S*)\s*$/;

/**
 * "10MHz" in unit "Hz" -> 1e7. `unit` is an SI symbol of UNIT_NAMES (m2 for m²). Returns the number,
 * or an Error whose message says what was wrong (the caller names where the text came from).
 */
export function parseQuantity(text: string, unit: string): number | Error {
  const m = NUMBER.exec(text);
  const example = EXAMPLE[unit] ?? `1${unit}`;
  if (!m) return new Error(`expected a number, got a string${unit ? ` (a number may carry its unit: ${example})` : ''}`);
  const n = Number(m[1]);
  const suffix = m[2];
  let factor: number | undefined;
  if (suffix === '') factor = 1;
  else if (unit === 'm2') {
    const a = /^(.?)m(2|²|\^2)$/.exec(suffix);
    if (a && a[1] in PREFIX) factor = PREFIX[a[1]] ** 2;
  } else {
    for (const [p, f] of Object.entries(PREFIX)) if (suffix === `${p}${unit}`) factor = f;
    if (factor === undefined && BARE.has(suffix)) factor = PREFIX[suffix];
  }
  if (factor === undefined) {
    const what = MEASURES[unit] ?? `in ${unit}`;
    return new Error(
      `"${suffix}" is not a unit of ${what.replace(/^(a|an) /, '')} here (write e.g. ${example}, or a plain number in ${unit === 'm2' ? 'm²' : unit})`,
    );
  }
  const v = n * factor;
  return Number.isFinite(v) ? v : new Error('not a finite number');
}

/** The unit a config key is given in (its name's suffix), or null for plain numbers. */
export function unitOfKey(key: string): string | null {
  if (key === 'g_sigma_s') return 'S';
  // a compound unit (wire_cap_f_per_m: F/m, cap_density_f_per_m2: F/m²) is no unit of its last suffix:
  // "100um" there is not a length
  if (/_[a-z0-9]+_per_m2?$/.test(key)) return null;
  const k = key.replace(/_per_(bit|cell)$/, '');
  const m = /_(hz|s|j|f|v|w|m|m2|k)$/.exec(k);
  if (!m) return null;
  return { hz: 'Hz', s: 's', j: 'J', f: 'F', v: 'V', w: 'W', m: 'm', m2: 'm2', k: 'K' }[m[1]] ?? null;
}

const SYMBOL: Record<string, string> = { hz: 'Hz', s: 's', j: 'J', f: 'F', v: 'V', w: 'W', m: 'm', m2: 'm²', k: 'K' };

/**
 * The unit of a config key as docs and `dtca config schema` write it: "Hz", "m²", "J/bit",
 * "m²/cell", and the compound units of keys that take plain numbers ("F/m" for wire_cap_f_per_m,
 * "F/m²"); null for counts and ratios.
 */
export function unitLabelOfKey(key: string): string | null {
  const compound = /_([a-z]+)_per_(m2?)$/.exec(key);
  if (compound && SYMBOL[compound[1]]) return `${SYMBOL[compound[1]]}/${SYMBOL[compound[2]]}`;
  const unit = unitOfKey(key);
  if (!unit) return null;
  const per = /_per_(bit|cell)$/.exec(key);
  const symbol = unit === 'm2' ? 'm²' : unit;
  return per ? `${symbol}/${per[1]}` : symbol;
}

/**
 * The unit a value of a config key is shown in, an SI prefix going on it (sweep tables, charts and
 * axis values): unitLabelOfKey's without "/bit" or "/cell" ("J" for init_j_per_cell: an energy,
 * per cell; "m²" for clock_m2_per_cell; "F/m" for wire_cap_f_per_m), '' for counts and ratios.
 */
export function displayUnitOfKey(key: string): string {
  return (unitLabelOfKey(key) ?? '').replace(/\/(bit|cell)$/, '');
}

/**
 * A JSON Schema pattern for the strings parseQuantity reads in `unit`: a number, then nothing, a
 * prefixed unit ("10MHz", "100 ns", "9um2") or a bare multiplier (k, M, G, T; not for an area).
 */
export function quantityPattern(unit: string): string {
  const num = '[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?';
  const prefixes = Object.keys(PREFIX)
    .filter((p) => p !== '')
    .join('');
  const suffix = unit === 'm2' ? `[${prefixes}]?m(?:2|²|\\^2)` : `[${prefixes}]?${unit}|[${[...BARE].join('')}]`;
  return `^\\s*${num}\\s*(?:${suffix})?\\s*$`;
}

/** The unit a dotted config path's values are read in ("clock.clock_hz" -> "Hz", "area.rng_m2" -> "m2"), or null (parseQuantity's unit). */
export function unitOfPath(path: string): string | null {
  return unitOfKey(path.split('.').pop() ?? '');
}

/** The unit a dotted config path's values are shown in, an SI prefix going on it ("area.rng_m2" -> "m²"), or '' (displayUnitOfKey of its last part). */
export function displayUnitOfPath(path: string): string {
  return displayUnitOfKey(path.split('.').pop() ?? path);
}
