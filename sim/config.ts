/**
 * Architecture configs: JSON files validated by a zod schema. Every key is required in the
 * resolved config (no silent defaults for physics or power); a config file may say
 * `"extends": "<preset or file>"` and give only what differs. `--set path=value` overrides.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../fabric/errors.js';
import { RULE_PRESETS } from '../fabric/rules.js';

const int = () => z.number().int();
const pos = () => z.number().positive();
const nonneg = () => z.number().nonnegative();

const RuleSchema = z.tuple([int(), int()]);

export const ConfigSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string(),
  seed: int().nonnegative(),
  chip_id: int().nonnegative().describe('which fabricated chip: selects the per-cell mismatch draw'),
  fabric: z.strictObject({
    L: int().min(2).describe('cells per side'),
    rules: z
      .union([z.enum(Object.keys(RULE_PRESETS) as [string, ...string[]]), z.array(RuleSchema).min(1)])
      .describe('a preset name (G8, G12, G16, ...) or a list of [a, b] rules'),
    boundary: z.enum(['open', 'torus']),
    tile: z.strictObject({
      size: int().min(1).describe('tile side in cells'),
      link_latency_cycles: int().nonnegative().describe('extra cycles for a read across a tile boundary'),
      link_energy_j: nonneg().describe('energy per toggle carried by one inter-tile link'),
    }),
  }),
  clock: z.strictObject({
    clock_hz: pos(),
    phase_cycles: int().min(1).describe('cycles per colour phase; a sweep is two phases'),
    analog_substeps: int().min(1).describe('analog integration steps per cycle (bias settling, RNG drive)'),
  }),
  rng: z.strictObject({
    tau_rng_s: nonneg().describe('relaxation time of the telegraph RNG; 0 = a fresh bit at every latch'),
    subthreshold_n: pos().describe('subthreshold slope factor n: V_s = n kT/q'),
    temperature_k: pos(),
    nominal_temperature_k: pos().describe('temperature the bias network is designed for'),
    v_off_sigma_v: nonneg().describe('per-cell mismatch of V_off (standard deviation)'),
    v_s_sigma_rel: nonneg().describe('per-cell relative mismatch of V_s (standard deviation)'),
    energy_per_bit_j: nonneg(),
    bit_rate_hz: pos(),
    duty: z.number().min(0).max(1).describe('fraction of each latch interval the RNG is biased on'),
  }),
  cell: z.strictObject({
    weight_bits: z.union([int().min(2).max(24), z.literal('exact')]).describe('signed weight precision'),
    weight_full_scale: pos().describe('largest |weight| and |bias| the conductances represent'),
    node_capacitance_f: nonneg().describe('bias node capacitance C; tau_bias = C / G_sigma'),
    g_sigma_s: pos().describe('total conductance of the bias divider G_sigma'),
  }),
  power: z.strictObject({
    vdd_v: pos(),
    cell_pitch_m: pos(),
    wire_cap_f_per_m: nonneg(),
    output_cap_f: nonneg(),
    clock_cap_f: nonneg(),
    leakage_w_per_cell: nonneg(),
    weight_write_j_per_bit: nonneg(),
    init_j_per_cell: nonneg(),
    readout_j_per_cell: nonneg(),
  }),
  io: z.strictObject({
    program_bits_per_cycle: int().min(1),
    readout_bits_per_cycle: int().min(1),
  }),
  area: z.strictObject({
    rng_m2: nonneg().describe('area of one RNG circuit'),
    latch_m2: nonneg().describe('area of one cell output latch'),
    weight_bit_m2: nonneg().describe('bit cell storing one weight bit (each cell stores D + 1 values of cell.weight_bits)'),
    conductance_bit_m2: nonneg().describe('divider: switched unit conductance per weight bit'),
    cap_density_f_per_m2: pos().describe('capacitance per area of the bias-node capacitor (cell.node_capacitance_f)'),
    clock_m2_per_cell: nonneg().describe("each cell's share of the clock tree"),
    wire_pitch_m: pos().describe('metal track pitch of the fabric wires'),
    routing_layers: int().min(1).describe('metal layers the fabric wires may use over the array'),
    link_m2: nonneg().describe('driver per direction of a tile-crossing wire'),
    io_lane_m2: nonneg().describe('per program or readout bit lane (io.*_bits_per_cycle)'),
    io_fixed_m2: nonneg().describe('the fixed program/readout interface block (bond pads not modelled)'),
  }),
});

export type ResolvedConfig = z.infer<typeof ConfigSchema>;

export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'configs');
export const DEFAULT_CONFIG = 'dtca-paper';

export function presetNames(): string[] {
  if (!existsSync(CONFIG_DIR)) return [];
  return readdirSync(CONFIG_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'));
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as JsonObject, v) : v;
  }
  return out;
}

function locate(ref: string, from?: string): string {
  const asFile = from ? resolve(dirname(from), ref) : resolve(ref);
  if (existsSync(asFile) && ref.endsWith('.json')) return asFile;
  const preset = resolve(CONFIG_DIR, `${ref}.json`);
  if (existsSync(preset)) return preset;
  if (existsSync(asFile)) return asFile;
  throw new UserError(
    `config "${ref}": no such file, and no preset of that name (presets: ${presetNames().join(', ')})`,
  );
}

function readJson(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new UserError(`${path}: a config must be a JSON object`);
  return v;
}

/** Load a config file or preset, following `extends` chains, without validating. */
function loadRaw(ref: string, from?: string, depth = 0): { raw: JsonObject; path: string } {
  if (depth > 8) throw new UserError(`config "${ref}": "extends" nests too deep (a cycle?)`);
  const path = locate(ref, from);
  const own = readJson(path);
  const ext = own.extends;
  delete own.extends;
  if (ext === undefined) return { raw: own, path };
  if (typeof ext !== 'string') throw new UserError(`${path}: "extends" must be a preset name or file path`);
  const parent = loadRaw(ext, path, depth + 1).raw;
  return { raw: deepMerge(parent, own), path };
}

