/**
 * JSON and msgpack values from files and flags, read so that nothing hostile gets through:
 *
 *  - nesting deeper than MAX_DEPTH levels is refused (checked without recursion, before anything
 *    walks the value: building a message or merging a config recurses);
 *  - a JSON syntax error says where (line and column, or the byte), never which bytes: V8's
 *    message quotes the text around the error, and the file may be anything (`extends` pointing
 *    at /etc/shadow must not print it);
 *  - a key given twice in one object is refused (JSON.parse would keep the last one silently).
 */
import { UserError } from './errors.js';
import { shown } from './rules.js';

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

/**
 * What is wrong with bytes msgpack could not decode, in words, without quoting them: msgpackr's
 * "Data read, but end of buffer not reached" message goes on with the value it read (a model file
 * holding `["root:SECRET...", "x"]` and one byte more must not print it).
 */
export function msgpackProblem(e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  if (/^Data read, but end of buffer not reached/.test(m)) return 'trailing bytes after the msgpack value';
  if (/^Unexpected end of/.test(m)) return 'it ends early';
  // msgpackr's other messages name a token or type by number; anything else is left out
  return /^[\w .,:-]{1,80}$/.test(m) ? m : 'not valid msgpack';
}

/**
 * The first key given twice in one object of valid JSON `text` (JSON.parse keeps the last silently,
 * so `{"fabric": {"L": 16}, "fabric": {"L": 32}}` would run L = 32 without a word): its path
 * (`fabric`, `stages[2].ew`) and line, or null. One pass, no recursion; keys compared as JSON.parse
 * reads them (escapes resolved).
 */
export function duplicateKey(text: string): { path: string; line: number } | null {
  interface Frame {
    keys: Set<string> | null; // null: an array
    name: string; // this container's path
    index: number; // an array's current element
    last: string; // an object's last key
  }
  const stack: Frame[] = [];
  let expectKey = false;
  let line = 1;
  const child = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.keys === null) return `${top.name}[${top.index}]`;
    return top.name === '' ? top.last : `${top.name}.${top.last}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 34) {
      // a string: to its closing quote (a backslash escapes the next character)
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top && top.keys !== null) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        top.last = key;
        if (top.keys.has(key)) return { path: child(), line };
        top.keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 123 || c === 91) {
      stack.push({ keys: c === 123 ? new Set() : null, name: child(), index: 0, last: '' });
      expectKey = c === 123;
    } else if (c === 125 || c === 93) {
      stack.pop();
      expectKey = false;
    } else if (c === 44) {
      const top = stack[stack.length - 1];
      if (top && top.keys === null) top.index++;
      expectKey = Boolean(top && top.keys !== null);
    }
  }
  return null;
}

/** JSON text -> value, with the two rules above and no key given twice; `where` names the file or flag. */
export function parseJsonText(text: string, where: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: not valid JSON (${jsonProblem(e, text)})`);
  }
  checkDepth(v, where);
  checkDuplicateKeys(text, where);
  return v;
}

