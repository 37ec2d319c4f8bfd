/** `dtca run`: DTM generation or a Boltzmann-machine run, written to a run directory. */
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { UserError } from '../fabric/errors.js';
import { CONFIG_DIR, type ResolvedConfig } from './config.js';
import { buildChip, type Chip } from './chip.js';
import { readModel, randomModel, checkModelFitsFabric, type Model } from './model.js';
import { newDtmModel, generate, type Mapping } from './dtm.js';
import { samplesFigure, denoiseFigure } from './images.js';
import { writeEnergyChart, type StageEnergy } from './plot.js';
import { runModel, INIT_MODES, type InitMode, type EngineReport } from './run.js';
import { ENGINE_CHOICES, type EngineChoice } from '../cells/engine.js';
import { makeStats, makeDtmStats, formatStats, type Stats } from './stats.js';
import { withRunDir, writeJson, writeFileAtomic, writeManifest, VERSION } from './output.js';
import { makeProgress } from './progress.js';
import { openTraceWriter, parseIndexList, parseCellRect } from '../traces/writer.js';
import { areaStats } from './area.js';
import { energyTableReport } from './energy-table.js';
import { configLabel } from './label.js';
import { log, loadConfig, withConfigOptions, positiveInt, parseBeta, parseIntList, type CommonArgs } from './cli-common.js';
import { samplesNpy, labelsNpy, SAMPLES_FILE, LABELS_FILE, type SamplesManifest } from './quality/samples.js';

/** The default workload: a seeded random-weight DTM (T = 8) laid on the configured fabric. */
/** The DTM that ships with dtca: trained on Fashion-MNIST for the paper chip (configs/models/, README "The shipped model"). */
export const SHIPPED_MODEL = join(CONFIG_DIR, 'models', 'fmnist-t8.mp');

/**
 * The default workload: the shipped model where it fits the configured fabric (one image per
 * class), else a seeded random-weight DTM laid on the fabric.
 */
function defaultWorkload(cfg: ResolvedConfig, chip: Chip): { model: Model; shipped: boolean } {
  if (existsSync(SHIPPED_MODEL)) {
    const m = readModel(SHIPPED_MODEL);
    try {
      checkModelFitsFabric(m, cfg, chip.fabric.rules);
      return { model: m, shipped: true };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      log.info({ reason: e.message }, 'the shipped model does not fit this chip: running a random-weight DTM');
    }
  }
  return { model: defaultDtm(cfg, chip.fabric), shipped: false };
}

function defaultDtm(cfg: ResolvedConfig, chipFabric: { colourCells: [Int32Array, Int32Array] }): Model {
  const spots = chipFabric.colourCells[0].length;
  const visible = spots >= 884 ? 'fmnist' : Math.max(1, Math.floor(spots / 2));
  return newDtmModel({
    T: 8,
    L: cfg.fabric.L,
    rules: cfg.fabric.rules,
    boundary: cfg.fabric.boundary,
    visible,
    weights: { random: 0.25 },
    seed: cfg.seed,
  });
}

