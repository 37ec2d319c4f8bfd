/**
 * One way to run a workload: plan -> execute -> write the run directory.
 *
 *   planWorkload(request)        every check, once, before anything runs or is written: the model
 *                                (a file's, the shipped one that fits, or a seeded random one), its
 *                                fit to the fabric and its wires, the options against the model,
 *                                the resource estimate (memory refused, time announced), the chip
 *   executeWorkload(plan, ...)   generation (DTM) or a Boltzmann-machine run over the engines, with
 *                                the RunContext's progress and stop; the statistics (stats.json)
 *   writeRunDirectory(...)       pictures, the generated images as .npy, config.json,
 *                                energy-table.json, stats.json and the manifest "complete" — or,
 *                                after a stop, stats.json marked partial and the manifest
 *                                "interrupted"
 *
 * `dtca run` calls all three; `dtca eval MODEL`, `dtca experiment` and sweep points
 * (sim/sweep/point.ts) plan and execute, then keep what they need: a sweep point observes every
 * sweep (ExecuteOptions.sink, .onSweep), keeps no denoising strip (.pictures), records its area its
 * own way (.bare) and writes its own directory (sampleFiles); the generated images are scored by
 * evaluate() through outcomeSamples. The statistics a plan executes to are the same wherever it runs.
 */
import { basename, resolve as resolvePath } from 'node:path';
import { UserError, OptionError, Interrupted, wholeOption } from '../fabric/errors.js';
import type { ResolvedConfig } from './config.js';
import { FLAG_NAMES } from './config-names.js';
import { buildChip, type Chip } from './chip.js';
import { randomModel, checkModelFitsFabric, checkModelWires, checkLabelGain, fmnistLayout, type Model } from './model.js';
import { estimateRun, checkResources, configShape, formatBytes, type Estimate, type RunShape } from './resources.js';
import { newDtmModel, generate, CONFIG_GRID_NAMES, type GenerateResult, type Mapping } from './dtm.js';
import { runModel, type BetaSpec, type EngineReport, type InitMode, type RunResult, type SweepView } from './run.js';
import type { EngineChoice } from '../cells/engine.js';
import { makeStats, makeDtmStats, noteRandomWeights, type Stats } from './stats.js';
import { areaStats } from './area.js';
import { energyTableReport } from './energy-table.js';
import { samplesFigure, denoiseFigure } from './io/images.js';
import { writeEnergyChart, type StageEnergy } from './io/plot.js';
import { writeJson, writeFileAtomic, VERSION, type RunDir } from './io/output.js';
import { isDiskFault } from '../fabric/files.js';
import { turn } from '../fabric/pause.js';
import { openTraceWriter, type TraceOptions } from '../traces/writer.js';
import type { TraceWriter } from '../traces/writer.js';
import type { TraceSink } from '../traces/types.js';
import { samplesNpy, labelsNpy, samplesManifest, generatedSamples, SAMPLES_FILE, LABELS_FILE, type SamplesManifest } from './quality/samples.js';
import type { Samples } from './quality/eval.js';
import type { ConfigLabel } from './label.js';
import { quietContext, type RunContext } from './context.js';
import { shippedModelFor, modelsDir, describeGrid, type ShippedEntry } from './shipped.js';
import { layoutMisfit, IMAGE_SIDES, MIN_LABEL_COPIES } from './layout.js';
import { CLASSES } from './fmnist.js';

/** Stages of the default DTM workload. */
export const DEFAULT_T = 8;

/** The files a DTM run directory holds besides the trace. */
export const RUN_FILES = [
  'manifest.json',
  'config.json',
  'energy-table.json',
  'stats.json',
  'samples.png',
  'denoise.png',
  'energy.svg',
  'energy.png',
  SAMPLES_FILE,
  LABELS_FILE,
];

