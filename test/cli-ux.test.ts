// Issue 19 (items 6, 8, 9): one name for a config everywhere, descriptions from the resolved values,
// "did you mean" for flags, units read by one parser everywhere, a broken extends chain reported once.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, ROOT } from './helpers/cli.js';
import { smallTrainArgs } from './helpers/train-args.js';
import { parseQuantity, unitOfKey } from '../sim/units.js';
import { resolveConfig, checkConfig, configPaths, configJsonSchema, FLAG_NAMES } from '../sim/config.js';
import { formatProblem } from '../sim/config-check.js';
import { parseAxis, parseClockList } from '../sim/sweep/plan.js';
import { positiveInt } from '../cli/common.js';
import { npyHeader } from '../traces/npy.js';

let dir: string;
let mine: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-ux-'));
  mine = join(dir, 'my-chip.json');
  writeFileSync(mine, JSON.stringify({ extends: 'dtca-paper', fabric: { L: 48 } }));
});

describe('one label for a config (item 6)', () => {
  it('a file extending dtca-paper is called by its file name, described by its own values, in every command', () => {
    const show = JSON.parse(dtca(['config', 'show', mine]).stdout);
    expect(show.name).toBe('my-chip');
    expect(show.description).toMatch(/^48x48 cells, G12 \(degree 12\)/);
    expect(show.description).not.toMatch(/70x70/);
    const v = dtca(['config', 'validate', mine]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/valid \(my-chip: 48x48 cells/);
    expect(dtca(['area', mine]).stdout).toMatch(/^config\s+my-chip: 48 x 48 cells/);
    expect(JSON.parse(dtca(['area', mine, '--json']).stdout).config).toBe('my-chip');
    expect(dtca(['energy-table', mine]).stdout).toMatch(/^energy table of my-chip \(2,304 cells\)/);
    const out = join(dir, 'run-mine');
    const r = dtca(['run', mine, '--images', '1', '--sweeps', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).config).toBe('my-chip');
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.name).toBe('my-chip');
    expect(cfg.description).toMatch(/^48x48 cells/);
  });

  it('a preset keeps its own description until something changes it; --set is counted in the label', () => {
    const paper = resolveConfig('dtca-paper');
    expect(paper.name).toBe('dtca-paper');
    expect(paper.description).toMatch(/The paper's chip/);
    // a seed alone changes no value the description names
    expect(resolveConfig('dtca-paper', { flags: [{ source: '--seed 4', path: 'seed', value: 4 }] }).description).toBe(paper.description);
    const set = JSON.parse(dtca(['config', 'show', '--set', 'fabric.L=48', '--set', 'clock.clock_hz=2e7']).stdout);
    expect(set.name).toBe('dtca-paper+2 sets');
    expect(set.description).toMatch(/^48x48 cells.*20 MHz clock/);
    expect(dtca(['area', '--set', 'fabric.L=48']).stdout).toMatch(/^config\s+dtca-paper\+1 set: 48 x 48/);
    // a --set of the description wins
    expect(resolveConfig('dtca-paper', { sets: ['description="mine"'] }).description).toBe('mine');
  });
});

describe('a broken extends chain: the cause, once (item 9)', () => {
  it('a typo in extends is one problem with a suggestion, no follow-on problems', () => {
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ extends: 'dtca-papr', fabric: { L: 48 } }));
    const v = dtca(['config', 'validate', typo]);
    expect(v.code).toBe(2);
    const lines = v.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/typo\.json: extends = dtca-papr: no such file, and no preset of that name \(did you mean "dtca-paper"\?/);
    expect(v.stdout).not.toMatch(/undefined/);
    expect(v.stderr).toMatch(/1 problem \(listed/);
    const r = dtca(['run', typo]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/more problem/);
  });

  it('a cycle is one problem naming the chain', () => {
    const a = join(dir, 'cyc-a.json');
    const b = join(dir, 'cyc-b.json');
    writeFileSync(a, JSON.stringify({ extends: 'cyc-b.json', fabric: { L: 48 } }));
    writeFileSync(b, JSON.stringify({ extends: 'cyc-a.json' }));
    const v = dtca(['config', 'validate', a]);
    expect(v.code).toBe(2);
    expect(v.stdout.trim().split('\n')).toHaveLength(1);
    expect(v.stdout).toMatch(/a cycle: .*cyc-a\.json -> .*cyc-b\.json -> .*cyc-a\.json/);
    const r = dtca(['area', a]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/more problem/);
  });
});

