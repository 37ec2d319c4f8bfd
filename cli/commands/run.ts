/** `dtca run`: DTM generation or a Boltzmann-machine run, written to a run directory. */
import type { Argv } from 'yargs';
import { resolve as resolvePath, basename } from 'node:path';
import { UserError, Interrupted } from '../../fabric/errors.js';
import { listenForStop, type StopSignal } from '../signals.js';
import type { ResolvedConfig } from '../../sim/config.js';
import { shippedModelFor, modelsDir, describeGrid } from '../../sim/shipped.js';
import { buildChip, type Chip } from '../../sim/chip.js';
import { readModel, randomModel, checkModelFitsFabric, checkModelWires, type Model } from '../../sim/model.js';
import { estimateRun, checkResources, maxWorkers, formatBytes, formatSeconds, configShape, WORKERS_PER_CORE, type RunShape } from '../../sim/resources.js';
import { newDtmModel, generate, type Mapping } from '../../sim/dtm.js';
import { samplesFigure, denoiseFigure } from '../../sim/io/images.js';
import { writeEnergyChart, type StageEnergy } from '../../sim/io/plot.js';
import { runModel, INIT_MODES, type InitMode, type EngineReport } from '../../sim/run.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { makeStats, makeDtmStats, formatStats, type Stats } from '../../sim/stats.js';
import { withRunDir, writeJson, writeFileAtomic, VERSION, type RunDir } from '../../sim/io/output.js';
import { isDiskFault, isStdout } from '../../fabric/files.js';
import { makeProgress } from '../progress.js';
import { openTraceWriter, parseIndexList, parseCellRect } from '../../traces/writer.js';
import { areaStats } from '../../sim/area.js';
import { energyTableReport } from '../../sim/energy-table.js';
import { configLabel, type ConfigLabel } from '../../sim/label.js';
import { log, loadConfig, withConfigOptions, positiveInt, parseBeta, parseIntList, type CommonArgs } from '../common.js';
import { imageSourceOf, layoutMisfit, IMAGE_SIDES, MIN_LABEL_COPIES } from '../../sim/layout.js';
import { samplesNpy, labelsNpy, SAMPLES_FILE, LABELS_FILE, type SamplesManifest } from '../../sim/quality/samples.js';

/** Stages of the default DTM workload. */
const DEFAULT_T = 8;

/**
 * The shipped model that fits the configured fabric (sim/shipped.ts: configs/models/*.mp with their
 * manifests, or $DTCA_MODELS), said at info level; null when none fits, with a warning (the
 * default workload is then a seeded random-weight DTM laid on the fabric, see defaultDtm).
 */
function shippedModel(cfg: ResolvedConfig, configRef: string | undefined, sets: string[]): Model | null {
  const f = cfg.fabric;
  const chosen = shippedModelFor(cfg);
  const rulesName = typeof f.rules === 'string' ? f.rules : JSON.stringify(f.rules);
  if (chosen) {
    log.info({ model: chosen.entry.path, grid: describeGrid(chosen.entry.grid, rulesName), ...(chosen.others.length ? { also_fit: chosen.others } : {}) }, `shipped model ${chosen.entry.name} fits this fabric: generating with it`);
    return chosen.model;
  }
  // the same chip for dtca train: the config named and the --set values given
  const quote = (t: string) => (/^[\w.,=+:/-]+$/.test(t) ? t : `'${t.replace(/'/g, "'\\''")}'`);
  const chipArgs = [...(configRef ? [quote(configRef)] : []), ...sets.map((v) => `--set ${quote(v)}`)].join(' ');
  log.warn(
    { models: modelsDir() },
    `no shipped model fits this fabric (${f.L}x${f.L}, ${rulesName}${f.boundary !== 'open' ? `, ${f.boundary}` : ''}): generating with random weights; train one with dtca train ${chipArgs ? `${chipArgs} ` : ''}--out MODEL.mp (docs/training.md) and run it with --model MODEL.mp`,
  );
  return null;
}

/**
 * The default workload without a shipped model: a seeded random-weight DTM (T = 8) laid on the
 * configured fabric, with the Fashion-MNIST image the grid holds (sim/layout.ts), or on a grid too
 * small for even the smallest, half its colour-0 cells as image cells.
 */
