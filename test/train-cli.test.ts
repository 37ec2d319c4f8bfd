// `dtca train` end to end on a small grid (CI installs dataset-fashion-mnist): the files it writes,
// determinism across worker counts, and --resume after the process is killed mid-run.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { dtca, CLI } from './helpers/cli.js';
import { readModel } from '../sim/model.js';
import { smallTrainArgs, TINY_TRAIN_ARGS } from './helpers/train-args.js';

const SMALL = smallTrainArgs();

describe('dtca train', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-train-'));

  it('writes the model, the log, the chart and checkpoints', () => {
    const out = join(dir, 'a.mp');
    const r = dtca(['train', ...SMALL, '--epochs', '2', '--out', out]);
    expect(r.stderr.split('\n').filter((l) => /error|Error/.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    const m = readModel(out);
    expect(m.stages.length).toBe(2);
    expect(m.dtm?.T).toBe(2);
    expect(m.dtm?.image.length).toBe(784);
    expect(m.stages[0].ew.some((w) => w !== 0)).toBe(true); // it learned something
    const log = readFileSync(`${out}.train.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.length).toBe(4);
    for (const rec of log) for (const k of ['stage', 'epoch', 'rho', 'lambda', 'agreement', 'grad_rms', 'lr']) expect(typeof rec[k], k).toBe('number');
    expect(existsSync(`${out}.train.png`)).toBe(true);
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(man.command).toMatch(/^dtca train /);
    expect([man.T, man.options.epochs, man.seed > 0, man.cell_updates > 0, typeof man.machine.cpu]).toEqual([2, 2, true, true, 'string']);
    expect(readdirSync(`${out}.ckpt`).sort()).toEqual(['run.json', 'stage-0.mp', 'stage-1.mp']);
    // a checkpoint is an envelope {format, version, kind, sha256, payload} around the state (sim/train/checkpoint.ts)
    const st = unpack((unpack(readFileSync(`${out}.ckpt/stage-1.mp`)) as { payload: Uint8Array }).payload) as { epoch: number };
    expect(st.epoch).toBe(2);
    // a --resume with other options names what differs, by its flags (it said only "other options")
    const again = dtca(['train', ...SMALL, '--epochs', '3', '--lr-floor', '0.5', '--out', out, '--resume']);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(
      /^dtca: --resume: .*a\.mp\.ckpt\/run\.json was written with other options \(--epochs 2 there, 3 now; --lr-floor 0\.18 there, 0\.5 now\); resume with the same command, or train into a new --out$/,
    );
    // the trained model runs on the chip it was trained for
    const run = dtca([
      'run',
      '--set',
      'fabric.L=43',
      '--set',
      'fabric.rules="G8"',
      '--model',
      out,
      '--images',
      '2',
      '--sweeps',
      '3',
      '--json',
      '--out',
      join(dir, 'run-a'),
    ]);
    expect(run.code).toBe(0);
  }, 180_000);

  it('--init takes the model\'s grid when no config or --set names one, as run --model does (it was refused: "use --set fabric.L=43")', () => {
    const init = join(dir, 'init43.mp');
    expect(dtca(['model', 'new', '-L', '43', '--rules', 'G8', '--stages', '2', '--out', init]).code).toBe(0);
    // TINY_TRAIN_ARGS without its --set of the grid
    const noGrid = TINY_TRAIN_ARGS.filter((x, i, all) => x !== '--set' && all[i - 1] !== '--set');
    expect(noGrid).not.toContain('fabric.L=43');
    const out = join(dir, 'tuned43.mp');
    const r = dtca(['train', '--init', init, ...noGrid, '--out', out], { env: { DTCA_LOG: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the chip takes the model's grid \(43x43 G8\): no config or --set names one/);
    const m = readModel(out);
    expect([m.grid.L, m.stages.length]).toEqual([43, 2]);
    expect(JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')).grid.L).toBe(43);
    // a grid the command line names is still held to the model
    const named = dtca(['train', '--init', init, ...noGrid, '--set', 'fabric.L=44', '--out', join(dir, 'tuned44.mp')]);
    expect(named.code).toBe(2);
    expect(named.stderr.trim()).toMatch(
      /^dtca: --init .*init43\.mp: the model's grid has fabric\.L = 43, fabric\.rules = G8 but the training's config has fabric\.L = 44, fabric\.rules = G12 /,
    );
  }, 180_000);

  it('gives the same model for 1 and 2 workers', () => {
    const a = join(dir, 'w1.mp');
    const b = join(dir, 'w2.mp');
    expect(dtca(['train', ...SMALL, '--epochs', '1', '--workers', '1', '--out', a]).code).toBe(0);
    expect(dtca(['train', ...SMALL, '--epochs', '1', '--workers', '2', '--out', b]).code).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    // every other file too, but for the wall times it records (docs/training.md)
    for (const f of ['.train.svg', '.train.png', '.ckpt/run.json']) expect(Buffer.compare(readFileSync(a + f), readFileSync(b + f)), f).toBe(0);
    const log = (m: string) =>
      readFileSync(`${m}.train.jsonl`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => ({ ...JSON.parse(l), wall_s: 0 }));
    expect(log(b)).toEqual(log(a));
    const ckpt = (m: string, k: number) => {
      const st = unpack((unpack(readFileSync(`${m}.ckpt/stage-${k}.mp`)) as { payload: Uint8Array }).payload) as { wallS: number; log: { wall_s: number }[] };
      return { ...st, wallS: 0, log: st.log.map((r) => ({ ...r, wall_s: 0 })) };
    };
    for (const k of [0, 1]) expect(ckpt(b, k)).toEqual(ckpt(a, k));
    const man = (m: string) => {
      const {
        model: _m,
        command: _c,
        finished: _f,
        wall_s: _w,
        total_wall_s: _t,
        stage_epoch_s: _s,
        updates_per_ns_per_thread: _u,
        ...rest
      } = JSON.parse(readFileSync(`${m}.manifest.json`, 'utf8')) as Record<string, unknown>;
      return { ...rest, options: { ...(rest.options as object), workers: 0 } };
    };
    expect(man(b)).toEqual(man(a));
  }, 180_000);

  it('resumes after a kill and ends with the model an uninterrupted run gives', async () => {
    const whole = join(dir, 'whole.mp');
    expect(dtca(['train', ...SMALL, '--epochs', '3', '--out', whole]).code).toBe(0);
    const cut = join(dir, 'cut.mp');
    // kill the run once its first checkpoint is on disk
    await new Promise<void>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'train', ...SMALL, '--epochs', '3', '--out', cut], {
        stdio: 'ignore',
        env: { ...process.env, DTCA_LOG: 'warn' },
      });
      const timer = setInterval(() => {
        if (existsSync(`${cut}.ckpt/stage-0.mp`)) {
          clearInterval(timer);
          p.kill('SIGKILL');
        }
      }, 20);
      p.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
    });
    expect(existsSync(cut)).toBe(false); // killed before the end: no model yet
    const again = dtca(['train', ...SMALL, '--epochs', '3', '--out', cut]);
    expect(again.code).toBe(2); // checkpoints present: say --resume
    expect(again.stderr).toMatch(/--resume/);
    const resumed = dtca(['train', ...SMALL, '--epochs', '3', '--out', cut, '--resume', '--verbose']);
    expect(resumed.code).toBe(0);
    expect(Buffer.compare(readFileSync(cut), readFileSync(whole))).toBe(0);
    // it says it resumes and from where; its progress counts only what is left (the epochs it logs)
    const lines = resumed.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; epochs_done?: number; epochs_total?: number });
    const said = lines.find((l) => l.msg.startsWith('resuming: '));
    expect(said?.msg).toMatch(/^resuming: \d of 6 stage-epochs already trained \(checkpoints in .*cut\.mp\.ckpt\/\), \d to go$/);
    expect(said!.epochs_done).toBeGreaterThan(0);
    expect(said!.epochs_total! - said!.epochs_done!).toBe(lines.filter((l) => l.msg === 'epoch').length);
  }, 240_000);
});
