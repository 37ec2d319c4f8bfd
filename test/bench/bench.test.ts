// `dtca bench --quick --json` runs and returns rows of the documented shape. Speed itself is a
// benchmark's business, never a test's: no timing is asserted here.
import { describe, it, expect } from 'vitest';
import { dtca } from '../helpers/cli.js';

describe('dtca bench', () => {
  it('--quick --json prints rows of the right shape', () => {
    const r = dtca(['bench', '--quick', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(Array.isArray(rows)).toBe(true);
    const engines = new Set<string>();
    const sizes = new Set<number>();
    for (const row of rows) {
      expect(['ideal', 'cycle']).toContain(row.engine);
      engines.add(row.engine as string);
      sizes.add(row.L as number);
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
      expect(['wasm', 'js']).toContain(row.kernel);
      const m = row.machine as Record<string, unknown>;
      expect(typeof m.cpu).toBe('string');
      expect(m.cores as number).toBeGreaterThan(0);
      expect(m.node).toBe(process.version);
    }
    expect([...engines].sort()).toEqual(['cycle', 'ideal']);
    expect([...sizes].sort((a, b) => a - b)).toEqual([70, 256]); // --quick skips 1024 and 4096
    expect(rows.some((r) => r.chains === 1 && r.workers === 1)).toBe(true);
    expect(rows.some((r) => (r.workers as number) >= 2)).toBe(true);
    // traced rows: same engine and size as an untraced row, so the slowdown is a ratio in one run
    const traced = rows.filter((r) => r.trace === true);
    expect(traced.length).toBeGreaterThan(0);
    for (const t of traced) expect(rows.some((r) => r.trace === false && r.engine === t.engine && r.L === t.L && r.chains === t.chains)).toBe(true);
  }, 300_000);
});
