// DTM generation on the chip: the stage couplings, the noisiest stage, labels, mappings, the
// trace-sink call sequence (the model commands: dtm-cli.test.ts).
import { describe, it, expect } from 'vitest';
import { buildChip } from '../sim/chip.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { stageCoupling } from '../sim/model.js';
import { sigmoid } from '../rng/telegraph.js';
import { testConfig } from './helpers/chip.js';
import type { TraceSink } from '../traces/types.js';

const Z_TAIL = 4.75;

describe('DTM generation', () => {
  it('zero weights: each visible cell copies its input with probability sigma(2 beta J_c); the noisiest stage is fair coins', async () => {
    const T = 4;
    const beta = 1.2;
    const L = 12;
    const model = newDtmModel({ T, L, rules: [[0, 1]], boundary: 'open', visible: 40, weights: 'zero', seed: 3, beta, lambdaImage: 0.9 });
    const chip = buildChip(testConfig([`fabric.L=${L}`, 'fabric.rules=[[0,1]]', 'seed=12']));
    const images = 1500;
    const g = await generate(chip, model, { images, sweeps: 2, keepChains: images });
    for (let k = T - 1; k >= 0; k--) {
      const jc = stageCoupling(model.dtm!, k, 0.9);
      const p = sigmoid(2 * beta * jc);
      let copies = 0;
      let ups = 0;
      let n = 0;
      for (const rows of g.strip) {
        const input = rows[T - 1 - k];
        const output = rows[T - k];
        for (let v = 0; v < input.length; v++) {
          if (input[v] === output[v]) copies++;
          if (output[v] > 0) ups++;
          n++;
        }
      }
      const tol = Z_TAIL * Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(copies / n - p)).toBeLessThan(tol);
      if (k === T - 1) {
        expect(jc).toBe(0);
        expect(Math.abs(ups / n - 0.5)).toBeLessThan(Z_TAIL * Math.sqrt(0.25 / n));
      } else {
        expect(p).toBeGreaterThan(0.6); // the coupling is real, so the test can tell copying from coins
      }
    }
  });

  it('J_c follows -1/2 ln tanh(lambda dt / 2) on the grid t_k = -ln(1 - k/T)', async () => {
    const m = newDtmModel({ T: 8, L: 8, rules: [[0, 1]], boundary: 'open', visible: 4, weights: 'zero', seed: 1 });
    const t1 = -Math.log(1 - 1 / 8);
    expect(stageCoupling(m.dtm!, 0, 0.9)).toBeCloseTo(-0.5 * Math.log(Math.tanh((0.9 * t1) / 2)), 12);
    expect(stageCoupling(m.dtm!, 7, 0.9)).toBe(0);
  });

  it('labels are clamped to the one-hot code in every stage; the sink sees every sweep in stage-major order', async () => {
    const model = newDtmModel({ T: 3, L: 70, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: { random: 0.2 }, seed: 5 });
    const chip = buildChip(testConfig(['seed=2']));
    const calls: string[] = [];
    let sweeps = 0;
    const sink: TraceSink = {
      header: () => calls.push('header'),
      wantsSweep: () => true,
      sweep: (r) => {
        sweeps++;
        expect(r.spins.length).toBeGreaterThanOrEqual(4900);
        // the energy as values in ENERGY_REPORT_KEYS' order (total first), or as an object
        expect(r.energy ? r.energy.values[r.energy.at] : r.energy_j!.total).toBeGreaterThan(0);
      },
      stageBegin: (r) => calls.push(`begin ${r.stage}`),
      stageEnd: (r) => calls.push(`end ${r.stage}`),
      end: () => calls.push('end'),
      close: async () => {},
    };
    const g = await generate(chip, model, { images: 2, sweeps: 5, labels: [3, 7], sink });
    expect(sweeps).toBe(2 * 3 * 5);
    expect(calls).toEqual(['header', 'begin 2', 'end 2', 'begin 1', 'end 1', 'begin 0', 'end 0', 'end']);
    const dtm = model.dtm!;
    g.outputs.forEach((x, c) => {
      const cls = [3, 7][c];
      for (let n = 0; n < dtm.label.length; n++) expect(x[dtm.image.length + n]).toBe(Math.floor(n / 10) === cls ? 1 : -1);
    });
    expect(g.stages.map((s) => s.stage)).toEqual([0, 1, 2]);
  });

  it('clipping at the weight full scale: biases saturated by a strong stage input are counted apart from weights beyond it', async () => {
    const L = 12;
    const model = newDtmModel({ T: 2, L, rules: [[0, 1]], boundary: 'open', visible: 20, weights: 'zero', seed: 4 });
    const chip = buildChip(testConfig([`fabric.L=${L}`, 'fabric.rules=[[0,1]]', 'cell.weight_bits=8']));
    const fs = chip.config.cell.weight_full_scale;
    const jc = stageCoupling(model.dtm!, 0, model.dtm!.lambda_image);
    expect(jc).toBeGreaterThan(0.1);
    // visible biases just under the full scale: stage 0's input pushes the cells whose input is +1 past it
    for (const v of model.dtm!.image) model.stages[0].bias[v] = fs - jc / 2;
    const images = 6;
    const a = await generate(chip, model, { images, sweeps: 2, keepChains: images });
    const ups = a.strip.reduce((n, rows) => n + rows[1].reduce((m, x) => m + (x > 0 ? 1 : 0), 0), 0);
    expect(ups).toBeGreaterThan(0);
    expect(a.weightsClipped).toBe(0);
    expect(a.programClipped).toBe(ups); // one clipped bias per visible cell whose stage-0 input is +1
    const ew = model.stages[1].ew;
    expect(ew.length).toBeGreaterThan(0);
    ew[0] = 2 * fs;
    const b = await generate(buildChip(chip.config), model, { images, sweeps: 2, keepChains: images });
    expect(b.weightsClipped).toBe(1);
    expect(b.programClipped).toBe(ups + 1);
  });

  it('pipeline mapping: same work and dynamic energy, one image per stage time once full', async () => {
    const model = newDtmModel({ T: 4, L: 20, rules: 'G8', boundary: 'open', visible: 30, weights: { random: 0.3 }, seed: 2 });
    const cfg = testConfig(['fabric.L=20', 'fabric.rules="G8"']);
    const a = await generate(buildChip(cfg), model, { images: 6, sweeps: 10, mapping: 'reprogram' });
    const b = await generate(buildChip(cfg), model, { images: 6, sweeps: 10, mapping: 'pipeline' });
    expect(b.events.toggles).toBe(a.events.toggles);
    expect(b.energy.wires).toBe(a.energy.wires);
    expect(b.simTimeS).toBeLessThan(a.simTimeS);
    expect(b.imageIntervalS).toBeLessThan(a.imageIntervalS);
    expect(b.outputs).toEqual(a.outputs);
  });

  it('pipeline mapping: each stage holds its array leaking for the whole run, so the stages sum to the run by component', async () => {
    const model = newDtmModel({ T: 4, L: 20, rules: 'G8', boundary: 'open', visible: 30, weights: { random: 0.3 }, seed: 2 });
    const cfg = testConfig(['fabric.L=20', 'fabric.rules="G8"']);
    for (const mapping of ['reprogram', 'pipeline'] as const) {
      const g = await generate(buildChip(cfg), model, { images: 3, sweeps: 4, mapping });
      for (const c of Object.keys(g.energy) as (keyof typeof g.energy)[]) {
        const sum = g.stages.reduce((a, s) => a + s.energy_j[c], 0);
        // a sum of 4 rounded doubles: within a few ulps of the run's
        if (g.energy[c] === 0) expect(sum, `${mapping} ${c}`).toBe(0);
        else expect(Math.abs(sum / g.energy[c] - 1), `${mapping} ${c}`).toBeLessThan(1e-12);
      }
      // a pipeline's array leaks for the whole run: its stage's leakage is N x the run's cycles
      const leak = cfg.power.leakage_w_per_cell * 400; // the array's leakage power, W
      if (mapping === 'pipeline') for (const s of g.stages) expect(s.energy_j.leakage / (leak * g.simTimeS)).toBeCloseTo(1, 12);
    }
  });
});