describe('flags: did you mean (item 8)', () => {
  const cases: [string[], RegExp][] = [
    [['run', '--imgaes', '3'], /--imgaes: unknown option; did you mean --images\?/],
    [['run', '--grid', '48'], /--grid: not an option; a config value is changed with --set: --set fabric\.L=48/],
    [['run', '--clock', '2e7'], /--clock: not an option; .*--set clock\.clock_hz=2e7/],
    [['run', '--clock_hz=2e7'], /--set clock\.clock_hz=2e7/],
    [['area', '--tau-rng-s', '1e-7'], /--set rng\.tau_rng_s=1e-7/],
    [['sweep', '--grdi', '32'], /did you mean --grid\?/],
    [['compare', 'x', '--otu', 'y'], /did you mean --out\?/],
  ];
  for (const [args, re] of cases) {
    it(args.join(' '), () => {
      const r = dtca(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    });
  }
});

describe('units: one parser, everywhere (item 8)', () => {
  it('parseQuantity reads SI prefixes and units, and refuses the wrong unit', () => {
    expect(parseQuantity('10MHz', 'Hz')).toBe(1e7);
    expect(parseQuantity('2.5GHz', 'Hz')).toBe(2.5e9);
    expect(parseQuantity('2.5M', 'Hz')).toBe(2.5e6);
    expect(parseQuantity('100ns', 's')).toBeCloseTo(1e-7, 20);
    expect(parseQuantity('100 us', 's')).toBeCloseTo(1e-4, 15);
    expect(parseQuantity('350aJ', 'J')).toBeCloseTo(3.5e-16, 30);
    expect(parseQuantity('9um2', 'm2')).toBeCloseTo(9e-12, 25);
    expect(parseQuantity('1e7', 'Hz')).toBe(1e7);
    expect(parseQuantity('10ns', 'Hz')).toBeInstanceOf(Error);
    expect(parseQuantity('10mHz', 'Hz')).toBeCloseTo(0.01, 12); // case matters: milli
    expect(parseQuantity('fast', 'Hz')).toBeInstanceOf(Error);
    expect(unitOfKey('clock_hz')).toBe('Hz');
    expect(unitOfKey('g_sigma_s')).toBe('S');
    expect(unitOfKey('weight_write_j_per_bit')).toBe('J');
    expect(unitOfKey('L')).toBeNull();
  });

  it('every config key with a unit suffix has a unit the parser knows', () => {
    const withUnit = configPaths().filter((p) => unitOfKey(p.split('.').pop()!) !== null);
    expect(withUnit).toEqual(
      expect.arrayContaining(['clock.clock_hz', 'rng.tau_rng_s', 'rng.energy_per_bit_j', 'cell.node_capacitance_f', 'power.vdd_v', 'area.rng_m2']),
    );
    for (const p of withUnit) expect(parseQuantity('1', unitOfKey(p.split('.').pop()!)!)).toBe(1);
  });

  it('config schema: a key with a unit takes a number or a string with its unit, the strings parseQuantity reads (it allowed numbers only)', () => {
    type Node = Record<string, unknown> & { properties?: Record<string, Node> };
    const schema = configJsonSchema() as Node;
    const at = (path: string) => path.split('.').reduce<Node | undefined>((n, k) => n?.properties?.[k], schema)!;
    const samples = [
      '10MHz',
      '100ns',
      '350aJ',
      '2fF',
      '0.8V',
      '5nW',
      '1.5um',
      '9um2',
      '300K',
      '1uS',
      '1e7',
      ' 2.5 M ',
      '10 mHz',
      '3µs',
      '4m²',
      '1e-3 fJ',
      '10ns',
      'fast',
      '1 0',
      '5ms2',
      '2.5Mm2',
      '',
    ];
    let checked = 0;
    for (const path of configPaths()) {
      const unit = unitOfKey(path.split('.').pop()!);
      if (!unit) continue;
      const alts = at(path).anyOf as Record<string, unknown>[];
      expect(alts, path).toBeDefined();
      expect(alts[0].type, path).toBe('number');
      const str = alts.find((a) => a.type === 'string')!;
      const re = new RegExp(str.pattern as string);
      // the pattern and the parser agree on every sample (a number in range is the zod schema's to judge)
      for (const t of samples) expect(re.test(t), `${path} ${JSON.stringify(t)}`).toBe(!(parseQuantity(t, unit) instanceof Error));
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // a key without a unit (a count, a compound unit) stays a plain number
    expect(at('fabric.L').type).toBe('integer');
    expect(at('power.wire_cap_f_per_m').type).toBe('number');
    expect(at('fabric.tile.link_energy_j').anyOf).toBeDefined();
  });

  it('--set, config files, --axis and --clock all take 10MHz, giving the same config as 1e7', () => {
    const plain = resolveConfig('dtca-paper', { sets: ['clock.clock_hz=2e7', 'rng.tau_rng_s=5e-8'] });
    const units = resolveConfig('dtca-paper', { sets: ['clock.clock_hz=20MHz', 'rng.tau_rng_s=50ns'] });
    expect(units.clock.clock_hz).toBe(2e7);
    expect(units.rng.tau_rng_s).toBeCloseTo(5e-8, 20);
    expect(JSON.stringify({ ...units, rng: { ...units.rng, tau_rng_s: 0 } })).toBe(JSON.stringify({ ...plain, rng: { ...plain.rng, tau_rng_s: 0 } }));
    const f = join(dir, 'units.json');
    writeFileSync(f, JSON.stringify({ extends: 'dtca-paper', clock: { clock_hz: '20MHz' }, rng: { energy_per_bit_j: '350aJ' } }));
    const c = checkConfig(f);
    expect(c.problems).toEqual([]);
    expect(c.config!.clock.clock_hz).toBe(2e7);
    const r = dtca(['config', 'show', '--set', 'clock.clock_hz=20MHz']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).clock.clock_hz).toBe(2e7);
    const out = join(dir, 'sweep-units');
    const s = dtca([
      'sweep',
      '--axis',
      'clock.clock_hz=10MHz,20MHz',
      '--set',
      'fabric.L=12',
      '--images',
      '1',
      '--stages',
      '1',
      '--sweeps',
      '2',
      '--no-charts',
      '--out',
      out,
      '--json',
    ]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).rows.map((row: { axes: Record<string, unknown> }) => row.axes['clock.clock_hz'])).toEqual([1e7, 2e7]);
    expect(readdirSync(join(out, 'points'))).toHaveLength(2);
  });

  it('a wrong unit is one line naming where it was typed; an --axis problem names the --axis', () => {
    const bad: [string[], RegExp][] = [
      [['config', 'show', '--set', 'clock.clock_hz=10ns'], /^dtca: --set clock\.clock_hz=10ns: clock\.clock_hz = 10ns: "ns" is not a unit of frequency/],
      [['sweep', '--axis', 'clock.clock_hz=10ns', '--no-charts'], /^dtca: --axis clock\.clock_hz: "10ns": "ns" is not a unit of frequency/],
      [['sweep', '--clock', '10ns', '--no-charts'], /^dtca: --clock: "10ns"/],
      [['sweep', '--axis', 'clock.clock_hz=-5', '--set', 'fabric.L=12', '--no-charts'], /--axis clock\.clock_hz=-5: clock\.clock_hz = -5: must be >= 0\.001/],
    ];
    for (const [args, re] of bad) {
      const r = dtca(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/--set clock\.clock_hz=-5/);
    }
    const f = join(dir, 'bad-units.json');
    writeFileSync(f, JSON.stringify({ extends: 'dtca-paper', clock: { clock_hz: '10ns' } }));
    const v = dtca(['config', 'validate', f]);
    expect(v.stdout.trim().split('\n')).toHaveLength(1);
    expect(v.stdout).toMatch(/bad-units\.json: clock\.clock_hz = 10ns: "ns" is not a unit of frequency/);
  });
});

