// A new user's mistakes with the short commands (trace export, model, probe, compare, rng, area,
// energy-table, config, data): each is exit 2 with one line naming what and where, checked before
// any output is written.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca, ROOT } from './helpers/cli.js';
import { makePackr, makeUnpackr, encodeRecord } from '../traces/pack.js';
import { COMMANDS, SUBCOMMANDS } from '../cli/argv.js';
import { DEFAULT_DATA_DIR } from '../sim/fmnist.js';

let dir: string;
let trace: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-audit-'));
  const r = dtca(['run', '--images', '1', '--sweeps', '2', '--trace', '--out', join(dir, 'run')]);
  expect(r.code, r.stderr).toBe(0);
  trace = join(dir, 'run', 'trace.dtct');
});

/** Exit 2, one line on stderr, no stack trace. */
function refused(r: { code: number | null; stderr: string }, msg: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(msg);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('trace export: every output checked before the first is written', () => {
  it('--csv and --vcd naming one file are refused up front (the VCD was written, then the CSV refused, exit 2)', () => {
    const out = join(dir, 'same.csv');
    refused(dtca(['trace', 'export', trace, '--csv', out, '--vcd', out]), /--csv .*same\.csv and --vcd .*same\.csv name the same file/);
    expect(existsSync(out)).toBe(false);
  });

  it('a --csv that cannot be replaced is refused before the VCD is written', () => {
    const vcd = join(dir, 'first.vcd');
    const stats = join(dir, 'run', 'stats.json');
    refused(dtca(['trace', 'export', trace, '--vcd', vcd, '--csv', stats]), /--csv .*stats\.json: .* is not a CSV export written by dtca/);
    expect(existsSync(vcd)).toBe(false);
  });

  it('an --npy directory that cannot take the export is refused before the VCD is written', () => {
    const vcd = join(dir, 'second.vcd');
    refused(dtca(['trace', 'export', trace, '--vcd', vcd, '--npy', join(dir, 'run')]), /--npy .*run: not empty/);
    expect(existsSync(vcd)).toBe(false);
  });

  it('a VCD inside the --npy directory is refused (it made the directory not an export)', () => {
    const npy = join(dir, 'npy-empty');
    mkdirSync(npy);
    refused(dtca(['trace', 'export', trace, '--npy', npy, '--vcd', join(npy, 'w.vcd')]), /--vcd .*w\.vcd: inside the --npy directory/);
    expect(readdirSync(npy)).toEqual([]);
  });

  it('--no-clock without --vcd is refused as --cells, --stages, --chains and --max-mb are', () => {
    const csv = join(dir, 'nc.csv');
    refused(dtca(['trace', 'export', trace, '--csv', csv, '--no-clock']), /^dtca: trace export: --no-clock applies to --vcd only$/);
    expect(existsSync(csv)).toBe(false);
  });
});

describe('a required argument left out is named', () => {
  it('the command and the argument, with its description (was "missing an argument (try --help)")', () => {
    refused(dtca(['trace', 'inspect']), /^dtca: trace inspect: missing <file> \(trace file\); try --help$/);
    refused(dtca(['model', 'info']), /^dtca: model info: missing <file> \(model file\); try --help$/);
    refused(dtca(['config', 'validate']), /^dtca: config validate: missing <file> \(config file or preset name\); try --help$/);
    refused(dtca(['compare']), /^dtca: compare: missing <dirs\.\.> /);
  });
});

describe('flags and paths named as they are', () => {
  it('an unknown flag is not answered with an internal option (bench --foo: "did you mean --row?")', () => {
    const r = dtca(['bench', '--foo']);
    refused(r, /^dtca: unknown argument foo \(try --help\)$/);
    expect(r.stderr).not.toMatch(/--row/);
    refused(dtca(['bench', '--quik']), /did you mean --quick\?/);
  });

  it('compare: a directory that does not exist is "no such directory", not "not a directory"', () => {
    refused(dtca(['compare', join(dir, 'run'), join(dir, 'nowhere')]), /nowhere: no such directory \(give dtca run directories/);
  });

  it('compare: a sweep\'s own directory points to its points (was "no stats.json (not a run or sweep point directory)")', () => {
    const sweep = join(dir, 'a-sweep');
    mkdirSync(join(sweep, 'points'), { recursive: true });
    writeFileSync(join(sweep, 'plan.json'), '{}');
    refused(
      dtca(['compare', join(dir, 'run'), sweep]),
      /^dtca: .*a-sweep: a sweep directory, not a run; compare its points \(.*a-sweep\/points\/\*\), or open .*a-sweep\/index\.html for the whole sweep$/,
    );
  });
});

/** A decoded trace record, as the test changes it. */
interface Rec {
  type: string;
  time_s: number;
  energy_j: Record<string, number>;
  [k: string]: unknown;
}

describe('a trace record that passes its CRC with an impossible energy or time is damage, in both readers', () => {
  /** The run's trace with one record changed, each record framed again with its CRC. */
  function mutated(name: string, change: (recs: Rec[]) => void): string {
    const recs: Rec[] = [];
    makeUnpackr().unpackMultiple(readFileSync(trace), (v: unknown) => {
      recs.push(v as Rec);
    });
    change(recs);
    const packr = makePackr();
    const out = join(dir, `${name}.dtct`);
    writeFileSync(out, Buffer.concat(recs.map(({ crc32: _crc, ...rest }) => encodeRecord(packr, rest))));
    return out;
  }
  const sweep = (recs: Rec[]) => recs.find((r) => r.type === 'sweep')!;

  it('a negative energy, a total that is not its components\' sum, a negative time (were inspected "complete" and exported)', () => {
    const cases: [string, (recs: Rec[]) => void, RegExp][] = [
      ['neg-energy', (r) => (sweep(r).energy_j.rng = -1e-12), /energy_j: rng is -1e-12, below 0/],
      ['big-total', (r) => (sweep(r).energy_j.total = 1e300), /energy_j: total 1e\+300 is not the sum of its components/],
      ['end-total', (r) => (r[r.length - 1].energy_j.total = 123), /energy_j: total 123 is not the sum of its components/],
      ['neg-time', (r) => (sweep(r).time_s = -1), /sweep record: time_s is -1, expected a number >= 0/],
    ];
    const files: string[] = [];
    for (const [name, change, msg] of cases) {
      const f = mutated(name, change);
      files.push(f);
      const r = dtca(['trace', 'inspect', f]);
      expect(r.code, name).toBe(2);
      expect(r.stdout).toMatch(/status\s+damaged/);
      refused(r, msg);
      const csv = join(dir, `${name}.csv`);
      refused(dtca(['trace', 'export', f, '--csv', csv]), msg);
      expect(existsSync(csv)).toBe(false);
    }
    // the Python package says the same (docs/formats.md: both readers report the same status)
    const py = spawnSync('/usr/bin/python3', [join(ROOT, 'test/helpers/py_trace_status.py'), ...files, trace], { encoding: 'utf8' });
    const verdicts = py.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; detail: string });
    expect(verdicts.map((v) => v.status)).toEqual(['damaged', 'damaged', 'damaged', 'damaged', 'complete']);
    cases.forEach(([, , msg], i) => expect(verdicts[i].detail).toMatch(msg));
  });
});

