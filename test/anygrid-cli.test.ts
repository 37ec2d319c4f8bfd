// A trained model for any grid, end to end (anygrid.test.ts has the in-process parts): dtca run
// picks the shipped model that fits from DTCA_MODELS and says so, or warns and runs random weights;
// dtca eval's yardsticks at a downscaled model's resolution; the Python package with a 7x7 model.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downscaleImages, atResolution } from '../sim/layout.js';
import { newDtmModel } from '../sim/dtm.js';
import { modelToObject } from '../sim/model.js';
import { readImageSet, subset, DEFAULT_DATA_DIR } from '../sim/fmnist.js';
import { makePackr } from '../traces/pack.js';
import { fakeModelsDir } from './helpers/models-dir.js';
import { evaluate, loadReferenceData } from '../sim/quality/eval.js';
import { readClassifier } from '../sim/quality/classifier.js';
import { CLASSIFIER_PATH } from '../sim/quality/train.js';
import { CLI, ROOT } from './helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fmnist-train-400.bin.gz', import.meta.url));
const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz'));

describe.skipIf(!HAVE_DATA)('dtca eval at the model resolution', () => {
  it('pooled real images score like the floor at their resolution, and worse against full-resolution references', () => {
    const data = loadReferenceData();
    const { net } = readClassifier(CLASSIFIER_PATH);
    const n = 200;
    // real images the reference does not use: the end of the test split
    const real = subset(data.test, data.test.n - n, data.test.n);
    const pooled = atResolution(real.images, n, 2);
    const o = { data, classifier: net, classifierPath: CLASSIFIER_PATH, classifierTestAccuracy: null };
    const at14 = evaluate({ images: pooled, n, labels: real.labels, downscale: 2, autocorrelation: null }, o);
    const at28 = evaluate({ images: pooled, n, labels: real.labels, autocorrelation: null }, o);
    expect(at14.resolution).toEqual({ width: 14, height: 14, downscale: 2 });
    // real pooled images are real data at 14x14: well below the factorised yardstick at that resolution
    expect(at14.fd).toBeLessThan(at14.baselines.factorised.fd / 2);
    // and closer to the (pooled) reference than to the full-resolution one
    expect(at14.fd).toBeLessThan(at28.fd);
    expect(at14.baselines.floor.fd).toBeLessThan(at14.baselines.factorised.fd);
  }, 240_000);
});

describe('dtca run and the shipped models', () => {
  const dir = fakeModelsDir();

  const run = (args: string[], env: Record<string, string | undefined>) => {
    const e: Record<string, string | undefined> = { ...process.env, DTCA_MODELS: dir, ...env };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    return spawnSync(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, encoding: 'utf8', env: e as NodeJS.ProcessEnv });
  };

  it('dtca run says which at info level and generates with it (DTCA_MODELS)', () => {
    const out = join(dir, 'run-20');
    const r = run(['--set', 'fabric.L=20', '--sweeps', '2', '--out', out], { DTCA_LOG: 'info' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"level":30,.*"msg":"shipped model b20.mp fits this fabric: generating with it"/);
    const man = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(man.model).toBe(join(dir, 'b20.mp'));
    expect(man.weights).toBe('shipped model');
    expect(man.samples.image_source).toEqual({ source: 'fmnist-28', width: 7, height: 7, downscale: 4 });
  }, 240_000);

  it('a shipped model whose manifest is a FIFO: one line, exit 2, nothing run (the read blocked for ever, SIGTERM too)', () => {
    const d = fakeModelsDir();
    copyFileSync(join(d, 'a20.mp'), join(d, 'f20.mp'));
    expect(spawnSync('mkfifo', [join(d, 'f20.manifest.json')]).status).toBe(0);
    const out = join(d, 'run-fifo');
    // a timeout of its own: the read that never returned would otherwise hold this thread
    const r = spawnSync(process.execPath, [CLI, 'run', '--set', 'fabric.L=20', '--sweeps', '2', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DTCA_MODELS: d },
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(/^dtca: .*f20\.manifest\.json: is a FIFO \(a pipe\); a model manifest must be a regular file$/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('with none that fits it warns at the default log level and runs random weights', () => {
    const out = join(dir, 'run-26');
    const r = run(['--set', 'fabric.L=26', '--sweeps', '2', '--out', out], { DTCA_LOG: undefined });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /"level":40,.*no shipped model fits this fabric \(26x26, G12\): generating with random weights; train one with dtca train --set fabric.L=26 --out MODEL.mp/,
    );
    const man = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(man.weights).toMatch(/^random weights/);
    // the random-weight default carries the image the grid holds
    expect(man.samples.image_source).toEqual({ source: 'fmnist-28', width: 14, height: 14, downscale: 2 });
  }, 240_000);
});

const SYS_PY = '/usr/bin/python3';
const havePy = spawnSync(SYS_PY, ['-c', 'import msgpack, numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!havePy && !process.env.CI)('the Python package with a downscaled model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-anygrid-py-'));
  const py = (code: string, ...args: string[]) =>
    spawnSync(SYS_PY, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'traces'))})\n${code}`, ...args], { encoding: 'utf8' });

  it('pools as dtca does, reads image_source, and decode_image.py draws a 7x7 image from a trace', () => {
    const set = subset(readImageSet(FIXTURE), 0, 30);
    const raw = join(dir, 'img.u8');
    writeFileSync(raw, set.images);
    for (const f of [2, 4]) {
      const r2 = spawnSync(SYS_PY, [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'traces'))})\nimport numpy as np\nfrom dtca_trace import model\na = np.fromfile(sys.argv[1], dtype=np.uint8)\nsys.stdout.buffer.write(model.pool(a, int(sys.argv[2])).tobytes())`,
        raw,
        String(f),
      ]);
      expect(r2.status, String(r2.stderr)).toBe(0);
      expect(Buffer.compare(r2.stdout as Buffer, Buffer.from(downscaleImages(set.images, set.n, f)))).toBe(0);
    }
    const m = newDtmModel({ T: 1, L: 20, rules: 'G12', boundary: 'open', visible: 'fmnist', weights: { random: 0.2 }, seed: 4 });
    const file = join(dir, 'm20.mp');
    writeFileSync(file, makePackr().pack(modelToObject(m, false)));
    const rd = py('from dtca_trace import model\nm = model.read(sys.argv[1])\nprint(m["dtm"]["image_source"], m["dtm"]["image_shape"])', file);
    expect(rd.status, rd.stderr).toBe(0);
    expect(rd.stdout.trim()).toBe("{'source': 'fmnist-28', 'width': 7, 'height': 7, 'downscale': 4} [7, 7]");
    const out = join(dir, 'run');
    const run = spawnSync(process.execPath, [CLI, 'run', '--set', 'fabric.L=20', '--model', file, '--images', '1', '--sweeps', '2', '--trace', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, DTCA_LOG: 'warn' },
    });
    expect(run.status, run.stderr).toBe(0);
    const dec = spawnSync(SYS_PY, [join(ROOT, 'traces', 'examples', 'decode_image.py'), join(out, 'trace.dtct')], { encoding: 'utf8' });
    expect(dec.status, dec.stderr).toBe(0);
    const lines = dec.stdout.trim().split('\n');
    expect(lines[1]).toBe('image 7x7: Fashion-MNIST 28x28 pooled by 4');
    const rows = lines.filter((l) => /^[#.]+$/.test(l));
    expect(rows.length).toBe(7);
    for (const l of rows) expect(l.length).toBe(7);
  }, 240_000);
});
