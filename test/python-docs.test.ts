// The Python examples of docs/formats.md and traces/README.md (dtca_trace: a trace read, a model
// written and read back) run as written, with /usr/bin/python3 and the package from the checkout (PYTHONPATH=traces, as
// the docs allow): only their trace file names are replaced by a trace `dtca run --trace` wrote
// here. Then the `dtca run` the docs give after it runs the model the example wrote. Also the
// package's answers to what a caller can get wrong: model.write refuses values of the wrong kind
// and what dtca would refuse (beta 0) with a ModelError naming the field (were bare ValueErrors
// and TypeErrors, or a file dtca then refused), and column_of a cell outside the grid (numpy took
// -1 as the last cell: a wrong column, silently), and pool images that are not 0/1 (greyscale
// pooled to all ones) or a downscale that does not divide 28.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, ROOT } from './helpers/cli.js';

const PY = '/usr/bin/python3';
const pyOk = spawnSync(PY, ['-c', 'import msgpack, numpy'], { encoding: 'utf8' }).status === 0;
const pyIt = pyOk || process.env.CI ? it : it.skip;

let work = '';
let trace = '';

function py(code: string) {
  const r = spawnSync(PY, ['-c', code], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(ROOT, 'traces'), PYTHONDONTWRITEBYTECODE: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("docs/formats.md's Python example", () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'dtca-pydocs-'));
    const r = dtca(['run', '--set', 'fabric.L=16', '--set', 'fabric.rules=G8', '--images', '2', '--sweeps', '3', '--trace', '--quiet'], { cwd: work });
    expect(r.code, r.stderr).toBe(0); // a warning: random weights, no shipped model fits L = 16
    const [run] = readdirSync(join(work, 'runs'));
    trace = join(work, 'runs', run, 'trace.dtct');
  });

  pyIt(
    'runs as written, and dtca runs the model it writes',
    () => {
      const md = readFileSync(join(ROOT, 'docs', 'formats.md'), 'utf8');
      const blocks = [...md.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
      expect(blocks).toHaveLength(1);
      const names = ["'runs/20260101-120000-000-9f3a-dtca-paper/trace.dtct'", "'big.dtct'"];
      for (const n of names) expect(blocks[0]).toContain(n);
      let code = blocks[0];
      for (const n of names) code = code.replaceAll(n, JSON.stringify(trace));
      const r = py(`${code}\nprint(t.status, len(rows), len(t.stage_records), m['beta'], len(m['stages']), m['dtm']['image'].size)`);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // the trace: complete, 2 images x 8 stages x (3 sweeps); 8 stage_begin and 8 stage_end records
      expect(r.stdout.trim()).toMatch(/^complete \d+ 16 1\.0 4 16$/);

      const line = /^then `dtca (run --set fabric\.L=16 --set fabric\.rules=G8 --model my\.model --trace)`/m.exec(md);
      expect(line, 'the dtca run after the example').not.toBeNull();
      const run = dtca([...line![1].split(' '), '--images', '1', '--sweeps', '2', '--quiet'], { cwd: work });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    },
    120_000,
  );

  pyIt(
    "traces/README.md's example runs as written, and dtca runs the model it writes",
    () => {
      const md = readFileSync(join(ROOT, 'traces', 'README.md'), 'utf8');
      const blocks = [...md.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
      expect(blocks).toHaveLength(1);
      const name = "'runs/20260101-120000-000-9f3a-dtca-paper/trace.dtct'";
      expect(blocks[0]).toContain(name);
      expect(blocks[0], 'no placeholder such as stages=[...]').not.toMatch(/\.\.\./);
      const r = py(blocks[0].replaceAll(name, JSON.stringify(trace)));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // 2 images x 8 stages x 3 sweeps; the grid the model was written with
      expect(r.stdout).toBe("complete 48 sweep records\n{'L': 8, 'rules': 'G8', 'boundary': 'open'}\n");
      const line = /^then `dtca (run --set fabric\.L=8 --set fabric\.rules=G8 --model m\.model)`/m.exec(md);
      expect(line, 'the dtca run after the example').not.toBeNull();
      const run = dtca([...line![1].split(' '), '--sweeps', '2', '--quiet'], { cwd: work });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    },
    120_000,
  );

  pyIt('model.write and column_of refuse what is wrong with a typed error naming it', () => {
    const r = py(`
import numpy as np, dtca_trace
from dtca_trace import model
i, j = model.grid_edges(6, 'G8', 'open')
ok = dict(grid={'L': 6, 'rules': 'G8', 'boundary': 'open'}, stages=[{'bias': np.zeros(36), 'edges': (i, j, np.zeros(i.size))}])
def tryit(**kw):
    try:
        model.write('w.mp', **{**ok, **kw})
        print('written')
    except model.ModelError as e:
        print(e)
tryit(beta=0)
tryit(beta=None)
tryit(grid={'L': 'abc', 'rules': 'G8', 'boundary': 'open'})
tryit(grid={'L': 6, 'rules': 5, 'boundary': 'open'})
tryit(grid={'L': 4, 'rules': 'G8', 'boundary': 'open'}, stages=[{'bias': np.zeros(16)}])
tryit(grid={'L': 5, 'rules': [[0, 1]], 'boundary': 'torus'}, stages=[{'bias': np.zeros(25)}])
tryit(grid={'L': 6, 'rules': [[0, 1], [1, 0]], 'boundary': 'open'})
tryit(stages=[{'bias': 'x' * 36}])
tryit(stages=[{'bias': np.zeros(36), 'edges': (i, j, ['a'] * i.size)}])
tryit(stages=[{'bias': np.zeros(36), 'clamp': 'x'}])
tryit(dtm=[1])
tryit(dtm={'image': [0, 2], 'lambda_image': 'x', 'lambda_label': 0.2})
tryit(dtm={'image': [0, 2], 'lambda_image': 0.9, 'lambda_label': 0.2, 'label_copies': 2.5})
try:
    model.grid_edges(4, 'G8', 'torsu')
except model.ModelError as e:
    print(e)
header, t = dtca_trace.load(${JSON.stringify(trace)})
for cells in ([-1], [256], [1.5]):
    try:
        print(dtca_trace.column_of(header, cells))
    except ValueError as e:
        print(e)
print(list(dtca_trace.column_of(header, [0, 255])))
import json
model.write('w.json', **ok)
m = json.load(open('w.json'))
m['grid']['L'] = 6.0  # as json.dumps writes a numpy float; dtca reads it
json.dump(m, open('w.json', 'w'))
print(model.read('w.json')['grid'])
del m['grid']['boundary']  # dtca refuses it; it was read as open
json.dump(m, open('w.json', 'w'))
try:
    model.read('w.json')
except model.ModelError as e:
    print(str(e).split(': ', 1)[1])
for images, f in ((np.zeros((2, 784)), 3), (np.full((1, 784), 255), 2)):
    try:
        model.pool(images, f)
    except ValueError as e:
        print(e)
print(model.pool(np.ones((1, 784)), 2).shape)
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'beta: must be a number in (0, 1e+06]',
      'beta: must be a number in (0, 1e+06]',
      'grid.L: must be an integer in 2..46340',
      'grid.rules: a preset name (G8, G12, G16, G16_CODE, Z1) or a list of integer [a, b] pairs, not an int',
      // files dtca refuses, which the writer wrote: a rule longer than the grid, an odd torus, a rule twice
      'grid.rules[1] = (4,1): grid L=4 is too small for this rule (needs L > 4)',
      'grid.L = 5: a torus needs an even L, or the checkerboard colouring is not consistent across the wrap',
      'grid.rules[1] = (1,0): gives offset (1,0) that grid.rules[0] already gives',
      'stages[0].bias: expected numbers, not a str',
      'stages[0].edges.w: expected numbers',
      'stages[0].clamp: expected {cell: spin} or rows [cell, spin], not a str',
      'dtm: expected a dict, not a list',
      'dtm.lambda_image: must be a number in [1e-30, 1e+30]',
      'dtm.label_copies: must be a positive integer dividing the 0 label cells',
      'grid_edges: boundary must be "open" or "torus", not \'torsu\'',
      'column_of: cell -1 is not a cell of the grid (integers 0..255)',
      'column_of: cell 256 is not a cell of the grid (integers 0..255)',
      'column_of: cell 1.5 is not a cell of the grid (integers 0..255)',
      '[0, 255]',
      "{'L': 6, 'rules': 'G8', 'boundary': 'open'}",
      'grid.boundary: missing ("open" or "torus")',
      // pool: a downscale not dividing 28 was a reshape error; greyscale 0..255 pooled to 1s silently
      'pool: downscale must be 1, 2, 4, 7, 14 or 28 (a whole number dividing 28), not 3',
      'pool: images must be binarised 28x28 images (0/1, n x 784 or n x 28 x 28), got shape [1, 784]',
      '(1, 196)',
    ]);
  });

  pyIt('traces/examples/write_model.py: a bad --rules or --L is one line and exit 2 (was a traceback)', () => {
    for (const [args, line] of [
      [['--rules', 'bogus'], "write_model: grid.rules: unknown rule preset 'bogus' (known: G8, G12, G16, G16_CODE, Z1)"],
      [['--L', '-3'], 'write_model: --L -3: this example makes grids of 2..1024'],
      [['--L', '4'], 'write_model: grid.rules[1] = (4,1): grid L=4 is too small for this rule (needs L > 4)'],
    ]) {
      const r = spawnSync(PY, [join(ROOT, 'traces', 'examples', 'write_model.py'), ...args, join(work, 'x.mp')], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: join(ROOT, 'traces'), PYTHONDONTWRITEBYTECODE: '1' },
      });
      expect([r.status, r.stderr, r.stdout]).toEqual([2, `${line}\n`, '']);
    }
  });
});
