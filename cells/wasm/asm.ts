/**
 * A minimal WebAssembly binary writer, enough to generate the latch kernels at run time with the
 * fabric's neighbour offsets baked in as load immediates (cells/wasm/emit/kernel.ts). Only the MVP, the
 * fixed-width 128-bit SIMD proposal and shared memory are used: all of it runs on Node 20 without
 * flags.
 *
 * Code is built as nested arrays of bytes in operand order (the folded-WAT style: children first,
 * then the opcode) and flattened once per function.
 */

export type Code = number | Code[];

export const enum T {
  i32 = 0x7f,
  i64 = 0x7e,
  f32 = 0x7d,
  f64 = 0x7c,
  v128 = 0x7b,
}

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function slebBig(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f64bytes(x: number): number[] {
  const b = new Uint8Array(new Float64Array([x]).buffer);
  return Array.from(b);
}

function flatten(c: Code, out: number[]): void {
  if (typeof c === 'number') out.push(c);
  else for (const x of c) flatten(x, out);
}

const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const memarg = (offset: number, align = 0): number[] => [...uleb(align), ...uleb(offset)];

/** Byte offset immediates must be non-negative u32. */
function off(o: number): number {
  if (!Number.isInteger(o) || o < 0 || o > 0xffffffff) throw new Error(`wasm: bad memory offset ${o}`);
  return o;
}

export const op = {
  // control
  block: (body: Code[], label = 0x40): Code => [0x02, label, body, 0x0b],
  loop: (body: Code[]): Code => [0x03, 0x40, body, 0x0b],
  if_: (cond: Code, then: Code[], else_?: Code[]): Code => (else_ ? [cond, 0x04, 0x40, then, 0x05, else_, 0x0b] : [cond, 0x04, 0x40, then, 0x0b]),
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  br_if: (depth: number, cond: Code): Code => [cond, 0x0d, ...uleb(depth)],
  ret: (): Code => [0x0f],
  call: (fn: number, args: Code[]): Code => [args, 0x10, ...uleb(fn)],
  drop: (x: Code): Code => [x, 0x1a],
  select: (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b],
  // locals
  get: (l: number): Code => [0x20, ...uleb(l)],
  set: (l: number, v: Code): Code => [v, 0x21, ...uleb(l)],
  tee: (l: number, v: Code): Code => [v, 0x22, ...uleb(l)],
  // scalar memory
  i32_load: (addr: Code, o = 0): Code => [addr, 0x28, ...memarg(off(o), 2)],
  f64_load: (addr: Code, o = 0): Code => [addr, 0x2b, ...memarg(off(o), 3)],
  i32_load8_u: (addr: Code, o = 0): Code => [addr, 0x2d, ...memarg(off(o), 0)],
  i32_store: (addr: Code, v: Code, o = 0): Code => [addr, v, 0x36, ...memarg(off(o), 2)],
  f64_store: (addr: Code, v: Code, o = 0): Code => [addr, v, 0x39, ...memarg(off(o), 3)],
  // i32
  i32: (n: number): Code => [0x41, ...sleb(n | 0)],
  i32_eqz: (a: Code): Code => [a, 0x45],
  i32_eq: (a: Code, b: Code): Code => [a, b, 0x46],
  i32_ne: (a: Code, b: Code): Code => [a, b, 0x47],
  i32_lt_s: (a: Code, b: Code): Code => [a, b, 0x48],
  i32_lt_u: (a: Code, b: Code): Code => [a, b, 0x49],
  i32_gt_s: (a: Code, b: Code): Code => [a, b, 0x4a],
  i32_le_s: (a: Code, b: Code): Code => [a, b, 0x4c],
  i32_ge_s: (a: Code, b: Code): Code => [a, b, 0x4e],
  i32_add: (a: Code, b: Code): Code => [a, b, 0x6a],
  i32_sub: (a: Code, b: Code): Code => [a, b, 0x6b],
  i32_div_u: (a: Code, b: Code): Code => [a, b, 0x6e],
  i32_mul: (a: Code, b: Code): Code => [a, b, 0x6c],
  i32_and: (a: Code, b: Code): Code => [a, b, 0x71],
  i32_or: (a: Code, b: Code): Code => [a, b, 0x72],
  i32_xor: (a: Code, b: Code): Code => [a, b, 0x73],
  i32_shl: (a: Code, b: Code): Code => [a, b, 0x74],
  i32_shr_u: (a: Code, b: Code): Code => [a, b, 0x76],
  // i64 (scalars only where lane masks cross into scalar code)
  i64: (n: number | bigint): Code => [0x42, ...slebBig(BigInt(n))],
  i64_eqz: (a: Code): Code => [a, 0x50],
  i64_load: (addr: Code, o = 0): Code => [addr, 0x29, ...memarg(off(o), 3)],
  i64_and: (a: Code, b: Code): Code => [a, b, 0x83],
  i64_or: (a: Code, b: Code): Code => [a, b, 0x84],
  i64_xor: (a: Code, b: Code): Code => [a, b, 0x85],
  i64_shl: (a: Code, b: Code): Code => [a, b, 0x86],
  i64_shr_u: (a: Code, b: Code): Code => [a, b, 0x88],
  i64_store: (addr: Code, v: Code, o = 0): Code => [addr, v, 0x37, ...memarg(off(o), 3)],
  i32_store8: (addr: Code, v: Code, o = 0): Code => [addr, v, 0x3a, ...memarg(off(o), 0)],
  i64_popcnt: (a: Code): Code => [a, 0x7b],
  i64_add: (a: Code, b: Code): Code => [a, b, 0x7c],
  i64_mul: (a: Code, b: Code): Code => [a, b, 0x7e],
  i64_extend_i32_s: (a: Code): Code => [a, 0xac],
  i64_extend_i32_u: (a: Code): Code => [a, 0xad],
  i32_shr_s: (a: Code, b: Code): Code => [a, b, 0x75],
  i32_wrap_i64: (a: Code): Code => [a, 0xa7],
  // f64
  f64: (x: number): Code => [0x44, ...f64bytes(x)],
  f64_lt: (a: Code, b: Code): Code => [a, b, 0x63],
  f64_gt: (a: Code, b: Code): Code => [a, b, 0x64],
  f64_neg: (a: Code): Code => [a, 0x9a],
  f64_add: (a: Code, b: Code): Code => [a, b, 0xa0],
  f64_sub: (a: Code, b: Code): Code => [a, b, 0xa1],
  f64_mul: (a: Code, b: Code): Code => [a, b, 0xa2],
  f64_div: (a: Code, b: Code): Code => [a, b, 0xa3],
  f64_convert_i32_s: (a: Code): Code => [a, 0xb7],
  f64_convert_i32_u: (a: Code): Code => [a, 0xb8],
  f64_convert_i64_s: (a: Code): Code => [a, 0xb9],
  f64_ceil: (a: Code): Code => [a, 0x9b],
  f64_floor: (a: Code): Code => [a, 0x9c],
  f64_min: (a: Code, b: Code): Code => [a, b, 0xa4],
  f32_demote: (a: Code): Code => [a, 0xb6],
  // f32 (the cycle cell's scalar arithmetic)
  f32: (x: number): Code => [0x43, ...Array.from(new Uint8Array(new Float32Array([x]).buffer))],
  f32_neg: (a: Code): Code => [a, 0x8c],
  f32_add: (a: Code, b: Code): Code => [a, b, 0x92],
  f32_sub: (a: Code, b: Code): Code => [a, b, 0x93],
  f32_mul: (a: Code, b: Code): Code => [a, b, 0x94],
  f32_div: (a: Code, b: Code): Code => [a, b, 0x95],
  f64_promote: (a: Code): Code => [a, 0xbb],
  // v128 memory
  v_load: (addr: Code, o = 0): Code => [addr, simd(0x00), ...memarg(off(o), 0)],
  v_store: (addr: Code, v: Code, o = 0): Code => [addr, v, simd(0x0b), ...memarg(off(o), 0)],
  v_load64_zero: (addr: Code, o = 0): Code => [addr, simd(0x5d), ...memarg(off(o), 0)],
  v_load64_lane: (addr: Code, v: Code, lane: number, o = 0): Code => [addr, v, simd(0x57), ...memarg(off(o), 0), lane],
  v_store64_lane: (addr: Code, v: Code, lane: number, o = 0): Code => [addr, v, simd(0x5b), ...memarg(off(o), 0), lane],
  v_load32_zero: (addr: Code, o = 0): Code => [addr, simd(0x5c), ...memarg(off(o), 0)],
  v_load16_splat: (addr: Code, o = 0): Code => [addr, simd(0x08), ...memarg(off(o), 0)],
  v_load32_splat: (addr: Code, o = 0): Code => [addr, simd(0x09), ...memarg(off(o), 0)],
  v_load32_lane: (addr: Code, v: Code, lane: number, o = 0): Code => [addr, v, simd(0x56), ...memarg(off(o), 0), lane],
  // v128 constants, lanes, shuffles
  v_const_f64x2: (a: number, b: number): Code => [simd(0x0c), ...f64bytes(a), ...f64bytes(b)],
  v_const_f32x4: (a: number): Code => [simd(0x0c), ...[0, 1, 2, 3].flatMap(() => Array.from(new Uint8Array(new Float32Array([a]).buffer)))],
  v_const_bytes: (bytes: number[]): Code => [simd(0x0c), ...bytes],
  shuffle: (a: Code, b: Code, lanes: number[]): Code => [a, b, simd(0x0d), ...lanes],
  i32x4_splat: (a: Code): Code => [a, simd(0x11)],
  f64x2_splat: (a: Code): Code => [a, simd(0x14)],
  i32x4_extract: (v: Code, lane: number): Code => [v, simd(0x1b), lane],
  f32x4_extract: (v: Code, lane: number): Code => [v, simd(0x1f), lane],
  i32x4_replace: (v: Code, x: Code, lane: number): Code => [v, x, simd(0x1c), lane],
  i16x8_splat: (a: Code): Code => [a, simd(0x10)],
  i16x8_extract_s: (v: Code, lane: number): Code => [v, simd(0x18), lane],
  i16x8_extract_u: (v: Code, lane: number): Code => [v, simd(0x19), lane],
  i64x2_extract: (v: Code, lane: number): Code => [v, simd(0x1d), lane],
  f64x2_extract: (v: Code, lane: number): Code => [v, simd(0x21), lane],
  f64x2_replace: (v: Code, x: Code, lane: number): Code => [v, x, simd(0x22), lane],
  i64x2_replace: (v: Code, x: Code, lane: number): Code => [v, x, simd(0x1e), lane],
  // bitwise
  v_not: (a: Code): Code => [a, simd(0x4d)],
  v_and: (a: Code, b: Code): Code => [a, b, simd(0x4e)],
  v_andnot: (a: Code, b: Code): Code => [a, b, simd(0x4f)],
  v_or: (a: Code, b: Code): Code => [a, b, simd(0x50)],
  v_xor: (a: Code, b: Code): Code => [a, b, simd(0x51)],
  /** (a & m) | (b & ~m) */
  v_bitselect: (a: Code, b: Code, m: Code): Code => [a, b, m, simd(0x52)],
  v_any_true: (a: Code): Code => [a, simd(0x53)],
  i8x16_ne: (a: Code, b: Code): Code => [a, b, simd(0x24)],
  i8x16_bitmask: (a: Code): Code => [a, simd(0x64)],
  i8x16_add: (a: Code, b: Code): Code => [a, b, simd(0x6e)],
  i8x16_sub: (a: Code, b: Code): Code => [a, b, simd(0x71)],
  // i16x8
  i16x8_eq: (a: Code, b: Code): Code => [a, b, simd(0x2d)],
  i16x8_add: (a: Code, b: Code): Code => [a, b, simd(0x8e)],
  i16x8_sub: (a: Code, b: Code): Code => [a, b, simd(0x91)],
  i16x8_mul: (a: Code, b: Code): Code => [a, b, simd(0x95)],
  i16x8_narrow_i32x4_s: (a: Code, b: Code): Code => [a, b, simd(0x85)],
  i16x8_bitmask: (a: Code): Code => [a, simd(0x84)],
  i16x8_gt_s: (a: Code, b: Code): Code => [a, b, simd(0x31)],
  i16x8_extend_low_i8x16_s: (a: Code): Code => [a, simd(0x87)],
  i8x16_narrow_i16x8_s: (a: Code, b: Code): Code => [a, b, simd(0x65)],
  i8x16_narrow_i16x8_u: (a: Code, b: Code): Code => [a, b, simd(0x66)],
  // i32x4
  i32x4_lt_s: (a: Code, b: Code): Code => [a, b, simd(0x39)],
  i32x4_extadd_pairwise_i16x8_s: (a: Code): Code => [a, simd(0x7e)],
  i32x4_extend_low_i16x8_s: (a: Code): Code => [a, simd(0xa7)],
  i32x4_extend_high_i16x8_s: (a: Code): Code => [a, simd(0xa8)],
  i32x4_shl: (a: Code, n: Code): Code => [a, n, simd(0xab)],
  i32x4_shr_u: (a: Code, n: Code): Code => [a, n, simd(0xad)],
  i32x4_shr_s: (a: Code, n: Code): Code => [a, n, simd(0xac)],
  i32x4_add: (a: Code, b: Code): Code => [a, b, simd(0xae)],
  i32x4_sub: (a: Code, b: Code): Code => [a, b, simd(0xb1)],
  i32x4_mul: (a: Code, b: Code): Code => [a, b, simd(0xb5)],
  i32x4_all_true: (a: Code): Code => [a, simd(0xa3)],
  // f32x4
  f32x4_splat: (a: Code): Code => [a, simd(0x13)],
  f32x4_lt: (a: Code, b: Code): Code => [a, b, simd(0x43)],
  f32x4_gt: (a: Code, b: Code): Code => [a, b, simd(0x44)],
  f32x4_ge: (a: Code, b: Code): Code => [a, b, simd(0x46)],
  f32x4_le: (a: Code, b: Code): Code => [a, b, simd(0x45)],
  f32x4_abs: (a: Code): Code => [a, simd(0xe0)],
  f32x4_add: (a: Code, b: Code): Code => [a, b, simd(0xe4)],
  f32x4_sub: (a: Code, b: Code): Code => [a, b, simd(0xe5)],
  f32x4_mul: (a: Code, b: Code): Code => [a, b, simd(0xe6)],
  f32x4_div: (a: Code, b: Code): Code => [a, b, simd(0xe7)],
  f32x4_min: (a: Code, b: Code): Code => [a, b, simd(0xe8)],
  /** b < a ? b : a (one minps; f32x4.min's NaN rules cost V8 several instructions) */
  f32x4_pmin: (a: Code, b: Code): Code => [a, b, simd(0xea)],
  f32x4_demote_f64x2_zero: (a: Code): Code => [a, simd(0x5e)],
  f64x2_promote_low_f32x4: (a: Code): Code => [a, simd(0x5f)],
  f32x4_convert_i32x4_u: (a: Code): Code => [a, simd(0xfb)],
  f32x4_convert_i32x4_s: (a: Code): Code => [a, simd(0xfa)],
  /** a < b ? b : a (one maxps) */
  f32x4_pmax: (a: Code, b: Code): Code => [a, b, simd(0xeb)],
  f32x4_floor: (a: Code): Code => [a, simd(0x68)],
  i32x4_trunc_sat_f32x4_s: (a: Code): Code => [a, simd(0xf8)],
  i64x2_extend_low_i32x4_s: (a: Code): Code => [a, simd(0xc7)],
  i64x2_extend_high_i32x4_s: (a: Code): Code => [a, simd(0xc8)],
  i64x2_all_true: (a: Code): Code => [a, simd(0xc3)],
  // i64x2
  i64x2_shl: (a: Code, n: Code): Code => [a, n, simd(0xcb)],
  i64x2_add: (a: Code, b: Code): Code => [a, b, simd(0xce)],
  i64x2_sub: (a: Code, b: Code): Code => [a, b, simd(0xd1)],
  i64x2_bitmask: (a: Code): Code => [a, simd(0xc4)],
  // f64x2
  f64x2_eq: (a: Code, b: Code): Code => [a, b, simd(0x47)],
  f64x2_ne: (a: Code, b: Code): Code => [a, b, simd(0x48)],
  f64x2_lt: (a: Code, b: Code): Code => [a, b, simd(0x49)],
  f64x2_gt: (a: Code, b: Code): Code => [a, b, simd(0x4a)],
  f64x2_le: (a: Code, b: Code): Code => [a, b, simd(0x4b)],
  f64x2_ge: (a: Code, b: Code): Code => [a, b, simd(0x4c)],
  f64x2_abs: (a: Code): Code => [a, simd(0xec)],
  f64x2_neg: (a: Code): Code => [a, simd(0xed)],
  f64x2_add: (a: Code, b: Code): Code => [a, b, simd(0xf0)],
  f64x2_sub: (a: Code, b: Code): Code => [a, b, simd(0xf1)],
  f64x2_mul: (a: Code, b: Code): Code => [a, b, simd(0xf2)],
  f64x2_div: (a: Code, b: Code): Code => [a, b, simd(0xf3)],
  f64x2_min: (a: Code, b: Code): Code => [a, b, simd(0xf4)],
  f64x2_max: (a: Code, b: Code): Code => [a, b, simd(0xf5)],
  /** b < a ? b : a */
  f64x2_pmin: (a: Code, b: Code): Code => [a, b, simd(0xf6)],
  /** a < b ? b : a */
  f64x2_pmax: (a: Code, b: Code): Code => [a, b, simd(0xf7)],
  f64x2_floor: (a: Code): Code => [a, simd(0x75)],
  f64x2_nearest: (a: Code): Code => [a, simd(0x94)],
  f64x2_convert_low_i32x4_u: (a: Code): Code => [a, simd(0xff)],
  f64x2_convert_low_i32x4_s: (a: Code): Code => [a, simd(0xfe)],
  i32x4_trunc_sat_f64x2_s_zero: (a: Code): Code => [a, simd(0xfc)],
};

export interface FuncDef {
  name?: string;
  params: T[];
  results: T[];
  locals: T[];
  body: Code[];
}

export interface ImportFunc {
  module: string;
  name: string;
  params: T[];
  results: T[];
}

export interface ModuleDef {
  memory: { module: string; name: string; initial: number; maximum: number; shared: boolean };
  imports: ImportFunc[];
  funcs: FuncDef[];
}

/** out.push(...b) without spreading (a spread of a long array is slow) */
function append(out: number[], b: number[]): number[] {
  for (let k = 0; k < b.length; k++) out.push(b[k]);
  return out;
}

function section(id: number, payload: number[]): number[] {
  return append(append([id], uleb(payload.length)), payload);
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const it of items) append(out, it);
  return out;
}

