// What a sweep shows people (issue 19 items 1, 2, 4, 10, 11, 14): areas in mm², ticks at the swept
// values, the FD and accuracy columns and the quality yardsticks with N, the resume command after
// an interrupt and the remembered options, a progress bar and log lines for twins and charts,
// titled and labelled sample pictures, the clock in MHz with words as titles.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, dtca } from './helpers/cli.js';
import { stoppableSweepArgs } from './helpers/sweep-args.js';
import { chartSpecs, indexHtml, writeCharts, axisTitle } from '../sim/sweep/report.js';
import { renderChart } from '../sim/io/plot.js';
import { makePlan, expandPlan, parseAxis, type Point } from '../sim/sweep/plan.js';
import { claimSweepDir, type PlanFile, type Row } from '../sim/sweep/store.js';
import { runSweep } from '../sim/sweep/runner.js';
import { pointTitle } from '../sim/sweep/point.js';
import { quietContext } from '../sim/context.js';
import { formatRows } from '../cli/commands/sweep.js';
import { sweepRow } from './helpers/sweep-rows.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));

function planOf(axes: { path: string; values: (number | string)[] }[]): PlanFile {
  return {
    sweep_id: 'abc',
    points: 3,
    dtca_version: 't',
    created: 'now',
    command: ['dtca'],
    plan: { axes, replicates: 1, sets: [], label: 'dtca-paper', config: 'dtca-paper', zip: false, seed: null, workload: { kind: 'dtm' }, train: null },
  } as unknown as PlanFile;
}

const row = sweepRow;

describe('issue 19 item 1: areas in mm²', () => {
  it('index.html and the terminal table give 0.025 mm², never "nm²"', () => {
    const pf = planOf([{ path: 'fabric.L', values: [32, 48, 70] }]);
    const rows = [
      row(1, { 'fabric.L': 32 }, { area_m2: 2.506e-8 } as Partial<Row>),
      row(2, { 'fabric.L': 48 }, { area_m2: 4.82e-8 } as Partial<Row>),
      row(3, { 'fabric.L': 70 }, { area_m2: 9.501e-8 } as Partial<Row>),
    ];
    const html = indexHtml(pf, rows, [], [], '/s/sw');
    expect(html).toContain('<th>area (mm²)</th>');
    expect(html).toContain('>0.02506</td>');
    expect(html).toContain('>0.09501</td>');
    expect(html).not.toMatch(/nm²/);
    const table = formatRows(pf, rows);
    expect(table).toMatch(/\barea \(mm²\)/);
    expect(table).toContain(' 0.0482 ');
    expect(table).not.toMatch(/nm²/);
  });
});

