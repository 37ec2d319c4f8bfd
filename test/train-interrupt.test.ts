// `dtca train` stopped by SIGINT or SIGTERM (cli/signals.ts, sim/train/train.ts TrainingStopped): it
// stops at its next step, the checkpoints whole, writes the manifest as interrupted (its time
// counted), says in one line how far it got and the command that continues it, exits 130 or 143;
// that command then ends with the model an uninterrupted run writes (docs/guarantees.md).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';
import { interrupt, said } from './helpers/interrupt.js';
import { smallTrainArgs } from './helpers/train-args.js';
import { shellQuote } from '../sim/sweep/slurm.js';

// 2 stages x 8 epochs of a few short steps: seconds, and time to stop it half-way
const ARGS = [...smallTrainArgs(), '--epochs', '8'];
const TOTAL = 16;

/** the point the signal is sent at: its first epoch is logged (its first checkpoint is on disk) */
const firstEpoch = (stderr: string) => /"msg":"epoch"/.test(stderr);

const leftovers = (dir: string) => [...readdirSync(dir), ...readdirSync(join(dir, 'cut.mp.ckpt'))].filter((f) => /\.tmp-|\.lock$/.test(f));

describe('dtca train stopped by a signal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-train-sig-'));
  const whole = join(dir, 'whole.mp');

  it('SIGINT: exit 130, one line with the resume command, manifest interrupted; --resume ends with the uninterrupted model', async () => {
    expect(dtca(['train', ...ARGS, '--out', whole]).code).toBe(0);
    const cut = join(dir, 'cut.mp');
    const args = ['train', ...ARGS, '--out', cut];
    const r = await interrupt(args, 'SIGINT', firstEpoch);
    expect([r.code, r.signal]).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const resume = [...args, '--resume'];
    const m = /^dtca: interrupted by SIGINT: (\d+) of 16 stage-epochs done, checkpoints in (.*); continue with: (.*)$/.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    const done = Number(m![1]);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(TOTAL);
    expect(m![2]).toBe(`${cut}.ckpt/`);
    expect(m![3]).toBe(['dtca', ...resume].map(shellQuote).join(' '));
    // no model yet; the checkpoints hold what the line says, nothing half-written, the lock released
    expect(existsSync(cut)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    const man = JSON.parse(readFileSync(`${cut}.manifest.json`, 'utf8'));
    expect(man).toMatchObject({ status: 'interrupted', stage_epochs_done: done, stage_epochs_total: TOTAL, label_gain: null, earlier: [] });
    expect(man.wall_s).toBeGreaterThan(0);
    expect(man.total_wall_s).toBe(man.wall_s);
    const log = readFileSync(`${cut}.train.jsonl`, 'utf8').trim().split('\n');
    expect(log).toHaveLength(done);

    // the command the line gives continues it: the model of the uninterrupted run, byte for byte
    const again = dtca(resume);
    expect(again.code).toBe(0);
    expect(Buffer.compare(readFileSync(cut), readFileSync(whole))).toBe(0);
    const after = JSON.parse(readFileSync(`${cut}.manifest.json`, 'utf8'));
    expect(after.status).toBe('complete');
    expect(after.earlier).toHaveLength(1);
    expect(after.earlier[0]).toMatchObject({ status: 'interrupted', wall_s: man.wall_s, command: man.command });
    expect(after.total_wall_s).toBeCloseTo(after.wall_s + man.wall_s, 1);
    expect(leftovers(dir)).toEqual([]);
  }, 240_000);

  it('SIGTERM with worker threads: exit 143, and --resume (on one thread) still ends with the same model', async () => {
    const out = join(dir, 'term.mp');
    const args = ['train', ...ARGS, '--workers', '2', '--out', out];
    const r = await interrupt(args, 'SIGTERM', firstEpoch);
    expect([r.code, r.signal]).toEqual([143, null]);
    expect(said(r.stderr)).toHaveLength(1);
    expect(said(r.stderr)[0]).toMatch(
      /^dtca: interrupted by SIGTERM: \d+ of 16 stage-epochs done( \(the model not written yet\))?, checkpoints in .*term\.mp\.ckpt\/; continue with: dtca train .* --workers 2 --out .*term\.mp --resume$/,
    );
    expect(existsSync(out)).toBe(false);
    expect(JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')).status).toBe('interrupted');
    expect(readdirSync(dir).filter((f) => f.startsWith('term.mp') && /\.tmp-|\.lock$/.test(f))).toEqual([]);
    expect(dtca(['train', ...ARGS, '--workers', '1', '--out', out, '--resume']).code).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(whole))).toBe(0);
  }, 240_000);
});
