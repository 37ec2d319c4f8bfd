/**
 * The dtca command line. Thin: parse (yargs), resolve the config, call sim/, print.
 * A user's mistake is a UserError: one line on stderr, exit code 2, never a stack trace.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../fabric/errors.js';
import { resolveConfig, configJsonSchema, presetNames, DEFAULT_CONFIG, type ResolvedConfig } from './config.js';
import { buildChip } from './chip.js';
import { readModel, randomModel, modelToObject, stageCoupling, type Model } from './model.js';
import { newDtmModel, generate, type Mapping } from './dtm.js';
import { samplesPng, denoisePng } from './images.js';
import { writeEnergyChart, type StageEnergy } from './plot.js';
import type { Rule } from '../fabric/rules.js';
import { Packr } from 'msgpackr';
import { runModel, INIT_MODES, type InitMode } from './run.js';
import { makeStats, makeDtmStats, formatStats, type Stats } from './stats.js';
import { prepareRunDir, writeJson, writeFileAtomic, writeManifest, VERSION } from './output.js';
import { makeLogger } from './log.js';
import { makeProgress } from './progress.js';
import { openTraceWriter, parseIndexList, parseCellRect } from '../traces/writer.js';
import { resolve as resolvePath } from 'node:path';
import { traceCommands } from './cmd-trace.js';
import { rngCommand } from './cmd-rng.js';
import { benchCommand } from './cmd-bench.js';
import { sweepCommand } from './cmd-sweep.js';


const log = makeLogger();

const plainPackr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const packPlain = (v: unknown) => plainPackr.pack(v);

interface CommonArgs {
  config?: string;
  set?: string[];
  ideal?: boolean;
  json?: boolean;
}

function loadConfig(a: CommonArgs, extraSets: string[] = []): ResolvedConfig {
  return resolveConfig(a.config, { sets: [...(a.set ?? []), ...extraSets], ideal: a.ideal });
}

function withConfigOptions<T>(y: Argv<T>) {
  return y
    .positional('config', { type: 'string', describe: `preset name (${presetNames().join(', ')}) or config file; default ${DEFAULT_CONFIG}` })
    .option('set', { type: 'string', array: true, describe: 'override a config value: --set clock.clock_hz=2e7' })
    .option('ideal', { type: 'boolean', default: false, describe: 'turn every non-ideality off (exact chromatic Gibbs)' });
}

function positiveInt(name: string, v: number | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min) throw new UserError(`--${name} ${v}: must be an integer >= ${min}`);
  return v;
}

function parseBeta(v: unknown): number | { start: number; end: number } | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  const m = /^([-+0-9.eE]+)(?::([-+0-9.eE]+))?$/.exec(text);
  const num = (x: string) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n <= 0) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
    return n;
  };
  if (!m) throw new UserError(`--beta ${text}: expected a positive number or START:END, e.g. 0.8:1.2`);
  return m[2] === undefined ? num(m[1]) : { start: num(m[1]), end: num(m[2]) };
}

function parseIntList(name: string, v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').filter((x) => x.trim() !== '');
  return parts.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`--${name} ${String(v)}: expected comma-separated integers >= 0`);
    return n;
  });
}

/** The default workload: a seeded random-weight DTM (T = 8) laid on the configured fabric. */
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

function writeRunFiles(dir: string, cfg: ResolvedConfig, started: Date, model: Model, stats: Stats): void {
  writeJson(`${dir}/config.json`, cfg);
  writeManifest(dir, cfg.seed, started, { model: model.source });
  writeJson(`${dir}/stats.json`, stats);
}

