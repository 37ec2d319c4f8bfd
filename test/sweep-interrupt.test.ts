// `dtca sweep run`, `dtca sweep train` (all, and one Slurm array task with --task) and `dtca model
// tune` stopped by SIGINT or SIGTERM (cli/signals.ts): they stop at their next safe point, leave no
// temporary file, partial point or lock behind, say in one line how far they got and the command
// that continues, and exit 130 or 143; that command then ends with what an uninterrupted run
// writes (docs/guarantees.md). The tiny settings are those of sweep-report.test.ts (points),
// sweep-train.test.ts (a 7x7-pooled model on L = 16) and guidance-cli.test.ts (tune).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtca } from './helpers/cli.js';
import { interrupt, said, walk, command } from './helpers/interrupt.js';
import { TINY_SWEEP_BUDGET } from './helpers/train-args.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));

/** what an interrupted command must not leave: temporary files, partial point or twin directories, locks */
const leftovers = (dir: string) => walk(dir).filter((f) => /\.tmp-\d+-\d+$|(^|\/)\.partial-|\.lock$/.test(f));

describe('dtca sweep run stopped by SIGINT', () => {
  it('exit 130, one line with the points finished and the same command; that command ends with the uninterrupted results', async () => {
    const root = tmp('sweep-run-sig');
    const plan = (out: string) =>
      dtca(['sweep', 'plan', '--grid', '24', '--clock', '1e7,2e7,4e7', '--images', '2', '--stages', '3', '--sweeps', '1500', '--out', out]);
    const cut = join(root, 'cut');
    expect(plan(cut).code).toBe(0);
    const args = ['sweep', 'run', cut, '--jobs', '1'];
    const r = await interrupt(args, 'SIGINT', (e) => /"msg":"point 1\/3 done/.test(e));
    expect([r.code, r.signal]).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const m = /^dtca: interrupted by SIGINT: ([12]) of 3 points finished, kept in (.*); continue with: (.*)$/.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    expect(m![2]).toBe(cut);
    expect(m![3]).toBe(command(args));
    expect(readdirSync(join(cut, 'points')).filter((e) => !e.startsWith('.'))).toHaveLength(Number(m![1]));
    expect(leftovers(cut)).toEqual([]);

    const again = dtca(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^${3 - Number(m![1])} point\\(s\\) run, ${m![1]} already finished, of 3`));
    const whole = join(root, 'whole');
    expect(plan(whole).code).toBe(0);
    expect(dtca(['sweep', 'run', whole, '--jobs', '1']).code).toBe(0);
    for (const d of [cut, whole]) expect(dtca(['sweep', 'collect', d, '--no-charts']).code).toBe(0);
    expect(readFileSync(join(cut, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(whole, 'results.jsonl'), 'utf8'));
    expect(leftovers(cut)).toEqual([]);
  }, 600_000);
});

describe('dtca sweep train stopped by a signal', () => {
  const root = tmp('sweep-train-sig');
  // 2 stages x 40 epochs of a few short steps on L = 16 (a 7x7 pooled image): seconds, time to stop it half-way
  const budget = join(root, 'budget.json');
  const plan = (out: string) =>
    dtca(['sweep', 'plan', '--set', 'fabric.rules="G8"', '--grid', '16', '--stages', '2', '--train', budget, '--images', '10', '--sweeps', '20', '--out', out]);
  const modelOf = (dir: string) => {
    const keys = readdirSync(join(dir, 'models'));
    expect(keys).toHaveLength(1);
    return join(dir, 'models', keys[0], 'model.mp');
  };
  let reference: Buffer;
  beforeAll(() => {
    writeFileSync(budget, JSON.stringify({ ...TINY_SWEEP_BUDGET, epochs: 40 }));
    const whole = join(root, 'whole');
    expect(plan(whole).code).toBe(0);
    const r = dtca(['sweep', 'train', whole, '--jobs', '1']);
    expect(r.code, r.stderr).toBe(0);
    reference = readFileSync(modelOf(whole));
  }, 600_000);

  it('SIGINT with two stages training on worker threads: they stop at their next step (checkpoints whole, locks released); the same command ends with the same model', async () => {
    const cut = join(root, 'cut');
    expect(plan(cut).code).toBe(0);
    const args = ['sweep', 'train', cut, '--jobs', '2'];
    // both stages started, and one of them has a checkpoint
    const ckpt = () => (existsSync(join(cut, 'models')) ? walk(join(cut, 'models')).some((f) => /stage-\d\.mp$/.test(f)) : false);
    const r = await interrupt(args, 'SIGINT', (e) => /"msg":"training stage 1 of model/.test(e) && ckpt());
    expect([r.code, r.signal]).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const m = /^dtca: interrupted by SIGINT: 0 of 1 model\(s\) trained \((\d+) of 80 stage-epochs\), checkpoints in (.*); continue with: (.*)$/.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThan(80);
    expect(m![2]).toBe(join(cut, 'models'));
    expect(m![3]).toBe(command(args));
    expect(existsSync(modelOf(cut))).toBe(false);
    expect(leftovers(cut)).toEqual([]);

    const again = dtca(args);
    expect(again.code, again.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(modelOf(cut)), reference)).toBe(0);
    expect(leftovers(cut)).toEqual([]);
  }, 600_000);

  it('SIGTERM to a Slurm array task (--task K): exit 143, the epochs of its stage done; the same task, then the other, end with the same model', async () => {
    const cut = join(root, 'task');
    expect(plan(cut).code).toBe(0);
    const args = ['sweep', 'train', cut, '--task', '1'];
    const r = await interrupt(args, 'SIGTERM', (e) => /"msg":"epoch"/.test(e));
    expect([r.code, r.signal]).toEqual([143, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const m = /^dtca: interrupted by SIGTERM: task 1 \(model [0-9a-f]{16} stage 0\): (\d+) of 40 epochs done, checkpoints in (.*); continue with: (.*)$/.exec(
      lines[0],
    );
    expect(m, lines[0]).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThan(40);
    expect(m![2]).toBe(`${modelOf(cut)}.ckpt/`);
    expect(m![3]).toBe(command(args));
    expect(leftovers(cut)).toEqual([]);

    const t1 = dtca(args);
    expect(t1.code, t1.stderr).toBe(0);
    expect(t1.stdout).toMatch(/^task 1: model [0-9a-f]{16} stage 0 trained\n$/);
    const t2 = dtca(['sweep', 'train', cut, '--task', '2']);
    expect(t2.code, t2.stderr).toBe(0);
    expect(t2.stdout).toMatch(/every stage done: model written/);
    expect(Buffer.compare(readFileSync(modelOf(cut)), reference)).toBe(0);
    expect(leftovers(cut)).toEqual([]);
  }, 600_000);
});

describe('dtca model tune stopped by SIGINT', () => {
  it('exit 130, nothing written, one line with the settings tried; the same command writes what an uninterrupted search writes', async () => {
    const dir = tmp('tune-sig');
    const model = join(dir, 'm.mp');
    // guidance-cli.test.ts's model: a Fashion-MNIST layout on a small grid (7x7 pooled image), random weights
    expect(dtca(['model', 'new', '--L', '20', '--stages', '2', '--rules', 'G8', '--weights', 'random:0.4', '--seed', '3', '--out', model]).code).toBe(0);
    const search = ['--gains', '1,2,3,4', '--betas', '1.2', '--images', '30'];
    const whole = join(dir, 'whole.mp');
    expect(dtca(['model', 'tune', model, '--out', whole, ...search]).code).toBe(0);

    const out = join(dir, 'cut.mp');
    const args = ['model', 'tune', model, '--out', out, ...search];
    const r = await interrupt(args, 'SIGINT', (e) => /"msg":"guidance tried"/.test(e));
    expect([r.code, r.signal]).toEqual([130, null]);
    const lines = said(r.stderr);
    expect(lines).toHaveLength(1);
    const m = /^dtca: interrupted by SIGINT: ([1-4]) of 5 settings tried, nothing written; the search starts again with: (.*)$/.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    expect(m![2]).toBe(command(args));
    expect(readdirSync(dir).sort()).toEqual(['m.mp', 'whole.mp', 'whole.mp.manifest.json']);

    const again = dtca(args);
    expect(again.code, again.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(whole))).toBe(0);
    const strip = (f: string) => {
      const j = JSON.parse(readFileSync(f, 'utf8'));
      delete j.model;
      delete j.command;
      delete j.finished;
      delete j.guidance.wall_s;
      return j;
    };
    expect(strip(`${out}.manifest.json`)).toEqual(strip(`${whole}.manifest.json`));
  }, 600_000);
});
