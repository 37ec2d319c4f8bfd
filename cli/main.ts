/**
 * The dtca command line. Thin: parse (yargs), resolve the config, call sim/, print.
 * A user's mistake is a UserError: one line on stderr, exit code 2, never a stack trace.
 * Each command lives in its own cli/commands/*.ts.
 */
// first: run as a script (tsx cli/main.ts), SIGINT/SIGTERM are held from here until the command starts (cli/early-signals.ts)
import { releaseSignals } from './early-signals.js';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError, Interrupted } from '../fabric/errors.js';
import { userMessage } from './flags.js';
import { SIGNAL_EXIT, interruptedLine } from './signals.js';
import { newSession, type Session } from './session.js';
import { withOutputSession } from '../fabric/files.js';
import { checkConfig, configJsonSchema, configPaths, FLAG_NAMES } from '../sim/config.js';
import { formatProblem } from '../sim/config-check.js';
import { withConfigWarnings, type ConfigWarningSink } from '../sim/plausible.js';
import { VERSION } from '../sim/io/output.js';
import { configLabel } from '../sim/label.js';
import { loadConfig, withConfigOptions, withConfigChanges, withConventions, errorLine, type CommonArgs } from './common.js';
import { yargsMessage, dashValues, COMMANDS } from './argv.js';
import { runCommand } from './commands/run.js';
import { modelCommands } from './commands/model.js';
import { traceCommands } from './commands/trace.js';
import { rngCommand } from './commands/rng.js';
import { benchCommand } from './commands/bench.js';
import { sweepCommand } from './commands/sweep.js';
import { areaCommand } from './commands/area.js';
import { energyTableCommand } from './commands/energy-table.js';
import { evalCommand } from './commands/eval.js';
import { dataCommand } from './commands/data.js';
import { trainCommand } from './commands/train.js';
import { experimentCommand } from './commands/experiment.js';
import { probeCommand } from './commands/probe.js';
import { compareCommand } from './commands/compare.js';
import { creationTime } from '../fabric/stamp.js';

/** The command line's parser; its commands' handlers run with session `s` (cli/session.ts). */
export function buildCli(rawArgv: string[], s: Session) {
  const argv = dashValues(rawArgv);
  let y = withConventions(yargs(argv), argv, s)
    // a signal while dtca started (held since the program's first lines): the command does not start
    .middleware((async () => {
      const held = await releaseSignals();
      if (held) throw interruptedLine(held, ' before the command started: nothing written', ['dtca', ...s.argv], 'run it again with');
    }) as never)
    .scriptName('dtca')
    .exitProcess(false) // main() returns the exit code (and tests call it in-process)
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, `name a command: ${COMMANDS.join(', ')} (try dtca --help)`);
  y = compareCommand(sweepCommand(modelCommands(runCommand(y, s), s), s));
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
        'check a config file (and its extends chain): every problem, one per line',
        (yy) => withConfigChanges(yy.positional('file', { type: 'string', demandOption: true, describe: 'config file or preset name' })),
        (a) => {
          const { config: c, problems } = checkConfig(a.file as string, { sets: a.set as string[] | undefined, ideal: Boolean(a.ideal), names: FLAG_NAMES });
          if (!c) {
            process.stdout.write(problems.map((p) => formatProblem(p) + '\n').join(''));
            throw new UserError(`${a.file as string}: ${problems.length} problem${problems.length > 1 ? 's' : ''} (listed on standard output)`);
          }
          const label = configLabel(a.file as string, (a.set as string[] | undefined) ?? [], Boolean(a.ideal)).label;
          process.stdout.write(`${a.file as string}: valid (${label}: ${c.description})\n`);
        },
      )
      .command('schema', 'print the JSON Schema of a config file (what config validate checks each file against)', {}, () => {
        process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
      })
      .demandCommand(1, 'name a config command: show, validate, schema'),
  );
  y = energyTableCommand(areaCommand(y));
  y = probeCommand(experimentCommand(trainCommand(dataCommand(evalCommand(y, s)), s), s), s);
  const top = benchCommand(rngCommand(traceCommands(y, s), s), s);
  skipHelpCache(top);
  return top
    .fail((msg, err, usage) => {
      if (err) throw err;
      // the selected command's options, for "did you mean --images?" and "--set fabric.L=48"
      const u = usage as unknown as { getDescriptions?(): Record<string, unknown>; getUsage?(): [string, string][] };
      const describe = u.getDescriptions?.() ?? {};
      const kinds = (
        top as unknown as { getOptions(): { boolean: string[]; count?: string[]; key: Record<string, unknown>; hiddenOptions?: string[] } }
      ).getOptions();
      // an internal option (bench's --row) is never what a user meant: no "did you mean --row?" for --foo
      const hidden = new Set(kinds.hiddenOptions ?? []);
      const options = Object.keys(describe).filter((o) => !hidden.has(o));
      const usages = u.getUsage?.() ?? [];
      const flags = [...kinds.boolean, ...(kinds.count ?? [])];
      const declared = Object.keys(kinds.key ?? {});
      throw new UserError(
        yargsMessage(msg, {
          options,
          raw: argv,
          configPaths: options.includes('set') ? configPaths() : null,
          flags,
          declared,
          usage: usages[usages.length - 1]?.[0],
          describe,
        }),
      );
    })
    .help();
}