function defaultDtm(cfg: ResolvedConfig, chipFabric: { colourCells: [Int32Array, Int32Array] }): Model {
  const fmnist = layoutMisfit(cfg.fabric.L, 'random', IMAGE_SIDES[IMAGE_SIDES.length - 1], MIN_LABEL_COPIES) === null;
  const visible = fmnist ? 'fmnist' : Math.max(1, Math.floor(chipFabric.colourCells[0].length / 2));
  return newDtmModel({
    T: DEFAULT_T,
    L: cfg.fabric.L,
    rules: cfg.fabric.rules,
    boundary: cfg.fabric.boundary,
    visible,
    weights: { random: 0.25 },
    seed: cfg.seed,
  });
}

/** The files a DTM run directory holds besides the trace. */
const RUN_FILES = ['manifest.json', 'config.json', 'energy-table.json', 'stats.json', 'samples.png', 'denoise.png', 'energy.svg', 'energy.png', SAMPLES_FILE, LABELS_FILE];

/** The run's last files: the resolved config, the energy table, stats.json, and the manifest saying "complete". */
function writeRunFiles(rd: RunDir, cfg: ResolvedConfig, model: Model, stats: Stats, chip: Chip, label: ConfigLabel, extra: Record<string, unknown> = {}): void {
  writeJson(rd.file('config.json'), cfg);
  writeJson(rd.file('energy-table.json'), energyTableReport(chip));
  writeJson(rd.file('stats.json'), stats);
  rd.finish('complete', { model: model.source, ...label.manifest, ...extra });
}

function parseEngine(v: unknown): EngineChoice {
  if (v === undefined) return 'auto';
  if (!ENGINE_CHOICES.includes(v as EngineChoice)) throw new UserError(`--engine ${String(v)}: one of ${ENGINE_CHOICES.join(', ')}`);
  return v as EngineChoice;
}

/** once per run: which engine ran and why auto passed over faster ones */
function logEngine(e: EngineReport): void {
  for (const r of e.refused) log.info({ engine: r.engine, reason: r.reason }, `engine ${r.engine} not used`);
  log.debug({ engine: e.used, stats: e.stats }, 'engine');
}

/** DTM or BM, and the flags that belong to each (given flags that do not apply are errors). */
const DTM_ONLY = ['images', 'labels', 'mapping', 'trace', 'traceEvery', 'traceStages', 'traceChains', 'traceCells'] as const;
const BM_ONLY = ['chains', 'warmup', 'init'] as const;
const FLAG: Record<string, string> = { traceEvery: '--trace-every', traceStages: '--trace-stages', traceChains: '--trace-chains', traceCells: '--trace-cells' };
const flagName = (k: string) => FLAG[k] ?? `--${k}`;

function checkWorkers(v: number | undefined): number {
  const w = positiveInt('workers', v) ?? 1;
  const max = maxWorkers();
  if (w > max) throw new UserError(`--workers ${w}: at most ${max} on this machine (${WORKERS_PER_CORE} per core); results do not depend on it`);
  return w;
}

async function cmdRun(a: CommonArgs & Record<string, unknown>): Promise<void> {
  // SIGINT/SIGTERM stop the run cleanly (cli/signals.ts); the watcher starts while the run is checked
  const listening = listenForStop();
  try {
    await runChecked(a, listening);
  } finally {
    (await listening).dispose();
  }
}

/** A signal before the run directory was claimed: nothing was written. */
function stoppedEarly(signal: string): Interrupted {
  const e = new Interrupted({}, signal);
  e.message = `interrupted by ${signal} before the run started; nothing was written`;
  return e;
}

/** Where a run was when it stopped, for stats.json and the one line on stderr. */
interface Progress {
  at?: { stage?: number; chain?: number; sweep?: number };
  /** DTM: image-stages finished, of images x T; BM: chains finished, of chains */
  done: number;
  of: number;
  unit: 'image-stages' | 'chains';
}

