// dtca sweep: axes and plans validated up front, ideal twins with every non-ideality off,
// results independent of --jobs, resume after a kill, shards, collect, charts, bad input.
import { testConfig } from './helpers/chip.js';
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { dtca, CLI } from './helpers/cli.js';
import { stoppableSweepArgs } from './helpers/sweep-args.js';
import { makePlan, expandPlan, parseValues, parseAxis, parseClockList, TWIN_CLOCK_HZ, MAX_SWEEP_POINTS } from '../sim/sweep/plan.js';
import { parseShard, shardFromEnv, shardPoints } from '../sim/sweep/runner.js';
import { chartSpecs, unitScale, axisValueText } from '../sim/sweep/report.js';
import { UserError } from '../fabric/errors.js';
import { configPaths } from '../sim/config.js';
import { unitLabelOfKey, displayUnitOfPath } from '../sim/units.js';
import type { PlanFile, Row } from '../sim/sweep/store.js';

/** the CLI with info logs on stderr (the shared helper keeps them at warn) */
function dtcaInfo(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'info' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));
const read = (f: string) => readFileSync(f, 'utf8');
const rowsOf = (dir: string) =>
  read(join(dir, 'results.jsonl'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

// a small DTM sweep: 2 grids x 2 clocks, 2 images x 3 stages x 30 sweeps per point
const SMALL = ['sweep', '--grid', '12,14', '--clock', '1e7,4e7', '--images', '2', '--stages', '3', '--sweeps', '30'];

describe('sweep plans', () => {
  it('values: JSON where they parse, commas inside brackets belong to the value, ; also separates', () => {
    expect(parseValues('G8,G12,G16', 'x')).toEqual(['G8', 'G12', 'G16']);
    expect(parseValues('[[0,1]],[[0,1],[4,1]]', 'x')).toEqual([
      [[0, 1]],
      [
        [0, 1],
        [4, 1],
      ],
    ]);
    expect(parseValues('[[0,1]];[[0,1],[4,1]]', 'x')).toEqual([
      [[0, 1]],
      [
        [0, 1],
        [4, 1],
      ],
    ]);
    expect(parseValues('5e6, 1e7', 'x')).toEqual([5e6, 1e7]);
    expect(parseValues('exact,8', 'x')).toEqual(['exact', 8]);
    expect(parseClockList('2.5M,10MHz,4e7')).toEqual([2.5e6, 1e7, 4e7]);
    expect(() => parseValues('[[0,1]', 'x')).toThrow(UserError);
    expect(() => parseValues('1,,2', 'x')).toThrow(/empty value/);
    expect(() => parseAxis('clock.clock_hz')).toThrow(/PATH=v1,v2/);
  });

  it('cartesian product by default, --zip pairs, replicates are seeds, every point has an id and a twin', () => {
    const base = { sets: [], workload: { kind: 'bm' as const, sweeps: 10 } };
    const cart = expandPlan(makePlan({ ...base, axes: [parseAxis('fabric.L=12,14,16'), parseAxis('clock.clock_hz=1e7,2e7')], replicates: 2, seed: 5 }));
    expect(cart.points.length).toBe(12);
    expect(cart.points.map((p) => p.seed).slice(0, 4)).toEqual([5, 6, 5, 6]);
    expect(cart.points[2].axes).toEqual({ 'fabric.L': 12, 'clock.clock_hz': 2e7 });
    expect(new Set(cart.points.map((p) => p.id)).size).toBe(12);
    const zip = expandPlan(makePlan({ ...base, axes: [parseAxis('fabric.L=12,14'), parseAxis('clock.clock_hz=1e7,2e7')], zip: true }));
    expect(zip.points.map((p) => p.axes)).toEqual([
      { 'fabric.L': 12, 'clock.clock_hz': 1e7 },
      { 'fabric.L': 14, 'clock.clock_hz': 2e7 },
    ]);
    expect(() => expandPlan(makePlan({ ...base, axes: [parseAxis('fabric.L=12,14'), parseAxis('clock.clock_hz=1e7')], zip: true }))).toThrow(
      /same number of values/,
    );
    // more than MAX_SWEEP_POINTS points: refused with the count, at once (not after expanding them)
    expect(MAX_SWEEP_POINTS).toBe(100_000);
    const t0 = Date.now();
    expect(() => expandPlan(makePlan({ ...base, axes: [parseAxis('seed=1')], replicates: 100_000_000 }))).toThrow(
      /^the sweep has 100000000 points \(seed: 1 x replicates: 100000000\): at most 100000 points per sweep/,
    );
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1).join(',');
    expect(() => expandPlan(makePlan({ ...base, axes: [parseAxis(`seed=${thousand}`), parseAxis(`clock.clock_hz=${thousand}`)] }))).toThrow(
      /the sweep has 1000000 points \(seed: 1000 x clock\.clock_hz: 1000\)/,
    );
    expect(() =>
      expandPlan(makePlan({ ...base, axes: [parseAxis(`seed=${thousand}`), parseAxis(`fabric.L=${thousand}`)], zip: true, replicates: 101 })),
    ).toThrow(/the sweep has 101000 points \(zipped axes: 1000 x replicates: 101\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
    // rule lists and presets as values
    const rules = expandPlan(makePlan({ ...base, axes: [parseAxis('fabric.rules=G8;[[0,1],[4,1],[9,10]]')] }));
    expect(rules.points.map((p) => p.config.fabric.rules)).toEqual([
      'G8',
      [
        [0, 1],
        [4, 1],
        [9, 10],
      ],
    ]);
  });

  it('the ideal twin is the point with every non-ideality off, the swept one too; clocks share one twin', () => {
    const ex = expandPlan(
      makePlan({ axes: [parseAxis('rng.tau_rng_s=0,1e-7,5e-7'), parseAxis('clock.clock_hz=1e7,4e7')], workload: { kind: 'bm', sweeps: 10 } }),
    );
    for (const p of ex.points) {
      const t = p.twin.config;
      expect(t.rng.tau_rng_s).toBe(0);
      expect(t.rng.v_off_sigma_v).toBe(0);
      expect(t.rng.v_s_sigma_rel).toBe(0);
      expect(t.cell.node_capacitance_f).toBe(0);
      expect(t.cell.weight_bits).toBe('exact');
      expect(t.fabric.tile.link_latency_cycles).toBe(0);
      expect(t.clock.clock_hz).toBe(TWIN_CLOCK_HZ);
      expect(t.seed).toBe(p.seed);
    }
    expect(new Set(ex.points.map((p) => p.twin.key)).size).toBe(1);
    expect(new Set(ex.points.map((p) => p.id)).size).toBe(6);
  });

  it('one bad value stops the plan naming the point and the value', () => {
    const plan =
      (axes: string[], extra: object = {}) =>
      () =>
        expandPlan(makePlan({ axes: axes.map((a) => parseAxis(a)), workload: { kind: 'bm' }, ...extra }));
    expect(plan(['fabric.L=12,16,big'])).toThrow(/point 3 of 3 \(fabric\.L=big\): .*fabric\.L/);
    expect(plan(['clock.speed=1,2'])).toThrow(/--axis clock\.speed: no such config key \(clock has: clock_hz, phase_cycles, analog_substeps\)/);
    expect(plan(['fabric=1'])).toThrow(/is a config section/);
    expect(plan(['fabric.rules=G8,[[0,2]]'])).toThrow(/point 2 of 2 \(fabric\.rules=\[\[0,2\]\]\): .*a\+b is even/);
    expect(plan(['fabric.L=12,6'])).toThrow(/point 2 of 2 \(fabric\.L=6\): .*too small/);
    expect(plan(['clock.clock_hz=1e7,-1'])).toThrow(/point 2 of 2 \(clock\.clock_hz=-1\)/);
    expect(plan(['workload.sweeps=10,0'])).toThrow(/point 2 of 2 \(workload\.sweeps=0\): .*workload\.sweeps = 0/);
    expect(plan(['workload.nope=1'])).toThrow(/not a workload field/);
    expect(() => makePlan({ workload: { kind: 'bm', images: 3 } })).toThrow(/^--images \(workload\.images\): not used by the bm workload/);
    expect(() => makePlan({ workload: { kind: 'dtm', chains: 3 } })).toThrow(/^--chains \(workload\.chains\): not used by the dtm workload/);
    expect(plan(['workload.images=1,2'])).toThrow(/point 1 of 2 \(workload\.images=1\): the workload: workload\.images is not used by the bm workload/);
    // a workload flag the workload does not use is named by its flag and its plan-file key (was "workload dtm: chains is not used by this workload")
    expect(() => makePlan({ axes: [parseAxis('clock.clock_hz=1e7')], workload: { chains: 2 } })).toThrow(
      /^--chains \(workload\.chains\): not used by the dtm workload \(DTM generation runs images x stages x sweeps; --workload bm takes --chains and --warmup\)$/,
    );
    expect(() => makePlan({ axes: [parseAxis('clock.clock_hz=1e7')], workload: { kind: 'bm', T: 3 } })).toThrow(
      /^--stages \(workload\.T\): not used by the bm workload/,
    );
    expect(() => expandPlan(makePlan({ axes: [parseAxis('fabric.L=12,30')], workload: { kind: 'dtm', visible: 'fmnist' } }))).toThrow(
      /point 1 of 2 \(fabric\.L=12\): workload\.visible = "fmnist" needs 884 cells/,
    );
  });

  it('shards: k/N with 1 <= k <= N, from Slurm array variables, round robin over points', () => {
    expect(parseShard('2/3')).toEqual({ k: 2, n: 3 });
    expect(() => parseShard('4/3')).toThrow(/1 <= k <= N/);
    expect(() => parseShard('0/3')).toThrow(/1 <= k <= N/);
    expect(() => parseShard('1/0')).toThrow(UserError);
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' })).toEqual({ k: 1, n: 3 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' })).toEqual({ k: 3, n: 3 });
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/contiguous/);
    expect(shardFromEnv({})).toBeNull();
    const ex = expandPlan(makePlan({ axes: [parseAxis('fabric.L=12,14,16,18,20,22,24')], workload: { kind: 'bm' } }));
    const parts = [1, 2, 3].map((k) => shardPoints(ex.points, { k, n: 3 }).map((p) => p.index));
    expect(parts).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
  });

  it('a model file is refused at the points it does not fit, naming them', () => {
    const d = tmp('sweep-model');
    const m = join(d, 'm.json');
    expect(
      dtca(['model', 'new', '--stages', '2', '--L', '12', '--rules', 'G12', '--visible', '10', '--weights', 'random:0.2', '--seed', '1', '--out', m]).code,
    ).toBe(0);
    expect(() =>
      expandPlan(makePlan({ axes: [parseAxis('fabric.L=12,14,16'), parseAxis('clock.clock_hz=1e7,2e7')], workload: { kind: 'model', model: m } })),
    ).toThrow(/does not fit points 3 \(fabric\.L=14, clock\.clock_hz=10000000\), 4 .*, 5 .*, 6 /);
    // the points' grids named; where only the rules or boundary differ, the --set that gives the model's
    // (was: "its grid (L=12, rules [[0,1],[4,1],[9,10]], open) does not fit point 1 (fabric.L=12)")
    expect(() => expandPlan(makePlan({ axes: [parseAxis('fabric.L=14')], workload: { kind: 'model', model: m } }))).toThrow(
      /its grid \(12x12 G12 open\) does not fit point 1 \(fabric\.L=14\), whose grid is 14x14 G12 open; sweep only grids the model fits/,
    );
    expect(() => expandPlan(makePlan({ axes: [parseAxis('fabric.L=12')], sets: ['fabric.rules=G8'], workload: { kind: 'model', model: m } }))).toThrow(
      /its grid \(12x12 G12 open\) does not fit point 1 \(fabric\.L=12\), whose grid is 12x12 G8 open; give the model's with --set fabric\.rules=G12$/,
    );
    // no axis sweeps the side: the --set of the model's side (was "sweep only grids the model fits" on the default 70x70 chip)
    expect(() => expandPlan(makePlan({ axes: [parseAxis('clock.clock_hz=1e7,2e7')], workload: { kind: 'model', model: m } }))).toThrow(
      /its grid \(12x12 G12 open\) does not fit points 1 \(clock\.clock_hz=10000000\), 2 \(clock\.clock_hz=20000000\), whose grid is 70x70 G12 open; give the model's with --set fabric\.L=12$/,
    );
    const ok = expandPlan(makePlan({ axes: [parseAxis('clock.clock_hz=1e7,2e7')], sets: ['fabric.L=12'], workload: { kind: 'model', model: m } }));
    expect(ok.points[0].workload.images).toBe(4);
    expect(ok.points[0].workload_label).toMatch(/^model m\.json 4x250/);
  });
});

