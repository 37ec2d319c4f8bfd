// (cli tier: it imports cli/commands/sweep.ts for the terminal table; nothing is spawned)
// A sweep over grid sizes whose smaller grids hold a pooled Fashion-MNIST image (14x14, 7x7) judges
// each point at its own resolution, and FD and accuracy at different resolutions are not on one
// scale (docs/training.md, "Any grid"). The sweep's results said which resolution only inside the
// free-text quality_note: the terminal table, the FD and accuracy charts (one line from a 7x7 FD to
// a 14x14 one) and the Pareto front (a 14x14 design "dominating" a 7x7 one) compared them as one.
import { describe, it, expect } from 'vitest';
import { formatRows } from '../cli/commands/sweep.js';
import { chartSpecs, paretoData, paretoSpecs, judgedImages } from '../sim/sweep/report.js';
import { RESULT_COLUMNS } from '../sim/sweep/collect.js';
import type { PlanFile, Row } from '../sim/sweep/store.js';
import { sweepRow } from './helpers/sweep-rows.js';

function planOf(values: number[]): PlanFile {
  return {
    sweep_id: 'abc',
    points: values.length,
    dtca_version: 't',
    created: 'now',
    command: ['dtca'],
    plan: {
      axes: [{ path: 'fabric.L', values }],
      replicates: 1,
      sets: [],
      label: 'dtca-paper',
      config: 'dtca-paper',
      zip: false,
      seed: null,
      workload: { kind: 'model' },
      train: null,
    },
  } as unknown as PlanFile;
}

function row(point: number, L: number, image: string | null, fd: number, e: number): Row {
  return sweepRow(point, { 'fabric.L': L }, {
    energy_per_image_j: e,
    area_m2: 2e-8,
    quality_image: image,
    fd,
    fd_floor: image === '7x7' ? 118 : 131,
    fd_factorised: image === '7x7' ? 160 : 139,
    clamped_accuracy: 0.2,
    clamped_accuracy_floor: 0.6,
    clamped_accuracy_factorised: 0.6,
    marginal_error: 0.2,
    marginal_error_floor: 0.06,
    marginal_error_factorised: 0.07,
  } as Partial<Row>);
}

// L = 24: 7x7 images, FD 265 at 0.44 nJ; L = 40: 14x14, FD 180 at 0.40 nJ (better on both numbers,
// but its FD is on another scale); L = 48: 14x14, FD 200 at 0.5 nJ (dominated by L = 40)
const pf = planOf([24, 40, 48]);
const mixed = [row(1, 24, '7x7', 265, 0.44e-9), row(2, 40, '14x14', 180, 0.4e-9), row(3, 48, '14x14', 200, 0.5e-9)];

describe('a sweep whose points were judged at different image resolutions', () => {
  it('results.csv has the resolution of every judged point as a column', () => {
    expect(RESULT_COLUMNS).toContain('quality_image');
    expect(RESULT_COLUMNS.indexOf('quality_image')).toBe(RESULT_COLUMNS.indexOf('quality_n') + 1);
    expect(judgedImages(mixed)).toEqual(['14x14', '7x7']);
  });

  it('the terminal table names each row’s resolution and says they do not compare', () => {
    const t = formatRows(pf, mixed);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/image\s+N\s+FD \(floor\/factorised\)\s+accuracy/);
    expect(lines[1]).toMatch(/\b7x7\s+20\s+265\.0/);
    expect(lines[2]).toMatch(/\b14x14\s+20\s+180\.0/);
    expect(t).toMatch(/images judged at 2 resolutions \(14x14, 7x7; .*\): FD and accuracy compare only points at one resolution/);
    // one resolution: no warning; at 28x28 no image column either
    const one = formatRows(pf, [row(2, 40, '14x14', 180, 0.4e-9), row(3, 48, '14x14', 200, 0.5e-9)]);
    expect(one).toMatch(/image\s+N/);
    expect(one).not.toMatch(/resolutions/);
    const full = formatRows(pf, [row(2, 56, '28x28', 180, 0.4e-9), row(3, 70, '28x28', 200, 0.5e-9)]);
    expect(full).not.toMatch(/\simage\s+N\s|resolutions/);
    // points finished before the column existed: as before
    const old = formatRows(pf, [row(2, 56, null, 180, 0.4e-9), row(3, 70, null, 200, 0.5e-9)]);
    expect(old).not.toMatch(/\simage\s+N\s|resolutions/);
    expect(JSON.stringify(paretoSpecs(pf, [row(2, 56, null, 180, 0.4e-9)])[0].spec)).toMatch(/"ref":"floor: real images"/);
  });

  it('the FD and accuracy charts draw a line per resolution, never one across them', () => {
    const charts = chartSpecs(pf, mixed);
    for (const key of ['fd', 'clamped_accuracy']) {
      const c = charts.find((x) => x.result === key && x.axis === 'fabric.L')!;
      const values = (c.spec as unknown as { data: { values: { series: string; kind: string; x: number }[] } }).data.values;
      const measured = values.filter((v) => v.kind === 'measured');
      expect(new Set(measured.map((v) => v.series))).toEqual(new Set(['7x7 images', '14x14 images']));
      expect(measured.filter((v) => v.series === '14x14 images').map((v) => v.x)).toEqual([40, 48]);
      expect(JSON.stringify(c.spec)).toMatch(/images judged at 2 resolutions/);
    }
    // energy does not depend on the resolution: one line
    const e = charts.find((x) => x.result === 'energy_per_image_j')!;
    const ev = (e.spec as unknown as { data: { values: { series: string }[] } }).data.values;
    expect(new Set(ev.map((v) => v.series)).size).toBe(1);
  });

  it('the Pareto front is a front per resolution: a 14x14 design does not dominate a 7x7 one', () => {
    const e = paretoData(pf, mixed, 'energy_per_image_j');
    expect(e.map((p) => [p.label, p.front])).toEqual([
      ['L=24 (7x7)', true],
      ['L=40 (14x14)', true],
      ['L=48 (14x14)', false],
    ]);
    const spec = JSON.stringify(paretoSpecs(pf, mixed)[0].spec);
    expect(spec).toMatch(/a front per resolution/);
    // the yardsticks at each resolution, not their mean over both
    expect(spec).toMatch(/floor: real images \(7x7\)/);
    expect(spec).toMatch(/floor: real images \(14x14\)/);
    // one resolution: labels as before, one front
    const same = paretoData(pf, mixed.slice(1), 'energy_per_image_j');
    expect(same.map((p) => [p.label, p.front])).toEqual([
      ['L=40', true],
      ['L=48', false],
    ]);
  });
});
