/**
 * Typed record layouts shared by TypeScript and the generated WebAssembly. A record is declared
 * once as a table of fields (name, element type, count); everything else is derived from it:
 *
 *   off.NAME     the field's byte offset, for the emitters' loads and stores
 *   size, stride the record's bytes and the distance between records of an array
 *   f.NAME       a typed accessor: set(mem, r, v, k) / get(mem, r, k) write and read element k of
 *                the field of the record at byte address r, through the typed array of the
 *                field's element type; index(r, k) is that element's index in that array
 *
 * Offsets are computed in declaration order. A field starts where the one before it ends, unless
 * it declares `align` (the generated code loads it as a 128-bit vector, say): then it starts at the
 * next multiple of that. Padding anywhere else is an error, as is a field that would not be aligned
 * to its element type: reordering a table can never silently move a field. A record's alignment is
 * the largest of its fields' (or the table's `align`); its stride is its size rounded up to that,
 * so every record of an array keeps every field aligned, given a base aligned to `align`
 * (`checkBase`; the arena's blocks are 64-byte aligned).
 *
 * The accessors are closures made once per field: the loaders call them per cell and lane, with no
 * allocation. i64 fields (lane masks) are written as two i32 words from an int32 value (sign-extended).
 */

/** element types and their sizes in bytes */
export const ELEM = { i8: 1, u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 } as const;
export type Elem = keyof typeof ELEM;

/** the typed views a record is written and read through (an Arena has them) */
export interface Mem {
  i8: Int8Array;
  u8: Uint8Array;
  i16: Int16Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}

export interface FieldSpec<N extends string = string> {
  readonly name: N;
  readonly type: Elem;
  /** elements (default 1; 0 leaves the field empty, at the offset where it would start) */
  readonly count?: number;
  /** start at a multiple of this (bytes, a power of two); without it the field must start where the one before ends */
  readonly align?: number;
}

export interface Field {
  readonly name: string;
  readonly type: Elem;
  readonly count: number;
  readonly offset: number;
  readonly bytes: number;
  /** index of element k of this field of the record at byte address r, in the typed array of its type (i64: the low i32 word) */
  index(r: number, k?: number): number;
  set(m: Mem, r: number, v: number, k?: number): void;
  get(m: Mem, r: number, k?: number): number;
}

export interface Struct<N extends string> {
  readonly name: string;
  readonly fields: readonly Field[];
  readonly f: Readonly<Record<N, Field>>;
  readonly off: Readonly<Record<N, number>>;
  /** bytes up to the end of the last field */
  readonly size: number;
  /** bytes from one record of an array to the next */
  readonly stride: number;
  readonly align: number;
  /** throws unless a record (array) at byte address `base` keeps every field aligned */
  checkBase(base: number): void;
}

const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function accessor(name: string, type: Elem, count: number, offset: number): Field {
  const bytes = ELEM[type] * count;
  const base = { name, type, count, offset, bytes };
  switch (type) {
    case 'i8':
      return {
        ...base,
        index: (r, k = 0) => r + offset + k,
        set: (m, r, v, k = 0) => void (m.i8[r + offset + k] = v),
        get: (m, r, k = 0) => m.i8[r + offset + k],
      };
    case 'u8':
      return {
        ...base,
        index: (r, k = 0) => r + offset + k,
        set: (m, r, v, k = 0) => void (m.u8[r + offset + k] = v),
        get: (m, r, k = 0) => m.u8[r + offset + k],
      };
    case 'i16':
      return {
        ...base,
        index: (r, k = 0) => (r + offset) / 2 + k,
        set: (m, r, v, k = 0) => void (m.i16[(r + offset) / 2 + k] = v),
        get: (m, r, k = 0) => m.i16[(r + offset) / 2 + k],
      };
    case 'i32':
      return {
        ...base,
        index: (r, k = 0) => (r + offset) / 4 + k,
        set: (m, r, v, k = 0) => void (m.i32[(r + offset) / 4 + k] = v),
        get: (m, r, k = 0) => m.i32[(r + offset) / 4 + k],
      };
    case 'f32':
      return {
        ...base,
        index: (r, k = 0) => (r + offset) / 4 + k,
        set: (m, r, v, k = 0) => void (m.f32[(r + offset) / 4 + k] = v),
        get: (m, r, k = 0) => m.f32[(r + offset) / 4 + k],
      };
    case 'f64':
      return {
        ...base,
        index: (r, k = 0) => (r + offset) / 8 + k,
        set: (m, r, v, k = 0) => void (m.f64[(r + offset) / 8 + k] = v),
        get: (m, r, k = 0) => m.f64[(r + offset) / 8 + k],
      };
    case 'i64':
      return {
        ...base,
        index: (r, k = 0) => (r + offset) / 4 + 2 * k,
        set: (m, r, v, k = 0) => {
          const e = (r + offset) / 4 + 2 * k;
          m.i32[e] = v;
          m.i32[e + 1] = v < 0 ? -1 : 0;
        },
        /** the low word (the value when it is an int32) */
        get: (m, r, k = 0) => m.i32[(r + offset) / 4 + 2 * k],
      };
  }
}

/** A record layout from its table (see the file comment). */
export function struct<const F extends readonly FieldSpec[]>(name: string, table: F, opts: { align?: number } = {}): Struct<F[number]['name']> {
  type N = F[number]['name'];
  const fields: Field[] = [];
  const f = {} as Record<N, Field>;
  const off = {} as Record<N, number>;
  let end = 0;
  let align = opts.align ?? 1;
  if (!pow2(align)) throw new Error(`struct ${name}: alignment ${align} is not a power of two`);
  for (const spec of table) {
    const size = ELEM[spec.type];
    const count = spec.count ?? 1;
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`struct ${name}: field ${spec.name} has ${count} elements`);
    if (spec.name in f) throw new Error(`struct ${name}: field ${spec.name} twice`);
    const a = spec.align ?? size;
    if (!pow2(a) || a < size) throw new Error(`struct ${name}: field ${spec.name} aligned to ${a}, its ${spec.type} elements need a power of two >= ${size}`);
    const at = Math.ceil(end / a) * a;
    if (at !== end && spec.align === undefined)
      throw new Error(`struct ${name}: field ${spec.name} (${spec.type}) would start at ${end}, not a multiple of ${size}; declare its alignment`);
    const field = accessor(spec.name, spec.type, count, at);
    fields.push(field);
    f[spec.name as N] = field;
    off[spec.name as N] = at;
    end = at + field.bytes;
    align = Math.max(align, a);
  }
  const stride = Math.ceil(end / align) * align;
  return {
    name,
    fields,
    f,
    off,
    size: end,
    stride,
    align,
    checkBase(base: number) {
      if (base % align !== 0) throw new Error(`struct ${name}: records at ${base}, not a multiple of their alignment ${align}`);
    },
  };
}

/** A layout that depends on parameters (a count of directions, of lanes): made once per key. */
export function structFamily<P extends readonly (number | boolean)[], S>(make: (...p: P) => S): (...p: P) => S {
  const made = new Map<string, S>();
  return (...p: P) => {
    const key = p.join(',');
    let s = made.get(key);
    if (!s) made.set(key, (s = make(...p)));
    return s;
  };
}