describe('the unit a sweep shows a config path in', () => {
  it('is the unit the path is read in (sim/units.ts), for every config path and every suffix it knows (report.ts kept a second table)', () => {
    for (const p of configPaths()) {
      const read = unitLabelOfKey(p.split('.').pop()!);
      expect(displayUnitOfPath(p), p).toBe((read ?? '').replace(/\/(bit|cell)$/, ''));
    }
    // suffixes units.ts reads that the report's own table did not know (it showed them unitless, or in m)
    expect(displayUnitOfPath('power.delay_s_per_bit')).toBe('s');
    expect(displayUnitOfPath('power.drive_v_per_cell')).toBe('V');
    expect(displayUnitOfPath('power.unit_cost_per_m')).toBe(''); // a compound unit it cannot name: a plain number
  });
});

describe('charts', () => {
  it('numeric axes with SI units, log scale over a decade, ideal twin and floor dashed, a line per second-axis value', () => {
    expect(displayUnitOfPath('clock.clock_hz')).toBe('Hz');
    expect(displayUnitOfPath('rng.tau_rng_s')).toBe('s');
    expect(displayUnitOfPath('cell.g_sigma_s')).toBe('S');
    expect(displayUnitOfPath('fabric.L')).toBe('');
    // area axes had no unit (their values read as plain numbers of m²); a prefix applies to the metre
    expect(displayUnitOfPath('area.rng_m2')).toBe('m²');
    expect(displayUnitOfPath('area.clock_m2_per_cell')).toBe('m²');
    expect(displayUnitOfPath('area.cap_density_f_per_m2')).toBe('F/m²');
    expect(displayUnitOfPath('power.wire_cap_f_per_m')).toBe('F/m');
    expect(axisValueText('area.rng_m2', 9e-12)).toBe('9 µm²');
    expect(axisValueText('area.io_fixed_m2', 2e-6)).toBe('2 mm²');
    expect(unitScale(2e-6, 'm²')).toEqual({ scale: 1e-6, label: 'mm²' });
    expect(unitScale(8e7, 'Hz')).toEqual({ scale: 1e6, label: 'MHz' });
    expect(unitScale(5e-7, 's')).toEqual({ scale: 1e-9, label: 'ns' });
    expect(unitScale(1.5e-15, 'J')).toEqual({ scale: 1e-15, label: 'fJ' });
    const clocks = [2.5e6, 1e7, 8e7];
    const rows: Row[] = [];
    for (const L of [32, 64])
      for (const c of clocks)
        rows.push({
          point: rows.length + 1,
          axes: { 'fabric.L': L, 'clock.clock_hz': c },
          energy_per_image_j: 1e-9 * L,
          time_per_image_s: 1e-3 / c,
          sweep_energy_per_cell_sweep_j: 1e-15,
          lag1_autocorr: 0.2 + c / 1e8,
          lag1_autocorr_ideal: 0.2,
          moment_rmse: 0.05,
          moment_rmse_floor: 0.04,
          fd: null,
          area_m2: null,
        } as unknown as Row);
    const pf = {
      plan: {
        axes: [
          { path: 'fabric.L', values: [32, 64] },
          { path: 'clock.clock_hz', values: clocks },
        ],
      },
    } as unknown as PlanFile;
    const charts = chartSpecs(pf, rows);
    // results with values only: no quality or area charts while they are null
    expect(charts.map((c) => c.result)).not.toContain('fd');
    expect(charts.length).toBe(2 * 5);
    const lag = charts.find((c) => c.axis === 'clock.clock_hz' && c.result === 'lag1_autocorr')!.spec as never as {
      data: { values: { x: number; kind: string; series: string; y: number }[] };
      encoding: { x: { title: string; scale: { type: string } }; strokeDash: { scale: { domain: string[] } } };
    };
    expect(lag.encoding.x.scale.type).toBe('log');
    expect(lag.encoding.x.title).toBe('Clock (MHz)');
    expect(lag.encoding.strokeDash.scale.domain).toEqual(['measured', 'ideal twin']);
    expect(new Set(lag.data.values.map((v) => v.series))).toEqual(new Set(['32', '64']));
    expect(lag.data.values.filter((v) => v.kind === 'ideal twin').every((v) => v.y === 0.2)).toBe(true);
    expect(lag.data.values.map((v) => v.x)).toContain(2.5);
    const rm = charts.find((c) => c.axis === 'fabric.L' && c.result === 'moment_rmse')!.spec as never as {
      encoding: { x: { scale: { type: string } } };
      data: { values: { kind: string; series: string }[] };
    };
    expect(rm.encoding.x.scale.type).toBe('linear');
    expect(rm.data.values.some((v) => v.kind === 'statistical floor')).toBe(true);
    expect(new Set(rm.data.values.map((v) => v.series))).toEqual(new Set(['2.5 MHz', '10 MHz', '80 MHz']));
    const e = charts.find((c) => c.axis === 'fabric.L' && c.result === 'sweep_energy_per_cell_sweep_j')!.spec as never as {
      encoding: { y: { title: string | string[] } };
    };
    // a title longer than the plot is high takes two lines
    expect(e.encoding.y.title).toEqual(['sweep energy per cell per sweep', '(no programming) (fJ)']);
    const t = charts.find((c) => c.axis === 'fabric.L' && c.result === 'time_per_image_s')!.spec as never as { encoding: { y: { title: string } } };
    expect(t.encoding.y.title).toMatch(/^time per image \(.s\)$/);
  });
});

