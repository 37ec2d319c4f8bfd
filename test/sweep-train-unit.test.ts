// dtca sweep --train, in-process and without training (the training and the command line:
// sweep-train.test.ts): the model cache key covers what determines a model and nothing else; a
// sweep plans one model per distinct design; budget files (main's option names, snake_case
// aliases, the rest from quick) and their errors; the Pareto front and its charts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../sim/config.js';
import { modelJobFor, trainingConfig, type TrainPlan } from '../sim/sweep/models.js';
import { BUDGETS, resolveSweepBudget } from '../sim/train/budget.js';
import { TRAIN_DEFAULTS } from '../sim/train/design.js';
import { paretoFront, paretoNear, paretoData, paretoSpecs, smallNLine, NEAR_SET } from '../sim/sweep/report.js';
import { makePlan, expandPlan, parseAxis, readPlanFile } from '../sim/sweep/plan.js';
import { UserError } from '../fabric/errors.js';
import type { PlanFile, Row } from '../sim/sweep/store.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));

describe('the model cache key', () => {
  const plan: TrainPlan = { budget: 'quick', options: BUDGETS.quick.options, chip: 'ideal', model_cache: null };
  const cfg = (sets: string[] = []) => resolveConfig('dtca-paper', { sets: ['fabric.L=48', ...sets] });
  const key = (sets: string[] = [], p: TrainPlan = plan, seed = 1, T = 8) => modelJobFor(cfg(sets), seed, p, T).key;
  const withOptions = (o: object): TrainPlan => ({ ...plan, options: { ...plan.options, ...o } });

  it('the same design gives the same key; what the ideal chip does not depend on changes nothing', () => {
    expect(key()).toBe(key());
    // clock, RNG, mismatch, tiles, energy and area parameters: no change to the model trained on the ideal chip
    for (const s of [
      'clock.clock_hz=4e7',
      'rng.tau_rng_s=5e-7',
      'rng.v_off_sigma_v=0.01',
      'fabric.tile.size=12',
      'fabric.tile.link_latency_cycles=1',
      'power.vdd_v=0.5',
      'area.rng_m2=1e-11',
      'chip_id=3',
      'cell.node_capacitance_f=1e-15',
    ]) {
      expect(key([s]), s).toBe(key());
    }
    // a preset and its rule list are the same design
    expect(key(['fabric.rules="G12"'])).toBe(key(['fabric.rules=[[0,1],[4,1],[9,10]]']));
    // the threads a budget asks for do not change the model (each stage trains alone)
    expect(key([], withOptions({ workers: 1 }))).toBe(key());
  });

  it('any change in a hash input gives a new model', () => {
    const base = key();
    const changed: [string, string][] = [
      ['grid', key(['fabric.L=50'])],
      ['rules', key(['fabric.rules="G8"'])],
      ['boundary', key(['fabric.boundary="torus"'])],
      ['weight bits', key(['cell.weight_bits=6'])],
      ['weight full scale', key(['cell.weight_full_scale=2'])],
      ['seed', key([], plan, 2)],
      ['stages T', key([], plan, 1, 4)],
      ['placement', key([], withOptions({ placement: 'random' }))],
      ['epochs', key([], withOptions({ epochs: 13 }))],
      ['learning rate', key([], withOptions({ lr: 0.01 }))],
      ['negative-chain start', key([], withOptions({ negStart: 'noise' }))],
      ['positive warm-up', key([], withOptions({ posWarmup: 11 }))],
      ['ACP off', key([], withOptions({ acp: false }))],
      ['data limit', key([], withOptions({ limit: 1000 }))],
      // a fixed label gain is written into the model instead of the search's choice
      ['label gain 1', key([], withOptions({ labelGain: 1 }))],
      ['label gain 3', key([], withOptions({ labelGain: 3 }))],
      ['parameter averaging', key([], withOptions({ ema: 0.9 }))],
      ['budget standard', key([], { ...plan, options: BUDGETS.standard.options })],
      ['cycle chip', key([], { ...plan, chip: 'cycle' })],
    ];
    for (const [what, k] of changed) expect(k, what).not.toBe(base);
    expect(new Set(changed.map((c) => c[1])).size).toBe(changed.length);
    // a default filled in is the same option given: dtca train's default lr floor written out
    const { lrFloor: _f, ...noFloor } = BUDGETS.quick.options;
    expect(key([], { ...plan, options: { ...noFloor, lrFloor: TRAIN_DEFAULTS.lrFloor } })).toBe(key([], { ...plan, options: noFloor }));
    // and the label gain's default, auto (the guidance search), written out
    expect(key([], withOptions({ labelGain: 'auto' }))).toBe(base);
    // trained on the cycle-accurate chip, the clock is part of the design, the energy table is not
    const cyc: TrainPlan = { ...plan, chip: 'cycle' };
    expect(key(['clock.clock_hz=4e7'], cyc)).not.toBe(key([], cyc));
    expect(key(['power.vdd_v=0.5'], cyc)).toBe(key([], cyc));
  });

  it('the training chip is a function of the key: ideal, the design kept, the rest the default config', () => {
    const a = trainingConfig(cfg(['clock.clock_hz=4e7', 'rng.tau_rng_s=5e-7', 'cell.weight_bits=6']), 'ideal', 5);
    const b = trainingConfig(cfg(['cell.weight_bits=6']), 'ideal', 5);
    expect(a).toEqual(b);
    expect(a.rng.tau_rng_s).toBe(0);
    expect(a.cell.weight_bits).toBe(6);
    expect(a.fabric.L).toBe(48);
    expect(a.seed).toBe(5);
    expect(a.clock.clock_hz).toBe(1e7);
    expect(Array.isArray(a.fabric.rules)).toBe(true);
  });

  it('a sweep plans one model per distinct design: a clock axis shares, a grid axis does not; replicates share', () => {
    const ex = expandPlan(makePlan({ axes: [parseAxis('fabric.L=16,20'), parseAxis('clock.clock_hz=1e7,4e7')], replicates: 2, train: { budget: 'quick' } }));
    expect(ex.points.length).toBe(8);
    const keys = ex.points.map((p) => p.model!.key);
    expect(new Set(keys).size).toBe(2);
    expect(keys[0]).toBe(keys[3]); // L=16, both clocks and replicates
    expect(keys[4]).not.toBe(keys[0]);
    expect(ex.points[0].workload.kind).toBe('trained');
    expect(ex.points[0].workload.T).toBe(8); // dtca train's default T
    // any grid: a small one gets a pooled image (sim/layout.ts)
    expect(ex.points[0].model!.spec.image).toMatchObject({ width: 7, height: 7, downscale: 4 });
    expect(ex.points[0].model!.label).toMatch(/^L=16 G12 open, 8-bit weights, 7x7 .* image, spatial, T=8, ideal chip, quick$/);
    // the model's key is part of the point's id: another budget, other points
    const ex2 = expandPlan(
      makePlan({ axes: [parseAxis('fabric.L=16,20'), parseAxis('clock.clock_hz=1e7,4e7')], replicates: 2, train: { budget: 'standard' } }),
    );
    expect(ex2.points[0].id).not.toBe(ex.points[0].id);
    // --stages sets T
    const ex3 = expandPlan(makePlan({ axes: [parseAxis('fabric.L=16')], workload: { T: 2 }, train: { budget: 'quick' } }));
    expect(ex3.points[0].model!.spec.T).toBe(2);
  });

  it('what cannot be trained is refused when the sweep is planned', () => {
    expect(() => expandPlan(makePlan({ axes: [parseAxis('fabric.L=12,20')], train: { budget: 'quick' } }))).toThrow(
      /point 1 of 2 \(fabric\.L=12\): --train: fabric\.L = 12: too small for a Fashion-MNIST DTM/,
    );
    expect(() => makePlan({ train: { budget: 'fast' } })).toThrow(/--train fast: quick, standard or a budget file/);
    expect(() => makePlan({ workload: { visible: 'fmnist' }, train: { budget: 'quick' } })).toThrow(/--train: .*drop --visible/);
    expect(() => makePlan({ workload: { kind: 'bm' }, train: { budget: 'quick' } })).toThrow(
      /--train: trains a DTM per design; it does not go with --workload bm/,
    );
  });
});

