/** `dtca rng` (stub: being written). */
import type { Argv } from 'yargs';
import { UserError } from '../fabric/errors.js';

export function rngCommand<T>(y: Argv<T>): Argv<T> {
  return y.command('rng [config]', 'characterise the RNG circuit model', {}, () => {
    throw new UserError('dtca rng: not available yet');
  });
}
