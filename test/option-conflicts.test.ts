// Options that contradict each other are refused with one line (exit 2), not resolved silently by
// "the last one wins": one config value given by two --sets, --seed beside --set seed=..., a sweep's
// --set of a value one of its axes sweeps.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkArgv } from '../cli/argv.js';
import { repeatedSet } from '../sim/config.js';
import { fitBudget, resolveSweepBudget, BUDGETS, type BudgetSources } from '../sim/train/budget.js';
import { UserError } from '../fabric/errors.js';
import { dtca } from './helpers/cli.js';

const refused = (args: string[], line: RegExp, cwd?: string) => {
  const r = dtca(args, { cwd });
  expect(r.stderr.trim()).toMatch(line);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
};

describe('one config value given twice', () => {
  it('repeatedSet: the same path, or a section that holds it', () => {
    expect(repeatedSet(['fabric.L=32', 'fabric.L=48'])).toEqual({ what: 'fabric.L', first: 'fabric.L=32', second: 'fabric.L=48' });
    expect(repeatedSet(['fabric={"L":32}', 'clock.clock_hz=1e7', 'fabric.L=48'])?.what).toBe('fabric.L');
    expect(repeatedSet(['fabric.L=48', 'fabric={"L":32}'])?.what).toBe('fabric.L');
    // different values of one section, or a section that does not hold the other path: both apply
    expect(repeatedSet(['fabric.L=32', 'fabric.rules="G8"', 'fabric.tile={"size":4}', 'fabric.tile.link_latency_cycles=1'])).toBeNull();
    expect(repeatedSet(['fabric.L', 'fabric.L'])).toBeNull(); // malformed: setLayer says so
  });

  it('checkArgv refuses two --sets of one path and --seed beside --set seed', () => {
    const kinds = { key: { set: 1, seed: 1, out: 1 }, boolean: [], number: ['seed'], array: ['set'] };
    const check = (raw: string[]) => () => checkArgv(raw, kinds, () => false);
    expect(check(['run', '--set', 'fabric.L=32', '--set=fabric.L=48'])).toThrow(/^--set fabric\.L given twice \(fabric\.L=32, fabric\.L=48\); give it once$/);
    expect(check(['run', '--set', 'fabric.L=32', '--set', 'fabric.L=32'])).toThrow(/given twice/);
    expect(check(['run', '--set', 'seed=4', '--seed', '3'])).toThrow(/^--seed 3 and --set seed=4: both give the config's seed; give one$/);
    expect(check(['run', '--set', 'fabric.L=32', '--set', 'fabric.rules="G8"', '--seed', '3'])).not.toThrow();
  });

  it('on the command line: run, train, eval and sweep', () => {
    refused(['run', '--set', 'fabric.L=32', '--set', 'fabric.L=48'], /^dtca: --set fabric\.L given twice \(fabric\.L=32, fabric\.L=48\); give it once$/);
    refused(['train', '--out', 'x.mp', '--set', 'fabric.L=32', '--set', 'fabric={"L":48}'], /^dtca: --set fabric\.L given twice/);
    refused(['eval', 'm.mp', '--set', 'clock.clock_hz=1e7', '--set', 'clock.clock_hz=2e7'], /^dtca: --set clock\.clock_hz given twice/);
    refused(['sweep', '--axis', 'seed=1,2', '--set', 'fabric.L=16', '--set', 'fabric.L=24'], /^dtca: --set fabric\.L given twice/);
    refused(['run', '--seed', '3', '--set', 'seed=4'], /^dtca: --seed 3 and --set seed=4: both give the config's seed; give one$/);
  });

  it('sweep: a value both fixed (--set, a plan set, --seed) and swept (an axis) is refused; a plan file may not set one value twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-conflicts-'));
    const out = join(dir, 'sw');
    refused(
      ['sweep', 'plan', '--set', 'fabric.L=32', '--axis', 'fabric.L=16,24', '--out', out],
      /^dtca: --set fabric\.L=32 and --axis fabric\.L: fabric\.L is both fixed and swept; drop one$/,
    );
    refused(
      ['sweep', 'plan', '--set', 'fabric={"L":32}', '--grid', '16,24', '--out', out],
      /^dtca: --set fabric=\{"L":32\} and --grid: fabric\.L is both fixed and swept/,
    );
    refused(
      ['sweep', 'plan', '--seed', '3', '--axis', 'seed=1,2', '--out', out],
      /^dtca: --seed 3 and --axis seed: the seed is both fixed and swept; drop one$/,
    );
    writeFileSync(join(dir, 'p1.json'), JSON.stringify({ set: ['fabric.L=16', 'fabric.L=24'] }));
    refused(
      ['sweep', 'plan', '--plan', 'p1.json', '--out', out],
      /^dtca: --plan p1\.json: set: fabric\.L given twice \(fabric\.L=16, fabric\.L=24\); give it once$/,
      dir,
    );
    writeFileSync(join(dir, 'p2.json'), JSON.stringify({ set: ['fabric.L=16'], axes: { 'clock.clock_hz': [1e7] } }));
    refused(
      ['sweep', 'plan', '--plan', 'p2.json', '--axis', 'fabric.L=16,24', '--out', out],
      /^dtca: --plan p2\.json: set fabric\.L=16 and --axis fabric\.L: fabric\.L is both fixed/,
      dir,
    );
    refused(
      ['sweep', 'plan', '--plan', 'p2.json', '--set', 'clock.clock_hz=2e7', '--out', out],
      /^dtca: --set clock\.clock_hz=2e7 and --plan p2\.json: axes clock\.clock_hz: clock\.clock_hz is both fixed/,
      dir,
    );
    // one path swept twice is named as each axis was given
    refused(
      ['sweep', 'plan', '--axis', 'fabric.L=16,20', '--grid', '24', '--out', out],
      /^dtca: --axis fabric\.L and --grid: both sweep fabric\.L; list all its values in one axis$/,
    );
    expect(existsSync(out)).toBe(false);
    // a flag's --set over the plan file's set of the same value is the documented override
    const r = dtca(['sweep', 'plan', '--plan', 'p2.json', '--set', 'fabric.L=24', '--set', 'fabric.rules="G8"', '--out', out], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('training options that cannot all apply', () => {
  const src = (explicit: string[], preset: 'quick' | null = null): BudgetSources => ({
    explicit: new Set(explicit),
    preset,
    defaultEpochs: 10,
    say: (k, v) => `--${k}${v === undefined ? '' : ` ${String(v)}`}`,
    prefix: '',
    presetName: `--budget ${String(preset)}`,
  });
  const q = BUDGETS.quick.options;
  const refusedFit = (o: object, explicit: string[], re: RegExp, preset: 'quick' | null = null) => {
    let err: unknown;
    try {
      fitBudget(o, src(explicit, preset));
    } catch (e) {
      err = e;
    }
    expect(err, JSON.stringify(o)).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(re);
  };

  it('values given that contradict each other (or the epochs) are refused naming both', () => {
    refusedFit(
      { negStart: 'data', dataEpochs: 12 },
      ['negStart', 'dataEpochs'],
      /^--dataEpochs 12: more data-started epochs than the run has \(--epochs 10 \(the default\)\)$/,
    );
    refusedFit({ ...q, dataEpochs: 40 }, ['dataEpochs'], /^--dataEpochs 40: .*\(--epochs 30 \(from --budget quick\)\)$/, 'quick');
    refusedFit({ epochs: 5, finalEpochs: 6 }, ['epochs', 'finalEpochs'], /^--finalEpochs 6: more final epochs than the run has \(--epochs 5\)$/);
    refusedFit(
      { epochs: 10, negStart: 'data', dataEpochs: 6, finalEpochs: 5 },
      ['epochs', 'negStart', 'dataEpochs', 'finalEpochs'],
      /^--dataEpochs 6 and --finalEpochs 5: 11 epochs/,
    );
    refusedFit({ finalWarmup: 5 }, ['finalWarmup'], /^--finalWarmup 5: the warm-up of the final epochs, but there are none \(no --finalEpochs\)$/);
    refusedFit(
      { dataEpochs: 3 },
      ['dataEpochs'],
      /^--dataEpochs 3: for negative chains started from the data, but they start from noise \(--negStart noise, the default\)$/,
    );
    refusedFit({ negStart: 'noise', dataWarmup: 3 }, ['negStart', 'dataWarmup'], /^--dataWarmup 3: .*\(--negStart noise\)$/);
    refusedFit({ acp: false, acpLambda: 0.1 }, ['acp', 'acpLambda'], /^--acpLambda 0.1: the penalty's initial lambda, but --acp false turns the penalty off$/);
    refusedFit({ negStart: 'data', dataEpochs: 0 }, ['negStart', 'dataEpochs'], /no epoch starts from the data; drop one$/);
    refusedFit({ epochs: 3, negStart: 'data', finalEpochs: 3 }, ['epochs', 'negStart', 'finalEpochs'], /^--negStart data: no epoch starts from the data/);
  });

  it("a preset's data-started epochs: its share of the epochs given, rounded down, then cut for the final epochs; one note", () => {
    const fit = (o: object, explicit: string[]) => fitBudget({ ...q, ...o }, src(explicit, 'quick'));
    expect(fit({}, []).options.dataEpochs).toBe(18);
    expect(fit({}, []).notes).toEqual([]);
    expect(fit({ epochs: 30 }, ['epochs']).notes).toEqual([]);
    const ten = fit({ epochs: 10 }, ['epochs']);
    expect(ten.options.dataEpochs).toBe(6);
    expect(ten.notes).toEqual([
      "--dataEpochs 18 (from --budget quick) -> 6 data-started epochs: the preset's share of its 30 epochs in --epochs 10, rounded down",
    ]);
    expect(fit({ epochs: 1 }, ['epochs']).options.dataEpochs).toBe(0);
    expect(fit({ epochs: 60 }, ['epochs']).options.dataEpochs).toBe(36);
    const cut = fit({ epochs: 10, finalEpochs: 5 }, ['epochs', 'finalEpochs']);
    expect(cut.options.dataEpochs).toBe(5);
    expect(cut.notes[0]).toMatch(/rounded down, then the 5 epochs before --finalEpochs 5$/);
    // given, or moot (noise-started chains): left as they are
    expect(fit({ epochs: 10, dataEpochs: 2 }, ['epochs', 'dataEpochs']).options.dataEpochs).toBe(2);
    expect(fit({ epochs: 1, negStart: 'noise' }, ['epochs', 'negStart'])).toEqual({ options: { ...q, epochs: 1, negStart: 'noise' }, notes: [] });
  });

  it('a budget file {"epochs": 1} is not a run started from the data throughout; its contradictions name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-budget-fit-'));
    const f = join(dir, 'one.json');
    writeFileSync(f, JSON.stringify({ epochs: 1 }));
    const b = resolveSweepBudget(f);
    expect(b.options).toEqual({ ...q, epochs: 1, dataEpochs: 0 });
    expect(b.notes).toEqual([
      `--train ${f}: dataEpochs = 18 (from quick) -> 0 data-started epochs: the preset's share of its 30 epochs in epochs = 1, rounded down`,
    ]);
    writeFileSync(f, JSON.stringify({ epochs: 3, data_epochs: 5 }));
    expect(() => resolveSweepBudget(f)).toThrow(new UserError(`--train ${f}: dataEpochs = 5: more data-started epochs than the run has (epochs = 3)`));
  });

  it('on the command line: dtca train refuses before reading any data; sweep plan says what it fitted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-train-fit-'));
    const out = join(dir, 'm.mp');
    const cases: [string[], RegExp][] = [
      [['--neg-start', 'data', '--epochs', '3', '--data-epochs', '5'], /^dtca: --data-epochs 5: more data-started epochs than the run has \(--epochs 3\)$/],
      [['--budget', 'quick', '--final-epochs', '40'], /^dtca: --final-epochs 40: more final epochs than the run has \(--epochs 30 \(from --budget quick\)\)$/],
      [['--final-warmup', '20'], /^dtca: --final-warmup 20: the warm-up of the final epochs, but there are none \(no --final-epochs\)$/],
      [
        ['--data-epochs', '2'],
        /^dtca: --data-epochs 2: for negative chains started from the data, but they start from noise \(--neg-start noise, the default\)$/,
      ],
      [['--no-acp', '--acp-lambda', '0.1'], /^dtca: --acp-lambda 0.1: the penalty's initial lambda, but --no-acp turns the penalty off$/],
    ];
    for (const [args, re] of cases) {
      const r = dtca(['train', '--out', out, ...args], { env: { DTCA_DATA: join(dir, 'none') } });
      expect(r.stderr.trim(), args.join(' ')).toMatch(re);
      expect(r.code).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
    // --placement places a new model's cells: with --init it was ignored without a word
    const init = join(dir, 'init.json');
    expect(dtca(['model', 'new', '-L', '16', '--rules', 'G8', '--stages', '2', '--visible', 'fmnist', '--out', init]).code).toBe(0);
    const grid = ['--set', 'fabric.L=16', '--set', 'fabric.rules="G8"'];
    const p = dtca(['train', ...grid, '--init', init, '--placement', 'spatial', '--out', out]);
    expect(p.stderr.trim()).toBe("dtca: --placement spatial: places a new model's visible cells; with --init the model keeps its own");
    expect(p.code).toBe(2);
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ epochs: 1 }));
    const r = dtca(['sweep', 'plan', '--train', 'one.json', '--grid', '16', '--set', 'fabric.rules="G8"', '--stages', '2', '--out', 'sw'], {
      cwd: dir,
      env: { DTCA_LOG: 'info' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--train one\.json: dataEpochs = 18 \(from quick\) -> 0 data-started epochs/);
  });
});
