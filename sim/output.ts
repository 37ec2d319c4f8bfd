/** Run directories and files, written to a temporary name and renamed: no reader sees half a file. */
import { mkdirSync, renameSync, writeFileSync, existsSync, statSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../fabric/errors.js';

declare const __DTCA_VERSION__: string;
/** The package version, baked in by the build (sources run by tests see '0.0.0-dev'). */
export const VERSION = typeof __DTCA_VERSION__ === 'string' ? __DTCA_VERSION__ : '0.0.0-dev';

/** manifest.json: version, seed, command, start and end times, Node version, and any extras. */
export function writeManifest(dir: string, seed: number, started: Date, extra: Record<string, unknown> = {}): void {
  writeJson(join(dir, 'manifest.json'), {
    dtca_version: VERSION,
    seed,
    command: ['dtca', ...process.argv.slice(2)],
    started: started.toISOString(),
    finished: new Date().toISOString(),
    node: process.version,
    ...extra,
  });
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
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
export function claimDefaultDir(parent: string, name: string, now = new Date()): string {
  const base = resolve(parent);
  try {
    mkdirSync(base, { recursive: true });
  } catch (e) {
    throw new UserError(`${base}: cannot create (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const dir = join(base, `${stamp(now)}-${randomBytes(2).toString('hex')}-${name}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new UserError(`${dir}: cannot create (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  throw new UserError(`${base}: could not find a free directory name for ${name}`);
}

/** The run directory: --out DIR (created with parents if missing), or a new runs/<time>-<suffix>-<name>. */
export function prepareRunDir(out: string | undefined, name: string, now = new Date()): string {
  if (out === undefined) return claimDefaultDir('runs', name, now);
  const dir = resolve(out);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${out}: exists and is not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`--out ${dir}: cannot create (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return dir;
}

/**
 * Run `body` with a run directory; if it fails and the directory was made for it and is still
 * empty, remove it again, so a refused run leaves nothing behind.
 */
export async function withRunDir<T>(out: string | undefined, name: string, body: (dir: string) => Promise<T>): Promise<T> {
  const existed = out !== undefined && existsSync(resolve(out));
  const dir = prepareRunDir(out, name);
  try {
    return await body(dir);
  } catch (e) {
    if (!existed && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
