/**
 * The per-sweep record's encoder (traces/pack.ts describes the format; it re-exports this): byte for
 * byte what encodeRecord makes of the same object. Apart from pack.ts so that the writer thread
 * (traces/ring.ts, dist/trace-worker.js) loads it without msgpackr.
 */
import { crc32 } from 'node:zlib';

/**
 * A hand-written encoder for the one record written per sweep, byte for byte what encodeRecord
 * makes of the same object (test/trace.test.ts checks that), without building the object: the
 * sweep record is written tens of thousands of times a second.
 */
export interface SweepFields {
  chain: number;
  stage: number;
  sweep: number;
  cycle: number;
  time_s: number;
  toggles: number;
  n_cells: number;
  states: Uint8Array;
  energy_j: Record<string, number>;
  /**
   * Optional, read instead of energy_j (the writer thread, traces/ring.ts, straight from its ring):
   * the component names in energy_j's key order and their values at energyValues[energyAt + q].
   */
  energyNames?: string[];
  energyValues?: Float64Array;
  energyAt?: number;
}

/** A fields object to fill and reuse (the encoder reads it during a call and keeps nothing). */
export function newSweepFields(): SweepFields {
  return { chain: 0, stage: 0, sweep: 0, cycle: 0, time_s: 0, toggles: 0, n_cells: 0, states: new Uint8Array(0), energy_j: {} };
}

const te = new TextEncoder();
const KEY_BYTES = new Map<string, Uint8Array>();
function keyBytes(k: string): Uint8Array {
  let b = KEY_BYTES.get(k);
  if (!b) {
    const s = te.encode(k);
    if (s.length > 31) throw new Error(`trace key "${k}" too long for a fixstr`);
    b = new Uint8Array(s.length + 1);
    b[0] = 0xa0 | s.length;
    b.set(s, 1);
    KEY_BYTES.set(k, b);
  }
  return b;
}

let scratch: Buffer = Buffer.allocUnsafe(1 << 16);
/** the record being encoded and the write position (module state: no closures per record) */
let eb: Buffer = scratch;
let ep = 0;
/** a DataView of the record's buffer (made again when the buffer changes): its setters write big-endian numbers faster than Buffer's write methods */
let dv: DataView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
let dvOf: Uint8Array = scratch;

function putKey(kb: Uint8Array): void {
  // a byte loop: TypedArray.set costs more than these few bytes
  const b = eb;
  let p = ep;
  for (let i = 0; i < kb.length; i++) b[p++] = kb[i];
  ep = p;
}

/** a number as msgpackr writes it (ints in the smallest form, -0 as 0 too, safe integers past 2^32 as int64, else float64) */
function putNum(v: number): void {
  const b = eb;
  let p = ep;
  if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
    if (v >= 0) {
      if (v < 0x80) b[p++] = v;
      else if (v < 0x100) ((b[p++] = 0xcc), (b[p++] = v));
      else if (v < 0x10000) ((b[p++] = 0xcd), dv.setUint16(p, v), (p += 2));
      else ((b[p++] = 0xce), dv.setUint32(p, v), (p += 4));
    } else if (v >= -0x20) b[p++] = v & 0xff;
    else if (v >= -0x80) ((b[p++] = 0xd0), (b[p++] = v & 0xff));
    else if (v >= -0x8000) ((b[p++] = 0xd1), dv.setInt16(p, v), (p += 2));
    else ((b[p++] = 0xd2), dv.setInt32(p, v), (p += 4));
  } else if (Number.isSafeInteger(v) && v > 0xffffffff) {
    // counter() makes these BigInts, which msgpackr writes as int64
    ((b[p++] = 0xd3), dv.setBigInt64(p, BigInt(v)), (p += 8));
  } else {
    ((b[p++] = 0xcb), dv.setFloat64(p, v), (p += 8));
  }
  ep = p;
}

let energyKeys: string[] = [];
let energyKeyBytes: Uint8Array[] = [];
function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let q = 0; q < a.length; q++) if (a[q] !== b[q]) return false;
  return true;
}

/** the fixed keys of a sweep record, and the bytes from the map's start to the chain's value */
const K = {
  chain: keyBytes('chain'),
  stage: keyBytes('stage'),
  sweep: keyBytes('sweep'),
  cycle: keyBytes('cycle'),
  time_s: keyBytes('time_s'),
  toggles: keyBytes('toggles'),
  n_cells: keyBytes('n_cells'),
  data: keyBytes('data'),
  energy_j: keyBytes('energy_j'),
  crc32: keyBytes('crc32'),
};
const SWEEP_HEAD = Uint8Array.from([0x8b, ...keyBytes('type'), ...keyBytes('sweep'), ...K.chain]); // fixmap of 11 keys
const STATES_HEAD = Uint8Array.from([...keyBytes('states'), 0x83, ...keyBytes('dtype'), ...keyBytes('uint8'), ...keyBytes('shape'), 0x91]);

