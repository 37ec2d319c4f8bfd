// Typed errors of the core (fabric/errors.ts OptionError): a bad option of generate, runModel or
// the engine choice names the option, the value and why; the message reads as the library's
// option ("images = 0: ..."), the command line words the same error with its flag
// (cli/flags.ts: "--images 0: ..."), and the error keeps its type across a worker thread.
import { describe, it, expect } from 'vitest';
import { OptionError, UserError, Interrupted, errorReply, errorFromReply } from '../fabric/errors.js';
import { flagOf, userMessage } from '../cli/flags.js';
import { buildChip } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { runModel } from '../sim/run.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { testConfig } from './helpers/chip.js';
import { samplesFromGeneration } from '../index.js';
import type { GenerateResult } from '../sim/dtm.js';

async function optionError(p: Promise<unknown> | (() => unknown)): Promise<OptionError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    expect(e).toBeInstanceOf(UserError);
    return e as OptionError;
  }
  throw new Error('expected an OptionError');
}

const chip = buildChip(testConfig(['fabric.L=8', 'fabric.rules=G8']));
const bm = randomModel(chip.fabric, 1, 0.25, 0.1);

describe('OptionError', () => {
  it('runModel: chains, sweeps, warmup, stage', async () => {
    const base = { chains: 2, sweeps: 2, warmup: 0 };
    const c = await optionError(runModel(chip, bm, { ...base, chains: 0 }));
    expect([c.option, c.value, c.reason]).toEqual(['chains', 0, 'must be an integer >= 1']);
    expect(c.message).toBe('chains = 0: must be an integer >= 1');
    expect(userMessage(c)).toBe('--chains 0: must be an integer >= 1');
    expect(userMessage(await optionError(runModel(chip, bm, { ...base, sweeps: 1.5 })))).toBe('--sweeps 1.5: must be an integer >= 1');
    expect((await optionError(runModel(chip, bm, { ...base, warmup: -1 }))).message).toBe('warmup = -1: must be an integer >= 0');
    const s = await optionError(runModel(chip, bm, { ...base, stage: 3 }));
    expect(s.message).toBe('stage = 3: the model has stages 0..0');
    expect(userMessage(s)).toBe('--stage 3: the model has stages 0..0');
  });

  it('generate and newDtmModel: images, sweeps, labels, T, visible', async () => {
    const dtm = newDtmModel({ T: 2, L: 8, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 });
    const i = await optionError(generate(chip, dtm, { images: 0, sweeps: 2 }));
    expect(i.message).toBe('images = 0: must be an integer >= 1');
    expect(userMessage(i)).toBe('--images 0: must be an integer >= 1');
    // the reason names the class: the value stays out of the message but is on the error
    const l = await optionError(generate(chip, dtm, { images: 1, sweeps: 2, labels: [12] }));
    expect(l.message).toBe('labels: the model has no label cells');
    expect(l.value).toEqual([12]);
    const t = await optionError(() => newDtmModel({ T: 0, L: 8, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 }));
    expect(t.message).toBe('T = 0: must be an integer >= 1');
    expect(userMessage(t)).toBe('--stages 0: must be an integer >= 1');
    const v = await optionError(() => newDtmModel({ T: 1, L: 8, rules: 'G8', boundary: 'open', visible: 200, weights: 'zero', seed: 1 }));
    expect(userMessage(v)).toMatch(/^--visible 200: needs \d+ cells of one colour, an L=8 grid has \d+$/);
  });

  it("a library caller's threads, batch, engine, init, beta, mapping and keepChains are checked as the flags are", async () => {
    const base = { chains: 2, sweeps: 2, warmup: 0 };
    const dtm = newDtmModel({ T: 2, L: 8, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: 1 });
    const gen = { images: 2, sweeps: 2 };
    const msg = async (p: Promise<unknown>) => (await optionError(p)).message;
    expect(await msg(runModel(chip, bm, { ...base, workers: 0 }))).toBe('workers = 0: must be an integer >= 1');
    expect(await msg(runModel(chip, bm, { ...base, tiles: 1.5 }))).toBe('tiles = 1.5: must be an integer >= 1');
    expect(await msg(runModel(chip, bm, { ...base, batch: -1 }))).toBe('batch = -1: must be an integer >= 1');
    expect(await msg(runModel(chip, bm, { ...base, engine: 'fast' as never }))).toBe('engine = fast: must be one of auto, reference, wasm, batch');
    expect(await msg(runModel(chip, bm, { ...base, init: 'zero' as never }))).toBe('init = zero: must be one of hinton, random, up, down');
    expect(await msg(runModel(chip, bm, { ...base, beta: NaN }))).toBe('beta = NaN: must be a positive number or { start, end } of positive numbers');
    expect(await msg(generate(chip, dtm, { ...gen, workers: -3 }))).toBe('workers = -3: must be an integer >= 1');
    expect(await msg(generate(chip, dtm, { ...gen, engine: 'fast' as never }))).toBe('engine = fast: must be one of auto, reference, wasm, batch');
    expect(await msg(generate(chip, dtm, { ...gen, beta: { start: 1, end: 0 } }))).toBe(
      'beta: must be a positive number or { start, end } of positive numbers',
    );
    expect(await msg(generate(chip, dtm, { ...gen, mapping: 'serial' as never }))).toBe('mapping = serial: must be reprogram or pipeline');
    expect(await msg(generate(chip, dtm, { ...gen, keepChains: -1 }))).toBe('keepChains = -1: must be an integer >= 0');
  });

  it('the engine choice, in this thread and from worker threads', async () => {
    // the batch engine needs quantised weights; the ideal chip has exact ones
    const opts = { chains: 4, sweeps: 2, warmup: 0, engine: 'batch' as const };
    const here = await optionError(runModel(chip, bm, opts));
    expect(here.option).toBe('engine');
    expect(here.message).toMatch(/^engine = batch: it needs quantised weights/);
    const there = await optionError(runModel(chip, bm, { ...opts, workers: 2 }));
    expect([there.option, there.value, there.reason]).toEqual([here.option, here.value, here.reason]);
    expect(userMessage(there)).toMatch(/^--engine batch: it needs quantised weights/);
  });

  it("samplesFromGeneration: a generation too small for a 28x28 image without the model's dtm section is a UserError", () => {
    const gen = { outputs: [new Int8Array(10)] } as unknown as GenerateResult;
    expect(() => samplesFromGeneration(gen)).toThrow(UserError);
    expect(() => samplesFromGeneration(gen)).toThrow(
      /^samplesFromGeneration: images of 10 visible cells, fewer than a 28x28 image; pass the model's dtm section/,
    );
  });

  it('randomModel and newDtmModel: seed and weight scales', () => {
    const f = chip.fabric;
    expect(() => randomModel(f, -1, 0.25, 0.1)).toThrow(/^seed = -1: must be an integer >= 0$/);
    expect(() => randomModel(f, 1.5, 0.25, 0.1)).toThrow(OptionError);
    expect(() => randomModel(f, 1, NaN, 0.1)).toThrow(/^scale = NaN: must be a number in \[0, 1000000\]$/);
    expect(() => randomModel(f, 1, 0.25, -0.1)).toThrow(/^biasScale = -0.1: must be a number in \[0, 1000000\]$/);
    expect(() => newDtmModel({ T: 1, L: 8, rules: 'G8', boundary: 'open', visible: 6, weights: 'zero', seed: NaN })).toThrow(
      /^seed = NaN: must be an integer >= 0$/,
    );
  });

  it('crosses a message port as data and comes back the same', () => {
    const e = new OptionError('traceEvery', 0, 'must be >= 1');
    const back = errorFromReply(structuredClone(errorReply(e)));
    expect(back).toBeInstanceOf(OptionError);
    expect(back.message).toBe(e.message);
    expect(flagOf('traceEvery')).toBe('--trace-every');
    expect(errorFromReply(errorReply(new UserError('x')))).toBeInstanceOf(UserError);
    const internal = errorFromReply(errorReply(new TypeError('boom')), 'worker: ');
    expect(internal).not.toBeInstanceOf(UserError);
    expect(internal.message).toBe('worker: boom');
    // a job that stopped because it was asked to (a stopped pool waits for such jobs: sim/pool.ts)
    const stopped = errorFromReply(structuredClone(errorReply(new Interrupted({ stage: 1 }, 'stop requested'))));
    expect(stopped).toBeInstanceOf(Interrupted);
    expect((stopped as Interrupted).reason).toBe('stop requested');
  });
});
