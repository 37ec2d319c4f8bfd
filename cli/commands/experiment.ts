/**
 * `dtca experiment central`: the paper's central training result at small scale. With one training
 * budget (the same epochs, steps, batch and chains per stage), train
 *   mebm      a monolithic EBM: one stage, generation from noise in T x K sweeps;
 *   dtm       a DTM with T stages, without the Adaptive Correlation Penalty;
 *   dtm-acp   the same DTM with ACP;
 * keep the model after every epoch, and score every epoch's model with `dtca eval`'s metrics (FD of
 * the quality classifier's features against held-out images, clamped accuracy) and the chain
 * autocorrelation the training measured (per stage, at lag --acp-lag; mean and max over stages).
 * Writes OUT/results.jsonl, OUT/results.md and OUT/central.svg/.png. Re-running continues: models
 * trained are kept, epochs scored are not scored again; OUT/experiment.json keeps the flags they
 * were made with (all but --variants, --workers, --data), and other values are refused. --epochs is
 * among them: the learning rate's cosine schedule spans the epochs, so a model trained for E epochs
 * is not the first E epochs of a longer run.
 */
import type { Argv } from 'yargs';
import { existsSync, appendFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Interrupted, UserError } from '../../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { kindOf } from '../../fabric/json.js';
import { shown } from '../../fabric/rules.js';
import { resolveConfig, FLAG_NAMES } from '../../sim/config.js';
import { planWorkload, executeWorkload, outcomeSamples, WorkloadStopped, type DtmOutcome } from '../../sim/workload.js';
import { quietContext } from '../../sim/context.js';
import { readModel } from '../../sim/model.js';
import { newDtmModel, PLACEMENTS, CONFIG_GRID_NAMES, type Placement } from '../../sim/dtm.js';
import { train, TrainingStopped } from '../../sim/train/train.js';
import { TRAIN_FLAG_NAMES } from '../../sim/train/train-names.js';
import { evaluate, loadReferenceData } from '../../sim/quality/eval.js';
import { readClassifier } from '../../sim/quality/classifier.js';
import { CLASSIFIER_PATH } from '../../sim/quality/train.js';
import { CLASSES } from '../../sim/fmnist.js';
import { writeChart, EPOCH_X, type ChartSpec } from '../../sim/io/plot.js';
import { writeFileAtomic } from '../../sim/io/output.js';
import { noteClaimedDir, makeDirs } from '../../fabric/files.js';
import { positiveInt, workersFlag } from '../common.js';
import type { Session } from '../session.js';
import { listenForStop, interruptedLine } from '../signals.js';

export interface Row {
  variant: string;
  epoch: number;
  fd: number;
  /** fd's standard error (dtca eval's fd_se); absent in rows written before it existed */
  fd_se?: number | null;
  clamped_accuracy: number | null;
  marginal_error: number;
  rho_mean: number;
  rho_max: number;
  lambda_mean: number;
  images: number;
  sweeps_per_stage: number;
  T: number;
}

const VARIANTS = [
  { name: 'mebm', T: 1, acp: false, what: 'monolithic EBM (T = 1)' },
  { name: 'dtm', T: 8, acp: false, what: 'DTM without ACP' },
  { name: 'dtm-acp', T: 8, acp: true, what: 'DTM with ACP' },
] as const;

/** --variants: a comma-separated subset of the three models (default all three). */
export function parseVariants(arg: string | undefined): string[] {
  if (arg === undefined) return VARIANTS.map((v) => v.name);
  const names = arg.split(',').map((x) => x.trim());
  const known = VARIANTS.map((v) => v.name) as string[];
  if (names.length === 0 || names.some((n) => n === '')) throw new UserError(`--variants ${arg}: a comma-separated list of ${known.join(', ')}`);
  for (const n of names) if (!known.includes(n)) throw new UserError(`--variants ${arg}: unknown variant '${n}' (choose from ${known.join(', ')})`);
  return names;
}