/**
 * yargs renders the chosen command's whole help text as soon as the command's handler starts
 * (cacheHelpMessage, kept for its own failure output), whether or not anything prints it: 80-350 ms
 * of every `dtca train` or `dtca sweep` (the commands with the most options) before the first sweep.
 * dtca's `.fail` replaces that output with one line, so the cache is never read; `--help` renders
 * the text itself. If a yargs release renames the internal method, nothing changes but the time.
 */
function skipHelpCache(y: unknown): void {
  type Usage = { cacheHelpMessage?: () => void };
  const usage = (y as { getInternalMethods?: () => { getUsageInstance?: () => Usage } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * Where the configs a command resolves warn (sim/plausible.ts: a value far outside its plausible
 * range): the command's log, as a warning, each line once (a sweep resolves a config per point,
 * dtca eval one per chip it builds).
 */
function configWarnings(s: Session): ConfigWarningSink {
  const said = new Set<string>();
  return (w) => {
    if (said.has(w.message)) return;
    said.add(w.message);
    s.log.warn({}, w.message);
  };
}

/**
 * Run one command line; returns the exit code. `signals`: this process is the dtca program and
 * the command may take over SIGINT/SIGTERM (not when main() is called in-process, as tests do).
 */
export async function main(argv: string[], o: { signals?: boolean } = {}): Promise<number> {
  try {
    // a malformed SOURCE_DATE_EPOCH is refused before anything is written (fabric/stamp.ts)
    creationTime();
    const s = newSession({ ...o, argv });
    await withConfigWarnings(configWarnings(s), () => withOutputSession(s.files, () => buildCli(argv, s).parseAsync()));
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`dtca: ${errorLine(userMessage(e))}\n`);
      return 2;
    }
    if (e instanceof Interrupted) {
      // a run stopped by a signal, its outputs closed: one line, exit 128 + the signal's number
      process.stderr.write(`dtca: ${errorLine(e.message)}\n`);
      return SIGNAL_EXIT[e.reason] ?? 130;
    }
    process.stderr.write(`dtca: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

/** True when this module is the program being run (not imported by a test). */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** The dtca program: this process's command line, run (dist/dtca.js, cli/program.ts, calls it; or this module run as a script). */
export async function runProgram(): Promise<void> {
  // a reader that went away (dtca config schema | head) ends the output, not in a stack trace
  // and a write that fails (a full disk, /dev/full, an I/O error) is one line and exit 2
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`dtca: writing standard output failed: ${errorLine(e.message)}\n`);
    process.exit(2);
  });
  // this process may take over SIGINT/SIGTERM for a clean stop
  const code = await main(hideBin(process.argv), { signals: true });
  // stopped by a signal: end now (worker threads of the stopped run may still be busy)
  if (code === SIGNAL_EXIT.SIGINT || code === SIGNAL_EXIT.SIGTERM) process.exit(code);
  process.exitCode = code;
}

if (isEntryPoint()) await runProgram();
