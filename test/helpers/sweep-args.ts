/**
 * `dtca sweep` arguments (after the CLI path) for a sweep long enough to stop part-way: three
 * clocks at L = 24, 1,500 sweeps per stage, one job, no charts, into `out` (test/sweep.test.ts
 * kills it; test/sweep-report.test.ts interrupts it with Ctrl-C).
 */
export function stoppableSweepArgs(out: string): string[] {
  return ['sweep', '--grid', '24', '--clock', '1e7,2e7,4e7', '--images', '2', '--stages', '3', '--sweeps', '1500', '--jobs', '1', '--no-charts', '--out', out];
}
