/**
 * The output discipline of every dtca command. It lives in fabric/, the lowest layer, beside
 * UserError, so that traces/ and sim/ share it without traces/ importing sim/.
 *
 *  - A file is written to a temporary name in its own directory (`NAME.tmp-PID-N`, created
 *    exclusively), every write checked for a short count, fsynced, and renamed into place; the
 *    directory is fsynced after the rename. Readers never see half a file.
 *  - It is renamed only over a path that is absent, or a regular file that dtca itself wrote: a
 *    file in a directory this command claimed (a fresh run directory), an empty file, or a file
 *    carrying the signature of the kind being written (a dtca trace, a dtca model, dtca's CSV
 *    header, a .npy array, a PNG, an SVG, a VCD, the quality classifier's weights, a training log
 *    or manifest). Never over an input of the same command, a file this command is still writing,
 *    a device, a FIFO, a socket or a directory. A symlink is followed to its target and the target
 *    is judged.
 *  - A full disk (ENOSPC, EDQUOT), a file-size limit (EFBIG) or any other write error is a
 *    UserError of one line naming the file; the temporary file is removed.
 *  - A process killed outright (SIGKILL, a crash, a signal's default action) can leave its
 *    temporary file. The first file a command writes in a directory removes such leftovers there
 *    (removeStaleTemps): regular files named exactly `NAME.tmp-PID-N` whose PID is no live process
 *    on this host and that nobody has written to for STALE_TEMP_MS (the name carries no host: on a
 *    file system shared between machines the age keeps another machine's file being written).
 *
 * The session (inputs read, outputs claimed, directories claimed, the temporary-name counter) is
 * an OutputSession object per command: the CLI makes one for each command line (cli/session.ts)
 * and runs the command in it (withOutputSession: an AsyncLocalStorage, so that the session is the
 * command's in everything it does, synchronously or after an await, without every writer and
 * reader taking it as an argument); a job on a worker thread runs in its own (sim/worker.ts).
 * Outside any session (a library call) the first file call starts one for the rest of the caller's
 * async flow, for the files it writes and the directories it claims; the files a library call
 * reads are not remembered there (each such call is one of its own, not part of a command: a
 * caller may read a trace back and then write that path anew, as the same workload run twice).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { UserError } from './errors.js';

/** What a file is, for recognising a file dtca wrote before (see SIGNATURES). */
export type OutputKind = 'trace' | 'model' | 'classifier' | 'train-log' | 'train-manifest' | 'csv' | 'npy' | 'png' | 'svg' | 'vcd' | 'json';

