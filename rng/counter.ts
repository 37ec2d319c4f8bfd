/**
 * Counter-based random numbers: every draw is a pure function of (seed, stream, counter), so the
 * same draw comes out whatever the evaluation order, tiling or worker count. No generator state.
 *
 * mix32 is Wellons' "lowbias32" integer hash (two xorshift-multiply rounds). A draw hashes the key
 * (itself a hash of seed, chip, chain, stage, sweep, purpose) together with the cell index, twice,
 * so neighbouring counters give unrelated outputs. The latch engines emit the same draws as
 * WebAssembly (cells/wasm/emit/hash.ts, cells/wasm/batch/emit.ts).
 */

export function mix32(x: number): number {
  return mix32i(x) >>> 0;
}

/** mix32 as a signed 32-bit integer (the same bits): chained hashes stay in int32 until the end */
function mix32i(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** Fold a list of integers into one 32-bit key (order matters). */
export function streamKey(...parts: number[]): number {
  let k = 0x243f6a88;
  for (const p of parts) {
    // split into 32-bit halves so seeds and counters up to 2^53 are honoured
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    k = mix32((k ^ lo) + 0x9e3779b9);
    k = mix32((k ^ hi) + 0x7f4a7c15);
  }
  return k;
}

/**
 * The latch draw of chain `chain` at cell `cell` in the half-sweep stream `key` (a stream of
 * (seed, chip, stage, sweep)): a per-cell base shared by all chains, then the chain. Engines that
 * run many chains side by side hash each cell's base once and each chain with one more mix.
 */
export function latchDraw(key: number, cell: number, chain: number): number {
  return chainDraw(cellBase(key, cell), chain);
}

export const CELL_STRIDE = 0x85ebca6b;
export const CHAIN_STRIDE = 0x9e3779b9;

export function cellBase(key: number, cell: number): number {
  return mix32((key + Math.imul(cell, CELL_STRIDE)) >>> 0);
}

export function chainDraw(base: number, chain: number): number {
  return mix32((base + Math.imul(chain, CHAIN_STRIDE)) >>> 0);
}

/** The 32-bit draw for counter `i` in the stream `key`. */
export function draw32(key: number, i: number): number {
  return mix32i(mix32i((key + Math.imul(i, 0x9e3779b9)) | 0) ^ key) >>> 0;
}

export const TWO_POW_M32 = 2.3283064365386963e-10;

/** 2^32: uniform(key, i) < p exactly when draw32(key, i) < p * TWO_POW_32 (both scalings are exact) */
export const TWO_POW_32 = 4294967296;

/** Uniform in [0, 1): draw32 / 2^32. */
export function uniform(key: number, i: number): number {
  return draw32(key, i) * TWO_POW_M32;
}

/** Standard normal from two counters (Box–Muller). */
export function normal(key: number, i: number): number {
  const u1 = (draw32(key, 2 * i) + 0.5) * TWO_POW_M32;
  const u2 = draw32(key, 2 * i + 1) * TWO_POW_M32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Purposes of draws, so streams for different jobs never coincide. */
export const Purpose = {
  latch: 1,
  init: 2,
  fabrication: 3,
  model: 4,
  input: 5,
} as const;
