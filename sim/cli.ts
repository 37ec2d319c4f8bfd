/**
 * The dtca command line. Thin: parse (yargs), resolve the config, call sim/, print.
 * A user's mistake is a UserError: one line on stderr, exit code 2, never a stack trace.
 * Each command lives in its own sim/cmd-*.ts.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../fabric/errors.js';
import { resolveConfig, configJsonSchema } from './config.js';
import { VERSION } from './output.js';
import { loadConfig, withConfigOptions, type CommonArgs } from './cli-common.js';
import { runCommand } from './cmd-run.js';
import { modelCommands } from './cmd-model.js';
import { traceCommands } from './cmd-trace.js';
import { rngCommand } from './cmd-rng.js';
import { benchCommand } from './cmd-bench.js';
import { sweepCommand } from './cmd-sweep.js';
import { areaCommand } from './cmd-area.js';
import { energyTableCommand } from './cmd-energy-table.js';
import { evalCommand } from './cmd-eval.js';
import { dataCommand } from './cmd-data.js';
import { trainCommand } from './cmd-train.js';
import { experimentCommand } from './cmd-experiment.js';
import { probeCommand } from './cmd-probe.js';
import { compareCommand } from './cmd-compare.js';

export function buildCli(argv: string[]) {
  let y = yargs(argv)
    .scriptName('dtca')
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, 'name a command: run, train, eval, experiment, model, sweep, compare, data, area, energy-table, probe, config, trace, rng, bench (try dtca --help)');
  y = compareCommand(sweepCommand(modelCommands(runCommand(y))));
  y = y.command('config', 'show, validate or describe configs', (y) =>
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
  y = energyTableCommand(areaCommand(y));
  y = probeCommand(experimentCommand(trainCommand(dataCommand(evalCommand(y)))));
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
