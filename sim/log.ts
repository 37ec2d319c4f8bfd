/** pino logger on stderr: JSON when piped, pretty on a terminal. */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export function makeLogger(level = process.env.DTCA_LOG ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level }, pretty({ destination: 2, colorize: true, ignore: 'pid,hostname', sync: true }));
  }
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
