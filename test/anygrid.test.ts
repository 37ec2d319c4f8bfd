// A trained model for any grid (issue 16): the Fashion-MNIST image a grid holds (sizes of the
// downscaled layout, the smallest grid per placement and rule set), pooling and decoding back to an
// image, the model file's image_source, a tiny training at L = 20 on the committed fixture that
// generates 7x7 images, and the choice of the shipped model from a models directory. In-process
// (unit tier); anygrid-cli.test.ts runs dtca run, dtca eval's yardsticks and the Python package.
import { describe, it, expect } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { UserError } from '../fabric/errors.js';
import { resolveRules } from '../fabric/rules.js';
import {
  chooseLayout,
  minGrid,
  layoutMisfit,
  downscaleImages,
  upscaleImages,
  atResolution,
  imageBits,
  classifierImages,
  imageSourceOf,
  parseImageChoice,
  colour0Cells,
  IMAGE_SIDES,
  MIN_LABEL_COPIES,
} from '../sim/layout.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { parseModel, modelToObject, readModel } from '../sim/model.js';
import { readImageSet, subset, PIXELS } from '../sim/fmnist.js';
import { trainData } from '../sim/train/train.js';
import { trainModelForDesign, planDesign } from '../sim/train/design.js';
import { resolveConfig } from '../sim/config.js';
import { buildChip } from '../sim/chip.js';
import { samplesPng } from '../sim/io/images.js';
import { fakeModelsDir } from './helpers/models-dir.js';
import { shippedModelFor, listShippedModels, rankShipped, type ShippedEntry } from '../sim/shipped.js';
import { readManifestBeside } from '../sim/manifest.js';
import { samplesFromGeneration } from '../index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fmnist-train-400.bin.gz', import.meta.url));
const G12 = resolveRules('G12', 'test');

