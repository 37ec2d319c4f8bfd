// `dtca model tune` (issue 16): the label gain and beta chosen on generated images, written into a
// new model file; bad input is one line and exit 2 before any search.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
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
    // the manifest dtca train would have written beside it (a few of its fields)
    writeFileSync(
      `${model}.manifest.json`,
      JSON.stringify({ model, seed: 3, chip: 'ideal', total_wall_s: 100, metrics: { ideal: { fd: 1 } }, lineage: [{ model: 'older.mp' }] }),
    );
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
    // each setting's FD with its standard error (3 images of each class: resampled within classes)
    for (const x of j.rows) expect(x.fd_se).toBeGreaterThan(0);
    const m = readModel(out);
    expect(m.dtm!.label_gain ?? 1).toBe(j.gain);
    expect(m.beta).toBe(j.beta);
    // the stages are the input model's: only the guidance changed
    expect(m.stages.map((st) => Array.from(st.ew))).toEqual(readModel(model).stages.map((st) => Array.from(st.ew)));
    // its manifest: the source's training record kept, the source itself in the lineage, the search and where it ran
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(man).toMatchObject({ model: out, tuned_from: model, seed: 3, chip: 'ideal', label_gain: j.gain, beta: j.beta, guidance_chip: 'ideal' });
    expect(man.guidance).toMatchObject({ gain: j.gain, beta: j.beta, chip: 'ideal', images: 30 });
    expect(man.total_wall_s).toBeCloseTo(100 + j.wall_s, 6);
    expect(man.metrics).toBeUndefined(); // the source's quality is not the tuned model's
    expect(man.guidance_clock_hz).toBeUndefined();
    expect(man.lineage.map((x: { model: string }) => x.model)).toEqual(['older.mp', model]);
  }, 180_000);

  it('on the cycle-accurate chip the manifest says at which clock; a broken source manifest is a warning', () => {
    const src = join(dir, 'm2.mp');
    copyFileSync(model, src);
    writeFileSync(`${src}.manifest.json`, '{"seed": 3,');
    const out = join(dir, 'tuned80.mp');
    const r = dtca(['model', 'tune', src, '--out', out, '--chip', 'cycle', '--set', 'clock.clock_hz=8e7', '--gains', '1', '--betas', '1.1', '--images', '20']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/m2\.mp\.manifest\.json.*the tuned model's manifest does not carry its source's/);
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(man).toMatchObject({ tuned_from: src, guidance_chip: 'cycle', guidance_clock_hz: 8e7, lineage: [] });
    expect(man.seed).toBeUndefined();
    // 20 images: FD cannot rank settings at this N (dtca eval's threshold), and the table and the log say so
    expect(r.stdout).toMatch(/^WARNING: N = 20 is too few images for FD to rank settings \(dtca eval: at least 200\): the setting kept may be chance/m);
    expect(r.stderr).toMatch(/N = 20 is too few images for FD to rank settings/);
  }, 180_000);

  it('at 200 images (the N from which FD ranks) no small-N warning', () => {
    const out = join(dir, 'tuned200.mp');
    const r = dtca(['model', 'tune', model, '--out', out, '--gains', '1', '--betas', '1.1', '--images', '200', '--workers', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote /m);
    expect(r.stdout + r.stderr).not.toMatch(/too few images/);
    // FD ± its standard error for each setting; the one not kept is marked ~ exactly when its FD is
    // within twice the combined standard error of the kept one's (as printed, to 0.01)
    const rows = [...r.stdout.matchAll(/^\s+(\d\.\d\d)\s+(\d\.\d\d)\s+(\d+\.\d\d) ± (\d+\.\d\d)\s+\d\.\d{3}(  <- kept|  ~)?$/gm)].map((m) => ({
      fd: Number(m[3]),
      se: Number(m[4]),
      mark: m[5]?.trim() ?? '',
    }));
    expect(rows).toHaveLength(2);
    const kept = rows.find((x) => x.mark === '<- kept')!;
    const other = rows.find((x) => x !== kept)!;
    const tied = other.fd - kept.fd < 2 * Math.sqrt(other.se ** 2 + kept.se ** 2);
    expect(other.mark).toBe(tied ? '~' : '');
    expect(/^~: 1 other setting not told apart from the kept one at this N/m.test(r.stdout)).toBe(tied);
  }, 180_000);

  it('bad input: exit 2, one line, before the search', () => {
    const bm = join(dir, 'bm.mp');
    expect(dtca(['model', 'new', '--L', '12', '--stages', '2', '--rules', 'G8', '--visible', '20', '--weights', 'random:0.3', '--out', bm]).code).toBe(0);
    for (const [args, re] of [
      [['model', 'tune', model, '--out', model], /is an input of this command/],
      [['model', 'tune', bm, '--out', join(dir, 'x.mp')], /not a Fashion-MNIST DTM with label cells/],
      [['model', 'tune', model, '--out', join(dir, 'y.mp'), '--gains', '1,,2'], /--gains 1,,2: expected comma-separated numbers/],
      [['model', 'tune', model, '--out', join(dir, 'z.mp'), '--gains', '1,200'], /^dtca: --gains 1,200: expected comma-separated numbers in \[0, 100\]/],
      // named by the flag (was "guidance tuning: betas[0] = 0"), and a value given twice is not tried twice
      [['model', 'tune', model, '--out', join(dir, 'z.mp'), '--betas', '0'], /^dtca: --betas 0: expected comma-separated numbers in \(0, 1000000\]/],
      [['model', 'tune', model, '--out', join(dir, 'z.mp'), '--gains', '1,2,1'], /^dtca: --gains 1,2,1: 1 is listed twice\n$/],
    ] as const) {
      const r = dtca([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    for (const f of ['x.mp', 'y.mp', 'z.mp']) expect(existsSync(join(dir, f))).toBe(false);
  });
});
