/**
 * RunContext: what a long piece of simulator work needs from whoever runs it, passed down rather
 * than read from module globals. The command line builds one from its logger, progress bars and
 * signal handling (cli/); a library user passes their own, or none: every field has a silent
 * default (`quietContext`).
 *
 *   log       structured messages (pino's call shape: an object of fields, then the message)
 *   progress  a bar for work counted in steps; `start` returns an updater and `stop` ends it
 *   stop      asked between sweeps; once it returns true the work ends at the next safe point
 *             with an Interrupted error (fabric/errors.ts)
 */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

export interface Log {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface ProgressBar {
  update(done: number): void;
  stop(): void;
}

export interface RunContext {
  log: Log;
  /** a progress bar for `total` steps of `what`; a no-op bar when progress is not shown */
  progress(total: number, what: string): ProgressBar;
  /** true once the work should stop (a signal, a time limit, a caller's abort) */
  stop(): boolean;
}

const nothing = (): void => {};
const silentLog: Log = { debug: nothing, info: nothing, warn: nothing, error: nothing };
const noBar: ProgressBar = { update: nothing, stop: nothing };

/** A context that says nothing, shows nothing and never stops early. */
export function quietContext(over: Partial<RunContext> = {}): RunContext {
  return { log: silentLog, progress: () => noBar, stop: () => false, ...over };
}