/** A UserError when valid JSON `text` gives a key twice in one object (duplicateKey). */
export function checkDuplicateKeys(text: string, where: string): void {
  const d = duplicateKey(text);
  if (d) throw new UserError(`${where}: "${d.path}" is given twice (line ${d.line}); JSON would keep the last one without a word: remove one`);
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

/**
 * The first key given twice in one map of the msgpack value at `start` of `b` (valid msgpack:
 * call it after the decoder read the bytes), or null. msgpackr, like JSON.parse, keeps the last
 * value silently, so `{grid: {L: 16}, grid: {L: 32}}` would run L = 32 without a word. Keys are
 * compared as the reader sees them: text as text, a number, boolean or nil key by its text (msgpackr
 * makes every key of a map a property name: 1 and "1" are one key, and "__proto__" is read as
 * "__proto_"). `path` names the key (`grid.L`, `stages[1].bias`); `at` is the byte where its second
 * copy starts. One pass, no recursion; a string or bin value is skipped, not read.
 */
export function msgpackDuplicateKey(b: Uint8Array, start = 0, end = b.length): { path: string; at: number } | null {
  // the common case (every key plain ASCII text, none alike) without building any string; the full
  // walk below decides everything else and names the key
  if (distinctAsciiKeys(b, start, Math.min(end, b.length))) return null;
  try {
    return walkMsgpackKeys(b, start, Math.min(end, b.length));
  } catch (e) {
    if (e instanceof RangeError) return null; // a header cut at the buffer's end: the decoder says what is wrong
    throw e;
  }
}

/**
 * True when every map key of the msgpack value at `start` is ASCII text not starting "__proto" and no
 * two keys of one map have the same bytes: then no two are alike as the reader sees them (ASCII bytes
 * are their text). False when it cannot say so cheaply (a key of another kind or with other bytes, a
 * repeat, bytes cut short): the full walk decides. No strings and no objects per value: a trace
 * reader calls this for every record.
 */
function distinctAsciiKeys(b: Uint8Array, start: number, end: number): boolean {
  const left: number[] = []; // per open container: items still to come (a map counts keys and values)
  const isMap: boolean[] = [];
  const keyBase: number[] = []; // per open container: where its keys start in ko/kl
  const ko: number[] = []; // the keys of the open maps: offsets and lengths
  const kl: number[] = [];
  let pos = start;
  do {
    if (pos >= end) return false;
    const d = left.length - 1;
    const isKey = d >= 0 && isMap[d] && left[d] % 2 === 0;
    const c = b[pos++];
    let items = -1;
    let map = false;
    let skip = 0;
    if (c <= 0x7f || c >= 0xe0) {
      if (isKey) return false;
    } else if (c <= 0x8f) ((items = 2 * (c & 0x0f)), (map = true));
    else if (c <= 0x9f) items = c & 0x0f;
    else if (c <= 0xbf || c === 0xd9 || c === 0xda || c === 0xdb) {
      let len: number;
      if (c <= 0xbf) len = c & 0x1f;
      else if (c === 0xd9) ((len = b[pos]), (pos += 1));
      else if (c === 0xda) ((len = (b[pos] << 8) | b[pos + 1]), (pos += 2));
      else ((len = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])), (pos += 4));
      if (pos + len > end) return false;
      if (isKey) {
        for (let i = 0; i < len; i++) if (b[pos + i] >= 0x80) return false;
        // "__proto" (msgpackr reads "__proto__" as "__proto_")
        if (
          len >= 7 &&
          b[pos] === 95 &&
          b[pos + 1] === 95 &&
          b[pos + 2] === 112 &&
          b[pos + 3] === 114 &&
          b[pos + 4] === 111 &&
          b[pos + 5] === 116 &&
          b[pos + 6] === 111
        )
          return false;
        for (let k = keyBase[d]; k < ko.length; k++) {
          if (kl[k] !== len) continue;
          let same = true;
          for (let i = 0; i < len && same; i++) same = b[ko[k] + i] === b[pos + i];
          if (same) return false;
        }
        ko.push(pos);
        kl.push(len);
      }
      skip = len;
    } else if (isKey) return false;
    else if (c === 0xc0 || c === 0xc2 || c === 0xc3) skip = 0;
    else if (c === 0xc4) ((skip = b[pos]), (pos += 1));
    else if (c === 0xc5) ((skip = (b[pos] << 8) | b[pos + 1]), (pos += 2));
    else if (c === 0xc6) ((skip = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])), (pos += 4));
    else if (c === 0xc7) ((skip = b[pos] + 1), (pos += 1));
    else if (c === 0xc8) ((skip = ((b[pos] << 8) | b[pos + 1]) + 1), (pos += 2));
    else if (c === 0xc9) ((skip = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) + 1), (pos += 4));
    else if (c === 0xca || c === 0xce || c === 0xd2) skip = 4;
    else if (c === 0xcb || c === 0xcf || c === 0xd3) skip = 8;
    else if (c === 0xcc || c === 0xd0) skip = 1;
    else if (c === 0xcd || c === 0xd1) skip = 2;
    else if (c >= 0xd4 && c <= 0xd8) skip = 1 + (1 << (c - 0xd4));
    else if (c === 0xdc) ((items = (b[pos] << 8) | b[pos + 1]), (pos += 2));
    else if (c === 0xdd) ((items = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])), (pos += 4));
    else if (c === 0xde) ((items = 2 * ((b[pos] << 8) | b[pos + 1])), (pos += 2), (map = true));
    else if (c === 0xdf) ((items = 2 * (b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]))), (pos += 4), (map = true));
    else return false; // 0xc1
    if (pos > end) return false;
    pos += skip;
    if (d >= 0) left[d]--;
    if (items > 0) {
      left.push(items);
      isMap.push(map);
      keyBase.push(ko.length);
    }
    while (left.length > 0 && left[left.length - 1] === 0) {
      ko.length = kl.length = keyBase.pop()!;
      left.pop();
      isMap.pop();
    }
  } while (left.length > 0);
  return true;
}