describe('the image a grid holds', () => {
  it('picks the largest image, then as many label copies as fit (sizes worked out by hand from ceil(L^2/2) colour-0 cells)', () => {
    const pick = (L: number, p: 'random' | 'spatial') => {
      const l = chooseLayout(L, p);
      return `${l.image.width}x${l.image.height}/${l.labelCopies}`;
    };
    // random: 784 + 100 = 884 <= ceil(43^2/2) = 925; L = 42 has 882 (9 copies: 874), L = 41 has 841 (5 copies: 834)
    expect([70, 43, 42, 41, 40].map((L) => pick(L, 'random'))).toEqual(['28x28/10', '28x28/10', '28x28/9', '28x28/5', '14x14/10']);
    // 196 + 100 = 296 <= ceil(25^2/2) = 313; 24 -> 288 (9 copies: 286); 23 -> 265 (6 copies: 256); 22 -> 242 (4 copies, too few);
    // 7x7: 49 + 100 <= ceil(18^2/2) = 162; L = 15: 113 (6 copies: 109)
    expect([25, 24, 23, 22, 18, 15].map((L) => pick(L, 'random'))).toEqual(['14x14/10', '14x14/9', '14x14/6', '7x7/10', '7x7/10', '7x7/6']);
    // spatial: every other cell, so a side-s image needs L >= 2s - 1: 28 -> 55, 14 -> 27, 7 -> 13 (and the count)
    expect([70, 55, 54, 27, 26, 20].map((L) => pick(L, 'spatial'))).toEqual(['28x28/10', '28x28/10', '14x14/10', '14x14/10', '7x7/10', '7x7/10']);
    expect(() => chooseLayout(14, 'random')).toThrow(/L >= 15/);
    expect(() => chooseLayout(40, 'random', 28)).toThrow(UserError);
    expect(chooseLayout(70, 'random', 14).image).toEqual({ source: 'fmnist-28', width: 14, height: 14, downscale: 2 });
  });

  it('the chosen image is the largest that fits, for every grid from 15 to 72 (no larger one fits even with the fewest copies)', () => {
    for (const p of ['random', 'spatial'] as const) {
      for (let L = 15; L <= 72; L++) {
        const l = chooseLayout(L, p);
        const side = l.image.width;
        expect(layoutMisfit(L, p, side, l.labelCopies), `L=${L} ${p}`).toBeNull();
        if (l.labelCopies < 10) expect(layoutMisfit(L, p, side, l.labelCopies + 1)).not.toBeNull();
        const bigger = IMAGE_SIDES.filter((s) => s > side);
        for (const s of bigger) expect(layoutMisfit(L, p, s, MIN_LABEL_COPIES), `L=${L} ${p} side ${s}`).not.toBeNull();
      }
    }
  });

  it('the smallest grid per placement and rule set: the layout or the rules, whichever needs more', () => {
    const G8 = resolveRules('G8', 't');
    const G16 = resolveRules('G16', 't');
    expect(minGrid('random', 28, 10, G12, 'open')).toBe(43);
    expect(minGrid('random', 28, 10, G12, 'torus')).toBe(44); // a torus needs an even L
    expect(minGrid('spatial', 28, 10, G12, 'open')).toBe(55);
    expect(minGrid('spatial', 28, 10, G12, 'torus')).toBe(56);
    expect(minGrid('random', 7, 10, G8, 'open')).toBe(18);
    // G12's (9,10) needs L > 10 open, L > 20 on a torus; G16's (14,9) needs L > 14 open, L > 28 on a torus
    expect(minGrid('random', 7, 5, G12, 'torus')).toBe(22);
    expect(minGrid('random', 7, 5, G16, 'torus')).toBe(30);
    expect(minGrid('random', 7, 5, G16, 'open')).toBe(15);
    expect(colour0Cells(43)).toBe(925);
  });

  it('every chosen layout is placed by dtca model new: its cells on colour 0, each once, and the file says the image', () => {
    for (const [L, p] of [
      [20, 'random'],
      [20, 'spatial'],
      [30, 'random'],
      [41, 'random'],
      [50, 'spatial'],
    ] as const) {
      const m = newDtmModel({ T: 1, L, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 2, placement: p });
      const l = chooseLayout(L, p);
      const d = m.dtm!;
      expect(d.image.length).toBe(l.nImage);
      expect(d.label.length).toBe(l.nLabel);
      expect(d.label_copies).toBe(l.labelCopies);
      expect(d.image_shape).toEqual([l.image.height, l.image.width]);
      const cells = [...d.image, ...d.label];
      expect(new Set(cells).size).toBe(cells.length);
      for (const i of cells) expect(((i % L) + Math.floor(i / L)) % 2).toBe(0);
      // through the file format and back: image_source kept and checked
      const back = parseModel(JSON.parse(JSON.stringify(modelToObject(m, true))), 'm.json');
      expect(back.dtm!.image_source).toEqual(l.image);
    }
  });

  it('a model file with a wrong image_source is refused with the field named', () => {
    const m = newDtmModel({ T: 1, L: 20, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 2 });
    const obj = JSON.parse(JSON.stringify(modelToObject(m, true)));
    const bad = (src: unknown) => () => parseModel({ ...obj, dtm: { ...obj.dtm, image_source: src } }, 'm.json');
    expect(bad({ source: 'fmnist-28', width: 7, height: 7, downscale: 3 })).toThrow(/m.json: dtm.image_source.downscale = 3/);
    expect(bad({ source: 'fmnist-28', width: 14, height: 14, downscale: 2 })).toThrow(/has 196 pixels, the model has 49 image cells/);
    expect(bad({ source: 'mnist', width: 7, height: 7, downscale: 4 })).toThrow(/source = "mnist"/);
    // an older file without it: 784 cells in 28x28 are Fashion-MNIST itself; other images are not
    expect(imageSourceOf({ image: { length: 784 }, image_shape: [28, 28] })).toEqual({ source: 'fmnist-28', width: 28, height: 28, downscale: 1 });
    expect(imageSourceOf({ image: { length: 300 }, image_shape: [18, 17] })).toBeNull();
    expect(parseImageChoice('14x14')).toBe(14);
    expect(() => parseImageChoice('10')).toThrow(/--image 10/);
  });
});

