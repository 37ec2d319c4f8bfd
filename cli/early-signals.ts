/**
 * SIGINT and SIGTERM while dtca starts, before a command has begun.
 *
 * Loading the program (evaluating the bundle, yargs parsing the command line) takes 0.1-0.2 s on a
 * quiet host and over a second on a busy one, and a command takes over the signals only when it
 * starts (cli/signals.ts listenForStop): a Ctrl-C in that time took the default action, ending the
 * process with no word (exit 130). The program, dist/dtca.js, is a small bundle (cli/program.ts)
 * whose first code is this module's: its handler is installed before the CLI bundle (dist/cli.js,
 * 2 MB) is even compiled. It holds a signal, and releaseSignals (a middleware of every command, run just
 * before the command's handler) gives the event loop the turn a signal that came meanwhile needs to
 * reach it, gives the signals back (their default actions, until a command listens) and returns
 * the signal held: the command then does not start, and main() says so in one line (exit 130/143).
 * No command writes anything before it starts, so nothing is left behind. A second signal while
 * one is held takes the default action at once, as after cli/signals.ts's first.
 *
 * What comes before this module runs, Node's own start (about 0.1 s here, more on a busy host), is
 * not covered: a signal then ends the process by its default action, before dtca has done anything.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

interface Hold {
  held: NodeJS.Signals | null;
  holding: boolean;
  onSignal: (name: NodeJS.Signals) => void;
}

/**
 * One hold per process, kept on globalThis: the program (dist/dtca.js, cli/program.ts) and the CLI
 * bundle it loads (dist/cli.js) each hold a copy of this module, and the second releases what the
 * first holds.
 */
const KEY = Symbol.for('dtca.early-signals');
const hold: Hold = ((globalThis as Record<symbol, Hold | undefined>)[KEY] ??= {
  held: null,
  holding: false,
  onSignal(name: NodeJS.Signals): void {
    if (hold.held === null) {
      hold.held = name;
      return;
    }
    // a second signal: the default action, now
    stop();
    process.kill(process.pid, name);
  },
});

function stop(): void {
  if (!hold.holding) return;
  hold.holding = false;
  for (const s of SIGNALS) process.off(s, hold.onSignal);
}

/** Hold SIGINT and SIGTERM until releaseSignals (the program does this as it starts). */
export function holdSignals(): void {
  if (hold.holding) return;
  hold.holding = true;
  for (const s of SIGNALS) process.on(s, hold.onSignal);
}

/**
 * Give the signals back (their default actions) and return the one held while dtca started, or
 * null. Gives the event loop its turns first (only when holding), so that a signal that came while
 * the thread was busy loading reaches the handler: it waits for the loop's next poll phase, and two
 * check phases on it has been handled (as sim/pool.ts runJobs gives them).
 */
export async function releaseSignals(): Promise<NodeJS.Signals | null> {
  if (!hold.holding) return null;
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  stop();
  const s = hold.held;
  hold.held = null;
  return s;
}

/** Is the module at `url` the program being run (process.argv[1]), on its main thread? */
export function isProgram(url: string): boolean {
  if (!isMainThread || process.argv[1] === undefined) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

// in dist/dtca.js this is the program's first code; run as a script, cli/main.ts imports this first
if (isProgram(import.meta.url)) holdSignals();