describe('visible placement', () => {
  it('spatial: pixels in image order two cells apart on colour 0, every class in each row of the label lattice', () => {
    const m = newDtmModel({ T: 1, L: 70, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1, placement: 'spatial' });
    const chip = buildChip(testConfig([], true));
    const { image, label } = m.dtm!;
    const all = [...image, ...label];
    expect(new Set(all).size).toBe(884);
    for (const i of all) expect(chip.fabric.colour[i]).toBe(0);
    const xy = (i: number) => [i % 70, Math.floor(i / 70)];
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 27; c++) {
        const [x1, y1] = xy(image[r * 28 + c]);
        const [x2, y2] = xy(image[r * 28 + c + 1]);
        expect([x2 - x1, y2 - y1]).toEqual([2, 0]);
      }
      if (r < 27) expect(image[(r + 1) * 28] - image[r * 28]).toBe(140);
    }
    // label cells lie inside the image's area, and a lattice row (similar y) holds all ten classes
    const [ix0, iy0] = xy(image[0]);
    const [ix1, iy1] = xy(image[783]);
    const rows = new Map<number, Set<number>>();
    label.forEach((i, n) => {
      const [x, y] = xy(i);
      expect(x >= ix0 && x <= ix1 && y >= iy0 && y <= iy1).toBe(true);
      const row = Math.floor(((y - iy0) * 10) / (iy1 - iy0 + 1));
      if (!rows.has(row)) rows.set(row, new Set());
      rows.get(row)!.add(Math.floor(n / 10));
    });
    expect(rows.size).toBe(10);
    for (const cls of rows.values()) expect(cls.size).toBe(10);
  });
  it('random (the default) is unchanged by the option and differs from spatial', () => {
    const o = { T: 1, L: 40, rules: 'G12', boundary: 'open' as const, visible: 300, weights: 'zero' as const, seed: 4 };
    const a = newDtmModel(o);
    const b = newDtmModel({ ...o, placement: 'random' });
    const c = newDtmModel({ ...o, placement: 'spatial' });
    expect(Array.from(b.dtm!.image)).toEqual(Array.from(a.dtm!.image));
    expect(Array.from(c.dtm!.image)).not.toEqual(Array.from(a.dtm!.image));
    expect(new Set(c.dtm!.image).size).toBe(300);
  });
});

