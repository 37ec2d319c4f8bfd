/**
 * A trained model for a design: the one function `dtca train` and `dtca sweep --train` go through.
 *
 *   trainModelForDesign(design, budget, target, ctx) -> { model, layout, manifest, ... }
 *
 * design  what determines the model besides the training options: the chip config (grid, rules,
 *         boundary, weight precision, seed), the chip it is trained on (ideal or cycle), the
 *         placement of the visible cells, the image (auto: the largest Fashion-MNIST image the grid
 *         holds, sim/layout.ts), T, or a model to start from.
 * budget  the training options by their `dtca train` flag names (camelCase): epochs, steps, batch,
 *         ... Options left out take TRAIN_DEFAULTS. Keys this function does not know are passed on
 *         to the trainer unchanged (newer recipes add options).
 * target  where the model goes (--out: the model, MODEL.manifest.json, MODEL.train.jsonl and
 *         chart, MODEL.ckpt/), the data directory, the engine, resume, the command to record.
 * ctx     log (the layout at info, each epoch at info), progress (gradient steps), stop.
 *
 * planDesign(design, budget) makes the untrained model and says its layout without training.
 */
import { existsSync } from 'node:fs';
import { OptionError, UserError } from '../../fabric/errors.js';
import { TRAIN_FLAG_NAMES } from './train-names.js';
import { resolveRules, rulesKey, rulesName } from '../../fabric/rules.js';
import { formatBytes, machineMemory } from '../resources.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { validateConfig, idealize, FLAG_NAMES, type ResolvedConfig } from '../config.js';
import type { EngineChoice } from '../../cells/engine.js';
import { newDtmModel, CONFIG_GRID_NAMES, type Placement } from '../dtm.js';
import { checkLabelGain, withGuidance, type Model } from '../model.js';
import { canTuneGuidance, tuneGuidance, DEFAULT_GAINS, DEFAULT_BETAS, DEFAULT_TUNE_IMAGES, type TuneResult } from '../quality/guidance.js';
import { imageSourceOf, describeImage, type ImageChoice, type VisibleLayout } from '../layout.js';
import { train, TrainingStopped, type TrainOptions, type TrainResult } from './train.js';
import { quietContext, type ProgressBar, type RunContext } from '../context.js';
import { writeFileAtomic, VERSION } from '../io/output.js';
import { lineageOf, placementOf, type Manifest } from '../manifest.js';
import { machine } from '../bench.js';
import type { ImageSet } from '../fmnist.js';

export type TrainChip = 'ideal' | 'cycle';

export interface DesignSpec {
  /** the chip as designed (a resolved config): its fabric, weight precision and seed make the model */
  config: ResolvedConfig;
  /** the chip the stages are trained on: ideal (every non-ideality off, the config's weight precision kept; default) or cycle (the config as it is) */
  chip?: TrainChip;
  /** the training chip when the caller resolved it already (dtca train: --set layered after --ideal); default from `chip` */
  trainConfig?: ResolvedConfig;
  /** visible cells: random colour-0 cells (the paper) or spatial; default the budget's placement, else random */
  placement?: Placement;
  /** the image: auto (the largest that fits the grid) or a side 28, 14, 7 */
  image?: ImageChoice;
  /** label copies per class (default: as many as fit, 10 down to 5) */
  labelCopies?: number;
  /** stages of a new model (default 8); with `init`, when given, it must be the init model's */
  T?: number;
  /** start from this DTM (fine-tuning) instead of a new zero-weight model: its layout is kept; its grid must be the config's fabric */
  init?: Model;
  /** what to call `init` in the manifest (its file) */
  initName?: string;
  /** `init`'s manifest, when it has one (sim/manifest.ts): the new manifest's lineage, and its placement */
  initManifest?: Manifest | null;
}

/** Training options by their `dtca train` flag names (camelCase). Unknown keys pass through to the trainer. */
export interface TrainBudget {
  placement?: Placement;
  epochs?: number;
  steps?: number;
  batch?: number;
  warmup?: number;
  samples?: number;
  every?: number;
  lr?: number;
  lrFloor?: number;
  acp?: boolean;
  acpLambda?: number;
  acpLag?: number;
  workers?: number;
  /** use only the first N training images */
  limit?: number;
  /**
   * label guidance written into the model (sim/quality/guidance.ts): 'auto' (default) tries gains
   * and then betas on generated images and keeps the best; a number sets the gain (1: none) and
   * leaves beta as it is
   */
  labelGain?: 'auto' | number;
  [option: string]: unknown;
}