/** What to run. Undefined fields take the workload's defaults. */
export interface WorkloadRequest {
  config: ResolvedConfig;
  /** a model file's model; absent: the default workload (the shipped DTM that fits, else a random one) */
  model?: Model | null;
  /** without a model: 'dtm' (default) or 'bm' (a seeded random Boltzmann machine) */
  workload?: 'dtm' | 'bm';
  /**
   * without a model: the seeded random model to run, instead of the default workload's (no shipped
   * model is looked for): its seed (default the config's) and, for generation, its stages (default
   * 8) and visible cells ('fmnist', or a number of image cells; default as the default workload's)
   */
  random?: RandomModel;
  /** run this stage of the model as a Boltzmann machine */
  stage?: number;
  // DTM generation
  images?: number;
  /**
   * classes clamped, cycled over the images ([]: none); 'classes': every class in turn when the model
   * is a Fashion-MNIST DTM (its images can be judged), else none. Default: every class in turn for the
   * shipped model and a Fashion-MNIST model file, else none.
   */
  labels?: number[] | 'classes';
  /** label guidance with clamped labels (default the model's label_gain, else 1; sim/model.ts guidedStage) */
  labelGain?: number;
  mapping?: Mapping;
  trace?: { path: string | '' } & TraceOptions;
  // Boltzmann machines
  chains?: number;
  warmup?: number;
  init?: InitMode;
  /** gather the mean spins and edge correlations (default: with a model file) */
  moments?: boolean;
  // both
  sweeps?: number;
  beta?: BetaSpec;
  engine?: EngineChoice;
  batch?: number;
  workers?: number;
  /** try a run the memory estimate refuses */
  force?: boolean;
  /** where the shipped models are (default $DTCA_MODELS, else configs/models; sim/shipped.ts) */
  modelsDir?: string;
  /** the config as the command line named it, as arguments (e.g. ['my.json', '--set', 'fabric.L=48']): for the dtca train hint when no shipped model fits */
  configArgs?: string[];
}

/** The seeded random model of a workload without a model file (WorkloadRequest.random). */
export interface RandomModel {
  seed?: number;
  T?: number;
  visible?: 'fmnist' | number;
}

interface PlanBase {
  config: ResolvedConfig;
  chip: Chip;
  model: Model;
  /** where the model came from: a file, the shipped model, or generated from the seed */
  modelSource: 'file' | 'shipped' | 'random';
  sweeps: number;
  beta?: BetaSpec;
  engine: EngineChoice;
  batch?: number;
  workers: number;
  estimate: Estimate;
}

export interface DtmPlan extends PlanBase {
  kind: 'dtm';
  images: number;
  labels?: number[];
  /** the label guidance asked for (undefined: the model's) */
  labelGain?: number;
  mapping: Mapping;
  trace?: { path: string | '' } & TraceOptions;
}

export interface BmPlan extends PlanBase {
  kind: 'bm';
  chains: number;
  warmup: number;
  init: InitMode;
  stage: number;
  moments: boolean;
}

export type WorkloadPlan = DtmPlan | BmPlan;

/**
 * The shipped model that fits the configured fabric (sim/shipped.ts: the models directory's *.mp
 * with their manifests; same L, rules and boundary), said at info level; null when none fits, with
 * a warning naming the dtca train command for this chip (the default workload is then a seeded
 * random-weight DTM laid on the fabric, see defaultDtm). `configArgs`: the config as the command
 * line named it (a config file or preset, --set values), for that command.
 */
export function shippedModel(cfg: ResolvedConfig, ctx: RunContext = quietContext(), o: { modelsDir?: string; configArgs?: string[] } = {}): Model | null {
  const f = cfg.fabric;
  const chosen = shippedModelFor(cfg, o.modelsDir);
  const rulesName = typeof f.rules === 'string' ? f.rules : JSON.stringify(f.rules);
  if (chosen) {
    ctx.log.info(
      { model: chosen.entry.path, grid: describeGrid(chosen.entry.grid, rulesName), ...(chosen.others.length ? { also_fit: chosen.others } : {}) },
      `shipped model ${chosen.entry.name} fits this fabric${fittedHere(chosen.entry, cfg.clock.clock_hz)}: generating with it`,
    );
    return chosen.model;
  }
  // the same chip for dtca train: the config and --set values the command line named, else the fabric's
  const quote = (t: string) => (/^[\w.,=+:/-]+$/.test(t) ? t : `'${t.replace(/'/g, "'\\''")}'`);
  const fabricArgs = [
    '--set',
    `fabric.L=${f.L}`,
    '--set',
    `fabric.rules=${typeof f.rules === 'string' ? f.rules : JSON.stringify(f.rules)}`,
    ...(f.boundary !== 'open' ? ['--set', `fabric.boundary=${f.boundary}`] : []),
  ];
  const chipArgs = (o.configArgs ?? fabricArgs).map(quote).join(' ');
  ctx.log.warn(
    { models: modelsDir(o.modelsDir) },
    `no shipped model fits this fabric (${f.L}x${f.L}, ${rulesName}${f.boundary !== 'open' ? `, ${f.boundary}` : ''}): generating with random weights; train one with dtca train ${chipArgs ? `${chipArgs} ` : ''}--out MODEL.mp (docs/training.md) and run it with --model MODEL.mp`,
  );
  return null;
}

/** " (trained at 80 MHz on the cycle-accurate chip)" when the chosen model was fitted to this clock, else "" */
function fittedHere(e: ShippedEntry, hz: number): string {
  const at = `${+(hz / 1e6).toPrecision(4)} MHz on the cycle-accurate chip`;
  if (e.trainedClockHz === hz) return ` (trained at ${at})`;
  if (e.tunedClockHz === hz) return ` (its guidance chosen at ${at})`;
  return '';
}

