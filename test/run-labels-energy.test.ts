// dtca run: labels for extended configs and --set runs, sweep energy reported without programming,
// and an energy chart whose title says what it shows.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';

describe('dtca run: labels, sweep energy, energy chart', () => {
  it('a config extending a preset is labelled by its file name plus the --sets, in the table, the directory and the manifest', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dtca-label-'));
    writeFileSync(join(cwd, 'my-chip.json'), JSON.stringify({ extends: 'dtca-paper', clock: { clock_hz: 2e7 } }));
    const r = dtca(['run', 'my-chip.json', '--set', 'fabric.L=12', '--set', 'seed=3', '--images', '3', '--sweeps', '5', '--json'], { cwd });
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.config).toBe('my-chip+2 sets');
    const dirs = readdirSync(join(cwd, 'runs'));
    expect(dirs.length).toBe(1);
    expect(dirs[0]).toMatch(/-my-chip\+2-sets$/);
    const man = JSON.parse(readFileSync(join(cwd, 'runs', dirs[0], 'manifest.json'), 'utf8'));
    expect(man.label).toBe('my-chip+2 sets');
    expect(man.config_ref).toBe(join(cwd, 'my-chip.json'));
    expect(man.sets).toEqual(['fabric.L=12', 'seed=3']);
    // the chart is per image, and says so
    const svg = readFileSync(join(cwd, 'runs', dirs[0], 'energy.svg'), 'utf8');
    expect(svg).toContain('Energy per stage per image by component (mean of 3 images)');
    const plain = dtca(['run', '--set', 'fabric.L=12', '--images', '1', '--sweeps', '2', '--out', join(cwd, 'p')], { cwd });
    expect(plain.stdout).toMatch(/^config\s+dtca-paper\+1 set \(cycle physics, \w+ engine\)$/m);
  });

  it('sweep energy per cell per sweep excludes programming; the parts sum to the total', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dtca-split-'));
    const run = (sweeps: number) => {
      const r = dtca(['run', 'z1-like', '--set', 'fabric.L=12', '--images', '2', '--sweeps', String(sweeps), '--json', '--out', join(cwd, `k${sweeps}`)]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const short = run(10);
    const long = run(80);
    for (const s of [short, long]) {
      const e = s.energy_j;
      expect(s.sweep_energy_j.static + s.sweep_energy_j.dynamic).toBeCloseTo(s.sweep_energy_j.total, 25);
      expect((s.sweep_energy_j.total + s.programming_energy_j + s.other_energy_j) / e.total).toBeCloseTo(1, 12);
      expect(s.programming_energy_j).toBe(e.programming);
      expect(s.cell_sweeps).toBe(144 * 2 * 8 * (s === short ? 10 : 80));
      expect(s.energy_per_cell_sweep_j).toBeUndefined();
    }
    // z1-like writes its weights at 153.6 pJ per node: with few sweeps programming dominates the
    // total per cell-sweep, but not the sweeps' own energy, which stays put as K grows
    const totalPer = (s: typeof short) => s.energy_j.total / s.cell_sweeps;
    expect(totalPer(short) / totalPer(long)).toBeGreaterThan(5);
    expect(short.sweep_energy_per_cell_sweep_j / long.sweep_energy_per_cell_sweep_j).toBeGreaterThan(0.9);
    expect(short.sweep_energy_per_cell_sweep_j / long.sweep_energy_per_cell_sweep_j).toBeLessThan(1.1);
    expect(long.sweep_energy_per_cell_sweep_j).toBeGreaterThan(5e-15);
    expect(long.sweep_energy_per_cell_sweep_j).toBeLessThan(9e-15);
  });
});
