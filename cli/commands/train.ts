/** `dtca train [config] --out MODEL`: train a DTM on Fashion-MNIST on the simulated chip (sim/train/). */
import type { Argv } from 'yargs';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { checkTarget, isStdout } from '../../fabric/files.js';
import { resolveConfig } from '../../sim/config.js';
import { readModel, type Model } from '../../sim/model.js';
import { newDtmModel, PLACEMENTS, type Placement } from '../../sim/dtm.js';
import { train } from '../../sim/train/train.js';
import { applyBudget, BUDGET_NAMES, BUDGETS } from '../../sim/train/budget.js';
import { NEG_STARTS, type NegStart } from '../../sim/train/stage.js';
import { writeFileAtomic, VERSION } from '../../sim/io/output.js';
import { machine } from '../../sim/bench.js';
import { makeProgress } from '../progress.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { log, withConfigOptions, positiveInt, parseIntList, type CommonArgs } from '../common.js';

function negStart(v: unknown): NegStart | undefined {
  if (v === undefined) return undefined;
  if (!NEG_STARTS.includes(v as NegStart)) throw new UserError(`--neg-start ${String(v)}: one of ${NEG_STARTS.join(', ')}`);
  return v as NegStart;
}

function num(name: string, v: unknown, def: number, min: number, max = Infinity): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max) throw new UserError(`--${name} ${String(v)}: expected a number in [${min}, ${max}]`);
  return x;
}