/** dtca train's defaults for every option a budget leaves out */
export const TRAIN_DEFAULTS = {
  epochs: 10,
  steps: 100,
  batch: 64,
  warmup: 40,
  samples: 10,
  every: 4,
  lr: 0.016,
  lrFloor: 0.18,
  acp: true,
  acpLambda: 0.01,
  acpLag: 100,
  workers: 1,
} as const;

export const DEFAULT_T = 8;

export interface DesignTarget {
  /** the model file (msgpack; JSON if it ends in .json); its log, manifest and checkpoints go beside it */
  out: string;
  dataDir?: string;
  /** train on these binarised 28x28 images instead of Fashion-MNIST's train split (tests) */
  images?: ImageSet;
  engine?: EngineChoice;
  resume?: boolean;
  /** train only these stages */
  trainStages?: number[];
  /**
   * false: train the stages (trainStages) and write only their checkpoints: no model, log, chart
   * or manifest (stages trained apart, one Slurm task or sweep job each; a later run with resume
   * and every stage trained writes the model). Default true.
   */
  assemble?: boolean;
  snapshots?: boolean;
  /** the command recorded in the manifest (default: this process's arguments) */
  command?: string;
  /** more fields for the manifest (e.g. the budget's name) */
  manifestExtra?: Record<string, unknown>;
}

export interface DesignPlan {
  /** the untrained model (zero weights) or the init model */
  model: Model;
  /** its visible layout (image source and label copies); null for a model without a Fashion-MNIST image */
  layout: VisibleLayout | null;
  placement: Placement | null;
  chip: TrainChip;
  /** the chip the stages are trained on */
  trainConfig: ResolvedConfig;
  /** the trainer's options, defaults filled in (without out, callbacks and the model) */
  options: Omit<TrainOptions, 'config' | 'model' | 'out' | 'onEpoch' | 'onStep' | 'finish'>;
  /** label guidance: 'auto' (tuned once trained, where the model can be judged) or a gain */
  labelGain: 'auto' | number;
  /** the guidance (label gain, beta) the init model carried and training set aside; null when none */
  initGuidance: { gain: number; beta: number } | null;
}

export interface DesignTrainResult extends DesignPlan {
  result: TrainResult;
  /** the guidance search (label gain, beta), when one ran */
  guidance: TuneResult | null;
  /** what MODEL.manifest.json holds */
  manifest: Record<string, unknown>;
}

/** The ideal version of a chip config: every non-ideality off, its weight precision kept. */
export function idealTrainingConfig(config: ResolvedConfig): ResolvedConfig {
  const raw = structuredClone(config) as unknown as Parameters<typeof idealize>[0];
  idealize(raw);
  (raw.cell as Record<string, unknown>).weight_bits = config.cell.weight_bits;
  return validateConfig(raw, `${config.name} (ideal, for training)`);
}

const RENAMED: Record<string, string> = { lrFloor: 'alpha', acpLambda: 'acpLambda0' };
const NOT_TRAINER = new Set(['placement', 'image', 'labelCopies', 'T', 'stages', 'labelGain']);

/** budget.labelGain checked: 'auto' or a gain */
function labelGainOf(b: TrainBudget): 'auto' | number {
  const v = b.labelGain ?? 'auto';
  return v === 'auto' ? v : checkLabelGain(v, 'budget labelGain');
}