describe('pooling and decoding', () => {
  it('pools a hand-made image: a pixel is on when at least half its block is', () => {
    const img = new Uint8Array(PIXELS);
    const on = (x: number, y: number) => (img[y * 28 + x] = 1);
    (on(0, 0), on(1, 0)); // block (0,0) of 2x2: 2 of 4 -> 1
    on(2, 0); // block (1,0): 1 of 4 -> 0
    (on(4, 4), on(5, 4), on(4, 5), on(5, 5)); // block (2,2): 4 of 4 -> 1
    const d2 = downscaleImages(img, 1, 2);
    expect(d2.length).toBe(196);
    expect([d2[0], d2[1], d2[2 * 14 + 2]]).toEqual([1, 0, 1]);
    expect(d2.reduce((a, b) => a + b, 0)).toBe(2);
    const d4 = downscaleImages(img, 1, 4);
    expect(d4.length).toBe(49);
    expect(d4[0]).toBe(0); // 3 of 16 in block (0,0)
    expect(d4[8]).toBe(0); // block (1,1): 4 of 16 (pixels 4..5 x 4..5)
    // upscaling by nearest neighbour, then pooling, gives the small image back; at resolution twice is once
    const set = readImageSet(FIXTURE);
    for (const f of [2, 4]) {
      const small = downscaleImages(set.images, 50, f);
      expect(Buffer.compare(Buffer.from(downscaleImages(upscaleImages(small, 50, f), 50, f)), Buffer.from(small))).toBe(0);
      const once = atResolution(set.images, 50, f);
      expect(Buffer.compare(Buffer.from(atResolution(once, 50, f)), Buffer.from(once))).toBe(0);
    }
  });

  it('a training vector decodes back to the pooled image and its label; the classifier gets it upscaled', () => {
    const set = subset(readImageSet(FIXTURE), 0, 20);
    const m = newDtmModel({ T: 1, L: 30, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    expect(m.dtm!.image_source!.downscale).toBe(2);
    const data = trainData(m, undefined, undefined, 'train', set);
    expect(data.V).toBe(196 + 100);
    const small = downscaleImages(set.images, set.n, 2);
    const rows = Array.from({ length: set.n }, (_, i) => data.x.subarray(i * data.V, (i + 1) * data.V));
    rows.forEach((v, i) => {
      expect(Array.from(imageBits(v, m.dtm!))).toEqual(Array.from(small.subarray(i * 196, (i + 1) * 196)));
      for (let k = 0; k < 100; k++) expect(v[196 + k]).toBe(Math.floor(k / 10) === set.labels[i] ? 1 : -1);
    });
    const c = classifierImages(rows, m.dtm!);
    expect(c.downscale).toBe(2);
    expect(Array.from(c.images)).toEqual(Array.from(atResolution(set.images, set.n, 2)));
    // a picture of the stated size: 14x14 cells drawn at 6 screen pixels each (a 28x28 image at 3)
    const png = decode(samplesPng(rows.slice(0, 4), m.dtm!));
    expect([png.width, png.height]).toEqual([2 * (14 * 6 + 2) + 2, 2 * (14 * 6 + 2) + 2]);
  });
});

describe('a model for a small grid', () => {
  it('trains at L = 20 (tiny budget, fixture data) and generates 7x7 images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-anygrid-'));
    const config = resolveConfig(undefined, { sets: ['fabric.L=20', 'seed=5'] });
    const design = { config, T: 2 };
    const budget = { epochs: 1, steps: 2, batch: 4, warmup: 3, samples: 2, every: 1, acpLag: 4, limit: 200 };
    const plan = planDesign(design, budget);
    expect(plan.layout?.image).toEqual({ source: 'fmnist-28', width: 7, height: 7, downscale: 4 });
    expect(plan.trainConfig.rng.tau_rng_s).toBe(0); // the ideal chip by default
    expect(plan.trainConfig.cell.weight_bits).toEqual(config.cell.weight_bits); // with the chip's weight precision
    const out = join(dir, 'm20.mp');
    const r = await trainModelForDesign(design, budget, { out, images: readImageSet(FIXTURE), command: 'test' });
    const m = readModel(out);
    expect(m.grid.L).toBe(20);
    expect(m.dtm!.image_source).toEqual(plan.layout!.image);
    expect(m.stages.every((st) => st.ew.some((w) => w !== 0))).toBe(true); // every stage learned something
    // the guidance search ran (label gain 'auto' by default) and its choice is what the file holds
    const g = r.guidance!;
    expect(g.rows.length).toBe(11); // 8 gains, then 3 betas
    expect(m.dtm!.label_gain ?? 1).toBe(g.gain);
    expect(m.beta).toBe(g.beta);
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(man.guidance.rows).toEqual(g.rows);
    expect([man.label_gain, man.beta]).toEqual([g.gain, g.beta]);
    expect(man).toMatchObject({
      command: 'test',
      grid: { L: 20, boundary: 'open' },
      image: { width: 7, height: 7, downscale: 4 },
      label_copies: 10,
      placement: 'random',
      T: 2,
      options: { epochs: 1, steps: 2, limit: 200 },
    });
    expect(r.manifest.image).toEqual(man.image);
    // a fine-tune of it (--init) carries its manifest on: the lineage, and the placement it did not choose itself
    const out2 = join(dir, 'm20-ft.mp');
    const src = readManifestBeside(out)!.manifest;
    await trainModelForDesign(
      { config, init: m, initName: out, initManifest: src },
      { ...budget, steps: 1, labelGain: 1 },
      { out: out2, images: readImageSet(FIXTURE), command: 'test --init' },
    );
    const man2 = JSON.parse(readFileSync(`${out2}.manifest.json`, 'utf8'));
    expect(man2).toMatchObject({ init: out, placement: 'random', command: 'test --init' });
    expect(man2.lineage).toEqual([man]);
    const gen = await generate(buildChip(config), m, { images: 4, sweeps: 3, labels: [0, 1, 2, 3] });
    expect(gen.outputs.length).toBe(4);
    for (const o of gen.outputs) expect(o.length).toBe(49 + 100);
    expect(classifierImages(gen.outputs, m.dtm!).images.length).toBe(4 * PIXELS);
    // the library's samplesFromGeneration scores it at its resolution with the model's dtm section, and refuses without it
    const samples = samplesFromGeneration(gen, [0, 1, 2, 3], m.dtm!);
    expect(samples.downscale).toBe(4);
    expect(Array.from(samples.images)).toEqual(Array.from(classifierImages(gen.outputs, m.dtm!).images));
    expect(Array.from(samples.labels!)).toEqual([0, 1, 2, 3]);
    expect(() => samplesFromGeneration(gen, [0])).toThrow(/pass the model's dtm section/);
  }, 240_000);
});

