/**
 * Counter draws in bulk: rng/counter.ts draw32(key, i) for a run of consecutive counters, four
 * lanes at a time in generated WebAssembly SIMD (the hash is the latch kernels' mix32Lanes), each
 * compared with its own threshold t (a double: draw32 < t exactly when uniform < t / 2^32). What a
 * chain's initialisation and the forward process draw one counter at a time in TypeScript, these
 * draw for a whole chain or image at once, with the same bits (test/rng.test.ts).
 *
 *   spins(key, from, n, t, out)     out[k] = +1 if draw32(key, from + k) < thr[t][k], else -1
 *   flips(key, from, n, t, x, out)  out[k] = -x[k] if draw32(key, from + k) < thr[t][k], else x[k]
 *   scatter(n, list, x, out)        out[lists[list][k]] = x[k]  (e.g. clamped cells over drawn spins)
 *
 * The threshold arrays `thr`, byte arrays `bytes` and index lists `lists` lie in the instance's own
 * memory, `size` entries each; a draw reads and writes whole groups of 16 entries past n (the arrays
 * are padded).
 */
import { Arena, roundUp } from './arena.js';
import { op as o, T, Locals, assemble, type Code, type FuncDef } from './asm.js';
import { mix32Lanes } from './batch/emit.js';
import { wasmSupported } from './engine.js';

type Exports = {
  spins: (key: number, from: number, n: number, thr: number, x: number, out: number) => void;
  flips: (key: number, from: number, n: number, thr: number, x: number, out: number) => void;
  scatter: (n: number, list: number, x: number, out: number) => void;
};

const GOLD = 0x9e3779b9 | 0;

/** the module: spins() and flips(), parameters (key, from, n, thr, x, out) with byte addresses */
function generate(): Uint8Array {
  const funcs = (['spins', 'flips'] as const).map((name): FuncDef => {
    const lc = new Locals(6);
    const [key, from, n, thr, x, out] = [0, 1, 2, 3, 4, 5];
    const k = lc.add(T.i32);
    const h = [0, 1, 2, 3].map(() => lc.add(T.v128));
    const m = lc.add(T.v128);
    const get = o.get;
    const set = o.set;
    const body: Code[] = [];
    // 16 draws: four vectors of four counters
    for (let j = 0; j < 4; j++) {
      const lanes = Array.from(new Uint8Array(new Int32Array([4 * j, 4 * j + 1, 4 * j + 2, 4 * j + 3]).buffer));
      const counters = o.i32x4_add(o.i32x4_splat(o.i32_add(get(from), get(k))), o.v_const_bytes(lanes));
      body.push(set(h[j], o.i32x4_add(o.i32x4_splat(get(key)), o.i32x4_mul(counters, o.i32x4_splat(o.i32(GOLD))))));
      body.push(...mix32Lanes(h[j]), set(h[j], o.v_xor(get(h[j]), o.i32x4_splat(get(key)))), ...mix32Lanes(h[j]));
      // draw < threshold two lanes at a time as doubles (exact), then one i32 mask per lane
      const t = (q: number) => o.v_load(o.i32_add(get(thr), o.i32_shl(get(k), o.i32(3))), 32 * j + 16 * q);
      const lo = o.f64x2_lt(o.f64x2_convert_low_i32x4_u(get(h[j])), t(0));
      const hi = o.f64x2_lt(o.f64x2_convert_low_i32x4_u(o.shuffle(get(h[j]), get(h[j]), [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15])), t(1));
      body.push(set(h[j], o.shuffle(lo, hi, [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27])));
    }
    // the 16 masks as bytes: -1 below the threshold, else 0
    body.push(set(m, o.i8x16_narrow_i16x8_s(o.i16x8_narrow_i32x4_s(get(h[0]), get(h[1])), o.i16x8_narrow_i32x4_s(get(h[2]), get(h[3])))));
    const at = (base: number) => o.i32_add(get(base), get(k));
    if (name === 'spins')
      body.push(o.v_store(at(out), o.v_not(o.i8x16_add(get(m), get(m))))); // -1 -> +1, 0 -> -1
    else body.push(o.v_store(at(out), o.i8x16_sub(o.v_xor(o.v_load(at(x)), get(m)), get(m)))); // -x where the mask is set
    return {
      name,
      params: [T.i32, T.i32, T.i32, T.i32, T.i32, T.i32],
      results: [],
      locals: lc.types,
      body: [
        set(k, o.i32(0)),
        o.block([o.br_if(0, o.i32_le_s(get(n), o.i32(0))), o.loop([...body, o.br_if(0, o.i32_lt_s(o.tee(k, o.i32_add(get(k), o.i32(16))), get(n)))])]),
      ],
    };
  });
  // scatter(n, list, x, out): out[list[k]] = x[k]
  const lc = new Locals(4);
  const [n, list, x, out] = [0, 1, 2, 3];
  const k = lc.add(T.i32);
  funcs.push({
    name: 'scatter',
    params: [T.i32, T.i32, T.i32, T.i32],
    results: [],
    locals: lc.types,
    body: [
      o.set(k, o.i32(0)),
      o.block([
        o.br_if(0, o.i32_le_s(o.get(n), o.i32(0))),
        o.loop([
          o.i32_store8(o.i32_add(o.get(out), o.i32_load(o.i32_add(o.get(list), o.i32_shl(o.get(k), o.i32(2))))), o.i32_load8_u(o.i32_add(o.get(x), o.get(k)))),
          o.br_if(0, o.i32_lt_s(o.tee(k, o.i32_add(o.get(k), o.i32(1))), o.get(n))),
        ]),
      ]),
    ],
  });
  return assemble({ memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true }, imports: [], funcs });
}

