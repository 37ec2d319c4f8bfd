// dtca sweep --train (issue 16 item 3): one model per distinct design, trained by
// trainModelForDesign (what dtca train runs) and cached by a hash of what determines it; quality
// columns with yardsticks at the same N; Pareto charts; sweep points that dtca eval reads.
// Training runs at a tiny budget on small grids (7x7 pooled images: seconds of CPU). The key, the
// plans, budget files and the Pareto front without training: sweep-train-unit.test.ts.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, CLI } from './helpers/cli.js';
import { resolveConfig } from '../sim/config.js';
import { modelJobFor, trainModel, isModelDone, modelFile, stageEpochs, type TrainPlan } from '../sim/sweep/models.js';
import { resolveSweepBudget } from '../sim/train/budget.js';
import { readModel } from '../sim/model.js';
import { quietContext } from '../sim/context.js';
import { smallTrainArgs, TINY_SWEEP_BUDGET } from './helpers/train-args.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));
// labelGain 1: no guidance search (test/guidance.test.ts and test/anygrid.test.ts cover it)
const TINY: Record<string, number> = TINY_SWEEP_BUDGET;

function tinyBudgetFile(dir: string, over: object = {}): string {
  const f = join(dir, 'tiny.json');
  writeFileSync(f, JSON.stringify({ ...TINY, ...over }));
  return f;
}

function dtcaInfo(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'info' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '');