/** A promise that rejects with Interrupted when a signal arrives first (for work on other threads). */
function untilStopped<T>(p: Promise<T>, stop: StopSignal): Promise<T> {
  p.catch(() => {}); // if the signal wins, what the threads do afterwards no longer matters
  return Promise.race([p, stop.received.then((s): T => { throw new Interrupted({}, s); })]);
}

/**
 * A stopped run's run directory: config.json, stats.json marked partial (with how far the run got,
 * or the full statistics when only the pictures were left), the manifest "interrupted". Returns the
 * error that ends the command (one line, exit 128 + the signal's number).
 */
function stoppedRun(rd: RunDir, cfg: ResolvedConfig, label: ConfigLabel, model: Model, signal: string, p: Progress, t0: number, extra: Record<string, unknown> = {}, trace?: string): Interrupted {
  const at = p.at ?? {};
  const stats = { partial: true, status: 'interrupted', signal, config: label.label, workload: model.source, stopped_at: at, progress: { done: p.done, of: p.of, unit: p.unit }, wall_s: (performance.now() - t0) / 1000, ...extra };
  writeJson(rd.file('config.json'), cfg);
  writeJson(rd.file('stats.json'), stats);
  rd.finish('interrupted', { signal, model: model.source, ...label.manifest });
  const where = ['stage', 'chain'].filter((k) => at[k as keyof typeof at] !== undefined).map((k) => `${k === 'chain' && p.unit === 'image-stages' ? 'image' : k} ${at[k as keyof typeof at]}`).join(', ');
  const before = at.sweep !== undefined ? ` before sweep ${at.sweep}` : '';
  const e = new Interrupted(at, signal);
  e.message = `interrupted by ${signal}${where ? ` at ${where}${before}` : ''} (${p.done} of ${p.of} ${p.unit} done); partial results in ${rd.path}: stats.json marked partial${trace ? `, the trace ends with an "interrupted" record (${trace})` : ''}`;
  return e;
}