/** A flag's value as typed: 0.016, random, a=1 b=2 (a list), none. */
function flagText(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.map(String).join(' ');
  return String(v);
}

/**
 * A JSON-lines file of the experiment's directory, bounded (fabric/read.ts); a bad line is one line
 * naming it. `problem` says what is wrong with a parsed line (null: nothing).
 */
function readJsonLines<T>(path: string, what: string, problem: (v: unknown) => string | null = () => null): T[] {
  const lines = readInputFile(path, { what, max: READ_LIMITS.json }).toString('utf8').split('\n');
  const out: T[] = [];
  lines.forEach((l, k) => {
    if (l.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new UserError(`${path}: line ${k + 1} is not valid JSON`);
    }
    const bad = problem(v);
    if (bad) throw new UserError(`${path}: line ${k + 1}: ${bad}`);
    out.push(v as T);
  });
  return out;
}

/**
 * What is wrong with a results.jsonl row (null: nothing): the fields the table, the chart and the
 * settings check read, of their types (a null row was a TypeError stack trace, a string one
 * "--images undefined (not 500)").
 */
function rowProblem(v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `expected a result row (an object), got ${kindOf(v)}`;
  const r = v as Record<string, unknown>;
  if (!VARIANTS.some((x) => x.name === r.variant)) return `variant ${shown(r.variant)} is not one of ${VARIANTS.map((x) => x.name).join(', ')}`;
  for (const k of ['epoch', 'images', 'sweeps_per_stage', 'T'])
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < (k === 'epoch' ? 0 : 1)) return `${k} = ${shown(r[k])}: expected a whole number`;
  for (const k of ['fd', 'marginal_error', 'rho_mean', 'rho_max', 'lambda_mean'])
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return `${k} = ${shown(r[k])}: expected a finite number`;
  if (r.clamped_accuracy !== null && !(typeof r.clamped_accuracy === 'number' && Number.isFinite(r.clamped_accuracy)))
    return `clamped_accuracy = ${shown(r.clamped_accuracy)}: expected a finite number or null`;
  if (r.fd_se !== undefined && r.fd_se !== null && !(typeof r.fd_se === 'number' && Number.isFinite(r.fd_se) && r.fd_se >= 0))
    return `fd_se = ${shown(r.fd_se)}: expected a finite number >= 0 or null`;
  return null;
}

/**
 * results.md's table: a row per model scored, FD with its standard error (± se: two FDs closer than
 * twice their combined standard error are not told apart at this N; none for rows from before it).
 */
export function centralTable(rows: Row[], images: number): string[] {
  const se = rows.some((r) => typeof r.fd_se === 'number');
  return [
    `| variant | epoch | FD (N = ${images})${se ? ' ± se' : ''} | clamped accuracy | autocorrelation, mean over stages | max | lambda (mean) |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.epoch} | ${r.fd.toFixed(2)}${typeof r.fd_se === 'number' ? ` ± ${r.fd_se.toFixed(2)}` : ''} | ${r.clamped_accuracy === null ? 'n/a' : r.clamped_accuracy.toFixed(3)} | ${r.rho_mean.toFixed(4)} | ${r.rho_max.toFixed(4)} | ${r.lambda_mean.toPrecision(3)} |`,
    ),
  ];
}

