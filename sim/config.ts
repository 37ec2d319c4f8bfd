/**
 * Architecture configs: JSON files validated by a zod schema. Every key is required in the
 * resolved config (no silent defaults for physics or power); a config file may say
 * `"extends": "<preset or file>"` and give only what differs. `sets: ['path=value']` (`--set
 * path=value`) overrides. Every problem is collected and named by its source (sim/config-check.ts):
 * the file, the set (the --set) or the flag that gave the value, and what it gave.
 */
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { readInputText, READ_LIMITS, notRegular } from '../fabric/read.js';
import { checkDepth, checkDuplicateKeys, kindOf, parseJsonText } from '../fabric/json.js';
import { resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError, OptionError } from '../fabric/errors.js';
import { noteInput } from '../fabric/files.js';
import { RULE_PRESETS, shown, resolveRules } from '../fabric/rules.js';
import { eng, parseQuantity, unitOfKey, unitLabelOfKey, quantityPattern, unitExample } from './units.js';
import { OPTION_NAMES, type ConfigNames } from './config-names.js';
import { implausibleValues, reportConfigWarnings, type Implausible } from './plausible.js';
import {
  deepPartial,
  suggestion,
  MAX_L,
  MAX_RULES,
  zodProblems,
  semanticProblems,
  problemsError,
  getPath,
  isObject,
  type Json,
  type JsonObject,
  type ConfigLayer,
  type ConfigProblem,
} from './config-check.js';

/** how config problems name a caller's sets and ideal (the library's option names, or the command line's flags) */
export { OPTION_NAMES, FLAG_NAMES, type ConfigNames } from './config-names.js';

export type { ConfigProblem } from './config-check.js';

/*
 * Ranges. Every physical value has a generous range (well beyond any chip) chosen so that every
 * energy, time and count of a run within the counter limits (sim/resources.ts: at most 2^53 cell
 * updates and cycles) stays finite: the worst products are ~1e45 J, far below 1e308. Integers are
 * checked as integers within what their counters hold exactly.
 */
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** a quantity > 0 (no zero, no denormal) up to max */
const pos = (max: number) => z.number().min(1e-30).max(max);
/** a quantity >= 0 up to max */
const nonneg = (max: number) => z.number().min(0).max(max);
const SAFE = Number.MAX_SAFE_INTEGER;

const RuleSchema = z.tuple([int(-MAX_L, MAX_L), int(-MAX_L, MAX_L)]);

