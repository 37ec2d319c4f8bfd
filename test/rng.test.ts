// RNG characterisation (rng/characterise.ts; `dtca rng` in rng-cli.test.ts): the fits recover the configured circuit
// (tau, V_s = n kT/q, zero offset, mismatch sigmas, V_s proportional to T) within tolerances from
// the sample sizes (4.75 standard errors; chi-square at the same tail), with fixed seeds.
import { describe, it, expect } from 'vitest';
import { characteriseRng } from '../rng/characterise.js';
import { slopeVoltage } from '../rng/telegraph.js';
import { UserError } from '../fabric/errors.js';
import { testConfig } from './helpers/chip.js';
import { chiSquareCritical } from './helpers/stats.js';

const Z_TAIL = 4.75;

/** Paper preset, no mismatch (ideal), then the given overrides. */
const ideal = (...sets: string[]) => testConfig(sets, true);

describe('relaxation time', () => {
  for (const [tau, seed] of [
    [1e-7, 3],
    [3.7e-7, 5],
  ] as const) {
    it(`the fitted tau recovers the configured tau = ${tau * 1e9} ns`, () => {
      const r = characteriseRng(ideal(`rng.tau_rng_s=${tau}`, `seed=${seed}`));
      const { tau_s, tau_se_s } = r.autocorrelation.fit;
      // the estimate is informative: ~0.3% for these sample sizes (lag-one flip count), so well under 1%
      expect(tau_se_s).toBeGreaterThan(0);
      expect(tau_se_s / tau).toBeLessThan(0.01);
      expect(Math.abs(tau_s - tau)).toBeLessThan(Z_TAIL * tau_se_s);
      // the measured autocorrelation at lag one matches e^(-dt/tau): SE of a lag-one
      // autocorrelation of a two-state Markov chain is sqrt((1 - a^2) / n)
      const a = Math.exp(-r.autocorrelation.dt_s / tau);
      const n = r.autocorrelation.segments * r.autocorrelation.samples_per_segment;
      expect(Math.abs(r.autocorrelation.lag1_rho - a)).toBeLessThan(Z_TAIL * Math.sqrt((1 - a * a) / n));
      expect(r.rate.decorrelated_bit_rate_hz).toBeCloseTo(1 / tau_s, 6);
    });
  }

  it('with tau = 0 every sample is a fresh bit: the fitted tau is 0 or within its error of 0', () => {
    const r = characteriseRng(ideal('rng.tau_rng_s=0', 'seed=2'));
    const n = r.autocorrelation.segments * r.autocorrelation.samples_per_segment;
    expect(Math.abs(r.autocorrelation.lag1_rho)).toBeLessThan(Z_TAIL / Math.sqrt(n));
    expect(r.autocorrelation.fit.tau_s).toBeLessThanOrEqual(Z_TAIL * r.autocorrelation.fit.tau_se_s);
  });
});

describe('independent bits: 1/tau, at most the bit rate', () => {
  it('tau below one bit time: the rate is the bit rate, said so, and a bit costs energy_per_bit (1/tau was reported above the bit rate)', () => {
    const r = characteriseRng(ideal('rng.tau_rng_s=1e-8', 'seed=2')); // 10 ns, the bit time 100 ns (10 MHz)
    expect(r.rate.decorrelated_bit_rate_hz).toBeGreaterThan(5 * r.rate.bit_rate_hz); // 1/tau as before, ~100 MHz
    expect(r.rate.independent_bit_rate_hz).toBe(1e7);
    expect(r.rate.rate_limited_by).toBe('bit_rate');
    expect(r.rate.energy_per_independent_bit_j).toBeCloseTo(r.rate.energy_per_bit_j, 30);
    const zero = characteriseRng(ideal('rng.tau_rng_s=0', 'seed=2'));
    expect([zero.rate.independent_bit_rate_hz, zero.rate.rate_limited_by]).toEqual([1e7, 'bit_rate']);
  });

  it('tau of ten bit times: the rate is 1/tau, below the bit rate', () => {
    const r = characteriseRng(ideal('rng.tau_rng_s=1e-6', 'seed=2'));
    expect(r.rate.rate_limited_by).toBe('tau');
    expect(r.rate.independent_bit_rate_hz).toBe(r.rate.decorrelated_bit_rate_hz);
    expect(r.rate.energy_per_independent_bit_j).toBeCloseTo(r.rate.energy_per_decorrelated_bit_j!, 30);
  });
});