/**
 * The default workload without a shipped model: a seeded random-weight DTM (T = 8) laid on the
 * configured fabric, with the Fashion-MNIST image the grid holds (sim/layout.ts), or on a grid too
 * small for even the smallest, half its colour-0 cells as image cells. `r` chooses its seed
 * (default the config's), stages and visible cells instead.
 */
export function defaultDtm(cfg: ResolvedConfig, chipFabric: { colourCells: [Int32Array, Int32Array] }, r: RandomModel = {}): Model {
  const fmnist = layoutMisfit(cfg.fabric.L, 'random', IMAGE_SIDES[IMAGE_SIDES.length - 1], MIN_LABEL_COPIES) === null;
  const visible = r.visible ?? (fmnist ? 'fmnist' : Math.max(1, Math.floor(chipFabric.colourCells[0].length / 2)));
  return newDtmModel({
    T: r.T ?? DEFAULT_T,
    L: cfg.fabric.L,
    rules: cfg.fabric.rules,
    boundary: cfg.fabric.boundary,
    visible,
    weights: { random: 0.25 },
    seed: r.seed ?? cfg.seed,
    names: CONFIG_GRID_NAMES,
  });
}

/**
 * Why a Boltzmann-machine option is refused on a DTM generation run, with what a DTM uses instead:
 * images stand for chains; each stage starts from its Hinton initialisation and runs --sweeps sweeps.
 */
export function notForDtm(k: 'chains' | 'warmup' | 'init'): string {
  const instead =
    k === 'chains'
      ? 'use --images: one chain per image'
      : k === 'warmup'
        ? 'each stage runs --sweeps sweeps from its initialisation and reads out the last'
        : 'each stage starts from the Hinton initialisation, P(+1) = sigma(beta b)';
  return `not used by a DTM generation run (${instead}; --stage K runs one stage as a Boltzmann machine)`;
}

