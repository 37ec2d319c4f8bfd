/**
 * Checking a config as a whole and saying where each problem came from.
 *
 * A resolved config is built from layers: the files of an `extends` chain (base first), then
 * --ideal, then each --set, then flags such as --seed. Every problem is reported against the last
 * layer that gave the value at its path ("my.json: clock.clock_hz = -5: must be > 0",
 * "--set clock.clock_hz=-5: clock.clock_hz = -5: must be > 0"), with what the user gave. Problems
 * are collected, not thrown one at a time: `dtca config validate` lists them all; `dtca run`
 * refuses with the first and the count.
 *
 * Besides the schema (sim/config.ts), configProblems checks everything the run would refuse:
 * rules that are not bipartite or do not fit the grid, a torus with an odd side, a link slower
 * than a phase, and the 32-bit cell indices.
 */
import { z } from 'zod';
import { UserError } from '../fabric/errors.js';
import { checkRules, resolveRules, shown, RULE_PRESETS } from '../fabric/rules.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One source of values: a file of the extends chain, --ideal, one --set, or a flag. */
export interface ConfigLayer {
  /** how the user names it: a file path, "ideal" / "--ideal", "sets[0] a.b=3" / "--set a.b=3" (sim/config-names.ts), "--seed 4" */
  source: string;
  raw: JsonObject;
}

export interface ConfigProblem {
  /** dotted path in the config ("" for the whole file) */
  path: string;
  message: string;
  /** the layer that gave the value */
  source: string;
  /** the value at the path, when there is one */
  given?: unknown;
  hasGiven: boolean;
}

const own = (o: unknown, k: string): boolean => isObject(o) && Object.prototype.hasOwnProperty.call(o, k);

/** The value at a dotted path of a raw object (own properties only), or `none`. */
export function getPath(raw: unknown, path: string): { found: boolean; value?: unknown } {
  if (path === '') return { found: true, value: raw };
  let node: unknown = raw;
  for (const k of path.split('.')) {
    if (!own(node, k)) return { found: false };
    node = (node as JsonObject)[k];
  }
  return { found: true, value: node };
}

/** Does this layer set the value at `path` (the path itself, a parent of it, or something inside it)? */
function layerSets(raw: JsonObject, path: string): boolean {
  const keys = path === '' ? [] : path.split('.');
  let node: unknown = raw;
  for (const k of keys) {
    if (!isObject(node)) return true; // a layer that sets a parent to a non-object sets this too
    if (!own(node, k)) return false;
    node = node[k];
  }
  return true;
}

/** Index of the last layer that set `path`, or -1. */
function lastLayer(path: string, layers: ConfigLayer[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if (layersSetsNonEmpty(layers[i].raw, path)) return i;
  return -1;
}

/** The last layer that set `path` (else the first layer: the file being resolved). */
export function sourceOf(path: string, layers: ConfigLayer[]): string {
  for (let i = layers.length - 1; i >= 0; i--) if (layersSetsNonEmpty(layers[i].raw, path)) return layers[i].source;
  return layers[0]?.source ?? 'config';
}

function layersSetsNonEmpty(raw: JsonObject, path: string): boolean {
  if (path === '') return Object.keys(raw).length > 0;
  return layerSets(raw, path);
}

/** "my.json: fabric.L = 1: must be >= 2 (the smallest grid)" */
export function formatProblem(p: ConfigProblem): string {
  const at = p.path || '(top level)';
  const given = p.hasGiven ? ` = ${shown(p.given)}` : '';
  return `${p.source}: ${at}${given}: ${p.message}`;
}

/** The first problem as a one-line UserError, with the count of the others. */
export function problemsError(problems: ConfigProblem[], hint = 'dtca config validate lists them all'): UserError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: ${hint})` : '';
  return new UserError(formatProblem(problems[0]) + more);
}

/** Levenshtein distance (for "did you mean"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** The nearest of `known` to `word` (the first at the least distance), when it is near enough to be a typo. */
export function nearest(word: string, known: string[]): string | null {
  let best: [string, number] | null = null;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (!best || d < best[1]) best = [k, d];
  }
  return best && best[1] <= Math.max(2, Math.floor(word.length / 3)) ? best[0] : null;
}

export function suggestion(key: string, known: string[]): string {
  const near = nearest(key, known);
  return near !== null ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`;
}

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType };
const defOf = (s: z.ZodType): Def => (s as unknown as { def: Def }).def;

/** A schema without its optional wrappers. */
function unwrap(s: z.ZodType): z.ZodType {
  let t = s;
  while (defOf(t).type === 'optional' && defOf(t).innerType) t = defOf(t).innerType as z.ZodType;
  return t;
}

/** The keys a strict object schema allows at a path (for suggestions). */
function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const p of path) {
    const d = defOf(s);
    if (d.type !== 'object' || !d.shape || typeof p !== 'string' || !(p in d.shape)) return [];
    s = unwrap(d.shape[p]);
  }
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

const pathOf = (p: PropertyKey[]) => p.map((k) => String(k)).join('.');

