// dtca eval end to end: dtca run writes samples.npy / labels.npy, dtca eval scores a run directory
// and a model file (JSON keys), a marginals-only model scores no better than the factorised
// yardstick, and bad input gives exit 2 with one line.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dtca } from './helpers/cli.js';
import { readNpyU8, readRunSamples } from '../sim/quality/samples.js';
import { readImageSet, DEFAULT_DATA_DIR, PIXELS } from '../sim/fmnist.js';
import { pixelMeans } from '../sim/quality/metrics.js';
import { UserError } from '../fabric/errors.js';

const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 't10k-images-idx3-ubyte.gz'));
const GRID = ['--set', 'fabric.L=44', '--set', 'fabric.rules="G8"'];
const KEYS = ['fd', 'clamped_accuracy', 'marginal_error', 'diversity', 'autocorrelation'];

let dir: string;
let model: string;
let runDir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-eval-'));
  // a one-stage DTM with no couplings whose image-cell biases give each pixel its overall marginal
  // (from the fixture): independent pixels, no class information
  const raw = join(dir, 'zero.json');
  const r = dtca(['model', 'new', '--stages', '1', '--L', '44', '--rules', 'G8', '--visible', 'fmnist', '--weights', 'zero', '--seed', '3', '--out', raw]);
  expect(r.code).toBe(0);
  const m = JSON.parse(readFileSync(raw, 'utf8'));
  const train = readImageSet(fileURLToPath(new URL('./fixtures/fmnist-train-400.bin.gz', import.meta.url)));
  const p = pixelMeans(train.images, train.n);
  m.dtm.image.forEach((cell: number, k: number) => {
    const q = Math.min(0.999, Math.max(0.001, p[k]));
    m.stages[0].bias[cell] = 0.5 * Math.log(q / (1 - q)); // P(+1) = sigma(2 b)
  });
  model = join(dir, 'marginals.json');
  writeFileSync(model, JSON.stringify(m));
  runDir = join(dir, 'run');
  const run = dtca(['run', '--model', model, '--ideal', ...GRID, '--images', '30', '--sweeps', '2', '--labels', '0,1,2,3,4,5,6,7,8,9', '--out', runDir]);
  expect(run.code).toBe(0);
});

