/** `dtca bench` (stub: being written). */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';

export function benchCommand<T>(y: Argv<T>): Argv<T> {
  return y.command('bench', 'measure simulator speed', {}, () => {
    throw new UserError('dtca bench: not available yet');
  });
}
