// Stopping the built dtca with signals, for the tests of clean stops (train-interrupt,
// sweep-interrupt, signal-commands): spawn it, send the signal at a fixed point, read what it said.
import { readdirSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { CLI } from './cli.js';
import { shellQuote } from '../../sim/sweep/slurm.js';

export interface Stopped {
  code: number | null;
  signal: string | null;
  stderr: string;
}

export interface InterruptOptions {
  /** more environment (DTCA_LOG is info) */
  env?: Record<string, string>;
  /** between the first signal and a second one (default 50 ms) */
  gapMs?: number;
  /** dtca leads its own process group and the signals go to the whole group, as a terminal's Ctrl-C does */
  group?: boolean;
}

/**
 * Spawn dtca and send `signals` (one, or a second `gapMs` after the first) once `ready(stderr)`
 * (polled every 10 ms: a log line, a file that appeared).
 */
export function interrupt(
  args: string[],
  signals: NodeJS.Signals | NodeJS.Signals[],
  ready: (stderr: string) => boolean,
  o: InterruptOptions = {},
): Promise<Stopped> {
  const sigs = Array.isArray(signals) ? signals : [signals];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DTCA_LOG: 'info', ...o.env }, detached: Boolean(o.group) });
    const send = (sig: NodeJS.Signals) => (o.group ? process.kill(-p.pid!, sig) : p.kill(sig));
    let err = '';
    let sent = false;
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const poll = setInterval(() => {
      if (!sent && ready(err)) {
        sent = true;
        clearInterval(poll);
        send(sigs[0]);
        if (sigs[1]) setTimeout(() => send(sigs[1]), o.gapMs ?? 50);
      }
    }, 10);
    p.on('exit', (code, sig) => {
      clearInterval(poll);
      resolve({ code, signal: sig, stderr: err });
    });
  });
}

/** the lines that are not JSON log records */
export const said = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{"level":'));

/** every file and directory under `dir`, relative to it (one renamed or removed meanwhile is skipped) */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const go = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const e of names) {
      const p = join(d, e);
      out.push(relative(dir, p));
      try {
        if (statSync(p).isDirectory()) go(p);
      } catch {
        /* gone meanwhile */
      }
    }
  };
  go(dir);
  return out;
}

/** a dtca command line as the stop line quotes it */
export const command = (args: string[]) => ['dtca', ...args].map(shellQuote).join(' ');
