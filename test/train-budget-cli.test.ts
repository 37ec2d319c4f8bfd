// `dtca train --budget` on the command line (the manifest shows the preset under the explicit flags,
// a bad name exits 2) and negative chains started from the data (--neg-start data, --data-epochs):
// worker-count independence and resume after SIGKILL. Tiny grid, a few steps.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUDGETS } from '../sim/train/budget.js';
import { dtca, CLI } from './helpers/cli.js';

describe('dtca train --budget and --neg-start data', () => {
  it('on the command line: the manifest shows the preset under the explicit flags; a bad name exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-budget-'));
    const out = join(dir, 'q.mp');
    const small = [
      '--set',
      'fabric.L=43',
      '--set',
      'fabric.rules="G8"',
      '--stages',
      '2',
      '--epochs',
      '1',
      '--steps',
      '2',
      '--batch',
      '8',
      '--samples',
      '2',
      '--acp-lag',
      '4',
      '--acp-warmup',
      '6',
      '--limit',
      '300',
      '--seed',
      '3',
      '--workers',
      '1',
    ];
    const r = dtca(['train', '--budget', 'quick', ...small, '--warmup', '3', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    const q = BUDGETS.quick.options;
    expect(man.budget).toBe('quick');
    // the guidance search ran (--label-gain auto by default): 8 gains, then 3 betas; its choice is in the model
    expect(man.guidance.rows.length).toBe(11);
    expect([man.label_gain, man.beta]).toEqual([man.guidance.gain, man.guidance.beta]);
    expect(man.placement).toBe('spatial');
    expect(man.options).toMatchObject({ epochs: 1, steps: 2, batch: 8, samples: 2, acp_lag: 4, acp_warmup: 6, workers: 1, warmup: 3 });
    expect(man.options).toMatchObject({
      pos_warmup: q.posWarmup,
      neg_start: q.negStart,
      // the preset's 18 data-started epochs of 30, scaled to --epochs 1 and rounded down (was 1: the whole run data-started)
      data_epochs: 0,
      data_warmup: q.dataWarmup,
      every: q.every,
      lr: q.lr,
      lr_floor: q.lrFloor,
      acp_lambda: q.acpLambda,
    });
    const bad = dtca(['train', '--budget', 'huge', '--out', join(dir, 'b.mp')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').length).toBe(1);
    expect(bad.stderr).toMatch(/--budget|budget/);
  }, 120_000);

  it('negative chains started from the data: the same model for 1 and 2 workers and after a kill and --resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-cd-'));
    const tiny = [
      '--label-gain',
      '1',
      '--set',
      'fabric.L=43',
      '--set',
      'fabric.rules="G8"',
      '--stages',
      '2',
      '--epochs',
      '2',
      '--steps',
      '2',
      '--batch',
      '8',
      '--warmup',
      '2',
      '--pos-warmup',
      '3',
      '--neg-start',
      'data',
      '--acp-warmup',
      '5',
      '--samples',
      '2',
      '--every',
      '2',
      '--acp-lag',
      '4',
      '--limit',
      '300',
      '--seed',
      '5',
      '--lr',
      '0.2',
    ];
    const a = join(dir, 'w1.mp');
    const b = join(dir, 'w2.mp');
    expect(dtca(['train', ...tiny, '--workers', '1', '--out', a]).code).toBe(0);
    expect(dtca(['train', ...tiny, '--workers', '2', '--out', b]).code).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    // the data start changes the training (the option reaches the trainer)
    const n = join(dir, 'noise.mp');
    expect(dtca(['train', ...tiny.map((x) => (x === 'data' ? 'noise' : x)), '--out', n]).code).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(n))).not.toBe(0);
    // data-started chains for the first epoch only: neither of the two (lr 0.2: the first steps' weights
    // must exceed the 8-bit step, or a chain at zero weights forgets its start in one sweep)
    const h = join(dir, 'half.mp');
    expect(dtca(['train', ...tiny, '--data-epochs', '1', '--out', h]).code).toBe(0);
    for (const o of [a, n]) expect(Buffer.compare(readFileSync(h), readFileSync(o))).not.toBe(0);
    const cut = join(dir, 'cut.mp');
    await new Promise<void>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'train', ...tiny, '--out', cut], { stdio: 'ignore', env: { ...process.env, DTCA_LOG: 'warn' } });
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
    expect(existsSync(cut)).toBe(false);
    expect(dtca(['train', ...tiny, '--out', cut, '--resume']).code).toBe(0);
    expect(Buffer.compare(readFileSync(cut), readFileSync(a))).toBe(0);
  }, 240_000);
});
