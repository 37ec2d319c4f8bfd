// A library caller's mistakes are named as the caller wrote them (resolveConfig's sets[i] and
// ideal, newDtmModel's L, rules and labelCopies, a config value to give through sets, generate's
// labelGain, evaluate's samples.n, train's out, resume and stages, openTraceWriter's path), never
// by a command-line flag (--set, --L, --rules, --images, --out, --train-stages, --trace) it never
// typed; the command line words the same mistakes with its flags (FLAG_NAMES, TRAIN_FLAG_NAMES
// here; the dtca process itself: test/cli-ux.test.ts). And a value of the wrong kind a JavaScript
// caller can pass (an unknown choice, a NaN, a negative or fractional count) is an OptionError
// naming the option, never silently taken.
import { tinyTraining } from './helpers/train-options.js';
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  resolveConfig,
  checkConfig,
  buildChip,
  newDtmModel,
  randomModel,
  generate,
  runModel,
  train,
  evaluate,
  loadFmnist,
  loadReferenceData,
  readRunSamples,
  openTraceWriter,
  samplesFromGeneration,
  PIXELS,
  UserError,
  OptionError,
  Interrupted,
  readTrace,
  inspectTrace,
  readModel,
  modelToObject,
  parseModel,
  makeStats,
  makeDtmStats,
  formatStats,
  formatReport,
  unpackStates,
  evaluateSamples,
  type NewDtmOptions,
  type TrainOptions,
} from '../index.js';
import { OutputSession, withOutputSession } from '../fabric/files.js';
import { FLAG_NAMES } from '../sim/config.js';
import { checkModelFitsFabric } from '../sim/model.js';
import { readImageSet } from '../sim/fmnist.js';
import { TRAIN_FLAG_NAMES } from '../sim/train/train-names.js';

/** the message of the UserError `f` throws (or the promise it returns rejects with) */
async function refusal(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const m = (e as Error).message;
    expect(m, 'a library error names no flag').not.toMatch(/(^|[\s(])--[a-zA-Z]/);
    return m;
  }
  throw new Error('expected a UserError');
}

const dtm = (o: Partial<NewDtmOptions>) => () => newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 20, weights: 'zero', seed: 1, ...o });

describe('resolveConfig and checkConfig name sets and ideal as the caller passed them', () => {
  it('a bad value, a malformed assignment, a bad key: sets[i] and its text', async () => {
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['fabric.L=-1'] }))).toBe('sets[0] fabric.L=-1: fabric.L = -1: must be >= 2');
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['seed=3', 'fabric.L'] }))).toBe(
      'sets[1] fabric.L: expected path=value, e.g. sets: ["clock.clock_hz=2e7"]',
    );
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['fabric.Lx=3'] }))).toBe('sets[0] fabric.Lx=3: fabric.Lx: unknown key (did you mean "L"?)');
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['constructor.x=1'] }))).toBe('sets[0] constructor.x=1: "constructor" is not a config key');
    // the weight precision's two kinds of value, named (it said "Invalid input")
    for (const v of ['3.5', '"8"', 'exactt', 'true'])
      expect(await refusal(() => resolveConfig('dtca-paper', { sets: [`cell.weight_bits=${v}`] }))).toMatch(
        /^sets\[0\] cell\.weight_bits=.*: cell\.weight_bits = .*: expected an integer from 2 to 24, or "exact" \(unquantised weights\)$/,
      );
  });

  it('a config file without "extends" that leaves keys out: the keys missing in one problem, and the extends that fixes it (was "name: missing (expected a string)")', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-noextends-'));
    const partial = join(d, 'mine.json');
    writeFileSync(partial, '{"fabric": {"L": 32}}');
    const m = await refusal(() => resolveConfig(partial));
    expect(m).toMatch(
      /^.*mine\.json: \(top level\): 13 keys missing \(name, description, seed, chip_id, fabric\.rules, fabric\.boundary, \.\.\. \(13\)\): a config file without "extends" gives every key; start it with "extends": "dtca-paper" \(or another preset\) to give only what differs$/,
    );
    // every missing key is in that one problem, the others stay their own
    writeFileSync(partial, '{"fabric": {"L": "x"}}');
    expect(checkConfig(partial).problems.map((p) => p.path)).toEqual(['', 'fabric.L']);
    // with the extends it names, the file is a config
    writeFileSync(partial, '{"extends": "dtca-paper", "fabric": {"L": 32}}');
    expect(resolveConfig(partial).fabric.L).toBe(32);
    // a problem inside a value is not a key left out (a preset has no extends either)
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['fabric.L=4'] }))).toMatch(/fabric\.rules\[1\] = \(4,1\): grid L=4 is too small/);
  });

  it('more than one problem: the call that lists them all', async () => {
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['fabric.L=-1', 'clock.clock_hz=-1'] }))).toBe(
      'sets[0] fabric.L=-1: fabric.L = -1: must be >= 2 (and 1 more problem: checkConfig("dtca-paper", options).problems lists them all)',
    );
    const c = checkConfig('dtca-paper', { ideal: true, sets: ['fabric.L=-1', 'clock.clock_hz=-1'] });
    expect(c.problems.map((p) => p.source)).toEqual(['sets[0] fabric.L=-1', 'sets[1] clock.clock_hz=-1']);
    expect(c.layers.slice(-3).map((l) => l.source)).toEqual(['ideal', 'sets[0] fabric.L=-1', 'sets[1] clock.clock_hz=-1']);
  });

  it('the command line passes its flags: --set, --ideal, dtca config validate', () => {
    expect(() => resolveConfig('dtca-paper', { sets: ['fabric.L=-1', 'clock.clock_hz=-1'], names: FLAG_NAMES })).toThrow(
      /^--set fabric\.L=-1: fabric\.L = -1: must be >= 2 \(and 1 more problem: dtca config validate dtca-paper lists them all\)$/,
    );
    expect(() => resolveConfig('dtca-paper', { sets: ['fabric.L'], names: FLAG_NAMES })).toThrow(
      /^--set fabric\.L: expected path=value, e.g\. --set clock\.clock_hz=2e7$/,
    );
    expect(checkConfig('dtca-paper', { ideal: true, names: FLAG_NAMES }).layers.at(-1)!.source).toBe('--ideal');
  });
});

