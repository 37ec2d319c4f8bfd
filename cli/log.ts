/**
 * pino logger on stderr: JSON lines when stderr is piped (for machines), one line per event on a
 * terminal (for people): time, level, message, then key=value with figures rounded to 4
 * significant digits; coloured unless NO_COLOR is set (https://no-color.org). Written through
 * process.stderr, synchronously, so nothing is lost at exit and tests can capture it.
 *
 * The level: DTCA_LOG (checked by the CLI: a bad value is a one-line error), or --quiet (warnings
 * and errors only) / --verbose (debug), which win over DTCA_LOG.
 */
import { pino, type Logger } from 'pino';
import { writeAboveBar } from './progress.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function isLogLevel(v: string | undefined): v is (typeof LOG_LEVELS)[number] {
  return (LOG_LEVELS as readonly string[]).includes(v ?? '');
}

const LABELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '90'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

function useColour(): boolean {
  const nc = process.env.NO_COLOR;
  return (nc === undefined || nc === '') && process.env.TERM !== 'dumb';
}

/** A figure for people: integers as they are, others to 4 significant digits. */
export function roundFigure(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(4)));
  return v
    .toExponential(3)
    .replace(/\.?0+e/, 'e')
    .replace('e+', 'e');
}

function plainValue(v: unknown): string {
  if (typeof v === 'number') return roundFigure(v);
  if (typeof v === 'string') return /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Number(roundFigure(x)) : x));
}

/** One JSON log line as one line for a terminal. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const colour = useColour();
  const [label, code] = LABELS[o.level as number] ?? [String(o.level), '0'];
  const t = new Date(o.time as number);
  const hh = (n: number) => String(n).padStart(2, '0');
  const time = `${hh(t.getHours())}:${hh(t.getMinutes())}:${hh(t.getSeconds())}`;
  const fields = Object.entries(o)
    .filter(([k]) => !['level', 'time', 'msg', 'pid', 'hostname'].includes(k))
    .map(([k, v]) => `${k}=${plainValue(v)}`)
    .join(' ');
  const lvl = colour ? `\x1b[${code}m${label}\x1b[0m` : label;
  const msg = String(o.msg ?? '').replace(/[\r\n]+/g, ' ');
  return `${time} ${lvl} ${msg}${fields ? `  ${colour ? '\x1b[2m' : ''}${fields}${colour ? '\x1b[0m' : ''}` : ''}\n`;
}

const destination = {
  write(line: string): void {
    if (process.stderr.isTTY) writeAboveBar(process.stderr, prettyLine(line));
    else process.stderr.write(line);
  },
};

export function makeLogger(level: string | undefined = process.env.DTCA_LOG): Logger {
  return pino({ level: isLogLevel(level) ? level : 'info', base: undefined }, destination);
}
