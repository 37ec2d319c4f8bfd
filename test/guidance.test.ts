// Label guidance (issue 16): the label cells' wires scaled by a gain when labels are clamped
// (sim/model.ts guidedStage), stored in the model file as dtm.label_gain, and chosen after training
// by generating images at each candidate gain (sim/quality/guidance.ts).
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDtmModel, generate } from '../sim/dtm.js';
import { guidedStage, checkLabelGain, parseModel, readModel, modelToObject, withGuidance, type Model } from '../sim/model.js';
import { resolveConfig } from '../sim/config.js';
import { buildChip } from '../sim/chip.js';
import { readImageSet } from '../sim/fmnist.js';
import { tuneGuidance, canTuneGuidance } from '../sim/quality/guidance.js';
import { makePackr } from '../traces/pack.js';
import { UserError } from '../fabric/errors.js';
import { planWorkload } from '../sim/workload.js';
import { planDesign } from '../sim/train/design.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fmnist-train-400.bin.gz', import.meta.url));

// a Fashion-MNIST layout on a small grid (7x7 pooled image, label cells), random weights
const L = 20;
const model = (): Model => newDtmModel({ T: 2, L, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: { random: 0.4 }, seed: 11 });
const config = () => resolveConfig(undefined, { ideal: true, sets: [`fabric.L=${L}`, 'fabric.rules="G8"', 'seed=5'] });

describe('guidedStage', () => {
  it('scales exactly the wires that touch a label cell, in a copy', () => {
    const m = model();
    const st = m.stages[0];
    const lab = new Set(Array.from(m.dtm!.label));
    const g = guidedStage(st, m.dtm!.label, 2.5);
    expect(g).not.toBe(st);
    let touched = 0;
    for (let e = 0; e < st.ew.length; e++) {
      const isLabel = lab.has(st.ei[e]) || lab.has(st.ej[e]);
      if (isLabel) touched++;
      expect(g.ew[e]).toBe(isLabel ? st.ew[e] * 2.5 : st.ew[e]);
    }
    expect(touched).toBeGreaterThan(0);
    expect(touched).toBeLessThan(st.ew.length);
    expect(g.bias).toBe(st.bias); // biases untouched
    expect(guidedStage(st, m.dtm!.label, 1)).toBe(st); // gain 1: the stage itself
  });

  it('refuses a gain that is not a number in [0, 100]', () => {
    for (const bad of [-1, 101, NaN, Infinity, '2', null]) expect(() => checkLabelGain(bad, 'x')).toThrow(UserError);
    expect(checkLabelGain(0, 'x')).toBe(0);
    expect(checkLabelGain(3.5, 'x')).toBe(3.5);
  });
});

describe('label_gain in the model file', () => {
  it('round-trips, defaults to none, and a bad value is one clear error', () => {
    const m = model();
    m.dtm!.label_gain = 3;
    const dir = mkdtempSync(join(tmpdir(), 'dtca-guidance-'));
    const f = join(dir, 'm.mp');
    writeFileSync(f, makePackr().pack(modelToObject(m, false)));
    expect(readModel(f).dtm!.label_gain).toBe(3);
    const obj = modelToObject(model(), true) as { dtm: Record<string, unknown> };
    expect(parseModel(obj, 'plain').dtm!.label_gain).toBeUndefined();
    for (const bad of [-2, 'x', 1e9]) {
      const o = modelToObject(model(), true) as { dtm: Record<string, unknown> };
      o.dtm.label_gain = bad;
      expect(() => parseModel(o, 'bad.json')).toThrow(/bad\.json: dtm\.label_gain = .*: must be a number in \[0, 100\]/);
    }
  });
});

describe('generation with label guidance', () => {
  const labels = [0, 3, 7, 9];
  const run = async (m: Model, labelGain?: number, withLabels = true) =>
    (await generate(buildChip(config()), m, { images: 4, sweeps: 6, labels: withLabels ? labels : undefined, labelGain })).outputs;

  it('is the model with its label wires scaled, bit for bit', async () => {
    const m = model();
    const scaled: Model = { ...m, stages: m.stages.map((st) => guidedStage(st, m.dtm!.label, 3)) };
    const a = await run(m, 3);
    const b = await run(scaled, 1);
    expect(a).toEqual(b);
    expect(a).not.toEqual(await run(m, 1)); // and it changes something
  });

  it("takes the model's label_gain by default; an explicit gain wins", async () => {
    const m = model();
    const withGain: Model = { ...m, dtm: { ...m.dtm!, label_gain: 3 } };
    expect(await run(withGain)).toEqual(await run(m, 3));
    expect(await run(withGain, 1)).toEqual(await run(m, 1));
  });

  it("does nothing without clamped labels (the label cells are then the model's own variables)", async () => {
    const m = model();
    const g = await generate(buildChip(config()), m, { images: 4, sweeps: 6, labelGain: 4 });
    expect(g.labelGain).toBe(1);
    expect(g.outputs).toEqual(await run(m, 1, false));
  });
});