async function cmdTrain(given: CommonArgs & Record<string, unknown>): Promise<void> {
  // --budget fills in the options the command line leaves out (sim/train/budget.ts)
  const { args: a, from: fromBudget } = applyBudget(given, given.budget);
  const out = a.out as string | undefined;
  if (!out) throw new UserError('--out MODEL: where to write the trained model');
  if (isStdout(out)) throw new UserError('--out -: training writes the model, its log and checkpoints to files; name a file');
  const outDir = dirname(resolve(out));
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) throw new UserError(`--out ${out}: directory ${outDir} does not exist`);
  // the outputs are checked before hours of training, not after (fabric/files.ts)
  checkTarget(out, { label: `--out ${out}`, kind: 'model' });
  checkTarget(`${out}.train.jsonl`, { label: `--out ${out}`, kind: 'train-log' });
  checkTarget(`${out}.manifest.json`, { label: `--out ${out}`, kind: 'train-manifest' });
  const chipKind = String(a.chip ?? 'ideal');
  if (chipKind !== 'ideal' && chipKind !== 'cycle') throw new UserError(`--chip ${chipKind}: ideal or cycle`);
  if (a.ideal) throw new UserError('--ideal: use --chip ideal (the default) to train without non-idealities');
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const sets = [...(a.set ?? []), ...(seed === undefined ? [] : [`seed=${seed}`])];
  const base = resolveConfig(a.config, { sets });
  // the ideal chip keeps the chip's weight precision: the model is trained for the weights it will run on
  const config = chipKind === 'ideal' ? resolveConfig(a.config, { ideal: true, sets: [...sets, `cell.weight_bits=${JSON.stringify(base.cell.weight_bits)}`] }) : base;
  const engine = (a.engine ?? 'auto') as EngineChoice;
  if (!ENGINE_CHOICES.includes(engine)) throw new UserError(`--engine ${String(a.engine)}: one of ${ENGINE_CHOICES.join(', ')}`);
  let model: Model;
  if (a.init) {
    model = readModel(String(a.init));
    if (!model.dtm) throw new UserError(`--init ${String(a.init)}: not a DTM model`);
  } else {
    model = newDtmModel({
      T: positiveInt('stages', a.stages as number | undefined) ?? 8,
      L: config.fabric.L,
      rules: config.fabric.rules,
      boundary: config.fabric.boundary,
      visible: 'fmnist',
      weights: 'zero',
      seed: config.seed,
      placement: (a.placement ?? 'random') as Placement,
    });
  }
  const T = model.stages.length;
  const epochs = positiveInt('epochs', a.epochs as number | undefined) ?? 10;
  const steps = positiveInt('steps', a.steps as number | undefined) ?? 100;
  const opts = {
    config,
    engine,
    model,
    dataDir: a.data as string | undefined,
    limit: positiveInt('limit', a.limit as number | undefined),
    out,
    epochs,
    steps,
    batch: positiveInt('batch', a.batch as number | undefined) ?? 64,
    warmup: positiveInt('warmup', a.warmup as number | undefined) ?? 40,
    posWarmup: positiveInt('pos-warmup', a.posWarmup as number | undefined),
    negStart: negStart(a.negStart),
    dataEpochs: positiveInt('data-epochs', a.dataEpochs as number | undefined, 0),
    dataWarmup: positiveInt('data-warmup', a.dataWarmup as number | undefined),
    acpWarmup: positiveInt('acp-warmup', a.acpWarmup as number | undefined),
    samples: positiveInt('samples', a.samples as number | undefined) ?? 10,
    every: positiveInt('every', a.every as number | undefined) ?? 4,
    lr: num('lr', a.lr, 0.016, 1e-9, 10),
    alpha: num('lr-floor', a.lrFloor, 0.18, 0, 1),
    acp: a.acp !== false,
    acpLambda0: num('acp-lambda', a.acpLambda, 0.01, 0, 100),
    acpLag: positiveInt('acp-lag', a.acpLag as number | undefined) ?? 100,
    seed: config.seed,
    workers: positiveInt('workers', a.workers as number | undefined) ?? 1,
    resume: Boolean(a.resume),
    stages: parseIntList('train-stages', a.trainStages),
    snapshots: Boolean(a.snapshots),
  };
  const todo = (opts.stages ?? Array.from({ length: T }, (_, k) => k)).length;
  const bar = makeProgress(todo * epochs * steps, 'steps');
  const doneBy = new Map<number, number>();
  let finished = 0;
  log.info({ config: config.name, chip: chipKind, T, epochs, steps, batch: opts.batch, workers: opts.workers, budget: given.budget, from_budget: fromBudget.length ? fromBudget : undefined, out }, 'training starting');
  const r = await train({
    ...opts,
    onStep: (stage, done) => {
      doneBy.set(stage, done);
      bar.tick(finished + [...doneBy.values()].reduce((x, y) => x + y, 0));
    },
    onEpoch: (rec) => {
      finished += steps;
      doneBy.set(rec.stage, 0);
      log.info({ stage: rec.stage, epoch: rec.epoch, rho: +rec.rho.toFixed(4), lambda: +rec.lambda.toPrecision(3), agreement: +rec.agreement.toFixed(4), wall_s: +rec.wall_s.toFixed(1) }, 'epoch');
    },
  });
  bar.done();
  // what made the model: enough to train it again and to judge its cost (a --resume keeps the earlier invocations)
  type Inv = { command: string; finished: string; wall_s: number; cell_updates: number };
  let earlier: Inv[] = [];
  if (opts.resume && existsSync(`${out}.manifest.json`)) {
    try {
      const old = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as { earlier?: Inv[] } & Inv;
      earlier = [...(old.earlier ?? []), { command: old.command, finished: old.finished, wall_s: old.wall_s, cell_updates: old.cell_updates }];
    } catch {
      earlier = [];
    }
  }
  const manifest = {
    model: out,
    command: ['dtca', ...process.argv.slice(2)].join(' '),
    dtca_version: VERSION,
    finished: new Date().toISOString(),
    config: config.name,
    chip: chipKind,
    seed: opts.seed,
    init: a.init ?? null,
    placement: a.init ? null : (a.placement ?? 'random'),
    T,
    budget: given.budget ?? null,
    options: { epochs, steps, batch: opts.batch, warmup: opts.warmup, pos_warmup: opts.posWarmup ?? opts.warmup, neg_start: opts.negStart ?? 'noise', data_epochs: opts.negStart === 'data' ? Math.min(epochs, opts.dataEpochs ?? epochs) : 0, data_warmup: opts.negStart === 'data' ? (opts.dataWarmup ?? opts.warmup) : null, acp_warmup: opts.acpWarmup ?? opts.warmup, samples: opts.samples, every: opts.every, lr: opts.lr, lr_floor: opts.alpha, acp: opts.acp, acp_lambda: opts.acpLambda0, acp_lag: opts.acpLag, limit: opts.limit ?? null, train_stages: opts.stages ?? null, workers: opts.workers },
    engine: r.engine,
    // this invocation (a --resume run counts only its own part); stage_epoch_s: the sum over stages and epochs of the log's wall_s
    wall_s: +r.wall_s.toFixed(1),
    stage_epoch_s: +r.log.reduce((s, e) => s + e.wall_s, 0).toFixed(1),
    cell_updates: r.cell_updates,
    updates_per_ns_per_thread: +r.updates_per_ns.toFixed(4),
    machine: machine(),
    earlier,
    total_wall_s: +(r.wall_s + earlier.reduce((t, e) => t + (e.wall_s || 0), 0)).toFixed(1),
  };
  writeFileAtomic(`${out}.manifest.json`, JSON.stringify(manifest, null, 2) + '\n', 'train-manifest');
  const summary = { out, stages: T, epochs, engine: r.engine, wall_s: r.wall_s, cell_updates: r.cell_updates, updates_per_ns: r.updates_per_ns };
  process.stdout.write(a.json ? JSON.stringify(summary, null, 2) + '\n' : (r.engine === 'none' ? `nothing left to train: every stage of ${out} has its ${epochs} epochs (model rewritten from the checkpoints)\n` : `trained ${T} stages x ${epochs} epochs into ${out} in ${r.wall_s.toFixed(1)} s (${r.engine} engine, ${r.updates_per_ns.toFixed(3)} cell updates per ns per thread)\n`) + `log ${out}.train.jsonl, manifest ${out}.manifest.json, chart ${out}.train.png, checkpoints ${out}.ckpt/\n`);
}