/** Parse one `--set path=value` into the raw config (value parsed as JSON when it is JSON). */
export function applySet(raw: JsonObject, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${assignment}: expected path=value, e.g. --set clock.clock_hz=2e7`);
  const path = assignment.slice(0, eq).split('.');
  const text = assignment.slice(eq + 1);
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    value = text;
  }
  let node: JsonObject = raw;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) {
      if (node[key] === undefined) throw new UserError(`--set ${assignment}: "${key}" is not a config section`);
      throw new UserError(`--set ${assignment}: "${key}" is a value, not a section`);
    }
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1]] = value;
}

/** The ideal chip: every non-ideality off (exact chromatic Gibbs). */
export function idealize(raw: JsonObject): void {
  const sets = [
    'rng.tau_rng_s=0',
    'rng.v_off_sigma_v=0',
    'rng.v_s_sigma_rel=0',
    'cell.node_capacitance_f=0',
    'cell.weight_bits="exact"',
    'fabric.tile.link_latency_cycles=0',
  ];
  for (const s of sets) applySet(raw, s);
  const rng = raw.rng as JsonObject | undefined;
  if (rng && rng.nominal_temperature_k !== undefined) rng.temperature_k = rng.nominal_temperature_k;
}

export function formatZodPath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

export function validateConfig(raw: unknown, where: string): ResolvedConfig {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    let path = formatZodPath(issue.path);
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      path = [path, keys[0]].filter(Boolean).join('.');
      msg = 'unknown key';
    }
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
    throw new UserError(`${where}: ${path || '(top level)'}: ${msg}${more}`);
  }
  const c = r.data;
  const lat = c.fabric.tile.link_latency_cycles;
  if (lat > c.clock.phase_cycles) {
    throw new UserError(
      `${where}: fabric.tile.link_latency_cycles = ${lat} is longer than a colour phase (clock.phase_cycles = ${c.clock.phase_cycles}); a link must deliver within the phase`,
    );
  }
  return c;
}

export interface ResolveOptions {
  sets?: string[];
  ideal?: boolean;
}

/** Preset name or file → validated, fully resolved config. */
export function resolveConfig(ref: string | undefined, opts: ResolveOptions = {}): ResolvedConfig {
  const { raw, path } = loadRaw(ref ?? DEFAULT_CONFIG);
  // --ideal first, so an explicit --set can still turn one non-ideality back on
  if (opts.ideal) idealize(raw);
  for (const s of opts.sets ?? []) applySet(raw, s);
  return validateConfig(raw, ref ?? path);
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema);
}