/** How each kind of file dtca writes begins (the first 4 KiB are looked at). */
const SIGNATURES: Record<OutputKind, (head: Buffer) => boolean> = {
  trace: (h) => (h[0] === 0xde || (h[0] >= 0x80 && h[0] <= 0x8f)) && h.subarray(0, 64).includes('dtca-trace'),
  model: (h) => h.includes('dtca-model'),
  classifier: (h) => h.subarray(0, 64).includes('dtca-classifier'),
  // dtca train's log (MODEL.train.jsonl): one epoch record per line, each starting with its stage
  'train-log': (h) => h.subarray(0, 9).toString('latin1') === '{"stage":',
  // and its manifest (MODEL.manifest.json): the model it describes first, dtca's version among the keys
  'train-manifest': (h) => /^\{\s*"model":/.test(h.toString('latin1')) && h.includes('"dtca_version"'),
  csv: (h) => h.subarray(0, 20).toString('latin1').startsWith('chain,stage,sweep,'),
  npy: (h) => h.subarray(0, 6).toString('latin1') === '\x93NUMPY',
  png: (h) => h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  svg: (h) => /^\s*(<\?xml[^>]*>\s*)?<svg\b/.test(h.toString('latin1')),
  // dtca's VCD files begin with $date then $version naming dtca (traces/vcd.ts)
  vcd: (h) => /^\$date\b[^$]*\$end\s*\$version\s+dtca\b/.test(h.toString('latin1')),
  // JSON outputs are written only into directories the command claimed
  json: () => false,
};

/** What one command read, is writing and claimed (see the header). */
export class OutputSession {
  /** dev:ino of every file the command reads */
  readonly inputs = new Map<string, string>();
  /** final paths this command is writing (open, not yet renamed into place or dropped) */
  readonly outputs = new Set<string>();
  /** directories this command claimed (created, or found empty): their files are its own */
  readonly dirs = new Set<string>();
  /** the last N of the temporary names NAME.tmp-PID-N */
  tmpCounter = 0;
  /** directories whose stale temporary files were looked for (removeStaleTemps) */
  readonly swept = new Set<string>();
  /**
   * @param library the session a library caller's first file call started (currentSession): the
   * inputs of its calls are not kept (noteInput), since one call's input is not another's
   */
  constructor(readonly library = false) {}
}

const current = new AsyncLocalStorage<OutputSession>();

/** Run `fn` (and all it awaits) in `session`: a command (cli/main.ts), a job on a worker thread (sim/worker.ts). */
export function withOutputSession<T>(session: OutputSession, fn: () => T): T {
  return current.run(session, fn);
}

/** A new session for the rest of the current synchronous and asynchronous work (tests that call the rules directly). */
export function resetOutputSession(): OutputSession {
  const s = new OutputSession();
  current.enterWith(s);
  return s;
}

/**
 * The session of the work running now. Outside any (a library call), the first call starts one
 * for the rest of the caller's synchronous and asynchronous work, as resetOutputSession does: a
 * library caller's train() claims its checkpoint directory and rewrites its files in one session.
 */
function currentSession(): OutputSession {
  let s = current.getStore();
  if (!s) {
    s = new OutputSession(true);
    current.enterWith(s);
  }
  return s;
}

const idOf = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * Note a file the command reads: no output of the same command may replace it. A library caller's
 * read (outside any command's session) is a call of its own: nothing to note.
 */
export function noteInput(path: string): void {
  const session = current.getStore();
  if (!session || session.library) return;
  try {
    const st = statSync(path);
    if (st.isFile()) session.inputs.set(idOf(st), path);
  } catch {
    /* unreadable inputs are reported by their reader */
  }
}

/** Note a directory the command claimed (a fresh or emptied run directory). */
export function noteClaimedDir(path: string): void {
  currentSession().dirs.add(resolve(path));
}

/** `-` names standard output where a command writes a file. */
export const isStdout = (p: string | undefined): boolean => p === '-';

const FAULTS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file size limit reached',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENOENT: 'no such directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

/** A write error as one line naming the file; `fault` marks a failing disk rather than a bad path. */
export class OutputError extends UserError {
  constructor(
    message: string,
    readonly code: string,
    readonly fault: boolean,
  ) {
    super(message);
  }
}

/** An I/O error (errno) while writing `path` as a UserError of one line; anything else is returned as is. */
export function outputError(e: unknown, path: string, doing = 'writing'): unknown {
  if (e instanceof UserError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return e;
  const what = FAULTS[code] ?? (e as Error).message.replace(/^[A-Z]+: /, '').split(',')[0];
  const fault = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || code === 'EIO';
  return new OutputError(`${path}: ${what} (${code}) while ${doing}`, code, fault);
}

/** Is this an I/O fault of the disk (full, quota, size limit, I/O error), not a bad path? */
export const isDiskFault = (e: unknown): boolean => e instanceof OutputError && e.fault;

/** A short description of what sits at a path that is not a regular file. */
function notAFile(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device';
  if (st.isSocket()) return 'is a socket';
  return 'is not a regular file';
}

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4096);
    const n = readSync(fd, b, 0, b.length, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export interface TargetOptions {
  /** what the user called the path, for messages (e.g. "--csv out.csv") */
  label: string;
  kind: OutputKind;
  /**
   * A stream that must be readable at its own name after any crash (a trace): when nothing is at
   * the final path, it is created there exclusively (O_EXCL) and written in place; commit() then
   * only fsyncs. A file that replaces an existing one still goes through a temporary name.
   */
  inPlace?: boolean;
}

/**
 * Where a file for `path` may be written: the absolute final path (a symlink resolved to its
 * target), after checking the rules in this file's header. Throws a UserError naming the flag
 * and the path when the path may not be written. Does not claim the path (see claimOutput).
 */
export function checkTarget(path: string, o: TargetOptions): string {
  return checkTargetIn(currentSession(), path, o);
}

function checkTargetIn(session: OutputSession, path: string, o: TargetOptions): string {
  if (path === '') throw new UserError(`${o.label}: an empty path; name a file`);
  let abs = resolve(path);
  let st: Stats | null = null;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(e, abs, 'looking at the output path');
  }
  if (st?.isSymbolicLink()) {
    try {
      abs = realpathSync(abs);
      st = lstatSync(abs);
    } catch {
      throw new UserError(`${o.label}: a symbolic link to nowhere`);
    }
  }
  const dir = dirname(abs);
  let dst: Stats;
  try {
    dst = statSync(dir);
  } catch {
    throw new UserError(`${o.label}: directory ${dir} does not exist; create it first`);
  }
  if (!dst.isDirectory()) throw new UserError(`${o.label}: ${dir} is not a directory`);
  if (session.outputs.has(abs)) throw new UserError(`${o.label}: ${abs} is already being written by this command`);
  if (st === null) return abs;
  const odd = notAFile(st);
  // a directory named where a file goes (`--trace runs/`): the file it likely meant, inside it
  if (st.isDirectory()) throw new UserError(`${o.label}: ${abs} is a directory; name a file in it, e.g. ${join(abs, EXAMPLE_NAMES[o.kind])}`);
  if (odd)
    throw new UserError(
      `${o.label}: ${abs} ${odd}; dtca writes only regular files${o.kind === 'csv' || o.kind === 'model' ? " (use '-' for standard output)" : ''}`,
    );
  const input = session.inputs.get(idOf(st));
  if (input !== undefined) throw new UserError(`${o.label}: ${abs} is an input of this command (${input}); write the output elsewhere`);
  if (st.size === 0 || session.dirs.has(dir)) return abs;
  let head: Buffer;
  try {
    head = readHead(abs);
  } catch (e) {
    throw outputError(e, abs, 'looking at the file it would replace');
  }
  if (!SIGNATURES[o.kind](head)) {
    throw new UserError(
      `${o.label}: ${abs} exists and is not a ${KIND_NAMES[o.kind]} written by dtca; refusing to replace it (remove it first, or choose another name)`,
    );
  }
  return abs;
}

/** a file name of each kind, for the refusal of a directory given where the file goes */
const EXAMPLE_NAMES: Record<OutputKind, string> = {
  trace: 'trace.dtct',
  model: 'model.mp',
  classifier: 'classifier.msgpack',
  'train-log': 'model.mp.train.jsonl',
  'train-manifest': 'model.mp.manifest.json',
  csv: 'export.csv',
  npy: 'export.npy',
  png: 'chart.png',
  svg: 'chart.svg',
  vcd: 'waves.vcd',
  json: 'out.json',
};

const KIND_NAMES: Record<OutputKind, string> = {
  trace: 'trace',
  model: 'model file',
  classifier: 'classifier weights file',
  'train-log': 'training log',
  'train-manifest': 'training manifest',
  csv: 'CSV export',
  npy: '.npy array',
  png: 'PNG',
  svg: 'SVG',
  vcd: 'VCD file',
  json: 'JSON file',
};

/** Check a target and claim it for this command (a second claim of the same path is refused). */
export function claimOutput(path: string, o: TargetOptions): string {
  return claimIn(currentSession(), path, o);
}

function claimIn(session: OutputSession, path: string, o: TargetOptions): string {
  const abs = checkTargetIn(session, path, o);
  session.outputs.add(abs);
  return abs;
}

/** Write all of `b[off, off+len)` to fd, looping over short writes; a write that makes no progress is ENOSPC. */
export function writeAllSync(fd: number, b: Uint8Array, off = 0, len = b.length - off, position: number | null = null): void {
  let done = 0;
  while (done < len) {
    const n = writeSync(fd, b, off + done, len - done, position === null ? null : position + done);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += n;
  }
}

function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some file systems cannot fsync a directory; the rename itself is atomic */
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * A file being written under a temporary name beside its final path. write() appends (checking
 * for short writes), commit() fsyncs, closes and renames it into place, abort() removes it. The
 * final path is claimed when the SafeFile opens, so two outputs of one command cannot collide.
 */
export class SafeFile {
  readonly tmpPath: string;
  readonly finalPath: string;
  /** written at its final name (TargetOptions.inPlace, nothing was there): no rename at commit */
  readonly inPlace: boolean = false;
  private fd: number | null;
  /** the session that claimed the final path (the command's, wherever commit or abort is called) */
  private readonly session = currentSession();
  bytes = 0;

  constructor(
    path: string,
    private readonly o: TargetOptions,
  ) {
    const session = this.session;
    this.finalPath = claimIn(session, path, o);
    const dir = dirname(this.finalPath);
    const base = basename(this.finalPath);
    let fd: number | null = null;
    let tmp = '';
    if (o.inPlace) {
      try {
        fd = openSync(this.finalPath, 'wx', 0o666);
        tmp = this.finalPath;
        this.inPlace = true;
        fsyncDir(dir); // the name itself survives a crash
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          session.outputs.delete(this.finalPath);
          throw outputError(e, this.finalPath, `creating ${base}`);
        }
        // something is there (checked by claimOutput: a file of this kind): replace it by rename
      }
    }
    if (!session.swept.has(dir)) {
      session.swept.add(dir);
      removeStaleTemps(dir);
    }
    while (fd === null) {
      tmp = join(dir, `${base}.tmp-${process.pid}-${++session.tmpCounter}`);
      try {
        fd = openSync(tmp, 'wx', 0o666);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        session.outputs.delete(this.finalPath);
        throw outputError(e, this.finalPath, `creating ${base}`);
      }
    }
    this.fd = fd;
    this.tmpPath = tmp;
  }

  get open(): boolean {
    return this.fd !== null;
  }

  /**
   * The open descriptor, for a writer thread that appends to it (traces/ring.ts); the thread has
   * stopped writing before commit() or abort() is called, and its bytes are added to `bytes`.
   */
  get descriptor(): number {
    if (this.fd === null) throw new Error(`${this.finalPath}: write after close`);
    return this.fd;
  }

  /** Append bytes; an I/O error becomes a one-line UserError (the file stays, for abort or commit). */
  write(b: Uint8Array | string, off = 0, len?: number): void {
    if (this.fd === null) throw new Error(`${this.finalPath}: write after close`);
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    const n = len ?? buf.length - off;
    try {
      writeAllSync(this.fd, buf, off, n);
    } catch (e) {
      throw outputError(e, this.finalPath, `writing ${basename(this.finalPath)}`);
    }
    this.bytes += n;
  }

  /** Write at a position (e.g. a header rewritten at the end). */
  writeAt(b: Uint8Array, position: number): void {
    if (this.fd === null) throw new Error(`${this.finalPath}: write after close`);
    try {
      writeAllSync(this.fd, b, 0, b.length, position);
    } catch (e) {
      throw outputError(e, this.finalPath, `writing ${basename(this.finalPath)}`);
    }
  }

  /** fsync and close (no rename): what is written is on disk under the temporary name. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      throw outputError(e, this.finalPath, `writing ${basename(this.finalPath)}`);
    }
    closeSync(fd);
  }

  /**
   * fsync, close and rename into place (re-checking the target: it may have changed meanwhile).
   * On failure the temporary file stays (the caller decides: abort() removes it).
   */
  commit(): string {
    this.close();
    if (this.inPlace) {
      this.session.outputs.delete(this.finalPath);
      return this.finalPath;
    }
    try {
      const now = checkTargetAgain(this.session, this.finalPath, this.o);
      renameSync(this.tmpPath, now);
    } catch (e) {
      throw outputError(e, this.finalPath, `renaming ${basename(this.tmpPath)} into place`);
    }
    this.session.outputs.delete(this.finalPath);
    fsyncDir(dirname(this.finalPath));
    return this.finalPath;
  }

  /** Close and remove the temporary file; the final path is left as it was. */
  abort(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        /* already failing */
      }
      this.fd = null;
    }
    this.removeTmp();
    this.session.outputs.delete(this.finalPath);
  }

  private removeTmp(): void {
    try {
      unlinkSync(this.tmpPath);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Create `path` exclusively (O_EXCL) holding `text`: a lock file. Throws the open's error as it is
 * (EEXIST: someone holds it), and the write's (ENOSPC, EFBIG, EIO: never EEXIST) after removing
 * the file it created, so no empty lock is left behind; each caller says what the lock is for
 * (errnoText for the reason).
 */
export function createExclusive(path: string, text: string, mode = 0o666): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, text);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(path); // this process's own file, created just now
    } catch {
      /* gone already */
    }
    throw e;
  }
  closeSync(fd);
}

