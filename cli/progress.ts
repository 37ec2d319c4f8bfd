/** A one-line progress bar on stderr, drawn only on a terminal (never into pipes or logs). */
export interface Progress {
  tick(done: number): void;
  done(): void;
}

/** the bar now on the terminal's last line (and the stream it is on), for log lines written while it is drawn */
let shown: { stream: NodeJS.WriteStream; line: string } | null = null;

/**
 * Writes `text` (whole lines) to `stream`; a bar drawn there is cleared first and drawn again below
 * the text, so log lines written while a bar runs start at the line's beginning, not after the bar.
 */
export function writeAboveBar(stream: NodeJS.WriteStream, text: string): void {
  if (shown?.stream === stream) stream.write(`\r\x1b[K${text}${shown.line}`);
  else stream.write(text);
}

/** how often a bar is drawn again with its elapsed time when no step comes (ms) */
export const REDRAW_MS = 1000;

/** A bar for `total` steps of `what`; drawn only when `enabled` (the session's: off with --quiet) and on a terminal. */
export function makeProgress(total: number, what: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY || total <= 1) return { tick: () => {}, done: () => {} };
  const t0 = performance.now();
  let last = -1;
  let at = 0;
  const draw = (n: number) => {
    const now = performance.now();
    if (n !== total && now - last < 100) return;
    last = now;
    at = n;
    const width = 30;
    const fill = Math.round((width * n) / total);
    const el = (now - t0) / 1000;
    // nothing done yet, nothing to estimate from: no "~0.0 s left" (a sweep's bar over its points
    // stays at 0 while its models train, for minutes)
    const left = n > 0 ? `, ~${((el * (total - n)) / n).toFixed(1)} s left` : '';
    const line = `[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${n}/${total} ${what}  ${el.toFixed(1)} s elapsed${left} `;
    stream.write(`\r${line}`);
    shown = { stream, line };
  };
  draw(0);
  // the elapsed time moves between steps too: a sweep's bar over its points waits for its ideal
  // twins, a training bar for its first step, and read "0.0 s elapsed" until then (unref'd: a bar
  // never holds the process open)
  const clock = setInterval(() => draw(at), REDRAW_MS);
  clock.unref();
  return {
    tick: draw,
    done: () => {
      clearInterval(clock);
      if (shown?.stream === stream) shown = null;
      stream.write('\r\x1b[K');
    },
  };
}