describe('type problems say what is wrong with the value', () => {
  it('1e400 (JSON Infinity) is not a finite number, 16.5 is not an integer: never "expected a number, got a number"', () => {
    // as the command line names them (a library caller's read sets[0] ...: test/library-names.test.ts)
    const one = (set: string) => checkConfig(undefined, { sets: [set], names: FLAG_NAMES }).problems.map(formatProblem);
    expect(one('fabric.L=1e400')).toEqual(['--set fabric.L=1e400: fabric.L = Infinity: not a finite number']);
    expect(one('seed=1e400')).toEqual(['--set seed=1e400: seed = Infinity: not a finite number']);
    expect(one('cell.weight_bits=-1e400')).toEqual(['--set cell.weight_bits=-1e400: cell.weight_bits = -Infinity: not a finite number']);
    expect(one('fabric.L=16.5')).toEqual(['--set fabric.L=16.5: fabric.L = 16.5: must be an integer']);
    expect(one('fabric.L="16"')).toEqual(['--set fabric.L="16": fabric.L = 16: expected a number, got a string']);
    const f = join(dir, 'inf.json');
    writeFileSync(f, '{"extends": "dtca-paper", "clock": {"phase_cycles": 1e999}}');
    expect(checkConfig(f).problems.map(formatProblem)).toEqual([`${f}: clock.phase_cycles = Infinity: not a finite number`]);
  });
});