describe('energy-table --csv FILE', () => {
  it('says --csv takes no file name (was: config "out.csv": no such file, and no preset of that name)', () => {
    refused(dtca(['energy-table', '--csv', join(dir, 'table.csv')]), /--csv .*table\.csv: --csv takes no file name; it prints the CSV on standard output/);
    expect(existsSync(join(dir, 'table.csv'))).toBe(false);
  });
});

describe('probe: the --vcd path is checked before the simulation', () => {
  it('a directory, a missing directory or a file that is not a VCD is refused naming --vcd (was found after the run, named by its path alone)', () => {
    const d = join(dir, 'a-dir');
    mkdirSync(d, { recursive: true });
    refused(
      dtca(['probe', '--cells', '0', '--sweeps', '2', '--vcd', d]),
      /^dtca: --vcd .*a-dir: .* is a directory; name a file in it, e\.g\. .*a-dir\/waves\.vcd$/,
    );
    // the trace a run writes: the file it likely meant inside the directory (was only "dtca writes only regular files")
    refused(
      dtca(['run', '--ideal', '--trace', d, '--out', join(dir, 'never')]),
      /^dtca: --trace: .*a-dir is a directory; name a file in it, e\.g\. .*a-dir\/trace\.dtct$/,
    );
    expect(existsSync(join(dir, 'never'))).toBe(false);
    refused(
      dtca(['probe', '--cells', '0', '--sweeps', '2', '--vcd', join(dir, 'no', 'x.vcd')]),
      /^dtca: --vcd .*x\.vcd: directory .* does not exist; create it first$/,
    );
    refused(
      dtca(['probe', '--cells', '0', '--sweeps', '2', '--vcd', join(dir, 'run', 'stats.json')]),
      /^dtca: --vcd .*stats\.json: .* exists and is not a VCD file written by dtca/,
    );
  });
});

describe('data --data naming a file', () => {
  it('says it is not a directory (was "/dev/zero has no train-images-idx3-ubyte.gz")', () => {
    refused(dtca(['data', '--data', '/dev/zero']), /^dtca: Fashion-MNIST not found: \/dev\/zero is not a directory; /);
    refused(dtca(['data', '--data', join(dir, 'run', 'stats.json')]), /stats\.json is not a directory; /);
  });
});

