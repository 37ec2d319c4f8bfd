// Charts (sim/io/plot.ts): vega-lite -> SVG -> PNG without a browser, written atomically.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { writeEnergyChart, renderChart, writeChart, siPrefix, systemFontsPresent } from '../sim/io/plot.js';
import { writeTrainChart } from '../sim/train/train.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COMPONENTS = ['rng', 'bias_network', 'cell_output', 'wires', 'clock', 'leakage'];

function stages(n: number) {
  return Array.from({ length: n }, (_, s) => {
    const e: Record<string, number> = {};
    let total = 0;
    COMPONENTS.forEach((c, i) => {
      e[c] = (i + 1) * 2e-11 * (1 + 0.2 * s);
      total += e[c];
    });
    return { stage: s, energy_j: { total, ...e } };
  });
}

describe('writeEnergyChart', () => {
  it('writes energy.svg with every component (not total) and a valid PNG, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-plot-'));
    const paths = await writeEnergyChart(dir, stages(5));
    expect(paths).toEqual([join(dir, 'energy.svg'), join(dir, 'energy.png')]);
    expect(readdirSync(dir).sort()).toEqual(['energy.png', 'energy.svg']); // no temporary files left
    const svg = readFileSync(paths[0], 'utf8');
    expect(svg.length).toBeGreaterThan(0);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const c of COMPONENTS) expect(svg).toContain(`>${c}<`);
    expect(svg).not.toContain('>total<');
    // largest stack 0.756 nJ -> an SI-prefixed axis (pJ)
    expect(svg).toContain('energy (pJ)');
    const png = readFileSync(paths[1]);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(statSync(paths[1]).size).toBeGreaterThan(1024);
    const img = decode(png);
    expect(img.width).toBeGreaterThan(200);
    expect(img.height).toBeGreaterThan(200);
  });

  it('rejects a negative or non-finite energy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-plot-'));
    await expect(writeEnergyChart(dir, [{ stage: 0, energy_j: { total: 1, rng: -1 } }])).rejects.toThrow(/rng/);
    await expect(writeEnergyChart(dir, [{ stage: 0, energy_j: { total: 1, rng: NaN } }])).rejects.toThrow(/rng/);
  });
});

describe('renderChart', () => {
  it('draws text with a system font (Debian: fonts-dejavu-core)', async () => {
    expect(systemFontsPresent()).toBe(true);
    // a chart of nothing but one large word: with no usable font the PNG would be blank
    const { png } = await renderChart({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 200,
      height: 60,
      data: { values: [{ t: 'WWWW' }] },
      mark: { type: 'text', fontSize: 40, color: 'black' },
      encoding: { text: { field: 't' } },
      config: { view: { stroke: null } },
    });
    const img = decode(png);
    const ch = img.channels;
    let dark = 0;
    for (let i = 0; i < img.width * img.height; i++) if (img.data[i * ch] < 128) dark++;
    expect(dark).toBeGreaterThan(100);
  });

  it('writeChart writes <base>.svg and <base>.png', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-plot-'));
    const paths = await writeChart(
      {
        data: {
          values: [
            { x: 1, y: 2 },
            { x: 2, y: 3 },
          ],
        },
        mark: 'line',
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      join(dir, 'c'),
    );
    expect(paths).toEqual([join(dir, 'c.svg'), join(dir, 'c.png')]);
    expect(readdirSync(dir).sort()).toEqual(['c.png', 'c.svg']);
  });
});

describe('siPrefix', () => {
  it('puts the largest value in [1, 1000)', () => {
    expect(siPrefix(1.6e-9)).toEqual({ scale: 1e-9, prefix: 'n' });
    expect(siPrefix(7.56e-10)).toEqual({ scale: 1e-12, prefix: 'p' });
    expect(siPrefix(0.5)).toEqual({ scale: 1e-3, prefix: 'm' });
    expect(siPrefix(3)).toEqual({ scale: 1, prefix: '' });
    expect(siPrefix(0)).toEqual({ scale: 1, prefix: '' });
  });
});

describe('writeTrainChart', () => {
  it("MODEL.train.svg names the lag (in sweeps) the autocorrelation was measured at, as the training's --acp-lag", async () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-trainchart-'));
    const rec = (stage: number, epoch: number) => ({
      stage,
      epoch,
      rho: 0.01 * epoch,
      lambda: 0.008,
      acp_action: 'decrease' as const,
      agreement: 0.3,
      grad_rms: 0.05,
      lr: 0.01,
      wall_s: 1,
      cell_updates: 1000,
    });
    const files = await writeTrainChart(join(d, 'm.mp'), [rec(0, 1), rec(0, 2), rec(1, 1), rec(1, 2)], 40);
    expect(files.map((f) => f.slice(d.length + 1)).sort()).toEqual(['m.mp.train.png', 'm.mp.train.svg']);
    const svg = readFileSync(join(d, 'm.mp.train.svg'), 'utf8');
    expect(svg).toMatch(/>autocorrelation rho at lag 40 sweeps</);
    expect(svg).toMatch(/>agreement with target</);
  });
});