function budgetNumber(b: TrainBudget, k: keyof typeof TRAIN_DEFAULTS, min: number, integer: boolean): number {
  const v = b[k] ?? TRAIN_DEFAULTS[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
    throw new UserError(`budget ${k} = ${JSON.stringify(v)}: expected ${integer ? 'an integer' : 'a number'} >= ${min}`);
  return v;
}

/**
 * The init model against the training: the chip is the config's, so the model's grid (L, rules,
 * boundary) must be the config's fabric, and a T given must be its stage count. Refused before
 * anything is written, naming --init, its file and both values.
 */
function checkInitFits(model: Model, name: string, f: ResolvedConfig['fabric'], T: number | undefined): void {
  const g = model.grid;
  const cfgRules = resolveRules(f.rules);
  const differs: [string, string, string][] = [];
  if (g.L !== f.L) differs.push(['fabric.L', String(g.L), String(f.L)]);
  if (rulesKey(g.rules) !== rulesKey(cfgRules)) differs.push(['fabric.rules', rulesName(g.rules), rulesName(cfgRules)]);
  if (g.boundary !== f.boundary) differs.push(['fabric.boundary', g.boundary, f.boundary]);
  if (differs.length > 0) {
    // every dimension that differs, in one line (one at a time took a refusal each)
    const list = (i: 1 | 2) => differs.map((d) => `${d[0]} = ${d[i]}`).join(', ');
    const use = differs.map(([k, m]) => FLAG_NAMES.give(`${k}=${m}`)).join(' ');
    throw new UserError(
      `--init ${name}: the model's grid has ${list(1)} but the training's config has ${list(2)} (--init trains the model on its own grid: use ${use} or a config with that grid)`,
    );
  }
  if (T !== undefined && T !== model.stages.length)
    throw new UserError(`--init ${name}: the model has ${model.stages.length} stages but --stages is ${T} (--init keeps the model's stages: drop --stages)`);
}

/** The untrained model of a design and the trainer's options: everything but the training. */
export function planDesign(
  design: DesignSpec,
  budget: TrainBudget = {},
  target: Pick<DesignTarget, 'dataDir' | 'images' | 'engine' | 'resume' | 'trainStages' | 'snapshots' | 'assemble'> = {},
): DesignPlan {
  const chip = design.chip ?? 'ideal';
  const trainConfig = design.trainConfig ?? (chip === 'ideal' ? idealTrainingConfig(design.config) : design.config);
  const f = trainConfig.fabric;
  let model: Model;
  let placement: Placement | null;
  let initGuidance: DesignPlan['initGuidance'] = null;
  if (design.init) {
    model = design.init;
    if (!model.dtm) throw new UserError(`${model.source}: not a DTM model (no "dtm" section)`);
    checkInitFits(model, design.initName ?? model.source, f, design.T);
    placement = null;
    // guidance (a label gain, beta) is chosen for generation after training (sim/quality/guidance.ts):
    // fine-tuning starts from the trained parameters, at gain 1 and beta 1, and chooses it again
    const gain = model.dtm.label_gain ?? 1;
    if (gain !== 1 || model.beta !== 1) {
      initGuidance = { gain, beta: model.beta };
      model = withGuidance(model, 1, 1);
    }
  } else {
    placement = design.placement ?? budget.placement ?? 'random';
    model = newDtmModel({
      T: design.T ?? DEFAULT_T,
      L: f.L,
      rules: f.rules,
      boundary: f.boundary,
      visible: 'fmnist',
      weights: 'zero',
      seed: trainConfig.seed,
      placement,
      image: design.image ?? 'auto',
      labelCopies: design.labelCopies,
      names: CONFIG_GRID_NAMES,
    });
  }
  const dtm = model.dtm!;
  const src = imageSourceOf(dtm);
  const layout: VisibleLayout | null = src
    ? { image: src, labelCopies: dtm.label_copies, classes: dtm.label.length / dtm.label_copies, nImage: dtm.image.length, nLabel: dtm.label.length }
    : null;
  // the budget by flag names -> the trainer's option names; unknown keys pass through
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(budget)) {
    if (v === undefined || NOT_TRAINER.has(k) || k in TRAIN_DEFAULTS || k === 'limit') continue;
    extra[RENAMED[k] ?? k] = v;
  }
  const acp = budget.acp ?? TRAIN_DEFAULTS.acp;
  const options: DesignPlan['options'] = {
    ...extra,
    engine: target.engine ?? 'auto',
    dataDir: target.dataDir,
    images: target.images,
    limit: budget.limit,
    epochs: budgetNumber(budget, 'epochs', 1, true),
    steps: budgetNumber(budget, 'steps', 1, true),
    batch: budgetNumber(budget, 'batch', 1, true),
    warmup: budgetNumber(budget, 'warmup', 1, true),
    samples: budgetNumber(budget, 'samples', 1, true),
    every: budgetNumber(budget, 'every', 1, true),
    lr: budgetNumber(budget, 'lr', 1e-9, false),
    alpha: budgetNumber(budget, 'lrFloor', 0, false),
    acp: acp !== false,
    acpLambda0: budgetNumber(budget, 'acpLambda', 0, false),
    acpLag: budgetNumber(budget, 'acpLag', 1, true),
    seed: trainConfig.seed,
    workers: budgetNumber(budget, 'workers', 1, true),
    resume: Boolean(target.resume),
    stages: target.trainStages,
    snapshots: Boolean(target.snapshots),
    ...(target.assemble === false ? { assemble: false } : {}),
  };
  checkTrainingMemory(options.batch, Math.min(options.workers, model.stages.length), f.L * f.L, dtm.image.length + dtm.label.length);
  return { model, layout, placement, chip, trainConfig, options, labelGain: labelGainOf(budget), initGuidance };
}

