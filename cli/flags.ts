/**
 * The command line's names for the options of the library calls: an OptionError thrown in the
 * core (fabric/errors.ts; "images = 0: must be an integer >= 1") reaches the user worded with the
 * flag they typed ("--images 0: must be an integer >= 1").
 */
import { OptionError, UserError } from '../fabric/errors.js';
import { dataHintForCli } from '../sim/fmnist.js';

/** option -> flag, where the flag is not simply --option in kebab case */
export const OPTION_FLAGS: Record<string, string> = {
  T: '--stages',
  // evaluate(): the samples' count, which dtca eval takes as --images
  'samples.n': '--images',
};

export function flagOf(option: string): string {
  return OPTION_FLAGS[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A user error's one line as the command line says it (a missing Fashion-MNIST's hint: --data DIR, not the library's dir or dataDir). */
export function userMessage(e: UserError): string {
  return dataHintForCli(e instanceof OptionError ? e.worded(flagOf(e.option)) : e.message);
}