export const ConfigSchema = z.strictObject({
  name: z.string().min(1).max(200).describe("what the config is called (the preset's or file's name replaces it when resolved)"),
  description: z
    .string()
    .describe("the design in a sentence: the named file's own, else (or after a --set or --ideal that changes a value) computed from the values"),
  seed: int(0, SAFE).describe('base of every random draw (chains, workloads, mismatch); --seed replaces it'),
  chip_id: int(0, SAFE).describe('which fabricated chip: selects the per-cell mismatch draw'),
  fabric: z.strictObject({
    L: int(2, MAX_L).describe('cells per side'),
    rules: z
      .union([z.enum(Object.keys(RULE_PRESETS) as [string, ...string[]]), z.array(RuleSchema).min(1).max(MAX_RULES)])
      .describe('a preset name (G8, G12, G16, ...) or a list of [a, b] rules, each with a+b odd'),
    boundary: z.enum(['open', 'torus']).describe('open edges (the hardware) or a torus (needs an even L)'),
    tile: z.strictObject({
      size: int(1, MAX_L).describe('tile side in cells'),
      link_latency_cycles: int(0, 1e6).describe('extra cycles for a read across a tile boundary (at most clock.phase_cycles)'),
      link_energy_j: nonneg(1).describe('energy per toggle carried by one inter-tile link'),
    }),
  }),
  clock: z.strictObject({
    clock_hz: z.number().min(1e-3).max(1e15).describe('clock frequency; simulated time = cycles / clock_hz'),
    phase_cycles: int(1, 1e6).describe('cycles per colour phase; a sweep is two phases'),
    analog_substeps: int(1, 1e4).describe('analog integration steps per cycle (bias settling, RNG drive)'),
  }),
  rng: z.strictObject({
    tau_rng_s: nonneg(1e3).describe('relaxation time of the telegraph RNG; 0 = a fresh bit at every latch'),
    subthreshold_n: pos(1e3).describe('subthreshold slope factor n: V_s = n kT/q'),
    temperature_k: pos(1e4).describe('operating temperature: sets V_s = n kT/q'),
    nominal_temperature_k: pos(1e4).describe('temperature the bias network is designed for'),
    v_off_sigma_v: nonneg(10).describe('per-cell mismatch of V_off (standard deviation)'),
    v_s_sigma_rel: nonneg(10).describe('per-cell relative mismatch of V_s (standard deviation)'),
    energy_per_bit_j: nonneg(1).describe('RNG energy per bit delivered (with bit_rate_hz and duty: the RNG bias power)'),
    bit_rate_hz: pos(1e15).describe('RNG bit rate while biased (energy only: the dynamics follow tau_rng_s)'),
    duty: z.number().min(0).max(1).describe('fraction of each latch interval the RNG is biased on'),
  }),
  cell: z.strictObject({
    weight_bits: z
      .union([int(2, 24), z.literal('exact')])
      .describe('bits per stored weight and bias, sign included, or "exact" (unquantised; programming charges 32 bits)'),
    weight_full_scale: pos(1e6).describe('largest |weight| and |bias| the conductances represent (beyond it: clipped; unused with exact weights)'),
    node_capacitance_f: nonneg(1).describe('bias node capacitance C; tau_bias = C / G_sigma'),
    g_sigma_s: pos(1e3).describe('total conductance of the bias divider G_sigma'),
  }),
  power: z.strictObject({
    vdd_v: pos(1e3).describe('supply voltage: every C Vdd^2 and G Vdd^2 energy'),
    cell_pitch_m: pos(1).describe('cell pitch: wire lengths (energy) and the cell area (area)'),
    wire_cap_f_per_m: nonneg(1).describe('capacitance per length of a fabric wire'),
    output_cap_f: nonneg(1).describe('capacitance of a cell output (1/2 C Vdd^2 per toggle)'),
    clock_cap_f: nonneg(1).describe('clock capacitance per cell (C Vdd^2 per cell per cycle)'),
    leakage_w_per_cell: nonneg(1e3).describe('leakage power per cell, always on'),
    weight_write_j_per_bit: nonneg(1).describe('energy per weight, bias or input-clamp bit written'),
    init_j_per_cell: nonneg(1).describe("energy per cell initialised before a stage's sweeps"),
    readout_j_per_cell: nonneg(1).describe('energy per cell read out after a stage'),
  }),
  io: z.strictObject({
    program_bits_per_cycle: int(1, 2 ** 31).describe('weight bits written per cycle while programming'),
    readout_bits_per_cycle: int(1, 2 ** 31).describe('cell bits read out per cycle'),
  }),
  area: z.strictObject({
    rng_m2: nonneg(1).describe('area of one RNG circuit'),
    latch_m2: nonneg(1).describe('area of one cell output latch'),
    weight_bit_m2: nonneg(1).describe('bit cell storing one weight bit (each cell stores D + 1 values of cell.weight_bits)'),
    conductance_bit_m2: nonneg(1).describe('divider: switched unit conductance per weight bit'),
    cap_density_f_per_m2: pos(1e6).describe('capacitance per area of the bias-node capacitor (cell.node_capacitance_f)'),
    clock_m2_per_cell: nonneg(1).describe("each cell's share of the clock tree"),
    wire_pitch_m: pos(1).describe('metal track pitch of the fabric wires'),
    routing_layers: int(1, 1000).describe('metal layers the fabric wires may use over the array'),
    link_m2: nonneg(1).describe('driver per direction of a tile-crossing wire'),
    io_lane_m2: nonneg(1).describe('per program or readout bit lane (io.*_bits_per_cycle)'),
    io_fixed_m2: nonneg(1).describe('the fixed program/readout interface block (bond pads not modelled)'),
  }),
});

