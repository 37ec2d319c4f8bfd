// The model cache's lock files as leases (sim/sweep/lease.ts): a lock of another host (here a
// lock file written with a foreign host name) is taken over once its heartbeat has stopped, with one
// log line naming the holder; never while its holder refreshes it; a lock of this host whose process
// is gone at once; any number of waiters never hold one lock together; the holder's heartbeat
// refreshes the mtime and its release leaves a lock that is no longer its own alone. The periods
// are shortened here (LEASE); docs/guarantees.md gives the real ones. Last, a Slurm task's stage
// SIGKILLed on another node: its stage lock and the trainer's lock inside it are taken over and
// the stage trains.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, utimesSync, statSync, readdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { spawn } from 'node:child_process';
import { ROOT } from './helpers/cli.js';
import { join } from 'node:path';
import { lock, LEASE } from '../sim/sweep/lease.js';
import { quietContext, type RunContext } from '../sim/context.js';
import { resolveConfig } from '../sim/config.js';
import { modelJobFor, trainModel, isModelDone, modelEntry, modelFile, type TrainPlan } from '../sim/sweep/models.js';
import { resolveSweepBudget } from '../sim/train/budget.js';
import { TINY_SWEEP_BUDGET } from './helpers/train-args.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `dtca-${p}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a context that keeps its log lines (warn and info) */
function logged(): { ctx: RunContext; lines: string[] } {
  const lines: string[] = [];
  const say = (a: unknown, b?: string) => void lines.push(typeof a === 'string' ? a : (b ?? ''));
  return { ctx: quietContext({ log: { debug: () => {}, info: say, warn: say, error: say } }), lines };
}

/** a lock file as another node's dtca leaves it, last refreshed `ageS` seconds ago */
function foreignLock(path: string, ageS: number, host = 'node-b'): void {
  writeFileSync(path, `${host}:4242:0123456789ab\n`);
  const t = new Date(Date.now() - ageS * 1000);
  utimesSync(path, t, t);
}

const saved = { ...LEASE };
beforeEach(() => Object.assign(LEASE, { heartbeatMs: 100, observeMs: 400, staleMs: 1500, pollMs: 20 }));
afterEach(() => Object.assign(LEASE, saved));