describe('the model cache', () => {
  const cfgOf = (sets: string[] = []) => resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules="G8"', ...sets] });
  const planOf = (d: string): TrainPlan => {
    const b = resolveSweepBudget(tinyBudgetFile(d));
    return { budget: b.name, options: b.options, chip: 'ideal', model_cache: null };
  };

  it('the same design is trained once; a changed input trains a new model', async () => {
    const d = tmp('cache');
    const plan = planOf(d);
    const job = modelJobFor(cfgOf(), 1, plan, 2);
    const cache = join(d, 'cache');
    const first = await trainModel(cache, job, { ctx: quietContext() });
    expect(first).toMatchObject({ trained: true, assembled: true });
    expect(isModelDone(cache, job.key)).toBe(true);
    const m = readModel(modelFile(cache, job.key));
    expect(m.stages.length).toBe(2);
    expect(m.dtm!.image_shape).toEqual([7, 7]);
    expect(m.stages[0].ew.some((w) => w !== 0)).toBe(true);
    // the manifest dtca train writes, with the cache entry's key
    const man = JSON.parse(readFileSync(`${modelFile(cache, job.key)}.manifest.json`, 'utf8'));
    expect(man).toMatchObject({
      sweep_model: job.key,
      chip: 'ideal',
      T: 2,
      placement: 'spatial',
      options: { epochs: 1, steps: 2, pos_warmup: 3, neg_start: 'data' },
    });
    const stamp = statSync(modelFile(cache, job.key)).mtimeMs;
    // the same design, from a point at another clock: nothing trained, the file untouched
    const again = modelJobFor(cfgOf(['clock.clock_hz=4e7']), 1, plan, 2);
    expect(again.key).toBe(job.key);
    expect(await trainModel(cache, again)).toMatchObject({ trained: false });
    expect(statSync(modelFile(cache, job.key)).mtimeMs).toBe(stamp);
    // another seed: a new entry
    const other = modelJobFor(cfgOf(), 2, plan, 2);
    expect(await trainModel(cache, other)).toMatchObject({ trained: true, assembled: true });
    expect(readdirSync(cache).sort()).toEqual([job.key, other.key].sort());
    expect(Buffer.compare(readFileSync(modelFile(cache, other.key)), readFileSync(modelFile(cache, job.key)))).not.toBe(0);
  }, 600_000);

  it('stages trained apart (one task each) give the model trained at once, byte for byte', async () => {
    const d = tmp('stages');
    const job = modelJobFor(cfgOf(), 1, planOf(d), 2);
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

  it('the model a sweep trains is the model dtca train trains from the same options', async () => {
    const d = tmp('same');
    const job = modelJobFor(cfgOf(), 3, planOf(d), 2);
    const cache = join(d, 'cache');
    await trainModel(cache, job);
    const out = join(d, 'train.mp');
    // the budget file's options as dtca train's flags (camelCase -> --kebab-case): the same options by construction
    const budgetFlags = Object.entries(TINY).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]);
    const flags = ['--set', 'fabric.L=16', '--set', 'fabric.rules="G8"', '--seed', '3', '--stages', '2', '--budget', 'quick', '--workers', '1', ...budgetFlags];
    const r = dtca(['train', ...flags, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const a = readModel(modelFile(cache, job.key));
    const b = readModel(out);
    expect(b.stages.map((st) => Array.from(st.ew))).toEqual(a.stages.map((st) => Array.from(st.ew)));
    expect(b.stages.map((st) => Array.from(st.bias))).toEqual(a.stages.map((st) => Array.from(st.bias)));
    expect([b.beta, b.dtm!.label_gain]).toEqual([a.beta, a.dtm!.label_gain]);
  }, 600_000);
});

describe('dtca train --stage-only: stages trained apart, then the model', () => {
  it('two stage-only runs (each its own stage), then --resume writes the model a whole run writes', () => {
    const d = tmp('stage-only');
    const flags = [...smallTrainArgs(16), '--epochs', '1'];
    const whole = join(d, 'whole.mp');
    expect(dtca(['train', ...flags, '--out', whole]).code).toBe(0);
    const out = join(d, 'apart.mp');
    const s1 = dtca(['train', ...flags, '--out', out, '--train-stages', '1', '--stage-only', '--resume']);
    expect(s1.code, s1.stderr).toBe(0);
    expect(s1.stdout).toMatch(/trained stage\(s\) 1 x 1 epoch into .*apart\.mp\.ckpt\//);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.train.jsonl`)).toBe(false);
    expect(dtca(['train', ...flags, '--out', out, '--train-stages', '0', '--stage-only', '--resume']).code).toBe(0);
    const m = dtca(['train', ...flags, '--out', out, '--resume']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/nothing left to train/);
    expect(Buffer.compare(readFileSync(out), readFileSync(whole))).toBe(0);
    // --stage-only needs the stages; --slurm takes them all; the Slurm flags go with --slurm
    const bad: [string[], RegExp][] = [
      [['--stage-only'], /--stage-only: name the stages with --train-stages/],
      [['--slurm', '--train-stages', '0'], /--slurm: trains every stage as its own task/],
      [['--slurm-time', '01:00:00'], /go with --slurm/],
      [['--slurm', '--snapshots'], /--snapshots: --slurm trains stages apart/],
    ];
    for (const [extra, re] of bad) {
      const r = dtca(['train', ...flags, '--out', join(d, 'never.mp'), ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(errorLines(r.stderr).length).toBe(1);
      expect(r.stderr).toMatch(re);
    }
  }, 600_000);
});

describe('dtca sweep --train end to end (tiny budget, L = 16 and 20)', () => {
  const root = tmp('sweep-train');
  const dir = join(root, 's');
  const cache = join(root, 'cache');
  let budget: string;
  let r: ReturnType<typeof dtca>;
  beforeAll(() => {
    budget = tinyBudgetFile(root);
    r = dtcaInfo([
      'sweep',
      '--set',
      'fabric.rules="G8"',
      '--grid',
      '16,20',
      '--stages',
      '2',
      '--train',
      budget,
      '--model-cache',
      cache,
      '--images',
      '10',
      '--sweeps',
      '20',
      '--jobs',
      '2',
      '--out',
      dir,
    ]);
  }, 900_000);

  it('trains a model per grid, judges every point with yardsticks at the same N, keeps its samples', () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 model\(s\) for 2 point\(s\): 0 in the cache, 2 to train/);
    expect(r.stderr).toMatch(/training stage 1 of model [0-9a-f]{16} \(L=20 G8 open, 8-bit weights, 7x7/);
    expect(readdirSync(cache).filter((k) => isModelDone(cache, k)).length).toBe(2);
    // progress inside a stage task: dtca train's line per epoch, with the model's key (was: only a line per stage);
    // in a log (stderr not a terminal) no progress bar, and one line per epoch, not per step
    expect(r.stderr).not.toMatch(/\r|training steps/);
    const epochs = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"epoch"'))
      .map((l) => JSON.parse(l));
    expect(epochs.map((e) => `${e.model} ${e.stage} ${e.epoch}`).sort()).toEqual(
      readdirSync(cache)
        .flatMap((k) => [`${k} 0 1`, `${k} 1 1`])
        .sort(),
    );
    for (const e of epochs) expect(Object.keys(e)).toEqual(expect.arrayContaining(['rho', 'lambda', 'agreement', 'wall_s']));
    const rows = readFileSync(join(dir, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(2);
    for (const x of rows) {
      expect(x.workload).toBe('trained T=2 10x20');
      expect(x.quality_n).toBe(10);
      for (const k of [
        'fd',
        'fd_floor',
        'fd_factorised',
        'clamped_accuracy',
        'clamped_accuracy_floor',
        'clamped_accuracy_factorised',
        'marginal_error',
        'marginal_error_factorised',
        'energy_per_image_j',
        'images_per_s_per_mm2',
      ]) {
        expect(typeof x[k], k).toBe('number');
      }
      // real images beat independent pixels at the same N (the yardsticks are the same for both points)
      expect(x.fd_floor).toBeLessThan(x.fd_factorised);
      expect(x.quality_note).toMatch(/7x7 .* images upscaled for the classifier, the yardsticks pooled alike/);
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
    const again = dtcaInfo([
      'sweep',
      '--set',
      'fabric.rules="G8"',
      '--grid',
      '16',
      '--clock',
      '1e7,2e7',
      '--stages',
      '2',
      '--train',
      budget,
      '--model-cache',
      cache,
      '--images',
      '10',
      '--sweeps',
      '10',
      '--jobs',
      '2',
      '--out',
      join(root, 's2'),
      '--no-charts',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/1 model\(s\) for 2 point\(s\): 1 in the cache, 0 to train/);
    expect(again.stderr).not.toMatch(/training stage/);
    expect(readdirSync(cache).length).toBe(2);
  }, 600_000);

  it('a bad --train is one line and exit 2, before anything is written', () => {
    writeFileSync(join(root, 'typo.json'), JSON.stringify({ epoch: 2 }));
    writeFileSync(join(root, 'zero.json'), JSON.stringify({ steps: 0 }));
    const cases: [string, RegExp][] = [
      ['fast', /--train fast: quick, standard or a budget file \(FILE\.json\)/],
      [join(root, 'typo.json'), /--train .*typo\.json: "epoch": unknown option \(did you mean "epochs"\?\)/],
      [join(root, 'zero.json'), /--train .*zero\.json: steps = 0: must be an integer >= 1/],
      [join(root, 'absent.json'), /--train .*absent\.json: cannot read budget file/],
    ];
    for (const [train, re] of cases) {
      const out = join(root, 'never');
      const x = dtca(['sweep', '--grid', '16', '--train', train, '--out', out]);
      expect(x.code, train).toBe(2);
      expect(errorLines(x.stderr), x.stderr).toHaveLength(1);
      expect(x.stderr).toMatch(re);
      expect(existsSync(out)).toBe(false);
    }
    const small = dtca(['sweep', '--grid', '12', '--train', 'quick', '--out', join(root, 'never')]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/--train: fabric\.L = 12: too small for a Fashion-MNIST DTM/);
  }, 120_000);
});

describe('a sweep that reads Fashion-MNIST (--train, or --model of a Fashion-MNIST model) without it', () => {
  it('is one line naming DTCA_DATA, exit 2, before the sweep directory is written (was: the directory, then a failed training)', () => {
    const root = tmp('sweep-nodata');
    const budget = tinyBudgetFile(root);
    const out = join(root, 's');
    const env = { DTCA_DATA: join(root, 'no-data') };
    const x = dtca(['sweep', '--set', 'fabric.rules="G8"', '--grid', '16', '--stages', '2', '--train', budget, '--out', out], { env });
    expect(x.code, x.stderr).toBe(2);
    expect(errorLines(x.stderr)).toHaveLength(1);
    expect(x.stderr).toMatch(/^dtca: --train: Fashion-MNIST not found: .*no-data does not exist; .*set DTCA_DATA to their directory$/m);
    expect(existsSync(out)).toBe(false);
    // a planned sweep: sweep run and sweep train refuse before running
    const planned = join(root, 'p');
    expect(dtca(['sweep', 'plan', '--set', 'fabric.rules="G8"', '--grid', '16', '--stages', '2', '--train', budget, '--out', planned], { env }).code).toBe(0);
    for (const sub of ['run', 'train']) {
      const y = dtca(['sweep', sub, planned], { env });
      expect(y.code, sub).toBe(2);
      expect(y.stderr, sub).toMatch(/^dtca: .*p: Fashion-MNIST not found: /m);
      expect(readdirSync(join(planned, 'points')), sub).toEqual([]);
    }
    // a Fashion-MNIST model's points are judged against the test split: refused the same way
    const fm = join(root, 'fm.json');
    expect(dtca(['model', 'new', '--L', '16', '--rules', 'G8', '--visible', 'fmnist', '--stages', '2', '--out', fm]).code).toBe(0);
    const m = dtca(['sweep', '--model', fm, '--set', 'fabric.rules="G8"', '--grid', '16', '--images', '4', '--sweeps', '5', '--out', join(root, 'm')], { env });
    expect(m.code, m.stderr).toBe(2);
    expect(m.stderr).toMatch(/^dtca: --model .*fm\.json \(its points are judged against Fashion-MNIST's test split\): Fashion-MNIST not found: /m);
    expect(existsSync(join(root, 'm'))).toBe(false);
  });
});