let compiled: WebAssembly.Module | null = null;

/** Bulk counter draws over arrays of up to `size` entries. */
export class Draws {
  /** threshold arrays (doubles) and byte arrays (spins, images), `size` entries each (padded to whole groups of 16) */
  readonly thr: Float64Array[];
  readonly bytes: Int8Array[];
  readonly lists: Int32Array[];
  private readonly e: Exports;
  private readonly thrAt: number[];
  private readonly bytesAt: number[];
  private readonly listsAt: number[];

  /** null where this Node has no WebAssembly SIMD with shared memory (callers draw in TypeScript then) */
  static create(size: number, thresholds: number, byteArrays: number, lists = 0): Draws | null {
    return wasmSupported() ? new Draws(size, thresholds, byteArrays, lists) : null;
  }

  private constructor(
    readonly size: number,
    thresholds: number,
    byteArrays: number,
    lists: number,
  ) {
    const n = roundUp(Math.max(1, size), 16);
    const a = new Arena(1024, Math.ceil((n * (8 * thresholds + byteArrays + 4 * lists) + 65536) / 65536) + 1);
    const alloc = (bytes: number) => {
      const at = a.alloc(bytes);
      if (at < 0) throw new Error('draws: not enough WebAssembly memory');
      return at;
    };
    this.thrAt = Array.from({ length: thresholds }, () => alloc(n * 8));
    this.bytesAt = Array.from({ length: byteArrays }, () => alloc(n));
    this.listsAt = Array.from({ length: lists }, () => alloc(n * 4));
    const buf = a.memory.buffer as unknown as ArrayBuffer;
    this.thr = this.thrAt.map((at) => new Float64Array(buf, at, n));
    this.bytes = this.bytesAt.map((at) => new Int8Array(buf, at, n));
    this.lists = this.listsAt.map((at) => new Int32Array(buf, at, n));
    compiled ??= new WebAssembly.Module(generate() as Uint8Array<ArrayBuffer>);
    this.e = new WebAssembly.Instance(compiled, { e: { m: a.memory } }).exports as unknown as Exports;
  }

  /** bytes[out][k] = draw32(key, from + k) < thr[t][k] ? +1 : -1 for k < n */
  spins(key: number, from: number, n: number, t: number, out: number): Int8Array {
    this.check(n);
    this.e.spins(key | 0, from | 0, n, this.thrAt[t], 0, this.bytesAt[out]);
    return this.bytes[out];
  }

  /** bytes[out][k] = draw32(key, from + k) < thr[t][k] ? -bytes[x][k] : bytes[x][k] for k < n */
  flips(key: number, from: number, n: number, t: number, x: number, out: number): Int8Array {
    this.check(n);
    this.e.flips(key | 0, from | 0, n, this.thrAt[t], this.bytesAt[x], this.bytesAt[out]);
    return this.bytes[out];
  }

  /** bytes[out][lists[list][k]] = bytes[x][k] for k < n (the list's entries must be below size) */
  scatter(n: number, list: number, x: number, out: number): Int8Array {
    this.check(n);
    this.e.scatter(n, this.listsAt[list], this.bytesAt[x], this.bytesAt[out]);
    return this.bytes[out];
  }

  private check(n: number): void {
    if (!(Number.isInteger(n) && n >= 0 && n <= this.size)) throw new RangeError(`draws: ${n} entries, size ${this.size}`);
  }
}
