/**
 * Long synchronous work that can give its thread's event loop a turn. Such work is written as a
 * generator that takes `due` and yields (at a sweep boundary, between chunks of a read) whenever
 * `due()` says a pause is due; a driver runs it:
 *
 *   runThrough(work)   to the end without pausing (`due` is never true): worker threads,
 *                      training, every synchronous caller
 *   runPaced(work)     pausing for a macrotask (setImmediate) at most every `everyMs` (50 ms) and
 *                      once before the first step, so that what waits on this thread's event loop
 *                      — a signal handler (process.on('SIGINT'), cli/signals.ts), a timer, a
 *                      message — runs while the work goes on. A pause costs one clock read per
 *                      step and a few microseconds per pause.
 *
 * The work's results do not depend on the driver: a pause only lets other callbacks run.
 */

/** A generator of work that yields where it pauses and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Builds the work given `due`: true when the work should yield (pause) at this point. */
export type Work<T> = (due: () => boolean) => Steps<T>;

const never = () => false;

/** Run the work to its end in this call, without pausing. */
export function runThrough<T>(work: Work<T>): T {
  const g = work(never);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** One turn of the event loop: the poll phase (I/O, signals) runs before this resolves. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Run the work, giving the event loop a turn before its first step and then at most every `everyMs`. */
export async function runPaced<T>(work: Work<T>, everyMs = 50): Promise<T> {
  let last = -Infinity;
  const g = work(() => performance.now() - last >= everyMs);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await turn();
    last = performance.now();
  }
}
