/**
 * Characterise the RNG circuit model the way the paper characterises its measured RNG:
 *   (a) transfer curve: the fraction of time the output is 1 against the control voltage, fitted
 *       with P(1) = sigma((dV - V_off) / V_s), dV = V - V_off,nominal;
 *   (b) autocorrelation of the output at u = 0 against lag, fitted with exp(-lag / tau);
 *   (c) bit rate and energy per bit (and the power they imply);
 *   (d) with fabrication mismatch, the spread of fitted V_off and V_s over the chip's cells.
 *
 * There is one implementation of the physics: the output is simulated only with the model in
 * telegraph.ts (telegraphStep, sigmoid, slopeVoltage, decay, fabricate), driven by counter-based
 * draws (counter.ts), exactly as the chip's latch kernel drives it: a cell whose designed drive is
 * h = dV / V_s,nominal sees u = gain * h + offset. A constant drive over m grid steps composes to
 * one step with decay(m dt), so reading a cell every m steps costs one draw per read.
 *
 * Statistics: samples on a grid dt apart are correlated (lag-one autocorrelation a = e^(-dt/tau));
 * the mean of a stationary two-state chain then has variance p(1-p)/n * (1+a)/(1-a), so each point
 * counts as n_eff = n (1-a)/(1+a) independent samples, with a from the measured tau. Fits are
 * weighted logistic regression (Newton / IRLS) with standard errors from the Fisher information;
 * tau is a least-squares fit of a^k to the measured autocorrelation, with a jackknife standard
 * error over independent segments.
 */
import { UserError } from '../fabric/errors.js';
import { uniform, streamKey } from './counter.js';
import { decay, fabricate, sigmoid, slopeVoltage, telegraphStep, type RngParams } from './telegraph.js';

/** The stream purpose of characterisation draws (distinct from the chip's Purpose values). */
export const CHARACTERISE_PURPOSE = 101;
const PART_TRANSFER = 0;
const PART_AUTOCORR = 1;
const PART_CELLS = 2;

/** What characterisation needs from a resolved config (sim's ResolvedConfig fits it). */
export interface RngCharacteriseConfig {
  seed: number;
  chip_id: number;
  fabric: { L: number };
  rng: RngParams & {
    tau_rng_s: number;
    energy_per_bit_j: number;
    bit_rate_hz: number;
    duty: number;
  };
}

export interface CharacteriseOptions {
  /** control voltages in the transfer sweep (default 41) */
  voltages?: number;
  /** sweep half-width in units of the expected V_s = n kT/q (default 6) */
  spanVs?: number;
  /** simulation grid step as a fraction of tau (default 0.25); with tau = 0 the grid is 1 / bit_rate_hz */
  dtFraction?: number;
  /** samples per control voltage in the transfer curve (default 65536) */
  samplesPerVoltage?: number;
  /** independent segments of the autocorrelation run (default 32) and samples per segment (default 32768) */
  acSegments?: number;
  acSegmentLength?: number;
  /** largest lag, in units of tau (default 5) */
  maxLagTaus?: number;
  /** characterise this cell of the fabricated chip in (a) and (b) instead of the nominal device */
  cell?: number;
  /** cells whose transfer curves are fitted for the mismatch spread (default 256, at most L^2) */
  cells?: number;
  /** reads per control voltage per cell (default 2048), and the read interval in units of tau (default 2) */
  cellSamplesPerVoltage?: number;
  cellReadIntervalTaus?: number;
}

export interface TransferPoint {
  dv_v: number;
  p1: number;
  se: number;
}

export interface SigmoidFit {
  v_s_v: number;
  v_s_se_v: number;
  v_off_v: number;
  v_off_se_v: number;
  chi2: number;
  dof: number;
}

export interface SpreadStat {
  /** mean of the fitted values */
  mean: number;
  /** standard deviation of the fitted values over the sampled cells */
  sd: number;
  /** sd with the fits' own noise removed: sqrt(sd^2 - mean(se^2)) */
  sd_corrected: number;
  /** standard error of sd_corrected (cell sampling and fit noise) */
  sd_corrected_se: number;
  /** root-mean-square standard error of one cell's fit */
  fit_se_rms: number;
  /** sd of the true (fabricated) values of the same cells */
  drawn_sd: number;
  /** the configured sigma */
  configured_sigma: number;
}