/** An errno error's reason for a message: "disk full, ENOSPC", or the code alone, or the error's text. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return String(e);
  return FAULTS[code] ? `${FAULTS[code]}, ${code}` : code;
}

/**
 * Is process `pid` alive on this host? kill(pid, 0): only "no such process" (ESRCH) says it is
 * gone; EPERM is someone else's live process, and anything else is taken as alive too. A pid that
 * is not a positive integer is no process (kill(0, 0) and kill(-n, 0) ask about process groups and
 * succeed, so a lock or temporary file naming pid 0 looked held for ever).
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** How long a temporary file of a process that is gone must have gone unwritten before removeStaleTemps removes it (10 min). */
export const STALE_TEMP_MS = 10 * 60_000;

/** the temporary names of SafeFile: NAME.tmp-PID-N */
const TEMP_NAME = /^.+\.tmp-(\d+)-(\d+)$/;

/**
 * Remove the temporary files a killed writer left in `dir` (see the header): regular files named
 * `NAME.tmp-PID-N` whose PID is no live process here and that were last written over `ageMs` ago.
 * Returns the names removed. Anything it cannot read or remove is left alone.
 */
export function removeStaleTemps(dir: string, ageMs = STALE_TEMP_MS, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile() || now - st.mtimeMs < ageMs) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

