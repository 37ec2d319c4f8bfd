/** `dtca run`: DTM generation or a Boltzmann-machine run, written to a run directory (sim/workload.ts: plan, execute, write). */
import type { Argv } from 'yargs';
import { UserError, Interrupted } from '../../fabric/errors.js';
import { listenForStop, type StopSignal } from '../signals.js';
import { readModelAsync, type Model } from '../../sim/model.js';
import { turn } from '../../fabric/pause.js';
import { formatBytes, formatSeconds, WORKERS_PER_CORE } from '../../sim/resources.js';
import { INIT_MODES, type InitMode } from '../../sim/run.js';
import type { Mapping } from '../../sim/dtm.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../cells/engine.js';
import { formatStats } from '../../sim/stats.js';
import { withRunDir } from '../../sim/io/output.js';
import { isStdout } from '../../fabric/files.js';
import { parseIndexList, parseCellRect } from '../../traces/writer.js';
import { configLabel } from '../../sim/label.js';
import {
  planWorkload,
  executeWorkload,
  writeRunDirectory,
  writeStoppedRun,
  openPlanTrace,
  endTrace,
  WorkloadStopped,
  notForDtm,
  type WorkloadRequest,
} from '../../sim/workload.js';
import {
  adoptedGrid,
  adoptGridLabel,
  checkTrainedPrecision,
  cliContext,
  loadConfig,
  withConfigOptions,
  positiveInt,
  parseBeta,
  parseIntList,
  labelGainFlag,
  workersFlag,
  type CommonArgs,
} from '../common.js';
import type { Session } from '../session.js';

function parseEngine(v: unknown): EngineChoice {
  if (v === undefined) return 'auto';
  if (!ENGINE_CHOICES.includes(v as EngineChoice)) throw new UserError(`--engine ${String(v)}: one of ${ENGINE_CHOICES.join(', ')}`);
  return v as EngineChoice;
}

/** DTM or BM, and the flags that belong to each (given flags that do not apply are errors). */
const DTM_ONLY = ['images', 'labels', 'labelGain', 'mapping', 'trace', 'traceEvery', 'traceStages', 'traceChains', 'traceCells'] as const;
const BM_ONLY = ['chains', 'warmup', 'init'] as const;
const FLAG: Record<string, string> = {
  labelGain: '--label-gain',
  traceEvery: '--trace-every',
  traceStages: '--trace-stages',
  traceChains: '--trace-chains',
  traceCells: '--trace-cells',
};
const flagName = (k: string) => FLAG[k] ?? `--${k}`;

async function cmdRun(a: CommonArgs & Record<string, unknown>, s: Session): Promise<void> {
  // SIGINT/SIGTERM stop the run cleanly (cli/signals.ts)
  const stop = listenForStop(s.signals);
  try {
    await runChecked(a, stop, s);
  } finally {
    stop.dispose();
  }
}

/** A signal before the run directory was claimed: nothing was written. */
function stoppedEarly(signal: string): Interrupted {
  const e = new Interrupted({}, signal);
  e.message = `interrupted by ${signal} before the run started; nothing was written`;
  return e;
}