export interface CellFit {
  cell: number;
  v_off_v: number;
  v_off_se_v: number;
  v_s_v: number;
  v_s_se_v: number;
  true_v_off_v: number;
  true_v_s_v: number;
}

export interface RngReport {
  device: 'nominal' | { cell: number };
  configured: {
    tau_rng_s: number;
    subthreshold_n: number;
    temperature_k: number;
    nominal_temperature_k: number;
    /** V_s = n kT/q at the configured temperature */
    v_s_v: number;
    v_off_sigma_v: number;
    v_s_sigma_rel: number;
    energy_per_bit_j: number;
    bit_rate_hz: number;
    duty: number;
  };
  /** the characterised device's true V_off deviation and V_s (nominal: 0 and n kT/q) */
  device_truth: { v_off_v: number; v_s_v: number };
  transfer: {
    dt_s: number;
    samples_per_point: number;
    n_eff_per_point: number;
    points: TransferPoint[];
    fit: SigmoidFit;
  };
  autocorrelation: {
    dt_s: number;
    segments: number;
    samples_per_segment: number;
    lags: { lag_s: number; rho: number; rho_fit: number }[];
    lag1_rho: number;
    fit: { tau_s: number; tau_se_s: number };
  };
  rate: {
    /** 1 / fitted tau: independent bits per second (null when tau = 0: unlimited) */
    decorrelated_bit_rate_hz: number | null;
    bit_rate_hz: number;
    energy_per_bit_j: number;
    /** energy_per_bit * bit_rate: the RNG's power while biased on */
    power_w: number;
    /** power_w * duty */
    average_power_w: number;
    /** power_w * fitted tau: energy per decorrelated bit (null when tau = 0) */
    energy_per_decorrelated_bit_j: number | null;
    /**
     * independent bits delivered per second: 1 / fitted tau, but at most bit_rate_hz (the RNG
     * delivers no more bits than that, however fast it decorrelates: tau below one bit time, or 0)
     */
    independent_bit_rate_hz: number;
    /** what sets independent_bit_rate_hz: 'tau' (1 / tau) or 'bit_rate' (tau is below one bit time) */
    rate_limited_by: 'tau' | 'bit_rate';
    /** power_w / independent_bit_rate_hz: at least energy_per_bit_j */
    energy_per_independent_bit_j: number;
  };
  mismatch: null | {
    cells_sampled: number;
    cells_total: number;
    samples_per_point: number;
    read_interval_s: number;
    n_eff_per_point: number;
    v_off_v: SpreadStat;
    /** V_s spread relative to the mean fitted V_s (mean_v, volts); sd fields are fractions of mean_v */
    v_s_rel: Omit<SpreadStat, 'mean'> & { mean_v: number };
    cells: CellFit[];
  };
}

function intOpt(name: string, v: number | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new UserError(`rng characterisation: ${name} = ${v}: must be an integer in [${min}, ${max}]`);
  return v;
}

function numOpt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isFinite(v) || v <= 0) throw new UserError(`rng characterisation: ${name} = ${v}: must be a positive number`);
  return v;
}

/**
 * Simulate the telegraph output for n samples dt apart under a constant drive u, starting from the
 * stationary distribution. Returns the number of ones, and writes the bits if `bits` is given.
 */
export function simulateTelegraph(u: number, n: number, a: number, key: number, bits?: Uint8Array): number {
  const p0 = telegraphStep(0, u, a); // P(1 next) after a 0
  const p1 = telegraphStep(1, u, a); // P(1 next) after a 1
  let b = uniform(key, 0) < sigmoid(u) ? 1 : 0;
  let ones = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0) b = uniform(key, t) < (b ? p1 : p0) ? 1 : 0;
    ones += b;
    if (bits) bits[t] = b;
  }
  return ones;
}

/**
 * Weighted logistic regression of P(1) = sigma((x - off) / s): points (x_j, phat_j) with weights
 * w_j (effective sample counts). xScale is the expected s (for conditioning and the start point).
 * Returns null when the curve is not resolved (no transition inside the sweep).
 */