/**
 * A batch whose chains cannot fit is refused before anything is allocated (a --batch of 1e9 was a
 * RangeError from a typed array). A lower bound: per chain and stage trained at once, the engine's
 * spins and the last negative sample (N bytes each at least), the positive pair and its input
 * (V bytes each and V float64s).
 */
export function checkTrainingMemory(batch: number, stagesAtOnce: number, N: number, V: number, have = machineMemory()): void {
  const bytes = stagesAtOnce * batch * (3 * N + 10 * V);
  if (bytes > have)
    throw new OptionError(
      'batch',
      batch,
      `${stagesAtOnce} stage(s) trained at once would hold at least ${formatBytes(bytes)} of chains; the machine has ${formatBytes(have)} (a smaller batch${stagesAtOnce > 1 ? ', or fewer workers' : ''})`,
    );
}

/** For the log and the manifest: "14x14 (28x28 pooled by 2), 10 label copies per class". */
export function describeLayout(l: VisibleLayout | null): string {
  return l ? `${describeImage(l.image)} image, ${l.labelCopies} label copies per class` : 'not a Fashion-MNIST layout';
}

type Invocation = { command?: string; finished?: string; wall_s?: number; cell_updates?: number; status?: string };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An earlier invocation as a manifest recorded it: its texts and counts where they are what they should be. */
function invocationOf(e: Record<string, unknown>): Invocation {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  return {
    command: text(e.command),
    finished: text(e.finished),
    wall_s: count(e.wall_s),
    cell_updates: count(e.cell_updates),
    ...(e.status === 'interrupted' ? { status: 'interrupted' } : {}),
  };
}