/**
 * What a config file may hold: any part of the config (a file that `extends` a preset or another
 * file gives only what differs), plus `extends` and an editor's `$schema`. `dtca config schema`
 * prints it; `dtca config validate` checks every file of a chain against it, then the merged
 * result against ConfigSchema and configProblems.
 */
export const ConfigFileSchema = (deepPartial(ConfigSchema) as z.ZodObject)
  .extend({
    extends: z.string().min(1).optional().describe('a preset name or a config file (relative to this file) that this file changes'),
    $schema: z.string().optional().describe("an editor's schema reference (ignored)"),
  })
  .describe('A dtca architecture config file. With "extends", give only what differs; the merged result must give every key.');

export type ResolvedConfig = z.infer<typeof ConfigSchema>;

export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'configs');
export const DEFAULT_CONFIG = 'dtca-paper';

export function presetNames(): string[] {
  if (!existsSync(CONFIG_DIR)) return [];
  return readdirSync(CONFIG_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'));
}

/** Set an own property (never the prototype, whatever the key: JSON may hold "__proto__"). */
function put(o: JsonObject, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(base)) put(out, k, v);
  for (const [k, v] of Object.entries(over)) {
    const b = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    put(out, k, isObject(v) && isObject(b) ? deepMerge(b, v) : v);
  }
  return out;
}

/** Why `p`, a symbolic link, cannot be followed ("a symbolic link loop", "a symbolic link to nowhere"), or null when it is no link. */
function unresolvedLink(p: string): string | null {
  try {
    if (!lstatSync(p).isSymbolicLink()) return null;
    statSync(p);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'a symbolic link loop (it cannot be resolved)';
    if (code === 'ENOENT' && lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) return 'a symbolic link to nowhere';
    return null;
  }
}

/** The file a config name refers to: a .json file that exists, else a preset of that name, else a file. */
export function locate(ref: string, from?: string): string {
  // an empty name (dtca run '', or a lone "-", which yargs passes as "") would resolve to the directory
  if (ref.trim() === '') throw new UserError(`config "${shown(ref)}": an empty name; give a preset (${presetNames().join(', ')}) or a config file`);
  const asFile = from ? resolve(dirname(from), ref) : resolve(ref);
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  if (isFile(asFile) && ref.endsWith('.json')) return asFile;
  const preset = resolve(CONFIG_DIR, `${ref}.json`);
  if (/^[\w.-]+$/.test(ref) && isFile(preset)) return preset;
  if (isFile(asFile)) return asFile;
  if (existsSync(asFile))
    throw new UserError(`config "${shown(ref)}": ${asFile} ${notRegular(statSync(asFile)) ?? 'is not a file'}; a config must be a regular file`);
  const unresolved = unresolvedLink(asFile);
  if (unresolved) throw new UserError(`config "${shown(ref)}": ${asFile} is ${unresolved}; a config must be a regular file`);
  const near = suggestion(ref.replace(/\.json$/, ''), presetNames());
  throw new UserError(
    `config "${shown(ref)}": no such file, and no preset of that name${near.startsWith(' (did') ? near.replace(/\)$/, ` Presets: ${presetNames().join(', ')})`) : ` (presets: ${presetNames().join(', ')})`}`,
  );
}

function readJson(path: string): JsonObject {
  noteInput(path); // no output of this command may replace it
  // a byte-order mark some editors write is not JSON's: skipped (it was a syntax error at column 1)
  const text = readInputText(path, { what: 'config file', max: READ_LIMITS.json }).replace(/^\uFEFF/, '');
  const v = parseJsonText(text, path);
  if (!isObject(v)) throw new UserError(`${path}: a config file must hold a JSON object, not ${kindOf(v)}`);
  return v;
}

