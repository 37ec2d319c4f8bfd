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
