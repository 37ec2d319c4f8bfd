/**
 * Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM.
 *
 * The handlers are ordinary process.on() listeners on the main thread. The simulation that runs on
 * this thread gives the event loop a turn before its first sweep and then at least every 50 ms at
 * a sweep boundary (fabric/pause.ts: runPaced, used by generate and runModel), a long model read
 * between chunks, and the run directory between pictures; a signal's handler runs in such a turn
 * and records the signal, which the run's `shouldStop` reads before the next sweep. Work on worker
 * threads (--workers, sweep points) does not ask: `received` settles and the pool ends those
 * threads (sim/pool.ts: a run's `stopped`, the sweep pool's stop).
 *
 * After the first signal the handlers are removed (at the end of the turn that ran it), so the
 * signals' default actions return: a second Ctrl-C or SIGTERM ends the process there and then,
 * whatever the main thread is doing, as without dtca's handling. One that arrives in the same turn
 * as the first (both waited while the main thread was busy) reaches the handler, which says so on
 * stderr and ends the process the same way.
 */

import { writeSync } from 'node:fs';
import { Interrupted } from '../fabric/errors.js';
import { shellQuote } from '../sim/sweep/slurm.js';

/** Exit codes of a run stopped by a signal: 128 + the signal's number. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * A command stopped by a signal, as main() reports it (one line, exit 128 + the signal's number):
 * "interrupted by SIGINT<how far>; <lead>: <the command, shell-quoted>", `how` starting with its
 * own separator (": 3 of 5 points finished", " while training dtm").
 */
export function interruptedLine(signal: string, how: string, command: readonly string[], lead = 'continue with'): Interrupted {
  const i = new Interrupted({}, signal);
  i.message = `interrupted by ${signal}${how}; ${lead}: ${command.map(shellQuote).join(' ')}`;
  return i;
}

export interface StopSignal {
  /** the signal received ('SIGINT', 'SIGTERM'), or null; cheap enough to read every sweep */
  readonly signal: string | null;
  /** settles when a signal arrives (never, for an inert listener) */
  readonly received: Promise<string>;
  /** stop watching: the signals' default actions return */
  dispose(): void;
}

const inert: StopSignal = { signal: null, received: new Promise<string>(() => {}), dispose: () => {} };

/**
 * Start watching SIGINT and SIGTERM for a run. Returns an inert listener unless `enabled` (the
 * session's `signals`: the process is the dtca program, not a test or a library calling main()).
 */
export function listenForStop(enabled: boolean): StopSignal {
  if (!enabled) return inert;
  let signal: string | null = null;
  let onSignal: (s: string) => void = () => {};
  const received = new Promise<string>((resolve) => (onSignal = resolve));
  let open = true;
  const dispose = () => {
    if (!open) return;
    open = false;
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  function handler(name: NodeJS.Signals): void {
    if (signal !== null) {
      // a second signal that came before the default actions returned (both waited for one turn)
      writeSync(2, `dtca: ${name} again: stopping at once (the outputs of this run are not finished)\n`);
      dispose();
      process.kill(process.pid, name);
      return;
    }
    signal = name;
    onSignal(name);
    // from the end of this turn on, a second signal takes the default action at once, whatever the
    // main thread is doing; one already waiting in this turn comes to this handler first
    setImmediate(dispose);
  }
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return signal;
    },
    received,
    dispose,
  };
}
