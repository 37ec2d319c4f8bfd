// A small, strict VCD reader for tests: declarations, $dumpvars and value changes, with times
// that must not decrease, ids that must be declared and values that must fit their variables.
// Vectors are normalised to a number, or 'x' / 'z' when any bit is unknown / undriven.
import { readFileSync } from 'node:fs';

export type Val = number | 'x' | 'z';

export interface VcdVarInfo {
  id: string;
  type: string;
  width: number;
  /** full name: scopes joined with '.', then the reference */
  name: string;
}

export interface ParsedVcd {
  timescale: string;
  vars: Map<string, VcdVarInfo>;
  byName: Map<string, VcdVarInfo>;
  /** per id: [tick, value] in time order */
  changes: Map<string, [number, Val][]>;
  lastTime: number;
  /** value of a variable (full name) at tick t: the last change at or before t */
  at(name: string, t: number): Val | undefined;
}

function vectorValue(bits: string, width: number): Val {
  if (!/^[01xzXZ]+$/.test(bits)) throw new Error(`bad vector value b${bits}`);
  if (bits.length > width) throw new Error(`vector b${bits} is wider than ${width}`);
  const b = bits.toLowerCase();
  if (b.includes('x')) return 'x';
  if (b.includes('z')) return b.replace(/z/g, '') === '' ? 'z' : 'x';
  return parseInt(b, 2);
}

export function parseVcd(text: string): ParsedVcd {
  const tokens = text.split(/\s+/).filter((t) => t.length > 0);
  const vars = new Map<string, VcdVarInfo>();
  const byName = new Map<string, VcdVarInfo>();
  const changes = new Map<string, [number, Val][]>();
  const scopes: string[] = [];
  let timescale = '';
  let i = 0;
  const until = (end = '$end') => {
    const out: string[] = [];
    while (tokens[i] !== end) {
      if (i >= tokens.length) throw new Error(`missing ${end}`);
      out.push(tokens[i++]);
    }
    i++;
    return out;
  };
  // declarations
  for (;;) {
    const t = tokens[i++];
    if (t === undefined) throw new Error('no $enddefinitions');
    if (t === '$enddefinitions') {
      until();
      break;
    }
    if (t === '$timescale') timescale = until().join(' ');
    else if (t === '$scope') scopes.push(until()[1]);
    else if (t === '$upscope') {
      until();
      if (!scopes.pop()) throw new Error('$upscope without $scope');
    } else if (t === '$var') {
      const [type, width, id, ref] = until();
      if (!['wire', 'reg', 'integer', 'real'].includes(type)) throw new Error(`unknown var type ${type}`);
      if (vars.has(id)) throw new Error(`id ${id} declared twice`);
      const info = { id, type, width: Number(width), name: [...scopes, ref].join('.') };
      vars.set(id, info);
      byName.set(info.name, info);
      changes.set(id, []);
    } else if (t.startsWith('$')) until();
    else throw new Error(`unexpected token ${t} in the declarations`);
  }
  if (scopes.length) throw new Error('unclosed $scope');
  let time = -1;
  const set = (id: string, v: Val) => {
    const info = vars.get(id);
    if (!info) throw new Error(`undeclared id ${id}`);
    if (time < 0) throw new Error(`value for ${id} before the first time stamp`);
    const list = changes.get(id)!;
    if (list.length && list[list.length - 1][0] === time) list[list.length - 1][1] = v;
    else list.push([time, v]);
  };
  while (i < tokens.length) {
    const t = tokens[i++];
    if (t === '$dumpvars' || t === '$end' || t === '$dumpall' || t === '$dumpon' || t === '$dumpoff') continue;
    if (t === '$comment') {
      until();
      continue;
    }
    if (t[0] === '#') {
      const nt = Number(t.slice(1));
      if (!Number.isInteger(nt) || nt < time) throw new Error(`time ${t} after #${time}`);
      time = nt;
    } else if (t[0] === 'b' || t[0] === 'B') {
      const id = tokens[i++];
      const info = vars.get(id);
      if (!info) throw new Error(`undeclared id ${id}`);
      set(id, vectorValue(t.slice(1), info.width));
    } else if (t[0] === 'r' || t[0] === 'R') {
      const id = tokens[i++];
      const v = Number(t.slice(1));
      if (!Number.isFinite(v)) throw new Error(`bad real ${t}`);
      if (vars.get(id)?.type !== 'real') throw new Error(`real value for non-real ${id}`);
      set(id, v);
    } else if (/^[01xzXZ]/.test(t)) {
      const id = t.slice(1);
      const info = vars.get(id);
      if (!info) throw new Error(`undeclared id ${id}`);
      if (info.width !== 1) throw new Error(`scalar value for ${info.width}-bit ${info.name}`);
      const c = t[0].toLowerCase();
      set(id, c === 'x' || c === 'z' ? c : Number(c));
    } else throw new Error(`unexpected token ${t}`);
  }
  const at = (name: string, tt: number): Val | undefined => {
    const info = byName.get(name);
    if (!info) throw new Error(`no variable ${name}`);
    const list = changes.get(info.id)!;
    let lo = 0;
    let hi = list.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (list[m][0] <= tt) ((ans = m), (lo = m + 1));
      else hi = m - 1;
    }
    return ans < 0 ? undefined : list[ans][1];
  };
  return { timescale, vars, byName, changes, lastTime: time, at };
}

export function readVcd(path: string): ParsedVcd {
  return parseVcd(readFileSync(path, 'utf8'));
}