describe('newDtmModel names the grid as its options L and rules', () => {
  it('a grid too small, an unknown or repeated rule, a grid too small for Fashion-MNIST', async () => {
    expect(await refusal(dtm({ L: 1 }))).toBe('L = 1: must be an integer >= 2');
    expect(await refusal(dtm({ rules: 'G99' }))).toMatch(/^rules: unknown rule preset "G99" \(known: G8/);
    expect(
      await refusal(
        dtm({
          rules: [
            [0, 1],
            [0, 1],
          ],
        }),
      ),
    ).toBe('rules[1] = (0,1): gives offset (0,1) that rule rules[0] already gives');
    expect(await refusal(dtm({ L: 6, visible: 'fmnist' }))).toMatch(/^L = 6: too small for a Fashion-MNIST DTM .*; use L >= 15 \(random placement\)$/);
  });

  it('a caller that took the grid elsewhere names it so (dtca model new: --L, --rules)', () => {
    const flags = { L: '--L', rules: '--rules' };
    expect(dtm({ L: 6, visible: 'fmnist', names: flags })).toThrow(/^--L = 6: too small for a Fashion-MNIST DTM/);
    expect(dtm({ rules: 'G99', names: flags })).toThrow(/^--rules: unknown rule preset "G99"/);
    expect(dtm({ L: 6, visible: 'fmnist', names: { L: 'fabric.L', rules: 'fabric.rules' } })).toThrow(/^fabric\.L = 6: too small/);
  });
});

describe("a model on another grid than the chip's says how to give the config that grid", () => {
  const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=8', 'fabric.rules=G8'], ideal: true }));

  it('generate and runModel: use sets: ["fabric.L=..."]', async () => {
    const other = newDtmModel({ T: 1, L: 10, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 });
    expect(await refusal(() => generate(chip, other, { images: 1, sweeps: 1 }))).toMatch(
      /grid\.L = 10 but the config's fabric\.L = 8 \(use sets: \["fabric\.L=10"\] or a config with that grid\)$/,
    );
    const bm = randomModel(buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=10', 'fabric.rules=G8'], ideal: true })).fabric, 1, 0.25, 0.1);
    expect(await refusal(() => runModel(chip, bm, { chains: 1, sweeps: 1, warmup: 0 }))).toMatch(
      /\(use sets: \["fabric\.L=10"\] or a config with that grid\)$/,
    );
  });

  it('a model of another boundary and rules: both named at once, the rules by their preset, with the flags that give them', () => {
    const m = newDtmModel({ T: 1, L: 22, rules: 'G12', boundary: 'torus', visible: 6, weights: 'zero', seed: 1 });
    const open22 = resolveConfig('dtca-paper', { sets: ['fabric.L=22', 'fabric.rules=G8'], ideal: true });
    // was: the boundary alone, then (a second refusal) "grid.rules = [[0,1],[4,1],[9,10]] but ..." with no hint
    expect(() => checkModelFitsFabric(m, open22, buildChip(open22).fabric.rules, FLAG_NAMES)).toThrow(
      /: grid\.boundary = torus but the config's fabric\.boundary = open, and grid\.rules = G12 but the config's fabric\.rules = G8 \(use --set fabric\.boundary=torus --set fabric\.rules=G12 or a config with that grid\)$/,
    );
    const torus22 = resolveConfig('dtca-paper', { sets: ['fabric.L=22', 'fabric.rules=G8', 'fabric.boundary=torus'], ideal: true });
    expect(() => checkModelFitsFabric(m, torus22, buildChip(torus22).fabric.rules)).toThrow(
      /: grid\.rules = G12 but the config's fabric\.rules = G8 \(use sets: \["fabric\.rules=G12"\] or a config with that grid\)$/,
    );
    // rules that are no preset: as a list, quoted for a shell
    const odd = newDtmModel({
      T: 1,
      L: 22,
      rules: [
        [0, 1],
        [2, 1],
      ],
      boundary: 'torus',
      visible: 6,
      weights: 'zero',
      seed: 1,
    });
    expect(() => checkModelFitsFabric(odd, torus22, buildChip(torus22).fabric.rules, FLAG_NAMES)).toThrow(
      /: grid\.rules = \[\[0,1\],\[2,1\]\] but the config's fabric\.rules = G8 \(use --set 'fabric\.rules=\[\[0,1\],\[2,1\]\]' or a config with that grid\)$/,
    );
  });
});

/** the OptionError `f` throws (or its promise rejects with): its option, and a message that names no flag */
async function optionRefusal(f: () => unknown): Promise<{ option: string; message: string }> {
  const message = await refusal(f);
  try {
    await f();
  } catch (e) {
    expect(e, message).toBeInstanceOf(OptionError);
    return { option: (e as OptionError).option, message };
  }
  throw new Error('unreachable');
}

describe('generate, evaluate and newDtmModel word their refusals with their own options', () => {
  const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=10', 'fabric.rules=G8'], ideal: true }));

  it('generate on a Boltzmann-machine model points at runModel, not at a --stage flag', async () => {
    const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
    expect(await refusal(() => generate(chip, bm, { images: 1, sweeps: 1 }))).toMatch(
      /: not a DTM model \(no "dtm" section\); run it as a Boltzmann machine with runModel \(its stage option picks the stage\)$/,
    );
  });

  it('generate names labelGain (not "label gain"), also where no labels use it', async () => {
    const labelled = newDtmModel({ T: 1, L: 40, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const big = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=40', 'fabric.rules=G8'], ideal: true }));
    expect(await optionRefusal(() => generate(big, labelled, { images: 1, sweeps: 1, labels: [0], labelGain: -1 }))).toEqual({
      option: 'labelGain',
      message: 'labelGain = -1: must be a number in [0, 100]',
    });
    expect((await optionRefusal(() => generate(big, labelled, { images: 1, sweeps: 1, labelGain: NaN }))).option).toBe('labelGain');
  });

  it('samplesFromGeneration of a model without a Fashion-MNIST image points at newDtmModel, not at --visible', async () => {
    const plain = newDtmModel({ T: 1, L: 10, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 });
    const gen = await generate(chip, plain, { images: 1, sweeps: 1 });
    expect(await refusal(() => samplesFromGeneration(gen, [], plain.dtm))).toMatch(
      /are not a Fashion-MNIST image \(make the model with newDtmModel\(\{ visible: 'fmnist', \.\.\. \}\)\); the quality classifier cannot score them$/,
    );
  });

  it('chooseLayout (through newDtmModel) names labelCopies', async () => {
    expect(await optionRefusal(dtm({ L: 40, visible: 'fmnist', labelCopies: 0 }))).toEqual({
      option: 'labelCopies',
      message: 'labelCopies = 0: must be a positive integer',
    });
    expect((await optionRefusal(dtm({ L: 40, visible: 'fmnist', labelCopies: 2.5 }))).option).toBe('labelCopies');
  });

  it('evaluate names the samples count, samples.n, where dtca eval says --images', async () => {
    const fixture = (split: string) => readImageSet(fileURLToPath(new URL(`./fixtures/fmnist-${split}-400.bin.gz`, import.meta.url)));
    const data = { test: fixture('test'), train: fixture('train') };
    const o = { data, classifier: {} as never, classifierPath: 'none', classifierTestAccuracy: null };
    const samples = (n: number, labels: Uint8Array | null) => ({ images: new Uint8Array(n * PIXELS), n, labels, autocorrelation: null });
    expect(await optionRefusal(() => evaluate(samples(401, null), o))).toEqual({
      option: 'samples.n',
      message: 'samples.n = 401: the test set has 400 images; use fewer',
    });
    const zeros = data.test.labels.filter((c) => c === 0).length;
    const m = await optionRefusal(() => evaluate(samples(zeros + 1, new Uint8Array(zeros + 1)), o));
    expect(m).toEqual({
      option: 'samples.n',
      message: `samples.n = ${zeros + 1}: needs ${zeros + 1} images of class 0, the test set has ${zeros}; use fewer images`,
    });
    expect((await optionRefusal(() => evaluate(samples(10, null), { ...o, seed: -1 }))).option).toBe('seed');
    expect(await optionRefusal(() => evaluate(samples(10, null), { ...o, bootstrap: 1 }))).toEqual({
      option: 'bootstrap',
      message: 'bootstrap = 1: must be 0 (no standard error) or an integer in 2..10000',
    });
  });
});

describe('train names out, resume and stages as its options, never --out, --resume or --train-stages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-libnames-'));
  const config = resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8'], ideal: true });
  const model = newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
  let n = 0;
  /** a fresh model path, and the options that would train a tiny model there */
  const fresh = (): TrainOptions => {
    const out = join(dir, `m${n++}.mp`);
    return tinyTraining(config, model, out);
  };

  it('stages outside the model; a checkpoint directory that is a file or holds an earlier run', async () => {
    expect(await refusal(() => train({ ...fresh(), stages: [5] }))).toBe('stages: stage 5 outside 0..1');
    const f = fresh();
    writeFileSync(`${f.out}.ckpt`, 'not a directory');
    expect(await refusal(() => train(f))).toBe(`${f.out}.ckpt: not a directory (the training checkpoints go there); move it away or choose another out`);
    // resume where nothing was trained: said so (it said "run.json is missing, so the checkpoints cannot be matched ...")
    const none = fresh();
    expect(await refusal(() => train({ ...none, resume: true }))).toBe(
      `resume: nothing to resume: ${none.out}.ckpt holds no checkpoints (no earlier training into this out); train without resume to start, or give the out of the run to continue`,
    );
    const g = fresh();
    mkdirSync(`${g.out}.ckpt`);
    writeFileSync(`${g.out}.ckpt/stage-0.mp`, '');
    expect(await refusal(() => train(g))).toBe(`${g.out}.ckpt holds checkpoints of an earlier run: pass resume: true to continue it, or choose another out`);
    expect(await refusal(() => train({ ...g, resume: true }))).toBe(
      `resume: ${g.out}.ckpt/run.json is missing, so the checkpoints cannot be matched to the options they were trained with; train without resume into a new out`,
    );
    writeFileSync(`${g.out}.ckpt/run.json`, '{');
    expect(await refusal(() => train({ ...g, resume: true }))).toBe(
      `${g.out}.ckpt/run.json: damaged (not valid JSON); it records the options the checkpoints were trained with: train into a new out`,
    );
  });

  it('an out another train holds; a model without a Fashion-MNIST image', async () => {
    const f = fresh();
    writeFileSync(`${f.out}.lock`, `${process.pid} ${hostname()}\n`);
    expect(await refusal(() => train(f))).toBe(`out = ${f.out}: another dtca train (pid ${process.pid}) is writing it; wait for it, or choose another out`);
    const plain = newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 });
    expect(await refusal(() => train({ ...fresh(), model: plain }))).toMatch(
      /and no Fashion-MNIST image source; make it with newDtmModel\(\{ visible: 'fmnist', \.\.\. \}\)$/,
    );
  });

  it('data that is not there: the hint names dataDir (dtca train: --data DIR)', async () => {
    expect(await refusal(() => train({ ...fresh(), dataDir: dirOfNothing() }))).toMatch(
      /^Fashion-MNIST not found: .*dtca-libnames-no-such-dir does not exist; get the four idx .* and pass their directory as dataDir \(or set DTCA_DATA\)$/,
    );
  });

  it("dtca train's caller passes its flags (TRAIN_FLAG_NAMES)", async () => {
    await expect(train({ ...fresh(), stages: [5], names: TRAIN_FLAG_NAMES })).rejects.toThrow(/^--train-stages: stage 5 outside 0\.\.1$/);
    const g = fresh();
    mkdirSync(`${g.out}.ckpt`);
    writeFileSync(`${g.out}.ckpt/stage-0.mp`, '');
    await expect(train({ ...g, names: TRAIN_FLAG_NAMES })).rejects.toThrow(
      /holds checkpoints of an earlier run: add --resume to continue it, or choose another --out$/,
    );
  });
});

