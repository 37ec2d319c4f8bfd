/**
 * The bias network of a sampling cell: neighbour bits (XOR the weight sign bits) drive the node
 * through programmable conductances; the node settles to the conductance-weighted average with
 * tau_bias = C / G_sigma and sets the RNG's control voltage. Here: weight quantisation and the
 * weight/bias planes the kernel reads.
 */
import type { Fabric } from '../fabric/fabric.js';

export type WeightBits = number | 'exact';

/** Bits written per programmed weight or bias ('exact' weights are taken as 32-bit words). */
export function bitsPerValue(bits: WeightBits): number {
  return bits === 'exact' ? 32 : bits;
}

/** Round to the signed grid of `bits` bits over [-fullScale, fullScale], clipping outside it. */
export function quantise(v: number, bits: WeightBits, fullScale: number): number {
  if (bits === 'exact') return v;
  const levels = 2 ** (bits - 1) - 1;
  const step = fullScale / levels;
  const q = Math.round(v / step);
  return Math.max(-levels, Math.min(levels, q)) * step;
}

/** Stage parameters as the kernel reads them: bias per cell, weight per (cell, direction). */
export interface Planes {
  bias: Float64Array; // N
  w: Float64Array; // N*D, symmetric: w[i*D+k] === w[j*D+opp(k)]
  /** 1 = the cell is held (clamped) at its spin in the state; it never latches */
  clamp: Uint8Array; // N
  /** how many values were clipped by the full scale when quantising */
  clipped: number;
  /** programmed values (weights counted once per undirected wire, plus biases) */
  programmed: number;
}

export function emptyPlanes(f: Fabric): Planes {
  return {
    bias: new Float64Array(f.N),
    w: new Float64Array(f.N * f.D),
    clamp: new Uint8Array(f.N),
    clipped: 0,
    programmed: 0,
  };
}

/** Quantise planes in place to the chip's weight precision; returns the number clipped. */
export function quantisePlanes(p: Planes, bits: WeightBits, fullScale: number): number {
  if (bits === 'exact') return 0;
  let biasClipped = 0;
  let weightEntriesClipped = 0;
  for (let i = 0; i < p.bias.length; i++) {
    if (Math.abs(p.bias[i]) > fullScale) biasClipped++;
    p.bias[i] = quantise(p.bias[i], bits, fullScale);
  }
  for (let i = 0; i < p.w.length; i++) {
    if (Math.abs(p.w[i]) > fullScale) weightEntriesClipped++;
    p.w[i] = quantise(p.w[i], bits, fullScale);
  }
  // each weight sits in two planes (both ends of its wire)
  return biasClipped + weightEntriesClipped / 2;
}