export function fitSigmoid(x: number[], phat: number[], w: number[], xScale: number): SigmoidFit | null {
  // parametrise P = sigma(alpha + beta * z), z = x / xScale
  const z = x.map((v) => v / xScale);
  let alpha = 0;
  let beta = 1;
  const loglik = (al: number, be: number) => {
    let l = 0;
    for (let j = 0; j < z.length; j++) {
      const eta = al + be * z[j];
      // log sigma(eta) and log(1 - sigma(eta)), stable
      const lp = -Math.log1p(Math.exp(-eta));
      const lq = -Math.log1p(Math.exp(eta));
      l += w[j] * (phat[j] * (Number.isFinite(lp) ? lp : eta) + (1 - phat[j]) * (Number.isFinite(lq) ? lq : -eta));
    }
    return l;
  };
  let ll = loglik(alpha, beta);
  let converged = false;
  for (let it = 0; it < 100; it++) {
    let g0 = 0,
      g1 = 0,
      h00 = 0,
      h01 = 0,
      h11 = 0;
    for (let j = 0; j < z.length; j++) {
      const p = sigmoid(alpha + beta * z[j]);
      const r = w[j] * (phat[j] - p);
      const v = w[j] * p * (1 - p);
      g0 += r;
      g1 += r * z[j];
      h00 += v;
      h01 += v * z[j];
      h11 += v * z[j] * z[j];
    }
    const det = h00 * h11 - h01 * h01;
    if (!(det > 0)) return null;
    const d0 = (h11 * g0 - h01 * g1) / det;
    const d1 = (h00 * g1 - h01 * g0) / det;
    let step = 1;
    let nl = loglik(alpha + d0, beta + d1);
    while (nl < ll - 1e-12 * Math.abs(ll) && step > 1e-6) {
      step /= 2;
      nl = loglik(alpha + step * d0, beta + step * d1);
    }
    alpha += step * d0;
    beta += step * d1;
    ll = nl;
    if (Math.abs(step * d0) < 1e-12 && Math.abs(step * d1) < 1e-12 * Math.max(1, Math.abs(beta))) {
      converged = true;
      break;
    }
  }
  if (!converged || !(beta > 0) || !Number.isFinite(alpha)) return null;
  // covariance of (alpha, beta) = inverse Fisher information at the fit
  let h00 = 0,
    h01 = 0,
    h11 = 0,
    chi2 = 0;
  for (let j = 0; j < z.length; j++) {
    const p = sigmoid(alpha + beta * z[j]);
    const v = p * (1 - p);
    h00 += w[j] * v;
    h01 += w[j] * v * z[j];
    h11 += w[j] * v * z[j] * z[j];
    if (v > 0) chi2 += (w[j] * (phat[j] - p) ** 2) / v;
  }
  const det = h00 * h11 - h01 * h01;
  const caa = h11 / det;
  const cab = -h01 / det;
  const cbb = h00 / det;
  // s = xScale / beta, off = -xScale * alpha / beta (delta method)
  const s = xScale / beta;
  const off = (-xScale * alpha) / beta;
  const dsdb = -xScale / (beta * beta);
  const dodA = -xScale / beta;
  const dodB = (xScale * alpha) / (beta * beta);
  const varS = dsdb * dsdb * cbb;
  const varO = dodA * dodA * caa + 2 * dodA * dodB * cab + dodB * dodB * cbb;
  return { v_s_v: s, v_s_se_v: Math.sqrt(varS), v_off_v: off, v_off_se_v: Math.sqrt(varO), chi2, dof: z.length - 2 };
}

