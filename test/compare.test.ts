// dtca compare: run directories and sweep point directories side by side.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, existsSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';
import { readDesign, compareTable, compareChart, uniqueNames } from '../cli/commands/compare.js';
import { UserError } from '../fabric/errors.js';
import { renderChart } from '../sim/io/plot.js';

describe('dtca compare', () => {
  it('one table with a column per design, compare.json and a chart', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-'));
    const a = join(root, 'slow');
    const b = join(root, 'fast');
    expect(dtca(['run', '--set', 'fabric.L=12', '--images', '2', '--sweeps', '10', '--out', a]).code).toBe(0);
    expect(dtca(['run', '--set', 'fabric.L=12', '--set', 'clock.clock_hz=4e7', '--images', '2', '--sweeps', '10', '--out', b]).code).toBe(0);
    const s = join(root, 'sweep');
    expect(dtca(['sweep', '--grid', '12', '--images', '1', '--stages', '2', '--sweeps', '10', '--no-charts', '--out', s]).code).toBe(0);
    const point = join(s, 'points', readdirSync(join(s, 'points'))[0]);
    const out = join(root, 'cmp');
    // the same chip as a, twice the images: whole-run totals double, per-image figures do not
    const c = join(root, 'long');
    expect(dtca(['run', '--set', 'fabric.L=12', '--images', '4', '--sweeps', '10', '--out', c]).code).toBe(0);
    const r = dtca(['compare', a, b, point, c, '--out', out]);
    expect(r.code).toBe(0);
    const head = r.stdout.split('\n')[0];
    expect(head).toMatch(/dtca-paper\+1 set \(slow\)\s.*dtca-paper\+2 sets.*#1 L=12.*dtca-paper\+1 set \(long\)/);
    expect(r.stdout).toMatch(/^time \/ image\s+/m);
    // issue 19 item 3: no "[object Object]", per-image rows said so, area rows
    expect(r.stdout).not.toMatch(/object Object/);
    expect(r.stdout).toMatch(/^engine\s+(batch|wasm|reference)\s/m);
    expect(r.stdout).toMatch(/^programming energy \/ image\s/m);
    expect(r.stdout).toMatch(/^area\s+0\.009\d* mm²/m);
    expect(r.stdout).toMatch(/^images \/ s \/ mm²\s/m);
    expect(r.stdout).not.toMatch(/^(energy total|programming energy)\s+\d/m);
    expect(r.stdout).toMatch(/^per image: /m);
    // what sets a run's length and sampling, so a per-image figure is read against it
    expect(r.stdout).toMatch(/^sweeps \/ stage\s+10\s+10\s+10\s+10$/m);
    expect(r.stdout).toMatch(/^mapping\s+reprogram\s+reprogram\s+reprogram\s+reprogram$/m);
    expect(r.stdout).toMatch(/^beta\s+1\s+1\s+1\s+1$/m);
    const j = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(j.length).toBe(4);
    const stats = (d: string) => JSON.parse(readFileSync(join(d, 'stats.json'), 'utf8'));
    for (const [k, d] of [
      [0, a],
      [3, c],
    ] as const) {
      const st = stats(d);
      expect(j[k].engine).toBe(st.engine.used);
      expect(j[k].images).toBe(st.images);
      expect(j[k].programming_energy_per_image_j).toBeCloseTo(st.programming_energy_j / st.images, 25);
      expect(j[k].area_m2).toBe(st.area_m2.total);
      expect(j[k].images_per_s_per_mm2 / (st.images_per_s / (st.area_m2.total * 1e6))).toBeCloseTo(1, 9);
      expect(j[k].energy_total_j).toBeUndefined();
    }
    expect(j[3].images).toBe(2 * j[0].images);
    expect(typeof j[2].engine).toBe('string');
    expect(j[2].area_m2).toBeGreaterThan(0);
    expect(j[2].images_per_s_per_mm2).toBeGreaterThan(0);
    // the same chip at 4x the clock: a quarter of the time per image
    expect(j[1].time_per_image_s / j[0].time_per_image_s).toBeCloseTo(0.25, 2);
    expect(j[2].lag1_autocorr).toBeGreaterThan(0);
    expect(existsSync(join(out, 'compare.png'))).toBe(true);
    const bad = dtca(['compare', a, root]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no stats\.json/);
  });
});