/** Every check of a workload, once; the chip built; the resources estimated (and refused when they cannot fit). */
export function planWorkload(req: WorkloadRequest, ctx: RunContext = quietContext()): WorkloadPlan {
  const cfg = req.config;
  const fileModel = req.model ?? null;
  if (fileModel && req.workload !== undefined)
    throw new OptionError('workload', req.workload, 'chooses the built-in workload; with --model the model file is the workload', false);
  if (!fileModel && req.stage !== undefined) throw new OptionError('stage', req.stage, 'runs one stage of a model file (--model)', false);
  if (fileModel && req.random !== undefined)
    throw new OptionError('random', JSON.stringify(req.random), 'describes the random model of a workload without a model file', false);
  const dtmRun = fileModel ? Boolean(fileModel.dtm) && req.stage === undefined : req.workload !== 'bm';
  const workers = wholeOption('workers', req.workers, 1) ?? 1;
  const batch = wholeOption('batch', req.batch, 1);
  const engine = req.engine ?? 'auto';
  const cs = configShape(cfg);
  const N = cs.cells;
  const D = cs.directions;
  const sweepCycles = 2 * cfg.clock.phase_cycles;
  const wiresApprox = (N * D) / 2;
  // the default DTM workload: the shipped model where it is installed and fits, else a random-weight DTM
  const shipped = !fileModel && dtmRun && !req.random ? shippedModel(cfg, ctx, { modelsDir: req.modelsDir, configArgs: req.configArgs }) : null;
  const modelFile = fileModel ?? shipped;
  const modelShape = modelFile
    ? { stages: modelFile.stages.length, edgesPerStage: Math.max(...modelFile.stages.map((st) => st.ei.length)) }
    : { stages: dtmRun ? (req.random?.T ?? DEFAULT_T) : 1, edgesPerStage: wiresApprox };
  const estimate = (
    shape: Omit<
      RunShape,
      'cells' | 'directions' | 'workers' | 'stages' | 'edgesPerStage' | 'engine' | 'quantised' | 'engineChoice' | 'analogSubsteps' | 'phaseCycles'
    >,
  ): Estimate => {
    const full: RunShape = { ...shape, ...modelShape, ...cs, workers, batch, engineChoice: engine };
    const est = estimateRun(full);
    for (const w of checkResources(full, est, { force: Boolean(req.force) })) ctx.log.warn(w);
    return est;
  };
  const base = { config: cfg, beta: req.beta, engine, batch, workers };

  if (dtmRun) {
    for (const [k, v] of [
      ['chains', req.chains],
      ['warmup', req.warmup],
      ['init', req.init],
    ] as const) {
      if (v !== undefined) throw new OptionError(k, v, notForDtm(k), false);
    }
    // a Fashion-MNIST DTM with label cells, the shipped model or a model file alike: one image per
    // class unless asked otherwise, so that dtca eval can judge them (clamped accuracy). A --model
    // file ran 4 unlabelled images, so that a run of the model dtca train wrote had no clamped accuracy.
    const perClass = shipped !== null || (fileModel !== null && fmnistLayout(fileModel));
    const images = wholeOption('images', req.images, 1) ?? (perClass ? CLASSES : 4);
    const sweeps = wholeOption('sweeps', req.sweeps, 1) ?? 250;
    const asked = req.labels === 'classes' ? undefined : req.labels;
    const tr = req.trace;
    const T = modelShape.stages;
    const traced = tr?.cells ? (tr.cells[2] - tr.cells[0] + 1) * (tr.cells[3] - tr.cells[1] + 1) : N;
    const tracedSweeps = Math.ceil(sweeps / (tr?.every ?? 1)) + 1;
    const est = estimate({
      chains: images,
      stagesProgrammed: T,
      cellUpdates: images * T * sweeps * N,
      cycles: T * (images * (sweeps * sweepCycles + 2 + N) + wiresApprox * 32),
      sweeps,
      traceRecords: tr === undefined ? 0 : (tr.chains?.length ?? images) * (tr.stages?.length ?? T) * tracedSweeps,
      tracedCells: traced,
      traceSweepsPerStage: tr === undefined ? 0 : tracedSweeps,
    });
    const chip = buildChip(cfg);
    const model = modelFile ?? defaultDtm(cfg, chip.fabric, req.random);
    const dtm = model.dtm as NonNullable<Model['dtm']>;
    checkModelFitsFabric(model, cfg, chip.fabric.rules, FLAG_NAMES);
    if (modelFile) checkModelWires(chip.fabric, model); // a generated model is on the fabric's wires by construction
    model.stages.forEach((st, k) => {
      if (st.clampIdx.length > 0) {
        throw new UserError(
          `${model.source}: stages[${k}].clamp: DTM generation does not use stage clamps (it clamps the label cells with --labels); remove them, or run the stage as a Boltzmann machine with --stage ${k}`,
        );
      }
    });
    const classes = dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0;
    const everyClass = Array.from({ length: CLASSES }, (_, c) => c);
    const labels = asked ?? (perClass || (req.labels === 'classes' && fmnistLayout(model)) ? everyClass : undefined);
    for (const c of labels ?? []) {
      if (dtm.label.length === 0) throw new OptionError('labels', labels!.join(','), 'the model has no label cells');
      if (!Number.isInteger(c) || c < 0 || c >= classes) throw new OptionError('labels', labels!.join(','), `class ${c} outside 0..${classes - 1}`);
    }
    // images take the classes in turn: a class past the last image would silently never be generated
    if (asked && asked.length > images)
      throw new OptionError(
        'labels',
        asked.join(','),
        `${asked.length} classes for ${images} image(s): ${asked.slice(images).join(',')} would never be generated (give --images ${asked.length} or more, or fewer labels)`,
      );
    if (req.labelGain !== undefined && (labels ?? []).length === 0)
      throw new OptionError('labelGain', req.labelGain, 'label guidance acts on clamped labels, and this run clamps none (give --labels)', false);
    for (const s of tr?.stages ?? [])
      if (s >= dtm.T) throw new OptionError('traceStages', tr!.stages!.join(','), `stage ${s} does not exist (the model has stages 0..${dtm.T - 1})`);
    for (const c of tr?.chains ?? [])
      if (c >= images) throw new OptionError('traceChains', tr!.chains!.join(','), `chain ${c} does not exist (--images ${images}: chains 0..${images - 1})`);
    if (tr?.cells && (tr.cells[2] >= cfg.fabric.L || tr.cells[3] >= cfg.fabric.L)) {
      throw new OptionError('traceCells', tr.cells.join(','), `outside the ${cfg.fabric.L}x${cfg.fabric.L} grid`);
    }
    return {
      ...base,
      kind: 'dtm',
      chip,
      model,
      modelSource: fileModel ? 'file' : shipped ? 'shipped' : 'random',
      sweeps,
      estimate: est,
      images,
      labels,
      labelGain: req.labelGain === undefined ? undefined : checkLabelGain(req.labelGain, '--label-gain'),
      mapping: req.mapping ?? 'reprogram',
      trace: tr,
    };
  }

  for (const [k, v] of [
    ['images', req.images],
    ['labels', req.labels],
    ['labelGain', req.labelGain],
    ['mapping', req.mapping],
    ['trace', req.trace],
  ] as const) {
    if (v !== undefined) throw new OptionError(k, v, 'only for DTM generation (a model with a "dtm" section, or the default workload)', false);
  }
  const chains = wholeOption('chains', req.chains, 1) ?? 1;
  const sweeps = wholeOption('sweeps', req.sweeps, 1) ?? 1000;
  const warmup = wholeOption('warmup', req.warmup, 0) ?? (fileModel ? 100 : 0);
  const stage = wholeOption('stage', req.stage, 0) ?? 0;
  if (fileModel && stage >= fileModel.stages.length) throw new OptionError('stage', stage, `the model has stages 0..${fileModel.stages.length - 1}`);
  const est = estimate({
    chains,
    stagesProgrammed: 1,
    cellUpdates: chains * (sweeps + warmup) * N,
    cycles: chains * ((sweeps + warmup) * sweepCycles + 2 + N) + wiresApprox * 32,
    sweeps: sweeps + warmup,
  });
  const chip = buildChip(cfg);
  const model = fileModel ?? randomModel(chip.fabric, req.random?.seed ?? cfg.seed, 0.25, 0.1);
  checkModelFitsFabric(model, cfg, chip.fabric.rules, FLAG_NAMES);
  if (fileModel) checkModelWires(chip.fabric, model);
  return {
    ...base,
    kind: 'bm',
    chip,
    model,
    modelSource: fileModel ? 'file' : 'random',
    sweeps,
    estimate: est,
    chains,
    warmup,
    init: req.init ?? 'hinton',
    stage,
    moments: req.moments ?? Boolean(fileModel),
  };
}