describe('the shipped model that fits the fabric', () => {
  const dir = fakeModelsDir();
  const cfg = (L: number, rules = 'G12') => resolveConfig(undefined, { sets: [`fabric.L=${L}`, `fabric.rules=${rules}`] });

  it('is chosen from the directory: same L, rules and boundary; the best reported quality first', () => {
    expect(listShippedModels(dir).map((e) => e.name)).toEqual(['a20.mp', 'b20.mp', 'c22.mp']);
    const c = shippedModelFor(cfg(20), dir)!;
    expect(c.entry.name).toBe('b20.mp'); // FD 0.4 of factorised beats no metrics
    expect(c.others).toEqual(['a20.mp']);
    expect(c.model.grid.L).toBe(20);
    expect(shippedModelFor(cfg(22), dir)!.entry.name).toBe('c22.mp');
    expect(shippedModelFor(cfg(24), dir)).toBeNull();
    expect(shippedModelFor(cfg(20, 'G8'), dir)).toBeNull();
    expect(shippedModelFor(cfg(70), join(dir, 'nowhere'))).toBeNull();
  });

  it("$DTCA_MODELS is anyone's directory: a manifest that is a directory, null, not JSON or has a grid of the wrong type is one line (were a read that never returned, even on SIGTERM, and a TypeError)", () => {
    for (const [name, make, re] of [
      // a FIFO (which blocked the read for ever) is dtca run's case in test/anygrid-cli.test.ts: this tier spawns no mkfifo
      ['directory', (p: string) => mkdirSync(p), /f20\.manifest\.json: is a directory; a model manifest must be a regular file$/],
      ['null', (p: string) => writeFileSync(p, 'null'), /f20\.manifest\.json: a model manifest must be a JSON object, not null$/],
      ['text', (p: string) => writeFileSync(p, '{"grid": "SECRET'), /f20\.manifest\.json: not valid JSON \(a syntax error at line 1, column \d+\)$/],
      ['grid', (p: string) => writeFileSync(p, '{"grid": "G12"}'), /f20\.manifest\.json: grid: expected \{L, rules, boundary\}$/],
    ] as const) {
      const d = fakeModelsDir();
      copyFileSync(join(d, 'a20.mp'), join(d, 'f20.mp'));
      make(join(d, 'f20.manifest.json'));
      expect(() => listShippedModels(d), name).toThrow(UserError);
      expect(() => listShippedModels(d), name).toThrow(re);
    }
  });

  it('a model trained on the cycle chip is chosen at the clock it was trained at, and last at any other clock', () => {
    const d = fakeModelsDir();
    // the best reported quality of the 20x20 models, trained chip-in-the-loop at 80 MHz
    copyFileSync(join(d, 'a20.mp'), join(d, 'e20.mp'));
    const grid = { L: 20, rules: 'G12', boundary: 'open' };
    writeFileSync(
      join(d, 'e20.manifest.json'),
      JSON.stringify({ grid, chip: 'cycle', clock_hz: 8e7, metrics: { ideal: { n: 1000, fd: 30, baselines: { factorised: { fd: 100 } } } } }),
    );
    const at = (hz: number) => resolveConfig(undefined, { sets: ['fabric.L=20', `clock.clock_hz=${hz}`] });
    expect(listShippedModels(d).find((e) => e.name === 'e20.mp')!.trainedClockHz).toBe(8e7);
    expect(shippedModelFor(at(8e7), d)!.entry.name).toBe('e20.mp');
    const at10 = shippedModelFor(at(1e7), d)!;
    expect(at10.entry.name).toBe('b20.mp');
    expect(at10.others).toEqual(['a20.mp', 'e20.mp']);
    // the ideal chip samples alike at any clock: at 80 MHz it takes the best model, not the one
    // fitted to the sticky cycle chip there (dtca run --ideal --set clock.clock_hz=8e7 took it)
    const ideal80 = shippedModelFor(resolveConfig(undefined, { sets: ['fabric.L=20', 'clock.clock_hz=8e7'], ideal: true }), d)!;
    expect(ideal80.entry.name).toBe('b20.mp');
    expect(ideal80.others).toEqual(['a20.mp', 'e20.mp']);
  });

  it('a model whose guidance was chosen on the cycle chip is chosen at that clock, and last at any other', () => {
    const d = fakeModelsDir();
    copyFileSync(join(d, 'a20.mp'), join(d, 't20.mp'));
    const grid = { L: 20, rules: 'G12', boundary: 'open' };
    // trained on the ideal chip (worse reported quality than b20), guidance chosen at 80 MHz
    writeFileSync(
      join(d, 't20.manifest.json'),
      JSON.stringify({
        grid,
        chip: 'ideal',
        guidance_chip: 'cycle',
        guidance_clock_hz: 8e7,
        metrics: { ideal: { n: 1000, fd: 90, baselines: { factorised: { fd: 100 } } } },
      }),
    );
    const at = (hz: number) => resolveConfig(undefined, { sets: ['fabric.L=20', `clock.clock_hz=${hz}`] });
    const e = listShippedModels(d).find((x) => x.name === 't20.mp')!;
    expect([e.trainedClockHz, e.tunedClockHz]).toEqual([null, 8e7]);
    expect(shippedModelFor(at(8e7), d)!.entry.name).toBe('t20.mp');
    expect(shippedModelFor(at(1e7), d)!.others).toEqual(['a20.mp', 't20.mp']);
    // guidance chosen on the ideal chip fits no clock
    writeFileSync(
      join(d, 't20.manifest.json'),
      JSON.stringify({ grid, guidance_chip: 'ideal', metrics: { ideal: { n: 1000, fd: 90, baselines: { factorised: { fd: 100 } } } } }),
    );
    expect(shippedModelFor(at(8e7), d)!.entry.name).toBe('b20.mp');
  });

  it("prefers a model trained at the chip's cell.weight_bits, before the clock and the reported quality", () => {
    const d = fakeModelsDir();
    const grid = { L: 20, rules: 'G12', boundary: 'open' };
    const metrics = (fd: number) => ({ ideal: { n: 1000, fd, baselines: { factorised: { fd: 100 } } } });
    // b20 (FD 40, no weight_bits) is the best reported quality; w4 and w8 are worse, trained at 4 and 8 bits;
    // x8 is trained at 8 bits chip-in-the-loop at 80 MHz; ex is trained with exact weights
    const add = (name: string, manifest: Record<string, unknown>) => {
      copyFileSync(join(d, 'a20.mp'), join(d, `${name}.mp`));
      writeFileSync(join(d, `${name}.manifest.json`), JSON.stringify({ grid, ...manifest }));
    };
    add('w4', { weight_bits: 4, metrics: metrics(90) });
    add('w8', { weight_bits: 8, metrics: metrics(80) });
    add('x8', { weight_bits: 8, chip: 'cycle', clock_hz: 8e7, metrics: metrics(95) });
    add('ex', { weight_bits: 'exact', metrics: metrics(99) });
    expect(listShippedModels(d).map((e) => [e.name, e.weightBits])).toEqual([
      ['a20.mp', null],
      ['b20.mp', null],
      ['c22.mp', null],
      ['ex.mp', 'exact'],
      ['w4.mp', 4],
      ['w8.mp', 8],
      ['x8.mp', 8],
    ]);
    const chip = (bits: number | 'exact', hz = 1e7) =>
      resolveConfig(undefined, { sets: ['fabric.L=20', `cell.weight_bits=${JSON.stringify(bits)}`, `clock.clock_hz=${hz}`] });
    const pick = (bits: number | 'exact', hz?: number) => shippedModelFor(chip(bits, hz), d)!;
    // 8 bits: w8 before b20's better FD (and before x8, fitted to another clock)
    expect(pick(8).entry.name).toBe('w8.mp');
    expect(pick(8).others).toEqual(['x8.mp', 'b20.mp', 'w4.mp', 'ex.mp', 'a20.mp']);
    // at 80 MHz among the 8-bit models the one trained there
    expect(pick(8, 8e7).entry.name).toBe('x8.mp');
    // 4 bits: w4, even at the clock x8 was trained at
    expect(pick(4).entry.name).toBe('w4.mp');
    expect(pick(4, 8e7).entry.name).toBe('w4.mp');
    // exact weights (--ideal): the model trained with them
    expect(pick('exact').entry.name).toBe('ex.mp');
    // no model at the chip's precision: the ranking without it (best reported quality)
    expect(pick(6).entry.name).toBe('b20.mp');
    expect(pick(6, 8e7).entry.name).toBe('x8.mp');
  });

  it('rankShipped: the rule on a list of candidates (precision, then clock, then quality, then name)', () => {
    const e = (name: string, o: Partial<ShippedEntry>): ShippedEntry => ({
      path: name,
      manifestPath: `${name}.manifest.json`,
      name,
      grid: { L: 20, rules: G12, boundary: 'open' },
      quality: null,
      trainedClockHz: null,
      tunedClockHz: null,
      weightBits: null,
      manifest: {},
      ...o,
    });
    const list = [
      e('q1', { quality: 0.1 }),
      e('b4', { weightBits: 4, quality: 0.9 }),
      e('c8', { weightBits: 8, trainedClockHz: 8e7 }),
      e('a8', { weightBits: 8, quality: 0.5 }),
      e('z8', { weightBits: 8, quality: 0.5 }),
    ];
    const names = (chip: Parameters<typeof rankShipped>[1]) => rankShipped(list, chip).map((x) => x.name);
    expect(names({ weightBits: 8, clockHz: 1e7 })).toEqual(['a8', 'z8', 'c8', 'q1', 'b4']);
    expect(names({ weightBits: 8, clockHz: 8e7 })).toEqual(['c8', 'a8', 'z8', 'q1', 'b4']);
    expect(names({ weightBits: 4, clockHz: 8e7 })).toEqual(['b4', 'c8', 'q1', 'a8', 'z8']);
    // no chip precision given: the clock and quality ranking alone
    expect(names({ clockHz: 1e7 })).toEqual(['q1', 'a8', 'z8', 'b4', 'c8']);
    // the candidates are not reordered in place
    expect(list.map((x) => x.name)).toEqual(['q1', 'b4', 'c8', 'a8', 'z8']);
  });
});
