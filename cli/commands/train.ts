/** `dtca train [config] --out MODEL`: train a DTM on Fashion-MNIST on the simulated chip (sim/train/). */
import type { Argv } from 'yargs';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Interrupted, UserError } from '../../fabric/errors.js';
import { checkTarget, isStdout, makeDirs } from '../../fabric/files.js';
import { resolveConfig, FLAG_NAMES } from '../../sim/config.js';
import { readModel, MAX_LABEL_GAIN, type Model } from '../../sim/model.js';
import { PLACEMENTS, type Placement } from '../../sim/dtm.js';
import { trainModelForDesign, planDesign, describeLayout, TRAIN_DEFAULTS, type TrainBudget } from '../../sim/train/design.js';
import { parseImageChoice, IMAGE_CHOICES } from '../../sim/layout.js';
import { FMNIST_TRAIN_IMAGES } from '../../sim/fmnist.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { applyBudget, fitBudget, BUDGET_NAMES, BUDGETS, type BudgetFileOptions, type BudgetName } from '../../sim/train/budget.js';
import { NEG_STARTS, type NegStart } from '../../sim/train/stage.js';
import {
  adoptedGrid,
  logAdoptedGrid,
  withConfigOptions,
  refusedIdeal,
  positiveInt,
  parseIntList,
  cliContext,
  labelGainFlag,
  manifestBeside,
  workersFlag,
  type CommonArgs,
} from '../common.js';

/** --label-gain auto|G (undefined: auto) */
function trainLabelGain(v: unknown): 'auto' | number | undefined {
  if (v === undefined || v === 'auto') return v;
  const text = String(v).trim();
  const n = text === '' ? NaN : Number(text);
  if (!Number.isFinite(n)) throw new UserError(`--label-gain ${text.slice(0, 40)}: auto or a number in [0, ${MAX_LABEL_GAIN}] (1: no guidance)`);
  return labelGainFlag(n);
}
import type { Session } from '../session.js';
import { trainStageScripts, sbatch, scancel, resourceLines, SbatchRefused } from '../../sim/sweep/slurm.js';
import { TrainingStopped } from '../../sim/train/train.js';
import { listenForStop, interruptedLine } from '../signals.js';
import { writeFileAtomic } from '../../sim/io/output.js';

function negStart(v: unknown): NegStart | undefined {
  if (v === undefined) return undefined;
  if (!NEG_STARTS.includes(v as NegStart)) throw new UserError(`--neg-start ${String(v)}: one of ${NEG_STARTS.join(', ')}`);
  return v as NegStart;
}

/** flags of `dtca train` that concern the submission, not the training: left out of the scripts' commands */
const SLURM_FLAGS: [string, boolean][] = [
  ['--slurm', false],
  ['--slurm-wait', false],
  ['--slurm-time', true],
  ['--slurm-partition', true],
  ['--slurm-mem', true],
  ['--dtca', true],
  ['--resume', false],
  ['--train-stages', true],
  ['--stage-only', false],
  ['--json', false],
];

/** The train command's own arguments without the submission flags (each task adds its own). */
export function trainArgsForTasks(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const f = SLURM_FLAGS.find(([name]) => x === name || x.startsWith(`${name}=`) || x === `--no-${name.slice(2)}`);
    if (f) {
      if (f[1] && !x.includes('=')) i++;
      continue;
    }
    out.push(x);
  }
  return out[0] === 'train' ? out.slice(1) : out;
}

