/**
 * What a generated kernel is specialised for: the geometry of the colour-split planes (GeomSpec),
 * the engine variant, and the byte layout of the per-group records the kernels read.
 */
import { struct, structFamily } from './struct.js';

export interface GeomSpec {
  D: number;
  /** spin-plane offsets (cells) per row parity and direction, already shifted to be >= 0 */
  imm: [number[], number[]];
  /** minimum unshifted offset (cells), subtracted from a row's plane base */
  minOff: number;
  /** bytes between a spin plane and its prev-spin twin */
  PREV: number;
  /** bytes between node and target group arrays */
  TGOFF: number;
  /** bytes between node values and the cached sigmoid of the target (cycle engine) */
  SGOFF: number;
  /** bytes between node values and the chain's biases */
  BIOFF: number;
  /** delayed tile links: generate the stale-field path */
  lat: boolean;
}

/** The engine a kernel is generated for; the cycle engine's substep counts are baked in. */
export type Variant = { cycle: false } | { cycle: true; n1: number; nMid: number; n2: number };

/**
 * One group record of the single-chain engine (4 cells of a colour, one per lane; struct.ts):
 * per lane an f64 (or i64 mask) where the f64 kernels read them as f64x2 pairs, an f32 where the
 * estimate reads f32x4. The vector-loaded fields start 16-byte aligned.
 */
export const chainRec = structFamily((D: number, lat: boolean) =>
  struct(
    'group record',
    [
      { name: 'CLAMP', type: 'i64', count: 4 }, // lane masks: clamped (or invalid) cells
      { name: 'FLAGS', type: 'i32' }, // any cell of the group clamped (or invalid)
      { name: 'W', type: 'f64', count: 4 * D, align: 16 }, // per direction, the four cells' weights
      { name: 'CWL', type: 'f64', count: 4 }, // wire length driven
      { name: 'CC', type: 'f64', count: 4 }, // tile-crossing wires driven
      { name: 'GAIN', type: 'f32', count: 4 }, // mismatch gain (the estimate)
      { name: 'OFF', type: 'f32', count: 4 }, // mismatch offset
      { name: 'GAIN64', type: 'f64', count: 4 }, // the same in f64 (the exact path)
      { name: 'OFF64', type: 'f64', count: 4 },
      { name: 'CROSS', type: 'i64', count: lat ? 4 * D : 0 }, // per direction, lane masks of tile-crossing wires (delayed links)
    ],
    { align: 16 },
  ),
);

export type ChainRec = ReturnType<typeof chainRec>;