/** The texts of a rendered chart's x axis: its tick labels, then its title. */
function xLabels(svg: string): string[] {
  const from = svg.indexOf('aria-label="X-axis');
  const to = svg.indexOf('aria-label="Y-axis');
  expect(from).toBeGreaterThan(0);
  return [...svg.slice(from, to > from ? to : undefined).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe('the results table of index.html', () => {
  it('every column of numbers with a unit names it in its header, one prefix per column (cells mixed fJ and aJ)', () => {
    const pf = planOf([{ path: 'clock.clock_hz', values: [2.5e6, 1e7, 8e7] }]);
    const rows = [
      row(1, { 'clock.clock_hz': 2.5e6 }, { sweep_energy_per_cell_sweep_j: 4.04e-15, images_per_s_per_mm2: 2032797.9 } as Partial<Row>),
      row(2, { 'clock.clock_hz': 1e7 }, { sweep_energy_per_cell_sweep_j: 1.2556e-15, images_per_s_per_mm2: 8131191.9 } as Partial<Row>),
      row(3, { 'clock.clock_hz': 8e7 }, { sweep_energy_per_cell_sweep_j: 3.343e-16, images_per_s_per_mm2: 65050000 } as Partial<Row>),
    ];
    const html = indexHtml(pf, rows, [], [], '/s/sw');
    const heads = [...html.slice(html.indexOf('<table id="results">')).matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
    for (const h of ['clock.clock_hz (MHz)', 'energy / image (nJ)', 'time / image (µs)', 'sweep time (ns)', 'sweep energy / cell / sweep (fJ)', 'area (mm²)'])
      expect(heads).toContain(h);
    const cells = (attr: string) => [...html.matchAll(new RegExp(`data-v="${attr}">([^<]*)<`, 'g'))].map((m) => m[1]);
    // one prefix for the column: 4.04, 1.256 and 0.3343 fJ (was "4.04 fJ", "1.256 fJ", "334.3 aJ")
    expect(cells('4.04e-15')).toEqual(['4.04']);
    expect(cells('3.343e-16')).toEqual(['0.3343']);
    // axis values whole in the header's unit; large plain numbers with separators (was 65050000)
    expect(cells('2500000')).toEqual(['2.5']);
    expect(cells('65050000')).toEqual(['65,050,000']);
    const results = html.slice(html.indexOf('<table id="results">'), html.indexOf('</tbody>'));
    expect(results).not.toMatch(/<td[^>]*>[^<]*(fJ|aJ|nJ|MHz|µs|mm²)<\/td>/);
  });
});

describe('the missing points of index.html', () => {
  it("name the sweep's own directory and the command that resumes it (was the literal `dtca sweep run DIR`)", () => {
    const pf = planOf([{ path: 'fabric.L', values: [16, 20, 24] }]);
    const rows = [row(1, { 'fabric.L': 16 }), row(2, { 'fabric.L': 20 })];
    const missing = [{ index: 2, id: 'id3', axes: { 'fabric.L': 24 } } as unknown as Point];
    const html = indexHtml(pf, rows, missing, [], "/tmp/a b's <sweep>");
    const section = html.slice(html.indexOf('<h2>Missing points (1)</h2>'), html.indexOf('</section>', html.indexOf('<h2>Missing points')));
    expect(section).toContain(`<code>dtca sweep --resume '/tmp/a b'\\''s &lt;sweep&gt;'</code>`);
    expect(section).toContain(`<code>dtca sweep collect '/tmp/a b'\\''s &lt;sweep&gt;'</code>`);
    expect(section).not.toMatch(/\bDIR\b|<sweep>/);
    expect(section).toContain('point 3: fabric.L=24 (id3)');
  });
});

describe('the notes under the results table', () => {
  it("a note not every point shares names its points (a point's own accuracy was given unattributed)", () => {
    const pf = planOf([{ path: 'fabric.L', values: [16, 20, 24] }]);
    const rows = [
      row(1, { 'fabric.L': 16 }, { quality_note: 'clamped accuracy 0.300' }),
      row(2, { 'fabric.L': 20 }, { quality_note: 'clamped accuracy 0.100' }),
      row(3, { 'fabric.L': 24 }, { quality_note: 'clamped accuracy 0.300' }),
    ];
    const html = indexHtml(pf, rows, [], [], '/s/sw');
    expect(html).toContain('quality (points 1, 3): clamped accuracy 0.300<br>quality (point 2): clamped accuracy 0.100<br>area: area model');
  });
});

describe('the plan table of index.html', () => {
  it("names the training budget's options but workers, which a sweep does not use", () => {
    const pf = planOf([{ path: 'fabric.L', values: [32] }]);
    const trained = {
      ...pf,
      plan: { ...pf.plan, train: { budget: 'quick', options: { epochs: 30, steps: 50, workers: 2 }, chip: 'ideal', model_cache: null } },
    } as unknown as PlanFile;
    const html = indexHtml(trained, [row(1, { 'fabric.L': 32 })], [], [], '/s/sw');
    expect(html).toMatch(/--train quick on the ideal chip \(epochs 30, steps 50\); models in models\//);
  });
});

describe('issue 19 item 2: ticks on a swept axis are the swept values', () => {
  it('a grid axis 32, 48, 70 is labelled 32, 48, 70 (not 30, 50, 70)', async () => {
    const pf = planOf([{ path: 'fabric.L', values: [32, 48, 70] }]);
    const rows = [32, 48, 70].map((L, i) => row(i + 1, { 'fabric.L': L }));
    const c = chartSpecs(pf, rows).find((x) => x.result === 'energy_per_image_j')!;
    const { svg } = await renderChart(c.spec);
    expect(xLabels(svg)).toEqual(['32', '48', '70', 'Grid side L']);
  }, 120_000);

  it('a clock axis on a log scale is labelled at 2.5, 10, 80 MHz', async () => {
    const clocks = [2.5e6, 1e7, 8e7];
    const pf = planOf([{ path: 'clock.clock_hz', values: clocks }]);
    const rows = clocks.map((c, i) => row(i + 1, { 'clock.clock_hz': c }));
    const c = chartSpecs(pf, rows).find((x) => x.result === 'energy_per_image_j')!;
    const { svg } = await renderChart(c.spec);
    expect(xLabels(svg)).toEqual(['2.5', '10', '80', 'Clock (MHz)']);
  }, 120_000);
});

describe('legends and ticks of the charts', () => {
  it('a chart against one of three axes: the legend names the other two whole, series in short words, large ticks thousands separated', async () => {
    const pf = planOf([
      { path: 'cell.weight_bits', values: [4, 8] },
      { path: 'fabric.L', values: [12, 16] },
      { path: 'clock.clock_hz', values: [1e7, 8e7] },
    ]);
    const rows: Row[] = [];
    for (const b of [4, 8])
      for (const L of [12, 16])
        for (const c of [1e7, 8e7])
          rows.push(
            row(rows.length + 1, { 'cell.weight_bits': b, 'fabric.L': L, 'clock.clock_hz': c }, {
              images_per_s_per_mm2: c * (L === 12 ? 0.8 : 0.66),
            } as Partial<Row>),
          );
    const c = chartSpecs(pf, rows).find((x) => x.result === 'images_per_s_per_mm2' && x.axis === 'fabric.L')!;
    const spec = c.spec as unknown as { data: { values: { series: string }[] } };
    // was "cell.weight_bits=4, clock.clock_hz=10 MHz"
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(
      new Set(['weight_bits=4, 10 MHz', 'weight_bits=4, 80 MHz', 'weight_bits=8, 10 MHz', 'weight_bits=8, 80 MHz']),
    );
    const { svg } = await renderChart(c.spec);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    // the legend's title was cut to "Weight precision …"
    expect(texts).toContain('Weight precision (bits), Clock');
    expect(texts.some((t) => t.includes('…'))).toBe(false);
    // y ticks: 50,000,000 (was 50000000)
    expect(texts.some((t) => /^\d{1,3}(,\d{3}){2,}$/.test(t))).toBe(true);
    expect(texts.some((t) => /^\d{5,}$/.test(t))).toBe(false);
  }, 120_000);
});

describe('chart titles', () => {
  it('an acronym keeps its capitals mid-sentence (was "against rNG relaxation time")', () => {
    const pf = planOf([{ path: 'rng.tau_rng_s', values: [5e-8, 1e-6] }]);
    const rows = [row(1, { 'rng.tau_rng_s': 5e-8 }), row(2, { 'rng.tau_rng_s': 1e-6 })];
    expect(chartSpecs(pf, rows).find((x) => x.result === 'energy_per_image_j')!.title).toBe('Energy per image against RNG relaxation time');
  });
});

describe('a missing point in the charts', () => {
  it('breaks its line (was drawn straight across, as if measured there) and the subtitle counts the missing', () => {
    const clocks = [2.5e6, 1e7, 8e7];
    const pf = { ...planOf([{ path: 'clock.clock_hz', values: clocks }]), points: 3 } as PlanFile;
    const rows = [row(1, { 'clock.clock_hz': 2.5e6 }), row(3, { 'clock.clock_hz': 8e7 })];
    const missing = [{ index: 1, id: 'id2', axes: { 'clock.clock_hz': 1e7 } }] as unknown as Point[];
    type Spec = { title: unknown; data: { values: { x: number; kind: string; line: string }[] } };
    const c = chartSpecs(pf, rows, missing).find((x) => x.result === 'energy_per_image_j')!.spec as unknown as Spec;
    const measured = c.data.values.filter((v) => v.kind === 'measured');
    expect(measured.map((v) => v.x)).toEqual([2.5, 80]);
    // two segments: nothing joins 2.5 MHz to 80 MHz across the missing 10 MHz
    expect(new Set(measured.map((v) => v.line)).size).toBe(2);
    expect(JSON.stringify(c.title)).toMatch(/2 of 3 points finished, 1 missing/);
    // a finished point without the value (null) breaks the line too; all there, one line and no subtitle
    const nulls = [
      row(1, { 'clock.clock_hz': 2.5e6 }),
      row(2, { 'clock.clock_hz': 1e7 }, { energy_per_image_j: null } as Partial<Row>),
      row(3, { 'clock.clock_hz': 8e7 }),
    ];
    const cn = chartSpecs(pf, nulls).find((x) => x.result === 'energy_per_image_j')!.spec as unknown as Spec;
    expect(new Set(cn.data.values.filter((v) => v.kind === 'measured').map((v) => v.line)).size).toBe(2);
    const full = [...nulls.slice(0, 1), row(2, { 'clock.clock_hz': 1e7 }), nulls[2]];
    const cf = chartSpecs(pf, full).find((x) => x.result === 'energy_per_image_j')!.spec as unknown as Spec;
    expect(new Set(cf.data.values.filter((v) => v.kind === 'measured').map((v) => v.line)).size).toBe(1);
    expect(typeof cf.title).toBe('string');
  });

  it('with replicates the title says each dot is their mean (it did not say)', () => {
    const pf = { ...planOf([{ path: 'fabric.L', values: [12, 16] }]), points: 4 } as PlanFile;
    const reps = { ...pf, plan: { ...pf.plan, replicates: 2 } } as PlanFile;
    const rows = [12, 16].flatMap((L, i) => [row(2 * i + 1, { 'fabric.L': L }), row(2 * i + 2, { 'fabric.L': L }, { replicate: 1, seed: 2 })]);
    expect(chartSpecs(reps, rows).find((x) => x.result === 'fd')!.title).toBe(
      'Sample quality: FD (lower is better) against grid side L (N = 20 images per point), mean of 2 replicates; bars: least to greatest replicate (min–max)',
    );
    expect(chartSpecs(pf, rows).find((x) => x.result === 'fd')!.title).not.toMatch(/replicates/);
  });

  type Datum = { x: number; y: number; lo: number; hi: number; n: number; kind: string };
  type Layer = { mark: { type: string }; transform?: unknown[]; encoding?: Record<string, { field?: string }> };
  type Spec = { title: unknown; data: { values: Datum[] }; layer: Layer[] };

  it('with replicates every mean has a bar from the least to the greatest replicate; one replicate, none (no spread was drawn)', () => {
    const pf = { ...planOf([{ path: 'fabric.L', values: [12, 16] }]), points: 6 } as PlanFile;
    const reps = { ...pf, plan: { ...pf.plan, replicates: 3 } } as PlanFile;
    // L=12: FD 131, 140, 125 (mean 132); L=16: one replicate finished (FD 150), two missing
    const rows = [
      row(1, { 'fabric.L': 12 }, { fd: 131, fd_floor: 120 } as Partial<Row>),
      row(2, { 'fabric.L': 12 }, { replicate: 1, seed: 2, fd: 140, fd_floor: 124 } as Partial<Row>),
      row(3, { 'fabric.L': 12 }, { replicate: 2, seed: 3, fd: 125, fd_floor: 125 } as Partial<Row>),
      row(4, { 'fabric.L': 16 }, { fd: 150 } as Partial<Row>),
    ];
    const missing = [5, 6].map((i) => ({ index: i - 1, id: `id${i}`, axes: { 'fabric.L': 16 } })) as unknown as Point[];
    const c = chartSpecs(reps, rows, missing).find((x) => x.result === 'fd')!;
    const spec = c.spec as unknown as Spec;
    const m = spec.data.values.filter((v) => v.kind === 'measured');
    expect(m.map((v) => [v.x, v.y, v.lo, v.hi, v.n])).toEqual([
      [12, 132, 125, 140, 3],
      [16, 150, 150, 150, 1],
    ]);
    // the yardsticks' means get theirs too: the real images' FD differs by seed
    const floor = spec.data.values.filter((v) => v.kind === 'floor: real images' && v.x === 12);
    expect(floor.map((v) => [v.lo, v.hi, v.n])).toEqual([[120, 125, 3]]);
    // drawn where n > 1 (a design of one replicate gets no bar), from lo to hi on the y scale
    const bars = spec.layer.filter((l) => l.mark.type === 'errorbar');
    expect(bars.length).toBe(1);
    expect(bars[0].transform).toEqual([{ filter: 'datum.n > 1' }]);
    expect([bars[0].encoding!.y.field, bars[0].encoding!.y2.field]).toEqual(['lo', 'hi']);
    // said in the subtitle and the caption
    expect(JSON.stringify(spec.title)).toContain('bars: least to greatest replicate (min–max)');
    expect(c.title).toContain('bars: least to greatest replicate (min–max)');
    // one replicate: no bar layer, no word of bars
    const one = chartSpecs(pf, rows.slice(0, 1)).find((x) => x.result === 'fd')!;
    expect((one.spec as unknown as Spec).layer.filter((l) => l.mark.type === 'errorbar')).toEqual([]);
    expect(one.title).not.toMatch(/bars/);
  });

  it('the bars are drawn: the rendered chart has an error bar per mean of two replicates', async () => {
    const pf = { ...planOf([{ path: 'fabric.L', values: [12, 16] }]), points: 4 } as PlanFile;
    const reps = { ...pf, plan: { ...pf.plan, replicates: 2 } } as PlanFile;
    const rows = [12, 16].flatMap((L, i) => [
      row(2 * i + 1, { 'fabric.L': L }, { lag1_autocorr: 0.2 } as Partial<Row>),
      row(2 * i + 2, { 'fabric.L': L }, { replicate: 1, seed: 2, lag1_autocorr: 0.3 } as Partial<Row>),
    ]);
    const bars = async (p: PlanFile) =>
      ((await renderChart(chartSpecs(p, rows).find((x) => x.result === 'lag1_autocorr')!.spec)).svg.match(/aria-roledescription="errorbar"/g) ?? []).length;
    // 2 grid sides x 2 kinds (measured, ideal twin)
    expect(await bars(reps)).toBe(4);
    expect(await bars(pf)).toBe(0);
  });
});

describe('issue 19 item 4: FD and accuracy columns, yardsticks and N in the quality charts', () => {
  it('the terminal summary has N, FD with floor/factorised, and accuracy with ceiling/factorised columns', () => {
    const pf = planOf([{ path: 'clock.clock_hz', values: [1e7, 2e7] }]);
    const rows = [row(1, { 'clock.clock_hz': 1e7 }), row(2, { 'clock.clock_hz': 2e7 })];
    const t = formatRows(pf, rows).split('\n');
    expect(t[0]).toMatch(/\bN\s+FD \(floor\/factorised\)\s+accuracy \(ceiling\/factorised\)$/);
    expect(t[1]).toMatch(/20\s+131\.0 \(125\.6\/180\.0\)\s+0\.500 \(0\.850\/0\.300\)$/);
    // real images are FD's floor but accuracy's ceiling (was "floor" for both)
    expect(t.join('\n')).toMatch(/accuracy: .*higher is better; ceiling = real images/);
    // 20 images per point: FD cannot rank them, as dtca eval says (the table printed their FDs without a word)
    expect(t.join('\n')).toMatch(
      /^WARNING: N = 20 images per point is too few for FD to rank designs \(at least 200, docs\/quality\.md\): the order, and the front, may be chance; --images 200 or more$/m,
    );
    expect(
      formatRows(
        pf,
        rows.map((r) => ({ ...r, quality_n: 200 }) as Row),
      ),
    ).not.toMatch(/too few images/);
    // unjudged sweeps keep the old table
    const plain = formatRows(
      pf,
      rows.map((r) => ({ ...r, fd: null, quality_n: null }) as Row),
    );
    expect(plain).not.toMatch(/FD/);
  });

  it('the terminal table: one SI prefix per column, the unit in its header, as index.html (a column mixed fJ and aJ)', () => {
    const pf = planOf([{ path: 'clock.clock_hz', values: [2.5e6, 1e7, 8e7] }]);
    const rows = [
      row(1, { 'clock.clock_hz': 2.5e6 }, { sweep_energy_per_cell_sweep_j: 4.04e-15, time_per_image_s: 1.662e-3 } as Partial<Row>),
      row(2, { 'clock.clock_hz': 1e7 }, { sweep_energy_per_cell_sweep_j: 1.2556e-15, time_per_image_s: 4.154e-4 } as Partial<Row>),
      row(3, { 'clock.clock_hz': 8e7 }, { sweep_energy_per_cell_sweep_j: 3.343e-16, time_per_image_s: 5.04e-5 } as Partial<Row>),
    ];
    const t = formatRows(pf, rows).split('\n');
    const heads = t[0].split(/ {2,}/);
    for (const h of ['clock.clock_hz (MHz)', 'E/image (nJ)', 't/image (ms)', 'E/cell/sweep (fJ)', 'area (mm²)']) expect(heads).toContain(h);
    // was "4.04 fJ" above "334.3 aJ", "2.5 MHz" above "80 MHz", "1.662 ms" above "50.4 µs"
    expect(t[1]).toMatch(/^1\s+2\.5\s+10\s+1\.662\s+4\.04\s/);
    expect(t[3]).toMatch(/^3\s+80\s+30\s+0\.0504\s+0\.3343\s/);
    expect(t.slice(1, 4).join('\n')).not.toMatch(/\d (aJ|fJ|nJ|MHz|ms|µs|mm²)\b/);
  });

  it('with replicates the terminal table has a seed column (rows of one combination were told apart by nothing)', () => {
    const pf = planOf([{ path: 'fabric.L', values: [32] }]);
    const reps = { ...pf, plan: { ...pf.plan, replicates: 2 } } as PlanFile;
    const rows = [row(1, { 'fabric.L': 32 }, { seed: 1 }), row(2, { 'fabric.L': 32 }, { replicate: 1, seed: 2 })];
    const t = formatRows(reps, rows).split('\n');
    expect(t[0]).toMatch(/^#\s+fabric\.L\s+seed\s+E\/image/);
    expect(t[1]).toMatch(/^1\s+32\s+1\s/);
    expect(t[2]).toMatch(/^2\s+32\s+2\s/);
    expect(formatRows(pf, rows.slice(0, 1))).not.toMatch(/seed/);
  });

  it('an axis with one value gets no charts of its own when another axis varies', () => {
    const pf = planOf([
      { path: 'fabric.L', values: [32] },
      { path: 'clock.clock_hz', values: [1e7, 4e7] },
    ]);
    const rows = [row(1, { 'fabric.L': 32, 'clock.clock_hz': 1e7 }), row(2, { 'fabric.L': 32, 'clock.clock_hz': 4e7 })];
    const charts = chartSpecs(pf, rows);
    expect(charts.length).toBeGreaterThan(0);
    expect(charts.some((c) => c.axis === 'clock.clock_hz')).toBe(true);
    expect(charts.filter((c) => c.axis === 'fabric.L')).toEqual([]);
    // every axis single-valued: one point, still charted against each
    const one = planOf([{ path: 'fabric.L', values: [32] }]);
    expect(chartSpecs(one, [row(1, { 'fabric.L': 32 })]).some((c) => c.axis === 'fabric.L')).toBe(true);
  });

  it('index.html calls the real images a floor for FD and a ceiling for accuracy, with the columns as they were', () => {
    const pf = planOf([{ path: 'clock.clock_hz', values: [1e7, 2e7] }]);
    const html = indexHtml(pf, [row(1, { 'clock.clock_hz': 1e7 })], [], [], '/s/sw');
    const heads = [...html.slice(html.indexOf('<table id="results">')).matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
    expect(heads).toContain('FD floor (real images)');
    expect(heads).toContain('accuracy ceiling (real images)');
    expect(heads.join('|')).not.toMatch(/accuracy floor/);
    expect(html).toMatch(/Clamped accuracy: .*higher is better.*ceiling, the same N real images/);
    expect(chartSpecs(pf, [row(1, { 'clock.clock_hz': 1e7 })]).find((c) => c.result === 'clamped_accuracy')!.title).toMatch(
      /^Clamped accuracy \(higher is better\)/,
    );
  });

  it('the FD and accuracy charts draw the floor/ceiling and factorised yardsticks and name N', () => {
    const pf = planOf([{ path: 'clock.clock_hz', values: [1e7, 2e7] }]);
    const rows = [row(1, { 'clock.clock_hz': 1e7 }), row(2, { 'clock.clock_hz': 2e7 })];
    const charts = chartSpecs(pf, rows);
    for (const key of ['fd', 'clamped_accuracy']) {
      const c = charts.find((x) => x.result === key)!;
      expect(c.title, key).toMatch(/\(N = 20 images per point\)/);
      const spec = c.spec as unknown as { data: { values: { kind: string; y: number }[] }; encoding: { strokeDash: { scale: { domain: string[] } } } };
      // real images bound FD from below (a floor) and accuracy from above (a ceiling): the column is
      // `*_floor` for both, the words say which (accuracy's was called a floor)
      const real = key === 'fd' ? 'floor: real images' : 'ceiling: real images';
      expect(spec.encoding.strokeDash.scale.domain).toEqual(['measured', real, 'factorised: independent pixels']);
      const floor = spec.data.values.filter((v) => v.kind === real);
      expect(floor.length).toBe(2);
      expect(floor[0].y).toBe(key === 'fd' ? 125.6 : 0.85);
    }
  });
});

describe('issue 19 items 11 and 14: progress, log lines, words and MHz', () => {
  it('runSweep draws a bar over the points and logs each ideal twin; chart rendering is logged', async () => {
    const dir = join(tmp('sweep-progress'), 's');
    const ex = expandPlan(makePlan({ axes: [parseAxis('fabric.L=12,14')], workload: { kind: 'dtm', images: 1, T: 2, sweeps: 10 } }));
    claimSweepDir(dir, ex);
    const bars: { total: number; what: string; updates: number[]; stopped: boolean }[] = [];
    const lines: string[] = [];
    const say = (a: unknown, b?: string) => lines.push(typeof a === 'string' ? a : (b ?? ''));
    const ctx = quietContext({
      log: { debug: () => {}, info: say, warn: say, error: say },
      progress: (total, what) => {
        const b = { total, what, updates: [] as number[], stopped: false };
        bars.push(b);
        return { update: (n) => b.updates.push(n), stop: () => (b.stopped = true) };
      },
    });
    await runSweep(dir, { jobs: 2, shard: null }, ctx);
    expect(bars[0]).toMatchObject({ total: 2, what: 'points', stopped: true });
    expect(bars[0].updates).toEqual([1, 2]);
    expect(lines.filter((l) => /^ideal twin .* starting/.test(l)).length).toBe(2);
    expect(lines.filter((l) => /^ideal twin \d\/2 done/.test(l)).length).toBe(2);
    const before = lines.length;
    const pf = planOf([{ path: 'fabric.L', values: [12, 14] }]);
    const charts = chartSpecs(pf, [row(1, { 'fabric.L': 12 }), row(2, { 'fabric.L': 14 })]).slice(0, 2);
    await writeCharts(join(dir, 'x'), charts, ctx);
    expect(lines.slice(before)).toEqual(['rendering 2 charts', 'charts written']);
  }, 300_000);

  it('the clock axis is in MHz under a title in words', () => {
    expect(axisTitle('clock.clock_hz', 'MHz')).toBe('Clock (MHz)');
    const pf = planOf([{ path: 'clock.clock_hz', values: [2.5e6, 8e7] }]);
    const c = chartSpecs(pf, [row(1, { 'clock.clock_hz': 2.5e6 }), row(2, { 'clock.clock_hz': 8e7 })]).find((x) => x.result === 'energy_per_image_j')!;
    const spec = c.spec as unknown as { title: string; encoding: { x: { title: string } }; data: { values: { x: number }[] } };
    expect(spec.encoding.x.title).toBe('Clock (MHz)');
    expect(spec.title).toBe('Energy per image against clock');
    expect(chartSpecs(planOf([{ path: 'fabric.L', values: [32, 48] }]), [row(1, { 'fabric.L': 32 }), row(2, { 'fabric.L': 48 })])[0].title).toBe(
      'Energy per image against grid side L',
    );
    expect(spec.data.values.map((v) => v.x).sort((a, b) => a - b)).toEqual([2.5, 80]);
  });

  it("a point's samples.png has a title and class labels", () => {
    const ex = expandPlan(makePlan({ axes: [parseAxis('clock.clock_hz=1e7,2e7')], train: { budget: 'quick' }, sets: ['fabric.L=48'] }));
    const t = pointTitle(ex.points[1], 10);
    expect(t).toMatch(/^Sweep point 2: 10 generated images \(class-clamped\)\nclock\.clock_hz=20000000; trained T=8 10x250; model [0-9a-f]{16}$/);
  });
});

describe('issue 19 item 10: an interrupted sweep says how to resume, and --resume keeps its options', () => {
  it('Ctrl-C prints the resume command (exit 130); --resume runs with the original --jobs', async () => {
    const root = tmp('sweep-int');
    const out = join(root, 's');
    const args = [CLI, ...stoppableSweepArgs(out)];
    const p = spawn(process.execPath, args, { env: { ...process.env, DTCA_LOG: 'warn' } });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => p.on('close', (c) => res(c)));
    const t0 = Date.now();
    const done = () => (existsSync(join(out, 'points')) ? readdirSync(join(out, 'points')).filter((e) => !e.startsWith('.')).length : 0);
    while (done() < 1 && Date.now() - t0 < 240_000) await new Promise((res) => setTimeout(res, 20));
    p.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    // one line: how far it got and the command that continues
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dtca: interrupted by SIGINT: [12] of 3 points finished, kept in .*; continue with: dtca sweep --resume /);
    expect(lines[0].endsWith(`continue with: dtca sweep --resume ${out}`)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'options.json'), 'utf8'))).toMatchObject({ jobs: 1, charts: false });
    // resume: the stored --jobs 1 (not one per core) and --no-charts
    const r = await new Promise<{ code: number | null; stderr: string; stdout: string }>((res) => {
      const q = spawn(process.execPath, [CLI, 'sweep', '--resume', out], { env: { ...process.env, DTCA_LOG: 'info' } });
      let e = '';
      let o = '';
      q.stderr.on('data', (d) => (e += d));
      q.stdout.on('data', (d) => (o += d));
      q.on('close', (c) => res({ code: c, stderr: e, stdout: o }));
    });
    expect(r.code, r.stderr).toBe(0);
    const start = r.stderr.split('\n').find((l) => l.includes('"msg":"resuming'))!;
    expect(JSON.parse(start).jobs).toBe(1);
    expect(r.stdout).toMatch(/3 of 3 points; .* 0 charts/);
    expect(existsSync(join(out, 'plots'))).toBe(false);
    // a flag given again wins
    expect(dtca(['sweep', '--resume', out, '--jobs', '2', '--no-charts']).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'options.json'), 'utf8')).jobs).toBe(2);
  }, 600_000);
});

