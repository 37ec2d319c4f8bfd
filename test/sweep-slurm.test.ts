// A sweep as a Slurm array job on a real single-node Slurm (Debian's slurm-wlm and munge on
// localhost): plan, write the sbatch script, submit a 3-task array with --wait, collect, and get
// the same table as the unsharded run on this machine. Skipped (with a message) only where Slurm
// cannot run; in CI (.ci/run installs slurm-wlm and munge) it must run.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dtca, ROOT } from './helpers/cli.js';
import { readModel } from '../sim/model.js';
import { smallTrainArgs, TINY_SWEEP_BUDGET } from './helpers/train-args.js';

/** Slurm's view of a job: its state and reason (%T %r), '' once it has left the queue. */
function squeue(id: string): string {
  return spawnSync('squeue', ['-h', '-j', id, '-o', '%T %r'], { encoding: 'utf8' }).stdout.trim();
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const START = join(ROOT, 'test/slurm/start-slurm.sh');
const STOP = join(ROOT, 'test/slurm/stop-slurm.sh');

let state: 'started' | 'running' | 'unavailable' = 'unavailable';
let why = '';
const start = spawnSync('bash', [START], { encoding: 'utf8', timeout: 60_000 });
if (start.status === 0) state = start.stdout.trim() === 'started' ? 'started' : 'running';
else why = (start.stderr || start.stdout).trim();
const inCi = Boolean(process.env.CI);
if (state === 'unavailable' && !inCi) {
  // visible in the test output: this machine cannot run Slurm (CI installs it)
  console.warn(`SKIPPED the Slurm array test: Slurm cannot run here (${why}); apt-get install slurm-wlm munge, as root`);
}

describe.skipIf(state === 'unavailable' && !inCi)('dtca sweep on a real Slurm', () => {
  beforeAll(() => {
    if (state === 'unavailable') throw new Error(`Slurm is required in CI but could not be started: ${why}`);
  });
  afterAll(() => {
    if (state === 'started') spawnSync('bash', [STOP]);
  });

  it('a 3-task array job gives the same table as the unsharded run', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-slurm-'));
    const plan = ['--grid', '12,14', '--clock', '1e7,4e7', '--images', '2', '--stages', '3', '--sweeps', '30'];
    const dir = join(root, 'array');
    expect(dtca(['sweep', 'plan', ...plan, '--out', dir]).code).toBe(0);
    const s = dtca(['sweep', 'slurm', dir, '--tasks', '3', '--time', '00:10:00']);
    expect(s.code).toBe(0);
    const script = readFileSync(join(dir, 'sweep.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=1-3');
    const sub = spawnSync('sbatch', ['--wait', join(dir, 'sweep.sbatch')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, DTCA_LOG: 'info' },
      timeout: 120_000,
    });
    expect(sub.status, `${sub.stdout}\n${sub.stderr}`).toBe(0);
    const logs = readdirSync(join(dir, 'slurm'));
    expect(logs.length).toBe(3);
    const text = logs.map((f) => readFileSync(join(dir, 'slurm', f), 'utf8')).join('\n');
    for (const k of [1, 2, 3]) expect(text).toContain(`shard ${k}/3:`);
    const c = dtca(['sweep', 'collect', dir, '--no-charts']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/4 of 4 points/);
    const one = join(root, 'one');
    expect(dtca(['sweep', ...plan, '--jobs', '2', '--out', one, '--no-charts']).code).toBe(0);
    expect(readFileSync(join(dir, 'results.csv'), 'utf8')).toBe(readFileSync(join(one, 'results.csv'), 'utf8'));
    expect(readFileSync(join(dir, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(one, 'results.jsonl'), 'utf8'));
  }, 600_000);

  it('--train: the training array first (a task per model stage), the point array after it (afterok)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-slurm-train-'));
    const budget = join(root, 'tiny.json');
    writeFileSync(budget, JSON.stringify(TINY_SWEEP_BUDGET));
    const dir = join(root, 'sweep');
    expect(
      dtca([
        'sweep',
        'plan',
        '--set',
        'fabric.rules="G8"',
        '--grid',
        '16',
        '--clock',
        '1e7,2e7',
        '--stages',
        '2',
        '--train',
        budget,
        '--images',
        '10',
        '--sweeps',
        '10',
        '--out',
        dir,
      ]).code,
    ).toBe(0);
    const s = dtca(['sweep', 'slurm', dir, '--tasks', '2', '--time', '00:20:00', '--submit']);
    expect(s.code, s.stderr).toBe(0);
    const trainJob = /training job (\d+) \(2 tasks\)/.exec(s.stdout)?.[1];
    const pointJob = /point job (\d+) \(starts when (\d+) has succeeded\)/.exec(s.stdout);
    expect(trainJob, s.stdout).toBeDefined();
    expect(pointJob?.[2]).toBe(trainJob);
    expect(readFileSync(join(dir, 'train.sbatch'), 'utf8')).toContain('#SBATCH --array=1-2');
    expect(readFileSync(join(dir, 'submit.sh'), 'utf8')).toContain('--dependency=afterok:"$train"');
    // while the training runs, the point array waits on its dependency
    let sawDependency = false;
    const t0 = Date.now();
    while (Date.now() - t0 < 600_000) {
      const st = squeue(pointJob![1]);
      if (/Dependency/.test(st)) sawDependency = true;
      if (st === '' && squeue(trainJob!) === '') break;
      // look often until the wait is seen: two short training tasks can end within a second
      await sleep(sawDependency ? 500 : 50);
    }
    expect(sawDependency).toBe(true);
    const logs = readdirSync(join(dir, 'slurm'));
    expect(logs.filter((f) => f.startsWith('train-')).length).toBe(2);
    const text = logs
      .filter((f) => f.startsWith('train-'))
      .map((f) => readFileSync(join(dir, 'slurm', f), 'utf8'))
      .join('\n');
    expect(text).toMatch(/task 1: model [0-9a-f]+ stage 0 trained/);
    expect(text).toMatch(/task 2: model [0-9a-f]+ stage 1 trained/);
    expect(text).toMatch(/every stage done: model written/);
    const c = dtca(['sweep', 'collect', dir, '--no-charts', '--json']);
    expect(c.code, c.stderr).toBe(0);
    const out = JSON.parse(c.stdout);
    expect(out.finished).toBe(2);
    for (const r of out.rows) expect(typeof r.fd).toBe('number');
    // the models are in place: a local run of the same sweep trains nothing
    expect(readdirSync(join(dir, 'models')).length).toBe(1);
  }, 900_000);

  it('dtca train --slurm: a task per stage, then the model assembled after them: the model a local run trains', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-slurm-model-'));
    const SMALL = [...smallTrainArgs(20), '--epochs', '1'];
    const local = join(root, 'local.mp');
    expect(dtca(['train', ...SMALL, '--out', local]).code).toBe(0);
    const remote = join(root, 'remote.mp');
    const r = dtca(['train', ...SMALL, '--out', remote, '--slurm', '--slurm-wait', '--slurm-time', '00:20:00']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stage array job \d+ \(2 tasks, one per stage\)/);
    expect(r.stdout).toMatch(/assembling job \d+ \(after \d+ has succeeded\): finished/);
    expect(existsSync(remote)).toBe(true);
    const a = readModel(local);
    const b = readModel(remote);
    expect(b.stages.map((st) => Array.from(st.ew))).toEqual(a.stages.map((st) => Array.from(st.ew)));
    expect(b.stages.map((st) => Array.from(st.bias))).toEqual(a.stages.map((st) => Array.from(st.bias)));
    expect(readdirSync(`${remote}.slurm`).filter((f) => f.startsWith('stage-')).length).toBe(2);
    const script = readFileSync(`${remote}.slurm/stages.sbatch`, 'utf8');
    expect(script).toContain('\'fabric.rules="G8"\''); // quoted for the shell
    expect(script).toContain('--train-stages "${SLURM_ARRAY_TASK_ID}" --stage-only --resume');
  }, 900_000);

  it('a sweep directory whose name would break the script is refused, nothing written', () => {
    const root = mkdtempSync(join(tmpdir(), 'dtca-slurm-bad-'));
    const dir = join(root, 'a\nrm -rf x');
    mkdirSync(dir);
    expect(dtca(['sweep', 'plan', '--grid', '12', '--images', '1', '--stages', '2', '--sweeps', '5', '--out', dir]).code).toBe(0);
    const r = dtca(['sweep', 'slurm', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/the sweep directory .*: holds a newline, which cannot go into an sbatch script safely/);
    expect(existsSync(join(dir, 'sweep.sbatch'))).toBe(false);
    const plain = join(root, 'plain');
    expect(dtca(['sweep', 'plan', '--grid', '12', '--images', '1', '--stages', '2', '--sweeps', '5', '--out', plain]).code).toBe(0);
    const q = dtca(['sweep', 'slurm', plain, '--dtca', 'node\nrm -rf /']);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/--dtca .*: holds a newline/);
    expect(existsSync(join(plain, 'sweep.sbatch'))).toBe(false);
  });
});