describe('budget files', () => {
  const d = tmp('budget');
  const file = (name: string, body: unknown) => {
    const f = join(d, name);
    writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return f;
  };

  it("quick and standard are dtca train --budget's presets", () => {
    expect(resolveSweepBudget('quick').options).toEqual(BUDGETS.quick.options);
    expect(resolveSweepBudget('standard').options).toEqual(BUDGETS.standard.options);
  });

  it("any subset of the options by dtca train's names (or snake_case), the rest from quick", () => {
    const f = file('tiny.json', { epochs: 2, steps: 3, posWarmup: 4, acp_lag: 5, lr_floor: 0.2, acp: false, limit: 300, negStart: 'noise' });
    const b = resolveSweepBudget(f);
    expect(b.name).toBe(f);
    expect(b.options).toEqual({
      ...BUDGETS.quick.options,
      epochs: 2,
      steps: 3,
      posWarmup: 4,
      acpLag: 5,
      lrFloor: 0.2,
      acp: false,
      limit: 300,
      negStart: 'noise',
    });
    expect(resolveSweepBudget(file('empty.json', {})).options).toEqual(BUDGETS.quick.options);
  });

  it('an unknown key, a bad value, a key given twice or a file that is not a JSON object: one line naming the file and the key', () => {
    const cases: [unknown, RegExp][] = [
      [{ epoch: 3 }, /--train .*b\.json: "epoch": unknown option \(did you mean "epochs"\?\)/],
      [{ T: 4 }, /"T": unknown option \(the model's stages T come from the sweep's --stages\)/],
      [{ frobnicate: 1 }, /"frobnicate": unknown option \(known: placement, epochs, /],
      [{ steps: 0 }, /b\.json: steps = 0: must be an integer >= 1/],
      [{ limit: 70000 }, /b\.json: limit = 70000: the Fashion-MNIST train split has 60000 images/],
      [{ epochs: 2.5 }, /epochs = 2\.5: must be an integer >= 1/],
      [{ lr: -1 }, /lr = -1: must be a number in \[1e-9, 10\]/],
      [{ lrFloor: 2 }, /lrFloor = 2: must be a number in \[0, 1\]/],
      [{ acp: 'yes' }, /acp = "yes": true or false/],
      [{ placement: 'diagonal' }, /placement = "diagonal": one of random, spatial/],
      [{ negStart: 'zero' }, /negStart = "zero": one of noise, data/],
      [{ acpLag: 4, acp_lag: 5 }, /acpLag given twice \(as acpLag and acp_lag\)/],
      [[1, 2], /b\.json: a budget file is a JSON object of training options/],
      ['{"epochs": 3,', /b\.json: not valid JSON \(/],
    ];
    for (const [body, re] of cases) {
      const f = file('b.json', body);
      let err: unknown;
      try {
        resolveSweepBudget(f);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(body)).toBeInstanceOf(UserError);
      const msg = (err as Error).message;
      expect(msg, JSON.stringify(body)).toMatch(re);
      expect(msg.includes('\n')).toBe(false);
      expect(msg.startsWith(`--train ${f}`)).toBe(true);
    }
    expect(() => resolveSweepBudget(join(d, 'missing.json'))).toThrow(/--train .*missing\.json: cannot read budget file/);
  });

  it("a plan file's budget or training chip is named by the plan file, not by --train or --train-chip", () => {
    file('bad.json', { epoch: 3 });
    const plan = (train: unknown) => readPlanFile(file('plan.json', { axes: { 'fabric.L': [20] }, train }));
    expect(() => makePlan(plan({ budget: 'bad.json' }))).toThrow(
      /^--plan .*plan\.json: train\.budget .*bad\.json: "epoch": unknown option \(did you mean "epochs"\?\)$/,
    );
    expect(() => makePlan(plan('bad.json'))).toThrow(/^--plan .*plan\.json: train .*bad\.json: "epoch": unknown option/);
    expect(() => makePlan(plan({ budget: 'nowhere.json' }))).toThrow(/^--plan .*plan\.json: train\.budget .*nowhere\.json: cannot read budget file/);
    expect(() => plan({ budget: 'quick', chip: 'cyc' })).toThrow(/^--plan .*plan\.json: train\.chip "cyc": ideal or cycle$/);
  });
});

describe('Pareto front', () => {
  it('the non-dominated points of hand-made designs, lower or higher y better', () => {
    const pts = [
      { x: 60, y: 10 }, // 0: front (lowest x)
      { x: 80, y: 5 }, // 1: front
      { x: 90, y: 6 }, // 2: dominated by 1
      { x: 100, y: 2 }, // 3: front (lowest y)
      { x: 80, y: 5 }, // 4: equal to 1: neither dominates the other
      { x: 120, y: 2 }, // 5: dominated by 3 (same y, worse x)
      { x: NaN, y: 1 }, // 6: not judged
    ];
    expect(paretoFront(pts, 'low')).toEqual([0, 1, 3, 4]);
    expect(paretoFront(pts, 'high')).toEqual([0]);
    expect(paretoFront([{ x: 1, y: 1 }], 'low')).toEqual([0]);
    expect(paretoFront([], 'low')).toEqual([]);
  });

  it('dominated points within the FD noise of every dominator are near the front; without standard errors none are', () => {
    const pts = [
      { x: 60, y: 10, se: 2 }, // 0: front
      { x: 64, y: 10, se: 2 }, // 1: dominated by 0 by 4 < 2 sqrt(8) = 5.66: near
      { x: 70, y: 11, se: 2 }, // 2: dominated by 0 by 10 and 1 by 6 > 5.66: not near
      { x: 80, y: 5, se: 1 }, // 3: front
      { x: 81, y: 6, se: 1 }, // 4: dominated by 3 by 1 < 2.83: near
      { x: 82, y: 7, se: 1 }, // 5: dominated by 3 (by 2, near) and 4 (by 1, near): near
      { x: 90, y: 5, se: 4 }, // 6: dominated by 3 by 10 > 2 sqrt(17) = 8.25: not near
      { x: 84, y: 6, se: null }, // 7: dominated, no standard error: never near
      { x: 62, y: 10, se: 2 }, // 8: dominated by 0 by 2: near
    ];
    expect(paretoNear(pts, 'low')).toEqual([1, 4, 5, 8]);
    // a dominator without a standard error makes nothing near
    expect(
      paretoNear(
        [
          { x: 60, y: 10, se: null },
          { x: 61, y: 10, se: 5 },
        ],
        'low',
      ),
    ).toEqual([]);
    expect(
      paretoNear(
        [
          { x: 60, y: 10, se: 5 },
          { x: 61, y: 10, se: 5 },
        ],
        'low',
      ),
    ).toEqual([1]);
  });

  it("the charts colour the designs near the front and the tooltip gives the FD's standard error", () => {
    const pf = { plan: { axes: [{ path: 'fabric.L', values: [32, 48, 70] }], replicates: 1 } } as unknown as PlanFile;
    const row = (point: number, L: number, fd: number, fd_se: number | undefined, e: number) =>
      ({
        point,
        replicate: 0,
        axes: { 'fabric.L': L },
        fd,
        fd_se,
        fd_floor: 40,
        fd_factorised: 130,
        quality_n: 300,
        energy_per_image_j: e,
        images_per_s_per_mm2: 1,
      }) as unknown as Row;
    const rows = [row(1, 32, 60, 2, 5e-9), row(2, 48, 63, 2, 6e-9), row(3, 70, 80, 2, 7e-9)];
    const e = paretoData(pf, rows, 'energy_per_image_j');
    expect(e.map((p) => [p.label, p.front, p.near, p.se])).toEqual([
      ['L=32', true, false, 2],
      ['L=48', false, true, 2],
      ['L=70', false, false, 2],
    ]);
    const spec = JSON.stringify(paretoSpecs(pf, rows)[0].spec);
    expect(spec).toContain(NEAR_SET);
    // the front's design and the one near it are named, the one clearly dominated is not
    const layers = (paretoSpecs(pf, rows)[0].spec as unknown as { layer: { data: { values: { label?: string }[] }; mark: { type: string } }[] }).layer;
    const named = layers.filter((l) => l.mark.type === 'text' && l.data.values.some((v) => v.label)).flatMap((l) => l.data.values.map((v) => v.label));
    expect(named.sort()).toEqual(['L=32', 'L=48']);
    // N = 300: FD ranks; no small-N line
    expect(smallNLine(rows)).toBeNull();
    expect(spec).not.toMatch(/too few for FD to rank/);
    expect(spec).toContain('FD standard error');
    expect(spec).toMatch(/orange: dominated only by designs less than 2 standard errors of FD better/);
    // replicates: the mean's standard error is sqrt(sum se^2) / n
    const pf2 = { plan: { axes: [{ path: 'fabric.L', values: [32] }], replicates: 2 } } as unknown as PlanFile;
    const reps = [row(1, 32, 60, 3, 5e-9), { ...row(2, 32, 62, 4, 5e-9), replicate: 1 } as Row];
    expect(paretoData(pf2, reps, 'energy_per_image_j')[0].se).toBeCloseTo(2.5, 12);
    // rows from before the column: no standard error, no near set, no such tooltip or line
    const old = rows.map((r) => ({ ...r, fd_se: undefined }) as unknown as Row);
    expect(paretoData(pf, old, 'energy_per_image_j').map((p) => [p.se, p.near])).toEqual([
      [null, false],
      [null, false],
      [null, false],
    ]);
    const oldSpec = JSON.stringify(paretoSpecs(pf, old)[0].spec);
    expect(oldSpec).not.toContain(NEAR_SET);
    expect(oldSpec).not.toContain('FD standard error');
  });

  it('the charts mark and label the non-dominated designs', () => {
    const pf = {
      plan: {
        axes: [
          { path: 'fabric.L', values: [48, 70] },
          { path: 'clock.clock_hz', values: [1e7, 4e7] },
        ],
        replicates: 1,
      },
    } as unknown as PlanFile;
    const row = (point: number, L: number, c: number, fd: number, e: number, ips: number) =>
      ({
        point,
        replicate: 0,
        axes: { 'fabric.L': L, 'clock.clock_hz': c },
        fd,
        fd_floor: 40,
        fd_factorised: 130,
        quality_n: 100,
        energy_per_image_j: e,
        images_per_s_per_mm2: ips,
      }) as unknown as Row;
    const rows = [row(1, 48, 1e7, 90, 5e-9, 100), row(2, 48, 4e7, 120, 4e-9, 400), row(3, 70, 1e7, 70, 11e-9, 50), row(4, 70, 4e7, 95, 12e-9, 90)];
    const e = paretoData(pf, rows, 'energy_per_image_j');
    expect(e.filter((p) => p.front).map((p) => p.label)).toEqual(['L=48, 10 MHz', 'L=48, 40 MHz', 'L=70, 10 MHz']);
    const t = paretoData(pf, rows, 'images_per_s_per_mm2');
    expect(t.filter((p) => p.front).map((p) => p.point)).toEqual([1, 2, 3]);
    const specs = paretoSpecs(pf, rows);
    expect(specs.map((s) => s.base)).toEqual(['pareto--energy_per_image_j--fd', 'pareto--images_per_s_per_mm2--fd']);
    expect(specs[0].title).toMatch(/N = 100/);
    // 100 images per point: below the N at which FD ranks anything, the chart says its front may be chance
    expect(smallNLine(rows)).toMatch(/^N = 100 images per point is too few for FD to rank designs \(at least 200/);
    expect(JSON.stringify(specs[0].spec)).toContain(smallNLine(rows)!);
    // points not judged (fd null) do not count
    expect(smallNLine(rows.map((r) => ({ ...r, fd: null }) as unknown as Row))).toBeNull();
    const layers = (specs[0].spec as unknown as { layer: { data: { values: { label?: string; ref?: string }[] }; mark: { type: string } }[] }).layer;
    const labels = layers.filter((l) => l.mark.type === 'text' && l.data.values.some((v) => v.label)).flatMap((l) => l.data.values.map((v) => v.label));
    expect(labels.sort()).toEqual(['L=48, 10 MHz', 'L=48, 40 MHz', 'L=70, 10 MHz']);
    // labels on the front's outside: the rightmost dot (FD 120) labelled to its left (to its right it
    // ran off the plot into the legend), the one in the left third of the plot (FD 70) to its right;
    // below the dots where lower energy is better, above them where higher throughput is
    type Mark = { type: string; align?: string; dy?: number };
    const markOf = (spec: unknown, label: string) =>
      (spec as { layer: { data: { values: { label?: string }[] }; mark: Mark }[] }).layer.find(
        (l) => l.mark.type === 'text' && l.data.values.some((v) => v.label === label),
      )!.mark;
    expect(markOf(specs[0].spec, 'L=48, 40 MHz')).toMatchObject({ align: 'right' });
    expect(markOf(specs[0].spec, 'L=70, 10 MHz')).toMatchObject({ align: 'left' });
    expect(markOf(specs[0].spec, 'L=48, 10 MHz').dy).toBeGreaterThan(0);
    expect(markOf(specs[1].spec, 'L=48, 10 MHz').dy).toBeLessThan(0);
    expect(layers.some((l) => l.mark.type === 'rule' && l.data.values.some((v) => v.ref?.startsWith('factorised')))).toBe(true);
    // one replicate per design: no spread to draw, no bars and no word of them
    expect(layers.filter((l) => l.mark.type === 'errorbar')).toEqual([]);
    expect(JSON.stringify(specs[0].spec)).not.toMatch(/bars/);
  });

  it('replicates of a design are one point, at their mean: the front is over designs, not lucky seeds', () => {
    const pf = { plan: { axes: [{ path: 'fabric.L', values: [48, 70] }], replicates: 2 } } as unknown as PlanFile;
    const row = (point: number, replicate: number, L: number, fd: number, e: number) =>
      ({
        point,
        replicate,
        axes: { 'fabric.L': L },
        fd,
        fd_floor: 40,
        fd_factorised: 130,
        quality_n: 100,
        energy_per_image_j: e,
        images_per_s_per_mm2: 1,
      }) as unknown as Row;
    // L=48: FD 100 and 60 (mean 80) at 5 nJ; L=70: FD 70 and 72 (mean 71) at 6 nJ. Seed by seed,
    // L=48's lucky replicate (FD 60) dominated both of L=70's; as designs, each is on the front
    const rows = [row(1, 0, 48, 100, 5e-9), row(2, 1, 48, 60, 5e-9), row(3, 0, 70, 70, 6e-9), row(4, 1, 70, 72, 6e-9)];
    const e = paretoData(pf, rows, 'energy_per_image_j');
    expect(e.map((p) => [p.label, p.x, p.n, p.front])).toEqual([
      ['L=48', 80, 2, true],
      ['L=70', 71, 2, true],
    ]);
    expect(e.map((p) => p.points)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // each design's spread: its least and greatest replicate in FD and in energy
    const r3 = [...rows.slice(0, 3), row(4, 1, 70, 72, 7e-9)];
    expect(paretoData(pf, r3, 'energy_per_image_j').map((p) => [p.xlo, p.xhi, p.ylo, p.yhi])).toEqual([
      [60, 100, 5e-9, 5e-9],
      [70, 72, 6e-9, 7e-9],
    ]);
    // drawn as error bars in FD (x to x2) and in y (y to y2), in the chart's units (nJ), of the
    // designs of two or more replicates, the subtitle saying what they are
    type Layer = {
      data: { values: { label?: string; xlo?: number; xhi?: number; ylo?: number; yhi?: number }[] };
      mark: { type: string };
      encoding: Record<string, { field: string }>;
    };
    const withOne = [...r3, row(5, 0, 96, 90, 8e-9)];
    const pf3 = { plan: { axes: [{ path: 'fabric.L', values: [48, 70, 96] }], replicates: 2 } } as unknown as PlanFile;
    const eSpec = paretoSpecs(pf3, withOne)[0].spec as unknown as { layer: Layer[] };
    const bars = eSpec.layer.filter((l) => l.mark.type === 'errorbar');
    expect(bars.map((b) => [b.encoding.x.field, b.encoding.x2?.field, b.encoding.y.field, b.encoding.y2?.field])).toEqual([
      ['xlo', 'xhi', 'y', undefined],
      ['x', undefined, 'ylo', 'yhi'],
    ]);
    const near = (v: number[]) => v.map((x) => Number(x.toPrecision(12)));
    for (const b of bars) {
      expect(b.data.values.map((v) => v.label)).toEqual(['L=48', 'L=70']);
      expect(b.data.values.map((v) => near([v.xlo!, v.xhi!, v.ylo!, v.yhi!]))).toEqual([
        [60, 100, 5, 5],
        [70, 72, 6, 7],
      ]);
    }
    expect(JSON.stringify(eSpec)).toMatch(/bars: least to greatest replicate \(min–max\), in FD and in energy per image/);
    expect(paretoSpecs(pf3, withOne)[0].title).toMatch(/replicates averaged \(bars: least to greatest replicate \(min–max\)\)/);
    const spec = paretoSpecs(pf, rows)[0];
    expect(JSON.stringify(spec.spec)).toMatch(/each design the mean of its 2 replicates/);
    expect(JSON.stringify(spec.spec)).not.toMatch(/#1|#2|missing/);
    // points not finished: the subtitle says the front is of the finished ones
    const partial = paretoSpecs({ ...pf, points: 6 } as PlanFile, rows, 2)[0];
    expect(JSON.stringify(partial.spec)).toMatch(/4 of 6 points finished, 2 missing: the front is of the finished ones/);
    // a seed axis is replicates by hand: one design per L
    const seeded = {
      plan: {
        axes: [
          { path: 'fabric.L', values: [48] },
          { path: 'seed', values: [1, 2] },
        ],
        replicates: 1,
      },
    } as unknown as PlanFile;
    const s2 = [row(1, 0, 48, 100, 5e-9), row(2, 0, 48, 60, 5e-9)].map((r, i) => ({ ...r, axes: { ...r.axes, seed: i + 1 } }) as unknown as Row);
    expect(paretoData(seeded, s2, 'energy_per_image_j').map((p) => [p.label, p.x, p.n])).toEqual([['L=48', 80, 2]]);
  });
});
