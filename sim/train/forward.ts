/**
 * The DTM forward process on bits (SPEC "DTM workload"): each bit is resampled uniformly at rate
 * lambda, so over a time dt it flips with probability (1 - e^(-lambda dt)) / 2; an infinite
 * interval gives fair coins. Training pairs for stage k are (x^k, x^(k+1)): x^k is the data noised
 * to time t_k, x^(k+1) that noised on to t_(k+1). Every draw is a counter-based function of its
 * stream, so pairs are reproducible whatever the thread.
 */
import { draw32, TWO_POW_32 } from '../../rng/counter.js';

/** Flip probability of a bit over dt at rate lambda (dt = null: infinite, 1/2). */
export function flipProbability(lambda: number, dt: number | null): number {
  if (dt === null || !Number.isFinite(dt)) return 0.5;
  return (1 - Math.exp(-lambda * dt)) / 2;
}

/** x noised: each entry flips with its probability p[v] (draws uniform(key, offset + v), compared as draw32 against p[v] 2^32). */
export function noise(x: Int8Array, p: Float64Array, key: number, offset: number): Int8Array {
  return noiseInto(new Int8Array(x.length), x, p, key, offset);
}

/** noise() into `out` (x.length entries; out may not overlap x) */
export function noiseInto(out: Int8Array, x: Int8Array, p: Float64Array, key: number, offset: number): Int8Array {
  for (let v = 0; v < x.length; v++) {
    const pv = p[v];
    // flipped with probability pv (no draw where pv = 0); the product rather than a branch on a coin flip
    const flip = pv > 0 ? +(draw32(key, offset + v) < pv * TWO_POW_32) : 0;
    out[v] = x[v] * (1 - 2 * flip);
  }
  return out;
}

/**
 * Per visible entry, the flip probabilities from data to stage k's target (t_0 -> t_k) and on to
 * its input (t_k -> t_(k+1)); entries below nImage use lambdaImage, the rest lambdaLabel.
 */
export function pairProbabilities(
  timeGrid: (number | null)[],
  k: number,
  V: number,
  nImage: number,
  lambdaImage: number,
  lambdaLabel: number,
): { toTarget: Float64Array; toInput: Float64Array } {
  const t0 = timeGrid[0] as number;
  const tk = timeGrid[k];
  const tk1 = timeGrid[k + 1];
  const toTarget = new Float64Array(V);
  const toInput = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    const lam = v < nImage ? lambdaImage : lambdaLabel;
    toTarget[v] = flipProbability(lam, tk === null ? null : (tk as number) - t0);
    toInput[v] = flipProbability(lam, tk1 === null || tk === null ? null : (tk1 as number) - (tk as number));
  }
  return { toTarget, toInput };
}
