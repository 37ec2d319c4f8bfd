/**
 * Layout of the many-chain engine. Chains are SIMD lanes: for every cell, the spins of a block of
 * BL chains sit side by side as 16-bit masks (-1 = spin +1, 0 = spin -1), eight chains per vector,
 * so one weight, loaded once, serves them all. A block's state is an L x L grid padded by R cells
 * on every side (R = the longest rule offset); the neighbour in direction d of every cell is at
 * one fixed byte offset, and padding cells hold 0 (they only ever meet zero weights).
 *
 * With masks, s = 2m + 1 (m in {0, -1} read as {0, 1}): G = b + sum_d w_d s_d = (b - sum_d w_d) +
 * sum_d (2 w_d AND m_d). The bias plane holds b - sum_d w_d per chain; the cell records hold 2 w_d.
 * All arithmetic is 16-bit with wrap-around; the true G fits 16 bits (select.ts checks the weight
 * precision), so the wrapped result is exact.
 */
import { roundUp } from '../arena.js';
import { struct, structFamily } from '../struct.js';

export interface BatchGeom {
  L: number;
  D: number;
  /** padding cells per side and padded width */
  R: number;
  Wp: number;
  /** chains per block (a multiple of 8) and vectors per cell of a block */
  BL: number;
  NV: number;
  /** bytes of one cell of a block (BL chains, 2 bytes each) */
  cellBytes: number;
  /** bytes of one block's plane */
  planeBytes: number;
  /** byte offset of direction d's neighbour, relative to the cell */
  od: number[];
  /** the most negative od (the kernels address from cell + minOd) */
  minOd: number;
}

/*
 * The records below are typed struct tables (../struct.ts): the emitters take their offsets (off),
 * the engine writes and reads them through their accessors (f), sizes and strides come from them.
 */

/**
 * Per-chain tallies of a block of BL chains, read and cleared after every latch call (engine.ts):
 * the divider terms (DIV, i32 per lane), and the toggles per tally class (TOG): the cells that drive
 * the same wire length and the same number of tile-crossing wires form one class, and a toggle adds
 * one to its class's i16 lane, so the wire and link tallies follow from the counts (count x the
 * class's wire, x its links) without a per-lane add of their own. A class holds one 32-byte slot
 * per vector of eight lanes (its first 16 bytes used), so vector k's toggles of class c sit at
 * TOG + c classBytes + 32 k, as vector k's divider terms sit at DIV + 32 k; a call latches at most
 * CELLS_PER_CALL cells, so a lane's count stays below 2^15 and its divider sum below 2^31.
 */
export const batchAcc = structFamily((BL: number, classes: number) =>
  struct('per-chain tallies', [
    { name: 'DIV', type: 'i32', count: BL },
    { name: 'TOG', type: 'i16', count: 2 * BL * Math.max(1, classes) },
  ]),
);

/** bytes of one tally class's toggle counts in batchAcc (TOG): a 32-byte slot per vector of eight lanes */
export const classBytes = (BL: number): number => 4 * BL;

/** Record of a latching cell: where it is, what it drives, its mismatch, its doubled weights, where its analog state is. */
export const batchRec = structFamily((D: number) =>
  struct(
    'cell record',
    [
      { name: 'POS', type: 'i32' }, // byte offset of the cell in a block plane
      { name: 'CELL', type: 'i32' }, // cell index (the draw's counter)
      { name: 'WIREQ', type: 'i32' }, // wire length driven, 1/WIRE_Q pitches
      { name: 'CC', type: 'i32' }, // tile-crossing wires driven
      { name: 'GAIN', type: 'f32' }, // mismatch gain (the estimate)
      { name: 'OFF', type: 'f32' }, // mismatch offset
      { name: 'GAIN64', type: 'f64' }, // the same in f64 (the exact path)
      { name: 'OFF64', type: 'f64' },
      { name: 'W', type: 'i16', count: 2 * D }, // 2 w_d per direction, then 2 w_d on tile-crossing wires only (delayed links)
      { name: 'SLOT', type: 'i32' }, // byte offset of the cell's analog state in the block's state (STATE)
      { name: 'CLS', type: 'i32' }, // byte offset of the cell's tally class's toggle counts in the per-chain tallies (batchAcc TOG)
    ],
    { align: 16 },
  ),
);

/**
 * The cycle physics' analog state of a block, one stream in the order the cells latch: per colour,
 * per cell of that colour (in cell order, clamped ones too), per vector of eight chains, this
 * record: their nodes, targets and the sigmoid cache: sigma~(z) of the target's argument z = gain T +
 * offset, as the kernels estimate it (emit.ts emitCycleFast, emitCycle; load-time settling stores
 * sigma(z) in single precision).
 */
export const STATE = struct(
  'analog state',
  [
    { name: 'V', type: 'f32', count: 8 },
    { name: 'T', type: 'f32', count: 8 },
    { name: 'SG', type: 'f32', count: 8 },
  ],
  { align: 16 },
);

/** per vector of a block: valid-lane masks as i16x8, two i32x4, four i64x2 (f64 lanes) */
export const MASK = struct(
  'lane masks',
  [
    { name: 'M16', type: 'i16', count: 8 },
    { name: 'M32', type: 'i32', count: 8 },
    { name: 'M64', type: 'i64', count: 8 },
  ],
  { align: 16 },
);

/** per vector of a block: the lanes' chain * CHAIN_STRIDE (the draws' chain term; two i32x4) */
export const PHI = struct('chain terms', [{ name: 'PHI', type: 'i32', count: 8 }], { align: 16 });

/** chains per block: the most (up to 64) whose (2R + 1)-row neighbour window fits in 256 KiB */
export function blockChains(L: number, R: number, chains: number): number {
  const Wp = L + 2 * R;
  let BL = 64;
  while (BL > 8 && (2 * R + 1) * Wp * BL * 2 > 256 * 1024) BL /= 2;
  return Math.min(BL, roundUp(Math.max(1, chains), 8));
}

export function batchGeom(L: number, dirs: readonly (readonly [number, number])[], BL: number): BatchGeom {
  let R = 1;
  for (const [dx, dy] of dirs) R = Math.max(R, Math.abs(dx), Math.abs(dy));
  const Wp = L + 2 * R;
  const cellBytes = BL * 2;
  const od = dirs.map(([dx, dy]) => (dy * Wp + dx) * cellBytes);
  const D = dirs.length;
  return {
    L,
    D,
    R,
    Wp,
    BL,
    NV: BL / 8,
    cellBytes,
    planeBytes: roundUp(Wp * Wp * cellBytes, 64),
    od,
    minOd: Math.min(0, ...od),
  };
}

/** byte offset of cell (x, y) in a block plane */
export function cellPos(g: BatchGeom, x: number, y: number): number {
  return ((y + g.R) * g.Wp + x + g.R) * g.cellBytes;
}