/** Train the model of a design; writes the model, its log, chart, checkpoints and manifest (see the file comment). */
export async function trainModelForDesign(
  design: DesignSpec,
  budget: TrainBudget,
  target: DesignTarget,
  ctx: RunContext = quietContext(),
): Promise<DesignTrainResult> {
  const plan = planDesign(design, budget, target);
  const { model, layout, trainConfig, options } = plan;
  const out = target.out;
  const T = model.stages.length;
  const g = model.grid;
  ctx.log.info(
    {
      grid: `${g.L}x${g.L}`,
      rules: JSON.stringify(g.rules),
      boundary: g.boundary,
      image: layout ? describeImage(layout.image) : null,
      label_copies: model.dtm!.label_copies,
      placement: plan.placement ?? 'from --init',
    },
    `model layout: ${describeLayout(layout)}${plan.placement ? `, ${plan.placement} placement` : ''}`,
  );
  if (plan.initGuidance)
    ctx.log.info(
      { label_gain: plan.initGuidance.gain, beta: plan.initGuidance.beta },
      `--init: the model's guidance (label gain ${plan.initGuidance.gain}, beta ${plan.initGuidance.beta}) is a generation setting; training starts from its weights at gain 1, beta 1`,
    );
  ctx.log.info(
    { config: trainConfig.name, chip: plan.chip, T, epochs: options.epochs, steps: options.steps, batch: options.batch, workers: options.workers, out },
    'training starting',
  );
  // the bar counts the steps this invocation trains: a --resume continues from its checkpoints' epochs (onStart)
  let bar: ProgressBar = { update: () => {}, stop: () => {} };
  const doneBy = new Map<number, number>();
  let finished = 0;
  let r: TrainResult;
  let guidance: TuneResult | null = null;
  // guidance (label gain and beta) into the trained model before it is written (sim/quality/guidance.ts)
  const finish = async (m: Model): Promise<Model> => {
    const want = plan.labelGain;
    let gain = want === 'auto' ? 1 : want;
    let beta = m.beta;
    if (want === 'auto') {
      if (!canTuneGuidance(m)) {
        ctx.log.debug({}, 'guidance: not a Fashion-MNIST DTM with label cells; none');
      } else {
        bar.stop();
        ctx.log.info(
          { gains: DEFAULT_GAINS.join(','), betas: DEFAULT_BETAS.join(','), images: DEFAULT_TUNE_IMAGES },
          'choosing the label gain and beta on generated images',
        );
        const t = await tuneGuidance(m, trainConfig, { workers: options.workers, engine: options.engine, dataDir: options.dataDir }, ctx);
        guidance = t;
        ({ gain, beta } = t);
        const row = t.rows.find((x) => x.gain === gain && x.beta === beta)!;
        const none = t.rows[0];
        ctx.log.info(
          {
            label_gain: gain,
            beta,
            fd: +row.fd.toFixed(2),
            clamped_accuracy: row.clamped_accuracy,
            fd_without: +none.fd.toFixed(2),
            clamped_accuracy_without: none.clamped_accuracy,
            wall_s: +t.wall_s.toFixed(1),
          },
          `guidance: label gain ${gain}, beta ${beta}`,
        );
      }
    }
    return withGuidance(m, gain, beta);
  };
  try {
    r = await train({
      ...options,
      config: trainConfig,
      model,
      out,
      finish,
      // a stop (a signal) ends training at the next step; what the checkpoints hold is then written up below
      stop: () => ctx.stop(),
      // what dtca train runs (and the sweep's model cache, which speaks in dtca train's flags): its flags
      names: TRAIN_FLAG_NAMES,
      onStart: (epochsDone) => {
        const had = [...epochsDone.values()].reduce((x, y) => x + y, 0);
        const total = epochsDone.size * options.epochs;
        if (had > 0)
          ctx.log.info(
            { epochs_done: had, epochs_total: total, stages: epochsDone.size },
            had >= total
              ? `resuming: every stage already has its ${options.epochs} epochs (nothing left to train)`
              : `resuming: ${had} of ${total} stage-epochs already trained (checkpoints in ${out}.ckpt/), ${total - had} to go`,
          );
        bar = ctx.progress((total - had) * options.steps, 'steps');
      },
      onStep: (stage, done) => {
        doneBy.set(stage, done);
        bar.update(finished + [...doneBy.values()].reduce((x, y) => x + y, 0));
      },
      onEpoch: (rec) => {
        finished += options.steps;
        doneBy.set(rec.stage, 0);
        ctx.log.info(
          {
            stage: rec.stage,
            epoch: rec.epoch,
            rho: +rec.rho.toFixed(4),
            lambda: +rec.lambda.toPrecision(3),
            agreement: +rec.agreement.toFixed(4),
            wall_s: +rec.wall_s.toFixed(1),
          },
          'epoch',
        );
      },
    } as TrainOptions);
  } catch (e) {
    // stopped: the manifest says so and counts this invocation's time (a --resume adds it to its total_wall_s)
    if (e instanceof TrainingStopped && target.assemble !== false)
      writeManifest(e.result, null, { status: 'interrupted', stage_epochs_done: e.done, stage_epochs_total: e.total });
    throw e;
  } finally {
    bar.stop();
  }
  // stages trained apart: their checkpoints only (the run that assembles the model writes the manifest)
  if (target.assemble === false) return { ...plan, model: r.model, result: r, guidance, manifest: {} };
  const manifest = writeManifest(r, guidance, { status: 'complete' });
  return { ...plan, model: r.model, result: r, guidance, manifest };

  /**
   * MODEL.manifest.json: what made the model, enough to train it again and to judge its cost; a
   * --resume keeps the earlier invocations. `status` complete, or interrupted (no model yet: the
   * stage-epochs the checkpoints hold, no guidance).
   */
  function writeManifest(
    r: TrainResult,
    guidance: TuneResult | null,
    end: { status: 'complete' } | { status: 'interrupted'; stage_epochs_done: number; stage_epochs_total: number },
  ): Record<string, unknown> {
    let earlier: Invocation[] = [];
    const manifestPath = `${out}.manifest.json`;
    if (options.resume && existsSync(manifestPath)) {
      try {
        const old = JSON.parse(readInputFile(manifestPath, { what: 'manifest', max: READ_LIMITS.json }).toString('utf8')) as unknown;
        // the file is the earlier invocation's record, carried on as it is when it is one: an entry
        // that is not an object, or a figure that is not a count (a string, null), is dropped rather
        // than summed into total_wall_s (a string wall_s made it a string; a null entry a TypeError)
        if (isRecord(old)) earlier = [...(Array.isArray(old.earlier) ? old.earlier : []), old].filter(isRecord).map(invocationOf);
      } catch {
        earlier = [];
      }
    }
    const o = options;
    // the trainer's options as dtca train names them (and any option a newer recipe added, as it is named)
    const known = new Set([
      'engine',
      'dataDir',
      'images',
      'resume',
      'seed',
      'stages',
      'snapshots',
      'assemble',
      'limit',
      'epochs',
      'steps',
      'batch',
      'warmup',
      'samples',
      'every',
      'lr',
      'alpha',
      'acp',
      'acpLambda0',
      'acpLag',
      'workers',
      'posWarmup',
      'negStart',
      'dataEpochs',
      'dataWarmup',
      'acpWarmup',
      'finalEpochs',
      'finalWarmup',
      'ema',
    ]);
    const extras = Object.fromEntries(Object.entries(o).filter(([k]) => !known.has(k)));
    const stopped = end.status === 'interrupted';
    const manifest = {
      model: out,
      // complete, or interrupted: stopped by a signal before the model was written (no model, no guidance yet)
      ...end,
      command: target.command ?? ['dtca', ...process.argv.slice(2)].join(' '),
      dtca_version: VERSION,
      finished: new Date().toISOString(),
      config: trainConfig.name,
      data: target.images ? `${target.images.n} images given by the caller` : 'Fashion-MNIST train split',
      chip: plan.chip,
      // the clock a cycle-chip model was trained at (dtca run prefers it at that clock: sim/shipped.ts)
      ...(plan.chip === 'cycle' ? { clock_hz: trainConfig.clock.clock_hz } : {}),
      seed: options.seed,
      init: design.init ? (design.initName ?? design.init.source) : null,
      ...(plan.initGuidance ? { init_guidance_set_aside: { label_gain: plan.initGuidance.gain, beta: plan.initGuidance.beta } } : {}),
      // a fine-tune keeps its source's placement (the manifest's or its lineage's)
      placement: plan.placement ?? (design.initManifest ? placementOf(design.initManifest) : null),
      T,
      grid: { L: g.L, rules: g.rules, boundary: g.boundary },
      weight_bits: trainConfig.cell.weight_bits,
      image: layout ? layout.image : null,
      label_copies: model.dtm!.label_copies,
      label_gain: stopped ? null : (r.model.dtm?.label_gain ?? 1),
      beta: stopped ? null : r.model.beta,
      guidance,
      // the chip the guidance was chosen on: the training chip (as dtca model tune records it)
      ...(guidance ? { guidance_chip: plan.chip, ...(plan.chip === 'cycle' ? { guidance_clock_hz: trainConfig.clock.clock_hz } : {}) } : {}),
      options: {
        epochs: o.epochs,
        steps: o.steps,
        batch: o.batch,
        warmup: o.warmup,
        pos_warmup: o.posWarmup ?? o.warmup,
        neg_start: o.negStart ?? 'noise',
        data_epochs: o.negStart === 'data' ? Math.min(o.epochs, o.dataEpochs ?? o.epochs) : 0,
        data_warmup: o.negStart === 'data' ? (o.dataWarmup ?? o.warmup) : null,
        acp_warmup: o.acpWarmup ?? o.warmup,
        final_epochs: Math.min(o.epochs, o.finalEpochs ?? 0),
        final_warmup: o.finalEpochs ? (o.finalWarmup ?? o.warmup) : null,
        ema: o.ema ?? 0,
        samples: o.samples,
        every: o.every,
        lr: o.lr,
        lr_floor: o.alpha,
        acp: o.acp,
        acp_lambda: o.acpLambda0,
        acp_lag: o.acpLag,
        limit: o.limit ?? null,
        train_stages: o.stages ?? null,
        workers: o.workers,
        ...extras,
      },
      engine: r.engine,
      // wall_s: this invocation; stage_epoch_s (the log's wall_s summed), cell_updates and the rate: every stage-epoch of the
      // model, whichever invocation trained it; total_wall_s: this and the earlier invocations that wrote a manifest (complete
      // or interrupted ones; one killed outright, SIGKILL or a second signal, did not)
      wall_s: +r.wall_s.toFixed(1),
      stage_epoch_s: +r.log.reduce((s, e) => s + e.wall_s, 0).toFixed(1),
      cell_updates: r.cell_updates,
      updates_per_ns_per_thread: +r.updates_per_ns.toFixed(4),
      machine: machine(),
      earlier,
      total_wall_s: +(r.wall_s + earlier.reduce((t, e) => t + (e.wall_s || 0), 0)).toFixed(1),
      ...(target.manifestExtra ?? {}),
      ...(design.initManifest ? { lineage: lineageOf(design.initManifest) } : {}),
    };
    writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n', 'train-manifest');
    return manifest;
  }
}