/** Where a run was when it stopped. */
export interface WorkloadProgress {
  at?: { stage?: number; chain?: number; sweep?: number };
  /** DTM: image-stages finished, of images x T; BM: chains finished, of chains */
  done: number;
  of: number;
  unit: 'image-stages' | 'chains';
}

export interface DtmOutcome {
  kind: 'dtm';
  plan: DtmPlan;
  gen: GenerateResult;
  stats: Stats;
}

export interface BmOutcome {
  kind: 'bm';
  plan: BmPlan;
  result: RunResult;
  stats: Stats;
}

export type WorkloadOutcome = DtmOutcome | BmOutcome;

/** A stop while the plan ran: how far it got (for writeStoppedRun), and the reason (a signal's name). */
export class WorkloadStopped extends Error {
  constructor(
    readonly reason: string,
    readonly progress: WorkloadProgress,
  ) {
    super(`stopped by ${reason}`);
  }
}

export interface ExecuteOptions {
  /** a trace sink already opened (writeRunDirectory's caller opens it in the run directory: openPlanTrace), or an in-memory observer of every sweep (generation) */
  sink?: TraceSink;
  /** settles with a reason when the work must stop: ends at once work running on worker threads (--workers), which does not ask ctx.stop */
  stopped?: Promise<string>;
  /** start-up seconds to record in stats.json (the CLI's process uptime at the first sweep) */
  startupS?: () => number;
  /** a Boltzmann-machine run: every sweep's spins (the run then stays in this thread) */
  onSweep?: (v: SweepView) => void;
  /** false: keep no denoising strip (nothing will draw denoise.png); default true */
  pictures?: boolean;
  /** the simulation's statistics alone: no start-up time, no area (a sweep point records its area its own way) */
  bare?: boolean;
}

function logEngine(e: EngineReport, ctx: RunContext): void {
  for (const r of e.refused) ctx.log.info({ engine: r.engine, reason: r.reason }, `engine ${r.engine} not used`);
  ctx.log.debug({ engine: e.used, stats: e.stats }, 'engine');
}

/**
 * Run a plan: generation or a Boltzmann-machine run, progress through ctx.progress, a stop through
 * ctx.stop (or `o.stopped`) as WorkloadStopped with how far the run got. The statistics include the
 * area and, for generation, per-image figures.
 */
