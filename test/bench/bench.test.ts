// `dtca bench --quick --json` runs and returns rows of the documented shape. Speed itself is a
// benchmark's business, never a test's: no timing is asserted here.
import { describe, it, expect } from 'vitest';
import { dtca } from '../helpers/cli.js';
import { formatBench, twoCoreCeiling, type Anchor } from '../../cli/commands/bench.js';

describe('dtca bench', () => {
  it('--quick --json prints rows of the right shape', () => {
    const r = dtca(['bench', '--quick', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(Array.isArray(rows)).toBe(true);
    const physics = new Set<string>();
    for (const row of rows) {
      expect(['ideal', 'cycle', 'exact']).toContain(row.physics);
      physics.add(row.physics as string);
      // --quick keeps the L = 70 rows and one chain at L = 256 on one and two workers
      if (row.L !== 70) expect([row.L, row.chains, row.physics]).toEqual([256, 1, 'ideal']);
      expect(row.rules).toBe('G12');
      expect(typeof row.trace).toBe('boolean');
      for (const k of ['L', 'chains', 'workers', 'cells', 'cell_updates', 'updates_per_ns', 'us_per_sweep', 'wall_s', 'setup_s', 'rss_peak_bytes']) {
        expect(typeof row[k], k).toBe('number');
        expect(Number.isFinite(row[k] as number), k).toBe(true);
      }
      expect(row.skipped).toBeUndefined();
      expect(row.cell_updates as number).toBeGreaterThan(0);
      expect(row.updates_per_ns as number).toBeGreaterThan(0);
      expect(row.rss_peak_bytes as number).toBeGreaterThan(0);
      // which engine ran, and why auto passed over the others
      expect(['reference', 'wasm', 'batch']).toContain(row.engine_used);
      expect(Array.isArray(row.engine_refused)).toBe(true);
      const m = row.machine as Record<string, unknown>;
      expect(typeof m.cpu).toBe('string');
      expect(m.cores as number).toBeGreaterThan(0);
      expect(m.node).toBe(process.version);
    }
    expect([...physics].sort()).toEqual(['cycle', 'ideal']);
    // one chain split over two workers (tiles) beside the same chain on one
    const big = rows.filter((r) => r.L === 256);
    expect(big.map((r) => [r.workers, r.engine_tiles])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect([...new Set(rows.map((r) => r.chains))].sort((a, b) => (a as number) - (b as number))).toEqual([1, 64]);
    // traced rows: same physics and chains as an untraced row, so the slowdown is a ratio in one run
    const traced = rows.filter((r) => r.trace === true);
    expect(traced.length).toBeGreaterThan(0);
    for (const t of traced) expect(rows.some((r) => r.trace === false && r.physics === t.physics && r.L === t.L && r.chains === t.chains)).toBe(true);
  }, 300_000);

  it("the anchors' two copies at once give the two-core ceiling line; without them there is none", () => {
    const a = (n: number): Anchor => ({ name: `a${n}`, command: 'x', updates_per_ns: n });
    const five = [a(0.16), a(0.45), a(0.32), a(0.1), a(0.165)];
    expect(twoCoreCeiling(five)).toBeCloseTo(1.65, 12);
    expect(formatBench([], five)).toMatch(/two cores give two native copies 1\.65x one/);
    expect(twoCoreCeiling(five.slice(0, 3))).toBeNull();
    expect(formatBench([], five.slice(0, 3))).not.toMatch(/two cores/);
  });
});