/** The chart of OUT/central.svg/.png: FD and the worst stage's autocorrelation (at `lag` sweeps) per epoch, one line per model scored. */
export function centralChartSpec(rows: Row[], images: number, lag: number): ChartSpec {
  const long = rows.flatMap((r) => [
    { variant: r.variant, epoch: r.epoch, metric: `FD (N = ${images}, lower is better)`, value: r.fd },
    { variant: r.variant, epoch: r.epoch, metric: `chain autocorrelation at lag ${lag} sweeps (max over stages)`, value: r.rho_max },
  ]);
  const names: Record<string, string> = { mebm: 'Monolithic EBM', dtm: 'DTM', 'dtm-acp': 'DTM + ACP' };
  const shown = VARIANTS.filter((v) => rows.some((r) => r.variant === v.name)).map((v) => names[v.name] ?? v.name);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${shown.join(', ')}: quality and mixing over training`,
    data: { values: long },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: EPOCH_X,
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'variant', type: 'nominal', title: 'model', sort: VARIANTS.map((v) => v.name) },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

async function cmdCentral(a: Record<string, unknown>, s: Session): Promise<void> {
  const { log } = s;
  const out = resolve(String(a.out ?? 'runs/central'));
  const wanted = parseVariants(a.variants as string | undefined);
  // the directory is the experiment's own: new, empty, or holding an earlier (resumed) experiment
  const ours =
    existsSync(join(out, 'results.jsonl')) ||
    existsSync(join(out, 'experiment.json')) ||
    VARIANTS.some((v) => existsSync(join(out, `${v.name}.mp`)) || existsSync(join(out, `${v.name}.mp.ckpt`)));
  if (existsSync(out) && !ours) {
    if (!statSync(out).isDirectory()) throw new UserError(`--out ${out}: exists and is not a directory; choose another --out`);
    if (readdirSync(out).length > 0)
      throw new UserError(`--out ${out}: not empty and holds no experiment (results.jsonl or a variant's model); choose another directory`);
  }
  const epochs = positiveInt('epochs', a.epochs as number | undefined) ?? 10;
  const steps = positiveInt('steps', a.steps as number | undefined) ?? 50;
  const batch = positiveInt('batch', a.batch as number | undefined) ?? 64;
  const images = positiveInt('images', a.images as number | undefined) ?? 500;
  const K = positiveInt('sweeps', a.sweeps as number | undefined) ?? 250;
  const workers = workersFlag(a.workers as number | undefined) ?? 1;
  const lag = positiveInt('acp-lag', a.acpLag as number | undefined) ?? 100;
  const placement = (a.placement ?? 'random') as Placement;
  const lr = a.lr === undefined ? 0.016 : Number(a.lr);
  if (!(Number.isFinite(lr) && lr > 0 && lr <= 10)) throw new UserError(`--lr ${String(a.lr)}: a learning rate in (0, 10]`);
  const base = resolveConfig(undefined, { sets: (a.set as string[] | undefined) ?? [], names: FLAG_NAMES });
  // the ideal chip with the chip's weight precision (as dtca train --chip ideal)
  const config = resolveConfig(undefined, {
    ideal: true,
    sets: [...((a.set as string[] | undefined) ?? []), `cell.weight_bits=${JSON.stringify(base.cell.weight_bits)}`],
    names: FLAG_NAMES,
  });
  const data = loadReferenceData(a.data as string | undefined);
  const classifier = readClassifier(CLASSIFIER_PATH);
  const resultsPath = join(out, 'results.jsonl');
  const rows: Row[] = existsSync(resultsPath) ? readJsonLines<Row>(resultsPath, 'results file', rowProblem) : [];
  // a re-run continues the same experiment: its models and scores were made with these flags;
  // other values would label the old rows with the new flags (and --epochs, which the learning
  // rate's cosine schedule spans, cannot grow: the models would have to be trained again)
  const settings: Record<string, unknown> = {
    epochs,
    steps,
    batch,
    lr,
    placement,
    'acp-lag': lag,
    images,
    sweeps: K,
    set: (a.set as string[] | undefined) ?? [],
  };
  const settingsPath = join(out, 'experiment.json');
  const before: Record<string, unknown> = existsSync(settingsPath)
    ? (readJsonLines<Record<string, unknown>>(settingsPath, 'experiment settings')[0] ?? {})
    : rows.length > 0
      ? { images: rows[0].images, sweeps: rows.find((r) => r.T !== 1)?.sweeps_per_stage ?? rows[0].sweeps_per_stage / 8 }
      : {};
  const differ = Object.keys(before).filter((k) => k in settings && JSON.stringify(before[k]) !== JSON.stringify(settings[k]));
  if (differ.length > 0)
    throw new UserError(
      `--out ${out}: holds an experiment made with ${differ.map((k) => `--${k} ${flagText(before[k])} (not ${flagText(settings[k])})`).join(', ')}; give the same flags to continue it, or another --out`,
    );
  // every flag, the config, the data and the results so far checked: only now the directory (a refused command leaves none)
  makeDirs(out, `--out ${a.out ?? out}`);
  noteClaimedDir(out);
  writeFileAtomic(settingsPath, JSON.stringify(settings) + '\n');
  // SIGINT/SIGTERM stop a training at its next step (its checkpoints whole) or a scoring at its next
  // sweep (what was scored is in results.jsonl); the same command continues (cli/signals.ts)
  const stop = listenForStop(s.signals);
  const stopped = () => stop.signal !== null;
  let doing = '';
  try {
    for (const v of VARIANTS.filter((x) => wanted.includes(x.name))) {
      const modelPath = join(out, `${v.name}.mp`);
      const model0 = newDtmModel({
        T: v.T,
        L: config.fabric.L,
        rules: config.fabric.rules,
        boundary: config.fabric.boundary,
        visible: 'fmnist',
        weights: 'zero',
        seed: config.seed,
        placement,
        names: CONFIG_GRID_NAMES,
      });
      if (!existsSync(modelPath)) {
        log.info({ variant: v.name, epochs, steps, batch }, 'training');
        doing = `training ${v.name}`;
        await train({
          config,
          engine: 'auto',
          model: model0,
          dataDir: a.data as string | undefined,
          out: modelPath,
          epochs,
          steps,
          batch,
          warmup: 60,
          samples: 10,
          every: 6,
          lr,
          alpha: 0.18,
          acp: v.acp,
          acpLambda0: v.acp ? 0.01 : 0,
          acpLag: lag,
          seed: config.seed,
          workers,
          resume: existsSync(`${modelPath}.ckpt`),
          snapshots: true,
          names: TRAIN_FLAG_NAMES,
          stop: stopped,
          onEpoch: (r) => log.info({ variant: v.name, stage: r.stage, epoch: r.epoch, rho: +r.rho.toFixed(4), lambda: +r.lambda.toPrecision(3) }, 'epoch'),
        });
      }
      const trainLog = readJsonLines<{ stage: number; epoch: number; rho: number; lambda: number }>(`${modelPath}.train.jsonl`, 'training log');
      for (let e = 1; e <= epochs; e++) {
        if (rows.some((r) => r.variant === v.name && r.epoch === e)) continue;
        const snap = join(`${modelPath}.epochs`, `epoch-${e}.mp`);
        if (!existsSync(snap)) {
          // an experiment.json from before --epochs was kept: the model's own log says how far it was trained
          const trained = trainLog.reduce((m, r) => Math.max(m, r.epoch), 0);
          if (trained < e)
            throw new UserError(
              `--epochs ${epochs}: ${modelPath} was trained for ${trained} epoch${trained === 1 ? '' : 's'}; give --epochs ${trained} to continue it, or another --out`,
            );
          throw new UserError(`${snap}: missing (to train ${v.name} again, remove ${modelPath} and ${modelPath}.ckpt)`);
        }
        const model = readModel(snap);
        const labels = Array.from({ length: CLASSES }, (_, c) => c);
        // the monolithic EBM gets the DTM's total sweeps in its one stage
        const sweeps = v.T === 1 ? 8 * K : K;
        doing = `scoring ${v.name} epoch ${e}`;
        const out = (await executeWorkload(planWorkload({ config, model, images, sweeps, labels, workers }), quietContext({ stop: stopped }), {
          stopped: stop.received,
        })) as DtmOutcome;
        const rep = evaluate(outcomeSamples(out, snap), { data, classifier: classifier.net, classifierPath: CLASSIFIER_PATH, classifierTestAccuracy: null });
        const at = trainLog.filter((r) => r.epoch === e);
        const row: Row = {
          variant: v.name,
          epoch: e,
          fd: rep.fd,
          fd_se: rep.fd_se,
          clamped_accuracy: rep.clamped_accuracy,
          marginal_error: rep.marginal_error,
          rho_mean: at.reduce((s, r) => s + r.rho, 0) / at.length,
          rho_max: Math.max(...at.map((r) => r.rho)),
          lambda_mean: at.reduce((s, r) => s + r.lambda, 0) / at.length,
          images,
          sweeps_per_stage: sweeps,
          T: v.T,
        };
        rows.push(row);
        appendFileSync(resultsPath, JSON.stringify(row) + '\n');
        log.info({ variant: v.name, epoch: e, fd: +row.fd.toFixed(2), rho_max: +row.rho_max.toFixed(4) }, 'scored');
      }
    }
  } catch (e) {
    if (stop.signal !== null && (e instanceof Interrupted || e instanceof WorkloadStopped)) {
      const far = e instanceof TrainingStopped ? ` (${e.done} of ${e.total} stage-epochs in its checkpoints)` : '';
      throw interruptedLine(stop.signal, ` while ${doing}${far}`, ['dtca', ...s.argv]);
    }
    throw e;
  } finally {
    stop.dispose();
  }
  rows.sort((x, y) => VARIANTS.findIndex((v) => v.name === x.variant) - VARIANTS.findIndex((v) => v.name === y.variant) || x.epoch - y.epoch);
  const md = [
    `Ideal chip (${config.cell.weight_bits}-bit weights), ${epochs} epoch${epochs === 1 ? '' : 's'} x ${steps} step${steps === 1 ? '' : 's'}, batch ${batch}, lr ${lr}, placement ${placement}, ${images} class-clamped images scored per epoch, autocorrelation at lag ${lag} sweeps.`,
    '',
    ...centralTable(rows, images),
  ].join('\n');
  writeFileAtomic(join(out, 'results.md'), md + '\n');
  const spec = centralChartSpec(rows, images, lag);
  await writeChart(spec, join(out, 'central'));
  process.stdout.write(md + `\n\n${out}/results.jsonl, results.md, central.png\n`);
}

