/**
 * Shared encoding of the dtca trace format (version 1): the msgpack codec settings, record framing
 * with a CRC-32, typed arrays as {dtype, shape, data}, and the bit packing of cell states.
 *
 * A trace is a plain msgpack stream (no msgpackr records/extensions, so Python's `msgpack` reads it):
 * a sequence of top-level maps, each with `type` as its first key and `crc32` as its last. `crc32` is
 * the zlib/IEEE CRC-32 of the record's own encoding up to (not including) the crc32 value's four
 * bytes; the value is always written as a msgpack uint32 (0xce + 4 bytes, big-endian), so a reader
 * checks a record by hashing bytes [start, end - 4) of it. The CRC is what lets a reader tell a file
 * that was cut short (the tail is a prefix of one record) from one damaged in the middle.
 *
 * Typed arrays are maps {dtype, shape, data}: dtype a numpy name ('uint8', 'int32', 'float64', ...),
 * shape a list of ints, data the raw little-endian bytes (msgpack bin). Counters above 2^32 are
 * written as msgpack uint64/int64 (exact up to 2^53; readers get plain numbers / Python ints).
 *
 * States: bit i of traced cell i sits at byte i >> 3, bit i & 7 (little-endian bit order, numpy
 * `unpackbits(..., bitorder='little')`), 1 = spin +1.
 */
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { shown } from '../fabric/rules.js';

export const PACKR_OPTIONS = { useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true } as const;

export function makePackr(): Packr {
  return new Packr({ ...PACKR_OPTIONS });
}

export function makeUnpackr(): Unpackr {
  return new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
}

/** A record larger than this is taken as damage (a corrupt length), not as a record still to come. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export type TypedArray =
  Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

type TypedCtor = { new (buf: ArrayBuffer, off?: number, len?: number): TypedArray; BYTES_PER_ELEMENT: number };

/** numpy dtype name -> constructor */
export const DTYPES: Record<string, TypedCtor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array as unknown as TypedCtor,
  uint64: BigUint64Array as unknown as TypedCtor,
};

export interface TypedDict {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

function dtypeOf(a: TypedArray): string {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof BigUint64Array) return 'uint64';
  throw new Error('unsupported typed array');
}

/** A typed array as {dtype, shape, data}; data is a byte view (no copy) of the array. */
export function typedDict(a: TypedArray, shape: number[] = [a.length]): TypedDict {
  return { dtype: dtypeOf(a), shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

export function isTypedDict(v: unknown): v is TypedDict {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.dtype === 'string' && Array.isArray(o.shape) && o.data instanceof Uint8Array;
}

/**
 * {dtype, shape, data} -> a typed array over a copy of the bytes (msgpack data can sit at any
 * offset, so it is never viewed in place). Throws Error(message) when the dict is inconsistent.
 */
export function fromTypedDict(d: TypedDict): TypedArray {
  const C = DTYPES[d.dtype];
  if (!C) throw new Error(`unknown dtype '${shown(d.dtype)}'`);
  let n = 1;
  for (const s of d.shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`bad shape ${shown(d.shape, 80)}`);
    n *= s;
  }
  if (n * C.BYTES_PER_ELEMENT !== d.data.byteLength) {
    throw new Error(`${d.dtype} array of shape ${shown(d.shape, 80)} has ${d.data.byteLength} bytes of data`);
  }
  const buf = new ArrayBuffer(d.data.byteLength);
  new Uint8Array(buf).set(d.data);
  return new C(buf);
}

/** Deep copy of plain JSON-like data with every typed array replaced by a typed dict (for msgpack). */
export function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const a = v as TypedArray;
    return typedDict(a);
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) return toPlain(Object.fromEntries(v));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === 'function') continue;
    out[k] = toPlain(x);
  }
  return out;
}

/** Walks decoded data and turns every 1-D typed dict into a typed array (n-D: data restored, shape kept). */
export function restoreTyped(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (isTypedDict(v)) {
    const a = fromTypedDict(v);
    return v.shape.length === 1 ? a : { dtype: v.dtype, shape: v.shape, data: a };
  }
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(restoreTyped);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = restoreTyped(o[k]);
  return o;
}