async function cmdRun(a: CommonArgs & Record<string, unknown>): Promise<void> {
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const cfg = loadConfig(a, seed === undefined ? [] : [`seed=${seed}`]);
  const chip = buildChip(cfg);
  const model = a.model ? readModel(a.model as string) : a.workload === 'bm' ? randomModel(chip.fabric, cfg.seed, 0.25, 0.1) : defaultDtm(cfg, chip.fabric);
  const started = new Date();
  const engine = chip.ideal ? 'ideal' : 'cycle';
  if (model.dtm && a.stage === undefined) {
    for (const k of ['chains', 'warmup', 'workers'] as const) {
      if (a[k] !== undefined) throw new UserError(`--${k}: not used by a DTM generation run (use --images; --stage K runs one stage as a Boltzmann machine)`);
    }
    const images = positiveInt('images', a.images as number) ?? 4;
    const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 250;
    const labels = parseIntList('labels', a.labels);
    const dir = prepareRunDir(a.out as string | undefined, cfg.name);
    log.info({ config: cfg.name, engine, cells: chip.fabric.N, degree: chip.fabric.D, T: model.dtm.T, images, sweeps }, 'generation starting');
    const tracePath = a.trace === undefined ? null : a.trace === '' ? resolvePath(dir, 'trace.dtct') : resolvePath(String(a.trace));
    const sink = tracePath
      ? openTraceWriter(tracePath, {
          every: positiveInt('trace-every', a.traceEvery as number | undefined),
          stages: a.traceStages === undefined ? undefined : parseIndexList('--trace-stages', String(a.traceStages)),
          chains: a.traceChains === undefined ? undefined : parseIndexList('--trace-chains', String(a.traceChains)),
          cells: a.traceCells === undefined ? undefined : parseCellRect(String(a.traceCells)),
        })
      : undefined;
    const bar = makeProgress(images * model.dtm.T, 'image-stages');
    const startupS = process.uptime();
    const gen = generate(chip, model, {
      sink,
      version: VERSION,
      onImageDone: (d) => bar.tick(d),
      images,
      sweeps,
      labels,
      beta: parseBeta(a.beta),
      mapping: a.mapping as Mapping,
      keepChains: Math.min(images, 8),
      onStageDone: (stage, done, total) => log.debug({ stage, done, of: total }, 'stage done'),
    });
    bar.done();
    if (sink) {
      await sink.close();
      log.info({ trace: tracePath }, 'trace written');
    }
    if (gen.programClipped > 0) {
      log.warn({ clipped: gen.programClipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
    }
    const stats = makeDtmStats(chip, gen, model.source);
    stats.startup_s = startupS;
    writeFileAtomic(`${dir}/samples.png`, samplesPng(gen.outputs, model.dtm));
    writeFileAtomic(`${dir}/denoise.png`, denoisePng(gen.strip, model.dtm));
    await writeEnergyChart(dir, stats.stages as StageEnergy[]);
    writeRunFiles(dir, cfg, started, model, stats);
    log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
    process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
    return;
  }
  if (a.images !== undefined || a.labels !== undefined) throw new UserError('--images/--labels: need a DTM model (a model file with a "dtm" section)');
  if (a.trace !== undefined) throw new UserError('--trace: traces record DTM generation runs (a model with a "dtm" section, or the default workload)');
  const chains = positiveInt('chains', a.chains as number) ?? 1;
  const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 1000;
  const warmup = positiveInt('warmup', a.warmup as number | undefined, 0) ?? (a.model ? 100 : 0);
  const workers = positiveInt('workers', a.workers as number) ?? 1;
  const dir = prepareRunDir(a.out as string | undefined, cfg.name);
  log.info({ config: cfg.name, engine, cells: chip.fabric.N, degree: chip.fabric.D, chains, sweeps, warmup, workers }, 'run starting');
  const bar = makeProgress(chains, 'chains');
  const startupS = process.uptime();
  const result = await runModel(chip, model, {
    chains,
    sweeps,
    warmup,
    init: a.init as InitMode,
    stage: (a.stage as number | undefined) ?? 0,
    beta: typeof parseBeta(a.beta) === 'number' ? (parseBeta(a.beta) as number) : undefined,
    workers,
    moments: Boolean(a.model),
    onChainDone: (d) => bar.tick(d),
  });
  bar.done();
  if (result.program.clipped > 0) {
    log.warn({ clipped: result.program.clipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
  }
  const stats = makeStats(chip, result, model.source);
  stats.startup_s = startupS;
  writeRunFiles(dir, cfg, started, model, stats);
  log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
  process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
}

function cmdModelNew(a: Record<string, unknown>): void {
  const out = a.out as string;
  const w = String(a.weights);
  let weights: 'zero' | { random: number };
  if (w === 'zero') weights = 'zero';
  else {
    const m = /^random:([0-9.eE+-]+)$/.exec(w);
    const scale = m ? Number(m[1]) : NaN;
    if (!m || !Number.isFinite(scale) || scale <= 0) throw new UserError(`--weights ${w}: expected zero or random:SCALE (e.g. random:0.25)`);
    weights = { random: scale };
  }
  const vis = String(a.visible);
  const visible = vis === 'fmnist' ? 'fmnist' : Number(vis);
  if (visible !== 'fmnist' && (!Number.isInteger(visible) || visible < 1)) throw new UserError(`--visible ${vis}: expected fmnist or a positive integer`);
  let rules: string | Rule[] = String(a.rules);
  if (rules.trim().startsWith('[')) {
    try {
      rules = JSON.parse(rules) as Rule[];
    } catch {
      throw new UserError(`--rules ${String(a.rules)}: a preset name (G8, G12, G16) or JSON like [[0,1],[4,1]]`);
    }
  }
  const m = newDtmModel({
    T: positiveInt('stages', a.stages as number) ?? 8,
    L: positiveInt('L', a.L as number, 2) ?? 70,
    rules,
    boundary: a.boundary as 'open' | 'torus',
    visible,
    weights,
    seed: positiveInt('seed', a.seed as number, 0) ?? 1,
    beta: a.beta === undefined ? 1 : (parseBeta(a.beta) as number),
  });
  const json = out.endsWith('.json');
  const obj = modelToObject(m, json);
  writeFileAtomic(out, json ? JSON.stringify(obj) + '\n' : packPlain(obj));
  process.stdout.write(`${out}: ${m.source}\n`);
}

function cmdModelInfo(a: Record<string, unknown>): void {
  const m = readModel(a.file as string);
  const info: Record<string, unknown> = {
    file: a.file,
    grid: m.grid,
    cells: m.grid.L * m.grid.L,
    beta: m.beta,
    stages: m.stages.map((st, k) => {
      let sw = 0;
      let mx = 0;
      for (const w of st.ew) (sw += w * w), (mx = Math.max(mx, Math.abs(w)));
      let mb = 0;
      for (const b of st.bias) mb = Math.max(mb, Math.abs(b));
      const row: Record<string, unknown> = {
        stage: k,
        edges: st.ei.length,
        weight_rms: st.ei.length ? Math.sqrt(sw / st.ei.length) : 0,
        weight_max_abs: mx,
        bias_max_abs: mb,
        clamped: st.clampIdx.length,
      };
      if (m.dtm) {
        row.coupling_image = stageCoupling(m.dtm, k, m.dtm.lambda_image);
        row.coupling_label = stageCoupling(m.dtm, k, m.dtm.lambda_label);
      }
      return row;
    }),
  };
  if (m.dtm) {
    info.dtm = {
      T: m.dtm.T,
      time_grid: m.dtm.time_grid,
      lambda_image: m.dtm.lambda_image,
      lambda_label: m.dtm.lambda_label,
      image_cells: m.dtm.image.length,
      label_cells: m.dtm.label.length,
      label_copies: m.dtm.label_copies,
      image_shape: m.dtm.image_shape,
    };
  }
  if (a.json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const lines = [
    `${String(a.file)}: ${m.dtm ? `DTM, T = ${m.dtm.T}` : `Boltzmann machine, ${m.stages.length} stage(s)`}`,
    `grid      L = ${m.grid.L} (${m.grid.L * m.grid.L} cells), rules ${JSON.stringify(m.grid.rules)}, ${m.grid.boundary}`,
    `beta      ${m.beta}`,
  ];
  if (m.dtm) {
    lines.push(
      `visible   ${m.dtm.image.length} image cells (${m.dtm.image_shape.join('x')}) + ${m.dtm.label.length} label cells (${m.dtm.label_copies} copies per class)`,
      `forward   lambda_image ${m.dtm.lambda_image}, lambda_label ${m.dtm.lambda_label}`,
    );
  }
  lines.push('stage  edges   w_rms    |w|max   |b|max   J_c image  J_c label');
  for (const r of info.stages as Record<string, number>[]) {
    lines.push(
      `${String(r.stage).padStart(5)}  ${String(r.edges).padStart(6)}  ${r.weight_rms.toFixed(4).padStart(7)}  ${r.weight_max_abs.toFixed(4).padStart(7)}  ${r.bias_max_abs.toFixed(4).padStart(7)}  ${(r.coupling_image ?? 0).toFixed(4).padStart(9)}  ${(r.coupling_label ?? 0).toFixed(4).padStart(9)}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export function buildCli(argv: string[]) {
  const y = yargs(argv)
    .scriptName('dtca')
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, 'name a command: run, model, sweep, config, trace, rng, bench (try dtca --help)')
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
          .option('workers', { type: 'number', describe: 'worker threads over chains (results do not depend on it)' })
          .option('out', { type: 'string', describe: 'run directory (default runs/<time>-<config>)' })
          .option('json', { type: 'boolean', default: false, describe: 'print stats.json to stdout' }),
      (a) => cmdRun(a as never),
    )
    .command('model', 'make or describe model files', (y) =>
      y
        .command(
          'new',
          'write a DTM model file (msgpack, or JSON if FILE ends in .json)',
          (yy) =>
            yy
              .option('stages', { type: 'number', default: 8, describe: 'T, the number of denoising stages' })
              .option('L', { type: 'number', default: 70, describe: 'cells per side' })
              .option('rules', { type: 'string', default: 'G12', describe: 'preset (G8, G12, G16) or JSON [[a,b],...]' })
              .option('boundary', { choices: ['open', 'torus'], default: 'open' })
              .option('visible', { type: 'string', default: 'fmnist', describe: 'fmnist (784 pixels + 100 label cells) or a number of image cells' })
              .option('weights', { type: 'string', default: 'zero', describe: 'zero, or random:SCALE (uniform in +-SCALE)' })
              .option('beta', { type: 'string', describe: 'the model\'s beta (default 1)' })
              .option('seed', { type: 'number', default: 1 })
              .option('out', { type: 'string', demandOption: true, describe: 'model file to write' }),
          (a) => cmdModelNew(a as never),
        )
        .command(
          'info <file>',
          'describe a model file',
          (yy) => yy.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
          (a) => cmdModelInfo(a as never),
        )
        .demandCommand(1, 'name a model command: new, info'),
    )
    .command('config', 'show, validate or describe configs', (y) =>
      y
        .command(
          'show [config]',
          'print the fully resolved config',
          (yy) => withConfigOptions(yy),
          (a) => {
            process.stdout.write(JSON.stringify(loadConfig(a as CommonArgs), null, 2) + '\n');
          },
        )
        .command(
          'validate <file>',
          'check a config file',
          (yy) => yy.positional('file', { type: 'string', demandOption: true }),
          (a) => {
            const c = resolveConfig(a.file as string);
            process.stdout.write(`${a.file}: valid (${c.name}, L=${c.fabric.L}, ${JSON.stringify(c.fabric.rules)}, ${c.clock.clock_hz} Hz)\n`);
          },
        )
        .command('schema', 'print the config JSON Schema', {}, () => {
          process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
        })
        .demandCommand(1, 'name a config command: show, validate, schema'),
    );
  return sweepCommand(benchCommand(rngCommand(traceCommands(y))))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg);
    })
    .help();
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli(argv).parseAsync();
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`dtca: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`dtca: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

const code = await main(hideBin(process.argv));
process.exitCode = code;
