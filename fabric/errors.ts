/**
 * The one error type for a user's mistake (bad config, bad model file, missing file, bad flag).
 * Library code throws it; the CLI turns it into one line on stderr and exit code 2.
 * It lives in fabric/ (the lowest layer) so every layer can throw it without importing sim/.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A bad value of one option of a library call (generate's `images`, runModel's `chains`,
 * createEngine's `engine`): which option, which value, why. Its message names the option as the
 * library knows it ("images = 0: must be an integer >= 1"); the command line words the same error
 * with its flag ("--images 0: must be an integer >= 1", cli/flags.ts) through `worded`.
 * `showValue: false` leaves the value out of the message (when the reason already names it).
 */
export class OptionError extends UserError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly reason: string,
    readonly showValue = true,
  ) {
    super(optionMessage(option, ' = ', value, reason, showValue));
    this.name = 'OptionError';
  }

  /** the message with the option called `name` (a flag: "--images 0: ...") */
  worded(name: string): string {
    return optionMessage(name, ' ', this.value, this.reason, this.showValue);
  }
}

/** A whole-number option: undefined stays undefined, else an integer >= min or an OptionError naming it. */
export function wholeOption(name: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < min) throw new OptionError(name, v, `must be an integer >= ${min}`);
  return v as number;
}

function optionMessage(name: string, sep: string, value: unknown, reason: string, showValue: boolean): string {
  return `${name}${showValue ? `${sep}${String(value)}` : ''}: ${reason}`;
}

/**
 * What crosses a worker thread's message port for an error, and the error rebuilt on the other side.
 * `interrupted`: the job stopped because it was asked to (an Interrupted, its reason in `error`).
 */
export type ErrorReply = {
  error: string;
  user: boolean;
  option?: { option: string; value: unknown; reason: string; showValue: boolean };
  interrupted?: boolean;
};

export function errorReply(e: unknown): ErrorReply {
  const error = e instanceof Error ? e.message : String(e);
  if (e instanceof OptionError) {
    const value = typeof e.value === 'number' || typeof e.value === 'string' || typeof e.value === 'boolean' ? e.value : String(e.value);
    return { error, user: true, option: { option: e.option, value, reason: e.reason, showValue: e.showValue } };
  }
  if (e instanceof Interrupted) return { error: e.reason, user: false, interrupted: true };
  return { error, user: e instanceof UserError };
}

export function errorFromReply(r: ErrorReply, internalPrefix = ''): Error {
  if (r.interrupted) return new Interrupted({}, r.error);
  if (r.option) return new OptionError(r.option.option, r.option.value, r.option.reason, r.option.showValue);
  return r.user ? new UserError(r.error) : new Error(`${internalPrefix}${r.error}`);
}

/**
 * A run stopped on request (SIGINT, SIGTERM) at a clean point: the simulator's loops throw it when
 * their `shouldStop` option says so; the CLI writes what the run got so far and exits 128 + the
 * signal's number. `at` is where it stopped, as far as the loop knows.
 */
export class Interrupted extends Error {
  constructor(
    readonly at: { stage?: number; chain?: number; sweep?: number } = {},
    readonly reason = 'stop requested',
  ) {
    super(`interrupted (${reason})`);
    this.name = 'Interrupted';
  }
}