/** An integer counter for msgpack: above 32 bits it is sent as a 64-bit int (exact), not a float64. */
export function counter(v: number): number | bigint {
  if (Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x80000000)) return BigInt(v);
  return v;
}

const CRC_PLACEHOLDER = 0xffffffff;
const CRC_TAIL = [0xa5, 0x63, 0x72, 0x63, 0x33, 0x32, 0xce, 0xff, 0xff, 0xff, 0xff]; // "crc32": uint32

/**
 * Encodes one record (a plain object whose first key is `type`; must not hold `crc32`) and frames it
 * with its CRC. Returns a fresh Buffer.
 */
export function encodeRecord(packr: Packr, rec: Record<string, unknown>): Buffer {
  const b = Buffer.from(packr.pack({ ...rec, crc32: CRC_PLACEHOLDER }));
  const n = b.length;
  for (let k = 0; k < CRC_TAIL.length; k++) {
    if (b[n - CRC_TAIL.length + k] !== CRC_TAIL[k]) throw new Error('trace record encoding: crc32 is not the last key');
  }
  b.writeUInt32BE(crc32(b.subarray(0, n - 4)), n - 4);
  return b;
}

/** Whether bytes [start, end) of buf hold a record whose crc32 field matches its bytes. */
export function crcMatches(buf: Uint8Array, start: number, end: number, value: unknown): boolean {
  if (typeof value !== 'number' || end - start < 5 || buf[end - 5] !== 0xce) return false;
  return crc32(buf.subarray(start, end - 4)) === value;
}

/**
 * Packs spins of the traced cells into bits: bit k of `out` is 1 when spins[cells[k]] is +1
 * (cells = null: cell k itself). Spins must be +-1 (a pad 0 reads as 0) or 0/1. The bit is
 * computed without a branch, (s + 1) >> 1, because sampled spins are unpredictable: a compare and
 * branch per cell cost ~6 ns in mispredictions, five times the whole branch-free loop.
 */
export function packStates(spins: ArrayLike<number>, cells: Int32Array | null, n: number, out?: Uint8Array): Uint8Array {
  const o = out ?? new Uint8Array((n + 7) >> 3);
  if (out) o.fill(0);
  if (cells === null) {
    const whole = n >> 3;
    for (let b = 0, k = 0; b < whole; b++, k += 8) {
      o[b] =
        ((spins[k] + 1) >> 1) |
        (((spins[k + 1] + 1) >> 1) << 1) |
        (((spins[k + 2] + 1) >> 1) << 2) |
        (((spins[k + 3] + 1) >> 1) << 3) |
        (((spins[k + 4] + 1) >> 1) << 4) |
        (((spins[k + 5] + 1) >> 1) << 5) |
        (((spins[k + 6] + 1) >> 1) << 6) |
        (((spins[k + 7] + 1) >> 1) << 7);
    }
    for (let k = whole << 3; k < n; k++) o[k >> 3] |= ((spins[k] + 1) >> 1) << (k & 7);
  } else {
    for (let k = 0; k < n; k++) o[k >> 3] |= ((spins[cells[k]] + 1) >> 1) << (k & 7);
  }
  return o;
}

/** packStates' inverse for every cell: bit i of `packed` as spin +-1 into out[i], i < n. */
export function unpackSpins(packed: Uint8Array, n: number, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) out[i] = (packed[i >> 3] >> (i & 7)) & 1 ? 1 : -1;
  return out;
}

/** The inverse of packStates: 0/1 per traced cell. */
export function unpackBits(packed: Uint8Array, n: number): Uint8Array {
  if (packed.length < (n + 7) >> 3) throw new Error(`packed states hold ${packed.length * 8} bits, need ${n}`);
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = (packed[k >> 3] >> (k & 7)) & 1;
  return out;
}

// the per-sweep record's encoder lives in its own module (no msgpackr: the writer thread loads it alone)
export { encodeSweepRecord, encodeSweepRecordInto, sweepRecordBound, type SweepFields } from './sweep-record.js';
