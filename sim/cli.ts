/**
 * The dtca command line. Thin: parse (yargs), resolve the config, call sim/, print.
 * A user's mistake is a UserError: one line on stderr, exit code 2, never a stack trace.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../fabric/errors.js';
import { resolveConfig, configJsonSchema, presetNames, DEFAULT_CONFIG, type ResolvedConfig } from './config.js';
import { buildChip } from './chip.js';
import { readModel, randomModel } from './model.js';
import { runModel, INIT_MODES, type InitMode } from './run.js';
import { makeStats, formatStats } from './stats.js';
import { prepareRunDir, writeJson } from './output.js';
import { makeLogger } from './log.js';
import { traceCommands } from './cmd-trace.js';
import { rngCommand } from './cmd-rng.js';
import { benchCommand } from './cmd-bench.js';

declare const __DTCA_VERSION__: string;
export const VERSION = typeof __DTCA_VERSION__ === 'string' ? __DTCA_VERSION__ : '0.0.0-dev';

const log = makeLogger();

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

async function cmdRun(a: CommonArgs & Record<string, unknown>): Promise<void> {
  const seed = positiveInt('seed', a.seed as number | undefined, 0);
  const cfg = loadConfig(a, seed === undefined ? [] : [`seed=${seed}`]);
  const chip = buildChip(cfg);
  const model = a.model ? readModel(a.model as string) : randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  const chains = positiveInt('chains', a.chains as number) ?? 1;
  const sweeps = positiveInt('sweeps', a.sweeps as number) ?? 1000;
  const warmup = positiveInt('warmup', a.warmup as number | undefined, 0) ?? (a.model ? 100 : 0);
  const workers = positiveInt('workers', a.workers as number) ?? 1;
  const init = a.init as InitMode;
  const dir = prepareRunDir(a.out as string | undefined, cfg.name);
  log.info(
    { config: cfg.name, engine: chip.ideal ? 'ideal' : 'cycle', cells: chip.fabric.N, degree: chip.fabric.D, chains, sweeps, warmup, workers },
    'run starting',
  );
  const started = new Date();
  const result = await runModel(chip, model, {
    chains,
    sweeps,
    warmup,
    init,
    stage: a.stage as number,
    workers,
    moments: Boolean(a.model),
    onChainDone: (d, n) => log.debug({ done: d, of: n }, 'chains done'),
  });
  if (result.program.clipped > 0) {
    log.warn({ clipped: result.program.clipped, full_scale: cfg.cell.weight_full_scale }, 'weights or biases beyond the full scale were clipped');
  }
  const stats = makeStats(chip, result, model.source);
  writeJson(`${dir}/config.json`, cfg);
  writeJson(`${dir}/manifest.json`, {
    dtca_version: VERSION,
    seed: cfg.seed,
    command: ['dtca', ...process.argv.slice(2)],
    started: started.toISOString(),
    finished: new Date().toISOString(),
    node: process.version,
    model: model.source,
  });
  writeJson(`${dir}/stats.json`, stats);
  log.info({ dir, wall_s: stats.wall_s, updates_per_ns: stats.updates_per_ns }, 'run written');
  process.stdout.write(a.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats) + `run directory   ${dir}\n`);
}

export function buildCli(argv: string[]) {
  const y = yargs(argv)
    .scriptName('dtca')
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, 'name a command: run, model, config, trace, rng, bench (try dtca --help)')
    .command(
      'run [config]',
      'simulate the chip on a workload and write a run directory',
      (y) =>
        withConfigOptions(y)
          .option('model', { type: 'string', describe: 'model file (JSON or msgpack); default: a seeded random-weight model' })
          .option('chains', { type: 'number', describe: 'independent chains (default 1)' })
          .option('sweeps', { type: 'number', describe: 'measured sweeps per chain (default 1000)' })
          .option('warmup', { type: 'number', describe: 'warm-up sweeps per chain before measuring (default 100 with --model, else 0)' })
          .option('stage', { type: 'number', default: 0, describe: 'which stage of the model to run' })
          .option('init', { choices: INIT_MODES, default: 'hinton' as InitMode, describe: 'initial state: hinton = P(+1) = sigma(beta b)' })
          .option('seed', { type: 'number', describe: 'seed (overrides the config\'s)' })
          .option('workers', { type: 'number', describe: 'worker threads over chains (results do not depend on it)' })
          .option('out', { type: 'string', describe: 'run directory (default runs/<time>-<config>)' })
          .option('json', { type: 'boolean', default: false, describe: 'print stats.json to stdout' }),
      (a) => cmdRun(a as never),
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
  return benchCommand(rngCommand(traceCommands(y)))
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