describe('DTM determinism', () => {
  it('worker threads over images give byte-identical outputs, events and energies', async () => {
    const model = newDtmModel({ T: 3, L: 24, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.3 }, seed: 9 });
    const cfg = testConfig(['fabric.L=24', 'fabric.rules="G8"'], false);
    const one = await generate(buildChip(cfg), model, { images: 5, sweeps: 12, keepChains: 5, labels: [] });
    const two = await generate(buildChip(cfg), model, { images: 5, sweeps: 12, keepChains: 5, workers: 2 });
    const three = await generate(buildChip(cfg), model, { images: 5, sweeps: 12, keepChains: 5, workers: 3 });
    for (const g of [two, three]) {
      expect(g.outputs).toEqual(one.outputs);
      expect(g.strip).toEqual(one.strip);
      expect(g.events).toEqual(one.events);
      expect(g.energy).toEqual(one.energy);
      expect(g.stages).toEqual(one.stages);
    }
  });
});

describe('paper calibration (default config)', () => {
  it('energy per cell per sweep in [1.3, 2.0] fJ and per stage in [1.6, 2.5] nJ at K = 250', async () => {
    const cfg = testConfig([], false);
    const chip = buildChip(cfg);
    const model = newDtmModel({ T: 8, L: 70, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: { random: 0.25 }, seed: 1 });
    const g = await generate(chip, model, { images: 1, sweeps: 250 });
    expect(chip.config.rng.energy_per_bit_j).toBe(3.5e-16);
    for (const st of g.stages) {
      const e = st.energy_j;
      const sweepJ = e.total - e.programming - e.init - e.readout;
      const perCellSweep = sweepJ / (4900 * 250);
      expect(perCellSweep).toBeGreaterThan(1.3e-15);
      expect(perCellSweep).toBeLessThan(2.0e-15);
      expect(e.total).toBeGreaterThan(1.6e-9);
      expect(e.total).toBeLessThan(2.5e-9);
      expect(e.rng / (4900 * 250)).toBeCloseTo(0.35e-15, 17); // the measured 350 aJ per bit, one bit per update
    }
  });
});