/** `dtca train --slurm`: one array task per stage, then the model assembled after them (afterok). */
function submitTraining(a: Record<string, unknown>, out: string, T: number): void {
  const args = trainArgsForTasks(process.argv.slice(2)).map((x, i, all) =>
    i > 0 && all[i - 1] === '--out' ? resolve(out) : x.startsWith('--out=') ? `--out=${resolve(out)}` : x,
  );
  const { stages, assemble } = trainStageScripts({
    out,
    T,
    args,
    dtca: a.dtca as string | undefined,
    time: a.slurmTime as string | undefined,
    partition: a.slurmPartition as string | undefined,
    mem: a.slurmMem as string | undefined,
  });
  const dir = `${resolve(out)}.slurm`;
  const scripts = [`${dir}/stages.sbatch`, `${dir}/assemble.sbatch`];
  const had = scripts.map((f) => existsSync(f));
  const created = makeDirs(dir, `--out ${out}`);
  // if sbatch refuses, what this run wrote goes: the scripts new here, the directory if it made it
  const undo = (): void => {
    scripts.forEach((f, i) => {
      if (!had[i]) rmSync(f, { force: true });
    });
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
  };
  let stageJob: string;
  try {
    writeFileAtomic(scripts[0], stages);
    writeFileAtomic(scripts[1], assemble);
    stageJob = sbatch([scripts[0]], 'stage array');
  } catch (e) {
    undo();
    throw e;
  }
  const wait = Boolean(a.slurmWait);
  process.stdout.write(`stage array job ${stageJob} (${T} tasks, one per stage)\n`);
  let asm: string;
  try {
    asm = sbatch([`--dependency=afterok:${stageJob}`, ...(wait ? ['--wait'] : []), scripts[1]], 'assembling job');
  } catch (e) {
    if (!(e instanceof SbatchRefused)) throw e;
    // the stage array without the job that writes the model would train for nothing
    scancel(stageJob);
    undo();
    throw new UserError(`${e.message} (stage array job ${stageJob} cancelled)`);
  }
  process.stdout.write(`assembling job ${asm} (after ${stageJob} has succeeded)${wait ? ': finished' : ''}\nscripts and logs in ${dir}/; the model: ${out}\n`);
}

function num(name: string, v: unknown, def: number, min: number, max = Infinity): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max) throw new UserError(`--${name} ${String(v)}: expected a number in [${min}, ${max}]`);
  return x;
}

