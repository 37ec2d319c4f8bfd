/**
 * Run directories and the files in them (the rules for every file: fabric/files.ts).
 *
 * A run directory is claimed when the run starts: created exclusively (a default name carries the
 * time to the millisecond and a random suffix, and a name that is taken is drawn again, so two runs
 * started together get two directories), or an existing empty
 * directory; a directory that holds anything is refused unless --force, which clears it first
 * (and only if it is a dtca run directory). manifest.json is written at the claim with
 * "status": "running" and rewritten when the run ends ("complete", "interrupted" or "failed"); a
 * run that is refused after the claim (a user error) removes what it wrote, so it leaves nothing.
 */
import { readdirSync, rmSync, linkSync, renameSync, existsSync, lstatSync, statSync, mkdirSync, type Stats } from 'node:fs';
import { join, resolve, dirname, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { makeDirs, noteClaimedDir, writeFileSafe, outputError, isDiskFault, SafeFile, type OutputKind } from '../../fabric/files.js';

declare const __DTCA_VERSION__: string;
/** The package version, baked in by the build (sources run by tests see '0.0.0-dev'). */
export const VERSION = typeof __DTCA_VERSION__ === 'string' ? __DTCA_VERSION__ : '0.0.0-dev';

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';

function kindOf(path: string): OutputKind {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return ext === 'png' || ext === 'svg' || ext === 'csv' || ext === 'npy' || ext === 'vcd' ? ext : ext === 'dtct' ? 'trace' : 'json';
}

/**
 * Write a file the safe way (fabric/files.ts); its kind (what an existing file must look like to
 * be replaced outside a directory the command claimed) follows from the extension unless given.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, kind: OutputKind = kindOf(path)): void {
  writeFileSafe(path, data, { label: path, kind });
}

/** The path of the first number in `v` that is not finite (JSON would write it as null), or null. */
export function nonFinitePath(v: unknown, at = ''): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : at || '(value)';
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = nonFinitePath(v[i], `${at}[${i}]`);
      if (p) return p;
    }
  } else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    for (const [k, x] of Object.entries(v)) {
      const p = nonFinitePath(x, at ? `${at}.${k}` : k);
      if (p) return p;
    }
  }
  return null;
}

/** JSON written the safe way; a NaN or infinite number is a bug (JSON would silently write null). */
export function writeJson(path: string, value: unknown): void {
  const bad = nonFinitePath(value);
  if (bad) throw new Error(`${basename(path)}: ${bad} is not a finite number`);
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** manifest.json: version, seed, command, start and end times, Node version, status, and any extras. */
export function writeManifest(dir: string, seed: number, started: Date, extra: Record<string, unknown> = {}): void {
  writeJson(join(dir, 'manifest.json'), manifest(seed, started, { status: 'complete', ...extra }));
}

function manifest(seed: number | undefined, started: Date, extra: Record<string, unknown>): Record<string, unknown> {
  const m: Record<string, unknown> = {
    dtca_version: VERSION,
    seed,
    command: ['dtca', ...process.argv.slice(2)],
    started: started.toISOString(),
    node: process.version,
    ...extra,
  };
  if (m.status !== 'running') m.finished = new Date().toISOString();
  return m;
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${p(d.getMilliseconds(), 3)}`;
}

/**
 * A new default directory `<parent>/<time to the ms>-<4 hex>-<name>`, created exclusively (the
 * last component without `recursive`, so an existing directory is never reused): on EEXIST it
 * tries again with another suffix. Runs started together never share a directory.
 */
export function claimDefaultDir(parent: string, name: string, now = new Date(), label = parent): string {
  const base = resolve(parent);
  makeDirs(base, label);
  for (let attempt = 0; attempt < 100; attempt++) {
    const dir = join(base, `${stamp(now)}-${randomBytes(2).toString('hex')}-${name}`);
    try {
      makeDirExclusive(dir, label);
      return dir;
    } catch (e) {
      if (!(e instanceof Taken)) throw e;
    }
  }
  throw new UserError(`${base}: could not find a free directory name for ${name}`);
}

export interface ClaimOptions {
  /** clear a used directory first (only a dtca run directory) */
  force?: boolean;
  /** the command has a --force flag (the refusal then mentions it) */
  canForce?: boolean;
  /** the flag that named the directory, for messages */
  flag?: string;
  now?: Date;
  /** recorded in the manifest written at the claim */
  seed?: number;
  /** write manifest.json ("status": "running") at the claim (default true) */
  manifest?: boolean;
}

/** Is `dir` a run directory dtca wrote (its manifest.json says so)? */
function isRunDir(dir: string): boolean {
  try {
    // bounded: a FIFO or a device named manifest.json is not a run directory's (fabric/read.ts)
    const m = JSON.parse(readInputFile(join(dir, 'manifest.json'), { what: 'manifest', max: READ_LIMITS.json }).toString('utf8')) as Record<string, unknown>;
    return typeof m.dtca_version === 'string' && Array.isArray(m.command);
  } catch {
    return false;
  }
}

/** A claimed run directory. Files go in with file(); finish() or abandon() ends the claim. */
export class RunDir {
  private ended = false;
  readonly started: Date;
  constructor(
    readonly path: string,
    /** the directory was created for this run (else it existed, empty or cleared) */
    readonly created: boolean,
    private readonly seed: number | undefined,
    started: Date,
  ) {
    this.started = started;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  /** Rewrite manifest.json with the run's final status (and any extras). */
  finish(status: Exclude<RunStatus, 'running'>, extra: Record<string, unknown> = {}): void {
    writeJson(this.file('manifest.json'), manifest(this.seed, this.started, { status, ...extra }));
    this.ended = true;
  }

  /**
   * The run ended with an error. A refusal (a user error) removes everything the run wrote, so a
   * refused run leaves nothing; a fault of the disk (full, size limit) or a bug keeps what was
   * written (a trace reads to its last whole record) and marks the manifest "failed" where it
   * still can.
   */
  abandon(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (isDiskFault(err) || !(err instanceof UserError)) {
      try {
        writeJson(this.file('manifest.json'), manifest(this.seed, this.started, { status: 'failed', error: err instanceof Error ? err.message : String(err) }));
      } catch {
        /* the disk is full: the manifest keeps "running", which says the same */
      }
      return;
    }
    if (this.created) rmSync(this.path, { recursive: true, force: true });
    else for (const f of readdirSync(this.path)) rmSync(join(this.path, f), { recursive: true, force: true });
  }
}

/**
 * Claim the run directory: `out` (any flag's value) or a new runs/<time>-<suffix>-<name>
 * (claimDefaultDir). See the header.
 * The manifest written at the claim ("status": "running") also arbitrates two runs claiming the
 * same empty directory at once: it is published with link(), which fails if the name exists.
 */
/** The line refusing an output directory that holds something not this command's (`--out DIR`, `--npy DIR`): what is in it. */
export function notEmptyMessage(label: string, entries: string[], more = ''): string {
  const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, ... (${entries.length} entries)` : '');
  return `${label}: not empty (${shown}); choose another directory${more}`;
}