async function runChecked(a: CommonArgs & Record<string, unknown>, listening: Promise<StopSignal>): Promise<void> {
  // ---- everything is checked before anything runs or is written
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const cfg = loadConfig(a, [], seed === undefined ? [] : [{ source: `--seed ${seed}`, path: 'seed', value: seed }]);
  // labelled by the file or preset named, plus the command line's changes (not the extended preset's name)
  const label = configLabel(a.config, a.set ?? [], Boolean(a.ideal));
  if (a.model !== undefined && a.workload !== undefined) throw new UserError('--workload: chooses the built-in workload; with --model the model file is the workload');
  const fileModel = a.model === undefined ? null : readModel(String(a.model));
  const dtmRun = fileModel ? Boolean(fileModel.dtm) && a.stage === undefined : a.workload !== 'bm';
  if (!fileModel && a.stage !== undefined) throw new UserError('--stage: runs one stage of a model file (--model)');
  for (const k of dtmRun ? BM_ONLY : DTM_ONLY) {
    if (a[k] !== undefined) {
      throw new UserError(
        dtmRun
          ? `${flagName(k)}: not used by a DTM generation run (use --images; --stage K runs one stage as a Boltzmann machine)`
          : `${flagName(k)}: only for DTM generation (a model with a "dtm" section, or the default workload)`,
      );
    }
  }
  if (a.trace === undefined) for (const k of ['traceEvery', 'traceStages', 'traceChains', 'traceCells']) if (a[k] !== undefined) throw new UserError(`${flagName(k)}: thins a trace; add --trace`);
  if (a.trace !== undefined && isStdout(String(a.trace))) throw new UserError('--trace -: a trace is binary and the run prints its table on standard output; name a file');
  const workers = checkWorkers(a.workers as number | undefined);
  if (a.trace !== undefined && workers > 1) throw new UserError(`--workers ${workers}: a trace is written in order by one thread; drop --workers or --trace`);
  const beta = parseBeta(a.beta);
  const engine = parseEngine(a.engine);
  const batch = positiveInt('batch', a.batch as number | undefined);
  const cs = configShape(cfg);
  const N = cs.cells;
  const D = cs.directions;
  const physics = cs.engine;
  // the default DTM workload: the shipped model where it is installed and fits, else a random-weight DTM
  const shipped = !fileModel && dtmRun ? shippedModel(cfg, a.config, a.set ?? []) : null;
  const modelFile = fileModel ?? shipped;
  const claim = { force: Boolean(a.force), canForce: true, seed: cfg.seed };
  const sweepCycles = 2 * cfg.clock.phase_cycles;
  const wiresApprox = (N * D) / 2;
  const modelShape = modelFile
    ? { stages: modelFile.stages.length, edgesPerStage: Math.max(...modelFile.stages.map((st) => st.ei.length)) }
    : { stages: dtmRun ? DEFAULT_T : 1, edgesPerStage: wiresApprox };
  const resources = (shape: Omit<RunShape, 'cells' | 'directions' | 'workers' | 'stages' | 'edgesPerStage' | 'engine' | 'analogSubsteps' | 'phaseCycles'>) => {
    const full: RunShape = { ...shape, ...modelShape, ...cs, workers, batch };
    const est = estimateRun(full);
    for (const w of checkResources(full, est, { force: Boolean(a.force) })) log.warn(w);
    return est;
  };

  if (dtmRun) {
    // the shipped model: one image per class unless asked otherwise
    const images = positiveInt('images', a.images as number) ?? (shipped ? 10 : 4);
    const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 250;
    const labels = parseIntList('labels', a.labels) ?? (shipped ? Array.from({ length: 10 }, (_, c) => c) : undefined);
    const traceOpts = {
      every: positiveInt('trace-every', a.traceEvery as number | undefined),
      stages: a.traceStages === undefined ? undefined : parseIndexList('--trace-stages', String(a.traceStages)),
      chains: a.traceChains === undefined ? undefined : parseIndexList('--trace-chains', String(a.traceChains)),
      cells: a.traceCells === undefined ? undefined : parseCellRect(String(a.traceCells)),
    };
    const T = modelShape.stages;
    const traced = traceOpts.cells ? (traceOpts.cells[2] - traceOpts.cells[0] + 1) * (traceOpts.cells[3] - traceOpts.cells[1] + 1) : N;
    const tracedSweeps = Math.ceil(sweeps / (traceOpts.every ?? 1)) + 1;
    const est = resources({
      chains: images,
      stagesProgrammed: T,
      cellUpdates: images * T * sweeps * N,
      cycles: T * (images * (sweeps * sweepCycles + 2 + N) + wiresApprox * 32),
      sweeps,
      traceRecords: a.trace === undefined ? 0 : (traceOpts.chains?.length ?? images) * (traceOpts.stages?.length ?? T) * tracedSweeps,
      tracedCells: traced,
    });
    const chip = buildChip(cfg);
    const model = modelFile ?? defaultDtm(cfg, chip.fabric);
    const dtm = model.dtm as NonNullable<Model['dtm']>;
    checkModelFitsFabric(model, cfg, chip.fabric.rules);
    if (modelFile) checkModelWires(chip.fabric, model); // a generated model is on the fabric's wires by construction
    model.stages.forEach((st, k) => {
      if (st.clampIdx.length > 0) {
        throw new UserError(`${model.source}: stages[${k}].clamp: DTM generation does not use stage clamps (it clamps the label cells with --labels); remove them, or run the stage as a Boltzmann machine with --stage ${k}`);
      }
    });
    const classes = dtm.label.length / dtm.label_copies;
    for (const c of labels ?? []) {
      if (dtm.label.length === 0) throw new UserError(`--labels ${String(a.labels)}: the model has no label cells`);
      if (c >= classes) throw new UserError(`--labels ${String(a.labels)}: class ${c} outside 0..${classes - 1}`);
    }
    for (const s of traceOpts.stages ?? []) if (s >= dtm.T) throw new UserError(`--trace-stages ${String(a.traceStages)}: stage ${s} does not exist (the model has stages 0..${dtm.T - 1})`);
    for (const c of traceOpts.chains ?? []) if (c >= images) throw new UserError(`--trace-chains ${String(a.traceChains)}: chain ${c} does not exist (--images ${images}: chains 0..${images - 1})`);
    if (traceOpts.cells && (traceOpts.cells[2] >= cfg.fabric.L || traceOpts.cells[3] >= cfg.fabric.L)) {
      throw new UserError(`--trace-cells ${String(a.traceCells)}: outside the ${cfg.fabric.L}x${cfg.fabric.L} grid`);
    }
    const mapping = (a.mapping as Mapping | undefined) ?? 'reprogram';
    const stop = await listening;
    if (stop.signal) throw stoppedEarly(stop.signal);
    await withRunDir(a.out as string | undefined, label.slug, async (dir, rd) => {
      const t0 = performance.now();
      const progress: Progress = { done: 0, of: images * dtm.T, unit: 'image-stages' };
      log.info({ config: label.label, physics, engine, cells: N, degree: D, T: dtm.T, images, sweeps, memory: formatBytes(est.bytes), estimate: formatSeconds(est.seconds) }, 'generation starting');
      const tracePath = a.trace === undefined ? null : a.trace === '' ? resolvePath(dir, 'trace.dtct') : resolvePath(String(a.trace));
      if (tracePath && RUN_FILES.some((f) => resolvePath(dir, f) === tracePath)) throw new UserError(`--trace ${String(a.trace)}: the run directory writes its own ${basename(tracePath)} there; name the trace differently`);
      const sink = tracePath ? openTraceWriter(tracePath, traceOpts) : undefined;
      if (sink && est.traceFileBytes > 0) log.info({ trace: tracePath, size: formatBytes(est.traceFileBytes) }, 'trace estimate');
      const bar = makeProgress(images * dtm.T, 'image-stages');
      const startupS = process.uptime();
      const run = generate(chip, model, {
        workers,
        sink,
        version: VERSION,
        onImageDone: (d) => {
          progress.done = d;
          bar.tick(d);
        },
        images,
        sweeps,
        labels,
        beta,
        mapping,
        engine,
        batch,
        keepChains: Math.min(images, 8),
        onStageDone: (stage, done, total) => log.debug({ stage, done, of: total }, 'stage done'),
        shouldStop: (at) => {
          progress.at = at;
          return stop.signal !== null;
        },
      });
      const gen = await untilStopped(run, stop).catch(async (e: unknown) => {
        bar.done();
        if (e instanceof Interrupted) {
          const signal = stop.signal ?? e.reason;
          if (e.at.stage !== undefined) progress.at = e.at;
          if (sink) {
            sink.interrupt({ reason: signal, at: progress.at });
            await sink.close();
          }
          throw stoppedRun(rd, cfg, label, model, signal, progress, t0, {}, sink ? sink.finalPath : undefined);
        }
        // a full disk keeps the trace up to its last whole record; a refusal leaves nothing
        if (isDiskFault(e)) sink?.fail();
        else sink?.abort();
        throw e;
      });
      bar.done();
      logEngine(gen.engine);
      if (sink) {
        await sink.close();
        log.info({ trace: tracePath }, 'trace written');
      }
      if (gen.weightsClipped > 0) {
        log.warn({ clipped: gen.programClipped, weights: gen.weightsClipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
      } else if (gen.programClipped > 0) {
        // a strong stage input on top of a bias saturates at the full scale, as on the chip (and in dtca train at this precision)
        log.info({ clipped: gen.programClipped, full_scale: cfg.cell.weight_full_scale }, 'biases with their stage input beyond the full scale were clipped');
      }
      const stats = makeDtmStats(chip, gen, model.source);
      stats.config = label.label;
      stats.startup_s = startupS;
      Object.assign(stats, areaStats(cfg, stats));
      if (stats.area_m2 && stats.area_note) log.warn(String(stats.area_note));
      // the default workload without a fitting shipped model says so on its pictures
      const randomDefault = !modelFile;
      const what = `${randomDefault ? 'random weights (no shipped model fits this fabric)' : basename(model.source)}, ${label.label}, ${physics} physics, T = ${dtm.T}, K = ${sweeps}`;
      const labelled = labels !== undefined && labels.length > 0;
      // the pictures and the generated images, one at a time: a signal between them keeps the (complete) statistics
      const pictures: [string, () => Promise<unknown> | void][] = [
        ['samples.png', async () => writeFileAtomic(`${dir}/samples.png`, await samplesFigure(gen.outputs, dtm, labels, `Generated images\n${what}`))],
        ['denoise.png', async () => writeFileAtomic(`${dir}/denoise.png`, await denoiseFigure(gen.strip, dtm, labels, `Denoising: input, then the visible cells after each stage (noisiest to cleanest)\n${what}`))],
        ['energy.svg/png', () => writeEnergyChart(dir, stats.stages as StageEnergy[], images)],
        // the generated images, machine-readable (dtca eval reads them; README "Run directory")
        [SAMPLES_FILE, () => writeFileAtomic(`${dir}/${SAMPLES_FILE}`, samplesNpy(gen.outputs))],
        ...(labelled ? [[LABELS_FILE, () => writeFileAtomic(`${dir}/${LABELS_FILE}`, labelsNpy(images, labels))] as [string, () => void]] : []),
      ];
      const samples: SamplesManifest = {
        file: SAMPLES_FILE,
        labels_file: labelled ? LABELS_FILE : null,
        images,
        visible: dtm.image.length + dtm.label.length,
        image_cells: dtm.image.length,
        image_shape: dtm.image_shape,
        label_copies: dtm.label_copies,
        classes: dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0,
        image_source: imageSourceOf(dtm),
      };
      const written: string[] = [];
      const stopIfAsked = () => {
        if (!stop.signal) return;
        progress.done = progress.of;
        throw stoppedRun(rd, cfg, label, model, stop.signal, progress, t0, { ...stats, partial: true, status: 'interrupted', signal: stop.signal, during: 'pictures', pictures_written: written });
      };
      for (const [name, draw] of pictures) {
        stopIfAsked();
        await draw();
        written.push(name);
      }
      stopIfAsked();
      // where the weights came from: a --model file, the shipped model that fits, or random (none fits)
      const weights = fileModel ? 'model file' : shipped ? 'shipped model' : 'random weights (no shipped model fits this fabric)';
      writeRunFiles(rd, cfg, model, stats, chip, label, { samples, weights });
      log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
      process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
    }, claim);
    return;
  }
  const stop = await listening;
  const chains = positiveInt('chains', a.chains as number) ?? 1;
  const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 1000;
  const warmup = positiveInt('warmup', a.warmup as number | undefined, 0) ?? (fileModel ? 100 : 0);
  const stage = positiveInt('stage', a.stage as number | undefined, 0) ?? 0;
  if (fileModel && stage >= fileModel.stages.length) throw new UserError(`--stage ${stage}: the model has stages 0..${fileModel.stages.length - 1}`);
  const est = resources({ chains, stagesProgrammed: 1, cellUpdates: chains * (sweeps + warmup) * N, cycles: chains * ((sweeps + warmup) * sweepCycles + 2 + N) + wiresApprox * 32, sweeps: sweeps + warmup });
  const chip = buildChip(cfg);
  const model = fileModel ?? randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  checkModelFitsFabric(model, cfg, chip.fabric.rules);
  if (fileModel) checkModelWires(chip.fabric, model);
  if (stop.signal) throw stoppedEarly(stop.signal);
  await withRunDir(a.out as string | undefined, label.slug, async (dir, rd) => {
    log.info({ config: label.label, physics, engine, cells: N, degree: D, chains, sweeps, warmup, workers, memory: formatBytes(est.bytes), estimate: formatSeconds(est.seconds) }, 'run starting');
    const bar = makeProgress(chains, 'chains');
    const startupS = process.uptime();
    const t0 = performance.now();
    const progress: Progress = { done: 0, of: chains, unit: 'chains' };
    const run = runModel(chip, model, {
      chains,
      sweeps,
      warmup,
      init: (a.init as InitMode | undefined) ?? 'hinton',
      stage,
      // START:END runs linearly over all warm-up and measured sweeps
      beta: beta === undefined || typeof beta === 'number' ? beta : (sweep, total) => (total <= 1 ? beta.end : beta.start + ((beta.end - beta.start) * sweep) / (total - 1)),
      workers,
      moments: Boolean(fileModel),
      engine,
      batch,
      onChainDone: (d) => {
        progress.done = d;
        bar.tick(d);
      },
      shouldStop: (at) => {
        progress.at = at;
        return stop.signal !== null;
      },
    });
    const result = await untilStopped(run, stop).catch((e: unknown) => {
      bar.done();
      if (e instanceof Interrupted) {
        if (e.at.stage !== undefined) progress.at = e.at;
        throw stoppedRun(rd, cfg, label, model, stop.signal ?? e.reason, progress, t0);
      }
      throw e;
    });
    bar.done();
    logEngine(result.engine);
    if (result.program.clipped > 0) {
      log.warn({ clipped: result.program.clipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
    }
    const stats = makeStats(chip, result, model.source);
    stats.config = label.label;
    stats.startup_s = startupS;
    Object.assign(stats, areaStats(cfg, stats));
    if (stats.area_m2 && stats.area_note) log.warn(String(stats.area_note));
    writeRunFiles(rd, cfg, model, stats, chip, label);
    log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
    process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
  }, claim);
}

export function runCommand<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      'run [config]',
      'simulate the chip on a workload and write a run directory',
      (y) =>
        withConfigOptions(y)
          .option('model', { type: 'string', describe: 'model file (JSON or msgpack); default: the shipped Fashion-MNIST DTM (configs/models/fmnist-t8.mp) where installed and it fits, else a seeded random-weight DTM (T = 8)' })
          .option('workload', { choices: ['dtm', 'bm'], describe: 'without --model: the default DTM (default), or a random Boltzmann machine' })
          .option('images', { type: 'number', describe: 'DTM: images to generate, one chain each (default 4; the shipped model: 10, one per class)' })
          .option('labels', { type: 'string', describe: 'DTM: classes to clamp, cycled over images, e.g. 0,3,7' })
          .option('mapping', { choices: ['reprogram', 'pipeline'], describe: 'DTM: one array re-programmed per stage (reprogram, the default), or T arrays in a pipeline' })
          .option('beta', { type: 'string', describe: 'beta: a number, or START:END linear over each stage\'s sweeps (e.g. 0.8:1.2)' })
          .option('trace', { type: 'string', describe: 'DTM: write a binary trace (bare --trace: trace.dtct in the run directory)' })
          .option('trace-every', { type: 'number', describe: 'trace every Nth sweep (and each stage\'s last)' })
          .option('trace-stages', { type: 'string', describe: 'trace only these stages, e.g. 0,1 or 0-3' })
          .option('trace-chains', { type: 'string', describe: 'trace only these chains (images)' })
          .option('trace-cells', { type: 'string', describe: 'trace only the cells in the rectangle x0,y0,x1,y1' })
          .option('chains', { type: 'number', describe: 'BM: independent chains (default 1)' })
          .option('sweeps', { type: 'number', describe: 'sweeps per stage (DTM, default 250) or measured sweeps per chain (BM, default 1000)' })
          .option('warmup', { type: 'number', describe: 'BM: warm-up sweeps before measuring (default 100 with --model, else 0)' })
          .option('stage', { type: 'number', describe: 'run one stage of the model as a Boltzmann machine' })
          .option('init', { choices: INIT_MODES, describe: 'BM: initial state (default hinton: P(+1) = sigma(beta b))' })
          .option('seed', { type: 'number', describe: 'seed (overrides the config\'s)' })
          .option('engine', { choices: ENGINE_CHOICES, describe: 'latch engine: auto (the default: the fastest that can run), reference, wasm (one chain at a time), batch (chains in SIMD lanes)' })
          .option('batch', { type: 'number', describe: 'most chains one engine holds at a time (default: all of a worker\'s)' })
          .option('workers', { type: 'number', describe: `worker threads over chains or images (results do not depend on it; not with --trace; at most ${WORKERS_PER_CORE} per core)` })
          .option('out', { type: 'string', describe: 'run directory (default runs/<time>-<suffix>-<config>); must be new or empty' })
          .option('force', { type: 'boolean', default: false, describe: 'clear a used run directory (--out) first; and try a run the memory estimate refuses' })
          .option('json', { type: 'boolean', default: false, describe: 'print stats.json to stdout' }),
      (a) => cmdRun(a as never),
    );
}