function walkMsgpackKeys(b: Uint8Array, start: number, end: number): { path: string; at: number } | null {
  interface Frame {
    keys: Set<string> | null; // null: an array
    n: number; // items (an array's values; a map's keys and values) in all
    left: number; // items still to come
    name: string; // this container's path
    last: string; // a map's last key
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: Frame[] = [];
  let pos = start;
  const u8 = (p: number) => b[p];
  const u16 = (p: number) => dv.getUint16(p);
  const u32 = (p: number) => dv.getUint32(p);
  const child = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.keys === null) return `${top.name}[${top.n - top.left}]`;
    return top.name === '' ? top.last : `${top.name}.${top.last}`;
  };
  do {
    if (pos >= end) return null; // cut short (or a header read past the end): the decoder says so
    const at = pos;
    const top = stack[stack.length - 1];
    const isKey = top !== undefined && top.keys !== null && top.left % 2 === 0;
    const c = u8(pos++);
    let skip = 0; // bytes of payload after the header
    let items = -1; // a container's items (-1: not a container)
    let map = false;
    let key: string | null = null; // a key's text as the reader sees it
    if (c <= 0x7f) key = isKey ? String(c) : null;
    else if (c <= 0x8f) ((items = 2 * (c & 0x0f)), (map = true));
    else if (c <= 0x9f) items = c & 0x0f;
    else if (c <= 0xbf || c === 0xd9 || c === 0xda || c === 0xdb) {
      const len = c <= 0xbf ? c & 0x1f : c === 0xd9 ? u8(pos) : c === 0xda ? u16(pos) : u32(pos);
      pos += c <= 0xbf ? 0 : c === 0xd9 ? 1 : c === 0xda ? 2 : 4;
      if (isKey) key = Buffer.from(b.buffer, b.byteOffset + pos, Math.min(len, end - pos)).toString('utf8');
      skip = len;
    } else if (c >= 0xe0) key = isKey ? String(c - 0x100) : null;
    else if (c === 0xc0) key = 'null';
    else if (c === 0xc2) key = 'false';
    else if (c === 0xc3) key = 'true';
    else if (c === 0xc4) ((skip = u8(pos)), (pos += 1));
    else if (c === 0xc5) ((skip = u16(pos)), (pos += 2));
    else if (c === 0xc6) ((skip = u32(pos)), (pos += 4));
    else if (c === 0xc7) ((skip = u8(pos) + 1), (pos += 1));
    else if (c === 0xc8) ((skip = u16(pos) + 1), (pos += 2));
    else if (c === 0xc9) ((skip = u32(pos) + 1), (pos += 4));
    else if (c === 0xca) ((key = isKey ? String(dv.getFloat32(pos)) : null), (skip = 4));
    else if (c === 0xcb) ((key = isKey ? String(dv.getFloat64(pos)) : null), (skip = 8));
    else if (c === 0xcc) ((key = isKey ? String(u8(pos)) : null), (skip = 1));
    else if (c === 0xcd) ((key = isKey ? String(u16(pos)) : null), (skip = 2));
    else if (c === 0xce) ((key = isKey ? String(u32(pos)) : null), (skip = 4));
    else if (c === 0xcf) ((key = isKey ? String(dv.getBigUint64(pos)) : null), (skip = 8));
    else if (c === 0xd0) ((key = isKey ? String(dv.getInt8(pos)) : null), (skip = 1));
    else if (c === 0xd1) ((key = isKey ? String(dv.getInt16(pos)) : null), (skip = 2));
    else if (c === 0xd2) ((key = isKey ? String(dv.getInt32(pos)) : null), (skip = 4));
    else if (c === 0xd3) ((key = isKey ? String(dv.getBigInt64(pos)) : null), (skip = 8));
    else if (c >= 0xd4 && c <= 0xd8)
      skip = 1 + (1 << (c - 0xd4)); // fixext 1..16: type byte and data
    else if (c === 0xdc) ((items = u16(pos)), (pos += 2));
    else if (c === 0xdd) ((items = u32(pos)), (pos += 4));
    else if (c === 0xde) ((items = 2 * u16(pos)), (pos += 2), (map = true));
    else if (c === 0xdf) ((items = 2 * u32(pos)), (pos += 4), (map = true));
    else return null; // 0xc1: never used; the decoder refuses it
    if (pos > end) return null;
    pos += skip;
    if (isKey && key !== null) {
      if (key === '__proto__') key = '__proto_';
      top.last = key;
      if (top.keys!.has(key)) return { path: child(), at };
      top.keys!.add(key);
    }
    if (isKey && key === null) top.last = '?';
    // a container's path, for the frame it opens (only then: a string per value would cost more than the walk)
    const name = items > 0 ? child() : '';
    if (top) top.left--;
    if (items > 0) stack.push({ keys: map ? new Set() : null, n: items, left: items, name, last: '' });
    while (stack.length > 0 && stack[stack.length - 1].left === 0) stack.pop();
  } while (stack.length > 0);
  return null;
}

/** A UserError when the msgpack value in `b` gives a key twice in one map (msgpackDuplicateKey). */
export function checkMsgpackKeys(b: Uint8Array, where: string): void {
  const d = msgpackDuplicateKey(b);
  if (d) throw new UserError(`${where}: ${duplicateWords(d)}`);
}

/** "KEY" is given twice in one map (byte N); ...: the words after the file's name. */
export function duplicateWords(d: { path: string; at: number }): string {
  return `"${shown(d.path)}" is given twice in one map (byte ${d.at}); a reader would keep the last one without a word: the file is damaged or was not written by dtca`;
}
