// Area model: geometry counts against the built fabric, components summing to the total, the
// per-cell arithmetic, routing overflow, pipelines, missing parameters (the CLI: area-cli.test.ts).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFabric } from '../fabric/fabric.js';
import { directions, type Rule } from '../fabric/rules.js';
import { areaModel, directionCounts, AREA_COMPONENTS, type AreaParams } from '../power/area.js';
import { areaOf, areaParams } from '../sim/area.js';
import { resolveConfig } from '../sim/config.js';
import { UserError } from '../fabric/errors.js';

const um2 = 1e-12;

describe('area model', () => {
  it('counts wires and tile-crossing wires per direction as the built fabric does', () => {
    const cases: [number, Rule[], 'open' | 'torus', number][] = [
      [
        30,
        [
          [0, 1],
          [4, 1],
          [9, 10],
        ],
        'open',
        14,
      ],
      [
        30,
        [
          [0, 1],
          [4, 1],
          [9, 10],
        ],
        'open',
        7,
      ],
      [
        24,
        [
          [1, 0],
          [2, 1],
          [2, 3],
          [4, 1],
        ],
        'torus',
        5,
      ],
      [
        20,
        [
          [0, 1],
          [4, 1],
        ],
        'torus',
        20,
      ],
      [9, [[0, 1]], 'open', 4],
    ];
    for (const [L, rules, boundary, tileSize] of cases) {
      const f = buildFabric({ L, rules, boundary, tileSize, linkLatencyCycles: 0 });
      let wires = 0;
      let crossing = 0;
      for (const [dx, dy] of directions(rules)) {
        const c = directionCounts(L, dx, dy, boundary, tileSize);
        wires += c.wires;
        crossing += c.crossing;
      }
      expect(wires).toBe(2 * f.wires);
      expect(crossing).toBe(2 * f.crossWires);
      const r = areaModel(areaParams(resolveConfig('dtca-paper')), { L, rules, boundary, tileSize });
      expect(r.links).toBe(2 * f.crossWires);
      expect(r.rules.reduce((a, x) => a + x.wires, 0)).toBe(2 * f.wires);
    }
  });

  it('the paper chip: per-cell devices from the formula, components summing exactly to the total', () => {
    const cfg = resolveConfig('dtca-paper');
    const r = areaOf(cfg);
    // (D + 1) = 13 inputs x 8 bits; conductance 0.02, bit cell 0.04, capacitor 1 fF / (10 fF/um^2)
    const devices = 9 + 13 * 8 * 0.02 + 0.1 + 0.3 + 13 * 8 * 0.04 + 0.1;
    expect(r.cell.devices_m2 / um2).toBeCloseTo(devices, 10);
    expect(r.cell.fits).toBe(true);
    expect(r.cell.area_m2).toBe(4e-6 * 4e-6);
    let sum = 0;
    for (const c of AREA_COMPONENTS) sum += r.area_m2[c];
    expect(r.area_m2.total).toBe(sum);
    // the cells tile the array at the pitch: devices + spare = L^2 pitch^2
    const cells = r.area_m2.rng + r.area_m2.bias_network + r.area_m2.latch + r.area_m2.weight_storage + r.area_m2.clock + r.area_m2.spare;
    expect(cells / (4900 * 16 * um2)).toBeCloseTo(1, 12);
    // weight storage = per-rule storage + the bias
    const storage = r.rules.reduce((a, x) => a + x.weight_storage_m2, 0) + r.bias_storage_m2;
    expect(storage / r.area_m2.weight_storage).toBeCloseTo(1, 12);
    // wire metal per rule: directed wires x length x pitch x track pitch
    for (const ru of r.rules) expect(ru.wire_metal_m2 / (ru.wires * Math.hypot(...ru.rule) * 4e-6 * 8e-8)).toBeCloseTo(1, 12);
    expect(r.routing.fill).toBeLessThan(1);
    expect(r.area_m2.routing).toBe(0);
    expect(r.area_m2.io / ((4096 + 1024) * 1 * um2 + 2000 * um2)).toBeCloseTo(1, 12);
  });

  it('routing that does not fit over the array costs die area; cells larger than the pitch grow', () => {
    const sets = ['area.routing_layers=1', 'area.wire_pitch_m=4e-7'];
    const r = areaOf(resolveConfig('dtca-paper', { sets }));
    expect(r.routing.fill).toBeGreaterThan(1);
    expect(r.area_m2.routing / (r.routing.metal_m2 - 4900 * r.cell.area_m2)).toBeCloseTo(1, 12);
    const big = areaOf(resolveConfig('dtca-paper', { sets: ['cell.weight_bits=16'] }));
    expect(big.cell.fits).toBe(false);
    expect(big.area_m2.spare).toBe(0);
    expect(big.cell.area_m2).toBe(big.cell.devices_m2);
  });

  it('a pipeline of T arrays replicates everything but the I/O', () => {
    const cfg = resolveConfig('dtca-paper');
    const one = areaOf(cfg);
    const eight = areaOf(cfg, { arrays: 8 });
    for (const c of AREA_COMPONENTS) {
      if (c === 'io') expect(eight.area_m2.io).toBe(one.area_m2.io);
      else expect(eight.area_m2[c] / (one.area_m2[c] || 1)).toBeCloseTo(one.area_m2[c] ? 8 : 0, 12);
    }
  });

  it('a missing parameter is an error naming it', () => {
    const p: Partial<AreaParams> = { ...areaParams(resolveConfig('dtca-paper')) };
    delete p.latch_m2;
    expect(() => areaModel(p, { L: 10, rules: [[0, 1]], boundary: 'open', tileSize: 5 })).toThrow(/"latch_m2" is missing/);
    const dir = mkdtempSync(join(tmpdir(), 'dtca-area-'));
    const raw = JSON.parse(readFileSync(new URL('../configs/dtca-paper.json', import.meta.url), 'utf8'));
    delete raw.area.rng_m2;
    writeFileSync(join(dir, 'c.json'), JSON.stringify(raw));
    expect(() => resolveConfig(join(dir, 'c.json'))).toThrow(UserError);
    expect(() => resolveConfig(join(dir, 'c.json'))).toThrow(/area\.rng_m2/);
    expect(() => areaOf(resolveConfig('dtca-paper', { ideal: true }))).toThrow(/cell\.weight_bits is "exact"/);
  });
});
