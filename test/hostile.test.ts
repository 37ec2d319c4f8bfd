// Issue 19, "Faults and hostile input" (items 15-23): each case failed before its fix. Most run the
// CLI's main() in-process (test/helpers/cli-pool.ts); a kill, a signal or a lock needs processes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliPool, contractBroken, errorLines, DIST_CLI, type CliResult } from './helpers/cli-pool.js';
import { slurmScript } from '../sim/sweep/slurm.js';
import { UserError, Interrupted } from '../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../fabric/read.js';
import { execFileSync } from 'node:child_process';
import { truncateSync } from 'node:fs';

let pool: CliPool;
let dir: string;
const q = { DTCA_LOG: 'warn' };
const SMALL = ['--set', 'fabric.L=8', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.tile.size=8'];
let model: string; // a small DTM model (JSON)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-hostile-'));
  pool = new CliPool(30_000);
  model = join(dir, 'm.json');
  const r = await pool.run(['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '10', '--stages', '2', '--weights', 'random:0.3', '--out', model], q);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** exit 2 and one line "dtca: ..." matching `re` */
function refused(r: CliResult, re: RegExp): void {
  expect(contractBroken(r), r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(2);
  expect(errorLines(r.stderr)).toHaveLength(1);
  expect(errorLines(r.stderr)[0]).toMatch(re);
}

/** Spawn the built CLI; resolves with its exit code, signal and stderr. `until` decides when to kill it. */
function spawnCli(args: string[], until?: { ready: () => boolean; signal: NodeJS.Signals }, env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [DIST_CLI, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DTCA_LOG: 'warn', ...env } });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (until) {
      timer = setInterval(() => {
        if (until.ready()) {
          clearInterval(timer);
          p.kill(until.signal);
        }
      }, 10);
    }
    p.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stderr, ms: performance.now() - t0 });
    });
  });
}