describe('transfer curve', () => {
  for (const [tau, seed] of [
    [1e-7, 7],
    [0, 8],
  ] as const) {
    it(`the sigmoid fit recovers V_s = n kT/q and zero offset (tau = ${tau})`, () => {
      const cfg = ideal(`rng.tau_rng_s=${tau}`, `seed=${seed}`);
      const r = characteriseRng(cfg);
      const f = r.transfer.fit;
      const vS = slopeVoltage(cfg.rng.subthreshold_n, cfg.rng.temperature_k);
      expect(r.configured.v_s_v).toBe(vS);
      expect(Math.abs(f.v_s_v - vS)).toBeLessThan(Z_TAIL * f.v_s_se_v);
      expect(Math.abs(f.v_off_v)).toBeLessThan(Z_TAIL * f.v_off_se_v);
      // informative: the slope to better than 1%, the offset to better than 2% of V_s
      expect(f.v_s_se_v / vS).toBeLessThan(0.01);
      expect(f.v_off_se_v / vS).toBeLessThan(0.02);
      // the sigmoid describes the points within their (correlation-corrected) errors
      expect(f.chi2).toBeLessThan(chiSquareCritical(f.dof, Z_TAIL));
      expect(f.chi2).toBeGreaterThan(chiSquareCritical(f.dof, -Z_TAIL));
    });
  }

  it('V_s scales in proportion to the temperature', () => {
    const fits = [300, 450].map((T) => {
      const r = characteriseRng(ideal(`rng.temperature_k=${T}`, 'seed=11'));
      return r.transfer.fit;
    });
    const [a, b] = fits;
    expect(Math.abs(a.v_s_v - slopeVoltage(1.5, 300))).toBeLessThan(Z_TAIL * a.v_s_se_v);
    expect(Math.abs(b.v_s_v - slopeVoltage(1.5, 450))).toBeLessThan(Z_TAIL * b.v_s_se_v);
    const ratio = b.v_s_v / a.v_s_v;
    const seRatio = ratio * Math.hypot(a.v_s_se_v / a.v_s_v, b.v_s_se_v / b.v_s_v);
    expect(Math.abs(ratio - 1.5)).toBeLessThan(Z_TAIL * seRatio);
  });

  it('characterises one fabricated cell: the fit recovers its own V_off and V_s', () => {
    const cfg = testConfig(['rng.v_off_sigma_v=0.01', 'rng.v_s_sigma_rel=0.1', 'seed=13'], false);
    const r = characteriseRng(cfg, { cell: 123, cells: 16, cellSamplesPerVoltage: 256 });
    expect(r.device).toEqual({ cell: 123 });
    const f = r.transfer.fit;
    expect(Math.abs(r.device_truth.v_off_v)).toBeGreaterThan(0);
    expect(Math.abs(f.v_off_v - r.device_truth.v_off_v)).toBeLessThan(Z_TAIL * f.v_off_se_v);
    expect(Math.abs(f.v_s_v - r.device_truth.v_s_v)).toBeLessThan(Z_TAIL * f.v_s_se_v);
  });
});

describe('mismatch', () => {
  it('per-cell fits recover each cell and the configured V_off and V_s spreads', () => {
    const sOff = 0.004;
    const sRel = 0.05;
    const cfg = testConfig([`rng.v_off_sigma_v=${sOff}`, `rng.v_s_sigma_rel=${sRel}`, 'seed=21'], false);
    const cells = 1024;
    const r = characteriseRng(cfg, { cells });
    const m = r.mismatch!;
    expect(m).not.toBeNull();
    expect(m.cells).toHaveLength(cells);
    expect(new Set(m.cells.map((c) => c.cell)).size).toBe(cells);
    // each cell's fit against its fabricated truth: sums of squared z-scores are chi-square(cells)
    let chiOff = 0;
    let chiS = 0;
    for (const c of m.cells) {
      chiOff += ((c.v_off_v - c.true_v_off_v) / c.v_off_se_v) ** 2;
      chiS += ((c.v_s_v - c.true_v_s_v) / c.v_s_se_v) ** 2;
    }
    for (const chi of [chiOff, chiS]) {
      expect(chi).toBeLessThan(chiSquareCritical(cells, Z_TAIL));
      expect(chi).toBeGreaterThan(chiSquareCritical(cells, -Z_TAIL));
    }
    // spreads (fit noise removed) against the configured sigmas; the standard error covers both
    // the sampling of cells and the fits' noise
    expect(m.v_off_v.configured_sigma).toBe(sOff);
    expect(Math.abs(m.v_off_v.sd_corrected - sOff)).toBeLessThan(Z_TAIL * m.v_off_v.sd_corrected_se);
    expect(Math.abs(m.v_s_rel.sd_corrected - sRel)).toBeLessThan(Z_TAIL * m.v_s_rel.sd_corrected_se);
    // informative: the spreads are measured to better than 10% of themselves
    expect(m.v_off_v.sd_corrected_se / sOff).toBeLessThan(0.1);
    expect(m.v_s_rel.sd_corrected_se / sRel).toBeLessThan(0.1);
  });

  it('is off when the chip has no mismatch', () => {
    expect(characteriseRng(ideal('rng.tau_rng_s=1e-7')).mismatch).toBeNull();
  });
});

describe('report', () => {
  it('is deterministic and JSON-able', () => {
    const cfg = testConfig(['seed=31'], false);
    const opts = { samplesPerVoltage: 2000, acSegmentLength: 2000, acSegments: 8, cells: 8, cellSamplesPerVoltage: 200 };
    const a = characteriseRng(cfg, opts);
    const b = characteriseRng(cfg, opts);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('reports the configured rate, energy per bit and power', () => {
    const r = characteriseRng(ideal('rng.tau_rng_s=1e-7'));
    expect(r.rate.bit_rate_hz).toBe(1e7);
    expect(r.rate.energy_per_bit_j).toBe(3.5e-16);
    expect(r.rate.power_w).toBeCloseTo(3.5e-9, 20);
    expect(r.rate.average_power_w).toBeCloseTo(3.5e-9 * 0.5, 20);
  });

  it('rejects bad options with a UserError', () => {
    const cfg = ideal();
    expect(() => characteriseRng(cfg, { cells: 1 })).toThrow(UserError);
    expect(() => characteriseRng(cfg, { cell: cfg.fabric.L ** 2 })).toThrow(UserError);
    expect(() => characteriseRng(cfg, { dtFraction: 0 })).toThrow(UserError);
    expect(() => characteriseRng(cfg, { voltages: 2.5 })).toThrow(UserError);
  });

  it('says so when mismatch moves a cell out of the sweep', () => {
    const cfg = testConfig(['rng.v_off_sigma_v=2', 'seed=1'], false);
    expect(() => characteriseRng(cfg, { cells: 64, cellSamplesPerVoltage: 100 })).toThrow(/cell \d+'s transfer curve/);
  });
});
