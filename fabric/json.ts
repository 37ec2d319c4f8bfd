/**
 * JSON and msgpack values from files and flags, read so that nothing hostile gets through:
 *
 *  - nesting deeper than MAX_DEPTH levels is refused (checked without recursion, before anything
 *    walks the value: building a message or merging a config recurses);
 *  - a JSON syntax error says where (line and column, or the byte), never which bytes: V8's
 *    message quotes the text around the error, and the file may be anything (`extends` pointing
 *    at /etc/shadow must not print it).
 */
import { UserError } from './errors.js';

/** Deeper than any config, model or record dtca reads (a model is at most 4 levels deep). */
export const MAX_DEPTH = 64;

/** Is `v` nested deeper than `max` arrays/objects? Iterative: safe for any depth. */
export function tooDeep(v: unknown, max = MAX_DEPTH): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object' || ArrayBuffer.isView(x)) continue;
    if (d >= max) return true;
    const items = Array.isArray(x) ? x : Object.values(x as Record<string, unknown>);
    for (const y of items) if (y !== null && typeof y === 'object') stack.push([y, d + 1]);
  }
  return false;
}

/** A UserError when `v` is nested too deep. */
export function checkDepth(v: unknown, where: string): void {
  if (tooDeep(v)) throw new UserError(`${where}: nested deeper than ${MAX_DEPTH} levels; not a dtca file`);
}

/** Where a JSON.parse error happened, in words, without quoting the text. */
export function jsonProblem(e: unknown, text: string): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/^Unexpected end of JSON input/.test(m)) return 'it ends early';
  let pos: number | null = null;
  const p = /at position (\d+)/.exec(m);
  if (p) pos = Number(p[1]);
  else {
    // "Unexpected token 'x', "...text..." is not valid JSON": find the token ourselves
    const t = /^Unexpected token '(.)'/su.exec(m);
    if (t) {
      const at = firstBadIndex(text, t[1]);
      if (at >= 0) pos = at;
    }
  }
  if (pos === null) return 'a syntax error';
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `a syntax error at line ${line}, column ${col}`;
}

/** The first index of `ch` outside a JSON string (a good guess at where V8 stopped). */
function firstBadIndex(text: string, ch: string): number {
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === ch) return i;
  }
  return -1;
}

/** JSON text -> value, with the two rules above; `where` names the file or flag. */
export function parseJsonText(text: string, where: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: not valid JSON (${jsonProblem(e, text)})`);
  }
  checkDepth(v, where);
  return v;
}

/** What a value is, in a word, for "must be an object, not ..." messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v === 'object'
    ? 'an object'
    : typeof v === 'string'
      ? 'a string'
      : typeof v === 'number'
        ? 'a number'
        : typeof v === 'boolean'
          ? 'a boolean'
          : typeof v;
}
