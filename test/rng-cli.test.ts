// `dtca rng`: the report, its files and charts, and bad input, from the command line.
// (The characterisation itself: test/rng.test.ts.)
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slopeVoltage } from '../rng/telegraph.js';
import { dtca } from './helpers/cli.js';

const Z_TAIL = 4.75;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('dtca rng', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dtca-rng-'));
  });

  it('a slope below an attovolt (temperature_k 1e-30) is printed as a number, not as zeros', () => {
    const r = dtca(['rng', '--ideal', '--set', 'rng.temperature_k=1e-30', '--cells', '2', '--out', join(dir, 'cold')]);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('slope V_s'))!;
    // V_s = n kT/q = 1.29e-34 V; the measured column shows the fit in exponent form
    expect(line).toMatch(/^slope V_s\s+1\.29\de-34 ± \d\.\de-3\d V\s/);
    expect(r.stdout).not.toMatch(/0\.000000 ± 0\.000000/);
  });

  it('--json reproduces the paper RNG and writes rng.json and the two charts', () => {
    const out = join(dir, 'r1');
    const r = dtca(['rng', '--json', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const tau = rep.autocorrelation.fit;
    expect(Math.abs(tau.tau_s - 1e-7)).toBeLessThan(Z_TAIL * tau.tau_se_s);
    expect(rep.rate.energy_per_bit_j).toBe(3.5e-16);
    expect(rep.rate.bit_rate_hz).toBe(1e7);
    expect(Math.abs(rep.rate.decorrelated_bit_rate_hz - 1e7)).toBeLessThan(Z_TAIL * (tau.tau_se_s / tau.tau_s) * 1e7 * 1.01);
    const f = rep.transfer.fit;
    expect(Math.abs(f.v_s_v - slopeVoltage(1.5, 300))).toBeLessThan(Z_TAIL * f.v_s_se_v);
    expect(rep.mismatch.cells_sampled).toBe(256);
    expect(JSON.parse(readFileSync(join(out, 'rng.json'), 'utf8'))).toEqual(rep);
    for (const name of ['rng-transfer', 'rng-autocorr']) {
      const svg = readFileSync(join(out, `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      const png = readFileSync(join(out, `${name}.png`));
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(statSync(join(out, `${name}.png`)).size).toBeGreaterThan(1024);
    }
    expect(readFileSync(join(out, 'rng-transfer.svg'), 'utf8')).toContain('V_s');
    expect(existsSync(join(out, 'config.json'))).toBe(true);
  });

  it('tau below one bit time: the table says the rate is limited by the bit rate (it printed 1/tau, ten times the bit rate, without a word)', () => {
    const r = dtca(['rng', '--ideal', '--set', 'rng.tau_rng_s=1e-8', '--cells', '2', '--out', join(dir, 'fast')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bit rate\s+10 MHz, limited by the bit rate \(1\/tau = \d+\.?\d* MHz: tau is below one bit time, 100 ns\)\s+10 MHz/m);
    expect(r.stdout).toMatch(/^energy per bit\s+350 aJ \(power \/ bit rate: every bit independent\)/m);
  });

  it('prints a table without --json', () => {
    const r = dtca(['rng', '--ideal', '--cells', '8', '--out', join(dir, 'r2')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/relaxation time tau/);
    expect(r.stdout).toMatch(/slope V_s/);
    expect(r.stdout).toMatch(/energy per bit/);
  });

  for (const [args, pattern] of [
    [['--cells', '1'], /--cells 1/],
    [['--cell', '-1'], /--cell -1/],
    [['--set', 'rng.tau_rng_s=-1'], /rng\.tau_rng_s/],
    [['--set', 'rng.bogus=1'], /rng\.bogus/],
    [['no-such-config'], /no-such-config/],
  ] as const) {
    it(`bad input ${args.join(' ')} -> exit 2, one line`, () => {
      const r = dtca(['rng', ...args, '--out', join(dir, 'bad')]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    });
  }
});