export function claimRunDir(out: string | undefined, name: string, opts: ClaimOptions = {}): RunDir {
  const flag = opts.flag ?? '--out';
  const started = opts.now ?? new Date();
  let dir: string;
  let created = false;
  if (out === '') throw new UserError(`${flag} '': an empty path; name a directory`);
  // `-` names standard output wherever dtca writes a file; a directory of files cannot go there (was a directory named "-")
  if (out === '-') throw new UserError(`${flag} -: this command writes a directory of files, not standard output; name a directory (./- for one called "-")`);
  if (out === undefined) {
    dir = claimDefaultDir('runs', name, started, flag);
    created = true;
  } else {
    dir = resolve(out);
    let st: Stats | null = null;
    try {
      st = lstatSync(dir);
      // a symbolic link to a directory is that directory (a link to nowhere stays a link: refused below)
      if (st.isSymbolicLink()) st = statSync(dir);
    } catch {
      st = st?.isSymbolicLink() ? st : null;
    }
    if (st === null) {
      makeDirs(dirname(dir), `${flag} ${out}`);
      try {
        makeDirExclusive(dir, `${flag} ${out}`);
      } catch (e) {
        if (e instanceof Taken) throw new UserError(`${flag} ${out}: another run created it just now`);
        throw e;
      }
      created = true;
    } else {
      if (st.isSymbolicLink()) throw new UserError(`${flag} ${out}: a symbolic link to nowhere`);
      if (!st.isDirectory()) throw new UserError(`${flag} ${out}: exists and is not a directory; choose another ${flag}`);
      const entries = readdirSync(dir);
      if (entries.length > 0) {
        if (!opts.force) {
          throw new UserError(notEmptyMessage(`${flag} ${out}`, entries, opts.canForce ? ', or add --force to clear it first' : ''));
        }
        if (!isRunDir(dir))
          throw new UserError(`${flag} ${out}: not a dtca run directory (no manifest.json written by dtca); --force clears only run directories`);
        for (const f of entries) rmSync(join(dir, f), { recursive: true, force: true });
      }
    }
  }
  noteClaimedDir(dir);
  const rd = new RunDir(dir, created, opts.seed, started);
  if (opts.manifest === false) return rd;
  // the manifest, published exclusively: if another run got here first, we lose
  const m = new SafeFile(join(dir, '.manifest.claim'), { label: flag, kind: 'json' });
  try {
    m.write(JSON.stringify(manifest(opts.seed, started, { status: 'running' }), null, 2) + '\n');
    m.close();
    const target = join(dir, 'manifest.json');
    try {
      linkSync(m.tmpPath, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UserError(`${flag} ${out ?? dir}: another run claimed it just now`);
      // a file system without hard links: check, then rename (not atomic against a second run)
      if ((code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') && !existsSync(target)) renameSync(m.tmpPath, target);
      else throw outputError(e, target, 'claiming the run directory');
    }
  } catch (e) {
    m.abort();
    if (created) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  m.abort(); // the temporary name (the manifest itself is linked in place)
  return rd;
}

class Taken extends Error {}

/** Create one directory (its parent exists), exclusively: Taken when the name is in use. */
function makeDirExclusive(d: string, label: string): void {
  try {
    mkdirSync(d);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Taken();
    throw new UserError(`${label}: cannot create ${d} (${code ?? String(e)})`);
  }
}

/**
 * The run directory, claimed without a manifest, for commands that write their own files and
 * manifest (dtca rng, dtca sweep); see claimRunDir.
 */
export function prepareRunDir(out: string | undefined, name: string, now = new Date()): string {
  return claimRunDir(out, name, { now, manifest: false }).path;
}

/**
 * Run `body` in a claimed run directory. If it throws, the directory is abandoned (a refusal
 * leaves nothing; a disk fault keeps what was written and says "failed").
 */
export async function withRunDir<T>(out: string | undefined, name: string, body: (dir: string, rd: RunDir) => Promise<T>, opts: ClaimOptions = {}): Promise<T> {
  const rd = claimRunDir(out, name, opts);
  try {
    return await body(rd.path, rd);
  } catch (e) {
    rd.abandon(e);
    throw e;
  }
}
