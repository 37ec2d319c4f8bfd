// `dtca area` and the area figures of `dtca run` (table and stats.json), against the area model.
// (The model itself: test/area.test.ts.)
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AREA_COMPONENTS } from '../power/area.js';
import { areaOf } from '../sim/area.js';
import { resolveConfig } from '../sim/config.js';
import { dtca } from './helpers/cli.js';

describe('dtca area', () => {
  it('--arrays is held to 1..1024 in one line, exit 2 (1e9 was accepted: an 88 m² chip)', () => {
    for (const v of ['1e9', '1025', '0', '-3', '2.5', '1e300']) {
      const r = dtca(['area', '--arrays', v]);
      expect(r.code, v).toBe(2);
      expect(r.stdout, v).toBe('');
      expect(r.stderr, v).toMatch(/^dtca: --arrays [-0-9.e+]+: expected an integer in 1\.\.1024 \(arrays on one chip; a DTM pipeline has one per stage\)\n$/);
    }
    const top = dtca(['area', '--arrays', '1024', '--json']);
    expect(top.code, top.stderr).toBe(0);
    expect(JSON.parse(top.stdout).arrays).toBe(1024);
  });

  it('dtca area, and dtca run reports area in its table and stats.json', () => {
    const a = dtca(['area', '--json']);
    expect(a.code).toBe(0);
    const rep = JSON.parse(a.stdout);
    expect(rep.area_m2.total).toBe(areaOf(resolveConfig('dtca-paper')).area_m2.total);
    expect(rep.parameters.rng_m2).toEqual({ from: 'area.rng_m2', value: 9e-12 });
    const t = dtca(['area', 'z1-like']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/area total\s+0\.643 mm²/);
    expect(dtca(['area', '--ideal']).code).toBe(2);

    const dir = mkdtempSync(join(tmpdir(), 'dtca-area-run-'));
    const r = dtca(['run', '--set', 'fabric.L=40', '--images', '2', '--sweeps', '3', '--mapping', 'pipeline', '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/area total\s+[0-9.]+ mm² \(8 arrays\)/);
    expect(r.stdout).toMatch(/images \/ s \/ mm²/);
    const s = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    const want = areaOf(resolveConfig('dtca-paper', { sets: ['fabric.L=40'] }), { arrays: 8 });
    expect(s.area_m2.total).toBe(want.area_m2.total);
    expect(Object.keys(s.area_m2).sort()).toEqual(['total', ...AREA_COMPONENTS].sort());
    expect(s.images_per_s_per_mm2).toBe(s.images_per_s / (want.area_m2.total * 1e6));

    const bm = dtca(['run', '--workload', 'bm', '--set', 'fabric.L=20', '--sweeps', '3', '--json', '--out', join(dir, 'bm')]);
    expect(bm.code).toBe(0);
    const sb = JSON.parse(bm.stdout);
    expect(sb.cell_updates_per_s_per_mm2).toBeGreaterThan(0);
    const ideal = dtca(['run', '--ideal', '--set', 'fabric.L=40', '--images', '1', '--sweeps', '2', '--json', '--out', join(dir, 'ideal')]);
    expect(ideal.code).toBe(0);
    expect(JSON.parse(ideal.stdout).area_m2).toBeNull();
  });
});
