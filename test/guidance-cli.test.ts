// `dtca model tune` (issue 16): the label gain and beta chosen on generated images, written into a
// new model file; bad input is one line and exit 2 before any search.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';
import { readModel } from '../sim/model.js';

describe('dtca model tune', () => {
  let dir: string;
  let model: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dtca-tune-'));
    model = join(dir, 'm.mp');
    // a Fashion-MNIST layout on a small grid (7x7 pooled image), random weights
    const r = dtca(['model', 'new', '--L', '20', '--stages', '2', '--rules', 'G8', '--weights', 'random:0.4', '--seed', '3', '--out', model]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('writes the model with the setting of lowest FD and prints every setting tried', () => {
    const out = join(dir, 'tuned.mp');
    const r = dtca(['model', 'tune', model, '--out', out, '--gains', '1,3', '--betas', '1.2', '--images', '30', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rows.map((x: { gain: number; beta: number }) => [x.gain, x.beta])).toEqual([
      [1, 1],
      [3, 1],
      [j.rows[0].fd <= j.rows[1].fd ? 1 : 3, 1.2],
    ]);
    const best = j.rows.reduce((a: { fd: number }, b: { fd: number }) => (b.fd < a.fd ? b : a));
    expect([j.gain, j.beta]).toEqual([best.gain, best.beta]);
    const m = readModel(out);
    expect(m.dtm!.label_gain ?? 1).toBe(j.gain);
    expect(m.beta).toBe(j.beta);
    // the stages are the input model's: only the guidance changed
    expect(m.stages.map((st) => Array.from(st.ew))).toEqual(readModel(model).stages.map((st) => Array.from(st.ew)));
  }, 180_000);

  it('bad input: exit 2, one line, before the search', () => {
    const bm = join(dir, 'bm.mp');
    expect(dtca(['model', 'new', '--L', '12', '--stages', '2', '--rules', 'G8', '--visible', '20', '--weights', 'random:0.3', '--out', bm]).code).toBe(0);
    for (const [args, re] of [
      [['model', 'tune', model, '--out', model], /is an input of this command/],
      [['model', 'tune', bm, '--out', join(dir, 'x.mp')], /not a Fashion-MNIST DTM with label cells/],
      [['model', 'tune', model, '--out', join(dir, 'y.mp'), '--gains', '1,,2'], /--gains 1,,2: expected comma-separated numbers/],
      [['model', 'tune', model, '--out', join(dir, 'z.mp'), '--gains', '1,200'], /must be a number in \[0, 100\]/],
    ] as const) {
      const r = dtca([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    for (const f of ['x.mp', 'y.mp', 'z.mp']) expect(existsSync(join(dir, f))).toBe(false);
  });
});