describe('dtca sweep end to end', () => {
  const root = tmp('sweep-e2e');
  const one = join(root, 'jobs1');
  const two = join(root, 'jobs2');
  let r1: ReturnType<typeof dtca>;
  beforeAll(() => {
    r1 = dtca([...SMALL, '--jobs', '1', '--out', one]);
  }, 600_000);

  it('writes the tables, a chart per axis and result, index.html and a directory per point', () => {
    expect(r1.code).toBe(0);
    const rows = rowsOf(one);
    expect(rows.length).toBe(4);
    expect(rows.map((r) => [r['fabric.L'], r['clock.clock_hz']])).toEqual([
      [12, 1e7],
      [12, 4e7],
      [14, 1e7],
      [14, 4e7],
    ]);
    for (const r of rows) {
      expect(r.workload).toMatch(/^dtm T=3 visible=\d+ 2x30$/);
      expect(r.fd).toBeNull();
      expect(r.quality_note).toMatch(/synthetic random-weight DTM/);
      expect(r.area_m2).toBeGreaterThan(0);
      expect(r.sweep_energy_per_cell_sweep_j).toBeCloseTo(r.static_energy_per_cell_sweep_j + r.dynamic_energy_per_cell_sweep_j, 25);
      expect(r.energy_per_image_j * r.images).toBeCloseTo(r.energy_total_j, 20);
      expect(r.time_per_image_s * r.images_per_s).toBeCloseTo(1, 12);
      expect(existsSync(join(one, 'points', r.id, 'stats.json'))).toBe(true);
      expect(existsSync(join(one, 'points', r.id, 'samples.png'))).toBe(true);
    }
    // area: the grid's, whatever the clock
    expect(rows[0].area_m2).toBe(rows[1].area_m2);
    expect(rows[2].area_m2).toBeGreaterThan(rows[0].area_m2);
    // the faster clock: a quarter of the time per image, less static energy, stickier p-bits; same ideal twin
    const [a, b] = rows;
    expect(b.time_per_image_s / a.time_per_image_s).toBeCloseTo(0.25, 2);
    expect(b.static_energy_per_cell_sweep_j).toBeLessThan(a.static_energy_per_cell_sweep_j / 3);
    expect(b.lag1_autocorr).toBeGreaterThan(a.lag1_autocorr + 0.2);
    expect(b.lag1_autocorr_ideal).toBe(a.lag1_autocorr_ideal);
    const csv = read(join(one, 'results.csv')).trim().split('\n');
    expect(csv.length).toBe(5);
    expect(csv[0].startsWith('point,id,fabric.L,clock.clock_hz,replicate,seed,workload,physics,')).toBe(true);
    const charts = readdirSync(join(one, 'plots'));
    expect(charts).toContain('energy_per_image_j--clock.clock_hz.svg');
    expect(charts).toContain('lag1_autocorr--fabric.L.png');
    // 2 axes x 9 results (area and images/s/mm² measured; quality still null for a synthetic DTM, so no Pareto chart)
    expect(charts.filter((f) => f.endsWith('.svg')).length).toBe(2 * 9);
    expect(charts).toContain('area_m2--fabric.L.svg');
    expect(read(join(one, 'index.html'))).toContain('<table id="results">');
    expect(r1.stdout).toMatch(/sweep [0-9a-f]{12}: 4 of 4 points/);
  });

  it('--jobs 2 gives byte-identical tables', () => {
    const r2 = dtca([...SMALL, '--jobs', '2', '--out', two, '--no-charts']);
    expect(r2.code).toBe(0);
    expect(read(join(two, 'results.csv'))).toBe(read(join(one, 'results.csv')));
    expect(read(join(two, 'results.jsonl'))).toBe(read(join(one, 'results.jsonl')));
    // and every point's and twin's files, but for their wall times and dates (docs/sweeps.md)
    const timeless: Record<string, string[]> = { 'point.json': ['wall_s', 'finished'], 'stats.json': ['wall_s', 'updates_per_ns'], 'twin.json': ['wall_s'] };
    for (const sub of ['points', 'twins']) {
      const ids = readdirSync(join(one, sub)).sort();
      expect(readdirSync(join(two, sub)).sort()).toEqual(ids);
      for (const id of ids) {
        const files = readdirSync(join(one, sub, id)).sort();
        expect(readdirSync(join(two, sub, id)).sort()).toEqual(files);
        for (const f of files) {
          const [a, b] = [readFileSync(join(one, sub, id, f)), readFileSync(join(two, sub, id, f))];
          if (!timeless[f]) expect(Buffer.compare(b, a), `${sub}/${id}/${f}`).toBe(0);
          else {
            const strip = (x: Buffer) => Object.fromEntries(Object.entries(JSON.parse(x.toString('utf8')) as object).filter(([k]) => !timeless[f].includes(k)));
            expect(strip(b), `${sub}/${id}/${f}`).toEqual(strip(a));
          }
        }
      }
    }
  });

  it('the same command again redoes nothing; the same sweep as a plan file has the same id', () => {
    const before = readdirSync(join(one, 'points')).map((id) => statSync(join(one, 'points', id, 'point.json')).mtimeMs);
    const again = dtcaInfo([...SMALL, '--jobs', '1', '--out', one, '--no-charts']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming: 4 of 4 points already finished/);
    expect(readdirSync(join(one, 'points')).map((id) => statSync(join(one, 'points', id, 'point.json')).mtimeMs)).toEqual(before);
    const planFile = join(root, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({ axes: { 'fabric.L': [12, 14], 'clock.clock_hz': [1e7, 4e7] }, workload: { kind: 'dtm', images: 2, T: 3, sweeps: 30 } }),
    );
    const planned = dtca(['sweep', 'plan', '--plan', planFile, '--out', join(root, 'fromfile')]);
    expect(planned.code).toBe(0);
    const id = (d: string) => JSON.parse(read(join(d, 'plan.json'))).sweep_id;
    expect(id(join(root, 'fromfile'))).toBe(id(one));
  });

  it('refuses another sweep in the same directory, and collecting two different sweeps, touching nothing', () => {
    const before = read(join(one, 'results.csv'));
    const other = dtca(['sweep', '--grid', '12', '--sweeps', '5', '--images', '1', '--stages', '2', '--out', one]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/holds another sweep \(4 points, axes fabric\.L x clock\.clock_hz, id \w+; this one has 1 point, id \w+\)/);
    const d2 = join(root, 'other');
    expect(dtca(['sweep', 'plan', '--grid', '12', '--sweeps', '5', '--images', '1', '--stages', '2', '--out', d2]).code).toBe(0);
    const c = dtca(['sweep', 'collect', one, d2]);
    expect(c.code).toBe(2);
    expect(c.stderr.trim().split('\n').length).toBe(1);
    expect(c.stderr).toMatch(/holds another sweep/);
    expect(read(join(one, 'results.csv'))).toBe(before);
    expect(readdirSync(join(one, 'points')).length).toBe(4);
  });

  it('bad input: exit 2, one line, nothing started', () => {
    const cases: [string[], RegExp][] = [
      [['sweep', '--axis', 'clock.speed=1,2'], /--axis clock\.speed: no such config key/],
      [['sweep', '--grid', '12,14,x'], /point 3 of 3 \(fabric\.L=x\)/],
      [['sweep', '--axis', 'fabric.rules=G8;[[1,1]]', '--grid', '12'], /point 2 of 2 \(fabric\.rules=\[\[1,1\]\], fabric\.L=12\)/],
      [['sweep', '--grid', '4'], /point 1 of 1 \(fabric\.L=4\): .*too small/],
      [['sweep', '--sweeps', '10'], /give at least one axis/],
      [['sweep', 'run', one, '--shard', '4/3'], /--shard 4\/3: expected k\/N with 1 <= k <= N/],
      [['sweep', 'run', one, '--shard', '0/3'], /--shard 0\/3/],
      [['sweep', 'run', tmp('sweep-empty')], /not a sweep directory/],
      [['sweep', '--resume', one, '--grid', '12'], /--resume .*: continues the plan stored there; drop --grid/],
      // a planned sweep runs as planned: its subcommands do not take the design's options (they were ignored)
      [['sweep', 'run', one, '--grid', '32'], /unknown argument grid/],
      [['sweep', 'run', one, '--images', '5'], /unknown argument images/],
    ];
    for (const [args, re] of cases) {
      const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
      const r = dtca(args[1] === 'run' || args[1] === '--resume' ? args : [...args, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr.trim().split('\n').length, args.join(' ')).toBe(1);
      expect(existsSync(out), args.join(' ')).toBe(false);
    }
  });
});

describe('ideal twins', () => {
  it("a tau_rng sweep: the ideal column stays at the model's own autocorrelation while the chip sticks", () => {
    const out = join(tmp('sweep-tau'), 's');
    // every other non-ideality off, so the tau = 0 point is itself an ideal chip: its lag-1 and the
    // twin's (another seed) differ by sampling noise only
    const sets = ['rng.v_off_sigma_v=0', 'rng.v_s_sigma_rel=0', 'cell.node_capacitance_f=0', 'cell.weight_bits="exact"'].flatMap((s) => ['--set', s]);
    const r = dtca([
      'sweep',
      '--workload',
      'bm',
      '--axis',
      'rng.tau_rng_s=0,1e-7,5e-7',
      '--grid',
      '12',
      '--chains',
      '2',
      '--warmup',
      '20',
      '--sweeps',
      '300',
      ...sets,
      '--out',
      out,
      '--json',
      '--no-charts',
    ]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).rows as Row[];
    expect(rows.map((x) => x.physics)).toEqual(['ideal', 'cycle', 'cycle']);
    const ideal = rows[0].lag1_autocorr_ideal;
    for (const x of rows) expect(x.lag1_autocorr_ideal).toBe(ideal);
    // standard error of a lag-1 mean over M = cells x chains x (sweeps - 1) products of +-1 spins,
    // inflated by (1 + 2 sum rho) <= 3 for chains whose own lag-1 is ~0.2: sqrt(3 / M); two runs
    const M = 144 * 2 * 299;
    const tol = 4.75 * Math.SQRT2 * Math.sqrt(3 / M);
    expect(Math.abs(rows[0].lag1_autocorr - ideal)).toBeLessThan(tol);
    expect(ideal).toBeGreaterThan(0.05);
    expect(ideal).toBeLessThan(0.5);
    // 500 ns RNG against 200 ns sweeps: strongly sticky, the ideal column untouched (the old sweep read 0.72 there)
    expect(rows[2].lag1_autocorr - ideal).toBeGreaterThan(0.3);
    expect(rows[1].lag1_autocorr).toBeGreaterThan(rows[0].lag1_autocorr + 0.05);
    expect(rows[1].lag1_autocorr).toBeLessThan(rows[2].lag1_autocorr);
    expect(rows[2].moment_rmse).toBeGreaterThan(rows[2].moment_rmse_floor);
  });
});

describe('resume after a kill', () => {
  it('killed half-way, the same command finishes the rest and redoes nothing finished', async () => {
    const out = join(tmp('sweep-kill'), 's');
    const args = [CLI, ...stoppableSweepArgs(out)];
    const p = spawn(process.execPath, args, { env: { ...process.env, DTCA_LOG: 'warn' }, stdio: 'ignore' });
    const exited = new Promise((res) => p.on('close', res));
    const t0 = Date.now();
    const done = () => (existsSync(join(out, 'points')) ? readdirSync(join(out, 'points')).filter((e) => !e.startsWith('.')).length : 0);
    while (done() < 1 && Date.now() - t0 < 60_000) await new Promise((res) => setTimeout(res, 10));
    p.kill('SIGKILL');
    await exited;
    const finished = readdirSync(join(out, 'points')).filter((e) => !e.startsWith('.'));
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBeLessThan(3);
    const stamps = finished.map((id) => statSync(join(out, 'points', id, 'point.json')).mtimeMs);
    const twinStamps = readdirSync(join(out, 'twins'))
      .filter((e) => !e.startsWith('.'))
      .map((k) => statSync(join(out, 'twins', k, 'twin.json')).mtimeMs);
    const r = await new Promise<{ code: number | null; stderr: string }>((res) => {
      const q = spawn(process.execPath, args, { env: { ...process.env, DTCA_LOG: 'info' } });
      let stderr = '';
      q.stderr.on('data', (d) => (stderr += d));
      q.on('close', (code) => res({ code, stderr }));
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`resuming: ${finished.length} of 3 points already finished, skipped`);
    expect(finished.map((id) => statSync(join(out, 'points', id, 'point.json')).mtimeMs)).toEqual(stamps);
    expect(
      readdirSync(join(out, 'twins'))
        .filter((e) => !e.startsWith('.'))
        .map((k) => statSync(join(out, 'twins', k, 'twin.json')).mtimeMs),
    ).toEqual(twinStamps);
    expect(readdirSync(join(out, 'points')).filter((e) => e.startsWith('.partial-'))).toEqual([]);
    expect(rowsOf(out).length).toBe(3);
    // and the result is the uninterrupted run's
    const clean = join(tmp('sweep-clean'), 's');
    expect(dtca([...args.slice(1, -1), clean]).code).toBe(0);
    expect(read(join(out, 'results.csv'))).toBe(read(join(clean, 'results.csv')));
  });
});

describe('sweep point quality', () => {
  it('a Fashion-MNIST model is judged by its FD; a synthetic DTM is not', async () => {
    const { pointQuality } = await import('../sim/sweep/quality.js');
    const { newDtmModel } = await import('../sim/dtm.js');
    const model = newDtmModel({ T: 1, L: 43, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const k = 20;
    const outputs = Array.from({ length: k }, (_, i) => Int8Array.from({ length: 884 }, (_, p) => ((p * 7 + i * 13) % 5 === 0 ? 1 : -1)));
    const cfg = testConfig([]);
    const judged = await pointQuality({ config: cfg, workload: { kind: 'model' } as never, model, outputs });
    expect(Number.isFinite(judged.value)).toBe(true);
    expect(judged.note).toMatch(/N = 20/);
    expect(judged.metrics.quality_image).toBe('28x28');
    const synthetic = await pointQuality({ config: cfg, workload: { kind: 'dtm' } as never, model, outputs });
    expect(synthetic.value).toBeNull();
  }, 120_000);
});
