// Temporary files a killed writer left (NAME.tmp-PID-N, fabric/files.ts): the first file a command
// writes in a directory removes those of processes that are gone on this host and unwritten for
// STALE_TEMP_MS; nothing else (a live PID, a recent file, another name, a directory, a symlink).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, utimesSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTemps, processAlive, writeFileSafe, resetOutputSession, STALE_TEMP_MS } from '../fabric/files.js';

/** a PID no process has: above the kernel's largest */
function deadPid(): number {
  let max = 4194304;
  try {
    max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  } catch {
    /* not Linux: the 64-bit default */
  }
  return max + 1;
}

describe('stale temporary files', () => {
  it('processAlive: this process and init are alive, a PID above pid_max is not', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(1)).toBe(true); // EPERM for a non-root user: alive all the same
    expect(processAlive(deadPid())).toBe(false);
  });

  it('processAlive: pid 0 and negative pids are no process (kill(0, 0) and kill(-1, 0) ask about process groups and succeed)', () => {
    for (const pid of [0, -1, -process.pid, 1.5, NaN]) expect(processAlive(pid), String(pid)).toBe(false);
  });

  it('removes only exact temporary names of gone processes, old enough', () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-stale-'));
    const dead = deadPid();
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    const make = (name: string, aged = true) => {
      writeFileSync(join(d, name), 'x');
      if (aged) utimesSync(join(d, name), old, old);
    };
    make(`stats.json.tmp-${dead}-1`); // removed
    make(`.manifest.claim.tmp-${dead}-7`); // removed
    make(`stats.json.tmp-${dead}-2`, false); // recent: perhaps another machine's, being written
    make(`stats.json.tmp-${process.pid}-3`); // this process's own
    make('stats.json.tmp-1-4'); // a live process
    make(`notes.tmp-${dead}`); // not the pattern
    make(`notes.tmp-${dead}-1.bak`); // not the pattern
    mkdirSync(join(d, `dir.tmp-${dead}-1`));
    utimesSync(join(d, `dir.tmp-${dead}-1`), old, old);
    symlinkSync('/nonexistent', join(d, `link.tmp-${dead}-1`));
    expect(removeStaleTemps(d).sort()).toEqual([`.manifest.claim.tmp-${dead}-7`, `stats.json.tmp-${dead}-1`]);
    expect(readdirSync(d).sort()).toEqual(
      [
        `dir.tmp-${dead}-1`,
        `link.tmp-${dead}-1`,
        `notes.tmp-${dead}`,
        `notes.tmp-${dead}-1.bak`,
        `stats.json.tmp-${dead}-2`,
        `stats.json.tmp-${process.pid}-3`,
        'stats.json.tmp-1-4',
      ].sort(),
    );
    // once old enough, the recent one goes too
    expect(removeStaleTemps(d, STALE_TEMP_MS, Date.now() + STALE_TEMP_MS + 1000)).toEqual([`stats.json.tmp-${dead}-2`]);
  });

  it('the first file written in a directory sweeps it', () => {
    const d = mkdtempSync(join(tmpdir(), 'dtca-stale-'));
    const dead = deadPid();
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    writeFileSync(join(d, `model.mp.tmp-${dead}-1`), 'half a model');
    utimesSync(join(d, `model.mp.tmp-${dead}-1`), old, old);
    resetOutputSession();
    writeFileSafe(join(d, 'a.json'), '{}\n', { label: 'a.json', kind: 'json' });
    expect(readdirSync(d)).toEqual(['a.json']);
  });
});