/**
 * Values written with units ("10MHz", "100ns", "350aJ") at keys that have a unit (sim/units.ts)
 * become numbers, in place; what cannot be read is a problem of this layer.
 */
function convertUnits(raw: JsonObject, source: string, at: string[] = []): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const path = [...at, k];
    if (isObject(v)) out.push(...convertUnits(v, source, path));
    else if (typeof v === 'string') {
      const unit = unitOfKey(k);
      if (!unit) continue;
      const n = parseQuantity(v, unit);
      if (n instanceof Error) out.push({ path: path.join('.'), message: n.message, source, given: v, hasGiven: true });
      else put(raw, k, n);
    }
  }
  return out;
}

/** Problems not already reported at the same path by the same source. */
function addProblems(to: ConfigProblem[], more: ConfigProblem[]): void {
  for (const p of more) if (!to.some((q) => q.path === p.path && q.source === p.source)) to.push(p);
}

/** A config file as the user knows it: a preset by name, a file by its path. */
function label(path: string): string {
  return dirname(path) === CONFIG_DIR ? `preset ${basename(path, '.json')}` : path;
}

/**
 * The files of an `extends` chain, base first, each checked against the file schema (every
 * problem collected). A cycle, a missing file or an `extends` that is not a name is a problem too.
 */