/** Least-squares a in [0, 1) for rho_k = a^k, k = 1..K. */
function fitDecay(rho: Float64Array): number {
  const K = rho.length - 1;
  const sse = (a: number) => {
    let s = 0;
    let ak = 1;
    for (let k = 1; k <= K; k++) {
      ak *= a;
      s += (rho[k] - ak) ** 2;
    }
    return s;
  };
  // coarse grid, then golden section around the best grid point
  const G = 2000;
  let best = 0;
  let bestS = Infinity;
  for (let i = 0; i < G; i++) {
    const a = i / G;
    const s = sse(a);
    if (s < bestS) {
      bestS = s;
      best = a;
    }
  }
  let lo = Math.max(0, best - 1 / G);
  let hi = Math.min(1 - 1e-12, best + 1 / G);
  const phi = (Math.sqrt(5) - 1) / 2;
  let c = hi - phi * (hi - lo);
  let d = lo + phi * (hi - lo);
  let fc = sse(c);
  let fd = sse(d);
  for (let it = 0; it < 100 && hi - lo > 1e-15; it++) {
    if (fc < fd) {
      hi = d;
      d = c;
      fd = fc;
      c = hi - phi * (hi - lo);
      fc = sse(c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + phi * (hi - lo);
      fd = sse(d);
    }
  }
  const a = (lo + hi) / 2;
  return sse(a) <= sse(0) ? a : 0;
}

const tauOf = (a: number, dt: number) => (a > 0 ? -dt / Math.log(a) : 0);

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

function sd(a: number[], m = mean(a)): number {
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
}

/** The spread of fitted values: raw sd, sd with fit noise removed, and its standard error. */
function spread(fits: number[], ses: number[], truth: number[], configured: number, norm = 1): SpreadStat {
  const m = mean(fits);
  const s = sd(fits, m);
  const ms2 = mean(ses.map((e) => e * e));
  const corr2 = s * s - ms2;
  const corrected = Math.sqrt(Math.max(0, corr2));
  // var(sample variance) ~ 2 sigma_obs^4 / (N - 1); delta method to the sd
  const varOfVar = (2 * s ** 4) / (fits.length - 1);
  const seCorr = corrected > 0 ? Math.sqrt(varOfVar) / (2 * corrected) : Math.sqrt(Math.sqrt(varOfVar));
  return {
    mean: m / norm,
    sd: s / norm,
    sd_corrected: corrected / norm,
    sd_corrected_se: seCorr / norm,
    fit_se_rms: Math.sqrt(ms2) / norm,
    drawn_sd: sd(truth) / norm,
    configured_sigma: configured,
  };
}

/**
 * Independent bits per second and their energy: 1 / tau, but no more than the bits the RNG delivers
 * (bit_rate); with tau below one bit time (or 0) every delivered bit is independent and the rate is
 * the bit rate's (the report gave 1 / tau alone, above the bit rate, and an energy per bit below
 * energy_per_bit_j).
 */
export function independentBits(
  tauS: number,
  bitRateHz: number,
  powerW: number,
): Pick<RngReport['rate'], 'independent_bit_rate_hz' | 'rate_limited_by' | 'energy_per_independent_bit_j'> {
  const byTau = tauS > 0 && 1 / tauS < bitRateHz;
  const rate = byTau ? 1 / tauS : bitRateHz;
  return { independent_bit_rate_hz: rate, rate_limited_by: byTau ? 'tau' : 'bit_rate', energy_per_independent_bit_j: powerW / rate };
}

/** Run the characterisation. Deterministic for a given config and options. */
export function characteriseRng(config: RngCharacteriseConfig, opts: CharacteriseOptions = {}): RngReport {
  const r = config.rng;
  const N = config.fabric.L * config.fabric.L;
  const nV = intOpt('voltages', opts.voltages, 41, 5, 10001);
  const span = numOpt('spanVs', opts.spanVs, 6);
  const dtFraction = numOpt('dtFraction', opts.dtFraction, 0.25);
  const nPerV = intOpt('samplesPerVoltage', opts.samplesPerVoltage, 65536, 100, 2 ** 31);
  const S = intOpt('acSegments', opts.acSegments, 32, 4, 100000);
  const segLen = intOpt('acSegmentLength', opts.acSegmentLength, 32768, 100, 2 ** 31);
  const maxLagTaus = numOpt('maxLagTaus', opts.maxLagTaus, 5);
  const cellRead = numOpt('cellReadIntervalTaus', opts.cellReadIntervalTaus, 2);
  const nCellPerV = intOpt('cellSamplesPerVoltage', opts.cellSamplesPerVoltage, 2048, 100, 2 ** 31);
  const cellCount = intOpt('cells', opts.cells, Math.min(256, N), 2, N);
  if (opts.cell !== undefined) intOpt('cell', opts.cell, 0, 0, N - 1);

  const key = (...parts: number[]) => streamKey(config.seed, config.chip_id, CHARACTERISE_PURPOSE, ...parts);
  const tau = r.tau_rng_s;
  const dt = tau > 0 ? dtFraction * tau : 1 / r.bit_rate_hz;
  const a = decay(dt, tau);
  const vSExpected = slopeVoltage(r.subthreshold_n, r.temperature_k);

  // the chip, as fabricated: per-cell gain and offset on the designed drive h = dV / V_s,nominal
  const fab = fabricate(r, N, config.seed, config.chip_id);
  const vSNom = fab.vSNominal;
  const nominalGain = vSNom / vSExpected;
  const cellGain = (i: number) => (fab.gain ? fab.gain[i] : nominalGain);
  const cellOffset = (i: number) => (fab.offset ? fab.offset[i] : 0);
  const dev = opts.cell;
  const gain = dev === undefined ? nominalGain : cellGain(dev);
  const offset = dev === undefined ? 0 : cellOffset(dev);
  const driveOf = (dv: number, g: number, o: number) => g * (dv / vSNom) + o;

  // (b) first: the measured tau sets the effective sample sizes of (a) and (d)
  const K = Math.max(1, Math.ceil((maxLagTaus * (tau > 0 ? tau : dt)) / dt - 1e-9));
  if (K >= segLen) throw new UserError(`rng characterisation: acSegmentLength ${segLen} must exceed the largest lag (${K} steps)`);
  const uAc = 0; // the device at its own midpoint, P(1) = 1/2 (the relaxation does not depend on u)
  const bits = new Uint8Array(segLen);
  const segC = Array.from({ length: S }, () => new Float64Array(K + 1));
  const segSum = new Float64Array(S);
  const segBits: Uint8Array[] = [];
  for (let s = 0; s < S; s++) {
    simulateTelegraph(uAc, segLen, a, key(PART_AUTOCORR, s), bits);
    segBits.push(bits.slice());
    let t1 = 0;
    for (let t = 0; t < segLen; t++) t1 += bits[t];
    segSum[s] = t1;
  }
  const grand = segSum.reduce((x, y) => x + y, 0) / (S * segLen);
  for (let s = 0; s < S; s++) {
    const b = segBits[s];
    const c = segC[s];
    const xs = new Float64Array(segLen);
    for (let t = 0; t < segLen; t++) xs[t] = b[t] - grand;
    for (let k = 0; k <= K; k++) {
      let acc = 0;
      for (let t = 0; t + k < segLen; t++) acc += xs[t] * xs[t + k];
      c[k] = acc;
    }
  }
  const rhoFrom = (skip: number): Float64Array => {
    const rho = new Float64Array(K + 1);
    const num = new Float64Array(K + 1);
    for (let s = 0; s < S; s++) if (s !== skip) for (let k = 0; k <= K; k++) num[k] += segC[s][k];
    const segs = skip >= 0 ? S - 1 : S;
    const c0 = num[0] / (segs * segLen);
    for (let k = 0; k <= K; k++) rho[k] = c0 > 0 ? num[k] / (segs * (segLen - k)) / c0 : 0;
    return rho;
  };
  const rho = rhoFrom(-1);
  const aHat = fitDecay(rho);
  const tauHat = tauOf(aHat, dt);
  const jack: number[] = [];
  for (let s = 0; s < S; s++) jack.push(tauOf(fitDecay(rhoFrom(s)), dt));
  const jm = mean(jack);
  const tauSe = Math.sqrt(((S - 1) / S) * jack.reduce((acc, v) => acc + (v - jm) ** 2, 0));
  const lags = Array.from({ length: K + 1 }, (_, k) => ({ lag_s: k * dt, rho: rho[k], rho_fit: aHat ** k }));

  const nEff = (n: number, interval: number) => {
    const am = decay(interval, tauHat);
    return (n * (1 - am)) / (1 + am);
  };

  // (a) transfer curve of the characterised device
  const dvs = Array.from({ length: nV }, (_, j) => -span * vSExpected + (2 * span * vSExpected * j) / (nV - 1));
  const nEffV = nEff(nPerV, dt);
  const phat = dvs.map((dv, j) => simulateTelegraph(driveOf(dv, gain, offset), nPerV, a, key(PART_TRANSFER, j)) / nPerV);
  const fit = fitSigmoid(
    dvs,
    phat,
    dvs.map(() => nEffV),
    vSExpected,
  );
  if (!fit) {
    throw new UserError(
      `rng characterisation: the transfer curve has no resolvable transition within ±${span} V_s of the nominal offset (V_s = ${vSExpected.toPrecision(4)} V)`,
    );
  }
  const points = dvs.map((dv, j) => ({ dv_v: dv, p1: phat[j], se: Math.sqrt((phat[j] * (1 - phat[j])) / nEffV) }));

  // (d) mismatch: per-cell transfer curves for an evenly spread sample of the chip's cells
  let mismatch: RngReport['mismatch'] = null;
  if (r.v_off_sigma_v > 0 || r.v_s_sigma_rel > 0) {
    const interval = tau > 0 ? cellRead * tau : dt;
    const aCell = decay(interval, tau); // m grid steps at constant drive compose to one step
    const nEffC = nEff(nCellPerV, interval);
    const wC = dvs.map(() => nEffC);
    const cells: CellFit[] = [];
    for (let c = 0; c < cellCount; c++) {
      const i = Math.floor(((c + 0.5) * N) / cellCount);
      const g = cellGain(i);
      const o = cellOffset(i);
      const ph = dvs.map((dv, j) => simulateTelegraph(driveOf(dv, g, o), nCellPerV, aCell, key(PART_CELLS, i, j)) / nCellPerV);
      const f = fitSigmoid(dvs, ph, wC, vSExpected);
      if (!f) {
        throw new UserError(
          `rng characterisation: cell ${i}'s transfer curve has no resolvable transition within ±${span} V_s (its V_off is off by ${fab.vOffDelta[i].toPrecision(3)} V, V_s = ${fab.vS[i].toPrecision(3)} V): the mismatch is too large for the sweep`,
        );
      }
      cells.push({
        cell: i,
        v_off_v: f.v_off_v,
        v_off_se_v: f.v_off_se_v,
        v_s_v: f.v_s_v,
        v_s_se_v: f.v_s_se_v,
        true_v_off_v: fab.vOffDelta[i],
        true_v_s_v: fab.vS[i],
      });
    }
    const vOff = spread(
      cells.map((c) => c.v_off_v),
      cells.map((c) => c.v_off_se_v),
      cells.map((c) => c.true_v_off_v),
      r.v_off_sigma_v,
    );
    const meanVs = mean(cells.map((c) => c.v_s_v));
    const { mean: _one, ...vSRel } = spread(
      cells.map((c) => c.v_s_v),
      cells.map((c) => c.v_s_se_v),
      cells.map((c) => c.true_v_s_v),
      r.v_s_sigma_rel,
      meanVs,
    );
    mismatch = {
      cells_sampled: cellCount,
      cells_total: N,
      samples_per_point: nCellPerV,
      read_interval_s: interval,
      n_eff_per_point: nEffC,
      v_off_v: vOff,
      v_s_rel: { mean_v: meanVs, ...vSRel },
      cells,
    };
  }

  const power = r.energy_per_bit_j * r.bit_rate_hz;
  return {
    device: dev === undefined ? 'nominal' : { cell: dev },
    configured: {
      tau_rng_s: tau,
      subthreshold_n: r.subthreshold_n,
      temperature_k: r.temperature_k,
      nominal_temperature_k: r.nominal_temperature_k,
      v_s_v: vSExpected,
      v_off_sigma_v: r.v_off_sigma_v,
      v_s_sigma_rel: r.v_s_sigma_rel,
      energy_per_bit_j: r.energy_per_bit_j,
      bit_rate_hz: r.bit_rate_hz,
      duty: r.duty,
    },
    device_truth: {
      v_off_v: dev === undefined ? 0 : fab.vOffDelta[dev],
      v_s_v: dev === undefined ? vSExpected : fab.vS[dev],
    },
    transfer: { dt_s: dt, samples_per_point: nPerV, n_eff_per_point: nEffV, points, fit },
    autocorrelation: {
      dt_s: dt,
      segments: S,
      samples_per_segment: segLen,
      lags,
      lag1_rho: rho[1] ?? 0,
      fit: { tau_s: tauHat, tau_se_s: tauSe },
    },
    rate: {
      decorrelated_bit_rate_hz: tauHat > 0 ? 1 / tauHat : null,
      bit_rate_hz: r.bit_rate_hz,
      energy_per_bit_j: r.energy_per_bit_j,
      power_w: power,
      average_power_w: power * r.duty,
      energy_per_decorrelated_bit_j: tauHat > 0 ? power * tauHat : null,
      ...independentBits(tauHat, r.bit_rate_hz, power),
    },
    mismatch,
  };
}
