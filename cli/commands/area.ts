/** `dtca area [config] [--set ...] [--arrays N] [--json]`: the chip's area by component, from its config alone. */
import type { Argv } from 'yargs';
import { loadConfig, withConfigOptions, type CommonArgs } from '../common.js';
import { UserError } from '../../fabric/errors.js';
import { areaOf, areaSources, formatArea } from '../../sim/area.js';

/**
 * The most arrays `dtca area` lays on one chip: a DTM pipeline has one per stage (the paper's T = 8),
 * and 1024 of the paper's arrays are already about 90 mm² of die (z1-like's about 660 mm², near a
 * reticle). --arrays 1e9 was accepted and printed an 88 m² chip.
 */
export const MAX_ARRAYS = 1024;

function cmdArea(a: CommonArgs & { arrays?: number }): void {
  if (a.arrays !== undefined && !(Number.isInteger(a.arrays) && a.arrays >= 1 && a.arrays <= MAX_ARRAYS))
    throw new UserError(`--arrays ${a.arrays}: expected an integer in 1..${MAX_ARRAYS} (arrays on one chip; a DTM pipeline has one per stage)`);
  const cfg = loadConfig(a);
  const arrays = a.arrays ?? 1;
  const r = areaOf(cfg, { arrays });
  if (a.json) {
    process.stdout.write(JSON.stringify({ config: cfg.name, ...r, parameters: areaSources(cfg) }, null, 2) + '\n');
  } else {
    process.stdout.write(formatArea(cfg, r));
  }
}

export function areaCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'area [config]',
    'area by component (cells, weight storage per rule, routing, links, I/O) from the config',
    (yy) =>
      withConfigOptions(yy)
        .option('arrays', { type: 'number', describe: `arrays on the chip, 1..${MAX_ARRAYS} (default 1; a DTM pipeline uses T); I/O is shared` })
        .option('json', { type: 'boolean', default: false, describe: 'print the area report and its parameters as JSON' }),
    (a) => cmdArea(a as never),
  );
}
