/** `dtca energy-table [config] [--set ...] [--json|--csv]`: the energy-per-event table the power model multiplies by. */
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { UserError } from '../../fabric/errors.js';
import { buildChip } from '../../sim/chip.js';
import { loadConfig, withConfigOptions, type CommonArgs } from '../common.js';
import { energyTableReport, energyTableCsv, formatEnergyTable } from '../../sim/energy-table.js';
import { eng } from '../../sim/stats.js';

function cmdEnergyTable(a: CommonArgs & { csv?: boolean }): void {
  if (a.json && a.csv) throw new UserError('energy-table: --json and --csv: choose one');
  // `--csv out.csv`: --csv is a switch, so the file name became the config ("no such file, and no preset")
  const named = (a as { config?: unknown }).config;
  if (a.csv && typeof named === 'string' && /\.csv$/i.test(named) && !existsSync(named))
    throw new UserError(`--csv ${named}: --csv takes no file name; it prints the CSV on standard output (dtca energy-table --csv > ${named})`);
  const chip = buildChip(loadConfig(a));
  const r = energyTableReport(chip);
  if (a.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else if (a.csv) process.stdout.write(energyTableCsv(r));
  else process.stdout.write(formatEnergyTable(r, eng));
}

export function energyTableCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    'energy-table [config]',
    'the energy per event (and static power) the power model multiplies event counts by',
    (yy) =>
      withConfigOptions(yy)
        .option('json', { type: 'boolean', default: false, describe: 'print the table as JSON (as energy-table.json in a run directory)' })
        .option('csv', { type: 'boolean', default: false, describe: 'print the table as CSV' }),
    (a) => cmdEnergyTable(a as never),
  );
}