/** zod issues as problems, each with its source and the value given. */
export function zodProblems(schema: z.ZodType, value: unknown, layers: ConfigLayer[]): ConfigProblem[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  const out: ConfigProblem[] = [];
  for (const issue of r.error.issues) {
    const base = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, base);
      for (const k of issue.keys) {
        const path = pathOf([...base, k]);
        out.push({ path, message: `unknown key${suggestion(k, known)}`, source: sourceOf(path, layers), hasGiven: false });
      }
      continue;
    }
    const path = pathOf(base);
    const got = getPath(value, path);
    let message = issue.message;
    const expected =
      issue.code === 'invalid_type' ? (issue.expected === 'object' ? 'an object' : issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`) : '';
    switch (issue.code) {
      case 'invalid_type':
        message = !got.found
          ? `missing (expected ${expected})`
          : issue.expected === 'int' && typeof got.value === 'number'
            ? 'must be an integer'
            : `expected ${expected}, got ${typeName(got.value)}`;
        break;
      case 'too_small':
        message = `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
        break;
      case 'too_big':
        message = `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
        break;
      case 'invalid_value':
        message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'not_multiple_of':
        message = Number(issue.divisor) === 1 ? 'must be an integer' : `must be a multiple of ${String(issue.divisor)}`;
        break;
      default:
        break;
    }
    if (issue.code === 'invalid_union' && path === 'fabric.rules') {
      try {
        resolveRules(got.value, 'fabric.rules');
        message =
          typeof got.value === 'string'
            ? `write the preset in capitals: "${got.value.toUpperCase()}"`
            : `each rule is two integers within +-${MAX_L}, at most ${MAX_RULES} rules`;
      } catch (e) {
        message = (e as Error).message.replace(/^fabric\.rules: /, '');
      }
    }
    // the weight precision's union (sim/config.ts: int(2, 24) or "exact") said only "Invalid input" for 3.5, "8" or "exactt"
    if (issue.code === 'invalid_union' && path === 'cell.weight_bits') message = 'expected an integer from 2 to 24, or "exact" (unquantised weights)';
    if (message === 'Invalid input: expected int, received number') message = 'must be an integer';
    // JSON's 1e400 is Infinity: "expected a number, got a number" would contradict itself
    if (got.found && typeof got.value === 'number' && !Number.isFinite(got.value)) message = 'not a finite number';
    out.push({ path, message, source: sourceOf(path, layers), given: got.value, hasGiven: got.found });
  }
  return out;
}

/** Deep-partial copy of a strict object schema (every key optional, nested objects too). */
export function deepPartial(schema: z.ZodType): z.ZodType {
  const d = (schema as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; catchall?: unknown } }).def;
  if (d.type === 'object' && d.shape) {
    const shape: Record<string, z.ZodType> = {};
    for (const [k, v] of Object.entries(d.shape)) shape[k] = deepPartial(v).optional();
    const desc = (schema as unknown as { description?: string }).description;
    const o = z.strictObject(shape);
    return desc ? o.describe(desc) : o;
  }
  return schema;
}

/** The largest grid side: cell indices are 32-bit (and a pad cell follows the last). */
export const MAX_L = 46340;
/** The most rules: per-cell counters of crossing wires are 8-bit (4 directions per rule). */
export const MAX_RULES = 63;

interface SemanticConfig {
  fabric: { L: number; rules: unknown; boundary: 'open' | 'torus'; tile: { link_latency_cycles: number } };
  clock: { phase_cycles: number };
}

/**
 * What the run would refuse about a schema-valid config: the rules on this grid, the link latency
 * against the phase. Each problem names the layer that set the value.
 */
export function semanticProblems(c: SemanticConfig, layers: ConfigLayer[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (path: string, message: string, given?: unknown, hasGiven = given !== undefined) =>
    out.push({ path, message, source: sourceOf(path, layers), given, hasGiven });
  let rules;
  try {
    rules = resolveRules(c.fabric.rules, 'fabric.rules');
  } catch (e) {
    add('fabric.rules', (e as Error).message.replace(/^fabric\.rules: /, ''), c.fabric.rules);
    rules = null;
  }
  if (rules) {
    if (rules.length > MAX_RULES) add('fabric.rules', `at most ${MAX_RULES} rules (degree ${4 * MAX_RULES})`, `${rules.length} rules`);
    try {
      checkRules(rules, c.fabric.L, c.fabric.boundary, 'fabric.rules');
    } catch (e) {
      // "fabric.rules[2] = (9,10): grid L=5 is too small ..." -> path, value, message
      const m = (e as Error).message;
      const r = /^(fabric\.rules\[\d+\]) = (\([^)]*\)): (.*)$/.exec(m);
      const aboutL = /too small|even L/.test(m);
      const li = lastLayer('fabric.L', layers);
      const ri = lastLayer('fabric.rules', layers);
      // an odd side on a torus has nothing to do with the rules: blame whichever of L and boundary was set last
      const bi = lastLayer('fabric.boundary', layers);
      const oddTorus = /even L/.test(m);
      // a grid too small for its rules: blame whichever of L and rules was set last
      const source = oddTorus
        ? (layers[Math.max(li, bi, 0)]?.source ?? sourceOf('fabric.L', layers))
        : aboutL && li > ri
          ? layers[li].source
          : (layers[Math.max(ri, 0)]?.source ?? sourceOf('fabric.rules', layers));
      if (r) out.push({ path: r[1], message: r[3], source, given: r[2], hasGiven: true });
      else
        out.push({
          path: aboutL ? 'fabric.L' : 'fabric.rules',
          message: m.replace(/^fabric\.L = \d+: /, ''),
          source,
          given: aboutL ? c.fabric.L : undefined,
          hasGiven: aboutL,
        });
    }
  }
  const lat = c.fabric.tile.link_latency_cycles;
  if (lat > c.clock.phase_cycles) {
    add(
      'fabric.tile.link_latency_cycles',
      `longer than a colour phase (clock.phase_cycles = ${c.clock.phase_cycles}); a link must deliver within the phase`,
      lat,
    );
  }
  return out;
}

export { RULE_PRESETS };
