/** Run directories and files, written to a temporary name and renamed: no reader sees half a file. */
import { mkdirSync, renameSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../fabric/errors.js';

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The run directory: --out DIR, or runs/<time>-<name>. Created (with parents) if missing. */
export function prepareRunDir(out: string | undefined, name: string, now = new Date()): string {
  const dir = resolve(out ?? join('runs', `${stamp(now)}-${name}`));
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${out}: exists and is not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`--out ${dir}: cannot create (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return dir;
}
