/**
 * Connectivity rules. A rule (a, b) adds the four rotated offsets (a,b), (-b,a), (-a,-b), (b,-a),
 * so the degree is 4 x (number of rules). Direction k = 4*rule + r; its opposite is 4*rule + (r+2)%4.
 */
import { UserError } from './errors.js';

export type Rule = [number, number];

export const RULE_PRESETS: Record<string, Rule[]> = {
  G8: [
    [0, 1],
    [4, 1],
  ],
  G12: [
    [0, 1],
    [4, 1],
    [9, 10],
  ],
  // One careful reading of the paper's table; the authors' code uses (0,1),(4,1),(10,9),(11,14).
  G16: [
    [0, 1],
    [4, 1],
    [8, 7],
    [14, 9],
  ],
  G16_CODE: [
    [0, 1],
    [4, 1],
    [10, 9],
    [11, 14],
  ],
  // Extropic's Z1 documentation (a later chip, not the paper).
  Z1: [
    [1, 0],
    [2, 1],
    [2, 3],
    [4, 1],
  ],
};

/** A short, printable rendering of what the user gave (for error messages). */
export function shown(v: unknown, max = 60): string {
  let t: string;
  try {
    t =
      typeof v === 'string'
        ? v
        : typeof v === 'number' || typeof v === 'bigint' || v === undefined
          ? String(v)
          : (JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? String(v));
  } catch {
    // too deep or circular for JSON.stringify (String() of a deep list overflows the stack too)
    t = Array.isArray(v) ? '[...]' : typeof v === 'object' && v !== null ? '{...}' : '(a value)';
  }
  // control characters (C0, C1), invisible and direction-changing characters, the replacement
  // character and lone surrogates are escaped: decoded garbage never reaches a terminal as is
  t = t.replace(
    /[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      const n = c.charCodeAt(0);
      return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
    },
  );
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/**
 * A preset name or a list of [a, b] rules -> the rules. Anything else (a number, [1, 2], [[0, 1, 2]],
 * non-integer offsets) is a UserError naming `where` and showing what was given.
 */
export function resolveRules(rules: unknown, where = 'fabric.rules'): Rule[] {
  if (typeof rules === 'string') {
    const p = RULE_PRESETS[rules.toUpperCase()];
    if (!p) {
      throw new UserError(`${where}: unknown rule preset "${shown(rules)}" (known: ${Object.keys(RULE_PRESETS).join(', ')}; or a list like [[0,1],[4,1]])`);
    }
    return p.map(([a, b]) => [a, b]);
  }
  const ok =
    Array.isArray(rules) &&
    rules.length > 0 &&
    rules.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && Number.isSafeInteger(x)));
  if (!ok) {
    throw new UserError(
      `${where}: ${shown(rules)} is not a preset name (${Object.keys(RULE_PRESETS).join(', ')}) or a non-empty list of integer [a, b] pairs like [[0,1],[4,1]]`,
    );
  }
  return (rules as Rule[]).map(([a, b]) => [a, b]);
}

/** A rule list in a canonical text, order-free: "(0,1)(4,1)(9,10)" (two lists are the same rules when these are equal). */
export function rulesKey(r: Rule[]): string {
  return r
    .map(([a, b]) => `(${a},${b})`)
    .sort()
    .join('');
}

/** A rule list by its preset's name when it is one (G12), else as JSON. */
export function rulesName(r: Rule[]): string {
  return Object.keys(RULE_PRESETS).find((p) => rulesKey(RULE_PRESETS[p]) === rulesKey(r)) ?? JSON.stringify(r);
}

/** The four rotations of each rule, as [dx, dy] per direction. */
export function directions(rules: Rule[]): Rule[] {
  const out: Rule[] = [];
  for (const [a, b] of rules) out.push([a, b], [-b, a], [-a, -b], [b, -a]);
  return out;
}

export function oppositeDirection(k: number): number {
  return (k & ~3) | ((k + 2) & 3);
}

/**
 * Checks a rule list against a grid: integers, not (0,0), a+b odd (bipartite under the
 * checkerboard colouring), no two rules giving the same offsets, offsets that fit the grid. `where`
 * names the rules and `lName` the side in an error (a config's fabric.L, a model file's grid.L, a flag).
 */
export function checkRules(rules: Rule[], L: number, boundary: 'open' | 'torus', where = 'fabric.rules', lName = 'fabric.L'): void {
  if (rules.length === 0) throw new UserError(`${where}: at least one rule is needed`);
  const seen = new Map<string, number>();
  // the other rule is in the same list: named without the file `where` may begin with ("m.json: grid.rules" -> "grid.rules")
  const list = where.includes(': ') ? where.slice(where.lastIndexOf(': ') + 2) : where;
  rules.forEach(([a, b], r) => {
    const name = `${where}[${r}] = (${a},${b})`;
    if (!Number.isInteger(a) || !Number.isInteger(b)) throw new UserError(`${name}: offsets must be integers`);
    if (((Math.abs(a) + Math.abs(b)) & 1) === 0) {
      throw new UserError(
        `${name}: a+b is even, so the rule joins cells of the same checkerboard colour and two-colour Gibbs is impossible (every rule needs a+b odd)`,
      );
    }
    for (const [dx, dy] of directions([[a, b]])) {
      const key = `${dx},${dy}`;
      const prev = seen.get(key);
      if (prev !== undefined) {
        throw new UserError(`${name}: gives offset (${dx},${dy}) that rule ${list}[${prev}] already gives`);
      }
      seen.set(key, r);
    }
    const reach = Math.max(Math.abs(a), Math.abs(b));
    if (boundary === 'torus' && 2 * reach >= L) {
      throw new UserError(`${name}: grid L=${L} is too small for this rule on a torus (needs L > ${2 * reach})`);
    }
    if (boundary === 'open' && reach >= L) {
      throw new UserError(`${name}: grid L=${L} is too small for this rule (needs L > ${reach})`);
    }
  });
  if (boundary === 'torus' && L % 2 === 1) {
    throw new UserError(`${lName} = ${L}: a torus needs an even L, or the checkerboard colouring is not consistent across the wrap`);
  }
}