export function trainCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'train [config]',
    'train a DTM on Fashion-MNIST on the simulated chip',
    (yy) =>
      withConfigOptions(yy)
        .option('out', { type: 'string', describe: 'the model file to write (msgpack; .json for JSON)' })
        .option('stages', { type: 'number', describe: 'T, the number of stages of a new model (default 8)' })
        .option('budget', { choices: BUDGET_NAMES, describe: `a set of training options; explicit flags win (${BUDGET_NAMES.map((n) => `${n}: ${BUDGETS[n].summary}`).join('; ')})` })
        .option('placement', { choices: PLACEMENTS, describe: 'a new model\'s visible cells: random colour-0 cells (the paper; default) or spatial (pixels in image order over the grid)' })
        .option('init', { type: 'string', describe: 'start from this DTM model file (fine-tuning) instead of zero weights' })
        .option('chip', { choices: ['ideal', 'cycle'], default: 'ideal', describe: 'train on the ideal chip (with its weight precision) or the cycle-accurate one' })
        .option('epochs', { type: 'number', describe: 'epochs (default 10)' })
        .option('steps', { type: 'number', describe: 'gradient steps per epoch (default 100)' })
        .option('batch', { type: 'number', describe: 'chains (training pairs) per step (default 64)' })
        .option('warmup', { type: 'number', describe: 'sweeps before the first sample of a phase (default 40)' })
        .option('pos-warmup', { type: 'number', describe: 'positive-phase sweeps before its first sample (default: --warmup)' })
        .option('neg-start', { choices: NEG_STARTS, describe: 'negative chains start from noise (generation\'s initialisation; default) or from the positive phase\'s last state (data)' })
        .option('data-epochs', { type: 'number', describe: 'with --neg-start data: only the first N epochs start from the data, later ones from noise (default all)' })
        .option('data-warmup', { type: 'number', describe: 'with --neg-start data: sweeps before the first sample of data-started chains (default --warmup)' })
        .option('acp-warmup', { type: 'number', describe: 'sweeps before the ACP autocorrelation measurement (default: --warmup)' })
        .option('samples', { type: 'number', describe: 'samples per chain and phase (default 10)' })
        .option('every', { type: 'number', describe: 'sweeps between samples (default 4)' })
        .option('lr', { type: 'number', describe: 'Adam learning rate (default 0.016, cosine decay)' })
        .option('lr-floor', { type: 'number', describe: 'cosine decay floor as a fraction of lr (default 0.18)' })
        .option('acp', { type: 'boolean', default: true, describe: 'the Adaptive Correlation Penalty (--no-acp turns it off)' })
        .option('acp-lambda', { type: 'number', describe: 'initial penalty lambda (default 0.01)' })
        .option('acp-lag', { type: 'number', describe: 'lag (sweeps) of the autocorrelation the penalty watches (default 100)' })
        .option('train-stages', { type: 'string', describe: 'train only these stages, e.g. 0,1' })
        .option('limit', { type: 'number', describe: 'use only the first N training images' })
        .option('data', { type: 'string', describe: 'Fashion-MNIST directory (default $DTCA_DATA or /usr/share/datasets/fashion-mnist)' })
        .option('engine', { choices: ENGINE_CHOICES, default: 'auto', describe: 'latch engine' })
        .option('workers', { type: 'number', describe: 'worker threads over stages (default 1)' })
        .option('resume', { type: 'boolean', default: false, describe: 'continue from MODEL.ckpt/' })
        .option('snapshots', { type: 'boolean', default: false, describe: 'also write the model after every epoch (MODEL.epochs/epoch-E.mp)' })
        .option('seed', { type: 'number', describe: 'seed (overrides the config\'s)' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary' }),
    (a) => cmdTrain(a as never),
  );
}