function name(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

/** Function index of funcs[k] is imports.length + k. */
export function assemble(m: ModuleDef): Uint8Array {
  const sigs: string[] = [];
  const sigBytes: number[][] = [];
  const sigOf = (params: T[], results: T[]): number => {
    const key = `${params.join(',')}>${results.join(',')}`;
    let k = sigs.indexOf(key);
    if (k < 0) {
      k = sigs.length;
      sigs.push(key);
      sigBytes.push([0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results]);
    }
    return k;
  };
  const importSigs = m.imports.map((f) => sigOf(f.params, f.results));
  const funcSigs = m.funcs.map((f) => sigOf(f.params, f.results));
  const mem = m.memory;
  const memLimits = mem.shared ? [0x03, ...uleb(mem.initial), ...uleb(mem.maximum)] : [0x01, ...uleb(mem.initial), ...uleb(mem.maximum)];
  const imports = [
    [...name(mem.module), ...name(mem.name), 0x02, ...memLimits],
    ...m.imports.map((f, k) => [...name(f.module), ...name(f.name), 0x00, ...uleb(importSigs[k])]),
  ];
  const exports: number[][] = [];
  m.funcs.forEach((f, k) => {
    if (f.name) exports.push([...name(f.name), 0x00, ...uleb(m.imports.length + k)]);
  });
  const bodies = m.funcs.map((f) => {
    const groups: number[][] = [];
    for (let k = 0; k < f.locals.length;) {
      let n = 1;
      while (k + n < f.locals.length && f.locals[k + n] === f.locals[k]) n++;
      groups.push([...uleb(n), f.locals[k]]);
      k += n;
    }
    const body = vec(groups);
    flatten(f.body, body);
    body.push(0x0b);
    return append(uleb(body.length), body);
  });
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  append(bytes, section(1, vec(sigBytes)));
  append(bytes, section(2, vec(imports)));
  append(bytes, section(3, vec(funcSigs.map((s) => uleb(s)))));
  append(bytes, section(7, vec(exports)));
  append(bytes, section(10, vec(bodies)));
  return Uint8Array.from(bytes);
}

/** Allocates local indices after the parameters. */
export class Locals {
  readonly types: T[] = [];
  constructor(private readonly nParams: number) {}
  add(t: T): number {
    this.types.push(t);
    return this.nParams + this.types.length - 1;
  }
}
