/**
 * Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM.
 *
 * The simulation runs synchronously on the main thread, so a signal handler registered there with
 * process.on() would run only after the run had finished. Instead a small watcher thread owns the
 * signals: libuv delivers a signal to every event loop that watches it, and the watcher's loop is
 * always free. On the first signal it sets a flag in shared memory (the run's `shouldStop` reads
 * it once per sweep: one Atomics.load) and posts a message (for code that is waiting, e.g. on
 * worker threads). On a second signal it stops watching and re-raises the signal, so a second
 * Ctrl-C ends the process at once, as without dtca's handling.
 *
 * Node gives worker threads no public way to watch signals; the watcher uses the signal_wrap
 * binding (process.binding, deprecated as an API but present in Node 20 and 22) with its
 * deprecation warning silenced. Where it is missing, listenForStop() returns a listener that never
 * fires and signals keep their default action (the process ends at once; a trace then keeps every
 * record already written, under its temporary name).
 */
import { Worker } from 'node:worker_threads';

/** Exit codes of a run stopped by a signal: 128 + the signal's number. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface StopSignal {
  /** the signal received ('SIGINT', 'SIGTERM'), or null; cheap enough to read every sweep */
  readonly signal: string | null;
  /** settles when a signal arrives (never, for an inert listener) */
  readonly received: Promise<string>;
  /** stop watching: the signals' default actions return */
  dispose(): void;
}

const NAMES: Record<number, string> = { 2: 'SIGINT', 15: 'SIGTERM' };

const WATCHER = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const flag = new Int32Array(workerData);
const NAMES = { 2: 'SIGINT', 15: 'SIGTERM' };
let Signal = null;
const warn = process.emitWarning;
process.emitWarning = () => {};
try { Signal = process.binding('signal_wrap').Signal; } catch { Signal = null; } finally { process.emitWarning = warn; }
const handles = [];
const closeAll = () => { for (const h of handles.splice(0)) h.close(); };
if (Signal) {
  for (const n of [2, 15]) {
    const h = new Signal();
    h.onsignal = (sig) => {
      if (Atomics.add(flag, 1, 1) === 0) {
        Atomics.store(flag, 0, sig);
        parentPort.postMessage({ signal: sig });
      } else {
        writeSync(2, 'dtca: ' + NAMES[sig] + ' again: stopping at once (the outputs of this run are not finished)\\n');
        closeAll();
        process.kill(process.pid, NAMES[sig]);
      }
    };
    if (h.start(n) === 0) handles.push(h); else h.close();
  }
}
parentPort.on('message', (m) => { if (m === 'close') { closeAll(); parentPort.close(); } });
parentPort.postMessage({ ready: handles.length === 2 });
`;

/** Whether this process may take over SIGINT/SIGTERM (the CLI entry point says yes; tests and libraries no). */
export const stopSettings = { enabled: false };

const inert: StopSignal = { signal: null, received: new Promise<string>(() => {}), dispose: () => {} };

/**
 * Start watching SIGINT and SIGTERM for a run (resolves once the watcher is in place, ~20 ms).
 * Returns an inert listener when not enabled or not possible.
 */
export async function listenForStop(): Promise<StopSignal> {
  if (!stopSettings.enabled) return inert;
  const sab = new SharedArrayBuffer(8);
  const flag = new Int32Array(sab);
  const w = new Worker(WATCHER, { eval: true, workerData: sab, stdout: false, stderr: false });
  let onSignal: (s: string) => void = () => {};
  const received = new Promise<string>((resolve) => (onSignal = resolve));
  const ready = await new Promise<boolean>((resolve) => {
    w.on('message', (m: { ready?: boolean; signal?: number }) => {
      if (m.ready !== undefined) resolve(m.ready);
      if (m.signal !== undefined) onSignal(NAMES[m.signal] ?? `signal ${m.signal}`);
    });
    w.once('error', () => resolve(false));
    w.once('exit', () => resolve(false));
  });
  w.unref();
  if (!ready) {
    void w.terminate();
    return inert;
  }
  let open = true;
  return {
    get signal() {
      const s = Atomics.load(flag, 0);
      return s === 0 ? null : (NAMES[s] ?? `signal ${s}`);
    },
    received,
    dispose() {
      if (!open) return;
      open = false;
      w.postMessage('close');
    },
  };
}