describe('15: a trace survives SIGKILL at its own name', () => {
  it('a traced run killed outright leaves DIR/trace.dtct readable up to its last whole record', async () => {
    const out = join(dir, 'killed');
    const trace = join(out, 'trace.dtct');
    // long enough that the kill lands mid-run: the writer flushes after each stage and every second
    const r = await spawnCli(['run', '--model', model, ...SMALL, '--sweeps', '4000', '--images', '64', '--out', out, '--trace'], {
      ready: () => existsSync(out) && readdirSync(out).some((f) => f.startsWith('trace.dtct') && statSync(join(out, f)).size > 20_000),
      signal: 'SIGKILL',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const i = await pool.run(['trace', 'inspect', trace, '--json'], q);
    expect(i.code, i.stderr).toBe(0);
    const s = JSON.parse(i.stdout) as { status: string; sweep_records: number };
    expect(s.status).toMatch(/^(truncated|incomplete)$/); // cut mid-record, or at a record's end
    expect(s.sweep_records).toBeGreaterThan(0);
  }, 120_000);
});

describe('16: nothing reaches a generated script unquoted', () => {
  const base = { points: 4, sweepId: 'abc123' };
  /** How sbatch reads an #SBATCH line's arguments (Slurm's src/sbatch/opt.c, _get_argument): quotes, backslash escapes, an unescaped # ends the line. */
  function sbatchArgs(line: string): string[] {
    const out: string[] = [];
    let p = 0;
    for (;;) {
      while (p < line.length && /\s/.test(line[p])) p++;
      if (p >= line.length) return out;
      let arg = '';
      let q: string | null = null;
      let esc = false;
      let hash = false;
      while (p < line.length && (q !== null || !/\s/.test(line[p]))) {
        const c = line[p];
        if (esc) esc = false;
        else if (c === '\\') {
          esc = true;
          p++;
          continue;
        } else if (q !== null) {
          if (c === q) {
            q = null;
            p++;
            continue;
          }
        } else if (c === '"' || c === "'") {
          q = c;
          p++;
          continue;
        } else if (c === '#') {
          hash = true;
          break;
        }
        arg += c;
        p++;
      }
      if (q !== null) throw new Error(`unmatched ${q}`);
      if (arg) out.push(arg);
      if (hash) return out;
    }
  }

  it('a sweep directory whose name holds a newline is refused, naming the reason', () => {
    const d = join(dir, 'evil\ntouch /tmp/pwned\n#');
    expect(() => slurmScript({ ...base, dir: d })).toThrow(UserError);
    expect(() => slurmScript({ ...base, dir: d })).toThrow(/control character|newline/);
    expect(existsSync(join(d, 'slurm'))).toBe(false);
  });

  it('a sweep id or --dtca command with a newline is refused', () => {
    const d = join(dir, 'plain');
    expect(() => slurmScript({ ...base, dir: d, sweepId: 'x\nrm -rf ~' })).toThrow(UserError);
    expect(() => slurmScript({ ...base, dir: d, dtca: 'dtca\nrm -rf ~' })).toThrow(UserError);
  });

  it('spaces, quotes, #, % and $ in the directory reach sbatch and bash as themselves', () => {
    const d = join(dir, `we ird #1 'q' "d" 100% $HOME`);
    const script = slurmScript({ ...base, dir: d });
    const lines = script.split('\n');
    // every line is the shebang, a comment/#SBATCH line, or one of the script's own commands
    for (const l of lines) expect(l === '' || l.startsWith('#') || l.startsWith('set -euo') || l.startsWith('exec ')).toBe(true);
    const out = lines.find((l) => l.includes('--output'))!;
    const args = sbatchArgs(out.slice('#SBATCH'.length));
    expect(args).toHaveLength(1);
    // Slurm's filename pattern: %% is a literal %
    expect(args[0].replace(/^--output=/, '').replace(/%%/g, '%')).toBe(join(d, 'slurm', '%A_%a.out'));
    const job = lines.find((l) => l.startsWith('#SBATCH --job-name'))!;
    expect(sbatchArgs(job.slice(7))).toEqual(['--job-name=dtca-sweep-abc123']);
  });
});

describe('17: models and every other input are regular files of bounded size, read so a signal ends it', () => {
  it('devices are refused as models, configs and traces, at once', async () => {
    for (const dev of ['/dev/zero', '/dev/urandom']) {
      refused(await pool.run(['model', 'info', dev], q), new RegExp(`${dev}: is a device; a model file must be a regular file`));
      refused(await pool.run(['run', '--model', dev, ...SMALL, '--images', '1', '--out', join(dir, 'never')], q), /is a device/);
      refused(await pool.run(['trace', 'inspect', dev], q), /is a device/);
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a FIFO with no writer neither blocks the open nor is read', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['model', 'info', fifo], ['config', 'validate', fifo], ['trace', 'inspect', fifo], ['run', '--model', fifo, ...SMALL]]) {
      const r = await pool.run(args, q);
      expect(r.hang, args.join(' ')).toBe(false);
      refused(r, /FIFO/);
    }
  });

  it('a file larger than its kind may be is refused before anything is allocated', async () => {
    const big = join(dir, 'huge.mp');
    writeFileSync(big, '');
    truncateSync(big, 64 * 2 ** 30); // sparse: 64 GiB that take no disk
    const r = await pool.run(['model', 'info', big], q);
    refused(r, /64\.0 GiB, more than a model file may be \(2\.0 GiB\)/);
    expect(r.ms).toBeLessThan(5000);
    const cfg = join(dir, 'huge.json');
    writeFileSync(cfg, '');
    truncateSync(cfg, READ_LIMITS.json + 1);
    refused(await pool.run(['config', 'validate', cfg], q), /more than a config file may be/);
  });

  it('a signal between chunks ends the read (Interrupted), a whole read returns every byte', () => {
    const f = join(dir, 'chunks.bin');
    writeFileSync(f, Buffer.alloc(20 * 2 ** 20, 7)); // three chunks
    expect(readInputFile(f, { what: 'x', max: 2 ** 30 }).length).toBe(20 * 2 ** 20);
    let asked = 0;
    expect(() => readInputFile(f, { what: 'x', max: 2 ** 30, stop: () => ++asked > 1 })).toThrow(Interrupted);
    expect(asked).toBe(2); // the first chunk was read, the second never
  });

  it('SIGTERM while dtca run reads a large model: exit 143 promptly, nothing written', async () => {
    const big = join(dir, 'slow.mp');
    writeFileSync(big, '');
    truncateSync(big, READ_LIMITS.model - 1); // just under the limit: a read of 2 GiB
    const out = join(dir, 'sigterm-run');
    let t0 = 0;
    const r = await spawnCli(['run', '--model', big, ...SMALL, '--out', out], {
      // start-up and the signal watcher take well under 2.5 s; the read of 2 GiB takes longer here
      ready: () => (t0 ||= performance.now()) > 0 && performance.now() - t0 > 2500,
      signal: 'SIGTERM',
    });
    expect(r.code, r.stderr).toBe(143);
    expect(r.ms).toBeLessThan(2500 + 3000); // the next 8 MiB chunk, not the rest of the file
    expect(r.stderr).toMatch(/interrupted by SIGTERM before the run started; nothing was written/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
