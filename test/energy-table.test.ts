// The energy-per-event table: the table a run directory holds (energy-table.json) and
// `dtca energy-table` prints is the one the power model multiplies by — stats.json's event counts
// times it reproduce stats.json's energy bit for bit — and every entry names the config
// parameters it is computed from (checked by changing each one).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildChip } from '../sim/chip.js';
import { resolveConfig } from '../sim/config.js';
import { ENERGY_COMPONENTS, type CircuitParams } from '../power/energy.js';
import { ENERGY_PARAM_SOURCES, configValue, energyTableReport, type EnergyTableReport } from '../sim/energy-table.js';
import { dtca } from './helpers/cli.js';

/** energy from events x table, with the power model's floating-point operations and order */
function reproduce(table: EnergyTableReport, events: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const e of table.entries) {
    const v = events[e.event] * e.joules_per_event;
    out[e.component] = v;
    total += v;
  }
  out.total = total;
  return out;
}

describe('energy table', () => {
  it('event counts x energy-table.json reproduce stats.json energy exactly (DTM and Boltzmann-machine runs, two presets)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-etable-'));
    const runs: [string, string[]][] = [
      ['dtm', ['run', '--set', 'fabric.L=36', '--images', '2', '--sweeps', '5']],
      ['bm', ['run', '--workload', 'bm', '--set', 'fabric.L=24', '--chains', '2', '--sweeps', '20', '--warmup', '3']],
      ['z1', ['run', 'z1-like', '--set', 'fabric.L=32', '--set', 'fabric.tile.size=8', '--images', '1', '--sweeps', '4']],
    ];
    for (const [name, args] of runs) {
      const out = join(dir, name);
      const r = dtca([...args, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
      const table = JSON.parse(readFileSync(join(out, 'energy-table.json'), 'utf8')) as EnergyTableReport;
      expect(table.entries.map((e) => e.component)).toEqual([...ENERGY_COMPONENTS]);
      const got = reproduce(table, stats.events);
      for (const c of [...ENERGY_COMPONENTS, 'total']) expect(got[c], `${name}: ${c}`).toBe(stats.energy_j[c]);
      // static entries: events are cell-seconds, entries are watts per cell
      for (const e of table.entries) if (e.kind === 'static') expect(['rng_cell_s', 'divider_s', 'leak_cell_s']).toContain(e.event);
    }
  });

  it('dtca energy-table prints the same table a run directory holds; CSV has one row per component', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-etable-cli-'));
    const r = dtca(['run', '--set', 'fabric.L=30', '--set', 'power.vdd_v=0.35', '--images', '1', '--sweeps', '2', '--out', dir]);
    expect(r.code).toBe(0);
    const j = dtca(['energy-table', '--set', 'fabric.L=30', '--set', 'power.vdd_v=0.35', '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(JSON.parse(readFileSync(join(dir, 'energy-table.json'), 'utf8')));
    const csv = dtca(['energy-table', '--csv']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('component,event,kind,joules_per_event,per,formula,parameters,static_w_per_cell,static_chip_w');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([...ENERGY_COMPONENTS]);
    const text = dtca(['energy-table', 'z1-like']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/static power/);
    expect(dtca(['energy-table', '--json', '--csv']).code).toBe(2);
  });

  it('each entry lists exactly the parameters it depends on, at their config paths (as the chip builds the table)', () => {
    const base = resolveConfig('dtca-paper', { sets: ['fabric.L=12'] });
    const t0 = buildChip(base).table;
    const rep = energyTableReport(buildChip(base));
    for (const [param, path] of Object.entries(ENERGY_PARAM_SOURCES) as [keyof CircuitParams, string][]) {
      const v = configValue(base, path) as number;
      const changed = path === 'rng.duty' ? v / 2 : v * 1.5;
      const t1 = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=12', `${path}=${changed}`] })).table;
      for (const c of ENERGY_COMPONENTS) {
        const uses = t0[c].params.includes(param);
        expect(t1[c].joules !== t0[c].joules, `${path} -> ${c}`).toBe(uses);
        if (uses) expect(rep.entries.find((e) => e.component === c)!.params[path]).toBe(v);
      }
    }
  });
});