export async function executeWorkload(plan: WorkloadPlan, ctx: RunContext = quietContext(), o: ExecuteOptions = {}): Promise<WorkloadOutcome> {
  const { chip, model } = plan;
  const cfg = plan.config;
  const startup = o.startupS ?? (() => 0);
  const shouldStop = (progress: WorkloadProgress) => (at: { stage: number; chain: number; sweep: number }) => {
    progress.at = at;
    return ctx.stop();
  };
  /** the run's result, or WorkloadStopped with how far it got; the bar ends either way */
  const finished = async <T>(run: Promise<T>, progress: WorkloadProgress, bar: { stop(): void }): Promise<T> => {
    try {
      return await run;
    } catch (e) {
      if (!(e instanceof Interrupted)) throw e;
      if (e.at.stage !== undefined) progress.at = e.at;
      throw new WorkloadStopped(e.reason, progress);
    } finally {
      bar.stop();
    }
  };
  /** what every run's statistics carry besides the counts: the random-weights note, start-up, area */
  const completed = (stats: Stats, startupS: number): Stats => {
    noteRandomWeights(stats, model);
    if (o.bare) return stats;
    stats.startup_s = startupS;
    Object.assign(stats, areaStats(cfg, stats));
    if (stats.area_m2 && stats.area_note) ctx.log.warn(String(stats.area_note));
    return stats;
  };
  const cs = configShape(cfg);
  if (plan.kind === 'dtm') {
    const dtm = model.dtm as NonNullable<Model['dtm']>;
    const progress: WorkloadProgress = { done: 0, of: plan.images * dtm.T, unit: 'image-stages' };
    ctx.log.info(
      {
        physics: cs.engine,
        engine: plan.engine,
        cells: cs.cells,
        degree: cs.directions,
        T: dtm.T,
        images: plan.images,
        sweeps: plan.sweeps,
        labels: labelsText(plan.labels, plan.images),
      },
      'generation starting',
    );
    const bar = ctx.progress(plan.images * dtm.T, 'image-stages');
    const startupS = startup();
    const run = generate(chip, model, {
      workers: plan.workers,
      sink: o.sink,
      version: VERSION,
      onImageDone: (d) => {
        progress.done = d;
        bar.update(d);
      },
      images: plan.images,
      sweeps: plan.sweeps,
      labels: plan.labels,
      labelGain: plan.labelGain,
      beta: plan.beta,
      mapping: plan.mapping,
      engine: plan.engine,
      batch: plan.batch,
      keepChains: o.pictures === false ? 0 : Math.min(plan.images, 8),
      onStageDone: (stage, done, total) => ctx.log.debug({ stage, done, of: total }, 'stage done'),
      shouldStop: shouldStop(progress),
      stopped: o.stopped,
    });
    const gen = await finished(run, progress, bar);
    logEngine(gen.engine, ctx);
    if (gen.weightsClipped > gen.guidanceClipped) {
      ctx.log.warn(
        { clipped: gen.programClipped, weights: gen.weightsClipped, full_scale: cfg.cell.weight_full_scale },
        'weights or biases beyond the full scale were clipped',
      );
    } else if (gen.programClipped > 0) {
      // label wires the guidance scaled beyond the full scale clip as on the chip (the gain was chosen so);
      // a strong stage input on top of a bias saturates at the full scale, as on the chip (and in dtca train at this precision)
      ctx.log.info(
        { clipped: gen.programClipped, guided_weights: gen.guidanceClipped, full_scale: cfg.cell.weight_full_scale },
        gen.guidanceClipped > 0
          ? `label wires scaled by the label guidance and biases with their stage input beyond the full scale were clipped, as the chip clips them`
          : 'biases with their stage input beyond the full scale were clipped',
      );
    }
    return { kind: 'dtm', plan, gen, stats: completed(makeDtmStats(chip, gen, model.source, plan.beta ?? model.beta), startupS) };
  }
  const progress: WorkloadProgress = { done: 0, of: plan.chains, unit: 'chains' };
  ctx.log.info(
    {
      physics: cs.engine,
      engine: plan.engine,
      cells: cs.cells,
      degree: cs.directions,
      chains: plan.chains,
      sweeps: plan.sweeps,
      warmup: plan.warmup,
      workers: plan.workers,
    },
    'run starting',
  );
  const bar = ctx.progress(plan.chains, 'chains');
  const startupS = startup();
  const run = runModel(chip, model, {
    chains: plan.chains,
    sweeps: plan.sweeps,
    warmup: plan.warmup,
    init: plan.init,
    stage: plan.stage,
    beta: plan.beta,
    workers: plan.workers,
    moments: plan.moments,
    onSweep: o.onSweep,
    engine: plan.engine,
    batch: plan.batch,
    onChainDone: (d) => {
      progress.done = d;
      bar.update(d);
    },
    shouldStop: shouldStop(progress),
    stopped: o.stopped,
  });
  const result = await finished(run, progress, bar);
  logEngine(result.engine, ctx);
  if (result.program.clipped > 0) {
    ctx.log.warn({ clipped: result.program.clipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
  }
  const stats = makeStats(chip, result, model.source, plan.beta ?? model.beta);
  // which stage of a DTM ran (--stage), and how the chains began
  Object.assign(stats, { ...(model.dtm ? { stage: plan.stage } : {}), init: plan.init });
  return { kind: 'bm', plan, result, stats: completed(stats, startupS) };
}

/** The trace file of a DTM plan in run directory `dir` (default trace.dtct there), or null without --trace. */
export function tracePath(plan: WorkloadPlan, dir: string): string | null {
  if (plan.kind !== 'dtm' || !plan.trace) return null;
  const path = plan.trace.path === '' ? resolvePath(dir, 'trace.dtct') : resolvePath(plan.trace.path);
  if (RUN_FILES.some((f) => resolvePath(dir, f) === path))
    throw new OptionError('trace', plan.trace.path, `the run directory writes its own ${basename(path)} there; name the trace differently`);
  return path;
}

/** Open the plan's trace writer in run directory `dir`, or undefined without a trace. */
export function openPlanTrace(plan: WorkloadPlan, dir: string, ctx: RunContext = quietContext()): TraceWriter | undefined {
  const path = tracePath(plan, dir);
  if (!path || plan.kind !== 'dtm') return undefined;
  const sink = openTraceWriter(path, plan.trace!, { label: '--trace' });
  if (plan.estimate.traceFileBytes > 0) ctx.log.info({ trace: path, size: formatBytes(plan.estimate.traceFileBytes) }, 'trace estimate');
  return sink;
}

/** Close a trace after the run ended one way or another: interrupted, a disk fault (kept to its last record), or a refusal (removed). */
export async function endTrace(sink: TraceWriter | undefined, e: unknown): Promise<void> {
  if (!sink) return;
  if (e instanceof WorkloadStopped) {
    sink.interrupt({ reason: e.reason, at: e.progress.at });
    await sink.close();
  } else if (isDiskFault(e)) sink.fail();
  else sink.abort();
}

/**
 * A stopped run's run directory: config.json, stats.json marked partial (with how far the run got,
 * or the full statistics when only the pictures were left), the manifest "interrupted". Returns the
 * error that ends the command (one line, exit 128 + the signal's number).
 */
export function writeStoppedRun(
  rd: RunDir,
  plan: WorkloadPlan,
  label: ConfigLabel,
  signal: string,
  p: WorkloadProgress,
  wallS: number,
  extra: Record<string, unknown> = {},
  trace?: string,
): Interrupted {
  const at = p.at ?? {};
  const stats = {
    partial: true,
    status: 'interrupted',
    signal,
    config: label.label,
    workload: plan.model.source,
    stopped_at: at,
    progress: { done: p.done, of: p.of, unit: p.unit },
    wall_s: wallS,
    ...extra,
  };
  writeJson(rd.file('config.json'), plan.config);
  writeJson(rd.file('stats.json'), stats);
  rd.finish('interrupted', { signal, model: plan.model.source, ...label.manifest });
  const e = new Interrupted(at, signal);
  e.message = interruptedMessage(signal, at, p, rd.path, trace);
  return e;
}

/**
 * The one line of a stopped run. Where it stopped is named only when work was left: once every
 * image-stage (chain) is done, the last position the simulator reported is history, and "at stage
 * 0, image 3 before sweep 249" beside "(128 of 128 done)" would contradict itself.
 */
export function interruptedMessage(
  signal: string,
  at: WorkloadProgress['at'] & object,
  p: Pick<WorkloadProgress, 'done' | 'of' | 'unit'>,
  dir: string,
  trace?: string,
): string {
  const left = p.done < p.of;
  const where = left
    ? ['stage', 'chain']
        .filter((k) => at[k as keyof typeof at] !== undefined)
        .map((k) => `${k === 'chain' && p.unit === 'image-stages' ? 'image' : k} ${at[k as keyof typeof at]}`)
        .join(', ')
    : '';
  const before = left && at.sweep !== undefined ? ` before sweep ${at.sweep}` : '';
  const when = where ? ` at ${where}${before}` : left ? '' : ` after the last of the ${p.unit}`;
  return `interrupted by ${signal}${when} (${p.done} of ${p.of} ${p.unit} done); partial results in ${dir}: stats.json marked partial${trace ? `, the trace ends with an "interrupted" record (${trace})` : ''}`;
}

/** The classes a DTM run clamps, as its log says them: "none", "0,3,7", "1,2 cycled over 10 images" or "1 (the first 1 of 1,2)". */
export function labelsText(labels: number[] | undefined, images: number): string {
  if (!labels || labels.length === 0) return 'none';
  const list = labels.join(',');
  if (images === labels.length) return list;
  if (images < labels.length) return `${labels.slice(0, images).join(',')} (the first ${images} of ${list})`;
  return `${list} cycled over ${images} images`;
}

/**
 * The generated images of a DTM run, machine-readable (docs/formats.md): samples.npy, labels.npy
 * when the generation was class-clamped, and the manifest's "samples" section that describes them
 * (what dtca eval reads: sim/quality/samples.ts). A run directory and a sweep point write them.
 */
export function sampleFiles(out: DtmOutcome): { npy: Uint8Array; labels: Uint8Array | null; manifest: SamplesManifest } {
  const { plan, gen } = out;
  const labels = plan.labels;
  const labelled = labels !== undefined && labels.length > 0;
  return {
    npy: samplesNpy(gen.outputs),
    labels: labelled ? labelsNpy(plan.images, labels) : null,
    manifest: samplesManifest(plan.model.dtm as NonNullable<Model['dtm']>, plan.images, labelled),
  };
}

/**
 * The generated images of a DTM run as evaluate() (sim/quality/eval.ts) scores them: the
 * classifier's images (a pooled model's upscaled) and each image's clamped class. `what` names the
 * model in the error when its images are not Fashion-MNIST's.
 */
export function outcomeSamples(out: DtmOutcome, what?: string): Samples {
  return generatedSamples(out.gen.outputs, out.plan.model.dtm as NonNullable<Model['dtm']>, out.plan.labels, what);
}

/**
 * The run directory of a finished run: pictures and the generated images (DTM), then config.json,
 * energy-table.json, stats.json and the manifest "complete". `stop()` is asked between pictures:
 * a stop there keeps the (complete) statistics and marks the run interrupted.
 */
export async function writeRunDirectory(
  rd: RunDir,
  out: WorkloadOutcome,
  label: ConfigLabel,
  o: { stop?: () => string | null; wallS?: () => number } = {},
): Promise<void> {
  const { plan, stats } = out;
  stats.config = label.label;
  let extra: Record<string, unknown> = {};
  if (out.kind === 'dtm') {
    const { gen } = out;
    const dtm = plan.model.dtm as NonNullable<Model['dtm']>;
    const p = out.plan;
    const dir = rd.path;
    // the default workload without a fitting shipped model says so on its pictures
    const what = `${plan.modelSource === 'random' ? 'random weights (no shipped model fits this fabric)' : basename(plan.model.source)}, ${label.label}, ${configShape(plan.config).engine} physics, T = ${dtm.T}, K = ${plan.sweeps}${gen.labelGain !== 1 ? `, label gain ${gen.labelGain}` : ''}`;
    const labels = p.labels;
    const files = sampleFiles(out);
    // the pictures and the generated images, one at a time: a signal between them keeps the (complete) statistics
    const pictures: [string, () => Promise<unknown> | void][] = [
      ['samples.png', async () => writeFileAtomic(`${dir}/samples.png`, await samplesFigure(gen.outputs, dtm, labels, `Generated images\n${what}`))],
      [
        'denoise.png',
        async () =>
          writeFileAtomic(
            `${dir}/denoise.png`,
            await denoiseFigure(gen.strip, dtm, labels, `Denoising: input, then the visible cells after each stage (noisiest to cleanest)\n${what}`),
          ),
      ],
      ['energy.svg/png', () => writeEnergyChart(dir, stats.stages as StageEnergy[], p.images)],
      // the generated images, machine-readable (dtca eval reads them; docs/formats.md)
      [SAMPLES_FILE, () => writeFileAtomic(`${dir}/${SAMPLES_FILE}`, files.npy)],
      ...(files.labels ? [[LABELS_FILE, () => writeFileAtomic(`${dir}/${LABELS_FILE}`, files.labels!)] as [string, () => void]] : []),
    ];
    const written: string[] = [];
    const stopIfAsked = async () => {
      if (!o.stop) return;
      await turn(); // a signal handler on this thread runs before the question (fabric/pause.ts)
      const signal = o.stop();
      if (!signal) return;
      const progress: WorkloadProgress = { done: p.images * dtm.T, of: p.images * dtm.T, unit: 'image-stages' };
      throw writeStoppedRun(rd, plan, label, signal, progress, o.wallS?.() ?? 0, {
        ...stats,
        partial: true,
        status: 'interrupted',
        signal,
        during: 'pictures',
        pictures_written: written,
      });
    };
    for (const [name, draw] of pictures) {
      await stopIfAsked();
      await draw();
      written.push(name);
    }
    await stopIfAsked();
    // where the weights came from: a --model file, the shipped model that fits, or random (none fits)
    extra = {
      samples: files.manifest,
      weights:
        plan.modelSource === 'file' ? 'model file' : plan.modelSource === 'shipped' ? 'shipped model' : 'random weights (no shipped model fits this fabric)',
    };
  }
  writeJson(rd.file('config.json'), plan.config);
  writeJson(rd.file('energy-table.json'), energyTableReport(plan.chip));
  writeJson(rd.file('stats.json'), stats);
  rd.finish('complete', { model: plan.model.source, ...label.manifest, ...extra });
}
