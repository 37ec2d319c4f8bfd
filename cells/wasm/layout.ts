/**
 * What a generated kernel is specialised for: the geometry of the colour-split planes (GeomSpec),
 * the engine variant, and the byte layout of the per-group records the kernels read.
 */

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

/** Byte layout of one group record (4 cells of a colour). */
export function recLayout(D: number, lat: boolean) {
  const CLAMP = 0; // f64 lane masks
  const FLAGS = 32; // i32: any cell of the group clamped (or invalid)
  const W = 48;
  const CWL = W + D * 32;
  const CC = CWL + 32;
  const GAIN = CC + 32; // f32 x4 (the estimate)
  const OFF = GAIN + 16; // f32 x4
  const GAIN64 = OFF + 16; // f64 x4 (the exact path)
  const OFF64 = GAIN64 + 32;
  const CROSS = OFF64 + 32;
  const REC = CROSS + (lat ? D * 32 : 0);
  return { CLAMP, FLAGS, W, CWL, CC, GAIN, OFF, GAIN64, OFF64, CROSS, REC };
}

export type RecLayout = ReturnType<typeof recLayout>;