describe("a JavaScript caller's invalid option values: an OptionError naming the option, never a silent default", () => {
  it('newDtmModel: boundary, placement, image, weights, beta, lambdaImage, lambdaLabel', async () => {
    const cases: [Partial<NewDtmOptions>, string][] = [
      [{ boundary: 'bogus' as never }, 'boundary'],
      [{ placement: 'bogus' as never }, 'placement'],
      [{ L: 40, visible: 'fmnist', image: 13 as never }, 'image'],
      [{ L: 40, visible: 'fmnist', image: 'bogus' as never }, 'image'],
      [{ weights: 'bogus' as never }, 'weights'],
      [{ beta: NaN }, 'beta'],
      [{ beta: -1 }, 'beta'],
      [{ lambdaImage: NaN }, 'lambdaImage'],
      [{ lambdaLabel: '0.2' as never }, 'lambdaLabel'],
    ];
    for (const [o, option] of cases) expect((await optionRefusal(dtm(o))).option, JSON.stringify(o)).toBe(option);
    expect(await optionRefusal(dtm({ boundary: 'bogus' as never }))).toEqual({ option: 'boundary', message: 'boundary = bogus: must be open or torus' });
  });

  it('runModel: tileModel.bands and tileModel.lag', async () => {
    const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=10', 'fabric.rules=G8'], ideal: true }));
    const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
    const run = (tileModel: unknown) => () => runModel(chip, bm, { chains: 1, sweeps: 1, warmup: 0, tiles: 1, tileModel: tileModel as never });
    expect(await optionRefusal(run({ lag: -1 }))).toEqual({ option: 'tileModel.lag', message: 'tileModel.lag = -1: must be an integer >= 0' });
    expect((await optionRefusal(run({ lag: NaN }))).option).toBe('tileModel.lag');
    expect((await optionRefusal(run({ bands: 1.5 }))).option).toBe('tileModel.bands');
    expect((await optionRefusal(run(3))).option).toBe('tileModel');
  });

  it('resolveConfig: sets not a list of strings, ideal not a boolean', async () => {
    expect((await optionRefusal(() => resolveConfig('dtca-paper', { sets: 'fabric.L=22' as never }))).option).toBe('sets');
    expect(await refusal(() => resolveConfig('dtca-paper', { sets: ['seed=1', 3 as never] }))).toBe('sets[1] 3: must be a "path=value" string');
    expect((await optionRefusal(() => resolveConfig('dtca-paper', { ideal: 'no' as never }))).option).toBe('ideal');
  });

  it('resolveConfig and checkConfig: a first argument (ref) that is not a name, a path or undefined', async () => {
    expect(await optionRefusal(() => resolveConfig(42 as never))).toEqual({
      option: 'ref',
      message: 'ref = 42: must be a preset name (dtca-paper, z1-like) or a config file path, or undefined for dtca-paper',
    });
    const misplaced = await optionRefusal(() => checkConfig({ sets: ['seed=1'] } as never));
    expect(misplaced.option).toBe('ref');
    expect(misplaced.message).toMatch(/; the options come second: resolveConfig\(undefined, \{ sets, ideal \}\) for the default config$/);
    expect((await optionRefusal(() => resolveConfig(null as never))).option).toBe('ref');
  });

  it("generate: labels not a list (a string '0123' is not taken character by character), version, sink and callbacks of the wrong kind", async () => {
    const labelled = newDtmModel({ T: 1, L: 40, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const big = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=40', 'fabric.rules=G8'], ideal: true }));
    const gen = (o: Record<string, unknown>) => () => generate(big, labelled, { images: 1, sweeps: 1, ...o });
    expect(await optionRefusal(gen({ labels: '0123' }))).toEqual({ option: 'labels', message: 'labels = 0123: must be a list of classes, e.g. [0, 1, 2]' });
    expect((await optionRefusal(gen({ labels: 3 }))).option).toBe('labels');
    expect(await optionRefusal(gen({ version: 2 }))).toEqual({ option: 'version', message: 'version = 2: must be a string' });
    for (const [o, option] of [
      [{ sink: 'x.dtct' }, 'sink'],
      [{ sink: {} }, 'sink'],
      [{ onImageDone: true }, 'onImageDone'],
      [{ onStageDone: 1 }, 'onStageDone'],
      [{ shouldStop: true }, 'shouldStop'],
      [{ stopped: 'SIGINT' }, 'stopped'],
    ] as const)
      expect((await optionRefusal(gen(o))).option, JSON.stringify(o)).toBe(option);
  });

  it('generate: the whole trace sink interface is checked before anything runs, naming what is missing', async () => {
    const labelled = newDtmModel({ T: 2, L: 40, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const big = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=40', 'fabric.rules=G8'], ideal: true }));
    const calls: string[] = [];
    const note = (m: string) => () => void calls.push(m);
    const whole = {
      header: note('header'),
      wantsSweep: () => true,
      sweep: note('sweep'),
      stageBegin: note('stageBegin'),
      stageEnd: note('stageEnd'),
      end: note('end'),
      close: async () => {},
    };
    const gen = (sink: unknown) => () => generate(big, labelled, { images: 1, sweeps: 1, sink: sink as never });
    const what = 'sink: must be a trace sink (openTraceWriter, or an object with the TraceSink methods)';
    // a sink without stageEnd once failed with a TypeError after the first stage had run
    const { stageEnd: _, ...noStageEnd } = whole;
    expect(await optionRefusal(gen(noStageEnd))).toEqual({ option: 'sink', message: `${what}: stageEnd is not a function` });
    expect(calls).toEqual([]); // refused before the header was written
    expect(await optionRefusal(gen({ header: () => {} }))).toEqual({
      option: 'sink',
      message: `${what}: wantsSweep, sweep, stageBegin, stageEnd, end, close are not functions`,
    });
    expect(await optionRefusal(gen({ ...whole, end: 'yes' }))).toEqual({ option: 'sink', message: `${what}: end is not a function` });
    expect(await optionRefusal(gen({ ...whole, sweeps: 1 }))).toEqual({ option: 'sink', message: `${what}: sweeps is not a function` });
    expect(await optionRefusal(gen({ ...whole, thinning: 'all' }))).toEqual({
      option: 'sink',
      message: `${what}: its thinning = all must be an object (TraceOptions)`,
    });
    expect((await optionRefusal(gen([]))).option).toBe('sink');
    expect((await optionRefusal(gen(null))).option).toBe('sink');
    // the whole interface is accepted and used
    await generate(big, labelled, { images: 1, sweeps: 1, sink: whole as never });
    expect(calls.filter((c) => c !== 'sweep')).toEqual(['header', 'stageBegin', 'stageEnd', 'stageBegin', 'stageEnd', 'end']);
  });

  it('runModel: moments must be a boolean (a truthy "no" is not taken as asked for), callbacks functions', async () => {
    const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=10', 'fabric.rules=G8'], ideal: true }));
    const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
    const run = (o: Record<string, unknown>) => () => runModel(chip, bm, { chains: 1, sweeps: 1, warmup: 0, ...o });
    expect(await optionRefusal(run({ moments: 'no' }))).toEqual({ option: 'moments', message: 'moments = no: must be true or false' });
    expect((await optionRefusal(run({ moments: 1 }))).option).toBe('moments');
    expect((await optionRefusal(run({ onSweep: {} }))).option).toBe('onSweep');
    expect((await optionRefusal(run({ onChainDone: 'yes' }))).option).toBe('onChainDone');
    expect((await runModel(chip, bm, { chains: 1, sweeps: 1, warmup: 0, moments: true })).moments).not.toBeNull();
  });

  it('loadFmnist, loadReferenceData (evaluate): data that is not there or damaged says to pass the directory as dir, not --data DIR', async () => {
    const hint = /; get the four idx .gz files .* and pass their directory as dir \(or set DTCA_DATA\)$/;
    expect(await refusal(() => loadFmnist({ split: 'test', dir: dirOfNothing() }))).toMatch(hint);
    expect(await refusal(() => loadReferenceData(dirOfNothing()))).toMatch(hint);
    const empty = mkdtempSync(join(tmpdir(), 'dtca-libnames-data-'));
    writeFileSync(join(empty, 't10k-images-idx3-ubyte.gz'), 'not gzip');
    writeFileSync(join(empty, 't10k-labels-idx1-ubyte.gz'), 'not gzip');
    expect(await refusal(() => loadFmnist({ split: 'test', dir: empty }))).toMatch(
      /is damaged \(not gzip data\): get the four .* pass their directory as dir \(or set DTCA_DATA\)$/,
    );
  });

  it('loadFmnist and readRunSamples: split, limit', async () => {
    expect(await optionRefusal(() => loadFmnist({ split: 'bogus' as never, dir: dirOfNothing() }))).toEqual({
      option: 'split',
      message: 'split = bogus: must be one of train, test',
    });
    expect((await optionRefusal(() => loadFmnist({ split: 'test', limit: -1, dir: dirOfNothing() }))).option).toBe('limit');
    expect((await optionRefusal(() => readRunSamples(dirOfNothing(), NaN))).option).toBe('limit');
  });

  it('train: counts, rates and choices', async () => {
    const config = resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8'], ideal: true });
    const model = newDtmModel({ T: 1, L: 16, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const base = tinyTraining(config, model, join(mkdtempSync(join(tmpdir(), 'dtca-libnames-')), 'm.mp'));
    const cases: [Partial<TrainOptions>, string][] = [
      [{ epochs: NaN }, 'epochs'],
      [{ batch: 0 }, 'batch'],
      [{ steps: 1.5 }, 'steps'],
      [{ warmup: -1 }, 'warmup'],
      [{ dataEpochs: -1 }, 'dataEpochs'],
      [{ limit: 0 }, 'limit'],
      // more than Fashion-MNIST's train split: was all of it, recorded as the limit given
      [{ limit: 60001 }, 'limit'],
      [{ lr: NaN }, 'lr'],
      [{ alpha: 2 }, 'alpha'],
      [{ ema: 1 }, 'ema'],
      [{ negStart: 'bogus' as never }, 'negStart'],
      [{ engine: 'bogus' as never }, 'engine'],
      [{ resume: 'yes' as never }, 'resume'],
      [{ out: '' }, 'out'],
    ];
    for (const [o, option] of cases) expect((await optionRefusal(() => train({ ...base, ...o }))).option, JSON.stringify(o)).toBe(option);
    expect(existsSync(`${base.out}.ckpt`), 'refused before anything is written').toBe(false);
  });

  it('openTraceWriter names its path argument, not --trace', async () => {
    expect(await refusal(() => openTraceWriter(join(dirOfNothing(), 'x.dtct')))).toMatch(/^path ".*x\.dtct": directory .* does not exist; create it first$/);
  });
});

describe('options objects: an option the call does not have, or no object at all, is an OptionError (it was ignored, or crashed cloning)', () => {
  const config = resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8'], ideal: true });
  const chip = buildChip(config);
  const model = newDtmModel({ T: 1, L: 16, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });

  it('a misspelt option names itself and the option meant; one of another call (train has stop, not shouldStop) too', async () => {
    const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
    expect(await optionRefusal(() => runModel(chip, bm, { chains: 1, sweeps: 2, warmup: 0, sweepz: 4 } as never))).toEqual({
      option: 'sweepz',
      message: 'sweepz: not an option of runModel (did you mean sweeps?)',
    });
    expect((await optionRefusal(() => generate(chip, model, { images: 1, sweeps: 1, imagez: 2 } as never))).message).toBe(
      'imagez: not an option of generate (did you mean images?)',
    );
    // was ignored with workers: 1 (training never stopped), a DOMException cloning it to workers: 2
    const out = join(mkdtempSync(join(tmpdir(), 'dtca-libnames-')), 'm.mp');
    for (const workers of [1, 2]) {
      const o = { ...tinyTraining(config, model, out), workers, shouldStop: () => true };
      expect((await optionRefusal(() => train(o as never))).message).toBe('shouldStop: not an option of train (did you mean stop?)');
    }
    expect(existsSync(`${out}.ckpt`), 'refused before anything is written').toBe(false);
    expect((await optionRefusal(() => resolveConfig('dtca-paper', { set: ['fabric.L=16'] } as never))).message).toBe(
      'set: not an option of resolveConfig (did you mean sets?)',
    );
    expect(
      (await optionRefusal(() => newDtmModel({ T: 1, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: 'zero', seed: 1, Beta: 2 } as never))).message,
    ).toBe('Beta: not an option of newDtmModel (did you mean beta?)');
    expect((await optionRefusal(() => openTraceWriter(join(dirOfNothing(), 'x.dtct'), { evry: 2 } as never))).option).toBe('evry');
  });

  it('options that are not an object: named as the options, not a TypeError', async () => {
    expect(await optionRefusal(() => runModel(chip, model, undefined as never))).toEqual({
      option: 'options',
      message: "options: runModel's options must be an object { chains, sweeps, warmup, stage, ... }, not undefined",
    });
    expect((await optionRefusal(() => generate(chip, model, undefined as never))).option).toBe('options');
    expect((await optionRefusal(() => newDtmModel(undefined as never))).option).toBe('options');
    expect((await optionRefusal(() => train(undefined as never))).option).toBe('options');
    // a directory passed where the options go (its .split was String.prototype.split)
    expect((await optionRefusal(() => loadFmnist('/usr/share/datasets/fashion-mnist' as never))).message).toBe(
      "options: loadFmnist's options must be an object { split, dir, limit, canonical, ... }, not a string",
    );
  });

  it('a chip, a fabric, a model or a config of the wrong kind: an OptionError naming it (were TypeErrors, or a grid L = undefined)', async () => {
    const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
    // the chip where its fabric belongs made a model of grid L = undefined ('use sets: ["fabric.L=undefined"]')
    expect(await optionRefusal(() => randomModel(chip as never, 1, 0.25, 0.1))).toEqual({
      option: 'fabric',
      message: "fabric: randomModel's fabric must be a chip's fabric (chip.fabric), not an object (this is the chip: pass chip.fabric)",
    });
    expect((await optionRefusal(() => runModel(config as never, bm, { chains: 1, sweeps: 1, warmup: 0 }))).message).toBe(
      "chip: runModel's chip must be a chip from buildChip(config), not an object (this is a config: buildChip(config) gives the chip)",
    );
    expect((await optionRefusal(() => generate(chip, modelToObject(model, true) as never, { images: 1, sweeps: 1 }))).message).toBe(
      "model: generate's model must be a model (readModel, parseModel, newDtmModel, randomModel), not an object (this is a model file's object: parseModel(object, where) gives the model)",
    );
    expect((await optionRefusal(() => runModel(chip, undefined as never, { chains: 1, sweeps: 1, warmup: 0 }))).option).toBe('model');
    const out = join(mkdtempSync(join(tmpdir(), 'dtca-libnames-')), 'm.mp');
    expect((await optionRefusal(() => train({ ...tinyTraining(config, model, out), config: 'dtca-paper' as never }))).message).toBe(
      `config: train's config must be a config object (resolveConfig("dtca-paper") gives one), not a string`,
    );
  });

  it('parseModel without its where names the object "model" (was "undefined: not a dtca model")', async () => {
    expect(await refusal(() => parseModel({ a: 1 }))).toBe('model: not a dtca model (format is missing, expected "dtca-model")');
    expect(parseModel(modelToObject(model, true)).stages.length).toBe(1);
  });

  it('a path that is not a string: an OptionError naming it (were TypeErrors from node:fs, or "undefined: cannot read")', async () => {
    expect(await optionRefusal(() => openTraceWriter(undefined as never))).toEqual({
      option: 'path',
      message: "path: openTraceWriter's path must be a path (a string), not undefined",
    });
    expect((await optionRefusal(() => loadFmnist({ split: 'test', dir: 5 as never }))).message).toBe(
      "dir: loadFmnist's dir must be a path (a string), not a number",
    );
    expect((await optionRefusal(() => readRunSamples(undefined as never))).option).toBe('dir');
    expect((await optionRefusal(() => readTrace({ path: 'x.dtct' } as never))).message).toBe("path: readTrace's path must be a path (a string), not an object");
    expect((await optionRefusal(() => inspectTrace(42 as never))).option).toBe('path');
    expect((await optionRefusal(() => readModel(undefined as never))).option).toBe('path');
    expect((await optionRefusal(() => loadReferenceData(5 as never))).option).toBe('dir');
  });

  it('buildChip checks a config built or edited by hand as resolveConfig would (was a RangeError from the timing)', async () => {
    expect(await refusal(() => buildChip({ ...config, clock: { ...config.clock, clock_hz: -5 } }))).toBe('config: clock.clock_hz = -5: must be >= 0.001');
    expect(await refusal(() => buildChip({ ...config, fabric: { ...config.fabric, L: '16' as never } }))).toBe(
      'config: fabric.L = 16: expected a number, got a string',
    );
    expect((await optionRefusal(() => buildChip(undefined as never))).message).toBe(
      "config: buildChip's config must be a config object (resolveConfig gives one), not undefined",
    );
  });
});

describe('every exported function: an argument of the wrong kind is an OptionError naming it, never a TypeError from inside', () => {
  const config = resolveConfig('dtca-paper', { sets: ['fabric.L=12', 'fabric.rules=[[0,1]]'], ideal: true });
  const chip = buildChip(config);
  const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
  const WRONG = [null, undefined, 42, 'x', {}, [], { a: 1 }];
  /** every wrong value in turn at argument `at` of `f` (the others from `good`): an OptionError on `name`, never anything else */
  async function refusesAll(call: string, f: (...a: never[]) => unknown, good: unknown[], at: number, name: string, except: unknown[] = []) {
    for (const v of WRONG) {
      if (except.some((e) => JSON.stringify(e) === JSON.stringify(v))) continue;
      const args = good.map((g, i) => (i === at ? v : g));
      const r = await optionRefusal(() => (f as (...a: unknown[]) => unknown)(...args));
      expect(r.option, `${call} argument ${at} = ${JSON.stringify(v)}: ${r.message}`).toBe(name);
      expect(r.message, `${call} argument ${at}`).toMatch(new RegExp(`^${name}: ${call}'s ${name} must be `));
    }
  }

  it('makeStats, makeDtmStats, formatStats (were "Cannot read properties of undefined (reading \'N\')" and the like)', async () => {
    const run = await runModel(chip, bm, { chains: 1, sweeps: 2, warmup: 0 });
    const stats = makeStats(chip, run, 'label');
    await refusesAll('makeStats', makeStats, [chip, run, 'label'], 0, 'chip');
    await refusesAll('makeStats', makeStats, [chip, run, 'label'], 1, 'result');
    await refusesAll('makeStats', makeStats, [chip, run, 'label'], 2, 'label', ['x']);
    await refusesAll('makeStats', makeStats, [chip, run, 'label', 1], 3, 'beta', [undefined, 42]);
    await refusesAll('makeDtmStats', makeDtmStats, [chip, run, 'label'], 1, 'gen');
    await refusesAll('formatStats', formatStats, [stats], 0, 'stats');
    // the other run's result says which call takes it; a field of the wrong kind is named
    expect((await optionRefusal(() => makeDtmStats(chip, run as never, 'x'))).message).toBe(
      "gen: makeDtmStats's gen must be a generate result: its outputs is missing, not a list (this is a runModel result: makeStats takes it)",
    );
    expect((await optionRefusal(() => formatStats(run as never))).message).toMatch(
      /^stats: formatStats's stats must be a stats object \(makeStats, makeDtmStats, or a stats\.json read back\): its config is missing, not a string \(this is a run result: makeStats or makeDtmStats gives the stats\)$/,
    );
    expect((await optionRefusal(() => formatStats({ ...stats, energy_j: 5 } as never))).message).toMatch(/: its energy_j is a number, not an object$/);
    // what they give is unchanged: a stats.json read back formats as the stats object does
    expect(formatStats(JSON.parse(JSON.stringify(stats)))).toBe(formatStats(stats));
  });

  it('modelToObject, samplesFromGeneration, evaluateSamples, formatReport, unpackStates', async () => {
    await refusesAll('modelToObject', modelToObject, [bm, true], 0, 'model');
    await refusesAll('modelToObject', modelToObject, [bm, true], 1, 'forJson');
    await refusesAll('samplesFromGeneration', samplesFromGeneration, [{ outputs: [] }], 0, 'gen');
    await refusesAll('samplesFromGeneration', samplesFromGeneration, [{ outputs: [] }, [0]], 1, 'labels', [undefined, []]); // no labels: unclamped
    await refusesAll('samplesFromGeneration', samplesFromGeneration, [{ outputs: [] }, undefined, bm.dtm], 2, 'dtm', [undefined]);
    await refusesAll('evaluateSamples', evaluateSamples, [{ images: new Uint8Array(0), n: 0 }, {}], 0, 'samples');
    await refusesAll(
      'evaluate',
      evaluate,
      [
        { images: new Uint8Array(0), n: 0 },
        { classifier: {}, classifierPath: 'c.bin' },
      ],
      0,
      'samples',
    );
    await refusesAll(
      'evaluate',
      evaluate,
      [
        { images: new Uint8Array(0), n: 0 },
        { classifier: {}, classifierPath: 'c.bin' },
      ],
      1,
      'options',
    );
    await refusesAll('formatReport', formatReport, [{}, 'title'], 0, 'report');
    await refusesAll('unpackStates', unpackStates, [{ states: new Uint8Array(1), n_cells: 8 }], 0, 'rec');
    expect(Array.from(unpackStates({ states: Uint8Array.of(5), n_cells: 3 } as never))).toEqual([1, 0, 1]);
    expect((await optionRefusal(() => unpackStates({ states: Uint8Array.of(5), n_cells: 3 } as never, -1))).message).toMatch(
      /^nCells = -1: must be an integer >= 0/,
    );
  });
});

describe('one process, one workload twice: what a library call read does not bind a later call', () => {
  it('a traced generate, its trace read back, the same generate again to the same path (was: "is an input of this command")', async () => {
    const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=10', 'fabric.rules=G8'] }));
    const model = newDtmModel({ T: 2, L: 10, rules: 'G8', boundary: 'open', visible: 20, weights: { random: 0.3 }, seed: 4 });
    const path = join(mkdtempSync(join(tmpdir(), 'dtca-libtwice-')), 'gen.dtct');
    const once = async () => {
      const sink = openTraceWriter(path);
      const gen = await generate(chip, model, { images: 1, sweeps: 2, sink });
      await sink.close();
      const kinds: string[] = [];
      for await (const rec of readTrace(path)) kinds.push(rec.type);
      return { out: Array.from(gen.outputs[0]), kinds };
    };
    const first = await once();
    expect(first.kinds[0]).toBe('header');
    expect(await once()).toEqual(first);
    // stopped, the trace ends as dtca run's does once the caller interrupts the sink (docs/library.md)
    const stopped = openTraceWriter(path);
    let n = 0;
    const e = await generate(chip, model, { images: 1, sweeps: 5, sink: stopped, shouldStop: () => ++n > 3 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Interrupted);
    stopped.interrupt({ reason: (e as Interrupted).reason, at: (e as Interrupted).at });
    await stopped.close();
    const summary = await inspectTrace(path);
    expect([summary.status, summary.interrupted]).toEqual(['interrupted', { reason: 'stop requested', at: { stage: 1, chain: 0, sweep: 3 } }]);
    // a command's rule stands: inside one (the CLI runs each command line in a session) no output replaces an input
    await withOutputSession(new OutputSession(), async () => {
      for await (const rec of readTrace(path)) void rec;
      expect(() => openTraceWriter(path)).toThrow(/is an input of this command/);
    });
  });
});

/** a directory that does not exist */
function dirOfNothing(): string {
  return join(tmpdir(), 'dtca-libnames-no-such-dir');
}