export function experimentCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command('experiment', 'reproduce a result of the paper at small scale', (yy) =>
    yy
      .command(
        'central',
        'monolithic EBM vs DTM vs DTM + ACP over training epochs: FD and autocorrelation',
        (c) =>
          c
            .option('out', { type: 'string', describe: 'directory (default runs/central)' })
            .option('epochs', { type: 'number', describe: 'epochs per model (default 10)' })
            .option('steps', { type: 'number', describe: 'steps per epoch (default 50)' })
            .option('batch', { type: 'number', describe: 'chains per step (default 64)' })
            .option('images', { type: 'number', describe: 'images scored per epoch (default 500)' })
            .option('sweeps', { type: 'number', describe: 'generation sweeps per DTM stage (default 250; the EBM gets 8x)' })
            .option('placement', { choices: PLACEMENTS, default: 'random', describe: 'visible cells of the models (as dtca train --placement)' })
            .option('variants', { type: 'string', describe: 'which models, comma-separated (default mebm,dtm,dtm-acp)' })
            .option('lr', { type: 'number', describe: 'Adam learning rate (default 0.016, cosine decay)' })
            .option('acp-lag', { type: 'number', describe: 'autocorrelation lag in sweeps (default 100)' })
            .option('workers', { type: 'number', describe: 'worker threads (default 1)' })
            .option('set', { type: 'string', array: true, describe: 'config overrides of the paper chip' })
            .option('data', { type: 'string', describe: 'Fashion-MNIST directory' }),
        (a) => cmdCentral(a as never, s),
      )
      .demandCommand(1, 'name an experiment: central'),
  );
}
