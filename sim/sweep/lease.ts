/**
 * The lock files of the model cache (a stage being trained, a model being written), as leases, so
 * that a lock left by a process killed outright (SIGKILL, a node that died) on another machine of a
 * cluster does not keep every other task waiting for ever.
 *
 * A lock is a file created exclusively (O_EXCL) holding `host:pid:nonce`. While it holds the lock,
 * its holder refreshes the file's mtime every `heartbeatMs` (10 s) from a thread of its own,
 * whatever the thread that holds the lock is doing. A waiter takes the lock over:
 *
 *   - at once when the holder is a process of this host that is gone (its pid is no live process);
 *   - when the lock's heartbeat has stopped: the waiter has seen the file (inode, mtime, size,
 *     text) unchanged for `observeMs` (60 s) of its own monotonic clock, AND either its mtime is
 *     older than `staleMs` (5 minutes) by the waiter's clock or the waiter has seen it unchanged
 *     for `staleMs` itself. The heartbeat stops only when the holder's process does (killed,
 *     or frozen: SIGSTOP, a suspended node), so a live holder is never taken over, however far
 *     the machines' clocks differ: its mtime changes six times in any 60 s. The observation of at
 *     least 60 s also outlasts an NFS client's attribute cache (acregmax, 60 s by default; reading
 *     the file revalidates it).
 *
 * Taking over is safe between any number of waiters: a waiter that judged the lock stale takes
 * the takeover lock `NAME.takeover` (created exclusively: one waiter at a time), looks again and
 * deletes the lock only if it is still the file it judged stale (same inode, mtime, size and
 * text), then creates its own exclusively like any waiter (another may win that: it then waits on
 * the new lock). The takeover lock is held for a look and an unlink; one that stays unchanged for
 * `observeMs` was left by a waiter killed in between and is removed (one line). A lock is never
 * moved away or deleted while it may be live, so no holder loses its lock to a waiter unless its
 * heartbeat stopped for longer than the limits above. The holder's heartbeat reads the lock
 * before each refresh: a holder whose lock is no longer its own (taken over after its heartbeat
 * stopped for too long, e.g. a process suspended with SIGSTOP for minutes) says so in its log, and
 * its release leaves the new holder's lock alone. What the stage's trainers write is whole either
 * way (atomic renames), and the same stage trained twice writes the same bytes (training is
 * deterministic).
 */
import { openSync, closeSync, readSync, fstatSync, unlinkSync, constants } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Interrupted, UserError } from '../../fabric/errors.js';
import { notRegular } from '../../fabric/read.js';
import { createExclusive, errnoText, processAlive } from '../../fabric/files.js';
import type { RunContext } from '../context.js';

/** The lease's periods (ms); tests shorten them. */
export const LEASE = {
  /** the holder refreshes its lock's mtime this often */
  heartbeatMs: 10_000,
  /** a lock must look unchanged this long to the waiter itself before it is judged stale */
  observeMs: 60_000,
  /** ... and its mtime be older than this (by the waiter's clock), or look unchanged this long */
  staleMs: 300_000,
  /** a waiter looks again this often */
  pollMs: 1000,
  /**
   * a pause between judging a lock stale and taking it over: 0; tests widen it to what a network
   * file system's round trips can make it, where other waiters act in between
   */
  judgeToTakeMs: 0,
};

/** Who holds a lock, from its text: `host:pid[:nonce]` (the nonce tells two locks of one process apart). */
export interface LockHolder {
  host: string;
  pid: number | null;
  text: string;
}

export function parseHolder(text: string): LockHolder {
  const [host, pid] = text.trim().split(':');
  return { host: host ?? '', pid: /^\d+$/.test(pid ?? '') ? Number(pid) : null, text: text.trim() };
}

interface Seen {
  ino: number;
  mtimeMs: number;
  size: number;
  text: string;
}