export function encodeSweepRecord(f: SweepFields): Buffer {
  const need = sweepRecordBound(f);
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need * 2);
  return scratch.subarray(0, encodeSweepRecordInto(scratch, 0, f));
}

/** bytes a sweep record of these fields takes at most (energy components: at most 15) */
export function sweepRecordBound(f: SweepFields): number {
  return 512 + f.states.length + 48 * 15;
}

/** The sweep record written into `b` from byte `at` (room for sweepRecordBound(f) bytes); returns where it ends. */
export function encodeSweepRecordInto(b: Buffer, at: number, f: SweepFields): number {
  eb = b;
  if (dvOf !== b) ((dv = new DataView(b.buffer, b.byteOffset, b.byteLength)), (dvOf = b));
  ep = at;
  putKey(SWEEP_HEAD);
  putNum(f.chain);
  putKey(K.stage);
  putNum(f.stage);
  putKey(K.sweep);
  putNum(f.sweep);
  putKey(K.cycle);
  putNum(f.cycle);
  putKey(K.time_s);
  putNum(f.time_s);
  putKey(K.toggles);
  putNum(f.toggles);
  putKey(K.n_cells);
  putNum(f.n_cells);
  putKey(STATES_HEAD);
  const n = f.states.length;
  putNum(n);
  putKey(K.data);
  if (n < 0x100) ((b[ep++] = 0xc4), (b[ep++] = n));
  else if (n < 0x10000) ((b[ep++] = 0xc5), dv.setUint16(ep, n), (ep += 2));
  else ((b[ep++] = 0xc6), dv.setUint32(ep, n), (ep += 4));
  b.set(f.states, ep);
  ep += n;
  putKey(K.energy_j);
  // the components' key bytes are looked up once per key list (every record of a run has the same), the values read in one call
  const ev = f.energyValues;
  const keys = ev ? (f.energyNames as string[]) : Object.keys(f.energy_j);
  if (keys.length > 15) throw new Error('trace sweep record: more than 15 energy components');
  if (keys !== energyKeys && !sameKeys(keys, energyKeys)) {
    energyKeys = keys;
    energyKeyBytes = keys.map(keyBytes);
  }
  b[ep++] = 0x80 | keys.length;
  if (ev) {
    const at = f.energyAt ?? 0;
    for (let q = 0; q < keys.length; q++) {
      putKey(energyKeyBytes[q]);
      putNum(ev[at + q]);
    }
  } else {
    const vals = Object.values(f.energy_j);
    for (let q = 0; q < keys.length; q++) {
      putKey(energyKeyBytes[q]);
      putNum(vals[q]);
    }
  }
  putKey(K.crc32);
  const p = ep;
  b[p] = 0xce;
  // (a plain view for the CRC: Buffer's subarray costs about 0.1 us more per record)
  dv.setUint32(p + 1, crc32(new Uint8Array(b.buffer, b.byteOffset + at, p + 1 - at)));
  eb = scratch;
  return p + 5;
}

/** values per record of a batch of sweep records before its energy values: sweep, cycle, time_s, toggles (traces/types.ts SweepBatch) */
export const BATCH_FIELDS = 4;

/** Where a batch of sweep records keeps its values (traces/types.ts SweepBatch; the trace ring's batch entries). */
export interface BatchLayout {
  stage: number;
  /** the chain of record k = 0 */
  first: number;
  /** chains in the packed spins' rows (the stride of a slot) */
  n: number;
  slots: number;
  n_cells: number;
  names: string[];
  /** packed bytes per record */
  bytes: number;
}

/**
 * The records k0 .. k1 - 1 (chains first + k) of a batch to `put`, chain by chain and each
 * chain's slots in order, through one fields object `f`: record (k, j)'s values from
 * fields[fieldsAt + (k * slots + j) * (BATCH_FIELDS + names.length)], its packed spins from
 * packed[packedAt + (j * n + k) * bytes].
 */
export function putBatchRecords(
  f: SweepFields,
  b: BatchLayout,
  fields: Float64Array,
  fieldsAt: number,
  packed: Uint8Array,
  packedAt: number,
  k0: number,
  k1: number,
  put: (f: SweepFields) => void,
): void {
  const { slots, n, bytes } = b;
  const per = BATCH_FIELDS + b.names.length;
  f.stage = b.stage;
  f.n_cells = b.n_cells;
  f.energyNames = b.names;
  f.energyValues = fields;
  for (let k = k0; k < k1; k++) {
    f.chain = b.first + k;
    for (let j = 0; j < slots; j++) {
      const o = fieldsAt + (k * slots + j) * per;
      f.sweep = fields[o];
      f.cycle = fields[o + 1];
      f.time_s = fields[o + 2];
      f.toggles = fields[o + 3];
      f.energyAt = o + BATCH_FIELDS;
      const at = packedAt + (j * n + k) * bytes;
      f.states = packed.subarray(at, at + bytes);
      put(f);
    }
  }
}