/** The command line as a workload request: flag checks and parsing only; sim/workload.ts checks the rest. */
async function request(a: CommonArgs & Record<string, unknown>, stopEarly: StopSignal): Promise<Omit<WorkloadRequest, 'config'>> {
  if (a.model !== undefined && a.workload !== undefined)
    throw new UserError('--workload: chooses the built-in workload; with --model the model file is the workload');
  // the signal handlers are up before a model file is read: a signal ends even a long read (fabric/read.ts)
  let fileModel: Model | null;
  try {
    fileModel = a.model === undefined ? null : await readModelAsync(String(a.model), { stop: () => stopEarly.signal !== null });
  } catch (e) {
    if (e instanceof Interrupted) throw stoppedEarly(stopEarly.signal ?? 'SIGTERM');
    throw e;
  }
  const dtmRun = fileModel ? Boolean(fileModel.dtm) && a.stage === undefined : a.workload !== 'bm';
  if (!fileModel && a.stage !== undefined) throw new UserError('--stage: runs one stage of a model file (--model)');
  for (const k of dtmRun ? BM_ONLY : DTM_ONLY) {
    if (a[k] !== undefined) {
      throw new UserError(
        dtmRun
          ? `${flagName(k)}: ${notForDtm(k as 'chains' | 'warmup' | 'init')}`
          : `${flagName(k)}: only for DTM generation (a model with a "dtm" section, or the default workload)`,
      );
    }
  }
  if (a.trace === undefined)
    for (const k of ['traceEvery', 'traceStages', 'traceChains', 'traceCells'])
      if (a[k] !== undefined) throw new UserError(`${flagName(k)}: thins a trace; add --trace`);
  if (a.trace !== undefined && isStdout(String(a.trace)))
    throw new UserError('--trace -: a trace is binary and the run prints its table on standard output; name a file');
  const workers = workersFlag(a.workers as number | undefined) ?? 1;
  const trace =
    a.trace === undefined
      ? undefined
      : {
          path: String(a.trace),
          every: positiveInt('trace-every', a.traceEvery as number | undefined),
          stages: a.traceStages === undefined ? undefined : parseIndexList('--trace-stages', String(a.traceStages)),
          chains: a.traceChains === undefined ? undefined : parseIndexList('--trace-chains', String(a.traceChains)),
          cells: a.traceCells === undefined ? undefined : parseCellRect(String(a.traceCells), '--trace-cells'),
        };
  return {
    model: fileModel,
    workload: a.workload as 'dtm' | 'bm' | undefined,
    stage: positiveInt('stage', a.stage as number | undefined, 0),
    images: positiveInt('images', a.images as number | undefined),
    // none: no class clamped (a Fashion-MNIST model clamps every class in turn by default)
    labels: a.labels === 'none' ? [] : parseIntList('labels', a.labels),
    labelGain: a.labelGain === undefined ? undefined : labelGainFlag(a.labelGain),
    mapping: a.mapping as Mapping | undefined,
    trace,
    chains: positiveInt('chains', a.chains as number | undefined),
    warmup: positiveInt('warmup', a.warmup as number | undefined, 0),
    init: a.init as InitMode | undefined,
    sweeps: positiveInt('sweeps', a.sweeps as number | undefined),
    beta: parseBeta(a.beta),
    engine: parseEngine(a.engine),
    batch: positiveInt('batch', a.batch as number | undefined),
    workers,
    force: Boolean(a.force),
    // for the dtca train hint when no shipped model fits: the config as named here
    configArgs: [...(a.config ? [String(a.config)] : []), ...(a.set ?? []).flatMap((v) => ['--set', v])],
  };
}

async function runChecked(a: CommonArgs & Record<string, unknown>, stop: StopSignal, s: Session): Promise<void> {
  const { log } = s;
  // ---- everything is checked before anything runs or is written
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const req = await request(a, stop);
  const seedFlags = seed === undefined ? [] : [{ source: `--seed ${seed}`, path: 'seed', value: seed }];
  let cfg = loadConfig(a, [], seedFlags);
  // labelled by the file or preset named, plus the command line's changes (not the extended preset's name)
  const label = configLabel(a.config, a.set ?? [], Boolean(a.ideal));
  const grid = req.model ? adoptedGrid(a, req.model, cfg) : [];
  if (grid.length > 0) {
    // the model's grid, as dtca eval MODEL and model tune take it (modelChipConfig): the command line names none
    cfg = loadConfig(a, [], [...seedFlags, ...grid]);
    const shown = adoptGridLabel(a, req.model!, cfg, log);
    label.label += `+model grid ${shown}`;
    label.slug += `+L${req.model!.grid.L}`;
    label.manifest.label = label.label;
  }
  const ctx = cliContext(s, () => stop.signal !== null);
  const plan = planWorkload({ config: cfg, ...req }, ctx);
  // the weight precision the model was trained for, against this chip's: a --model file's, and the
  // shipped model's the default workload chose (it was checked for --model only)
  const trained = plan.modelSource === 'file' ? String(a.model) : plan.modelSource === 'shipped' ? plan.model.source : null;
  if (trained !== null) checkTrainedPrecision(trained, cfg, a.set, s);
  await turn(); // a signal that came while the run was planned is handled now (fabric/pause.ts)
  if (stop.signal) throw stoppedEarly(stop.signal);
  const claim = { force: Boolean(a.force), canForce: true, seed: cfg.seed };
  await withRunDir(
    a.out as string | undefined,
    label.slug,
    async (dir, rd) => {
      const t0 = performance.now();
      const wallS = () => (performance.now() - t0) / 1000;
      log.info({ config: label.label, memory: formatBytes(plan.estimate.bytes), estimate: formatSeconds(plan.estimate.seconds) }, 'run planned');
      const sink = openPlanTrace(plan, dir, ctx);
      let outcome;
      try {
        outcome = await executeWorkload(plan, ctx, { sink, stopped: stop.received, startupS: () => process.uptime() });
      } catch (e) {
        await endTrace(sink, e);
        if (e instanceof WorkloadStopped)
          throw writeStoppedRun(rd, plan, label, stop.signal ?? e.reason, e.progress, wallS(), {}, sink ? sink.finalPath : undefined);
        throw e;
      }
      if (sink) {
        await sink.close();
        log.info({ trace: sink.finalPath, written_by: sink.writtenBy }, 'trace written');
      }
      await writeRunDirectory(rd, outcome, label, { stop: () => stop.signal, wallS });
      const stats = outcome.stats;
      log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
      process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
    },
    claim,
  );
}

