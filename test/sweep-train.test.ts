// dtca sweep --train (issue 16 item 3): one model per distinct design, cached by a hash of what
// determines it; quality columns with yardsticks at the same N; Pareto charts; sweep points that
// dtca eval reads. Training runs at a tiny budget on the smallest grid that holds Fashion-MNIST
// (L = 43, G8: seconds of CPU).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, CLI } from './helpers/cli.js';
import { resolveConfig } from '../sim/config.js';
import { modelJobFor, trainModel, isModelDone, modelFile, stageEpochs, type TrainPlan } from '../sim/sweep/models.js';
import { BUDGETS, resolveBudget } from '../sim/train/budget.js';
import { paretoFront, paretoData, paretoSpecs } from '../sim/sweep/report.js';
import { makePlan, expandPlan, parseAxis } from '../sim/sweep/plan.js';
import { readModel } from '../sim/model.js';
import { quietContext } from '../sim/context.js';
import type { PlanFile, Row } from '../sim/sweep/store.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));
const TINY = { T: 2, epochs: 1, steps: 2, batch: 8, warmup: 5, samples: 2, every: 2, acp_lag: 4, limit: 300 };

function tinyBudgetFile(dir: string, over: object = {}): string {
  const f = join(dir, 'tiny.json');
  writeFileSync(f, JSON.stringify({ ...TINY, ...over }));
  return f;
}

function dtcaInfo(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'info' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the model cache key', () => {
  const plan: TrainPlan = { budget: 'quick', options: BUDGETS.quick.options, chip: 'ideal', model_cache: null };
  const cfg = (sets: string[] = []) => resolveConfig('dtca-paper', { sets: ['fabric.L=48', ...sets] });
  const key = (sets: string[] = [], p: TrainPlan = plan, seed = 1) => modelJobFor(cfg(sets), seed, p).key;

  it('the same design gives the same key; what the ideal chip does not depend on changes nothing', () => {
    expect(key()).toBe(key());
    // clock, RNG, mismatch, tiles, energy and area parameters: no change to the model trained on the ideal chip
    for (const s of ['clock.clock_hz=4e7', 'rng.tau_rng_s=5e-7', 'rng.v_off_sigma_v=0.01', 'fabric.tile.size=12', 'power.vdd_v=0.5', 'area.rng_m2=1e-11', 'chip_id=3']) expect(key([s]), s).toBe(key());
    // a preset and its rule list are the same design
    expect(key(['fabric.rules="G12"'])).toBe(key(['fabric.rules=[[0,1],[4,1],[9,10]]']));
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
      ['placement', key([], { ...plan, options: { ...plan.options, placement: 'random' } })],
      ['stages', key([], { ...plan, options: { ...plan.options, T: 4 } })],
      ['epochs', key([], { ...plan, options: { ...plan.options, epochs: 13 } })],
      ['learning rate', key([], { ...plan, options: { ...plan.options, lr: 0.01 } })],
      ['data limit', key([], { ...plan, options: { ...plan.options, limit: 1000 } })],
      ['budget standard', key([], { ...plan, options: BUDGETS.standard.options })],
      ['cycle chip', key([], { ...plan, chip: 'cycle' })],
    ];
    for (const [what, k] of changed) expect(k, what).not.toBe(base);
    expect(new Set(changed.map((c) => c[1])).size).toBe(changed.length);
    // trained on the cycle-accurate chip, the clock is part of the design
    const cyc: TrainPlan = { ...plan, chip: 'cycle' };
    expect(key(['clock.clock_hz=4e7'], cyc)).not.toBe(key([], cyc));
    expect(key(['power.vdd_v=0.5'], cyc)).toBe(key([], cyc));
  });

  it('a sweep plans one model per distinct design: a clock axis shares, a grid axis does not; replicates share', () => {
    const ex = expandPlan(makePlan({ axes: [parseAxis('fabric.L=44,48'), parseAxis('clock.clock_hz=1e7,4e7')], replicates: 2, train: { budget: 'quick' } }));
    expect(ex.points.length).toBe(8);
    const keys = ex.points.map((p) => p.model!.key);
    expect(new Set(keys).size).toBe(2);
    expect(keys[0]).toBe(keys[3]); // L=44, both clocks and replicates
    expect(keys[4]).not.toBe(keys[0]);
    expect(ex.points[0].workload.kind).toBe('trained');
    // the model's key is part of the point's id: another budget, other points
    const ex2 = expandPlan(makePlan({ axes: [parseAxis('fabric.L=44,48'), parseAxis('clock.clock_hz=1e7,4e7')], replicates: 2, train: { budget: 'standard' } }));
    expect(ex2.points[0].id).not.toBe(ex.points[0].id);
    expect(() => expandPlan(makePlan({ axes: [parseAxis('fabric.L=40,48')], train: { budget: 'quick' } }))).toThrow(/point 1 of 2 \(fabric\.L=40\): --train: a Fashion-MNIST model needs 884 visible cells/);
    expect(() => makePlan({ train: { budget: 'fast' } })).toThrow(/--train fast: quick, standard or a budget file/);
  });

  it('budget files: missing keys from quick, unknown or bad values refused naming the key', () => {
    const d = tmp('budget');
    expect(resolveBudget(tinyBudgetFile(d)).options).toEqual({ ...BUDGETS.quick.options, ...TINY });
    writeFileSync(join(d, 'bad.json'), JSON.stringify({ epoch: 3 }));
    expect(() => resolveBudget(join(d, 'bad.json'))).toThrow(/epoch: unknown option/);
    writeFileSync(join(d, 'bad2.json'), JSON.stringify({ steps: 0 }));
    expect(() => resolveBudget(join(d, 'bad2.json'))).toThrow(/steps = 0: must be an integer >= 1/);
  });
});

