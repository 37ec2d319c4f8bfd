// `dtca model new / info` and a DTM `dtca run` with images and labels, from the command line.
// (DTM generation in-process: test/dtm.test.ts.)
import { describe, it, expect } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../sim/model.js';
import { readNpyU8 } from '../sim/quality/samples.js';
import { DEFAULT_DATA_DIR } from '../sim/fmnist.js';
import { dtca } from './helpers/cli.js';

describe('dtca model and DTM runs from the command line', () => {
  it('model new / info, then run --images --labels writes pictures and per-stage stats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-dtm-'));
    const file = join(dir, 'm.dtm');
    const r1 = dtca([
      'model',
      'new',
      '--stages',
      '3',
      '--L',
      '70',
      '--rules',
      'G12',
      '--visible',
      'fmnist',
      '--weights',
      'random:0.2',
      '--seed',
      '4',
      '--out',
      file,
    ]);
    expect(r1.code).toBe(0);
    const m = readModel(file);
    expect(m.dtm!.image.length).toBe(784);
    expect(m.dtm!.label.length).toBe(100);
    const colours = new Set([...m.dtm!.image, ...m.dtm!.label].map((i) => ((i % 70) + Math.floor(i / 70)) % 2));
    expect([...colours]).toEqual([0]);
    const info = dtca(['model', 'info', file, '--json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout).dtm.T).toBe(3);
    const table = dtca(['model', 'info', file]).stdout;
    // the rules by their preset's name too, as dtca run names them (it showed only the list)
    expect(table).toMatch(/^grid\s+L = 70 \(4900 cells\), rules G12 \[\[0,1\],\[4,1\],\[9,10\]\], open$/m);
    expect(table).toMatch(/^stage\s+edges\s+w_rms\s+\|w\|max\s+\|b\|max\s+J_c image\s+J_c label$/m);
    // the same stages without the dtm section: a Boltzmann machine, whose table has no couplings (it had a J_c column of zeros)
    const bmFile = join(dir, 'bm.json');
    const j = JSON.parse(dtca(['model', 'new', '--stages', '1', '-L', '8', '--rules', 'G8', '--visible', '4', '--weights', 'random:0.5', '--out', '-']).stdout);
    delete j.dtm;
    writeFileSync(bmFile, JSON.stringify(j));
    const bm = dtca(['model', 'info', bmFile]);
    expect(bm.code).toBe(0);
    expect(bm.stdout).toMatch(/: Boltzmann machine, 1 stage\n/);
    expect(bm.stdout).toMatch(/^stage\s+edges\s+w_rms\s+\|w\|max\s+\|b\|max\s+clamped$/m);
    expect(bm.stdout).toMatch(/^\s+0\s+168\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+0$/m);
    expect(bm.stdout).not.toMatch(/J_c/);
    const out = join(dir, 'run');
    const r2 = dtca(['run', '--model', file, '--images', '2', '--sweeps', '5', '--labels', '1,2', '--out', out, '--json']);
    expect(r2.code).toBe(0);
    const s = JSON.parse(r2.stdout);
    expect(s.stages).toHaveLength(3);
    for (const st of s.stages) for (const k of ['stage', 'cycles', 'sim_time_s', 'toggles', 'energy_j']) expect(st).toHaveProperty(k);
    expect(s.energy_per_image_j).toBeGreaterThan(0);
    for (const f of ['samples.png', 'denoise.png', 'stats.json', 'config.json', 'manifest.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, 'samples.png')).subarray(1, 4).toString()).toBe('PNG');
    const bad = dtca(['run', '--model', file, '--labels', '12', '--sweeps', '1', '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--labels 12: class 12 outside 0\.\.9/);
    // --labels is decimal integers >= 0 separated by commas, nothing else; no more classes than images
    for (const [labels, re] of [
      ['0,,1', /^dtca: --labels 0,,1: item 2 is empty /],
      [',', /^dtca: --labels ,: item 1 is empty /],
      ['0x3', /^dtca: --labels 0x3: 0x3 is not a decimal integer >= 0 /],
      ['1e1', /^dtca: --labels 1e1: 1e1 is not a decimal integer >= 0 /],
      ['1.0', /^dtca: --labels 1\.0: 1\.0 is not a decimal integer >= 0 /],
      ['0,1,2', /^dtca: --labels 0,1,2: 3 classes for 2 image\(s\): 2 would never be generated /],
    ] as [string, RegExp][]) {
      const o = join(dir, `bad-labels-${labels.replace(/\W/g, '_')}`);
      const b = dtca(['run', '--model', file, '--images', '2', '--labels', labels, '--sweeps', '1', '--out', o]);
      expect(b.code, labels).toBe(2);
      expect(b.stderr.trim().split('\n'), labels).toHaveLength(1);
      expect(b.stderr.trim(), labels).toMatch(re);
      expect(existsSync(o), labels).toBe(false);
    }
  });

  it('a Fashion-MNIST --model file generates one image per class, clamped, as the shipped model does (it ran 4 unlabelled images: dtca eval had no clamped accuracy)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-dtm-defaults-'));
    const model = (name: string, visible: string) => {
      const f = join(dir, name);
      const r = dtca(['model', 'new', '--stages', '1', '-L', '16', '--rules', 'G8', '--visible', visible, '--weights', 'random:0.2', '--out', f]);
      expect(r.code, r.stderr).toBe(0);
      return f;
    };
    const fm = model('fm.mp', 'fmnist');
    const run = (file: string, name: string, ...extra: string[]) => {
      const out = join(dir, name);
      const r = dtca(['run', '--model', file, '--sweeps', '1', '--out', out, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { out, images: readNpyU8(join(out, 'samples.npy')).shape[0], labelled: existsSync(join(out, 'labels.npy')) };
    };
    const def = run(fm, 'default');
    expect(def.images).toBe(10);
    expect(Array.from(readNpyU8(join(def.out, 'labels.npy')).data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // --labels none: the same images, no class clamped
    const none = run(fm, 'none', '--labels', 'none');
    expect([none.images, none.labelled]).toEqual([10, false]);
    // a model without label cells: 4 unlabelled images, as before
    const plain = run(model('plain.mp', '10'), 'plain');
    expect([plain.images, plain.labelled]).toEqual([4, false]);
    if (existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz'))) {
      const ev = dtca(['eval', def.out, '--json']);
      expect(ev.code, ev.stderr).toBe(0);
      expect(JSON.parse(ev.stdout).clamped_accuracy).toEqual(expect.any(Number));
      // one image per class: the table says why diversity is n/a (it printed "n/a n/a n/a" without a word)
      const one = dtca(['eval', def.out]);
      expect(one.stdout).toMatch(/^diversity\s+n\/a\s+n\/a\s+n\/a$/m);
      expect(one.stdout).toMatch(
        /^autocorrelation per stage \(0 = cleanest\): n\/a \(measured on a model's chains: dtca eval MODEL; samples alone have none\)$/m,
      );
      expect(one.stdout).toMatch(
        /^diversity: n\/a, as no class has two samples to compare .*; score at least two images per class, e\.g\. 20 images of the 10 classes\.$/m,
      );
      // without clamped labels the table says why the samples have no clamped accuracy, and how to get it
      const unl = dtca(['eval', none.out]);
      expect(unl.code, unl.stderr).toBe(0);
      expect(unl.stdout).toMatch(
        /^clamped accuracy: n\/a for the samples, which were generated without clamped labels \(dtca run --labels 0,1,2,3,4,5,6,7,8,9 /m,
      );
    }
  }, 120_000);
});
