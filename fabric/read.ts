/**
 * Reading an input file the bounded way. Every reader of a file a user names (model, config,
 * training checkpoint and run.json, sweep files, classifier weights, ...) goes through
 * readInputFile:
 *
 *  - only a regular file is read: a device (/dev/zero, /dev/urandom), a FIFO, a socket or a
 *    directory is refused with one line naming it. The file is opened with O_NONBLOCK, so a FIFO
 *    with no writer cannot block the open, and judged by fstat of what was opened (no race
 *    between a check and the open);
 *  - a file larger than the limit for its kind is refused before anything is allocated, and no
 *    more than the size fstat reported is ever read (a file that grows while read is cut there);
 *  - the read goes in chunks of 8 MiB, asking `stop` between chunks: a signal during the read of
 *    a large file ends it at the next chunk with Interrupted (fabric/errors.ts). readInputFileAsync
 *    reads the same way and gives the event loop a turn between chunks (fabric/pause.ts), so a
 *    signal handler on this thread runs during the read of a large file.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { Interrupted, UserError } from './errors.js';
import { runThrough, runPaced, type Steps } from './pause.js';

/** What each kind of input may weigh at most (bytes). */
export const READ_LIMITS = {
  /** a model file: L = 1024 with G24 and T = 8 in msgpack is ~1.2 GB */
  model: 2 ** 31,
  /** a training checkpoint: three float64 arrays over a stage's wires and biases */
  checkpoint: 2 ** 31,
  /** a config file, run.json, a sweep's plan, a point's files: JSON written by people or dtca */
  json: 64 * 2 ** 20,
  /** the quality classifier's weights, the ideal twin's moments */
  data: 2 ** 30,
} as const;

const CHUNK = 8 * 2 ** 20;

export interface ReadOptions {
  /** what the file is, for messages ("model file", "config file", "checkpoint") */
  what: string;
  /** the most bytes a file of this kind may have */
  max: number;
  /** asked between chunks; true ends the read with Interrupted */
  stop?: () => boolean;
}

/** A short description of what sits at a path that is not a regular file, or null for a regular file. */
export function notRegular(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a FIFO (a pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device';
  if (st.isSocket()) return 'is a socket';
  return 'is not a regular file';
}

export function formatSize(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}

const OPEN_FAULTS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EIO: 'input/output error',
};

/** The whole of a regular file of at most `o.max` bytes (see the header). */
export function readInputFile(path: string, o: ReadOptions): Buffer {
  return runThrough((due) => readSteps(path, o, due));
}

/** readInputFile giving the event loop a turn between chunks (at most every 50 ms). */
export function readInputFileAsync(path: string, o: ReadOptions): Promise<Buffer> {
  return runPaced((due) => readSteps(path, o, due));
}

function* readSteps(path: string, o: ReadOptions, due: () => boolean): Steps<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError(`${path}: cannot read ${o.what} (${OPEN_FAULTS[code] ?? code})`);
  }
  try {
    const st = fstatSync(fd);
    const odd = notRegular(st);
    if (odd) throw new UserError(`${path}: ${odd}; a ${o.what} must be a regular file`);
    if (st.size > o.max) throw new UserError(`${path}: ${formatSize(st.size)}, more than a ${o.what} may be (${formatSize(o.max)}); is it the right file?`);
    const buf = Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      if (due()) yield;
      if (o.stop?.()) throw new Interrupted({}, 'stop requested while reading');
      let n: number;
      try {
        n = readSync(fd, buf, done, Math.min(CHUNK, st.size - done), done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        throw new UserError(`${path}: cannot read ${o.what} (${OPEN_FAULTS[code] ?? code})`);
      }
      if (n === 0) break; // it shrank while read
      done += n;
    }
    return done === st.size ? buf : buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** A regular file's text (UTF-8), bounded as readInputFile. */
export function readInputText(path: string, o: ReadOptions): string {
  return readInputFile(path, o).toString('utf8');
}
