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
