/**
 * The session of one dtca command line: what main() (cli/main.ts) makes for it and passes down to
 * the command's handler, in place of module-level settings.
 *
 *   log       the command's logger (cli/log.ts): its level from DTCA_LOG, then --quiet (warn) or
 *             --verbose (debug)
 *   progress  whether progress bars are drawn (on a terminal; off with --quiet)
 *   signals   whether the command may take over SIGINT/SIGTERM (cli/signals.ts): yes when the
 *             process is the dtca program, no when main() is called in-process (tests)
 *   files     what the command reads, writes and claims (fabric/files.ts); main() runs the command
 *             in it (withOutputSession)
 *
 * A command builds its RunContext for the simulator (sim/context.ts) from it: cliContext in
 * cli/common.ts.
 */
import type { Logger } from 'pino';
import { UserError } from '../fabric/errors.js';
import { OutputSession } from '../fabric/files.js';
import { shown } from '../fabric/rules.js';
import { makeLogger, isLogLevel, LOG_LEVELS } from './log.js';

export interface Session {
  readonly log: Logger;
  progress: boolean;
  readonly signals: boolean;
  readonly files: OutputSession;
  /** the command line's arguments (after the program's name): what the user typed, defaults not filled in */
  readonly argv: readonly string[];
}

/**
 * A new command's session: the log level from DTCA_LOG (a bad value is a one-line error, not a
 * crash), progress bars on, a fresh output session.
 */
export function newSession(o: { signals?: boolean; argv?: readonly string[] } = {}): Session {
  const env = process.env.DTCA_LOG;
  if (env !== undefined && env !== '' && !isLogLevel(env)) throw new UserError(`DTCA_LOG=${shown(env)}: expected one of ${LOG_LEVELS.join(', ')}`);
  return { log: makeLogger(env || 'info'), progress: true, signals: Boolean(o.signals), files: new OutputSession(), argv: o.argv ?? [] };
}