describe('dtca run writes machine-readable samples', () => {
  it('samples.npy (images x visible, 0/1), labels.npy and the manifest entry', () => {
    const s = readNpyU8(join(runDir, 'samples.npy'));
    expect(s.shape).toEqual([30, 884]);
    expect(s.data.every((v) => v === 0 || v === 1)).toBe(true);
    // label cells are clamped: image i has exactly the 10 copies of class i % 10 on
    for (let i = 0; i < 30; i++) {
      for (let k = 0; k < 100; k++) expect(s.data[i * 884 + PIXELS + k]).toBe(Math.floor(k / 10) === i % 10 ? 1 : 0);
    }
    const l = readNpyU8(join(runDir, 'labels.npy'));
    expect(l.shape).toEqual([30]);
    expect(Array.from(l.data.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    const man = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8'));
    expect(man.samples).toMatchObject({
      file: 'samples.npy',
      labels_file: 'labels.npy',
      images: 30,
      visible: 884,
      image_cells: 784,
      image_shape: [28, 28],
      label_copies: 10,
      classes: 10,
    });
    const back = readRunSamples(runDir, 10);
    expect(back.n).toBe(10);
    expect(back.total).toBe(30);
    expect(back.autocorrelation).toBeNull();
  });

  it('with --labels none there is no labels.npy (without --labels a Fashion-MNIST model clamps every class in turn: dtm-cli.test.ts)', () => {
    const out = join(dir, 'run-unlabelled');
    expect(dtca(['run', '--model', model, '--ideal', ...GRID, '--images', '3', '--sweeps', '1', '--labels', 'none', '--out', out]).code).toBe(0);
    expect(existsSync(join(out, 'samples.npy'))).toBe(true);
    expect(existsSync(join(out, 'labels.npy'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).samples.labels_file).toBeNull();
  });
});

describe.skipIf(!HAVE_DATA)('dtca eval (needs the dataset; CI installs dataset-fashion-mnist)', () => {
  it('a run directory: --json has the metrics and both yardsticks with the same keys', () => {
    const r = dtca(['eval', runDir, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of KEYS) expect(j).toHaveProperty(k);
    for (const b of ['floor', 'factorised']) for (const k of KEYS) expect(j.baselines[b]).toHaveProperty(k);
    expect(j.n).toBe(30);
    // without --images the run directory is scored whole: no warning about a flag not given
    expect(r.stderr).not.toMatch(/--images/);
    expect(j.labels).toBe('clamped');
    expect(j.autocorrelation).toBeNull();
    expect(j.note).toMatch(/biased/);
    expect(j.fd_can_rank).toBe(false); // N = 30
    expect(j.small_n_note).toMatch(/^N = 30 is too few images for FD to rank anything/);
    // real held-out images are recognised; the floor's diversity is close to the reference's
    expect(j.baselines.floor.clamped_accuracy).toBeGreaterThan(0.5);
    expect(j.fd).toBeGreaterThanOrEqual(0);
    // the FD's standard error: 50 bootstrap resamples within each class (3 images of each here)
    expect(j.fd_se_resamples).toBe(50);
    expect(j.fd_se).toBeGreaterThan(0);
    expect(j.fd_se).toBeLessThan(j.fd);
  });

  it('--bootstrap 0 leaves the standard error out; the table shows it as ± and says what it is', () => {
    const none = JSON.parse(dtca(['eval', runDir, '--json', '--bootstrap', '0']).stdout);
    expect([none.fd_se, none.fd_se_resamples]).toEqual([null, 0]);
    const t = dtca(['eval', runDir, '--bootstrap', '20']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^FD \(cannot rank at this N\)\s+\d+\.\d{3} ± \d+\.\d{3}\s/m);
    expect(t.stdout).toMatch(/± is the samples' FD's standard error \(20 bootstrap resamples of the 30 images within each class, the reference fixed\)/);
    expect(dtca(['eval', runDir, '--bootstrap', '0']).stdout).not.toMatch(/±/);
  });

  it('the table says N and that FD is biased at small N', () => {
    const more = dtca(['eval', runDir, '--images', '40', '--json']);
    expect(more.code).toBe(0);
    expect(more.stderr).toMatch(/the run directory holds 30 images, fewer than --images 40; scoring all of them/);
    const r = dtca(['eval', runDir, '--images', '20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/N = 20: FD is biased upward at small N/);
    // issue 19 item 7: below MIN_FD_RANK_N the report says plainly that FD cannot rank anything
    expect(r.stdout).toMatch(/^FD \(cannot rank at this N\)/m);
    expect(r.stdout).toMatch(
      /WARNING: N = 20 is too few images for FD to rank anything: real images score \d+\.\d against real images here \(the floor\).*not better than real; score at least 200 images/,
    );
    // real images are FD's floor but clamped accuracy's ceiling: the column says what it is, the line which way each reads
    expect(r.stdout).toMatch(/^metric\s+samples\s+real images\s+factorised$/m);
    expect(r.stdout).toContain('real images: held-out training images (the floor of FD and marginal error, the ceiling of clamped accuracy)');
  });

  it('a model that only reproduces pixel marginals scores no better than factorised on FD', () => {
    const r = dtca(['eval', model, '--ideal', '--images', '200', '--sweeps', '2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.n).toBe(200);
    expect(j.fd_can_rank).toBe(true);
    expect(j.small_n_note).toBeNull();
    expect(j.source.chip).toBe('exact');
    expect(j.autocorrelation).toHaveLength(1); // one stage: the model has no couplings, its chains decorrelate at once
    // 32 replica pairs x 1936 cells: the estimator's standard error is below 2 / sqrt(M) / (mean conditional
    // variance) ~ 0.008 / 0.4; 0.1 is about five of them
    expect(Math.abs(j.autocorrelation[0])).toBeLessThan(0.1);
    expect(j.fd).toBeGreaterThanOrEqual(j.baselines.factorised.fd);
    expect(j.baselines.factorised.fd).toBeGreaterThan(j.baselines.floor.fd);
    // its pixels carry no class: the classifier's agreement with the clamped class is near chance
    // (0.1, give or take 4.75 standard errors at N = 200), far below the floor's
    expect(j.clamped_accuracy).toBeLessThan(0.1 + 4.75 * Math.sqrt((0.1 * 0.9) / 200));
    expect(j.clamped_accuracy).toBeLessThan(j.baselines.floor.clamped_accuracy);
  });
});

describe('dtca eval: bad input is exit 2 and one line', () => {
  const one = (args: string[], re: RegExp) => {
    const r = dtca(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
  };
  it('no target, a missing target, too few images, a run directory without samples', () => {
    one(['eval'], /name what to evaluate/);
    one(['eval', '/nonexistent/run'], /no such run directory or model file/);
    one(['eval', runDir, '--images', '1'], /--images 1: must be an integer >= 2/);
    one(['eval', runDir, '--bootstrap', '1'], /--bootstrap 1: must be 0 \(no standard error\) or an integer in 2\.\.10000/);
    const empty = join(dir, 'empty-run');
    mkdirSync(empty, { recursive: true });
    if (HAVE_DATA) one(['eval', empty], /no samples\.npy/);
  });
  it('model-only options on a run directory, and --epochs without --train-classifier', () => {
    if (HAVE_DATA) one(['eval', runDir, '--sweeps', '5'], /--sweeps: used only when evaluating a model file/);
    one(['eval', runDir, '--epochs', '3'], /--epochs\/--out: only with --train-classifier/);
    // --chip picks the chip a model generates on: a run directory's samples are already generated
    if (HAVE_DATA) one(['eval', runDir, '--chip', 'ideal'], /--chip: used only when evaluating a model file/);
  });
  it('--ideal beside --chip: two chips named, one refused before anything runs', () => {
    for (const chip of ['cycle', 'ideal'])
      one(['eval', model, '--ideal', '--chip', chip, '--images', '10'], new RegExp(`^dtca: --ideal --chip ${chip}: two chips;`));
  });
});

describe('a damaged run directory is one line naming the file and field', () => {
  it('a manifest that is null or has wrong counts, a .npy header longer than the file', () => {
    let k = 0;
    const damaged = (edit: (d: string) => void) => {
      const d = join(dir, `damaged-${k++}`);
      cpSync(runDir, d, { recursive: true });
      edit(d);
      return d;
    };
    const manifest = (change: (m: { samples: Record<string, unknown> }) => void) => (d: string) => {
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
      change(m);
      writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    };
    const stats = (change: (st: { stages: Record<string, unknown>[] }) => void) => (d: string) => {
      const st = JSON.parse(readFileSync(join(d, 'stats.json'), 'utf8'));
      change(st);
      writeFileSync(join(d, 'stats.json'), JSON.stringify(st));
    };
    const cases: [(d: string) => void, RegExp][] = [
      [(d) => writeFileSync(join(d, 'manifest.json'), 'null'), /manifest\.json: not a run manifest/],
      [manifest((m) => ((m as { samples: unknown }).samples = 'x')), /manifest\.json: samples: expected an object, got a string$/],
      [manifest((m) => (m.samples.images = 1e9)), /samples\.npy: shape \(30, \d+\), the manifest says \(1000000000, \d+\)$/],
      [manifest((m) => (m.samples.visible = 'x')), /manifest\.json: samples\.visible = x: expected an integer/],
      [manifest((m) => (m.samples.classes = 1e9)), /manifest\.json: samples\.classes = 1000000000: expected an integer in 1\.\.256$/],
      [
        manifest((m) => (m.samples.labels_file = '../../x.npy')),
        /manifest\.json: samples\.labels_file = \.\.\/\.\.\/x\.npy: expected a file name in the run directory$/,
      ],
      [
        (d) => {
          const b = readFileSync(join(d, 'samples.npy'));
          b.writeUInt16LE(0xffff, 8);
          writeFileSync(join(d, 'samples.npy'), b);
        },
        /samples\.npy: its header claims 65535 bytes, more than the file holds/,
      ],
      // stats.json's per-stage autocorrelation: a stage of 2^32 - 2 made an array that long (eval hung),
      // a valid JSON object of the wrong shape was called "not valid JSON"
      [
        stats((st) => Object.assign(st.stages[0], { stage: 2 ** 32 - 2, autocorrelation: 0.5 })),
        /stats\.json: stages\[0\]\.stage = 4294967294: expected an integer in 0\.\.0$/,
      ],
      [stats((st) => ((st as { stages: unknown }).stages = { a: 1 })), /stats\.json: stages: expected a list, got an object$/],
      [stats((st) => ((st as { stages: unknown }).stages = [null])), /stats\.json: stages\[0\]: expected an object, got null$/],
      [(d) => writeFileSync(join(d, 'stats.json'), '[1,'), /stats\.json: not valid JSON \(/],
    ];
    for (const [edit, re] of cases) {
      const d = damaged(edit);
      let err: unknown;
      try {
        readRunSamples(d, 10);
      } catch (e) {
        err = e;
      }
      expect(err, d).toBeInstanceOf(UserError);
      expect((err as Error).message, d).toMatch(re);
    }
  });
});
