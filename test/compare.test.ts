// dtca compare: run directories and sweep point directories side by side.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';

describe('dtca compare', () => {
  it('one table with a column per design, compare.json and a chart', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-'));
    const a = join(root, 'slow');
    const b = join(root, 'fast');
    expect(dtca(['run', '--set', 'fabric.L=12', '--images', '2', '--sweeps', '10', '--out', a]).code).toBe(0);
    expect(dtca(['run', '--set', 'fabric.L=12', '--set', 'clock.clock_hz=4e7', '--images', '2', '--sweeps', '10', '--out', b]).code).toBe(0);
    const s = join(root, 'sweep');
    expect(dtca(['sweep', '--grid', '12', '--images', '1', '--stages', '2', '--sweeps', '10', '--no-charts', '--out', s]).code).toBe(0);
    const point = join(s, 'points', readdirSync(join(s, 'points'))[0]);
    const out = join(root, 'cmp');
    const r = dtca(['compare', a, b, point, '--out', out]);
    expect(r.code).toBe(0);
    const head = r.stdout.split('\n')[0];
    expect(head).toMatch(/dtca-paper\+1 set\s.*dtca-paper\+2 sets.*#1 L=12/);
    expect(r.stdout).toMatch(/^time \/ image\s+/m);
    const j = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(j.length).toBe(3);
    // the same chip at 4x the clock: a quarter of the time per image
    expect(j[1].time_per_image_s / j[0].time_per_image_s).toBeCloseTo(0.25, 2);
    expect(j[2].lag1_autocorr).toBeGreaterThan(0);
    expect(existsSync(join(out, 'compare.png'))).toBe(true);
    const bad = dtca(['compare', a, root]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no stats\.json/);
  });
});
