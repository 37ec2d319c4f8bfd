// The Python package (traces/: pyproject.toml, dtca_trace): it installs into a fresh virtual
// environment with pip and no package index (Debian's python3-venv and python3-setuptools, numpy
// and msgpack from the system), and from that install a model written in Python runs on the chip
// and its trace reads back — with the model's biases visible in the sampled spins. Also: models
// dtca writes read in Python, the writer refuses what dtca would refuse, to_records, and the
// examples end quietly under `| head`.
import { describe, it, expect, beforeAll } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, ROOT, CLI } from './helpers/cli.js';

const SYS_PY = '/usr/bin/python3';
const ready = spawnSync(SYS_PY, ['-c', 'import venv, ensurepip, setuptools, wheel, msgpack, numpy'], { encoding: 'utf8' });
const haveTools = ready.status === 0;
const pyIt = haveTools || process.env.CI ? it : it.skip;
if (!haveTools && !process.env.CI) {
  console.warn(
    `python package tests skipped: ${SYS_PY} lacks venv/setuptools/wheel/msgpack/numpy (apt-get install python3-venv python3-setuptools python3-wheel python3-msgpack python3-numpy)`,
  );
}

let work = '';
let venvPy = '';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? work,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', DTCA_LOG: 'warn', ...opts.env },
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Python of the fresh venv, run outside the checkout (so only the installed package is importable). */
function vpy(code: string, ...args: string[]) {
  return run(venvPy, ['-c', code, ...args]);
}