/** The check before the rename: the claim is this command's own now, so only the file's kind matters. */
function checkTargetAgain(session: OutputSession, abs: string, o: TargetOptions): string {
  session.outputs.delete(abs);
  try {
    return checkTargetIn(session, abs, o);
  } finally {
    session.outputs.add(abs);
  }
}

/** Write a whole file the safe way (temporary name, short-write checks, fsync, rename). */
export function writeFileSafe(path: string, data: string | Uint8Array, o: TargetOptions): string {
  const f = new SafeFile(path, o);
  try {
    f.write(data);
    return f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}

/**
 * Create a directory and any missing parents, one level at a time (no recursive mkdir: Node's
 * loops on some paths, e.g. under /proc). Returns the first directory it created, or undefined
 * when the directory already existed. Every existing component must be a directory.
 */
export function makeDirs(path: string, label: string): string | undefined {
  const abs = resolve(path);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let st: Stats | null = null;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new UserError(`${label}: ${p}: ${FAULTS[code ?? ''] ?? code}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new UserError(`${label}: ${p} exists and is not a directory`);
      break;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  let first: string | undefined;
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'EEXIST' && existsSync(d) && statSync(d).isDirectory()) continue;
      throw new UserError(`${label}: cannot create ${d} (${FAULTS[code] ?? code})`);
    }
    first ??= d;
  }
  return first;
}
