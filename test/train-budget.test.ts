// `dtca train --budget quick|standard`: which options each preset sets and that explicit flags win
// (in-process; the command line and the data-started chains: train-budget-cli.test.ts).
import { describe, it, expect } from 'vitest';
import { applyBudget, BUDGETS, BUDGET_NAMES } from '../sim/train/budget.js';
import { UserError } from '../fabric/errors.js';

const RECIPE_KEYS = [
  'placement',
  'batch',
  'warmup',
  'posWarmup',
  'negStart',
  'dataEpochs',
  'dataWarmup',
  'acpWarmup',
  'samples',
  'every',
  'lr',
  'lrFloor',
  'acpLambda',
  'acpLag',
  'workers',
  'epochs',
  'steps',
];

describe('training budgets', () => {
  it('quick and standard each set the whole recipe; quick is shorter', () => {
    expect(BUDGET_NAMES.sort()).toEqual(['quick', 'standard']);
    for (const n of BUDGET_NAMES) expect(Object.keys(BUDGETS[n].options).sort()).toEqual([...RECIPE_KEYS].sort());
    const q = BUDGETS.quick.options;
    const s = BUDGETS.standard.options;
    expect(q.epochs! * q.steps!).toBeLessThan(s.epochs! * s.steps!);
    for (const b of [q, s]) {
      expect([b.negStart, b.placement, b.workers]).toEqual(['data', 'spatial', 2]);
      // data-started chains first, noise-started ones to finish
      expect(b.dataEpochs!).toBeGreaterThan(0);
      expect(b.dataEpochs!).toBeLessThan(b.epochs!);
    }
  });

  it('fills in only what the command line leaves out', () => {
    const { args, from } = applyBudget({ lr: 0.5, epochs: 3, negStart: 'noise', other: 'x' } as Record<string, unknown>, 'quick');
    expect(args.lr).toBe(0.5);
    expect(args.epochs).toBe(3);
    expect(args.negStart).toBe('noise');
    expect(args.other).toBe('x');
    expect(args.steps).toBe(BUDGETS.quick.options.steps);
    expect(args.posWarmup).toBe(BUDGETS.quick.options.posWarmup);
    expect(from.sort()).toEqual(RECIPE_KEYS.filter((k) => !['lr', 'epochs', 'negStart'].includes(k)).sort());
    // no preset: unchanged
    const none = applyBudget({ lr: 1 } as Record<string, unknown>, undefined);
    expect(none).toEqual({ args: { lr: 1 }, from: [] });
    expect(() => applyBudget({}, 'huge')).toThrow(UserError);
  });
});
