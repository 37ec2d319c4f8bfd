/**
 * `dtca sweep`: a workload across axes of config values (grid x clock x any path), every point
 * validated before anything runs, points run in parallel and written as they finish (a re-run
 * resumes), then tables, charts and index.html. With --train, a model is trained per distinct
 * design first (sim/sweep/models.ts) and every point's images are judged. Subcommands split the
 * same work for clusters: `plan` writes the point list, `train DIR` trains the models (one
 * (model, stage) per Slurm task with --task), `run DIR --shard k/N` runs one share (or the Slurm
 * array task's), `collect` builds the report from whatever is finished, `slurm` writes the sbatch
 * scripts (training array, then the point array with afterok on it) and can submit them.
 */
import type { Argv } from 'yargs';
import { resolve, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { UserError, Interrupted } from '../../fabric/errors.js';
import { listenForStop, interruptedLine, type StopSignal } from '../signals.js';
import { claimDefaultDir, writeFileAtomic } from '../../sim/io/output.js';
import { positiveInt, parseBeta, cliContext } from '../common.js';
import { repeatedSet } from '../../sim/config.js';
import { shown } from '../../fabric/rules.js';
import { checkJobs, MAX_JOBS } from '../../sim/resources.js';
import type { Session } from '../session.js';
import {
  makePlan,
  expandPlan,
  parseAxis,
  parseClockList,
  parseValues,
  readPlanFile as readPlanInput,
  type Axis,
  type PlanInput,
  type Workload,
} from '../../sim/sweep/plan.js';
import {
  claimSweepDir,
  readPlanFile,
  ownSweepDir,
  readPoints,
  modelCacheOf,
  writeRunOptions,
  readRunOptions,
  isPointDone,
  type Row,
  type PlanFile,
} from '../../sim/sweep/store.js';
import { runSweep, parseShard, shardFromEnv, modelsOf, shardPoints, type Shard } from '../../sim/sweep/runner.js';
import { buildReport, columnUnit, plainNumber, ChartsInterrupted, judgedImages, MIXED_IMAGES_NOTE, smallNLine } from '../../sim/sweep/report.js';
import { displayUnitOfPath } from '../../sim/units.js';
import { axisPaths } from '../../sim/sweep/collect.js';
import { slurmScript, trainSlurmScript, submitScript, sbatch, type TrainTask } from '../../sim/sweep/slurm.js';
import { trainModel, isModelDone, stageEpochs, modelFile, type ModelJob } from '../../sim/sweep/models.js';
import { checkSweepData } from '../../sim/sweep/quality.js';

type A = Record<string, unknown>;

/** Options of `y` its subcommands do not inherit (yargs' global(keys, false); its types declare the one-argument form). */
function notInherited<T>(y: Argv<T>, keys: string[]): Argv<T> {
  return (y as unknown as { global(k: string[], g: boolean): Argv<T> }).global(keys, false);
}

/** the options planOptions declares (a sweep's design: what sweep and sweep plan take, not the subcommands that act on a planned DIR) */
const planOptionNames = [
  'config',
  'axis',
  'grid',
  'clock',
  'param',
  'values',
  'zip',
  'replicates',
  'plan',
  'set',
  'seed',
  'workload',
  'model',
  'visible',
  'stages',
  'images',
  'sweeps',
  'chains',
  'warmup',
  'beta',
  'mapping',
  'train',
  'train-chip',
  'model-cache',
];

function planOptions<T>(y: Argv<T>) {
  return y
    .positional('config', { type: 'string', describe: 'preset name or config file (default dtca-paper)' })
    .option('axis', {
      type: 'string',
      array: true,
      describe: 'PATH=v1,v2,... (repeatable); values as JSON where they parse; lists: [[0,1]],[[0,1],[4,1]] or separated by ;',
    })
    .option('grid', { type: 'string', describe: 'shorthand for --axis fabric.L=...' })
    .option('clock', { type: 'string', describe: 'shorthand for --axis clock.clock_hz=... (5e6, 10MHz, 2.5M)' })
    .option('param', { type: 'string', describe: 'one axis path (with --values; same as --axis PATH=VALUES)' })
    .option('values', { type: 'string', describe: 'values for --param' })
    .option('zip', { type: 'boolean', describe: 'pair the axes value by value instead of the cartesian product' })
    .option('replicates', { type: 'number', describe: 'seeds per combination: seed, seed+1, ... (default 1)' })
    .option('plan', { type: 'string', describe: 'plan file (JSON): config, set, axes, zip, replicates, seed, workload, jobs, train' })
    .option('set', { type: 'string', array: true, describe: 'override a config value at every point: --set fabric.boundary=\\"torus\\"' })
    .option('seed', { type: 'number', describe: "base seed (default: the config's)" })
    .option('workload', { choices: ['dtm', 'bm'], describe: 'synthetic DTM generation (default) or a random Boltzmann machine' })
    .option('model', { type: 'string', describe: 'model file to run at every point (refused where its grid does not fit)' })
    .option('visible', { type: 'string', describe: "DTM visible cells: scaled (the paper chip's share of the grid, default), fmnist (784 + 100) or a count" })
    .option('stages', { type: 'number', describe: "DTM stages T (default 8; with --train, the trained models' T)" })
    .option('images', { type: 'number', describe: 'DTM images per point (default 4; 10 with --train)' })
    .option('sweeps', { type: 'number', describe: 'sweeps per stage (DTM, default 250) or measured sweeps per chain (BM, default 400)' })
    .option('chains', { type: 'number', describe: 'BM chains (default 2)' })
    .option('warmup', { type: 'number', describe: 'BM warm-up sweeps (default 50)' })
    .option('beta', { type: 'string', describe: "beta: a number, or START:END linear over each stage's sweeps" })
    .option('mapping', { choices: ['reprogram', 'pipeline'], describe: 'DTM mapping (default reprogram)' })
    .option('train', {
      type: 'string',
      describe:
        "train a Fashion-MNIST DTM per distinct design and judge every point's images: quick or standard (dtca train --budget's presets) or FILE.json (a JSON object of dtca train's options, e.g. {\"epochs\": 3}; the rest from quick)",
    })
    .option('train-chip', {
      choices: ['ideal', 'cycle'],
      describe: "with --train: train on the ideal chip with the point's weight precision (default) or on the point's cycle-accurate chip",
    })
    .option('model-cache', { type: 'string', describe: 'with --train: keep trained models in this directory, shared across sweeps (default DIR/models)' });
}

/** A plan from the flags on top of a plan file (flags win; axes from flags are added). */
function planFromArgs(a: A): { input: PlanInput; jobs?: number } {
  const file = a.plan ? readPlanInput(String(a.plan)) : {};
  const axes: Axis[] = [...((file as PlanInput).axes ?? [])];
  // where each axis and set came from, for a value both fixed and swept
  const axisWhere = axes.map((ax) => `--plan ${String(a.plan)}: axes ${ax.path}`);
  for (const t of (a.axis as string[] | undefined) ?? []) {
    axes.push(parseAxis(t));
    axisWhere.push(`--axis ${axes[axes.length - 1].path}`);
  }
  if (a.param !== undefined || a.values !== undefined) {
    if (a.param === undefined || a.values === undefined) throw new UserError('--param and --values go together (or use --axis PATH=v1,v2)');
    axes.push({ path: String(a.param), values: parseValues(String(a.values), `--values`) });
    axisWhere.push(`--param ${String(a.param)}`);
  }
  if (a.grid !== undefined) {
    axes.push({ path: 'fabric.L', values: parseValues(String(a.grid), '--grid') });
    axisWhere.push('--grid');
  }
  if (a.clock !== undefined) {
    axes.push({ path: 'clock.clock_hz', values: parseClockList(String(a.clock)) });
    axisWhere.push('--clock');
  }
  const setWhere = [
    ...((file as PlanInput).sets ?? []).map((t) => ({ t, where: `--plan ${String(a.plan)}: set ${shown(t, 60)}` })),
    ...((a.set as string[] | undefined) ?? []).map((t) => ({ t, where: `--set ${shown(t, 60)}` })),
  ];
  // one path swept twice, named as each was given (--grid beside --axis fabric.L=...)
  axes.forEach((ax, i) => {
    const j = axes.findIndex((b, k) => k > i && b.path === ax.path);
    if (j > 0)
      throw new UserError(
        axisWhere[i] === axisWhere[j]
          ? `${axisWhere[i]}: given twice (list all its values in one --axis)`
          : `${axisWhere[i]} and ${axisWhere[j]}: both sweep ${ax.path}; list all its values in one axis`,
      );
  });
  // an axis value replaces a set's at every point: the set would be ignored silently
  const seed = a.seed !== undefined ? `--seed ${String(a.seed)}` : (file as PlanInput).seed != null ? `--plan ${String(a.plan)}: seed` : null;
  axes.forEach((ax, i) => {
    const fixed = setWhere.find(({ t }) => repeatedSet([t, `${ax.path}=0`]) !== null);
    if (fixed) throw new UserError(`${fixed.where} and ${axisWhere[i]}: ${ax.path} is both fixed and swept; drop one`);
    if (ax.path === 'seed' && seed) throw new UserError(`${seed} and ${axisWhere[i]}: the seed is both fixed and swept; drop one`);
  });
  const fw = (file as PlanInput).workload ?? {};
  const w: Partial<Workload> & { kind?: Workload['kind'] } = { ...fw };
  if (a.workload !== undefined) w.kind = a.workload as Workload['kind'];
  if (a.model !== undefined) {
    if (a.workload !== undefined) throw new UserError('--model and --workload: give one (a model file is its own workload)');
    w.kind = 'model';
    w.model = resolve(String(a.model));
  }
  if (a.visible !== undefined) {
    const v = String(a.visible);
    w.visible = v === 'scaled' || v === 'fmnist' ? v : Number(v);
    if (typeof w.visible === 'number' && !(Number.isInteger(w.visible) && w.visible >= 1))
      throw new UserError(`--visible ${v}: scaled, fmnist or a positive integer`);
  }
  const num = (k: string, min = 1) => positiveInt(k, a[k] as number | undefined, min);
  if (a.stages !== undefined) w.T = num('stages');
  if (a.images !== undefined) w.images = num('images');
  if (a.sweeps !== undefined) w.sweeps = num('sweeps');
  if (a.chains !== undefined) w.chains = num('chains');
  if (a.warmup !== undefined) w.warmup = num('warmup', 0);
  if (a.beta !== undefined) w.beta = parseBeta(a.beta) ?? null;
  if (a.mapping !== undefined) w.mapping = a.mapping as Workload['mapping'];
  const fileTrain = (file as PlanInput).train ?? null;
  if ((a.trainChip !== undefined || a.modelCache !== undefined) && a.train === undefined && !fileTrain)
    throw new UserError('--train-chip and --model-cache go with --train');
  const train =
    a.train !== undefined || fileTrain
      ? {
          budget: a.train !== undefined ? String(a.train) : fileTrain!.budget,
          budget_where: a.train !== undefined ? undefined : fileTrain!.budget_where,
          chip: (a.trainChip as 'ideal' | 'cycle' | undefined) ?? fileTrain?.chip,
          model_cache: a.modelCache !== undefined ? resolve(String(a.modelCache)) : (fileTrain?.model_cache ?? null),
        }
      : null;
  const input: PlanInput = {
    train,
    config: (a.config as string | undefined) ?? (file as PlanInput).config,
    sets: [...((file as PlanInput).sets ?? []), ...((a.set as string[] | undefined) ?? [])],
    axes,
    zip: (a.zip as boolean | undefined) ?? (file as PlanInput).zip,
    replicates: positiveInt('replicates', a.replicates as number | undefined) ?? (file as PlanInput).replicates,
    seed: positiveInt('seed', a.seed as number | undefined, 0) ?? (file as PlanInput).seed,
    workload: w,
  };
  return { input, jobs: (file as { jobs?: number }).jobs };
}

/** --jobs (checked: sim/resources.ts), else `fallback` (a plan file's or options.json's, checked where read), else one per core */
function jobsOf(v: unknown, fallback?: number): number {
  const j = v === undefined ? fallback : checkJobs(v, '--jobs');
  return j ?? availableParallelism();
}

/** A numeric field of a sweep row (a result column of the terminal table). */
type ResultKey = { [K in keyof Row]-?: Row[K] extends number | null ? K : never }[keyof Row];
/** The short table for people. */
export function formatRows(pf: PlanFile, rows: Row[]): string {
  const axes = axisPaths(pf);
  const dtm = rows.some((r) => r.energy_per_image_j !== null);
  const judged = rows.some((r) => r.fd !== null);
  const images = judgedImages(rows);
  const showImage = images.length > 1 || images.some((i) => i !== '28x28');
  // replicates share their axis values: the seed tells their rows apart
  const seeds = pf.plan.replicates > 1;
  // every column of numbers with a unit: one SI prefix for the column, named in its header, as in
  // index.html (a prefix per cell mixed fJ and aJ in one column)
  const num = (label: string, unit: string, vals: (number | null)[], digits = 4) => {
    const u = columnUnit(label, unit, vals);
    return { head: u.head, cells: vals.map((v) => (v === null || !Number.isFinite(v) ? '-' : plainNumber(v / u.scale, digits))) };
  };
  const axisCol = (a: string) => {
    const vals = rows.map((r) => r.axes[a]);
    if (!vals.every((v) => typeof v === 'number' || v === null || v === undefined))
      return { head: a, cells: vals.map((v) => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v))) };
    return num(
      a,
      displayUnitOfPath(a),
      vals.map((v) => (typeof v === 'number' ? v : null)),
      12,
    );
  };
  /** a result column of the rows' `key` */
  const res = (label: string, unit: string, key: ResultKey) =>
    num(
      label,
      unit,
      rows.map((r) => r[key]),
    );
  const fix = (v: number | null | undefined, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');
  const cols = [
    ...axes.map(axisCol),
    ...(seeds ? [{ head: 'seed', cells: rows.map((r) => String(r.seed)) }] : []),
    ...(dtm ? [res('E/image', 'J', 'energy_per_image_j'), res('t/image', 's', 'time_per_image_s')] : [res('sweep time', 's', 'sweep_time_s')]),
    res('E/cell/sweep', 'J', 'sweep_energy_per_cell_sweep_j'),
    res('static', 'J', 'static_energy_per_cell_sweep_j'),
    res('dynamic', 'J', 'dynamic_energy_per_cell_sweep_j'),
    res('area', 'm²', 'area_m2'),
    { head: 'lag-1 (ideal)', cells: rows.map((r) => `${r.lag1_autocorr.toFixed(4)} (${r.lag1_autocorr_ideal.toFixed(4)})`) },
    { head: 'moment RMSE (floor)', cells: rows.map((r) => `${r.moment_rmse.toFixed(4)} (${r.moment_rmse_floor.toFixed(4)})`) },
    ...(judged
      ? [
          // a pooled model's images (14x14, 7x7) are judged at their resolution: say which each row's is
          ...(showImage ? [{ head: 'image', cells: rows.map((r) => (r.fd === null ? '-' : (r.quality_image ?? '?'))) }] : []),
          { head: 'N', cells: rows.map((r) => (r.quality_n === null ? '-' : String(r.quality_n))) },
          {
            head: rows.some((r) => typeof r.fd_se === 'number') ? 'FD ± se (floor/factorised)' : 'FD (floor/factorised)',
            cells: rows.map((r) =>
              r.fd === null
                ? '-'
                : `${fix(r.fd, 1)}${typeof r.fd_se === 'number' ? ` ± ${fix(r.fd_se, 1)}` : ''} (${fix(r.fd_floor, 1)}/${fix(r.fd_factorised, 1)})`,
            ),
          },
          // real images are FD's floor but accuracy's ceiling (the column is clamped_accuracy_floor)
          {
            head: 'accuracy (ceiling/factorised)',
            cells: rows.map((r) =>
              r.clamped_accuracy === null
                ? '-'
                : `${fix(r.clamped_accuracy, 3)} (${fix(r.clamped_accuracy_floor, 3)}/${fix(r.clamped_accuracy_factorised, 3)})`,
            ),
          },
        ]
      : []),
  ];
  const head = ['#', ...cols.map((c) => c.head)];
  const body = rows.map((r, i) => [String(r.point), ...cols.map((c) => c.cells[i])]);
  const all = [head, ...body];
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const table = all.map((r) => r.map((s, c) => (c === 0 || c > axes.length ? s.padStart(w[c]) : s.padEnd(w[c]))).join('  ')).join('\n') + '\n';
  const smallN = smallNLine(rows);
  return (
    table +
    (judged
      ? `FD: lower is better${rows.some((r) => typeof r.fd_se === 'number') ? "; ± its standard error over the point's images (two FDs closer than twice their combined se are not told apart)" : ''}; floor = real images, factorised = independent pixels, both at the same N; accuracy: classifier agrees with the clamped class, higher is better; ceiling = real images, the same N\n` +
        (images.length > 1 ? `${MIXED_IMAGES_NOTE(images)}\n` : '') +
        (smallN ? `WARNING: ${smallN}\n` : '')
      : '')
  );
}