describe('lease locks', () => {
  it("another host's lock with an old mtime is taken over once it has looked unchanged for observeMs, with one line naming the holder", async () => {
    const p = join(tmp('lease-old'), 'stage-0.lock');
    foreignLock(p, 3600);
    const { ctx, lines } = logged();
    const t0 = performance.now();
    const release = await lock(p, ctx, 'model k stage 0');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LEASE.observeMs);
    expect(performance.now() - t0).toBeLessThan(LEASE.staleMs);
    expect(readFileSync(p, 'utf8')).toMatch(new RegExp(`^${hostname()}:${process.pid}:[0-9a-f]{12}\\n$`));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^model k stage 0: took over the lock of node-b:4242:0123456789ab \(its heartbeat stopped: unchanged for \d+ s here, last refreshed 3600 s ago/,
      ),
    );
    expect(readdirSync(join(p, '..'))).toEqual(['stage-0.lock']); // no takeover lock left
    release();
    expect(existsSync(p)).toBe(false);
  });

  it('a lock refreshed by its holder is waited for however old its mtime looks (a clock behind); once the heartbeat stops it is taken over', async () => {
    const p = join(tmp('lease-live'), 'stage-0.lock');
    foreignLock(p, 3600);
    // the other node's heartbeat, with its clock an hour behind this one's
    let beats = 0;
    const beat = setInterval(() => {
      const t = new Date(Date.now() - 3600_000 + ++beats);
      utimesSync(p, t, t);
    }, LEASE.heartbeatMs);
    let got = false;
    const waiting = lock(p, quietContext(), 'model k stage 0').then((r) => ((got = true), r));
    await sleep(3 * LEASE.staleMs);
    expect(got).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('node-b:4242:0123456789ab\n');
    clearInterval(beat);
    const release = await waiting;
    expect(readFileSync(p, 'utf8')).toMatch(new RegExp(`^${hostname()}:${process.pid}:`));
    release();
  }, 20_000);

  it('a lock refreshed a moment ago and then no more is taken over only after staleMs (the holder may just be slow)', async () => {
    const p = join(tmp('lease-recent'), 'stage-0.lock');
    foreignLock(p, 0);
    const t0 = performance.now();
    const release = await lock(p, quietContext(), 'model k stage 0');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LEASE.staleMs - 50);
    release();
  });

  it("this host's lock naming pid 0 is taken over at once (kill(0, 0) succeeds: it looked held for ever)", async () => {
    const p = join(tmp('lease-pid0'), 'assemble.lock');
    writeFileSync(p, `${hostname()}:0\n`);
    const { ctx, lines } = logged();
    const t0 = performance.now();
    const release = await lock(p, ctx, 'model k');
    expect(performance.now() - t0).toBeLessThan(LEASE.observeMs);
    expect(lines).toEqual([`model k: took over the lock of ${hostname()}:0 (its process 0 is gone)`]);
    release();
  });

  it("this host's lock whose process is gone is taken over at once; the holder's heartbeat refreshes the mtime", async () => {
    const p = join(tmp('lease-dead'), 'assemble.lock');
    writeFileSync(p, `${hostname()}:999999999\n`);
    const { ctx, lines } = logged();
    const t0 = performance.now();
    const release = await lock(p, ctx, 'model k');
    expect(performance.now() - t0).toBeLessThan(LEASE.observeMs);
    expect(lines).toEqual([`model k: took over the lock of ${hostname()}:999999999 (its process 999999999 is gone)`]);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(p, old, old);
    // the heartbeat thread refreshes it: within a few heartbeats once it runs, but a loaded host may
    // start the thread late (three heartbeats, 300 ms, were too few with two test processes beside
    // it), so wait up to a hundred for the refresh itself rather than a fixed time
    const fresh = () => Date.now() - statSync(p).mtimeMs < 2 * LEASE.heartbeatMs;
    for (let i = 0; i < 100 && !fresh(); i++) await sleep(LEASE.heartbeatMs);
    expect(fresh()).toBe(true);
    release();
  });

  it("the heartbeat runs on its own thread: it refreshes the lock while the holder's thread is busy", async () => {
    const p = join(tmp('lease-busy'), 'stage-0.lock');
    const release = await lock(p, quietContext(), 'model k stage 0');
    const old = new Date(Date.now() - 3600_000);
    const fresh = () => Date.now() - statSync(p).mtimeMs < 2 * LEASE.heartbeatMs;
    // the heartbeat thread has started once it refreshes an old mtime (a loaded host starts it late)
    utimesSync(p, old, old);
    for (let i = 0; i < 100 && !fresh(); i++) await sleep(LEASE.heartbeatMs);
    expect(fresh()).toBe(true);
    utimesSync(p, old, old);
    // this thread blocked for five heartbeats (a long synchronous stretch of training)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 * LEASE.heartbeatMs);
    expect(fresh()).toBe(true);
    release();
    expect(existsSync(p)).toBe(false);
  });

  it('five waiters on a stale lock of another host: never two holders at once, each gets it in turn', async () => {
    const p = join(tmp('lease-race'), 'stage-0.lock');
    foreignLock(p, 3600);
    let holding = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const release = await lock(p, quietContext(), `waiter ${i}`);
        holding++;
        most = Math.max(most, holding);
        order.push(i);
        await sleep(2 * LEASE.heartbeatMs); // heartbeats while the others wait
        holding--;
        release();
      }),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(readdirSync(join(p, '..'))).toEqual([]);
  }, 20_000);

  it('a takeover lock left by a waiter killed while taking over is removed once it has looked unchanged for observeMs', async () => {
    const p = join(tmp('lease-mutex'), 'stage-0.lock');
    foreignLock(p, 3600);
    writeFileSync(`${p}.takeover`, 'node-c:99:bbbbbbbbbbbb\n');
    const { ctx, lines } = logged();
    const release = await lock(p, ctx, 'model k stage 0');
    expect(lines.filter((l) => !/ is training it; waiting /.test(l))).toEqual([
      `model k stage 0: removed the takeover lock ${p}.takeover of node-c:99:bbbbbbbbbbbb (left by a waiter killed while taking the lock over)`,
      expect.stringMatching(/^model k stage 0: took over the lock of node-b:4242:0123456789ab \(its heartbeat stopped/),
    ]);
    expect(readdirSync(join(p, '..'))).toEqual(['stage-0.lock']);
    release();
  });

  it('a holder whose lock was taken over says so, and its release leaves the new lock alone', async () => {
    const p = join(tmp('lease-lost'), 'stage-0.lock');
    const { ctx, lines } = logged();
    const release = await lock(p, ctx, 'model k stage 0');
    writeFileSync(p, 'node-c:77:aaaaaaaaaaaa\n'); // what a taker on another node writes
    await sleep(4 * LEASE.heartbeatMs);
    expect(lines).toEqual([`model k stage 0: its lock ${p} is no longer this process's (taken over after its heartbeat stopped for too long)`]);
    release();
    expect(readFileSync(p, 'utf8')).toBe('node-c:77:aaaaaaaaaaaa\n');
  });
});

