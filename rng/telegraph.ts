/**
 * The all-transistor RNG as a two-state (telegraph) process. Its output bit b(t) wanders between
 * 0 and 1 with relaxation time tau; with a constant drive u over an interval dt,
 *   P(b(t+dt) = 1 | b(t)) = sigma(u) + (b(t) - sigma(u)) * exp(-dt / tau).
 * The map is affine in b, so a chain of intervals with different u composes into one affine map
 * P = A + B*b(t0), and a latch needs exactly one random draw.
 *
 * The drive comes from the control voltage: u = (V - V_off) / V_s with V_s = n kT/q.
 * Fabrication mismatch (drawn once per chip from the seed) perturbs V_off and V_s per cell; the
 * bias network is designed for the nominal values, so a cell whose designed drive is h sees
 *   u = gain_i * h + offset_i,  gain_i = V_s,nom / V_s,i,  offset_i = -(V_off,i - V_off) / V_s,i.
 */
import { normal, streamKey, Purpose } from './counter.js';

export const BOLTZMANN_J_PER_K = 1.380649e-23;
export const ELECTRON_CHARGE_C = 1.602176634e-19;

export function sigmoid(u: number): number {
  return 1 / (1 + Math.exp(-u));
}

/** V_s = n kT/q, in volts. */
export function slopeVoltage(n: number, temperatureK: number): number {
  return (n * BOLTZMANN_J_PER_K * temperatureK) / ELECTRON_CHARGE_C;
}

/** exp(-dt/tau), with tau = 0 giving 0 (instant relaxation). */
export function decay(dt: number, tau: number): number {
  return tau > 0 ? Math.exp(-dt / tau) : 0;
}

/** One interval of the telegraph process: P(b=1 at the end) given P(b=1) at the start. */
export function telegraphStep(pStart: number, u: number, a: number): number {
  const p = sigmoid(u);
  return p + (pStart - p) * a;
}

export interface RngParams {
  subthreshold_n: number;
  temperature_k: number;
  nominal_temperature_k: number;
  v_off_sigma_v: number;
  v_s_sigma_rel: number;
}

export interface Fabrication {
  /** per-cell drive gain and offset (u = gain*h + offset); null when the chip has no mismatch */
  gain: Float64Array | null;
  offset: Float64Array | null;
  /** per-cell V_off deviation (volts) and V_s (volts), for reports */
  vOffDelta: Float64Array;
  vS: Float64Array;
  vSNominal: number;
}

/**
 * Draw the per-cell mismatch of a chip: V_off,i = V_off + sigma_off * z1, V_s,i = V_s(T)(1 + sigma_rel * z2),
 * z from the counter stream (seed, chip, fabrication). Temperature enters through V_s(T).
 */
export function fabricate(p: RngParams, N: number, seed: number, chipId: number): Fabrication {
  const vSNominal = slopeVoltage(p.subthreshold_n, p.nominal_temperature_k);
  const vSTemp = slopeVoltage(p.subthreshold_n, p.temperature_k);
  const vOffDelta = new Float64Array(N);
  const vS = new Float64Array(N).fill(vSTemp);
  const perfect = p.v_off_sigma_v === 0 && p.v_s_sigma_rel === 0 && vSTemp === vSNominal;
  if (perfect) return { gain: null, offset: null, vOffDelta, vS, vSNominal };
  const kOff = streamKey(seed, chipId, Purpose.fabrication, 0);
  const kS = streamKey(seed, chipId, Purpose.fabrication, 1);
  const gain = new Float64Array(N);
  const offset = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    vOffDelta[i] = p.v_off_sigma_v * normal(kOff, i);
    vS[i] = vSTemp * Math.max(1e-3, 1 + p.v_s_sigma_rel * normal(kS, i));
    gain[i] = vSNominal / vS[i];
    offset[i] = -vOffDelta[i] / vS[i];
  }
  return { gain, offset, vOffDelta, vS, vSNominal };
}