describe('results.csv cells', () => {
  it('a carriage return in a text cell is quoted like a newline (a model named "a\\rb.mp" split its row)', async () => {
    const { toCsv } = await import('../sim/sweep/collect.js');
    const pf = { plan: { axes: [] } } as unknown as PlanFile;
    const row = { point: 1, id: 'ab', axes: {}, replicate: 0, seed: 1, workload: 'model a\rb.mp 1x2' } as unknown as Row;
    const lines = toCsv(pf, [row]).split('\n');
    expect(lines[1]).toMatch(/^1,ab,0,1,"model a\rb\.mp 1x2",/);
  });

  it("dtca sweep: an axis value a spreadsheet would run as a formula reaches results.csv as text (was '=1+1' as is)", () => {
    const out = join(tmp('csv-formula'), 's');
    const r = dtca([
      'sweep',
      '--axis',
      'name=@SUM(1),=1+1',
      '--workload',
      'bm',
      '--sweeps',
      '2',
      '--set',
      'fabric.L=12',
      '--no-charts',
      '--jobs',
      '1',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').split('\n');
    expect(lines[1]).toMatch(/^1,[0-9a-f]+,"'@SUM\(1\)",0,1,bm /);
    expect(lines[2]).toMatch(/^2,[0-9a-f]+,"'=1\+1",0,1,bm /);
  }, 60_000);
});