describe('Python package dtca_trace', () => {
  beforeAll(() => {
    if (!haveTools) {
      if (process.env.CI)
        throw new Error(
          `${SYS_PY} cannot set up the package test (install python3-venv python3-setuptools python3-wheel python3-msgpack python3-numpy): ${ready.stderr}`,
        );
      return;
    }
    work = mkdtempSync(join(tmpdir(), 'dtca-pypkg-'));
    // the package directory as a user has it (copied, so the in-tree build files stay out of the checkout)
    const pkg = join(work, 'traces');
    cpSync(join(ROOT, 'traces', 'pyproject.toml'), join(pkg, 'pyproject.toml'));
    cpSync(join(ROOT, 'traces', 'README.md'), join(pkg, 'README.md'));
    cpSync(join(ROOT, 'traces', 'dtca_trace'), join(pkg, 'dtca_trace'), { recursive: true, filter: (s) => !s.includes('__pycache__') });
    // the offline install exactly as docs/formats.md writes it: Debian's interpreter named, since
    // another python3 first on PATH (pyenv) makes a venv without wheel (pip: invalid command 'bdist_wheel')
    const doc = readFileSync(join(ROOT, 'docs', 'formats.md'), 'utf8');
    const line = /^(\/usr\/bin\/python3) -m venv --system-site-packages venv && venv\/bin\/pip install --no-index --no-build-isolation \.\/traces$/m.exec(doc);
    expect(line, 'docs/formats.md gives the offline install with /usr/bin/python3').not.toBeNull();
    expect(line![1]).toBe(SYS_PY);
    const v = run(SYS_PY, ['-m', 'venv', '--system-site-packages', join(work, 'venv')]);
    expect(v.code, v.stderr).toBe(0);
    venvPy = join(work, 'venv', 'bin', 'python');
    const pip = run(join(work, 'venv', 'bin', 'pip'), ['install', '--no-index', '--no-build-isolation', '--disable-pip-version-check', './traces']);
    expect(pip.code, pip.stdout + pip.stderr).toBe(0);
    expect(pip.stdout).toMatch(/Successfully installed dtca-trace-0\.1\.0/);
  }, 180_000);

  pyIt('installs into a fresh venv without an index; the installed module and command are used', () => {
    const r = vpy('import dtca_trace, sys; print(dtca_trace.__file__); print(dtca_trace.__version__); print(dtca_trace.model.FORMAT)');
    expect(r.stderr).toBe('');
    const [file, version, fmt] = r.stdout.trim().split('\n');
    expect(file.startsWith(join(work, 'venv'))).toBe(true);
    expect(version).toBe('0.1.0');
    expect(fmt).toBe('dtca-model');
    expect(existsSync(join(work, 'venv', 'bin', 'dtca-trace'))).toBe(true);
  });

  pyIt('round trip: Python writes a DTM model, dtca runs it with --trace, Python reads the trace', () => {
    const L = 12;
    // cells (x=1, y=5) and (x=6, y=2) held up, (x=5, y=1) and (x=2, y=6) held down by their biases
    // (transposed positions, so a swapped x/y would show); image cells on colour 0 elsewhere
    const write = vpy(
      `
import sys, numpy as np
from dtca_trace import model
L = ${L}
i, j = model.grid_edges(L, "G8", "open")
rng = np.random.default_rng(5)
up, down = [5 * L + 1, 2 * L + 6], [1 * L + 5, 6 * L + 2]
stages = []
for k in range(3):
    b = rng.uniform(-0.1, 0.1, L * L)
    b[up] = 3.0
    b[down] = -3.0
    stages.append({"bias": b, "edges": (i, j, rng.uniform(-0.05, 0.05, i.size))})
image = [c for c in range(L * L) if (c % L + c // L) % 2 == 0 and c not in up + down][:20]
model.write(sys.argv[1], grid={"L": L, "rules": "G8", "boundary": "open"}, beta=1.0, stages=stages,
            dtm={"image": image, "lambda_image": 0.9, "lambda_label": 0.2})
m = model.read(sys.argv[1])
print(len(m["stages"]), m["stages"][0]["edges"]["i"].size, m["dtm"]["image"].tolist() == image, m["dtm"]["time_grid"][-1])
`,
      join(work, 'rt.model'),
    );
    expect(write.stderr).toBe('');
    expect(write.stdout.trim()).toBe('3 440 True None'); // 2*12*11 + 2*8*11 wires
    const info = dtca(['model', 'info', join(work, 'rt.model'), '--json']);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).stages.length).toBe(3);
    const out = join(work, 'rt-run');
    const r = dtca([
      'run',
      '--set',
      `fabric.L=${L}`,
      '--set',
      'fabric.rules=G8',
      '--model',
      join(work, 'rt.model'),
      '--images',
      '2',
      '--sweeps',
      '40',
      '--trace',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.T).toBe(3);
    const read = vpy(
      `
import sys, json, numpy as np, dtca_trace
h, t = dtca_trace.load(sys.argv[1])
L = h["layout"]["L"]
cols = dtca_trace.column_of(h, [5 * L + 1, 2 * L + 6, 1 * L + 5, 6 * L + 2])
s = t.states[:, cols].astype(float)
rows = dtca_trace.to_records(t)
print(json.dumps({"records": len(t), "T": h["model"]["T"], "image": h["layout"]["image"].tolist(),
  "up": s[:, :2].mean(), "down": s[:, 2:].mean(), "fields": list(rows.dtype.names),
  "energy": float(rows.energy_total_j.sum()), "end": t.end["energy_j"]["total"],
  "stages": sorted(set(rows.stage.tolist()))}))
`,
      join(out, 'trace.dtct'),
    );
    expect(read.stderr).toBe('');
    const o = JSON.parse(read.stdout);
    expect(o.records).toBe(2 * 3 * 40);
    expect(o.T).toBe(3);
    expect(o.stages).toEqual([0, 1, 2]);
    expect(o.image.length).toBe(20);
    // P(+1) >= sigma(2 (3 - 8 * 0.05)) = 0.9945 for a held-up cell: over 240 records x 2 cells the
    // mean is >= 0.99 but for a 1-in-a-million tail; a sign or index error gives <= 0.01
    expect(o.up).toBeGreaterThan(0.97);
    expect(o.down).toBeLessThan(0.03);
    expect(o.fields.slice(0, 7)).toEqual(['chain', 'stage', 'sweep', 'cycle', 'time_s', 'toggles', 'energy_total_j']);
    expect(o.fields).toContain('energy_rng_j');
    // the sweep records hold each sweep's energy; programming, init and readout are in the stage records
    expect(o.energy).toBeLessThan(o.end);
    expect(o.end).toBe(stats.energy_j.total);
  });

  pyIt('reads the models dtca writes (msgpack and JSON); refuses what dtca would refuse', () => {
    for (const name of ['new.model', 'new.json']) {
      const w = dtca(['model', 'new', '--stages', '2', '--L', '10', '--rules', 'G8', '--visible', '6', '--weights', 'random:0.2', '--out', join(work, name)]);
      expect(w.code, w.stderr).toBe(0);
      const info = JSON.parse(dtca(['model', 'info', join(work, name), '--json']).stdout);
      const r = vpy(
        `
import sys, json
from dtca_trace import model
m = model.read(sys.argv[1])
st = m["stages"][0]
print(json.dumps({"stages": len(m["stages"]), "edges": int(st["edges"]["i"].size), "wmax": float(abs(st["edges"]["w"]).max()),
  "L": m["grid"]["L"], "image": m["dtm"]["image"].tolist(), "T": m["dtm"]["T"]}))
`,
        join(work, name),
      );
      expect(r.stderr).toBe('');
      const o = JSON.parse(r.stdout);
      expect(o.stages).toBe(2);
      expect(o.L).toBe(10);
      expect(o.edges).toBe(info.stages[0].edges);
      expect(o.wmax).toBe(info.stages[0].weight_max_abs);
      expect(o.image.length).toBe(6);
    }
    // the checksum a msgpack model ends with (sim/model.ts): Python checks dtca's, dtca checks Python's
    const sums = vpy(
      `
import sys, numpy as np
from dtca_trace import model
src = open(sys.argv[1], "rb").read()
bad = bytearray(src); bad[len(src) // 2] ^= 4
open(sys.argv[2], "wb").write(bytes(bad))
try:
    model.read(sys.argv[2]); print("accepted")
except model.ModelError as e:
    print(str(e).replace(sys.argv[2], "FILE"))
i, j = model.grid_edges(6, "G8", "open")
model.write(sys.argv[3], grid={"L": 6, "rules": "G8", "boundary": "open"}, stages=[{"bias": np.zeros(36), "edges": (i, j, 0.1 + 0 * i)}])
py = open(sys.argv[3], "rb").read()
print(py[-73:-64] == b"\\xa6sha256\\xd9\\x40")
bad = bytearray(py); bad[len(py) // 2] ^= 1
open(sys.argv[4], "wb").write(bytes(bad))
`,
      join(work, 'new.model'),
      join(work, 'flipped.model'),
      join(work, 'py.model'),
      join(work, 'py-flipped.model'),
    );
    expect(sums.stderr).toBe('');
    expect(sums.stdout.trim().split('\n')).toEqual(['FILE: checksum mismatch: the model changed after it was written (a damaged copy?)', 'True']);
    expect(dtca(['model', 'info', join(work, 'py.model')]).code).toBe(0);
    const flipped = dtca(['model', 'info', join(work, 'py-flipped.model')]);
    expect(flipped.code).toBe(2);
    expect(flipped.stderr.trim()).toBe(`dtca: ${join(work, 'py-flipped.model')}: checksum mismatch: the model changed after it was written (a damaged copy?)`);
    const bad = vpy(`
from dtca_trace import model
import numpy as np
def tryit(**kw):
    base = dict(grid={"L": 6, "rules": "G8", "boundary": "open"}, stages=[{"bias": np.zeros(36), "edges": [[0, 1, 0.1]]}])
    base.update(kw)
    try:
        model.write("/nonexistent-dir/never.model", **base)
        print("accepted")
    except model.ModelError as e:
        print(e)
tryit(stages=[{"bias": np.zeros(36), "edges": [[0, 2, 0.1]]}])
tryit(stages=[{"bias": np.zeros(36), "edges": [[0, 1, 0.1], [1, 0, 0.2]]}])
tryit(stages=[{"bias": np.zeros(35)}])
tryit(stages=[{"bias": np.zeros(36), "edges": [[0, 1, float("nan")]]}])
tryit(dtm={"image": [0, 2], "lambda_image": 0.9})
tryit(grid={"L": 6, "rules": [[1, 1]], "boundary": "open"})
`);
    expect(bad.stdout.trim().split('\n')).toEqual([
      "stages[0].edges[0] = (0, 2): joins (x=0, y=0) and (x=2, y=0), which no wire of the grid's rules connects",
      'stages[0].edges[1] = (1, 0): appears twice (give each undirected edge once)',
      'stages[0].bias: has 35 values, the grid has L*L = 36 cells',
      'stages[0].edges.w[0]: nan is not a finite number',
      'dtm.lambda_label: missing (the forward process rate; the paper uses 0.9 for image, 0.2 for label cells)',
      'grid.rules[0] = (1,1): a+b must be odd (two-colour Gibbs)',
    ]);
  });

  pyIt('examples end quietly when their output is cut (| head) and run from the installed package', () => {
    const out = join(work, 'ex-run');
    const r = dtca(['run', '--set', 'fabric.L=30', '--images', '1', '--sweeps', '300', '--trace', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const trace = join(out, 'trace.dtct');
    // energy.py prints a line per stage and sweep (8 x 300 lines, > 64 KiB): head closes the pipe early
    for (const [ex, args] of [
      ['energy.py', [trace]],
      ['autocorr.py', [trace]],
      ['decode_image.py', [trace]],
    ] as [string, string[]][]) {
      const cmd = `set -o pipefail; "${venvPy}" "${join(ROOT, 'traces', 'examples', ex)}" ${args.map((a) => `"${a}"`).join(' ')} | head -n 2`;
      const h = run('bash', ['-c', cmd]);
      expect(h.stderr, ex).toBe('');
      expect(h.code, ex).toBe(0);
      expect(h.stdout.trim().split('\n').length).toBe(2);
    }
    const m = run('bash', ['-c', `set -o pipefail; "${join(work, 'venv', 'bin', 'dtca-trace')}" "${trace}" | head -n 1`]);
    expect(m.stderr).toBe('');
    expect(m.stdout).toMatch(/^format\s+dtca-trace v1/);
    // write_model.py: its model runs on the chip
    const wm = run(venvPy, [join(ROOT, 'traces', 'examples', 'write_model.py'), join(work, 'ex.model'), '--L', '14', '--stages', '2']);
    expect(wm.code, wm.stderr).toBe(0);
    const cmdLine = /run it: dtca (.*) --trace$/m.exec(wm.stdout)![1].split(' ');
    const ran = run(process.execPath, [CLI, ...cmdLine, '--images', '1', '--sweeps', '2', '--out', join(work, 'ex-model-run')]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(join(work, 'ex-model-run', 'stats.json'), 'utf8')).toMatch(/"T": 2/);
    // given the trace by mistake (the other examples take one), it refuses and leaves it whole
    const before = readFileSync(trace);
    const over = run(venvPy, [join(ROOT, 'traces', 'examples', 'write_model.py'), trace]);
    expect(over.code).toBe(2);
    expect(over.stderr).toBe(`write_model: ${trace} exists and is not a model file; refusing to replace it (remove it first, or choose another name)\n`);
    expect(readFileSync(trace).equals(before)).toBe(true);
    // a model file it wrote is replaced
    expect(run(venvPy, [join(ROOT, 'traces', 'examples', 'write_model.py'), join(work, 'ex.model'), '--L', '14', '--stages', '2']).code).toBe(0);
  });
});