async function report(dir: string, others: string[], a: A, s: Session, stop: () => boolean = () => false): Promise<void> {
  const { log } = s;
  const c = await buildReport(dir, others, { charts: a.charts !== false, ctx: cliContext(s, stop) });
  if (c.merged > 0) log.info({ merged: c.merged }, `merged ${c.merged} finished point(s) from ${others.join(', ')}`);
  if (c.missing.length > 0) {
    log.warn(
      { missing: c.missing.map((p) => p.index + 1) },
      `${c.missing.length} of ${c.points.length} points not finished: ${c.missing.map((p) => p.index + 1).join(', ')}`,
    );
  }
  if (a.json) {
    process.stdout.write(
      JSON.stringify(
        {
          dir,
          sweep_id: c.pf.sweep_id,
          points: c.points.length,
          finished: c.rows.length,
          missing: c.missing.map((p) => ({ point: p.index + 1, id: p.id, axes: p.axes })),
          rows: c.rows,
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  process.stdout.write(
    formatRows(c.pf, c.rows) +
      (c.missing.length ? `missing: points ${c.missing.map((p) => p.index + 1).join(', ')} (not finished)\n` : '') +
      `sweep ${c.pf.sweep_id}: ${c.rows.length} of ${c.points.length} points; ${join(dir, 'index.html')}, results.csv, results.jsonl, ${c.charts} charts\n`,
  );
}

async function cmdSweep(a: A, s: Session): Promise<void> {
  const { log } = s;
  let dir: string;
  let planJobs: number | undefined;
  let stored: ReturnType<typeof readRunOptions> = null;
  // --jobs checked before the sweep directory is claimed or written
  const typedJobs = a.jobs === undefined ? undefined : checkJobs(a.jobs, '--jobs');
  if (a.resume !== undefined) {
    // the design's options (and --out): the stored plan is the design
    const planFlags = [...planOptionNames, 'out'];
    const flagName = (f: string) => (f === 'config' ? 'the config' : `--${f}`);
    const given = planFlags.filter((f) => a[f] !== undefined && !(Array.isArray(a[f]) && (a[f] as unknown[]).length === 0));
    if (given.length) throw new UserError(`--resume ${a.resume}: continues the plan stored there; drop ${given.map(flagName).join(', ')}`);
    dir = resolve(String(a.resume));
    const pf = ownSweepDir(dir); // its tables, options and report are this command's to replace
    checkSweepData(pf.plan, `--resume ${dir}`);
    stored = readRunOptions(dir);
  } else {
    const { input, jobs } = planFromArgs(a);
    planJobs = jobs;
    if ((input.axes ?? []).length === 0) throw new UserError('dtca sweep: give at least one axis (--axis PATH=v1,v2,..., --grid, --clock, or a --plan file)');
    const ex = expandPlan(makePlan(input, (line) => log.info({}, line))); // every point resolved and checked before anything runs
    checkSweepData(ex.plan, ex.plan.train ? '--train' : `--model ${String(ex.plan.workload.model)} (its points are judged against Fashion-MNIST's test split)`);
    dir = a.out !== undefined ? resolve(String(a.out)) : claimDefaultDir('sweeps', 'sweep');
    const how = claimSweepDir(dir, ex);
    log.info({ dir, points: ex.points.length, sweep: ex.sweep_id }, how === 'resume' ? 'same sweep found in the directory: resuming' : 'sweep planned');
  }
  // the options of the first run, unless given again: --resume runs as the interrupted run did
  const jobs = typedJobs ?? stored?.jobs ?? planJobs ?? availableParallelism();
  const charts = a.charts === false || argGiven(s.argv, '--no-charts') ? false : argGiven(s.argv, '--charts') ? true : (stored?.charts ?? true);
  writeRunOptions(dir, { jobs, charts });
  const r = await stoppable(
    s,
    (stop) => runSweep(dir, { jobs, shard: null }, cliContext(s, stop)),
    (signal) => sweepInterrupted(signal, `${sweepProgress(dir, null, false)}, kept in ${dir}`, ['dtca', 'sweep', '--resume', dir]),
  );
  log.info({ ran: r.ran, skipped: r.skipped, twins: r.twins, models: r.models, wall_s: Number(r.wall_s.toFixed(2)) }, 'sweep finished');
  // the report stops between charts: the points are kept, `sweep collect` builds it
  const collect = ['dtca', 'sweep', 'collect', dir, ...(charts ? [] : ['--no-charts']), ...(a.json ? ['--json'] : [])];
  await stoppableReport(
    s,
    dir,
    [],
    { ...a, charts },
    `: ${sweepProgress(dir, null, false)}, kept in ${dir}; the report not finished`,
    collect,
    'build it with',
  );
}

/**
 * The report (tables, charts, index.html) with SIGINT/SIGTERM stopping it before its next chart
 * (sim/sweep/report.ts writeCharts): the tables and the charts written are whole, index.html is not
 * rewritten; one line says so (`how`, then how many charts) and gives `again`, the command that
 * builds the report.
 */
async function stoppableReport(s: Session, dir: string, others: string[], a: A, how: string, again: string[], lead: string): Promise<void> {
  let charts = '';
  await stoppable(
    s,
    async (stop) => {
      try {
        await report(dir, others, a, s, stop);
      } catch (e) {
        if (e instanceof ChartsInterrupted) charts = ` (${e.done} of ${e.total} charts written)`;
        throw e;
      }
    },
    (signal) => interruptedLine(signal, `${how}${charts}`, again, lead),
  );
}

/** Was this flag typed on the command line (yargs fills defaults; --resume must tell them apart). */
function argGiven(argv: readonly string[], flag: string): boolean {
  return argv.some((x) => x === flag || x.startsWith(`${flag}=`));
}

/**
 * Run `work` with SIGINT/SIGTERM stopping it at its next safe point (cli/signals.ts; `stop` is what
 * the work asks): stopped, the Interrupted of `interrupted(signal)` is thrown, which main() prints
 * as one line and exits 128 + the signal's number. The signals' default actions return when the
 * work ends.
 */
async function stoppable<T>(s: Session, work: (stop: () => boolean) => Promise<T>, interrupted: (signal: string) => Interrupted): Promise<T> {
  const stop: StopSignal = listenForStop(s.signals);
  try {
    return await work(() => stop.signal !== null);
  } catch (e) {
    if (stop.signal !== null && e instanceof Interrupted) throw interrupted(stop.signal);
    throw e;
  } finally {
    stop.dispose();
  }
}

/** The one line of a sweep command stopped by a signal: what is done, and the command that continues. */
function sweepInterrupted(signal: string, done: string, command: string[]): Interrupted {
  return interruptedLine(signal, `: ${done}`, command);
}

/** "N of M stage-epochs" over the models of `jobs` (their checkpoints; a finished model counts whole) */
function modelProgress(cache: string, jobs: ModelJob[]): string {
  const epochs = (j: ModelJob) => j.spec.options.epochs as number;
  let done = 0;
  let total = 0;
  let models = 0;
  for (const j of jobs) {
    total += j.spec.T * epochs(j);
    if (isModelDone(cache, j.key)) {
      models++;
      done += j.spec.T * epochs(j);
    } else done += stageEpochs(cache, j).reduce((a, e) => a + Math.min(e, epochs(j)), 0);
  }
  return `${models} of ${jobs.length} model(s) trained (${done} of ${total} stage-epochs)`;
}

/** How far a sweep (or a shard of it) got: its points finished and, while any model is unfinished, its models. */
function sweepProgress(dir: string, shard: Shard | null, modelsOnly: boolean): string {
  const mine = shardPoints(readPoints(dir), shard);
  const jobs = modelsOf(mine);
  const cache = modelCacheOf(dir, readPlanFile(dir));
  const models = jobs.some((j) => !isModelDone(cache, j.key)) || modelsOnly ? modelProgress(cache, jobs) : '';
  if (modelsOnly) return `${models}, checkpoints in ${cache}`;
  const done = mine.filter((p) => isPointDone(dir, p.id)).length;
  const points = `${done} of ${mine.length} points${shard ? ` of shard ${shard.k}/${shard.n}` : ''} finished`;
  return models ? `${points}, ${models}` : points;
}

/** Every (model, stage) the sweep's points need, in a fixed order: the tasks of its training array. */
export function trainTasksOf(dir: string): { tasks: TrainTask[]; cache: string; jobs: ReturnType<typeof modelsOf> } {
  const pf = readPlanFile(dir);
  const jobs = modelsOf(readPoints(dir));
  const tasks = jobs.flatMap((j) => Array.from({ length: j.spec.T }, (_, stage) => ({ key: j.key, stage })));
  return { tasks, cache: modelCacheOf(dir, pf), jobs };
}

export function sweepCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'sweep [config]',
    'run a workload over axes of config values (grid x clock x any path), in parallel and resumable, with a report',
    // the sweep's own options are not its subcommands' (sweep run DIR --grid 32 ran DIR's plan and ignored the
    // grid): not inherited, so strict parsing refuses them there; plan declares its own
    (yy) =>
      notInherited(planOptions(yy), [...planOptionNames, 'jobs', 'out', 'resume', 'charts', 'json'])
        .command(
          'plan [config]',
          'write the plan and point list of a sweep into --out DIR (for sweep run --shard, or a Slurm array)',
          (p) => planOptions(p).option('out', { type: 'string', demandOption: true, describe: 'sweep directory' }),
          async (p) => {
            const { input } = planFromArgs(p as A);
            if ((input.axes ?? []).length === 0) throw new UserError('dtca sweep plan: give at least one axis');
            const ex = expandPlan(makePlan(input, (line) => s.log.info({}, line)));
            const dir = resolve(String((p as A).out));
            const how = claimSweepDir(dir, ex);
            process.stdout.write(
              `${how === 'new' ? 'planned' : 'already planned'}: ${ex.points.length} point${ex.points.length === 1 ? '' : 's'} (sweep ${ex.sweep_id}) in ${dir}\nrun: dtca sweep run ${dir} [--shard k/N]   or   dtca sweep slurm ${dir}\n`,
            );
          },
        )
        .command(
          'run <dir>',
          'run the points of a planned sweep (all, or one shard); finished points are skipped',
          (p) =>
            p
              .positional('dir', { type: 'string', demandOption: true })
              .option('shard', { type: 'string', describe: 'k/N: run every N-th point from the k-th (default: from SLURM_ARRAY_TASK_ID/COUNT, else all)' })
              .option('jobs', { type: 'number', describe: `points run at once (default: one per core; at most ${MAX_JOBS})` }),
          async (p) => {
            const jobs = jobsOf(p.jobs); // the flags first, then the directory
            const dir = resolve(String(p.dir));
            const shard = p.shard !== undefined ? parseShard(String(p.shard)) : shardFromEnv();
            checkSweepData(readPlanFile(dir).plan, dir);
            // SIGINT/SIGTERM (a Slurm task cancelled or out of time): the points finished are kept, the same command continues
            const again = [...s.argv, ...(shard && p.shard === undefined ? ['--shard', `${shard.k}/${shard.n}`] : [])];
            const r = await stoppable(
              s,
              (stop) => runSweep(dir, { jobs, shard }, cliContext(s, stop)),
              (signal) => sweepInterrupted(signal, `${sweepProgress(dir, shard, false)}, kept in ${dir}`, ['dtca', ...again]),
            );
            process.stdout.write(
              `${shard ? `shard ${shard.k}/${shard.n}: ` : ''}${r.ran} point(s) run, ${r.skipped} already finished, of ${r.mine}${shard ? ` in this shard (${r.total} in the sweep)` : ''}; ${r.wall_s.toFixed(1)} s\ncollect: dtca sweep collect ${dir}\n`,
            );
          },
        )
        .command(
          'train <dir>',
          'train the models a planned --train sweep needs (all, or one (model, stage) of its Slurm training array with --task K)',
          (p) =>
            p
              .positional('dir', { type: 'string', demandOption: true })
              .option('task', { type: 'number', describe: "train only task K (1-based) of the sweep's training array: one stage of one model" })
              .option('jobs', { type: 'number', describe: `model stages trained at once (default: one per core; at most ${MAX_JOBS})` }),
          async (p) => {
            const stagesAtOnce = jobsOf(p.jobs); // the flags first, then the directory
            const dir = resolve(String(p.dir));
            const { tasks, cache, jobs } = trainTasksOf(dir);
            if (jobs.length === 0) throw new UserError(`${dir}: this sweep trains no models (plan it with --train)`);
            checkSweepData(readPlanFile(dir).plan, dir, ['train']);
            // SIGINT/SIGTERM stop the training at its next step, its checkpoints whole; the same command continues
            const again = ['dtca', ...s.argv];
            if (p.task !== undefined) {
              const k = positiveInt('task', p.task as number);
              if (k! > tasks.length) throw new UserError(`--task ${k}: the sweep's training array has ${tasks.length} tasks`);
              const t = tasks[k! - 1];
              const job = jobs.find((j) => j.key === t.key)!;
              s.log.info({ model: job.key, stage: t.stage, design: job.label }, `training stage ${t.stage} of model ${job.key}`);
              const r = await stoppable(
                s,
                (stop) => trainModel(cache, job, { stages: [t.stage], ctx: cliContext(s, stop) }),
                (signal) => {
                  const epochs = job.spec.options.epochs as number;
                  const e = isModelDone(cache, job.key) ? epochs : Math.min(epochs, stageEpochs(cache, job)[t.stage]);
                  return sweepInterrupted(
                    signal,
                    `task ${k} (model ${job.key} stage ${t.stage}): ${e} of ${epochs} epochs done${e === epochs && !isModelDone(cache, job.key) ? ' (the model not written yet)' : ''}, checkpoints in ${modelFile(cache, job.key)}.ckpt/`,
                    again,
                  );
                },
              );
              process.stdout.write(
                `task ${k}: model ${job.key} stage ${t.stage} ${r.trained ? 'trained' : 'already trained'}${r.assembled ? '; every stage done: model written' : ''}\n`,
              );
              return;
            }
            const r = await stoppable(
              s,
              (stop) => runSweep(dir, { jobs: stagesAtOnce, shard: null, only: 'train' }, cliContext(s, stop)),
              (signal) => sweepInterrupted(signal, sweepProgress(dir, null, true), again),
            );
            process.stdout.write(`${r.models} model(s) trained, ${jobs.length - r.models} already in ${cache}\n`);
          },
        )
        .command(
          'collect <dir> [more..]',
          'build results.csv/.jsonl, charts and index.html from the finished points (merging other directories of the same sweep)',
          (p) =>
            p
              .positional('dir', { type: 'string', demandOption: true })
              .positional('more', { type: 'string', array: true, describe: 'other directories of the same sweep (shards run apart)' })
              .option('charts', { type: 'boolean', default: true, describe: 'render charts (--no-charts: tables and index only)' })
              .option('json', { type: 'boolean', default: false, describe: 'print the rows (and the points not finished) as JSON' }),
          async (p) => {
            const dir = resolve(String(p.dir));
            const more = ((p.more as string[] | undefined) ?? []).map((m) => resolve(m));
            await stoppableReport(s, dir, more, p as A, `: the report of ${dir} not finished`, ['dtca', ...s.argv], 'build it again with');
          },
        )
        .command(
          'slurm <dir>',
          'write the sbatch scripts of a planned sweep (DIR/sweep.sbatch; with --train a training array, DIR/train.sbatch, and DIR/submit.sh) and optionally submit them',
          (p) =>
            p
              .positional('dir', { type: 'string', demandOption: true })
              .option('partition', { type: 'string', describe: 'Slurm partition to run the tasks on (default: the cluster default)' })
              .option('time', { type: 'string', describe: 'time limit per task, e.g. 01:00:00' })
              .option('cpus-per-task', { type: 'number', describe: 'CPUs per task, used as its sweep jobs (default 1)' })
              .option('mem', { type: 'string', describe: 'memory per task, e.g. 4G' })
              .option('tasks', { type: 'number', describe: 'array tasks (default: one per point)' })
              .option('dtca', { type: 'string', describe: 'command that runs dtca on the nodes (default: this node and this dtca)' })
              .option('out', { type: 'string', describe: 'script path (default DIR/sweep.sbatch)' })
              .option('submit', {
                type: 'boolean',
                default: false,
                describe: 'submit at once: the training array (if any), then the point array with --dependency=afterok on it',
              })
              .option('wait', { type: 'boolean', default: false, describe: 'with --submit: wait until the point array has finished (sbatch --wait)' }),
          (p) => {
            const dir = resolve(String(p.dir));
            const pf = ownSweepDir(dir);
            const res = {
              partition: p.partition as string | undefined,
              time: p.time as string | undefined,
              cpusPerTask: p.cpusPerTask as number | undefined,
              mem: p.mem as string | undefined,
              dtca: p.dtca as string | undefined,
            };
            if (p.wait && !p.submit) throw new UserError('--wait goes with --submit');
            const out = resolve(p.out !== undefined ? String(p.out) : join(dir, 'sweep.sbatch'));
            // training: one task per stage of each model, unless every model is in the cache already
            const { tasks, cache, jobs } = trainTasksOf(dir);
            const toTrain = jobs.some((j) => !isModelDone(cache, j.key));
            const script = slurmScript({
              dir,
              points: readPoints(dir).length,
              sweepId: pf.sweep_id,
              tasks: p.tasks as number | undefined,
              scriptPath: out,
              afterTraining: toTrain,
              ...res,
            });
            if (p.out !== undefined && existsSync(out)) throw new UserError(`--out ${out}: exists (not overwritten)`);
            const trainPath = join(dir, 'train.sbatch');
            const trainText = toTrain ? trainSlurmScript({ dir, sweepId: pf.sweep_id, tasks, ...res }) : null;
            writeFileAtomic(out, script);
            if (trainText) writeFileAtomic(trainPath, trainText);
            const submitPath = join(dir, 'submit.sh');
            writeFileAtomic(submitPath, submitScript({ trainScript: trainText ? trainPath : null, sweepScript: out }));
            if (!p.submit) {
              process.stdout.write(
                `wrote ${out}${trainText ? ` and ${trainPath} (${tasks.length} training tasks: ${jobs.length} model(s) x their stages)` : ''}\nsubmit: bash ${submitPath}${trainText ? ' (training first, the points with afterok on it)' : ` (or sbatch ${out})`}\nthen:   dtca sweep collect ${dir}\n`,
              );
              return;
            }
            const trainJob = trainText ? sbatch([trainPath], 'training array') : null;
            if (trainJob) process.stdout.write(`training job ${trainJob} (${tasks.length} tasks)\n`);
            const pointArgs = [...(trainJob ? [`--dependency=afterok:${trainJob}`] : []), ...(p.wait ? ['--wait'] : []), out];
            if (!p.wait) {
              const pointJob = sbatch(pointArgs, 'point array');
              process.stdout.write(`point job ${pointJob}${trainJob ? ` (starts when ${trainJob} has succeeded)` : ''}\nthen: dtca sweep collect ${dir}\n`);
              return;
            }
            process.stdout.write(`point job submitted${trainJob ? ` after ${trainJob}` : ''}; waiting for it to finish\n`);
            const pointJob = sbatch(pointArgs, 'point array');
            process.stdout.write(`point job ${pointJob} finished\nthen: dtca sweep collect ${dir}\n`);
          },
        )
        .option('jobs', { type: 'number', describe: `points (and, with --train, model stages) run at once (default: one per core; at most ${MAX_JOBS})` })
        .option('out', { type: 'string', describe: 'sweep directory (default sweeps/<time>-<suffix>-sweep); the same directory resumes' })
        .option('resume', { type: 'string', describe: 'continue the sweep stored in this directory' })
        .option('charts', { type: 'boolean', default: true, describe: 'render charts (--no-charts: tables and index only)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the rows as JSON' }),
    (a) => cmdSweep(a as A, s),
  );
}