describe('--out - where the output is a directory or two files', () => {
  it('is refused, not written as a file or directory named "-" in the working directory', () => {
    const cwd = join(dir, 'cwd');
    mkdirSync(cwd, { recursive: true });
    refused(
      dtca(['model', 'tune', join(ROOT, 'configs/models/fmnist-t8.mp'), '--out', '-'], { cwd }),
      /^dtca: --out -: model tune writes a model file and its FILE\.manifest\.json/,
    );
    refused(dtca(['rng', '--out', '-', '--cells', '2'], { cwd }), /^dtca: --out -: this command writes a directory of files, not standard output/);
    refused(dtca(['compare', join(dir, 'run'), '--out', '-'], { cwd }), /^dtca: --out -: this command writes a directory of files/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('an output where none can go says what to do about it', () => {
  it('train --out in a missing directory: create it first (the line named the directory alone)', () => {
    const out = join(dir, 'no-models', 'm.mp');
    refused(dtca(['train', '--out', out, '--epochs', '1']), /^dtca: --out .*m\.mp: directory .*no-models does not exist; create it first$/);
    expect(existsSync(join(dir, 'no-models'))).toBe(false);
  });

  it('sweep --out a used directory that is no sweep: choose another --out (the line said only what was wrong)', () => {
    refused(
      dtca(['sweep', '--grid', '12', '--images', '1', '--out', join(dir, 'run')]),
      /^dtca: --out .*run: exists and is not empty \(and holds no sweep\); choose another --out, a new or empty directory$/,
    );
    refused(
      dtca(['sweep', '--grid', '12', '--images', '1', '--out', join(dir, 'run', 'stats.json')]),
      /^dtca: --out .*stats\.json: exists and is not a directory; choose another --out$/,
    );
    expect(existsSync(join(dir, 'run', 'points'))).toBe(false);
  });

  it('run, rng and compare --out a file: choose another --out (the line said only what was wrong)', () => {
    const file = join(dir, 'run', 'stats.json');
    for (const args of [
      ['run', '--images', '1', '--sweeps', '1'],
      ['rng', '--cells', '2'],
      ['compare', join(dir, 'run')],
    ])
      refused(dtca([...args, '--out', file]), /^dtca: --out .*stats\.json: exists and is not a directory; choose another --out$/);
  });
});

describe('a command dtca does not know', () => {
  it('names the word typed and the command it is not one of, and a near command only (dtca foo was "Did you mean run?")', () => {
    refused(dtca(['runn']), /^dtca: runn: not a command of dtca; did you mean run\? \(try dtca --help\)$/);
    refused(dtca(['foo', 'bar']), /^dtca: foo: not a command of dtca; its commands: run, train, eval, .*, bench \(try dtca --help\)$/);
    refused(dtca(['model', 'nwe']), /^dtca: nwe: not a command of dtca model; did you mean new\? \(try dtca model --help\)$/);
    refused(dtca(['model', 'xyz']), /^dtca: xyz: not a command of dtca model; its commands: new, info, tune \(try dtca model --help\)$/);
    refused(dtca(['sweep', 'colect', dir]), /^dtca: colect: not a command of dtca sweep; did you mean collect\? \(try dtca sweep --help\)$/);
  });

  it("the lists it names are dtca's own commands, as --help lists them", () => {
    const listed = (args: string[], prefix: string) =>
      [...dtca([...args, '--help']).stdout.matchAll(new RegExp(`^  ${prefix} ([a-z-]+)`, 'gm'))].map((m) => m[1]).sort();
    expect(listed([], 'dtca')).toEqual([...COMMANDS].sort());
    for (const [cmd, subs] of Object.entries(SUBCOMMANDS)) expect(listed([cmd], `dtca ${cmd}`), cmd).toEqual([...subs].sort());
  });
});

describe('dtca eval on a directory that holds no images to score', () => {
  it.runIf(existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz')))(
    'a Boltzmann-machine run, a sweep: says which, not "written by another version of dtca run"',
    () => {
      const bm = join(dir, 'bm-run');
      expect(dtca(['run', '--workload', 'bm', '--sweeps', '2', '--out', bm]).code).toBe(0);
      refused(
        dtca(['eval', bm]),
        /^dtca: .*bm-run: a Boltzmann-machine run \(--workload bm, .*\): it generates no images to score; dtca eval scores a DTM generation run/,
      );
      const sweep = join(dir, 'eval-sweep');
      mkdirSync(join(sweep, 'points'), { recursive: true });
      writeFileSync(join(sweep, 'plan.json'), '{}');
      refused(dtca(['eval', sweep]), /^dtca: .*eval-sweep: a sweep directory, not a run; dtca eval scores one of its points \(.*eval-sweep\/points\/<id>\)/);
    },
  );
});