describe('dtca compare: directories that are not runs', () => {
  it('a stats.json that is null, a list or not dtca statistics is refused naming it (was a column of dashes)', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-bad-'));
    for (const [name, text] of [
      ['null', 'null'],
      ['list', '[]'],
      ['other', '{"energy_j": "x"}'],
    ]) {
      const d = join(root, name);
      mkdirSync(d);
      writeFileSync(join(d, 'stats.json'), text);
      expect(() => readDesign(d), name).toThrow(UserError);
      expect(() => readDesign(d), name).toThrow(/stats\.json: not the statistics of a dtca run \(no "cycles"\)$/);
    }
    const none = join(root, 'none');
    mkdirSync(none);
    expect(() => readDesign(none)).toThrow(/none: no stats\.json/);
    // the fields compared are checked: a key given twice, a count that is not one, a negative clock (were taken into the table)
    for (const [name, text, re] of [
      ['dup', '{"cycles": 10, "images": 2, "images": 4}', /dup\/stats\.json: "images" is given twice \(line 1\)/],
      ['zero', '{"cycles": 10, "images": 0}', /zero\/stats\.json: images = 0: must be an integer >= 1 or null$/],
      ['neg', '{"cycles": 10, "images": -2}', /neg\/stats\.json: images = -2: must be an integer >= 1 or null$/],
      ['text', '{"cycles": 10, "images": "2"}', /text\/stats\.json: images = a string: must be an integer >= 1 or null$/],
      ['clock', '{"cycles": 10, "clock_hz": -1}', /clock\/stats\.json: clock_hz = -1: must be a finite number > 0 or null$/],
      ['inf', '{"cycles": 10, "energy_per_image_j": 1e999}', /inf\/stats\.json: energy_per_image_j = Infinity: must be a finite number >= 0 or null$/],
      ['area', '{"cycles": 10, "area_m2": {"total": "1"}}', /area\/stats\.json \(area_m2\): total = a string: must be a finite number > 0 or null$/],
      ['phys', '{"cycles": 10, "physics": ["SECRET"]}', /phys\/stats\.json: physics must be a string, not a list$/],
    ] as const) {
      const d = join(root, name);
      mkdirSync(d);
      writeFileSync(join(d, 'stats.json'), text);
      expect(() => readDesign(d), name).toThrow(UserError);
      expect(() => readDesign(d), name).toThrow(re);
    }
    const ok = join(root, 'ok');
    mkdirSync(ok);
    writeFileSync(join(ok, 'stats.json'), '{"cycles": 10, "images": 2}');
    expect(readDesign(ok).values.images).toBe(2);
    expect(readDesign(ok).values.beta).toBeNull();
    const ramp = join(root, 'ramp');
    mkdirSync(ramp);
    writeFileSync(
      join(ramp, 'stats.json'),
      '{"cycles": 10, "images": 2, "sweeps_per_stage": 20, "mapping": "pipeline", "beta": {"start": 0.8, "end": 1.2}, "label_gain": 3}',
    );
    expect(readDesign(ramp).values).toMatchObject({ sweeps_per_stage: 20, mapping: 'pipeline', beta: '0.8 -> 1.2', label_gain: 3 });
  });
  it('one directory given twice (also as DIR/. or through a link) is refused in one line, before anything is written', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-twice-'));
    const d = join(root, 'run');
    mkdirSync(d);
    writeFileSync(join(d, 'stats.json'), '{"cycles": 10, "images": 2}');
    symlinkSync(d, join(root, 'link'));
    for (const second of [d, `${d}/.`, join(root, 'link')]) {
      const out = join(root, `cmp-${readdirSync(root).length}`);
      const r = dtca(['compare', d, second, '--out', out]);
      expect(r.code, second).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`dtca: ${second}: the same directory as ${d}, given twice; give each run once`]);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('two directories of the same name and config get distinct columns (the chart drew them as one bar)', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-alike-'));
    const ds = ['a', 'b', 'c'].map((p, i) => {
      const d = join(root, p, i === 2 ? 'other' : 'run');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'stats.json'), `{"cycles": 10, "config": "dtca-paper", "images": 2, "energy_per_image_j": ${i + 1}e-9}`);
      writeFileSync(join(d, 'manifest.json'), '{"label": "dtca-paper"}');
      return readDesign(d);
    });
    uniqueNames(ds);
    expect(ds.map((d) => d.name)).toEqual(['dtca-paper (run) #1', 'dtca-paper (run) #2', 'dtca-paper (other)']);
    const chart = compareChart(ds) as unknown as { hconcat: { data: { values: { design: string }[] } }[] };
    expect(new Set(chart.hconcat[0].data.values.map((v) => v.design)).size).toBe(3);
  });
  it("a pipeline's time per image is its stage time once full (image_interval_s), and the note says so", () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-pipe-'));
    const d = join(root, 'pipe');
    mkdirSync(d);
    // 2 images in 8.3 us, finishing one every 0.9 us once full
    writeFileSync(join(d, 'stats.json'), '{"cycles": 83, "sim_time_s": 8.3e-6, "images": 2, "mapping": "pipeline", "image_interval_s": 9e-7}');
    const ds = [readDesign(d)];
    expect(ds[0].values.time_per_image_s).toBe(9e-7);
    const table = compareTable(ds);
    expect(table).toMatch(/^time \/ image\s+900 ns$/m);
    expect(table).toMatch(/^per image: .*a pipeline's stage time once full/m);
  });
  it('a Boltzmann-machine run beside a DTM run: its mapping (and engine, physics, workload when absent) is a dash and null, not a blank', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-bm-'));
    const bm = join(root, 'bm');
    const dtm = join(root, 'dtm');
    mkdirSync(bm);
    mkdirSync(dtm);
    // the keys a --workload bm run writes (no mapping), and an older file without engine, physics, workload
    writeFileSync(join(bm, 'stats.json'), '{"cycles": 10, "chains": 1, "beta": 1}');
    writeFileSync(
      join(dtm, 'stats.json'),
      '{"cycles": 10, "images": 2, "mapping": "reprogram", "beta": 1, "engine": {"used": "wasm"}, "physics": "cycle", "workload": "dtm"}',
    );
    const ds = [readDesign(bm), readDesign(dtm)];
    for (const k of ['mapping', 'engine', 'physics', 'workload']) expect(ds[0].values[k], k).toBeNull();
    const table = compareTable(ds);
    for (const [row, v] of [
      ['mapping', 'reprogram'],
      ['engine', 'wasm'],
      ['physics', 'cycle'],
      ['workload', 'dtm'],
    ])
      expect(table).toMatch(new RegExp(`^${row}\\s+-\\s+${v}$`, 'm'));
  });

  it("a manifest's label and stats.json's texts reach the table escaped (were raw ANSI and OSC escapes on the terminal)", () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-compare-esc-'));
    const d = join(root, 'esc');
    mkdirSync(d);
    writeFileSync(join(d, 'stats.json'), JSON.stringify({ cycles: 10, images: 2, mapping: '\x1b]0;title\x07m', engine: '\x1b[2J' }));
    writeFileSync(join(d, 'manifest.json'), JSON.stringify({ label: '\x1b[31mX\u202e' }));
    const t = compareTable([readDesign(d)]);
    expect(t).not.toMatch(/[\x00-\x09\x0b-\x1f\u202e]/);
    expect(t).toContain('\\x1b[31mX\\u202e');
    expect(t).toContain('\\x1b]0;title\\x07m');
  });
});

