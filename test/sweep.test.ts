// dtca sweep: a faster clock cuts static energy per sweep and makes p-bits sticky.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';

describe('dtca sweep', () => {
  it('clock sweep shows both sides of the trade-off', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dtca-sweep-')), 's');
    const r = dtca(['sweep', '--param', 'clock.clock_hz', '--values', '1e7,8e7', '--set', 'fabric.L=20', '--sweeps', '300', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const [slow, fast] = rep.rows;
    expect(fast.sweep_time_s / slow.sweep_time_s).toBeCloseTo(1 / 8, 12);
    expect(fast.static_per_cell_sweep_j).toBeLessThan(slow.static_per_cell_sweep_j / 4);
    // tau_rng = 100 ns against 25 ns sweeps: the lag-one autocorrelation rises far above the model's own
    expect(fast.lag1_autocorr - fast.lag1_autocorr_ideal).toBeGreaterThan(0.4);
    expect(slow.lag1_autocorr).toBeLessThan(fast.lag1_autocorr);
    expect(rep.moment_rmse_floor).toBeGreaterThan(0);
    expect(existsSync(join(out, 'sweep.json'))).toBe(true);
    expect(existsSync(join(out, 'sweep.png'))).toBe(true);
  });

  it('bad parameter path: exit 2 naming it', () => {
    const r = dtca(['sweep', '--param', 'clock.speed', '--values', '1', '--set', 'fabric.L=20']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/clock\.speed: unknown key/);
  });
});