describe('the model cache', () => {
  it('the same design is trained once; a changed input trains a new model', async () => {
    const d = tmp('cache');
    const b = resolveBudget(tinyBudgetFile(d));
    const plan: TrainPlan = { budget: b.name, options: b.options, chip: 'ideal', model_cache: null };
    const cfg = resolveConfig('dtca-paper', { sets: ['fabric.L=43', 'fabric.rules="G8"'] });
    const job = modelJobFor(cfg, 1, plan);
    const cache = join(d, 'cache');
    const first = await trainModel(cache, job, { ctx: quietContext() });
    expect(first).toMatchObject({ trained: true, assembled: true });
    expect(isModelDone(cache, job.key)).toBe(true);
    const m = readModel(modelFile(cache, job.key));
    expect(m.stages.length).toBe(2);
    expect(m.stages[0].ew.some((w) => w !== 0)).toBe(true);
    const stamp = statSync(modelFile(cache, job.key)).mtimeMs;
    // the same design, from a point at another clock: nothing trained, the file untouched
    const again = modelJobFor(resolveConfig('dtca-paper', { sets: ['fabric.L=43', 'fabric.rules="G8"', 'clock.clock_hz=4e7'] }), 1, plan);
    expect(again.key).toBe(job.key);
    expect(await trainModel(cache, again)).toMatchObject({ trained: false });
    expect(statSync(modelFile(cache, job.key)).mtimeMs).toBe(stamp);
    // another seed: a new entry
    const other = modelJobFor(cfg, 2, plan);
    expect(await trainModel(cache, other)).toMatchObject({ trained: true, assembled: true });
    expect(readdirSync(cache).sort()).toEqual([job.key, other.key].sort());
    expect(Buffer.compare(readFileSync(modelFile(cache, other.key)), readFileSync(modelFile(cache, job.key)))).not.toBe(0);
  }, 600_000);

  it('stages trained apart (one task each) give the model trained at once, byte for byte', async () => {
    const d = tmp('stages');
    const b = resolveBudget(tinyBudgetFile(d));
    const plan: TrainPlan = { budget: b.name, options: b.options, chip: 'ideal', model_cache: null };
    const job = modelJobFor(resolveConfig('dtca-paper', { sets: ['fabric.L=43', 'fabric.rules="G8"'] }), 1, plan);
    const whole = join(d, 'whole');
    await trainModel(whole, job);
    const apart = join(d, 'apart');
    const s1 = await trainModel(apart, job, { stages: [1] });
    expect(s1).toMatchObject({ trained: true, assembled: false });
    expect(isModelDone(apart, job.key)).toBe(false);
    expect(stageEpochs(apart, job)).toEqual([0, 1]);
    const s0 = await trainModel(apart, job, { stages: [0] });
    expect(s0).toMatchObject({ trained: true, assembled: true }); // the last stage done writes the model
    expect(Buffer.compare(readFileSync(modelFile(apart, job.key)), readFileSync(modelFile(whole, job.key)))).toBe(0);
  }, 600_000);
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

  it('the charts mark and label the non-dominated designs', () => {
    const pf = { plan: { axes: [{ path: 'fabric.L', values: [48, 70] }, { path: 'clock.clock_hz', values: [1e7, 4e7] }], replicates: 1 } } as unknown as PlanFile;
    const row = (point: number, L: number, c: number, fd: number, e: number, ips: number) =>
      ({ point, replicate: 0, axes: { 'fabric.L': L, 'clock.clock_hz': c }, fd, fd_floor: 40, fd_factorised: 130, quality_n: 100, energy_per_image_j: e, images_per_s_per_mm2: ips }) as unknown as Row;
    const rows = [row(1, 48, 1e7, 90, 5e-9, 100), row(2, 48, 4e7, 120, 4e-9, 400), row(3, 70, 1e7, 70, 11e-9, 50), row(4, 70, 4e7, 95, 12e-9, 90)];
    const e = paretoData(pf, rows, 'energy_per_image_j');
    expect(e.filter((p) => p.front).map((p) => p.label)).toEqual(['L=48, 10 MHz', 'L=48, 40 MHz', 'L=70, 10 MHz']);
    const t = paretoData(pf, rows, 'images_per_s_per_mm2');
    expect(t.filter((p) => p.front).map((p) => p.point)).toEqual([1, 2, 3]);
    const specs = paretoSpecs(pf, rows);
    expect(specs.map((s) => s.base)).toEqual(['pareto--energy_per_image_j--fd', 'pareto--images_per_s_per_mm2--fd']);
    expect(specs[0].title).toMatch(/N = 100/);
    const layers = (specs[0].spec as unknown as { layer: { data: { values: { label?: string; ref?: string }[] }; mark: { type: string } }[] }).layer;
    const labels = layers.find((l) => l.mark.type === 'text' && l.data.values.some((v) => v.label))!;
    expect(labels.data.values.map((v) => v.label)).toEqual(['L=48, 10 MHz', 'L=48, 40 MHz', 'L=70, 10 MHz']);
    expect(layers.some((l) => l.mark.type === 'rule' && l.data.values.some((v) => v.ref?.startsWith('factorised')))).toBe(true);
  });
});