describe('a key given twice in a JSON file', () => {
  it('a config or a sweep plan with a key twice is refused in one line naming the key and line (JSON would keep the last)', () => {
    const cfg = join(dir, 'twice.json');
    writeFileSync(cfg, '{\n  "extends": "dtca-paper",\n  "fabric": {"L": 16},\n  "fabric": {"L": 32}\n}\n');
    for (const args of [
      ['run', cfg, '--images', '1', '--sweeps', '2', '--out', join(dir, 'twice-run')],
      ['config', 'show', cfg],
    ]) {
      const r = dtca(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([
        `dtca: ${cfg}: "fabric" is given twice (line 4); JSON would keep the last one without a word: remove one`,
      ]);
    }
    expect(existsSync(join(dir, 'twice-run'))).toBe(false);
    const plan = join(dir, 'twice-plan.json');
    writeFileSync(plan, '{"axes": [{"path": "fabric.L", "values": [12]}], "seed": 1, "seed": 2}');
    const p = dtca(['sweep', '--plan', plan, '--out', join(dir, 'twice-sweep')]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/--plan .*twice-plan\.json: "seed" is given twice \(line 1\)/);
    expect(existsSync(join(dir, 'twice-sweep'))).toBe(false);
  });
});

describe('numbers past what JSON and doubles hold', () => {
  it('an --axis value of 1e400 is not a finite number (was stored as null); a count of 1e300 is not an exact integer', () => {
    expect(() => parseAxis('clock.clock_hz=1e7,1e400')).toThrow(/^--axis clock\.clock_hz: 1e400: not a finite number$/);
    expect(() => parseClockList('-1e999')).toThrow(/^--clock: -1e999: not a finite number$/);
    expect(parseAxis('fabric.L=16,32').values).toEqual([16, 32]);
    expect(() => positiveInt('arrays', 1e300)).toThrow(/^--arrays 1e\+300: must be an integer <= 9007199254740991$/);
    expect(positiveInt('arrays', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('Boltzmann-machine options on a DTM run say what a DTM uses instead', () => {
  it('--chains points to --images; --warmup and --init say how a stage starts (they pointed to --images too)', () => {
    for (const [flag, value, re] of [
      ['--chains', '2', /^dtca: --chains: not used by a DTM generation run \(use --images: one chain per image; --stage K/],
      ['--warmup', '3', /^dtca: --warmup: not used by a DTM generation run \(each stage runs --sweeps sweeps from its initialisation/],
      ['--init', 'up', /^dtca: --init: not used by a DTM generation run \(each stage starts from the Hinton initialisation/],
    ] as const) {
      const r = dtca(['run', '--set', 'fabric.L=12', flag, value, '--out', join(dir, `dtm-${flag.slice(2)}`)]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr.trim().split('\n'), flag).toHaveLength(1);
      expect(r.stderr.trim(), flag).toMatch(re);
    }
  });
});

describe('a random-weight workload says so beside its energy (item 5)', () => {
  it('stats.json and the table carry the note; a model file does not', () => {
    const out = join(dir, 'run-random');
    const r = dtca(['run', '--set', 'fabric.L=12', '--images', '1', '--sweeps', '5', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^note\s+random-weight workload: seeded random weights, not a trained model; random weights toggle more than a trained model \(here \d+\.\d% of cell updates toggle/m,
    );
    const st = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(st.energy_note).toMatch(/energy per image read high/);
    const bm = dtca(['run', '--workload', 'bm', '--set', 'fabric.L=12', '--sweeps', '5', '--out', join(dir, 'run-bm'), '--json']);
    expect(JSON.parse(bm.stdout).energy_note).toMatch(/^random-weight workload/);
    const m = join(dir, 'zero.json');
    expect(dtca(['model', 'new', '--stages', '2', '--L', '12', '--visible', '10', '--out', m]).code).toBe(0);
    const f = dtca(['run', '--model', m, '--set', 'fabric.L=12', '--images', '1', '--sweeps', '5', '--out', join(dir, 'run-file'), '--json']);
    expect(f.code).toBe(0);
    expect(JSON.parse(f.stdout).energy_note).toBeUndefined();
  });

  it('a random-weight run that toggles no more than a trained model (a 1e15 Hz clock: RNGs frozen) is not said to read high', () => {
    const r = dtca([
      'run',
      '--workload',
      'bm',
      '--set',
      'fabric.L=12',
      '--set',
      'clock.clock_hz=1e15',
      '--sweeps',
      '5',
      '--out',
      join(dir, 'run-frozen'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout);
    const frac = st.events.toggles / st.events.latches;
    expect(frac).toBeLessThanOrEqual(0.155);
    expect(st.energy_note).toMatch(/^random-weight workload: .*but here only \d+\.\d% of cell updates toggle, no more than the trained model there/);
    expect(st.energy_note).not.toMatch(/reads high;/);
  });

  it('the claim holds: on the paper chip random weights toggle more than the shipped trained model', () => {
    // same chip, seed, images, sweeps; the default workload at L = 70 is the shipped model
    const trained = dtca(['run', '--images', '2', '--sweeps', '40', '--labels', '0,1', '--out', join(dir, 'toggle-trained'), '--json']);
    const rnd = join(dir, 'rnd70.mp');
    expect(dtca(['model', 'new', '--weights', 'random:0.25', '--out', rnd]).code).toBe(0);
    const random = dtca(['run', '--model', rnd, '--images', '2', '--sweeps', '40', '--out', join(dir, 'toggle-random'), '--json']);
    const t = JSON.parse(trained.stdout);
    const q = JSON.parse(random.stdout);
    expect(t.workload).toMatch(/fmnist-t8/);
    const frac = (s: { events: { toggles: number; latches: number } }) => s.events.toggles / s.events.latches;
    // 2 x 8 x 40 x 4,900 latches each: binomial noise ~1e-3, the measured gap ~0.15
    expect(frac(q) - frac(t)).toBeGreaterThan(0.05);
    expect(q.energy_per_image_j).toBeGreaterThan(t.energy_per_image_j);
  });
});

describe('trace export --npy: the cell layout and the stage records (item 13)', () => {
  it('pixels and label copies of a Fashion-MNIST layout, and stage energies that sum to the run', () => {
    const out = join(dir, 'traced');
    const r = dtca(['run', '--set', 'fabric.L=44', '--set', 'fabric.rules="G8"', '--images', '2', '--sweeps', '2', '--trace', '--out', out]);
    expect(r.code).toBe(0);
    const npy = join(out, 'npy');
    const e = dtca(['trace', 'export', join(out, 'trace.dtct'), '--npy', npy]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/layout\.npy, pixel_index\.npy, label_index\.npy; 16 stage records/);
    const script = `
import json, sys
import numpy as np
import dtca_trace
d, trace, stats = sys.argv[1], sys.argv[2], sys.argv[3]
h, t = dtca_trace.load(trace)
lay = np.load(d + '/layout.npy'); pix = np.load(d + '/pixel_index.npy'); lab = np.load(d + '/label_index.npy')
pc = np.load(d + '/pixel_column.npy'); cells = np.load(d + '/cells.npy'); states = np.load(d + '/states.npy')
kind = np.load(d + '/stage_records_kind.npy'); tot = np.load(d + '/stage_records_energy_total_j.npy')
prog = np.load(d + '/stage_records_energy_programming_j.npy')
img = np.asarray(h['layout']['image']); labc = np.asarray(h['layout']['label'])
print(json.dumps({
  'pix_shape': list(pix.shape), 'lab_shape': list(lab.shape),
  'pix_ok': bool((pix.ravel() == img).all()), 'lab_ok': bool((lab.ravel() == labc).all()),
  'n_pix': int((lay == 1).sum()), 'n_lab': int((lay == 2).sum()),
  'col_ok': bool((cells[pc] == pix).all()),
  # the last sweep record's image, read through the layout, equals the states at the pixel cells
  'img_ok': bool((states[-1][pc] == t.states[-1][dtca_trace.column_of(h, pix.ravel())].reshape(pix.shape)).all()),
  'n_stage': int(len(kind)), 'begins': int((kind == 0).sum()),
  'stage_end_sum': float(tot[kind == 1].sum()), 'end_total': float(t.end['energy_j']['total']),
  'stats_total': json.load(open(stats))['energy_j']['total'],
  'py_stage': [float(s['energy_j']['programming']) for s in t.stage_records] == [float(v) for v in prog],
}))
`;
    const p = spawnSync('/usr/bin/python3', ['-c', script, npy, join(out, 'trace.dtct'), join(out, 'stats.json')], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: join(ROOT, 'traces'), PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(p.stderr).toBe('');
    const j = JSON.parse(p.stdout);
    expect(j).toMatchObject({
      pix_shape: [28, 28],
      lab_shape: [10, 10],
      pix_ok: true,
      lab_ok: true,
      n_pix: 784,
      n_lab: 100,
      col_ok: true,
      img_ok: true,
      n_stage: 16,
      begins: 8,
      py_stage: true,
    });
    // each stage_end record holds the stage's totals: over the stages, the run's total
    expect(j.stage_end_sum).toBeCloseTo(j.end_total, 20);
    expect(j.stage_end_sum / j.stats_total).toBeCloseTo(1, 12);
  });
});

describe('compound units take plain numbers (docs/commands.md)', () => {
  it('wire_cap_f_per_m and cap_density_f_per_m2 refuse a length or an area (100um was read as 1e-4 F/m); per-cell and per-bit keys keep their unit', () => {
    for (const set of ['power.wire_cap_f_per_m=100um', 'area.cap_density_f_per_m2=3um2']) {
      const r = dtca(['config', 'show', '--set', set]);
      expect(r.code, set).toBe(2);
      expect(r.stderr.trim(), set).toMatch(/: expected a number, got a string$/);
    }
    const ok = dtca([
      'config',
      'show',
      '--set',
      'area.clock_m2_per_cell=0.1um2',
      '--set',
      'power.leakage_w_per_cell=250pW',
      '--set',
      'power.wire_cap_f_per_m=2e-10',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const c = JSON.parse(ok.stdout);
    expect(c.area.clock_m2_per_cell).toBeCloseTo(1e-13, 25);
    expect(c.power.leakage_w_per_cell).toBeCloseTo(2.5e-10, 22);
    expect(c.power.wire_cap_f_per_m).toBe(2e-10);
  });
});

describe('config validate lists every problem', () => {
  it('an unknown key beside the fabric does not hide that the grid is too small for its rules', () => {
    const f = join(dir, 'two-problems.json');
    writeFileSync(f, JSON.stringify({ extends: 'dtca-paper', fabric: { L: 7, foo: 1 } }));
    const v = dtca(['config', 'validate', f]);
    expect(v.code).toBe(2);
    const lines = v.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/fabric\.foo: unknown key/);
    expect(lines[1]).toMatch(/grid L=7 is too small for this rule/);
    expect(v.stderr).toMatch(/2 problems/);
    // a wrong value of the fabric itself still stops the rule check (it cannot judge a grid it cannot read)
    writeFileSync(f, JSON.stringify({ extends: 'dtca-paper', fabric: { L: 'seven' } }));
    expect(dtca(['config', 'validate', f]).stdout.trim().split('\n')).toHaveLength(1);
  });
  it('an odd side on a torus names where L came from: the --set of L or boundary given last (never the rules), -L, a model file', () => {
    const odd = (sets: string[]) => {
      const v = dtca(['config', 'validate', 'dtca-paper', ...sets.flatMap((s) => ['--set', s])]);
      expect(v.code).toBe(2);
      const lines = v.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/a torus needs an even L/);
      return lines[0];
    };
    expect(odd(['fabric.L=11', 'fabric.boundary="torus"', 'fabric.rules="G8"'])).toMatch(/^--set fabric\.boundary="torus": /);
    expect(odd(['fabric.boundary="torus"', 'fabric.L=11', 'fabric.rules="G8"'])).toMatch(/^--set fabric\.L=11: /);
    // the same line from dtca run, before anything runs
    const r = dtca(['run', '--set', 'fabric.L=11', '--set', 'fabric.rules="G8"', '--set', 'fabric.boundary="torus"', '--out', join(dir, 'odd-torus')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^dtca: --set fabric\.boundary="torus": fabric\.L = 11: a torus needs an even L/);
    // dtca model new names its flag, a model file its grid.L (both said "fabric.L", a config's key)
    const n = dtca(['model', 'new', '--stages', '1', '-L', '9', '--rules', '[[0,1]]', '--boundary', 'torus', '--visible', '4', '--out', '-']);
    expect(n.code).toBe(2);
    expect(n.stderr.trim()).toBe('dtca: -L = 9: a torus needs an even L, or the checkerboard colouring is not consistent across the wrap');
    const six = dtca(['model', 'new', '--stages', '1', '-L', '6', '--rules', '[[0,1]]', '--boundary', 'torus', '--visible', '4', '--out', '-']);
    expect(six.code).toBe(0);
    const m = JSON.parse(six.stdout);
    m.grid.L = 9;
    const f = join(dir, 'odd-torus.json');
    writeFileSync(f, JSON.stringify(m));
    const i = dtca(['model', 'info', f]);
    expect(i.code).toBe(2);
    expect(i.stderr.trim()).toMatch(/^dtca: .*odd-torus\.json: grid\.L = 9: a torus needs an even L/);
  });
  it('-h names only the file it checks', () => {
    const h = dtca(['config', 'validate', '-h']).stdout;
    expect(h).toMatch(/file +config file or preset name/);
    expect(h).not.toMatch(/^ +config +preset name/m);
  });
});

describe('-h of a command that refuses --ideal', () => {
  it('dtca train and dtca probe say --ideal is refused and what to do instead (it read "turn every non-ideality off")', () => {
    for (const [cmd, why] of [
      ['train', /--ideal +refused: train on the ideal chip with --chip ideal/],
      ['probe', /--ideal +refused: the ideal chip has no analog state/],
    ] as const) {
      const h = dtca([cmd, '-h']).stdout;
      expect(h, cmd).toMatch(why);
      expect(h, cmd).not.toMatch(/turn every non-ideality off/);
      expect(dtca([cmd, '--ideal']).code, cmd).toBe(2);
    }
  });
});

describe('a DTM run says which classes it clamps', () => {
  it('labelsText: the list, cycled over more images, or cut to fewer', async () => {
    const { labelsText } = await import('../sim/workload.js');
    expect(labelsText(undefined, 4)).toBe('none');
    expect(labelsText([0, 3, 7], 3)).toBe('0,3,7');
    expect(labelsText([1, 2], 10)).toBe('1,2 cycled over 10 images');
    expect(labelsText([1, 2], 1)).toBe('1 (the first 1 of 1,2)');
  });
});

describe('a one-letter flag given twice', () => {
  it('-L 5 -L 1 is refused like --images 2 --images 3 (yargs would have added them: an L = 6 model)', () => {
    const out = join(dir, 'twice.mp');
    const r = dtca([
      'model',
      'new',
      '--stages',
      '2',
      '-L',
      '5',
      '-L',
      '1',
      '--rules',
      'G8',
      '--visible',
      '4',
      '--weights',
      'zero',
      '--seed',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('dtca: -L given 2 times (5, 1); give it once');
    expect(existsSync(out)).toBe(false);
    expect(
      dtca(['model', 'new', '--stages', '2', '-L=16', '-L', '20', '--rules', 'G8', '--visible', '4', '--weights', 'zero', '--seed', '1', '--out', out]).stderr,
    ).toMatch(/-L given 2 times \(16, 20\)/);
  });
});

describe('the command line names its flags where a library caller reads its options (test/library-names.test.ts)', () => {
  it('--set, -L, --rules and the --set that fits a model, each in one line', () => {
    const line = (args: string[]) => {
      const r = dtca(args);
      expect(r.code, args.join(' ')).toBe(2);
      return r.stderr.trim();
    };
    const out = join(dir, 'named.mp');
    expect(line(['config', 'show', '--set', 'fabric.L'])).toBe('dtca: --set fabric.L: expected path=value, e.g. --set clock.clock_hz=2e7');
    expect(line(['config', 'show', '--set', 'fabric.L=-1', '--set', 'clock.clock_hz=-1'])).toBe(
      'dtca: --set fabric.L=-1: fabric.L = -1: must be >= 2 (and 1 more problem: dtca config validate dtca-paper lists them all)',
    );
    expect(line(['model', 'new', '--L', '6', '--rules', 'G8', '--visible', 'fmnist', '--out', out])).toMatch(
      /^dtca: -L = 6: too small for a Fashion-MNIST DTM .*; use L >= 15 \(random placement\)$/,
    );
    // model new's grid option is -L, as --help shows it: every message names it so (they said --L)
    expect(dtca(['model', 'new', '--help']).stdout).toMatch(/^ {2}-L {2,}cells per side/m);
    for (const [args, want] of [
      [['-L', '1'], 'dtca: -L 1: must be an integer >= 2'],
      [['-L', '2.5'], 'dtca: -L 2.5: must be an integer >= 2'],
      [['-L', '50000'], 'dtca: -L 50000: at most 46340 (cell indices are 32-bit)'],
      [
        ['-L', '15', '--rules', 'G8', '--boundary', 'torus'],
        'dtca: -L = 15: a torus needs an even L, or the checkerboard colouring is not consistent across the wrap',
      ],
    ] as [string[], string][])
      expect(line(['model', 'new', ...args, '--out', out])).toBe(want);
    expect(line(['model', 'new', '--L', '16', '--rules', '[[0,1],[0,1]]', '--out', out])).toBe(
      'dtca: --rules[1] = (0,1): gives offset (0,1) that rule --rules[0] already gives',
    );
    expect(line(['model', 'new', '--L', '16', '--rules', 'G99', '--out', out])).toMatch(/^dtca: --rules: unknown rule preset "G99"/);
    expect(existsSync(out)).toBe(false);
    // a model on another grid than a config named (run and probe) says which --set fits it
    const m = join(dir, 'grid8.json');
    expect(dtca(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '4', '--stages', '1', '--out', m]).code).toBe(0);
    // every dimension that differs in one line (L was named alone, the rules took a second refusal)
    const fit =
      / grid\.L = 8 but the config's fabric\.L = 70, and grid\.rules = \[\[0,1\]\] but the config's fabric\.rules = G12 \(use --set fabric\.L=8 --set 'fabric\.rules=\[\[0,1\]\]' or a config with that grid\)$/;
    expect(line(['run', 'dtca-paper', '--model', m, '--images', '1', '--sweeps', '1', '--out', join(dir, 'named-run')])).toMatch(fit);
    expect(line(['probe', 'dtca-paper', '--model', m, '--vcd', join(dir, 'named.vcd')])).toMatch(fit);
  });

  /** the last line of a refused command's stderr (the one-line error) */
  const refusedLine = (args: string[]) => {
    const r = dtca(args);
    expect(r.code, args.join(' ')).toBe(2);
    return r.stderr.trim().split('\n').at(-1)!;
  };

  it('dtca eval: --images (a library caller reads samples.n)', () => {
    // a run directory of 1001 images all clamped to class 0: the test set has 1000 of each class
    const run = join(dir, 'class0-run');
    mkdirSync(run);
    const n = 1001;
    writeFileSync(join(run, 'samples.npy'), Buffer.concat([npyHeader('uint8', [n, 784]), Buffer.alloc(n * 784)]));
    writeFileSync(join(run, 'labels.npy'), Buffer.concat([npyHeader('uint8', [n]), Buffer.alloc(n)]));
    const samples = {
      file: 'samples.npy',
      labels_file: 'labels.npy',
      images: n,
      visible: 784,
      image_cells: 784,
      image_shape: [28, 28],
      label_copies: 1,
      classes: 10,
    };
    writeFileSync(join(run, 'manifest.json'), JSON.stringify({ samples }));
    expect(refusedLine(['eval', run, '--images', String(n)])).toBe(
      `dtca: --images ${n}: needs ${n} images of class 0, the test set has 1000; use fewer images`,
    );
  });

  it('dtca train: --train-stages, --resume, --out (a library caller reads stages, resume, out)', () => {
    const train = (out: string, ...more: string[]) => refusedLine(['train', ...smallTrainArgs(), ...more, '--out', out]);
    expect(train(join(dir, 'stages.mp'), '--train-stages', '5')).toBe('dtca: --train-stages: stage 5 outside 0..1');
    const earlier = join(dir, 'earlier.mp');
    mkdirSync(`${earlier}.ckpt`);
    writeFileSync(join(`${earlier}.ckpt`, 'stage-0.mp'), '');
    expect(train(earlier)).toBe(`dtca: ${earlier}.ckpt holds checkpoints of an earlier run: add --resume to continue it, or choose another --out`);
    writeFileSync(join(`${earlier}.ckpt`, 'run.json'), '{');
    expect(train(earlier, '--resume')).toBe(
      `dtca: ${earlier}.ckpt/run.json: damaged (not valid JSON); it records the options the checkpoints were trained with: train into a new --out`,
    );
  });

  it("missing Fashion-MNIST: --data DIR (a library caller reads dir, or train's dataDir)", () => {
    const nowhere = join(dir, 'no-fmnist');
    const hint = /; get the four idx \.gz files .* and point --data DIR \(or DTCA_DATA\) at their directory$/;
    for (const args of [
      ['data', '--data', nowhere],
      ['eval', 'configs', '--data', nowhere],
      ['train', ...smallTrainArgs(), '--data', nowhere, '--out', join(dir, 'no-data.mp')],
    ]) {
      const line = refusedLine(args);
      expect(line, args[0]).toMatch(/^dtca: Fashion-MNIST not found: .*no-fmnist does not exist/);
      expect(line, args[0]).toMatch(hint);
    }
  });

  it('dtca run: --trace (a library caller reads the path it gave openTraceWriter)', () => {
    const nowhere = join(dir, 'no-such-dir', 'x.dtct');
    expect(refusedLine(['run', '--images', '1', '--sweeps', '1', '--trace', nowhere, '--out', join(dir, 'traced-run')])).toBe(
      `dtca: --trace: directory ${join(dir, 'no-such-dir')} does not exist; create it first`,
    );
  });
});

describe("dtca run --model takes the model's grid when the command line names none", () => {
  const L32 = join(ROOT, 'configs', 'models', 'fmnist-t8-L32.mp');
  it('runs a 32x32 model on the default config with its grid, says so, and labels the run; a named grid is still held to the model', () => {
    const out = join(dir, 'grid-L32');
    const r = dtca(['run', '--model', L32, '--images', '1', '--sweeps', '2', '--out', out], { env: { DTCA_LOG: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"msg":"the chip takes the model's grid \(32x32 G12\): no config or --set names one"/);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.fabric).toMatchObject({ L: 32, boundary: 'open' });
    expect(cfg.name).toBe('dtca-paper+model grid 32x32 G12');
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).label).toBe('dtca-paper+model grid 32x32 G12');
    expect(r.stdout).toMatch(/^config +dtca-paper\+model grid 32x32 G12 /m);
    // a name the command line sets stays the config's name
    const named = join(dir, 'grid-named');
    expect(dtca(['run', '--model', L32, '--set', 'name=mine', '--images', '1', '--sweeps', '2', '--out', named]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(named, 'config.json'), 'utf8')).name).toBe('mine');
    // a --set of the grid, or a config named, keeps the user's grid: the mismatch is refused as before
    for (const args of [['--set', 'fabric.L=70'], ['dtca-paper']]) {
      const x = dtca(['run', ...args, '--model', L32, '--images', '1', '--sweeps', '2', '--out', join(dir, `grid-x${args.length}`)]);
      expect(x.code, args.join(' ')).toBe(2);
      expect(x.stderr.trim()).toMatch(/fmnist-t8-L32\.mp: grid\.L = 32 but the config's fabric\.L = 70 \(use --set fabric\.L=32 or a config with that grid\)$/);
    }
  });

  it('dtca eval MODEL and dtca model tune hold a named grid to the model with the same line as dtca run (they took the model grid over it without a word)', () => {
    const line = "fmnist-t8-L32.mp: grid.L = 32 but the config's fabric.L = 70 (use --set fabric.L=32 or a config with that grid)";
    for (const named of [
      ['--set', 'fabric.L=70'],
      ['--config', 'dtca-paper'],
    ]) {
      const asRun = named[0] === '--config' ? [named[1]] : named;
      for (const args of [
        ['run', ...asRun, '--model', L32, '--images', '1', '--sweeps', '1', '--out', join(dir, 'grid-never')],
        ['eval', L32, ...named, '--images', '10', '--sweeps', '1'],
        ['model', 'tune', L32, ...named, '--out', join(dir, 'grid-never.mp'), '--images', '2'],
      ]) {
        const x = dtca(args);
        expect(x.code, args.join(' ')).toBe(2);
        const last = x.stderr.trim().split('\n').at(-1)!;
        expect(last.startsWith('dtca: ') && last.endsWith(line), `${args.join(' ')}: ${last}`).toBe(true);
      }
    }
    expect(existsSync(join(dir, 'grid-never'))).toBe(false);
    expect(existsSync(join(dir, 'grid-never.mp'))).toBe(false);
  });
});