describe('compare.svg', () => {
  it('names every design whole under its bars and separates thousands on the axis (were "dtca-paper+3 sets+ide…" and 8000000)', async () => {
    const v = (ipsmm2: number) => ({ energy_per_image_j: 1e-10, images_per_s_per_mm2: ipsmm2 });
    const ds = [
      { dir: '/a', name: 'dtca-paper+3 sets+ideal (runs/rC)', values: v(2.5e6) },
      { dir: '/b', name: '#2 L=16 clock_hz=10 MHz weight_bits=8', values: v(1.02e7) },
    ];
    const { svg } = await renderChart(compareChart(ds)!);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toContain('dtca-paper+3 sets+ideal (runs/rC)');
    expect(texts).toContain('#2 L=16 clock_hz=10 MHz weight_bits=8');
    expect(texts.some((t) => t.includes('…'))).toBe(false);
    expect(texts).toContain('10,000,000');
    expect(texts.some((t) => /^\d{5,}$/.test(t))).toBe(false);
  }, 120_000);

  it('a design without a figure says "no value" in its panel (no bar read as zero); a log panel reaches the power of ten above its tallest bar', async () => {
    const ds = [
      { dir: '/a', name: 'ideal', values: { energy_per_image_j: 1.881e-10, images_per_s_per_mm2: null } },
      { dir: '/b', name: 'chip', values: { energy_per_image_j: 1.4e-11, images_per_s_per_mm2: 1.02e7 } },
    ];
    const spec = compareChart(ds)!;
    const { svg } = await renderChart(spec);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts.filter((t) => t === 'no value').length).toBe(1);
    // 188 pJ: the axis goes on to 1,000 pJ (it ended at the bar's top, its last tick 100)
    expect(texts).toContain('1,000');
    // both panels list the designs in the order given
    const panels = (spec as unknown as { hconcat: { encoding: { x: { scale: { domain: string[] } } } }[] }).hconcat;
    for (const p of panels) expect(p.encoding.x.scale.domain).toEqual(['ideal', 'chip']);
  }, 120_000);
});
