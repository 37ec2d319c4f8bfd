/**
 * A programmed stage as the engines read it: bias per cell and weight per (cell, direction), in
 * plane units (cells/physics.ts). The bias network's conductances have finite precision: with
 * `cell.weight_bits` = b, every weight and bias is an integer q in [-(2^(b-1) - 1), 2^(b-1) - 1]
 * and stands for q * unit, unit = weight_full_scale / (2^(b-1) - 1); values beyond the full scale
 * are clipped. With exact weights the planes hold the values themselves and unit = 1.
 */
import type { Fabric } from '../fabric/fabric.js';

export type WeightBits = number | 'exact';

/** Bits written per programmed weight or bias ('exact' weights are taken as 32-bit words). */
export function bitsPerValue(bits: WeightBits): number {
  return bits === 'exact' ? 32 : bits;
}

/** Model units per plane unit: the quantisation step (1 for exact weights). */
export function planeUnit(bits: WeightBits, fullScale: number): number {
  return bits === 'exact' ? 1 : fullScale / (2 ** (bits - 1) - 1);
}

/** v in plane units: the nearest level of `bits` bits over [-fullScale, fullScale], clipped (v itself for exact weights). */
export function quantiseUnits(v: number, bits: WeightBits, fullScale: number): number {
  return quantiser(bits, fullScale)(v);
}

/** quantiseUnits with its constants computed once */
export function quantiser(bits: WeightBits, fullScale: number): (v: number) => number {
  if (bits === 'exact') return (v) => v;
  const levels = 2 ** (bits - 1) - 1;
  const unit = planeUnit(bits, fullScale);
  return (v) => {
    const q = Math.round(v / unit);
    return q > levels ? levels : q < -levels ? -levels : q;
  };
}

/** The value the chip represents for v, in model units. */
export function quantise(v: number, bits: WeightBits, fullScale: number): number {
  return quantiseUnits(v, bits, fullScale) * planeUnit(bits, fullScale);
}

/** Stage parameters as the engines read them. */
export interface Planes {
  /** model units per plane unit */
  unit: number;
  /** every bias and weight is an integer (quantised weights): fields are exact in any order */
  integer: boolean;
  bias: Float64Array; // N
  w: Float64Array; // N*D, symmetric: w[i*D+k] === w[j*D+opp(k)]
  /** 1 = the cell is held (clamped) at its spin; it never latches */
  clamp: Uint8Array; // N
  /** how many values were clipped by the full scale when quantising */
  clipped: number;
  /** programmed values (weights counted once per undirected wire, plus biases) */
  programmed: number;
}

export function emptyPlanes(f: Fabric): Planes {
  return {
    unit: 1,
    integer: false,
    bias: new Float64Array(f.N),
    w: new Float64Array(f.N * f.D),
    clamp: new Uint8Array(f.N),
    clipped: 0,
    programmed: 0,
  };
}

/** Convert planes in model units to plane units in place (the chip's precision); returns the number clipped. */
export function quantisePlanes(p: Planes, bits: WeightBits, fullScale: number): number {
  p.unit = planeUnit(bits, fullScale);
  p.integer = bits !== 'exact';
  if (bits === 'exact') return 0;
  let biasClipped = 0;
  let weightEntriesClipped = 0;
  const q = quantiser(bits, fullScale);
  for (let i = 0; i < p.bias.length; i++) {
    if (Math.abs(p.bias[i]) > fullScale) biasClipped++;
    p.bias[i] = q(p.bias[i]);
  }
  for (let i = 0; i < p.w.length; i++) {
    if (Math.abs(p.w[i]) > fullScale) weightEntriesClipped++;
    p.w[i] = q(p.w[i]);
  }
  // each weight sits in two planes (both ends of its wire)
  return biasClipped + weightEntriesClipped / 2;
}
