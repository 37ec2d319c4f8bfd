/** `dtca area [config] [--set ...] [--arrays N] [--json]`: the chip's area by component, from its config alone. */
import type { Argv } from 'yargs';
import { loadConfig, withConfigOptions, positiveInt, type CommonArgs } from '../common.js';
import { areaOf, areaSources, formatArea } from '../../sim/area.js';

function cmdArea(a: CommonArgs & { arrays?: number }): void {
  const cfg = loadConfig(a);
  const arrays = positiveInt('arrays', a.arrays) ?? 1;
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
        .option('arrays', { type: 'number', describe: 'arrays on the chip (default 1; a DTM pipeline uses T); I/O is shared' })
        .option('json', { type: 'boolean', default: false, describe: 'print the area report and its parameters as JSON' }),
    (a) => cmdArea(a as never),
  );
}