export function runCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'run [config]',
    'simulate the chip on a workload and write a run directory',
    (y) =>
      withConfigOptions(y)
        .option('model', {
          type: 'string',
          describe:
            'model file (JSON or msgpack); default: the shipped Fashion-MNIST DTM that fits the fabric (configs/models/*.mp, or $DTCA_MODELS), else a seeded random-weight DTM (T = 8) with a warning',
        })
        .option('workload', { choices: ['dtm', 'bm'], describe: 'without --model: the default DTM (default), or a random Boltzmann machine' })
        .option('images', {
          type: 'number',
          describe:
            'DTM: images to generate, one chain each (default 10, one per class, for a Fashion-MNIST model with label cells: the shipped one or a --model file; else 4)',
        })
        .option('labels', {
          type: 'string',
          describe: 'DTM: classes to clamp, cycled over images, e.g. 0,3,7, or none (default: 0-9 for a Fashion-MNIST model with label cells, else none)',
        })
        .option('label-gain', {
          type: 'number',
          describe: "DTM with clamped labels: label guidance, the label cells' wires x G (default the model's label_gain, else 1)",
        })
        .option('mapping', {
          choices: ['reprogram', 'pipeline'],
          describe: 'DTM: one array re-programmed per stage (reprogram, the default), or T arrays in a pipeline',
        })
        .option('beta', { type: 'string', describe: "beta: a number, or START:END linear over each stage's sweeps (e.g. 0.8:1.2)" })
        .option('trace', { type: 'string', describe: 'DTM: write a binary trace (bare --trace: trace.dtct in the run directory)' })
        .option('trace-every', { type: 'number', describe: "trace every Nth sweep (and each stage's last)" })
        .option('trace-stages', { type: 'string', describe: 'trace only these stages, e.g. 0,1 or 0-3' })
        .option('trace-chains', { type: 'string', describe: 'trace only these chains (images)' })
        .option('trace-cells', { type: 'string', describe: 'trace only the cells in the rectangle x0,y0,x1,y1' })
        .option('chains', { type: 'number', describe: 'BM: independent chains (default 1)' })
        .option('sweeps', { type: 'number', describe: 'sweeps per stage (DTM, default 250) or measured sweeps per chain (BM, default 1000)' })
        .option('warmup', { type: 'number', describe: 'BM: warm-up sweeps before measuring (default 100 with --model, else 0)' })
        .option('stage', { type: 'number', describe: 'run one stage of the model as a Boltzmann machine' })
        .option('init', { choices: INIT_MODES, describe: 'BM: initial state (default hinton: P(+1) = sigma(beta b))' })
        .option('seed', { type: 'number', describe: "seed (overrides the config's)" })
        .option('engine', {
          choices: ENGINE_CHOICES,
          describe: 'latch engine: auto (the default: the fastest that can run), reference, wasm (one chain at a time), batch (chains in SIMD lanes)',
        })
        .option('batch', { type: 'number', describe: "most chains one engine holds at a time (default: all of a worker's)" })
        .option('workers', {
          type: 'number',
          describe: `worker threads over chains or images; with one chain or image, threads over its rows (tiles); results, and a trace, do not depend on it; at most ${WORKERS_PER_CORE} per core`,
        })
        .option('out', { type: 'string', describe: 'run directory (default runs/<time>-<suffix>-<config>); must be new or empty' })
        .option('force', { type: 'boolean', default: false, describe: 'clear a used run directory (--out) first; and try a run the memory estimate refuses' })
        .option('json', { type: 'boolean', default: false, describe: 'print stats.json to stdout' }),
    (a) => cmdRun(a as never, s),
  );
}