describe('lease locks taken over by several processes at once', () => {
  it('four processes racing to take over dead locks 12 times: never two holders at once', async () => {
    const d = tmp('lease-procs');
    const p = join(d, 'stage-0.lock');
    const log = join(d, 'log');
    const go = join(d, 'go');
    writeFileSync(log, '');
    foreignLock(p, 3600);
    // 20 ms between judging a lock stale and taking it over: others act in between, as over NFS
    const lease = JSON.stringify({ heartbeatMs: 50, observeMs: 200, staleMs: 5000, pollMs: 5, judgeToTakeMs: 20 });
    const kids = Array.from(
      { length: 4 },
      () =>
        new Promise<number | null>((resolve) => {
          const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'lease-child.ts'), p, log, go, '3', lease], {
            cwd: ROOT,
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          c.on('exit', resolve);
        }),
    );
    await sleep(1500); // all four started (tsx) and waiting for go
    writeFileSync(go, '');
    expect(await Promise.all(kids)).toEqual([0, 0, 0, 0]);
    const events = readFileSync(log, 'utf8').trim().split('\n');
    expect(events).toHaveLength(24);
    // in, out, in, out, ...: each in followed by the same process's out
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i], events.slice(0, i + 2).join(', ')).toMatch(/^in \d+$/);
      expect(events[i + 1]).toBe(events[i].replace('in', 'out'));
    }
    expect(readdirSync(d).filter((f) => f.endsWith('.takeover'))).toEqual([]);
  }, 120_000);
});

describe('a stage whose trainer was SIGKILLed on another node', () => {
  it("its stage lock and the trainer's own lock inside it are taken over, the stage trains and the model is written", async () => {
    const d = tmp('lease-train');
    const budget = join(d, 'tiny.json');
    writeFileSync(budget, JSON.stringify(TINY_SWEEP_BUDGET));
    const b = resolveSweepBudget(budget);
    const plan: TrainPlan = { budget: b.name, options: b.options, chip: 'ideal', model_cache: null };
    const job = modelJobFor(resolveConfig('dtca-paper', { sets: ['fabric.L=16', 'fabric.rules="G8"'] }), 1, plan, 2);
    const cache = join(d, 'cache');
    const entry = modelEntry(cache, job.key);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(entry, { recursive: true });
    // what node-b's task left: the cache's stage lock and dtca train's stage lock (sim/train/checkpoint.ts: "pid host")
    foreignLock(join(entry, 'stage-0.lock'), 3600);
    writeFileSync(`${modelFile(cache, job.key)}.stage-0.lock`, '4242 node-b\n');
    const { ctx, lines } = logged();
    const r = await trainModel(cache, job, { ctx });
    expect(r).toMatchObject({ trained: true, assembled: true });
    expect(isModelDone(cache, job.key)).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/stage 0: took over the lock of node-b:4242:0123456789ab \(its heartbeat stopped/));
    expect(readdirSync(entry).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 300_000);
});