function loadChain(ref: string): { layers: ConfigLayer[]; problems: ConfigProblem[]; path: string; broken: boolean } {
  const layers: ConfigLayer[] = [];
  const problems: ConfigProblem[] = [];
  const seen: string[] = [];
  let path = locate(ref);
  const first = path;
  let broken = false;
  for (;;) {
    if (seen.includes(path)) {
      const cycle = [...seen.slice(seen.indexOf(path)), path].map(label).join(' -> ');
      problems.push({ path: 'extends', message: `a cycle: ${cycle}`, source: layers[0]?.source ?? label(path), hasGiven: false });
      broken = true;
      break;
    }
    seen.push(path);
    const own = readJson(path);
    addProblems(problems, convertUnits(own, label(path)));
    addProblems(problems, zodProblems(ConfigFileSchema, own, [{ source: label(path), raw: own }]));
    const ext = Object.prototype.hasOwnProperty.call(own, 'extends') ? own.extends : undefined;
    const body: JsonObject = {};
    for (const [k, v] of Object.entries(own)) if (k !== 'extends' && k !== '$schema') put(body, k, v);
    layers.unshift({ source: label(path), raw: body });
    if (ext === undefined || typeof ext !== 'string' || ext === '') break;
    try {
      path = locate(ext, path);
    } catch (e) {
      problems.push({ path: 'extends', message: (e as Error).message.replace(/^config "[^"]*": /, ''), source: label(path), given: ext, hasGiven: true });
      broken = true;
      break;
    }
  }
  return { layers, problems, path: first, broken };
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Parse one `path=value` of `sets` (`--set` on the command line; value parsed as JSON when it is
 * JSON, else taken as a string) into a layer of its own: `{a: {b: value}}`, its source named by
 * `names` (the index: its place in `sets`). A malformed assignment is a UserError.
 */
export function setLayer(assignment: string, names: ConfigNames = OPTION_NAMES, index = 0): ConfigLayer {
  const named = (max?: number) => names.set(shown(assignment, max), index);
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`${named()}: expected path=value, e.g. ${names.give('clock.clock_hz=2e7')}`);
  const keys = assignment.slice(0, eq).split('.');
  for (const k of keys) {
    if (k === '') throw new UserError(`${named()}: an empty key in the path`);
    if (FORBIDDEN_KEYS.has(k)) throw new UserError(`${named()}: "${k}" is not a config key`);
  }
  const text = assignment.slice(eq + 1);
  let value: Json;
  let json = true;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    value = text;
    json = false;
  }
  checkDepth(value, named(40));
  if (json) checkDuplicateKeys(text, named(40));
  const raw: JsonObject = {};
  let node = raw;
  for (const k of keys.slice(0, -1)) {
    const next: JsonObject = {};
    put(node, k, next);
    node = next;
  }
  put(node, keys[keys.length - 1], value);
  return { source: named(80), raw };
}

/**
 * The first config value that `sets` give twice (path=value strings, in order), or null: the same
 * path twice (`fabric.L=32`, `fabric.L=48`: the last would win silently), or a section whose JSON
 * object holds a path another set gives (`fabric={"L":32}`, `fabric.L=48`). `what` is the value's
 * dotted path; `first` and `second` the two assignments as given. Malformed sets are left to setLayer.
 */
export function repeatedSet(sets: readonly string[]): { what: string; first: string; second: string } | null {
  const paths = sets.map((s) => (s.indexOf('=') > 0 ? s.slice(0, s.indexOf('=')).split('.') : null));
  const holds = (set: string, inner: string[]): boolean => {
    let v: unknown;
    try {
      v = JSON.parse(set.slice(set.indexOf('=') + 1));
    } catch {
      return false;
    }
    for (const k of inner) {
      if (!isObject(v) || !Object.prototype.hasOwnProperty.call(v, k)) return false;
      v = (v as JsonObject)[k];
    }
    return true;
  };
  for (let j = 1; j < sets.length; j++) {
    const b = paths[j];
    if (!b) continue;
    for (let i = 0; i < j; i++) {
      const a = paths[i];
      if (!a) continue;
      const [short, long, shortSet] = a.length <= b.length ? [a, b, sets[i]] : [b, a, sets[j]];
      if (!short.every((k, n) => k === long[n])) continue;
      if (short.length === long.length || holds(shortSet, long.slice(short.length))) return { what: long.join('.'), first: sets[i], second: sets[j] };
    }
  }
  return null;
}

/**
 * Apply one `path=value` to a raw config (kept for callers that edit a raw config). The path must
 * lead through sections that exist; see setLayer for the parsing.
 */
export function applySet(raw: JsonObject, assignment: string, names: ConfigNames = OPTION_NAMES): void {
  const layer = setLayer(assignment, names);
  const keys = assignment.slice(0, assignment.indexOf('=')).split('.');
  let node: JsonObject = raw;
  for (const key of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    if (!isObject(next)) {
      if (next === undefined) throw new UserError(`${layer.source}: "${key}" is not a config section`);
      throw new UserError(`${layer.source}: "${key}" is a value, not a section`);
    }
    node = next;
  }
  let v: unknown = layer.raw;
  for (const k of keys) v = (v as JsonObject)[k];
  put(node, keys[keys.length - 1], v as Json);
}

/** The values --ideal (the `ideal` option) sets: every non-ideality off (exact chromatic Gibbs). */
function idealLayer(merged: JsonObject, names: ConfigNames = OPTION_NAMES): ConfigLayer {
  const raw: JsonObject = {
    rng: { tau_rng_s: 0, v_off_sigma_v: 0, v_s_sigma_rel: 0 },
    cell: { node_capacitance_f: 0, weight_bits: 'exact' },
    fabric: { tile: { link_latency_cycles: 0 } },
  };
  const rng = merged.rng;
  if (isObject(rng) && rng.nominal_temperature_k !== undefined) put(raw.rng as JsonObject, 'temperature_k', rng.nominal_temperature_k);
  return { source: names.ideal, raw };
}

/** The ideal chip: every non-ideality off (exact chromatic Gibbs). */
export function idealize(raw: JsonObject): void {
  const merged = deepMerge(raw, idealLayer(raw).raw);
  for (const k of Object.keys(merged)) put(raw, k, merged[k]);
}

export function formatZodPath(path: PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Every problem of a merged config: the schema, then what the run would refuse (config-check.ts). */
export function configProblems(merged: unknown, layers: ConfigLayer[]): ConfigProblem[] {
  const problems = zodProblems(ConfigSchema, merged, layers);
  if (problems.length === 0) problems.push(...semanticProblems(merged as ResolvedConfig, layers));
  else {
    // the rules can still be judged when the fabric itself parsed (an unknown key beside its values does not stop that)
    const f = isObject(merged) ? merged.fabric : undefined;
    const fabricOk = !problems.some((p) => (p.path.startsWith('fabric') || p.path.startsWith('clock')) && !p.message.startsWith('unknown key'));
    if (fabricOk && isObject(f)) problems.push(...semanticProblems(merged as unknown as ResolvedConfig, layers));
  }
  return problems;
}

/**
 * A raw config (already merged) checked as a whole; a UserError names the first problem (`hint`:
 * where the others are listed, after "and N more problems: ").
 */
export function validateConfig(raw: unknown, where: string, hint?: string): ResolvedConfig {
  const layers: ConfigLayer[] = [{ source: where, raw: isObject(raw) ? raw : {} }];
  const problems = configProblems(raw, layers);
  if (problems.length) throw problemsError(problems, hint);
  return raw as ResolvedConfig;
}

export interface ResolveOptions {
  /** config values as "path=value", e.g. "fabric.L=16" (value JSON, else a string) */
  sets?: string[];
  ideal?: boolean;
  /** values from flags, e.g. { source: '--seed 4', path: 'seed', value: 4 } (applied last) */
  flags?: { source: string; path: string; value: Json }[];
  /** how problems name `sets` and `ideal` (default OPTION_NAMES: "sets[0] fabric.L=-1"; the command line passes FLAG_NAMES) */
  names?: ConfigNames;
}

export interface CheckedConfig {
  config: ResolvedConfig | null;
  problems: ConfigProblem[];
  /** the file or preset that was resolved */
  path: string;
  layers: ConfigLayer[];
  /**
   * values of a resolved config far outside their plausible range (sim/plausible.ts: a unit mistake?),
   * each with its warning line; the config is used as it is. Empty when it did not resolve.
   */
  warnings: Implausible[];
}

/**
 * Resolve a config and collect every problem: each file of the chain against the file schema,
 * the merged result against the full schema, and what the run would refuse. `config validate`
 * prints the problems; resolveConfig throws the first.
 */
export function checkConfig(ref: string | undefined, opts: ResolveOptions = {}): CheckedConfig {
  checkRef(ref);
  const chain = loadChain(ref ?? DEFAULT_CONFIG);
  const layers = [...chain.layers];
  let merged: JsonObject = {};
  for (const l of layers) merged = deepMerge(merged, l.raw);
  const names = opts.names ?? OPTION_NAMES;
  // a JavaScript caller's types (the command line's are its parser's): a TypeError deep in the merge otherwise
  if (opts.sets !== undefined && !Array.isArray(opts.sets)) throw new OptionError('sets', shown(opts.sets), 'must be a list of "path=value" strings');
  (opts.sets ?? []).forEach((s, i) => {
    if (typeof s !== 'string') throw new UserError(`${names.set(shown(s), i)}: must be a "path=value" string`);
  });
  if (opts.ideal !== undefined && typeof opts.ideal !== 'boolean') throw new OptionError('ideal', opts.ideal, 'must be true or false');
  // --ideal first, so an explicit --set can still turn one non-ideality back on
  if (opts.ideal) layers.push(idealLayer(merged, names));
  (opts.sets ?? []).forEach((s, i) => layers.push(setLayer(s, names, i)));
  for (const f of opts.flags ?? [])
    layers.push({ source: f.source, raw: setLayer(`${f.path}=${JSON.stringify(f.value)}`, { ...names, set: () => f.source }).raw });
  const problems = [...chain.problems];
  for (const l of layers.slice(chain.layers.length)) {
    addProblems(problems, convertUnits(l.raw, l.source));
    merged = deepMerge(merged, l.raw);
  }
  // a broken extends chain (a name that resolves to nothing, a cycle) is the cause: the merged
  // config then misses everything the chain would have given, and those follow-on problems say nothing
  if (chain.broken) return { config: null, problems, path: chain.path, layers, warnings: [] };
  // a file's own schema problems also show in the merged result: report each once
  addProblems(problems, configProblems(merged, layers));
  if (chain.layers.length === 1) withoutExtends(problems, chain.layers[0].source, merged);
  if (problems.length) return { config: null, problems, path: chain.path, layers, warnings: [] };
  const config = merged as unknown as ResolvedConfig;
  nameAndDescribe(config, chain.path, chain.layers[chain.layers.length - 1], layers.slice(chain.layers.length));
  // a unit mistake (a 1 m pitch, 800 V for 800 mV) is a warning of the command that resolves it, not a refusal
  const warnings = implausibleValues(config);
  reportConfigWarnings(warnings);
  return { config, problems, path: chain.path, layers, warnings };
}

/**
 * A config file without `extends` that leaves keys out (a new user's `{"fabric": {"L": 32}}`):
 * the keys missing as one problem, first, saying how to give only what differs. It was
 * "name: missing (expected a string) (and 12 more problems ...)".
 */
function withoutExtends(problems: ConfigProblem[], source: string, merged: JsonObject): void {
  // a config key or section no layer gives (fabric.rules left out says "undefined is not a preset
  // name ..."); not a problem inside a value (fabric.rules[1] of a grid too small for it)
  const keys = new Set(configPaths().flatMap((k) => k.split('.').map((_, i, all) => all.slice(0, i + 1).join('.'))));
  const missing = problems.filter((p) => keys.has(p.path) && !getPath(merged, p.path).found);
  if (missing.length === 0) return;
  const paths = missing.map((p) => p.path);
  const listed = paths.length > 6 ? `${paths.slice(0, 6).join(', ')}, ... (${paths.length})` : paths.join(', ');
  const one: ConfigProblem = {
    path: '',
    message: `${paths.length} key${paths.length > 1 ? 's' : ''} missing (${listed}): a config file without "extends" gives every key; start it with "extends": "${DEFAULT_CONFIG}" (or another preset) to give only what differs`,
    source,
    hasGiven: false,
  };
  const rest = problems.filter((p) => !missing.includes(p));
  problems.splice(0, problems.length, one, ...rest);
}

/** the first argument of resolveConfig / checkConfig: a JavaScript caller's other kinds were a TypeError from deep in the file lookup */
function checkRef(ref: unknown): void {
  if (ref === undefined || typeof ref === 'string') return;
  const hint =
    ref !== null && typeof ref === 'object' && !Array.isArray(ref)
      ? '; the options come second: resolveConfig(undefined, { sets, ideal }) for the default config'
      : '';
  throw new OptionError(
    'ref',
    shown(ref),
    `must be a preset name (${presetNames().join(', ')}) or a config file path, or undefined for ${DEFAULT_CONFIG}${hint}`,
  );
}

/** What a config is called: a preset by its name, a config file by its file name (without .json). */
export function configName(path: string): string {
  return basename(path).replace(/\.json$/, '');
}

/** A resolved config described by its values: "48x48 cells, G12 (degree 12), open boundary, ...". */
export function describeConfig(c: ResolvedConfig): string {
  const rules = typeof c.fabric.rules === 'string' ? c.fabric.rules : JSON.stringify(c.fabric.rules);
  let degree = '';
  try {
    degree = ` (degree ${4 * resolveRules(c.fabric.rules).length})`;
  } catch {
    // a rule list the schema accepts but resolveRules refuses is reported elsewhere
  }
  const bits = c.cell.weight_bits === 'exact' ? 'exact weights' : `${c.cell.weight_bits}-bit weights`;
  const mismatch = c.rng.v_off_sigma_v === 0 && c.rng.v_s_sigma_rel === 0 ? 'no mismatch' : `V_off mismatch ${eng(c.rng.v_off_sigma_v, 'V', 3)}`;
  return (
    `${c.fabric.L}x${c.fabric.L} cells, ${rules}${degree}, ${c.fabric.boundary} boundary, ${c.fabric.tile.size}x${c.fabric.tile.size}-cell tiles; ` +
    `${eng(c.clock.clock_hz, 'Hz')} clock, ${c.clock.phase_cycles} cycle${c.clock.phase_cycles === 1 ? '' : 's'} per colour phase; ` +
    `RNG tau ${eng(c.rng.tau_rng_s, 's')}, ${eng(c.rng.energy_per_bit_j, 'J')} per bit, ${mismatch}; ${bits}, bias node ${eng(c.cell.node_capacitance_f, 'F')}; ` +
    `${eng(c.rng.temperature_k, 'K')}, Vdd ${eng(c.power.vdd_v, 'V')}`
  );
}

/**
 * One name everywhere (config show, validate, area, energy-table, run): the named file's or
 * preset's, not the name of a preset it extends. The description: the named file's own, when it
 * gives one and nothing (--set, --ideal) changed it afterwards; else computed from the values.
 * A --set of name or description wins.
 */
function nameAndDescribe(c: ResolvedConfig, path: string, top: ConfigLayer | undefined, later: ConfigLayer[]): void {
  const setsKey = (k: string) => later.some((l) => Object.prototype.hasOwnProperty.call(l.raw, k));
  if (!setsKey('name')) c.name = configName(path);
  if (setsKey('description')) return;
  const authored = top !== undefined && Object.prototype.hasOwnProperty.call(top.raw, 'description');
  const changed = later.some((l) => Object.keys(l.raw).some((k) => k !== 'seed' && k !== 'name'));
  if (!authored || changed) c.description = describeConfig(c);
}

/** Preset name or file -> validated, fully resolved config (a UserError names the first problem). */
export function resolveConfig(ref: string | undefined, opts: ResolveOptions = {}): ResolvedConfig {
  const c = checkConfig(ref, opts);
  if (!c.config) throw problemsError(c.problems, (opts.names ?? OPTION_NAMES).listAll(ref ?? DEFAULT_CONFIG));
  return c.config;
}

/** Every value's dotted path in a config ("fabric.L", "clock.clock_hz", ...). */
export function configPaths(): string[] {
  const out: string[] = [];
  const walk = (schema: z.ZodType, at: string[]) => {
    const d = (schema as unknown as { def: { type: string; shape?: Record<string, z.ZodType> } }).def;
    if (d.type === 'object' && d.shape) for (const [k, v] of Object.entries(d.shape)) walk(v, [...at, k]);
    else out.push(at.join('.'));
  };
  walk(ConfigSchema, []);
  return out;
}

/** The JSON Schema of a config file (ConfigFileSchema): what `dtca config schema` prints. */
export function configJsonSchema(): unknown {
  const schema = z.toJSONSchema(ConfigFileSchema) as Record<string, unknown>;
  // a key with a unit takes a number or a string with its unit ("10MHz": convertUnits reads it before
  // the zod schema sees a number), so the schema an editor checks a file against accepts it too
  const withUnits = (node: Record<string, unknown>) => {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v.type === 'object') withUnits(v);
      // every value's description names its unit (the one docs/physics.md gives it)
      const label = unitLabelOfKey(k);
      if (label && typeof v.description === 'string') v.description = `${v.description} [${label}]`;
      const unit = unitOfKey(k);
      if (!unit || v.type !== 'number') continue;
      const { description, ...number } = v;
      props[k] = {
        ...(description === undefined ? {} : { description }),
        anyOf: [number, { type: 'string', pattern: quantityPattern(unit), description: `a number with its unit, e.g. "${unitExample(unit)}"` }],
      };
    }
  };
  withUnits(schema);
  return schema;
}