async function cmdTrain(given: CommonArgs & Record<string, unknown>, s: Session): Promise<void> {
  // --budget fills in the options the command line leaves out (sim/train/budget.ts)
  const { args: a, from: fromBudget } = applyBudget(given, given.budget);
  const out = a.out as string | undefined;
  if (!out) throw new UserError('--out MODEL: where to write the trained model');
  if (isStdout(out)) throw new UserError('--out -: training writes the model, its log and checkpoints to files; name a file');
  const outDir = dirname(resolve(out));
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) throw new UserError(`--out ${out}: directory ${outDir} does not exist; create it first`);
  // the outputs are checked before hours of training, not after (fabric/files.ts)
  checkTarget(out, { label: `--out ${out}`, kind: 'model' });
  checkTarget(`${out}.train.jsonl`, { label: `--out ${out}`, kind: 'train-log' });
  checkTarget(`${out}.manifest.json`, { label: `--out ${out}`, kind: 'train-manifest' });
  const chipKind = String(a.chip ?? 'ideal');
  if (chipKind !== 'ideal' && chipKind !== 'cycle') throw new UserError(`--chip ${chipKind}: ideal or cycle`);
  if (a.ideal) throw new UserError('--ideal: use --chip ideal (the default) to train without non-idealities');
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const sets = [...(a.set ?? []), ...(seed === undefined ? [] : [`seed=${seed}`])];
  let init: Model | undefined;
  if (a.init) {
    if (a.image !== undefined) throw new UserError("--image: chooses a new model's image; with --init the model keeps its own");
    // (a preset's placement does not apply to a model that has one: only the flag is refused)
    if (given.placement !== undefined)
      throw new UserError(`--placement ${String(given.placement)}: places a new model's visible cells; with --init the model keeps its own`);
    init = readModel(String(a.init));
    if (!init.dtm) throw new UserError(`--init ${String(a.init)}: not a DTM model`);
  }
  let base = resolveConfig(a.config, { sets, names: FLAG_NAMES });
  // --init: the chip takes the model's grid when the command line names none, as dtca run --model,
  // eval MODEL and model tune do (fine-tuning the shipped 32x32 model was refused: "use --set
  // fabric.L=32"); a grid named is held to the model (sim/train/design.ts)
  const grid = init ? adoptedGrid(a, init, base) : [];
  if (grid.length > 0) {
    base = resolveConfig(a.config, { sets, flags: grid, names: FLAG_NAMES });
    logAdoptedGrid(init!, s.log);
  }
  // the ideal chip keeps the chip's weight precision: the model is trained for the weights it will run on
  const config =
    chipKind === 'ideal'
      ? resolveConfig(a.config, { ideal: true, sets: [...sets, `cell.weight_bits=${JSON.stringify(base.cell.weight_bits)}`], flags: grid, names: FLAG_NAMES })
      : base;
  const engine = (a.engine ?? 'auto') as EngineChoice;
  if (!ENGINE_CHOICES.includes(engine)) throw new UserError(`--engine ${String(a.engine)}: one of ${ENGINE_CHOICES.join(', ')}`);
  // the budget: the options by their flag names (defaults: TRAIN_DEFAULTS, sim/train/design.ts)
  const flagBudget: TrainBudget = {
    epochs: positiveInt('epochs', a.epochs as number | undefined),
    steps: positiveInt('steps', a.steps as number | undefined),
    batch: positiveInt('batch', a.batch as number | undefined),
    warmup: positiveInt('warmup', a.warmup as number | undefined),
    posWarmup: positiveInt('pos-warmup', a.posWarmup as number | undefined),
    negStart: negStart(a.negStart),
    dataEpochs: positiveInt('data-epochs', a.dataEpochs as number | undefined, 0),
    dataWarmup: positiveInt('data-warmup', a.dataWarmup as number | undefined),
    acpWarmup: positiveInt('acp-warmup', a.acpWarmup as number | undefined),
    finalEpochs: positiveInt('final-epochs', a.finalEpochs as number | undefined, 0),
    finalWarmup: positiveInt('final-warmup', a.finalWarmup as number | undefined),
    ema: a.ema === undefined ? undefined : num('ema', a.ema, 0, 0, 0.99999),
    samples: positiveInt('samples', a.samples as number | undefined),
    every: positiveInt('every', a.every as number | undefined),
    lr: a.lr === undefined ? undefined : num('lr', a.lr, TRAIN_DEFAULTS.lr, 1e-9, 10),
    lrFloor: a.lrFloor === undefined ? undefined : num('lr-floor', a.lrFloor, TRAIN_DEFAULTS.lrFloor, 0, 1),
    acp: a.acp !== false,
    acpLambda: a.acpLambda === undefined ? undefined : num('acp-lambda', a.acpLambda, TRAIN_DEFAULTS.acpLambda, 0, 100),
    acpLag: positiveInt('acp-lag', a.acpLag as number | undefined),
    workers: workersFlag(a.workers as number | undefined),
    limit: limitFlag(a.limit as number | undefined),
    labelGain: trainLabelGain(a.labelGain),
  };
  // options that cannot all apply: refused when the user gave them, a preset's fitted (sim/train/budget.ts)
  const fit = fitBudget(flagBudget as BudgetFileOptions, {
    explicit: new Set(Object.keys(flagBudget).filter((k) => (k === 'acp' ? given.acp === false : given[k] !== undefined))),
    preset: (given.budget as BudgetName | undefined) ?? null,
    defaultEpochs: TRAIN_DEFAULTS.epochs,
    say: (k, v) =>
      k === 'acp' && v === false ? '--no-acp' : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${v === undefined ? '' : ` ${String(v)}`}`,
    prefix: '',
    presetName: `--budget ${String(given.budget)}`,
  });
  for (const n of fit.notes) s.log.info({}, n);
  const budget = fit.options as TrainBudget;
  const design = {
    config: base,
    chip: chipKind,
    trainConfig: config,
    placement: a.placement as Placement | undefined,
    image: parseImageChoice(a.image),
    T: positiveInt('stages', a.stages as number | undefined),
    init,
    initName: a.init === undefined ? undefined : String(a.init),
    initManifest: a.init === undefined ? undefined : manifestBeside(String(a.init), s, "the trained model's manifest will not carry --init's lineage"),
  } as const;
  const trainStages = parseIntList('train-stages', a.trainStages);
  // stages trained apart (--stage-only, or a Slurm task per stage with --slurm)
  const stageOnly = Boolean(a.stageOnly);
  if (stageOnly && trainStages === undefined)
    throw new UserError('--stage-only: name the stages with --train-stages (a later --resume run without --stage-only writes the model)');
  if (a.snapshots && (stageOnly || a.slurm))
    throw new UserError(`--snapshots: ${a.slurm ? '--slurm' : '--stage-only'} trains stages apart, so there is no model after each epoch; drop --snapshots`);
  if (a.slurm) {
    if (stageOnly || trainStages !== undefined) throw new UserError('--slurm: trains every stage as its own task; drop --train-stages/--stage-only');
    resourceLines(
      { time: a.slurmTime as string | undefined, partition: a.slurmPartition as string | undefined, mem: a.slurmMem as string | undefined },
      '--slurm-',
    );
    // the stages the model will have, and every check of the design and the budget, before anything is submitted
    const plan = planDesign(design, budget, { dataDir: a.data as string | undefined, engine });
    submitTraining(a, out, plan.model.stages.length);
    return;
  }
  if (a.slurmWait || a.slurmTime !== undefined || a.slurmPartition !== undefined || a.slurmMem !== undefined || a.dtca !== undefined)
    throw new UserError('--slurm-wait, --slurm-time, --slurm-partition, --slurm-mem and --dtca go with --slurm');
  // SIGINT/SIGTERM stop the training at its next step, its checkpoints whole (cli/signals.ts, sim/train/train.ts)
  const stop = listenForStop(s.signals);
  let r: Awaited<ReturnType<typeof trainModelForDesign>>;
  try {
    r = await trainModelForDesign(
      design,
      budget,
      {
        out,
        dataDir: a.data as string | undefined,
        engine,
        resume: Boolean(a.resume),
        trainStages,
        snapshots: Boolean(a.snapshots),
        assemble: !stageOnly,
        manifestExtra: { budget: given.budget ?? null, from_budget: fromBudget },
      },
      cliContext(s, () => stop.signal !== null),
    );
  } catch (e) {
    if (e instanceof TrainingStopped && stop.signal !== null) throw trainingInterrupted(e, stop.signal, out, s.argv);
    throw e;
  } finally {
    stop.dispose();
  }
  if (stageOnly) {
    const t = r.result;
    process.stdout.write(
      a.json
        ? JSON.stringify({ out, stages: trainStages, epochs: r.options.epochs, engine: t.engine, wall_s: t.wall_s, cell_updates: t.cell_updates }, null, 2) +
            '\n'
        : `trained stage(s) ${trainStages!.join(', ')} x ${plural(r.options.epochs, 'epoch')} into ${out}.ckpt/ in ${t.wall_s.toFixed(1)} s; the model: the same command with --resume (without --train-stages and --stage-only) once every stage is trained\n`,
    );
    return;
  }
  const T = r.model.stages.length;
  const epochs = r.options.epochs;
  const t = r.result;
  const summary = {
    out,
    stages: T,
    epochs,
    engine: t.engine,
    image: r.layout?.image ?? null,
    label_copies: r.model.dtm!.label_copies,
    label_gain: r.model.dtm!.label_gain ?? 1,
    beta: r.model.beta,
    wall_s: t.wall_s,
    cell_updates: t.cell_updates,
    updates_per_ns: t.updates_per_ns,
  };
  process.stdout.write(
    a.json
      ? JSON.stringify(summary, null, 2) + '\n'
      : (t.engine === 'none'
          ? `nothing left to train: every stage of ${out} has its ${plural(epochs, 'epoch')} (the model written from the checkpoints)\n`
          : `trained ${plural(T, 'stage')} x ${plural(epochs, 'epoch')} into ${out} in ${t.wall_s.toFixed(1)} s (${t.engine} engine, ${t.updates_per_ns.toFixed(3)} cell updates per ns per thread); ${describeLayout(r.layout)}; label gain ${r.model.dtm!.label_gain ?? 1}, beta ${r.model.beta}${r.guidance ? ' (chosen on generated images)' : ''}\n`) +
          `log ${out}.train.jsonl, manifest ${out}.manifest.json, chart ${out}.train.png, checkpoints ${out}.ckpt/\n`,
  );
}

/**
 * A training stopped by a signal, as main() reports it (one line, exit 128 + the signal's number):
 * how far the checkpoints got and the command that continues it (this one with --resume).
 */
function trainingInterrupted(e: TrainingStopped, signal: string, out: string, argv: readonly string[]): Interrupted {
  const args = argv.filter((x) => x !== '--no-resume' && !/^--resume=/.test(x));
  if (!args.includes('--resume')) args.push('--resume');
  const done = `${e.done} of ${e.total} stage-epochs done${e.done === e.total ? ' (the model not written yet)' : ''}`;
  return interruptedLine(signal, `: ${done}, checkpoints in ${out}.ckpt/`, ['dtca', ...args]);
}

/** --limit N: the first N of the train split's images (more would be a silent "all", recorded as N) */
function limitFlag(v: number | undefined): number | undefined {
  const n = positiveInt('limit', v);
  if (n !== undefined && n > FMNIST_TRAIN_IMAGES) throw new UserError(`--limit ${n}: the Fashion-MNIST train split has ${FMNIST_TRAIN_IMAGES} images`);
  return n;
}

/** "1 epoch", "2 epochs" */
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function trainCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'train [config]',
    'train a DTM on Fashion-MNIST on the simulated chip',
    (yy) =>
      refusedIdeal(withConfigOptions(yy), 'train on the ideal chip with --chip ideal (the default), which keeps the weight precision')
        .option('out', { type: 'string', describe: 'the model file to write (msgpack; .json for JSON)' })
        .option('stages', { type: 'number', describe: "T, the number of stages of a new model (default 8); with --init, the model's own" })
        .option('budget', {
          choices: BUDGET_NAMES,
          describe: `a set of training options; explicit flags win (${BUDGET_NAMES.map((n) => `${n}: ${BUDGETS[n].summary}`).join('; ')})`,
        })
        .option('placement', {
          choices: PLACEMENTS,
          describe: "a new model's visible cells: random colour-0 cells (the paper; default) or spatial (pixels in image order over the grid)",
        })
        .option('image', {
          type: 'string',
          describe: `a new model's image: auto (default: the largest that fits the grid, 28x28, else Fashion-MNIST pooled to 14x14 or 7x7) or a side (${IMAGE_CHOICES.slice(1).join(', ')})`,
        })
        .option('init', {
          type: 'string',
          describe:
            "start from this DTM model file (fine-tuning) instead of zero weights; the chip takes its grid unless a config or a --set of the grid names one, which must be the model's",
        })
        .option('chip', {
          choices: ['ideal', 'cycle'],
          default: 'ideal',
          describe: 'train on the ideal chip (with its weight precision) or the cycle-accurate one',
        })
        .option('epochs', { type: 'number', describe: 'epochs (default 10)' })
        .option('steps', { type: 'number', describe: 'gradient steps per epoch (default 100)' })
        .option('batch', { type: 'number', describe: 'chains (training pairs) per step (default 64)' })
        .option('warmup', { type: 'number', describe: 'sweeps before the first sample of a phase (default 40)' })
        .option('pos-warmup', { type: 'number', describe: 'positive-phase sweeps before its first sample (default: --warmup)' })
        .option('neg-start', {
          choices: NEG_STARTS,
          describe: "negative chains start from noise (generation's initialisation; default) or from the positive phase's last state (data)",
        })
        .option('data-epochs', {
          type: 'number',
          describe: 'with --neg-start data: only the first N epochs start from the data, later ones from noise (default all)',
        })
        .option('data-warmup', { type: 'number', describe: 'with --neg-start data: sweeps before the first sample of data-started chains (default --warmup)' })
        .option('final-epochs', {
          type: 'number',
          describe: 'the last N epochs start their negative chains from noise and sample them after --final-warmup sweeps (default 0)',
        })
        .option('final-warmup', { type: 'number', describe: "sweeps before the first sample of the final epochs' negative chains (default --warmup)" })
        .option('ema', {
          type: 'number',
          describe:
            'keep an average of the parameters, ema <- ema d + theta (1 - d) after every step, and write the averaged model (d in [0, 0.99999]; default 0: off)',
        })
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
        .option('label-gain', {
          type: 'string',
          describe: 'label guidance written into the model: auto (default: the gain with the best FD on generated images, 1 to 5) or a number (1: none)',
        })
        .option('data', { type: 'string', describe: 'Fashion-MNIST directory (default $DTCA_DATA or /usr/share/datasets/fashion-mnist)' })
        .option('engine', { choices: ENGINE_CHOICES, default: 'auto', describe: 'latch engine' })
        .option('workers', { type: 'number', describe: 'worker threads over stages (default 1)' })
        .option('resume', { type: 'boolean', default: false, describe: 'continue from MODEL.ckpt/' })
        .option('snapshots', { type: 'boolean', default: false, describe: 'also write the model after every epoch (MODEL.epochs/epoch-E.mp)' })
        .option('stage-only', {
          type: 'boolean',
          default: false,
          describe: "with --train-stages: write only those stages' checkpoints, no model (stages trained apart; a later --resume run writes the model)",
        })
        .option('slurm', {
          type: 'boolean',
          default: false,
          describe: 'submit to Slurm: an array job with one task per stage, then the model written by a job that depends on it (afterok)',
        })
        .option('slurm-wait', { type: 'boolean', default: false, describe: 'with --slurm: wait until the model is written' })
        .option('slurm-time', { type: 'string', describe: 'with --slurm: time limit per task, e.g. 01:00:00' })
        .option('slurm-partition', { type: 'string', describe: 'with --slurm: partition' })
        .option('slurm-mem', { type: 'string', describe: 'with --slurm: memory per task, e.g. 4G' })
        .option('dtca', { type: 'string', describe: 'with --slurm: the command that runs dtca on the nodes (default: this node and this dtca)' })
        .option('seed', { type: 'number', describe: "seed (overrides the config's)" })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary' }),
    (a) => cmdTrain(a as never, s),
  );
}
