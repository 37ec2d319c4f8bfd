// The worker threads of sim/pool.ts are kept between calls: a second call takes the threads of the
// first (no new thread starts), and a kept thread gives the bytes a new thread and the caller's
// own thread give, whatever ran on it before (another kind of job in between). A call that fails
// (a job throwing a UserError) or is stopped (`stopped`) ends its threads instead: none of them is
// kept, and the next call starts new ones and gives the same bytes. closeWorkers() ends the kept
// threads, and those of a call still running once it finishes. A kept thread shares the caller's
// environment (a library caller that sets DTCA_DATA between calls is heard). (A process that never
// calls closeWorkers still ends by itself: test/pool-exit.test.ts.)
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  resolveConfig,
  buildChip,
  randomModel,
  runModel,
  newDtmModel,
  generate,
  train,
  openTraceWriter,
  closeWorkers,
  Interrupted,
  UserError,
  DEFAULT_DATA_DIR,
} from '../index.js';
import { runJobs, keptThreads } from '../sim/pool.js';
import { tinyTraining } from './helpers/train-options.js';

const dir = mkdtempSync(join(tmpdir(), 'dtca-pool-'));
afterAll(async () => {
  await closeWorkers();
  rmSync(dir, { recursive: true, force: true });
});

const chip = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8', 'seed=3'] }));
const bm = randomModel(chip.fabric, 1, 0.25, 0.1);
const dtm = newDtmModel({ T: 3, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.2 }, seed: 4 });

/**
 * a result as a digest of its bytes: everything but the wall-clock fields (typed arrays as arrays).
 * The engine's report (its capacity, memory and compiles, summed over threads) differs with the
 * thread count, not with what ran on a thread before: it is compared between runs on two threads
 * (`engine`), the rest with the caller's thread too (`out`)
 */
const digest = (r: object) =>
  createHash('sha256')
    .update(JSON.stringify(r, (k, v: unknown) => (k === 'wallS' || k === 'updatesPerNs' ? undefined : ArrayBuffer.isView(v) ? Array.from(v as Int8Array) : v)))
    .digest('hex');
const bytes = (r: { engine: object }) => {
  const { engine, ...out } = r;
  return { out: digest(out), engine: digest(engine) };
};

