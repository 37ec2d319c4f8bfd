/** `dtca trace inspect|export` (stub: being written). */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';

export function traceCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('trace', 'inspect or export a binary trace', {}, () => {
    throw new UserError('dtca trace: not available yet');
  });
}