describe('dtca sweep --train end to end (tiny budget, L = 43 and 44)', () => {
  const root = tmp('sweep-train');
  const dir = join(root, 's');
  const cache = join(root, 'cache');
  let budget: string;
  let r: ReturnType<typeof dtca>;
  beforeAll(() => {
    budget = tinyBudgetFile(root);
    r = dtcaInfo(['sweep', '--set', 'fabric.rules="G8"', '--grid', '43,44', '--train', budget, '--model-cache', cache, '--images', '10', '--sweeps', '20', '--jobs', '2', '--out', dir]);
  }, 900_000);

  it('trains a model per grid, judges every point with yardsticks at the same N, keeps its samples', () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 model\(s\) for 2 point\(s\): 0 in the cache, 2 to train/);
    expect(readdirSync(cache).filter((k) => isModelDone(cache, k)).length).toBe(2);
    const rows = readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(2);
    for (const x of rows) {
      expect(x.workload).toBe('trained T=2 10x20');
      expect(x.quality_n).toBe(10);
      for (const k of ['fd', 'fd_floor', 'fd_factorised', 'clamped_accuracy', 'clamped_accuracy_floor', 'clamped_accuracy_factorised', 'marginal_error', 'marginal_error_factorised', 'energy_per_image_j', 'images_per_s_per_mm2']) {
        expect(typeof x[k], k).toBe('number');
      }
      // real images beat independent pixels at the same N (the yardsticks are the same for both points)
      expect(x.fd_floor).toBeLessThan(x.fd_factorised);
      const p = join(dir, 'points', x.id);
      for (const f of ['samples.npy', 'labels.npy', 'manifest.json', 'samples.png']) expect(existsSync(join(p, f)), f).toBe(true);
      // dtca eval reads a sweep point as it reads a run directory
      const ev = dtca(['eval', p, '--json']);
      expect(ev.code, ev.stderr).toBe(0);
      const rep = JSON.parse(ev.stdout);
      expect(rep.n).toBe(10);
      expect(rep.labels).toBe('clamped');
      expect(rep.fd).toBeCloseTo(x.fd, 6);
      expect(rep.clamped_accuracy).toBeCloseTo(x.clamped_accuracy, 9);
    }
    // the terminal summary: N, FD with its yardsticks, accuracy
    expect(r.stdout).toMatch(/N\s+FD \(floor\/factorised\)\s+accuracy/);
    // the report: the Pareto charts and the quality chart with its yardsticks
    const plots = readdirSync(join(dir, 'plots'));
    expect(plots).toContain('pareto--energy_per_image_j--fd.svg');
    expect(plots).toContain('pareto--images_per_s_per_mm2--fd.png');
    expect(plots).toContain('fd--fabric.L.svg');
    const fdSvg = readFileSync(join(dir, 'plots', 'fd--fabric.L.svg'), 'utf8');
    expect(fdSvg).toContain('factorised: independent pixels');
    expect(fdSvg).toContain('N = 10 images per point');
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('Pareto front: energy per image against FD');
    expect(html).toContain('FD factorised');
  }, 600_000);

  it('another sweep with the same --model-cache trains nothing', () => {
    const again = dtcaInfo(['sweep', '--set', 'fabric.rules="G8"', '--grid', '43', '--clock', '1e7,2e7', '--train', budget, '--model-cache', cache, '--images', '10', '--sweeps', '10', '--jobs', '2', '--out', join(root, 's2'), '--no-charts']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/1 model\(s\) for 2 point\(s\): 1 in the cache, 0 to train/);
    expect(again.stderr).not.toMatch(/training model/);
    expect(readdirSync(cache).length).toBe(2);
  }, 600_000);
});