const bmRun = async (workers: number) => bytes(await runModel(chip, bm, { chains: 4, sweeps: 12, warmup: 3, moments: true, workers }));
let traces = 0;
/** a traced generation: the result's bytes and the trace file's */
async function dtmRun(workers: number): Promise<{ out: string; engine: string; trace: string }> {
  const path = join(dir, `g${traces++}.dtrace`);
  const sink = openTraceWriter(path, { stages: [1] });
  const gen = await generate(chip, dtm, { images: 4, sweeps: 6, sink, workers });
  await sink.close();
  return { ...bytes(gen), trace: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

describe('the worker threads are kept between calls', () => {
  it('a second call takes the threads of the first and gives the same bytes, another kind of call in between', async () => {
    await closeWorkers();
    const bmOne = await bmRun(1);
    const dtmOne = await dtmRun(1);
    const before = keptThreads();
    expect(before.idle).toEqual([]);

    // new threads: the same bytes as the caller's own thread
    const bmNew = await bmRun(2);
    expect(bmNew.out).toBe(bmOne.out);
    const kept = keptThreads();
    expect(kept.started).toBe(before.started + 2);
    expect(kept.idle).toHaveLength(2);

    // the same threads for the calls that follow (no thread starts), each giving the bytes new
    // threads give (the engine's report too: its compiles count what the run needed)
    const dtmKept = await dtmRun(2);
    expect(dtmKept.out).toBe(dtmOne.out);
    expect(dtmKept.trace).toBe(dtmOne.trace);
    expect(await bmRun(2)).toEqual(bmNew);
    expect(await dtmRun(2)).toEqual(dtmKept);
    const after = keptThreads();
    expect(after.started).toBe(kept.started);
    expect([...after.idle].sort()).toEqual([...kept.idle].sort());

    // and what new threads give after the kept ones are ended
    await closeWorkers();
    expect(await dtmRun(2)).toEqual(dtmKept);
    expect(keptThreads().started).toBe(kept.started + 2);
  });

  it('a call whose job throws a UserError ends its threads: none is kept, and the next call starts new ones and gives the same bytes', async () => {
    const bmKept = await bmRun(2);
    const held = keptThreads().idle;
    expect(held).toHaveLength(2);
    // the second range's config has another grid than the model: a UserError in its thread
    const small = buildChip(resolveConfig('dtca-paper', { sets: ['fabric.L=8', 'fabric.rules=G8', 'seed=3'] }));
    const opts = { chains: 4, sweeps: 5, warmup: 1, stage: 0 };
    const failing = runJobs([
      { name: 'chains', data: { config: chip.config, model: bm, opts, from: 0, to: 2 } },
      { name: 'chains', data: { config: small.config, model: bm, opts, from: 2, to: 4 } },
    ]);
    await expect(failing).rejects.toBeInstanceOf(UserError);
    await expect(failing).rejects.toThrow(/grid.L = 16 but the config's fabric.L = 8/);
    expect(keptThreads().idle).toEqual([]);

    const started = keptThreads().started;
    expect(await bmRun(2)).toEqual(bmKept);
    expect(keptThreads().started).toBe(started + 2);
    const fresh = keptThreads().idle;
    expect(fresh).toHaveLength(2);
    for (const id of fresh) expect(held).not.toContain(id);
  });

  it('a run stopped through `stopped` ends its threads at once (Interrupted with the reason); the next call works and gives the same bytes', async () => {
    const bmKept = await bmRun(2);
    const held = keptThreads().idle;
    let stop: (reason: string) => void = () => {};
    const stopped = new Promise<string>((res) => (stop = res));
    // stopped once the first range has finished its first stage: the threads are mid-run
    const run = generate(chip, dtm, { images: 4, sweeps: 40, workers: 2, stopped, onImageDone: () => stop('enough') });
    const e = await run.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(Interrupted);
    expect((e as Interrupted).reason).toBe('enough');
    expect(keptThreads().idle).toEqual([]);

    expect(await bmRun(2)).toEqual(bmKept);
    const fresh = keptThreads().idle;
    expect(fresh).toHaveLength(2);
    for (const id of fresh) expect(held).not.toContain(id);
    // the same `stopped`, settled, stops the next call that is given it (before its jobs end)
    await expect(runModel(chip, bm, { chains: 4, sweeps: 12, warmup: 3, workers: 2, stopped })).rejects.toBeInstanceOf(Interrupted);
    expect(keptThreads().idle).toEqual([]);
  });

  it('closeWorkers ends the kept threads, and those of a call still running when it finishes', async () => {
    const bmKept = await bmRun(2);
    expect(keptThreads().idle).toHaveLength(2);
    await closeWorkers();
    expect(keptThreads().idle).toEqual([]);

    const running = bmRun(2);
    await closeWorkers();
    expect(await running).toEqual(bmKept);
    expect(keptThreads().idle).toEqual([]);
    // a later call starts threads again, and keeps them
    expect(await bmRun(2)).toEqual(bmKept);
    expect(keptThreads().idle).toHaveLength(2);
  });

  it('a kept thread reads the environment as it is now: DTCA_DATA changed between two trainings on two threads', async () => {
    // the same Fashion-MNIST files but a damaged train-images file: the training's threads read
    // the images (the caller's thread only checks that the files are there)
    const damaged = join(dir, 'damaged-fmnist');
    mkdirSync(damaged);
    for (const f of ['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
      symlinkSync(join(DEFAULT_DATA_DIR, f), join(damaged, f));
    writeFileSync(join(damaged, 'train-images-idx3-ubyte.gz'), 'not gzip data');
    const config = resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules=G8'], ideal: true });
    const model = newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 'fmnist', weights: 'zero', seed: 1 });
    const tiny = (out: string) => tinyTraining(config, model, join(dir, out), { limit: 20, workers: 2 });
    const before = process.env.DTCA_DATA;
    try {
      process.env.DTCA_DATA = DEFAULT_DATA_DIR;
      await train(tiny('env-a.mp'));
      const kept = keptThreads().idle;
      expect(kept).toHaveLength(2);
      process.env.DTCA_DATA = damaged;
      await expect(train(tiny('env-b.mp'))).rejects.toThrow(new RegExp(`${damaged}/train-images-idx3-ubyte.gz`));
    } finally {
      if (before === undefined) delete process.env.DTCA_DATA;
      else process.env.DTCA_DATA = before;
    }
  });
});