/** The lock file's text and identity, read from one open file; null when there is none; `odd` for a directory, FIFO, device. */
function look(path: string): Seen | { odd: string } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO with no writer cannot block the open
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') return { odd: 'is a directory' };
    throw e;
  }
  try {
    const st = fstatSync(fd);
    const odd = notRegular(st);
    if (odd) return { odd };
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, text: buf.subarray(0, n).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

const same = (a: Seen, b: Seen) => a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size && a.text === b.text;

/**
 * Remove the lock at `path` if it is still the file `stale`, under the takeover lock
 * `path.takeover` (created exclusively; held for a look and an unlink). True when it was removed;
 * false when another waiter is taking it over (the takeover lock exists) or the lock is no longer
 * the stale file (released, or taken over and created anew meanwhile).
 */
function removeIfStill(path: string, stale: Seen, mine: string): boolean {
  const mutex = `${path}.takeover`;
  try {
    createExclusive(mutex, mine);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    const now = look(path);
    if (now === null || 'odd' in now || !same(now, stale)) return false;
    unlinkSync(path);
    return true;
  } finally {
    unlinkSync(mutex);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LockOptions {
  /** called after a lock of another process was taken over (before this process's own lock is created) */
  onTakeOver?: (holder: LockHolder) => void;
}

/**
 * Take the lock file `path` for this process (`what` names it in messages: "model KEY stage 0"),
 * waiting while another holds it (logging once) and taking over a lock whose holder is gone or
 * whose heartbeat has stopped (one warning naming the holder and why). Returns the release, which
 * stops the heartbeat and removes the lock if it is still this holder's. While it waits, `ctx.stop()`
 * ends the wait with an Interrupted.
 */
export async function lock(path: string, ctx: RunContext, what: string, o: LockOptions = {}): Promise<() => void> {
  const nonce = randomBytes(6).toString('hex');
  const mine = `${hostname()}:${process.pid}:${nonce}\n`;
  let said = false;
  let seen: Seen | null = null;
  let seenSince = 0; // performance.now() when `seen` was first seen as it is
  // the takeover lock of another waiter, as seen: held for a look and an unlink, so one that stays
  // unchanged for observeMs was left by a waiter killed in between, and is removed
  let mutexSeen: Seen | null = null;
  let mutexSince = 0;
  const mutex = `${path}.takeover`;
  for (;;) {
    try {
      createExclusive(path, mine);
      return hold(path, mine, ctx, what);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`${what}: cannot create ${path} (${errnoText(e)})`);
    }
    const now = look(path);
    if (now === null) continue; // released meanwhile
    // a directory, FIFO or device at the lock's name: never released, so never waited for
    if ('odd' in now) throw new UserError(`${what}: ${path} ${now.odd}; the model cache keeps its lock there (remove it)`);
    if (!seen || !same(seen, now)) {
      seen = now;
      seenSince = performance.now();
    }
    const holder = parseHolder(now.text);
    let why: string | null = null;
    if (holder.host === hostname() && holder.pid !== null && holder.pid !== process.pid && !processAlive(holder.pid)) why = `its process ${holder.pid} is gone`;
    else {
      const unchanged = performance.now() - seenSince;
      const age = Date.now() - now.mtimeMs;
      if (unchanged >= LEASE.observeMs && (age >= LEASE.staleMs || unchanged >= LEASE.staleMs))
        why = `its heartbeat stopped: unchanged for ${Math.round(unchanged / 1000)} s here, last refreshed ${Math.round(age / 1000)} s ago by this host's clock`;
    }
    if (why) {
      if (LEASE.judgeToTakeMs > 0) await sleep(LEASE.judgeToTakeMs);
      if (removeIfStill(path, now, mine)) {
        ctx.log.warn({ lock: path, holder: holder.text, why }, `${what}: took over the lock of ${holder.text || 'an unknown holder'} (${why})`);
        o.onTakeOver?.(holder);
        seen = null;
        continue;
      }
      const m = look(mutex);
      if (m && !('odd' in m)) {
        if (!mutexSeen || !same(mutexSeen, m)) {
          mutexSeen = m;
          mutexSince = performance.now();
        } else if (performance.now() - mutexSince >= LEASE.observeMs) {
          ctx.log.warn(
            { lock: mutex, holder: m.text.trim() },
            `${what}: removed the takeover lock ${mutex} of ${m.text.trim() || 'an unknown waiter'} (left by a waiter killed while taking the lock over)`,
          );
          try {
            unlinkSync(mutex);
          } catch {
            /* gone meanwhile */
          }
          mutexSeen = null;
        }
      }
    }
    if (!said)
      ctx.log.info(
        { lock: path, holder: holder.text },
        `${what}: another process (${holder.text || 'unknown'}) is training it; waiting (its lock is taken over if its heartbeat stops)`,
      );
    said = true;
    if (ctx.stop()) throw new Interrupted({}, 'stop requested'); // while waiting for another process's lock
    await sleep(LEASE.pollMs);
  }
}

/**
 * The heartbeat, on a thread of its own (a worker thread per lock held, a few MB): it refreshes
 * the lock's mtime every `ms` while the lock holds the holder's text, whatever the holder's thread
 * is doing (a long synchronous stretch of training, a data set being decoded), and posts "lost"
 * when the lock is no longer the holder's twice in a row. Only the process stopping (killed,
 * frozen) stops it. Plain JavaScript, so that it runs as it is from the bundle and from the sources.
 */
const HEARTBEAT = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { path, mine, ms } = workerData;
const ours = () => {
  try {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) return false;
      const b = Buffer.alloc(4096);
      return b.toString('utf8', 0, fs.readSync(fd, b, 0, b.length, 0)) === mine;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
};
let misses = 0;
const timer = setInterval(() => {
  if (ours()) {
    misses = 0;
    try {
      const t = new Date();
      fs.utimesSync(path, t, t);
    } catch {}
    return;
  }
  if (++misses === 2) {
    clearInterval(timer);
    parentPort.postMessage('lost');
  }
}, ms);
`;

/** Hold the lock: the heartbeat (its own thread), and the release. */
function hold(path: string, mine: string, ctx: RunContext, what: string): () => void {
  const beat = new Worker(HEARTBEAT, { eval: true, workerData: { path, mine, ms: LEASE.heartbeatMs } });
  beat.unref(); // never keeps the process alive
  beat.on('message', () =>
    ctx.log.warn({ lock: path }, `${what}: its lock ${path} is no longer this process's (taken over after its heartbeat stopped for too long)`),
  );
  beat.on('error', (e) => ctx.log.warn({ lock: path, error: String(e) }, `${what}: the heartbeat of ${path} stopped`));
  const ours = () => {
    try {
      const s = look(path);
      return s !== null && !('odd' in s) && s.text === mine;
    } catch {
      return false;
    }
  };
  let released = false;
  return () => {
    if (released) return;
    released = true;
    void beat.terminate();
    if (ours()) {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  };
}