function writeRunFiles(dir: string, cfg: ResolvedConfig, started: Date, model: Model, stats: Stats, chip: Chip, label: ReturnType<typeof configLabel>, extra: Record<string, unknown> = {}): void {
  writeJson(`${dir}/config.json`, cfg);
  writeJson(`${dir}/energy-table.json`, energyTableReport(chip));
  writeManifest(dir, cfg.seed, started, { model: model.source, ...label.manifest, ...extra });
  writeJson(`${dir}/stats.json`, stats);
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

async function cmdRun(a: CommonArgs & Record<string, unknown>): Promise<void> {
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const cfg = loadConfig(a, seed === undefined ? [] : [`seed=${seed}`]);
  // labelled by the file or preset named, plus the command line's changes (not the extended preset's name)
  const label = configLabel(a.config, a.set ?? [], Boolean(a.ideal));
  const chip = buildChip(cfg);
  const workload = a.model ? { model: readModel(a.model as string), shipped: false } : a.workload === 'bm' ? { model: randomModel(chip.fabric, cfg.seed, 0.25, 0.1), shipped: false } : defaultWorkload(cfg, chip);
  const model = workload.model;
  const started = new Date();
  const physics = chip.ideal ? 'ideal' : 'cycle';
  const engine = parseEngine(a.engine);
  const batch = positiveInt('batch', a.batch as number | undefined);
  if (model.dtm && a.stage === undefined) {
    for (const k of ['chains', 'warmup'] as const) {
      if (a[k] !== undefined) throw new UserError(`--${k}: not used by a DTM generation run (use --images; --stage K runs one stage as a Boltzmann machine)`);
    }
    // the shipped model: one image per class unless asked otherwise
    const images = positiveInt('images', a.images as number) ?? (workload.shipped ? 10 : 4);
    const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 250;
    const labels = parseIntList('labels', a.labels) ?? (workload.shipped ? Array.from({ length: 10 }, (_, c) => c) : undefined);
    const beta = parseBeta(a.beta);
    const traceOpts = {
      every: positiveInt('trace-every', a.traceEvery as number | undefined),
      stages: a.traceStages === undefined ? undefined : parseIndexList('--trace-stages', String(a.traceStages)),
      chains: a.traceChains === undefined ? undefined : parseIndexList('--trace-chains', String(a.traceChains)),
      cells: a.traceCells === undefined ? undefined : parseCellRect(String(a.traceCells)),
    };
    const dtm = model.dtm;
    await withRunDir(a.out as string | undefined, label.slug, async (dir) => {
      log.info({ config: label.label, physics, engine, cells: chip.fabric.N, degree: chip.fabric.D, T: dtm.T, images, sweeps }, 'generation starting');
      const tracePath = a.trace === undefined ? null : a.trace === '' ? resolvePath(dir, 'trace.dtct') : resolvePath(String(a.trace));
      const sink = tracePath ? openTraceWriter(tracePath, traceOpts) : undefined;
      const bar = makeProgress(images * dtm.T, 'image-stages');
      const startupS = process.uptime();
      const gen = await generate(chip, model, {
        workers: positiveInt('workers', a.workers as number) ?? 1,
        sink,
        version: VERSION,
        onImageDone: (d) => bar.tick(d),
        images,
        sweeps,
        labels,
        beta,
        mapping: a.mapping as Mapping,
        engine,
        batch,
        keepChains: Math.min(images, 8),
        onStageDone: (stage, done, total) => log.debug({ stage, done, of: total }, 'stage done'),
      });
      bar.done();
      logEngine(gen.engine);
      if (sink) {
        await sink.close();
        log.info({ trace: tracePath }, 'trace written');
      }
      if (gen.programClipped > 0) {
        log.warn({ clipped: gen.programClipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
      }
      const stats = makeDtmStats(chip, gen, model.source);
      stats.config = label.label;
      stats.startup_s = startupS;
      Object.assign(stats, areaStats(cfg, stats));
      if (stats.area_m2 && stats.area_note) log.warn(String(stats.area_note));
      const what = `${model.source}, ${label.label}, ${physics} physics, T = ${dtm.T}, K = ${sweeps}`;
      writeFileAtomic(`${dir}/samples.png`, await samplesFigure(gen.outputs, dtm, labels, `Generated images (${what})`));
      writeFileAtomic(`${dir}/denoise.png`, await denoiseFigure(gen.strip, dtm, labels, 'Denoising: input, then the visible cells after each stage (noisiest to cleanest)'));
      await writeEnergyChart(dir, stats.stages as StageEnergy[], images);
      // the generated images, machine-readable (dtca eval reads them; README "Run directory")
      writeFileAtomic(`${dir}/${SAMPLES_FILE}`, samplesNpy(gen.outputs));
      if (labels && labels.length > 0) writeFileAtomic(`${dir}/${LABELS_FILE}`, labelsNpy(images, labels));
      const samples: SamplesManifest = {
        file: SAMPLES_FILE,
        labels_file: labels && labels.length > 0 ? LABELS_FILE : null,
        images,
        visible: dtm.image.length + dtm.label.length,
        image_cells: dtm.image.length,
        image_shape: dtm.image_shape,
        label_copies: dtm.label_copies,
        classes: dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0,
      };
      writeRunFiles(dir, cfg, started, model, stats, chip, label, { samples });
      log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
      process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
    });
    return;
  }
  if (a.images !== undefined || a.labels !== undefined) throw new UserError('--images/--labels: need a DTM model (a model file with a "dtm" section)');
  if (a.trace !== undefined) throw new UserError('--trace: traces record DTM generation runs (a model with a "dtm" section, or the default workload)');
  const chains = positiveInt('chains', a.chains as number) ?? 1;
  const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 1000;
  const warmup = positiveInt('warmup', a.warmup as number | undefined, 0) ?? (a.model ? 100 : 0);
  const workers = positiveInt('workers', a.workers as number) ?? 1;
  const beta = parseBeta(a.beta);
  await withRunDir(a.out as string | undefined, label.slug, async (dir) => {
    log.info({ config: label.label, physics, engine, cells: chip.fabric.N, degree: chip.fabric.D, chains, sweeps, warmup, workers }, 'run starting');
    const bar = makeProgress(chains, 'chains');
    const startupS = process.uptime();
    const result = await runModel(chip, model, {
      chains,
      sweeps,
      warmup,
      init: a.init as InitMode,
      stage: (a.stage as number | undefined) ?? 0,
      // START:END runs linearly over all warm-up and measured sweeps
      beta: beta === undefined || typeof beta === 'number' ? beta : (sweep, total) => (total <= 1 ? beta.end : beta.start + ((beta.end - beta.start) * sweep) / (total - 1)),
      workers,
      moments: Boolean(a.model),
      engine,
      batch,
      onChainDone: (d) => bar.tick(d),
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
    writeRunFiles(dir, cfg, started, model, stats, chip, label);
    log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
    process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
  });
}

export function runCommand<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      'run [config]',
      'simulate the chip on a workload and write a run directory',
      (y) =>
        withConfigOptions(y)
          .option('model', { type: 'string', describe: 'model file (JSON or msgpack); default: a seeded random-weight DTM (T = 8)' })
          .option('workload', { choices: ['dtm', 'bm'], default: 'dtm', describe: 'without --model: a random DTM, or a random Boltzmann machine' })
          .option('images', { type: 'number', describe: 'DTM: images to generate, one chain each (default 4)' })
          .option('labels', { type: 'string', describe: 'DTM: classes to clamp, cycled over images, e.g. 0,3,7' })
          .option('mapping', { choices: ['reprogram', 'pipeline'], default: 'reprogram', describe: 'DTM: one array re-programmed per stage, or T arrays in a pipeline' })
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
          .option('init', { choices: INIT_MODES, default: 'hinton' as InitMode, describe: 'initial state: hinton = P(+1) = sigma(beta b)' })
          .option('seed', { type: 'number', describe: 'seed (overrides the config\'s)' })
          .option('engine', { choices: ENGINE_CHOICES, default: 'auto', describe: 'latch engine: auto (the fastest that can run), reference, wasm (one chain at a time), batch (chains in SIMD lanes)' })
          .option('batch', { type: 'number', describe: 'most chains one engine holds at a time (default: all of a worker\'s)' })
          .option('workers', { type: 'number', describe: 'worker threads over chains or images (results do not depend on it; not with --trace)' })
          .option('out', { type: 'string', describe: 'run directory (default runs/<time>-<config>)' })
          .option('json', { type: 'boolean', default: false, describe: 'print stats.json to stdout' }),
      (a) => cmdRun(a as never),
    );
}