describe('a workload with label guidance', () => {
  it('refuses a label gain when no labels are clamped (it would do nothing), and keeps it when they are', () => {
    const m = model();
    const cfg = resolveConfig(undefined, { sets: [`fabric.L=${L}`, 'fabric.rules="G8"'] });
    // labels: [] clamps none (dtca run --labels none); without labels a Fashion-MNIST model clamps every class in turn
    expect(() => planWorkload({ config: cfg, model: m, images: 2, sweeps: 3, labels: [], labelGain: 2 })).toThrow(/label guidance acts on clamped labels/);
    const byDefault = planWorkload({ config: cfg, model: m, images: 2, sweeps: 3, labelGain: 2 });
    expect(byDefault.kind === 'dtm' && [byDefault.labels, byDefault.labelGain]).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2]);
    const p = planWorkload({ config: cfg, model: m, images: 2, sweeps: 3, labels: [1], labelGain: 2 });
    expect(p.kind === 'dtm' && p.labelGain).toBe(2);
    expect(() => planWorkload({ config: cfg, model: m, images: 2, sweeps: 3, labels: [1], labelGain: -1 })).toThrow(/must be a number in \[0, 100\]/);
  });
});

describe('tuneGuidance', () => {
  it('tries the gains at the model beta, then the betas at the best gain, and keeps the lowest FD; deterministic', async () => {
    const m = model();
    expect(canTuneGuidance(m)).toBe(true);
    const o = { gains: [1, 2, 4], betas: [0.8, 1, 1.3], images: 40, sweeps: 10, reference: readImageSet(FIXTURE) };
    const r = await tuneGuidance(m, config(), o);
    // the model's own beta (1) is not tried twice
    expect(r.rows.map((x) => x.beta)).toEqual([1, 1, 1, 0.8, 1.3]);
    expect(r.rows.slice(0, 3).map((x) => x.gain)).toEqual([1, 2, 4]);
    const bestGain = r.rows.slice(0, 3).reduce((a, b) => (b.fd < a.fd ? b : a)).gain;
    expect(r.rows.slice(3).every((x) => x.gain === bestGain)).toBe(true);
    const best = r.rows.reduce((a, b) => (b.fd < a.fd ? b : a));
    expect([r.gain, r.beta]).toEqual([best.gain, best.beta]);
    for (const row of r.rows) {
      expect(Number.isFinite(row.fd)).toBe(true);
      expect(row.clamped_accuracy).toBeGreaterThanOrEqual(0);
    }
    expect(r.seed).not.toBe(config().seed); // not the seed dtca eval generates with
    expect((await tuneGuidance(m, config(), o)).rows).toEqual(r.rows);
    // not a Fashion-MNIST DTM: refused
    const bm = newDtmModel({ T: 2, L, rules: 'G8', boundary: 'open', visible: 30, weights: { random: 0.4 }, seed: 11 });
    expect(canTuneGuidance(bm)).toBe(false);
    await expect(tuneGuidance(bm, config(), o)).rejects.toThrow(/guidance is tuned for a Fashion-MNIST DTM/);
  });
});

describe('fine-tuning a guided model (dtca train --init)', () => {
  it('starts from its weights at gain 1 and beta 1 and says what it set aside; an unguided model is taken as it is', () => {
    const base = model();
    const guided = withGuidance(base, 2.5, 1.2);
    const plan = planDesign({ config: config(), init: guided }, {});
    expect(plan.initGuidance).toEqual({ gain: 2.5, beta: 1.2 });
    expect(plan.model.beta).toBe(1);
    expect(plan.model.dtm!.label_gain).toBeUndefined();
    // the weights themselves are the init model's
    expect(plan.model.stages.map((s) => Array.from(s.ew))).toEqual(base.stages.map((s) => Array.from(s.ew)));
    const plain = planDesign({ config: config(), init: base }, {});
    expect(plain.initGuidance).toBeNull();
    expect(plain.model).toBe(base);
  });

  it('a model on another grid is refused naming every dimension that differs and every --set, in one line', () => {
    // L = 20 G8 torus against the G12 open config: was the rules alone, then (a second refusal) the boundary
    const torus = newDtmModel({ T: 2, L, rules: 'G8', boundary: 'torus', visible: 'fmnist', weights: 'zero', seed: 11 });
    const g12 = resolveConfig(undefined, { ideal: true, sets: [`fabric.L=${L}`, 'fabric.rules="G12"'] });
    expect(() => planDesign({ config: g12, init: torus, initName: 'm.mp' }, {})).toThrow(
      /^--init m\.mp: the model's grid has fabric\.rules = G8, fabric\.boundary = torus but the training's config has fabric\.rules = G12, fabric\.boundary = open \(--init trains the model on its own grid: use --set fabric\.rules=G8 --set fabric\.boundary=torus or a config with that grid\)$/,
    );
    // one dimension: as before
    expect(() => planDesign({ config: config(), init: torus, initName: 'm.mp' }, {})).toThrow(
      /^--init m\.mp: the model's grid has fabric\.boundary = torus but the training's config has fabric\.boundary = open \(--init trains the model on its own grid: use --set fabric\.boundary=torus or a config with that grid\)$/,
    );
  });
});
