// Issue 19, "Faults and hostile input" (items 15-23): each case failed before its fix. Most run the
// CLI's main() in-process (test/helpers/cli-pool.ts); a kill, a signal or a lock needs processes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { Packr, unpack } from 'msgpackr';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliPool, contractBroken, errorLines, DIST_CLI, type CliResult } from './helpers/cli-pool.js';
import { slurmScript } from '../sim/sweep/slurm.js';
import { UserError, Interrupted } from '../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../fabric/read.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { writePoint, readPoint } from '../sim/sweep/store.js';
import { lock as cacheLock } from '../sim/sweep/models.js';
import { quietContext } from '../sim/context.js';
import { resetOutputSession } from '../fabric/files.js';
import { Unpackr } from 'msgpackr';
import { encodeRecord, makePackr } from '../traces/pack.js';
import { pythonStatuses } from './fuzz/properties.js';
import { ROOT } from './helpers/cli.js';
import { DEFAULT_DATA_DIR } from '../sim/fmnist.js';
import { symlinkSync, mkdirSync } from 'node:fs';
import { interruptedMessage } from '../sim/workload.js';
import { checkSweepMemory, checkJobs, BYTES, MEMORY_MARGIN, estimateRun, bmShape, machineMemory } from '../sim/resources.js';
import { resolveConfig } from '../sim/config.js';
import { readModel } from '../sim/model.js';

const pointShapeFor = (L: number) => bmShape(resolveConfig(undefined, { sets: [`fabric.L=${L}`] }), { chains: 1, sweeps: 1 });
import { truncateSync } from 'node:fs';
import { smallTrainArgs } from './helpers/train-args.js';

let pool: CliPool;
let dir: string;
const q = { DTCA_LOG: 'warn' };
const SMALL = ['--set', 'fabric.L=8', '--set', 'fabric.rules=[[0,1]]', '--set', 'fabric.tile.size=8'];
let model: string; // a small DTM model (JSON)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-hostile-'));
  pool = new CliPool(30_000);
  model = join(dir, 'm.json');
  const r = await pool.run(
    ['model', 'new', '--L', '8', '--rules', '[[0,1]]', '--visible', '10', '--stages', '2', '--weights', 'random:0.3', '--out', model],
    q,
  );
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
function spawnCli(
  args: string[],
  until?: { ready: () => boolean; signal: NodeJS.Signals },
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [DIST_CLI, ...args], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DTCA_LOG: 'warn', ...env },
    });
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

  it('the header names the script where --out writes it, and a newline in that path is refused', () => {
    const d = join(dir, 'plain');
    expect(slurmScript({ ...base, dir: d }).split('\n')[1]).toMatch(/Submit with: sbatch \S*plain\/sweep\.sbatch$/);
    expect(slurmScript({ ...base, dir: d, scriptPath: join(dir, 'my jobs', 'a.sbatch') }).split('\n')[1]).toMatch(
      /Submit with: sbatch '\S*\/my jobs\/a\.sbatch'$/,
    );
    expect(() => slurmScript({ ...base, dir: d, scriptPath: join(dir, 'a\nrm -rf ~') })).toThrow(UserError);
    expect(slurmScript({ ...base, dir: d }).split('\n')[1]).toMatch(/^# dtca sweep abc123: 4 points in 4 array tasks\. /);
    expect(slurmScript({ ...base, points: 1, dir: d }).split('\n')[1]).toMatch(/^# dtca sweep abc123: 1 point in 1 array task\. /);
    // after a training array, the points go in with submit.sh (alone, each task would train every model)
    expect(slurmScript({ ...base, dir: d, afterTraining: true }).split('\n')[1]).toMatch(
      /Submit with: bash \S*plain\/submit\.sh \(the training array, then this one after it\)$/,
    );
  });

  it("a task's CPUs are its --jobs, up to the most --jobs takes", () => {
    const d = join(dir, 'plain');
    const exec = (cpus: number) =>
      slurmScript({ ...base, dir: d, cpusPerTask: cpus })
        .split('\n')
        .find((l) => l.startsWith('exec '))!;
    expect(exec(1024)).toMatch(/ --jobs "\$\{SLURM_CPUS_PER_TASK:-1\}"$/);
    expect(exec(2000)).toMatch(/ --jobs 1024$/);
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
    for (const args of [
      ['model', 'info', fifo],
      ['config', 'validate', fifo],
      ['trace', 'inspect', fifo],
      ['run', '--model', fifo, ...SMALL],
    ]) {
      const r = await pool.run(args, q);
      expect(r.hang, args.join(' ')).toBe(false);
      refused(r, /FIFO/);
    }
  });

  it('every other file a command reads is bounded too: a FIFO as a plan, a sweep plan, stats.json, manifest.json, results.jsonl', async () => {
    const mk = (...parts: string[]) => {
      const d = join(dir, ...parts);
      mkdirSync(d, { recursive: true });
      return d;
    };
    const fifoAt = (path: string) => (execFileSync('mkfifo', [path]), path);
    const plan = fifoAt(join(mk('bounded'), 'plan-fifo.json'));
    const sweepDir = mk('bounded', 'sweep');
    fifoAt(join(sweepDir, 'plan.json'));
    const nullPlan = mk('bounded', 'sweep-null');
    writeFileSync(join(nullPlan, 'plan.json'), 'null');
    const stats = mk('bounded', 'stats');
    fifoAt(join(stats, 'stats.json'));
    const evalDir = mk('bounded', 'eval');
    writeFileSync(join(evalDir, 'samples.npy'), 'x');
    fifoAt(join(evalDir, 'manifest.json'));
    const forced = mk('bounded', 'forced');
    fifoAt(join(forced, 'manifest.json'));
    const cases: [string[], RegExp][] = [
      [['sweep', '--plan', plan, ...SMALL, '--no-charts'], /^dtca: --plan .*plan-fifo\.json: is a FIFO \(a pipe\); a plan file must be a regular file$/],
      [['sweep', 'run', sweepDir], /sweep\/plan\.json: is a FIFO/],
      [['sweep', 'collect', sweepDir], /sweep\/plan\.json: is a FIFO/],
      [['sweep', 'run', nullPlan], /sweep-null\/plan\.json: not a dtca sweep plan$/],
      [['compare', stats, stats], /stats\/stats\.json: is a FIFO/],
      [['eval', evalDir, '--images', '2'], /eval\/manifest\.json: is a FIFO/],
      [['run', '--images', '1', '--sweeps', '1', ...SMALL, '--out', forced, '--force'], /--force clears only run directories/],
    ];
    if (existsSync(DEFAULT_DATA_DIR)) {
      const exp = mk('bounded', 'experiment');
      fifoAt(join(exp, 'results.jsonl'));
      cases.push([['experiment', 'central', '--out', exp, '--epochs', '1', '--steps', '1', '--variants', 'dtm'], /experiment\/results\.jsonl: is a FIFO/]);
    }
    for (const [args, re] of cases) {
      const r = await pool.run(args, q);
      expect(r.hang, args.join(' ')).toBe(false);
      refused(r, re);
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

const TRAIN = [...smallTrainArgs(), '--workers', '1'];

describe('18, 19: training checkpoints and run.json are checksummed and validated; --out is locked', () => {
  let base: string; // a finished 2-epoch training: base.mp and base.mp.ckpt/
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  beforeAll(async () => {
    base = join(dir, 'base.mp');
    const r = await pool.run(['train', ...TRAIN, '--epochs', '2', '--out', base], q);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  /** a copy of the finished training under a new name, with `damage` applied to its checkpoint directory */
  function copyWith(name: string, damage: (ckpt: string) => void): string {
    const out = join(dir, `${name}.mp`);
    cpSync(`${base}.ckpt`, `${out}.ckpt`, { recursive: true });
    damage(`${out}.ckpt`);
    return out;
  }
  /** rewrite stage-0's state with a valid checksum (what a careless or hostile tool could do) */
  const rewriteState = (ckpt: string, edit: (st: Record<string, unknown>) => void) => {
    const env = unpack(readFileSync(join(ckpt, 'stage-0.mp'))) as Record<string, unknown>;
    expect(env.format).toBe('dtca-checkpoint');
    const st = unpack(env.payload as Uint8Array) as Record<string, unknown>;
    edit(st);
    const payload = packr.pack(st);
    writeFileSync(join(ckpt, 'stage-0.mp'), packr.pack({ ...env, payload, sha256: createHash('sha256').update(payload).digest('hex') }));
  };
  const resume = (out: string, extra: string[] = []) => pool.run(['train', ...TRAIN, '--epochs', '2', '--resume', '--out', out, ...extra], q);

  it('MODEL.ckpt that is a regular file is named as not a directory (was "run.json is missing")', async () => {
    const out = join(dir, 'ckptfile.mp');
    writeFileSync(`${out}.ckpt`, 'not a directory');
    refused(await resume(out), /ckptfile\.mp\.ckpt: not a directory \(the training checkpoints go there\)/);
    refused(await pool.run(['train', ...TRAIN, '--epochs', '2', '--out', out], q), /ckptfile\.mp\.ckpt: not a directory/);
    expect(existsSync(out)).toBe(false);
  });

  it('one flipped bit is caught by the checksum', async () => {
    const out = copyWith('flip', (c) => {
      const b = readFileSync(join(c, 'stage-0.mp'));
      b[b.length - 100] ^= 0x04; // inside the payload's numbers
      writeFileSync(join(c, 'stage-0.mp'), b);
    });
    refused(await resume(out), /stage-0\.mp: damaged checkpoint \((checksum mismatch|not valid msgpack)/);
    expect(existsSync(out)).toBe(false); // no model written from it
  });

  it('a NaN weight, a non-integer epoch, a wrong type, a wrong length: refused naming the field', async () => {
    const cases: [string, (st: Record<string, unknown>) => void, RegExp][] = [
      ['nan', (st) => ((st.thetaW as number[])[3] = NaN), /thetaW \[3\] = NaN: must be a finite number/],
      ['epoch', (st) => (st.epoch = '2'), /epoch must be an integer >= 0/],
      ['epoch-frac', (st) => (st.epoch = 1.5), /epoch must be an integer >= 0/],
      ['type', (st) => (st.thetaB = 'zeros'), /thetaB must be a list of numbers/],
      ['short', (st) => (st.adamV = (st.adamV as number[]).slice(1)), /adamV has \d+ values, the stage has \d+/],
      ['beyond', (st) => (st.epoch = 7), /epoch is 7, beyond the run's 2 epochs/],
      ['stage', (st) => (st.stage = 1), /stage is 1, the file is stage 0's/],
      ['extra', (st) => (st.evil = 1), /unknown field "evil"/],
    ];
    for (const [name, edit, re] of cases) {
      const out = copyWith(name, (c) => rewriteState(c, edit));
      const r = await resume(out);
      refused(r, new RegExp(`${name}\\.mp\\.ckpt/stage-0\\.mp: damaged checkpoint \\(.*${re.source}`));
    }
  });

  it('a truncated checkpoint and an old un-enveloped one are refused without a stack trace', async () => {
    const cut = copyWith('cut', (c) => {
      const b = readFileSync(join(c, 'stage-1.mp'));
      writeFileSync(join(c, 'stage-1.mp'), b.subarray(0, b.length >> 1));
    });
    refused(await resume(cut), /stage-1\.mp: damaged checkpoint \(not valid msgpack/);
    const old = copyWith('old', (c) => {
      const env = unpack(readFileSync(join(c, 'stage-1.mp'))) as { payload: Uint8Array };
      writeFileSync(join(c, 'stage-1.mp'), env.payload); // the state without its envelope, as dtca wrote it before
    });
    refused(await resume(old), /stage-1\.mp: damaged checkpoint \(not a dtca checkpoint envelope/);
  });

  it('--resume over a hand-edited MODEL.manifest.json: entries that are not invocations are dropped, never summed (a null entry or a string wall_s was a TypeError stack trace after the training)', async () => {
    const out = copyWith('oldman', () => {});
    writeFileSync(
      `${out}.manifest.json`,
      JSON.stringify({
        model: 'oldman.mp',
        dtca_version: '0',
        command: 'dtca train (before)',
        wall_s: 'x',
        cell_updates: 5,
        earlier: [null, 3, { command: 'first', wall_s: 2.5, status: 'interrupted' }],
      }),
    );
    const r = await resume(out);
    expect(contractBroken(r)).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const man = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as { earlier: unknown[]; total_wall_s: unknown; wall_s: number };
    expect(man.earlier).toEqual([
      { command: 'first', wall_s: 2.5, status: 'interrupted' },
      { command: 'dtca train (before)', cell_updates: 5 },
    ]);
    expect(man.total_wall_s).toBeCloseTo(man.wall_s + 2.5, 1);
  });

  it('--resume without run.json refuses; a changed run.json is caught', async () => {
    const gone = copyWith('norun', (c) => unlinkSync(join(c, 'run.json')));
    const r = await pool.run(['train', ...TRAIN.map((x) => (x === '3' ? '4' : x)), '--epochs', '2', '--resume', '--out', gone], q);
    refused(r, /--resume: .*run\.json is missing/);
    expect(existsSync(gone)).toBe(false);
    const edited = copyWith('editrun', (c) => {
      const j = JSON.parse(readFileSync(join(c, 'run.json'), 'utf8'));
      j.options.seed = 4; // seed 4 over seed-3 weights
      writeFileSync(join(c, 'run.json'), JSON.stringify(j));
    });
    refused(await resume(edited), /run\.json: damaged \(checksum mismatch/);
  });

  it("a FIFO or a directory at a lock's name is one line, not a read that never returns", async () => {
    const d = mkdtempSync(join(dir, 'locks-'));
    const out = join(d, 'm.mp');
    execFileSync('mkfifo', [`${out}.lock`]);
    const r = await pool.run(['train', '--out', out, '--set', 'fabric.L=16', '--epochs', '1', '--steps', '1'], q);
    expect(r.hang).toBe(false);
    refused(r, /m\.mp\.lock: is a FIFO \(a pipe\); dtca train keeps its lock there \(remove it\)$/);
    // the sweep model cache's lock: a FIFO blocked, a directory was a busy loop
    for (const [name, make] of [
      ['fifo.lock', (p: string) => execFileSync('mkfifo', [p])],
      ['dir.lock', (p: string) => mkdirSync(p)],
    ] as const) {
      const p = join(d, name);
      make(p);
      await expect(cacheLock(p, quietContext(), 'model x')).rejects.toThrow(
        /^model x: .*\.lock is (a FIFO|a directory).*; the model cache keeps its lock there/,
      );
    }
  });

  it('two dtca train --out SAME at once: the second refuses while the first runs', async () => {
    const out = join(dir, 'race.mp');
    const first = spawnCli(['train', ...TRAIN, '--epochs', '3', '--out', out]);
    // the second starts once the first is training (its run.json is on disk)
    while (!existsSync(`${out}.ckpt/run.json`)) await new Promise((r) => setTimeout(r, 20));
    const second = await spawnCli(['train', ...TRAIN, '--epochs', '3', '--out', out]);
    expect(second.code, second.stderr).toBe(2);
    expect(errorLines(second.stderr)[0]).toMatch(/another dtca train \(pid \d+\) is writing it/);
    const a = await first;
    expect(a.code, a.stderr).toBe(0);
    expect(existsSync(`${out}.lock`)).toBe(false); // released
    // a lock left by a killed process is taken over
    writeFileSync(`${out}.lock`, `999999999 ${(await import('node:os')).hostname()}\n`);
    expect((await resume(out, [])).code).toBe(2); // options differ (3 epochs): refused, but not by the lock
    const again = await pool.run(['train', ...TRAIN, '--epochs', '3', '--resume', '--out', out], q);
    expect(again.code, again.stderr).toBe(0);
  }, 180_000);

  it("--snapshots: a kill between two stages' ends of an epoch still gets that epoch's snapshot on resume", async () => {
    const whole = join(dir, 'snapwhole.mp');
    expect((await pool.run(['train', ...TRAIN, '--epochs', '2', '--snapshots', '--out', whole], q)).code).toBe(0);
    const cut = join(dir, 'snapcut.mp');
    const k = await spawnCli(['train', ...TRAIN, '--epochs', '2', '--snapshots', '--out', cut], {
      // stage 0 has finished epoch 1, stage 1 has not
      ready: () => existsSync(`${cut}.ckpt/stage-0.mp`) && !existsSync(`${cut}.ckpt/stage-1.mp`),
      signal: 'SIGKILL',
    });
    expect(k.signal).toBe('SIGKILL');
    expect(existsSync(`${cut}.ckpt/stage-1.mp`)).toBe(false);
    expect(existsSync(`${cut}.epochs/epoch-1.mp`)).toBe(false);
    const r = await pool.run(['train', ...TRAIN, '--epochs', '2', '--snapshots', '--resume', '--out', cut], q);
    expect(r.code, r.stderr).toBe(0);
    for (const e of [1, 2]) {
      const a = unpack(readFileSync(`${whole}.epochs/epoch-${e}.mp`)) as { stages: unknown };
      const b = unpack(readFileSync(`${cut}.epochs/epoch-${e}.mp`)) as { stages: unknown };
      expect(b.stages, `epoch ${e}`).toEqual(a.stages);
    }
  }, 180_000);
});

describe("20: a sweep's own files: a damaged twin is redone, a full disk is one line, a bad point is named", () => {
  const PLAN = ['--grid', '12', '--clock', '1e7', '--images', '2', '--stages', '3', '--sweeps', '30', '--no-charts'];
  let done: string; // a finished one-point sweep
  beforeAll(async () => {
    done = join(dir, 'sweep-done');
    const r = await pool.run(['sweep', ...PLAN, '--out', done], q);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
  const copy = (name: string) => {
    const d = join(dir, name);
    cpSync(done, d, { recursive: true });
    return d;
  };
  const only = (d: string, sub: string) => join(d, sub, readdirSync(join(d, sub))[0]);

  it('a damaged ideal-twin file is redone (a warning), and the sweep ends as the undamaged one did', async () => {
    for (const [name, damage] of [
      ['twin-json', (t: string) => writeFileSync(join(t, 'twin.json'), '{"format": "dtca-sweep-twin", "key": ')],
      [
        'twin-type',
        (t: string) =>
          writeFileSync(join(t, 'twin.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(t, 'twin.json'), 'utf8')), moment_rmse_floor: 'x' })),
      ],
      ['twin-moments', (t: string) => writeFileSync(join(t, 'moments.f64'), Buffer.alloc(5))],
    ] as const) {
      const d = copy(name);
      damage(only(d, 'twins'));
      rmSync(only(d, 'points'), { recursive: true }); // the point runs again and needs its twin
      const r = await pool.run(['sweep', 'run', d], q);
      expect(contractBroken(r), `${name}: ${r.stderr}`).toBeNull();
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/ideal twin .* damaged .* redoing it/);
      expect(readFileSync(join(d, 'results.csv'), 'utf8')).toBe(readFileSync(join(done, 'results.csv'), 'utf8'));
    }
  });

  it('a point.json that is null or a list is one line naming it (null was a TypeError stack trace in collect)', () => {
    const d = mkdtempSync(join(dir, 'points-'));
    for (const [id, text] of [
      ['p-null', 'null'],
      ['p-list', '[]'],
    ]) {
      mkdirSync(join(d, 'points', id), { recursive: true });
      writeFileSync(join(d, 'points', id, 'point.json'), text);
      expect(() => readPoint(d, id)).toThrow(UserError);
      expect(() => readPoint(d, id)).toThrow(new RegExp(`${id}/point\\.json: not a sweep point file`));
    }
  });

  it("a point.json with a non-numeric result or a key given twice is one line naming it, results.csv untouched (was 'x' in a numeric column)", async () => {
    const d = copy('badrow');
    const f = join(only(d, 'points'), 'point.json');
    const good = readFileSync(f, 'utf8');
    const csv = readFileSync(join(d, 'results.csv'), 'utf8');
    const pf = JSON.parse(good);
    for (const [value, re] of [
      ['x', /point\.json: row\.energy_per_image_j must be a finite number or null, not a string$/],
      [[1], /point\.json: row\.energy_per_image_j must be a finite number or null, not a list$/],
    ] as const) {
      writeFileSync(f, JSON.stringify({ ...pf, row: { ...pf.row, energy_per_image_j: value } }));
      refused(await pool.run(['sweep', 'collect', d], q), re);
      expect(readFileSync(join(d, 'results.csv'), 'utf8')).toBe(csv);
    }
    writeFileSync(f, good.replace(/\n\s*"row": \{/, '\n  "row": {"cells": 1e300, '));
    refused(await pool.run(['sweep', 'collect', d], q), /point\.json: "row\.cells" is given twice \(line \d+\)/);
    expect(readFileSync(join(d, 'results.csv'), 'utf8')).toBe(csv);
  });

  it('a bad line of points.jsonl names the file, the line and the point', async () => {
    const d = copy('badpoints');
    const f = join(d, 'points.jsonl');
    const good = readFileSync(f, 'utf8');
    writeFileSync(f, good.replace(/^\{/, '{{'));
    refused(await pool.run(['sweep', 'run', d], q), /points\.jsonl: line 1 \(point 1\): not valid JSON/);
    const p = JSON.parse(good.split('\n')[0]);
    delete p.twin;
    writeFileSync(f, JSON.stringify(p) + '\n');
    refused(await pool.run(['sweep', 'run', d], q), new RegExp(`points\\.jsonl: line 1 \\(point 1, id ${p.id}\\): twin`));
  });

  it('audit: points/, twins/ or plots/ not a directory, a point that is a file or a symlink, an edited points.jsonl: one line naming it', async () => {
    for (const sub of ['points', 'twins', 'plots']) {
      const d = copy(`notdir-${sub}`);
      rmSync(join(d, sub), { recursive: true, force: true });
      writeFileSync(join(d, sub), 'x');
      for (const args of [
        ['sweep', 'collect', d],
        ['sweep', '--resume', d],
      ])
        refused(
          await pool.run(args, q),
          new RegExp(`^dtca: ${d.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/${sub}: is a file, not a directory: the sweep directory is damaged`),
        );
    }
    for (const [name, damage, is] of [
      ['file', (p: string) => writeFileSync(p, 'x'), 'a file'],
      ['symlink', (p: string) => symlinkSync('/nonexistent-dtca', p), 'a symbolic link'],
      ['loop', (p: string) => symlinkSync(p, p), 'a symbolic link'],
    ] as const) {
      const d = copy(`point-${name}`);
      const p = only(d, 'points');
      rmSync(p, { recursive: true });
      damage(p);
      const r = await pool.run(['sweep', '--resume', d], q);
      refused(
        r,
        new RegExp(`^dtca: .*/points/[0-9a-f]+: is ${is}, not a directory: the sweep directory is damaged \\(remove it; a resume runs point 1 again\\)$`),
      );
    }
    // an edited line (its config no longer the one its id and the twin were made of), its point gone: refused before it is run
    const d = copy('edited-points');
    rmSync(only(d, 'points'), { recursive: true });
    writeFileSync(join(d, 'points.jsonl'), readFileSync(join(d, 'points.jsonl'), 'utf8').replaceAll('"L":12', '"L":14'));
    refused(
      await pool.run(['sweep', '--resume', d], q),
      /points\.jsonl: line 1 \(point 1, id [0-9a-f]+\): its config or workload is not the one its id was made of/,
    );
    expect(readdirSync(join(d, 'points'))).toEqual([]);
  });

  it('an edited plan.json of the wrong shape is one line naming the field (were TypeError stack traces in collect and run)', async () => {
    for (const [name, edit, re] of [
      ['command', (p: Record<string, unknown>) => (p.command = 5), /command is not a list of strings/],
      ['plan', (p: Record<string, unknown>) => (p.plan = null), /plan is null, not an object/],
      ['axes', (p: Record<string, unknown>) => ((p.plan as Record<string, unknown>).axes = 'x'), /plan\.axes is not a list of \{path, values\}/],
      ['workload', (p: Record<string, unknown>) => ((p.plan as Record<string, unknown>).workload = null), /plan\.workload is not an object with a kind/],
      ['id', (p: Record<string, unknown>) => (p.sweep_id = { a: 1 }), /sweep_id is an object, not a string/],
      ['reps', (p: Record<string, unknown>) => ((p.plan as Record<string, unknown>).replicates = '2'), /plan\.replicates is "2", not a count/],
    ] as const) {
      const d = copy(`planjson-${name}`);
      const pf = JSON.parse(readFileSync(join(d, 'plan.json'), 'utf8')) as Record<string, unknown>;
      edit(pf);
      writeFileSync(join(d, 'plan.json'), JSON.stringify(pf));
      for (const args of [
        ['sweep', 'collect', d, '--no-charts'],
        ['sweep', 'run', d],
      ])
        refused(await pool.run(args, q), new RegExp(`^dtca: .*/plan\\.json: ${re.source}: the file was edited or damaged \\(plan the sweep again\\)$`));
    }
  });

  it('sweep collect DIR OTHER: a point of OTHER that holds a FIFO or is a symbolic link is refused before anything is copied (were an internal error leaving .partial-* behind, and a symlinked point)', async () => {
    for (const kind of ['fifo', 'symlink'] as const) {
      const mine = copy(`merge-${kind}`);
      const other = copy(`merge-${kind}-other`);
      const p = only(mine, 'points');
      rmSync(p, { recursive: true });
      const theirs = join(other, 'points', p.split('/').pop()!);
      if (kind === 'fifo') execFileSync('mkfifo', [join(theirs, 'fifo')]);
      else {
        const real = join(dir, `merge-real-${kind}`);
        cpSync(theirs, real, { recursive: true });
        rmSync(theirs, { recursive: true });
        symlinkSync(real, theirs);
      }
      const r = await pool.run(['sweep', 'collect', mine, other, '--no-charts'], q);
      refused(
        r,
        new RegExp(
          `^dtca: .*/points/[0-9a-f]+${kind === 'fifo' ? '/fifo: is a FIFO \\(a pipe\\)' : ': is a symbolic link'}; a point or twin to merge is a directory of files dtca wrote`,
        ),
      );
      expect(readdirSync(join(mine, 'points')), kind).toEqual([]);
    } // a whole point is merged, file by file
    const mine = copy('merge-ok');
    const p = only(mine, 'points');
    const files = readdirSync(p).sort();
    rmSync(p, { recursive: true });
    const r = await pool.run(['sweep', 'collect', mine, copy('merge-ok-other'), '--no-charts'], q);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(p).sort()).toEqual(files);
    expect(readdirSync(join(mine, 'points')).filter((f) => f.startsWith('.partial-'))).toEqual([]);
  });

  it('a full disk while a point is written: one line naming the point, nothing half-written left', () => {
    resetOutputSession();
    const d = copy('enospc');
    const pts = readFileSync(join(d, 'points.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    rmSync(join(d, 'points'), { recursive: true });
    let writes = 0;
    const full = (path: string, data: string | Uint8Array) => {
      if (++writes === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      writeFileSync(path, data);
    };
    let err: unknown;
    try {
      writePoint(d, pts[0], {} as never, {}, null, 1, null, { writeFile: full });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(new RegExp(`point 1 \\(${pts[0].id}\\).*disk full \\(ENOSPC\\)`));
    expect(existsSync(join(d, 'points')) ? readdirSync(join(d, 'points')) : []).toEqual([]);
  });

  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    const probe = mkdtempSync(join(tmpdir(), 'dtca-mnt-probe-'));
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', probe]).status === 0;
    if (ok) spawnSync('umount', [probe]);
    rmSync(probe, { recursive: true, force: true });
    return ok;
  })();
  if (!canMount) console.warn('SKIPPED the real-tmpfs ENOSPC case: mounting a tmpfs needs root (the injected ENOSPC case still runs)');
  it.skipIf(!canMount)('a full disk (a real tmpfs) during a sweep: exit 2, one line', async () => {
    const d = copy('tmpfs-src');
    rmSync(join(d, 'points'), { recursive: true });
    const mnt = mkdtempSync(join(tmpdir(), 'dtca-mnt-'));
    const used = Number(execFileSync('du', ['-sb', d], { encoding: 'utf8' }).split('\t')[0]);
    // room for the plan and the twin, not for the point's stats and picture
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil((used + 12_000) / 4096) * 4096}`, 'tmpfs', mnt]);
    try {
      execFileSync('cp', ['-r', `${d}/.`, mnt]);
      const r = await pool.run(['sweep', 'run', mnt], q);
      refused(r, /disk full \(ENOSPC\)/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('21: model files, configs and --set: shapes, dtypes, deep nesting, wrong shapes, no echoed bytes', () => {
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const bm8 = (stage: Record<string, unknown>) => ({
    format: 'dtca-model',
    version: 1,
    grid: { L: 8, rules: [[0, 1]], boundary: 'open' },
    beta: 1,
    stages: [{ bias: new Array(64).fill(0), edges: [[0, 1, 0.5]], ...stage }],
  });
  const f64 = (n: number) => new Uint8Array(new Float64Array(n).buffer);
  const mp = (name: string, v: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, packr.pack(v));
    return f;
  };

  it('a config that is a symbolic link loop or starts with a byte-order mark: said so, or read (were "no such file" and a syntax error)', async () => {
    const loop = join(dir, 'loop-a.json');
    symlinkSync(join(dir, 'loop-b.json'), loop);
    symlinkSync(loop, join(dir, 'loop-b.json'));
    refused(await pool.run(['config', 'validate', loop], q), /loop-a\.json is a symbolic link loop \(it cannot be resolved\)/);
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, '\ufeff{"extends": "dtca-paper", "fabric": {"L": 12}}');
    const r = await pool.run(['config', 'validate', bom], q);
    expect(r.code, r.stderr).toBe(0);
  });

  it("a typed array's declared shape must hold exactly its data", async () => {
    refused(
      await pool.run(['model', 'info', mp('shape.mp', bm8({ bias: { dtype: 'float64', shape: [1e15, 1e15], data: f64(64) } }))], q),
      /stages\[0\]\.bias: shape \[1000000000000000,1000000000000000\] holds 1e\+30 values, the data 64/,
    );
    refused(
      await pool.run(['model', 'info', mp('shape2.mp', bm8({ bias: { dtype: 'float64', shape: [8, 7], data: f64(64) } }))], q),
      /shape \[8,7\] holds 56 values, the data 64/,
    );
    refused(
      await pool.run(['model', 'info', mp('shape3.mp', bm8({ bias: { dtype: 'float64', shape: [-1, 'x'], data: f64(64) } }))], q),
      /shape .*: a list of integers >= 0/,
    );
    const ok = await pool.run(['model', 'info', mp('shape4.mp', bm8({ bias: { dtype: 'float64', shape: [8, 8], data: f64(64) } }))], q);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a key given twice in one map of a msgpack model: one line naming it and the file (msgpackr kept the last one silently)', async () => {
    const b = Buffer.from(packr.pack({ ...bm8({ edges: [[0, 1, 0.5]], edgeX: [[0, 8, 0.5]] }) }));
    b.set(Buffer.from('edges'), b.indexOf(Buffer.from([0xa5, ...Buffer.from('edgeX')])) + 1);
    const f = join(dir, 'twice.mp');
    writeFileSync(f, b);
    refused(await pool.run(['model', 'info', f], q), /^dtca: \S*twice\.mp: "stages\[0\]\.edges" is given twice in one map \(byte \d+\); /);
  });

  it('dtypes that name Object.prototype members are refused cleanly', async () => {
    for (const dt of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      refused(
        await pool.run(['model', 'info', mp(`dt-${dt}.mp`, bm8({ bias: { dtype: dt, shape: [64], data: f64(64) } }))], q),
        /stages\[0\]\.bias: unsupported dtype/,
      );
    }
  });

  it('lists nested 100,000 deep: in a model, a config and --set, refused without a crash', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const m = join(dir, 'deep.json');
    writeFileSync(m, `{"format":"dtca-model","version":1,"grid":{"L":8,"rules":[[0,1]],"boundary":"open"},"stages":${deep}}`);
    refused(await pool.run(['model', 'info', m], q), /deep\.json: nested deeper than \d+ levels/);
    const mm = join(dir, 'deep.mp');
    writeFileSync(mm, Buffer.concat([Buffer.from([0x81, 0xa6]), Buffer.from('stages'), Buffer.alloc(100_000, 0x91), Buffer.from([0x90])]));
    refused(await pool.run(['model', 'info', mm], q), /deep\.mp: nested deeper than \d+ levels/);
    const c = join(dir, 'deep-config.json');
    writeFileSync(c, `{"extends":"dtca-paper","fabric":{"rules":${deep}}}`);
    refused(await pool.run(['config', 'validate', c], q), /deep-config\.json: nested deeper than \d+ levels/);
    refused(await pool.run(['config', 'show', '--set', `fabric.rules=${deep}`], q), /--set fabric\.rules=.*: nested deeper than \d+ levels/);
  });

  it('valid JSON of the wrong shape is called what it is', async () => {
    for (const [name, text, re] of [
      ['list.json', '[1, 2, 3]', /a model must be an object, not a list/],
      ['string.mp', '"hello"', /a model must be an object, not a string/],
      ['number.mp', '42', /a model must be an object, not a number/],
    ] as const) {
      const f = join(dir, name);
      writeFileSync(f, text);
      const r = await pool.run(['model', 'info', f], q);
      refused(r, re);
      expect(r.stderr).not.toMatch(/neither JSON nor/);
    }
  });

  it('error lines never echo decoded garbage or the bytes of a file that is not what it should be', async () => {
    const garbage = mp('garbage.mp', { format: '\u202e\ufffd\x85gibberish\u200b\ud800', version: 1 });
    const r = await pool.run(['model', 'info', garbage], q);
    refused(r, /not a dtca model/);
    expect(errorLines(r.stderr)[0]).not.toMatch(/[\u0080-\u009f\u200b-\u200f\u202a-\u202e\ufffd\ud800-\udfff]/);
    // a config whose extends points at a file of secrets
    const secret = join(dir, 'shadow');
    writeFileSync(secret, 'root:$y$j9T$SECRETHASHSECRETHASH:19000:0:99999:7:::\n');
    const cfg = join(dir, 'leak.json');
    writeFileSync(cfg, JSON.stringify({ extends: secret }));
    const e = await pool.run(['config', 'validate', cfg], q);
    expect(contractBroken(e)).toBeNull();
    expect(e.code).toBe(2);
    expect(e.stderr).not.toMatch(/SECRET|root:|j9T/);
    expect(e.stderr).toMatch(/shadow: not valid JSON/);
    // the same file as a model
    const mm = await pool.run(['model', 'info', secret], q);
    expect(mm.code).toBe(2);
    expect(mm.stderr).not.toMatch(/SECRET|root:|j9T/);
    // msgpack holding the secret, one byte more: msgpackr's message quotes the value it read
    const packed = join(dir, 'secret-trailing.mp');
    writeFileSync(packed, Buffer.concat([new Packr().pack(['root:SECRETHASHSECRETHASH', 'x']), Buffer.of(1)]));
    const tm = await pool.run(['model', 'info', packed], q);
    refused(tm, /secret-trailing\.mp: not a model file \(neither JSON nor valid msgpack: trailing bytes after the msgpack value\)$/);
    expect(tm.stderr).not.toMatch(/SECRET|root:/);
    // a config that is a JSON string
    const str = join(dir, 'string.json');
    writeFileSync(str, '"root:SECRETHASH"');
    const sc = await pool.run(['config', 'validate', str], q);
    refused(sc, /string\.json: a config file must hold a JSON object, not a string$/);
    expect(sc.stderr).not.toMatch(/SECRET|root:/);
  });
});

describe('22: traces with valid CRCs but impossible fields are damage, in both readers', () => {
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const out = join(dir, 'trace22');
    const r = await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '6', '--images', '2', '--out', out, '--trace'], q);
    expect(r.code, r.stderr).toBe(0);
    records = [];
    new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(readFileSync(join(out, 'trace.dtct')), (v: unknown) => {
      records.push(v as Record<string, unknown>);
    });
  });
  /** the trace again with `edit` applied to a copy of its records (every CRC recomputed), plus `tail` bytes */
  function variant(name: string, edit: (recs: Record<string, unknown>[]) => void, tail = Buffer.alloc(0)): string {
    const recs = records.map((r) => ({ ...r }));
    edit(recs);
    const packr = makePackr();
    const f = join(dir, `${name}.dtct`);
    writeFileSync(f, Buffer.concat([...recs.map((r) => encodeRecord(packr, r)), tail]));
    return f;
  }
  const firstSweep = (recs: Record<string, unknown>[]) => recs.find((r) => r.type === 'sweep')!;

  it('a sweep record whose cell count differs from the header, a chain or stage beyond the run, junk after the end', async () => {
    const n = records[0].n_traced as number;
    const cases: [string, string, RegExp][] = [
      [
        variant('cells', (rs) =>
          Object.assign(firstSweep(rs), { n_cells: n + 8, states: { dtype: 'uint8', shape: [(n + 15) >> 3], data: new Uint8Array((n + 15) >> 3) } }),
        ),
        'cells',
        new RegExp(`sweep record: n_cells ${n + 8}, the header traces ${n} cells`),
      ],
      [variant('chain', (rs) => (firstSweep(rs).chain = 2 ** 40)), 'chain', /sweep record: chain 1099511627776 outside the run's 0\.\.1/],
      [variant('stage', (rs) => (firstSweep(rs).stage = 9)), 'stage', /sweep record: stage 9 outside the run's 0\.\.1/],
      [variant('sweepidx', (rs) => (firstSweep(rs).sweep = 6)), 'sweepidx', /sweep record: sweep 6 outside the run's 0\.\.5/],
      [variant('junk', () => {}, Buffer.from('\x00\x01junk after the end')), 'junk', /data after the end record/],
    ];
    const py = pythonStatuses(cases.map((c) => c[0]));
    for (const [k, [f, name, re]] of cases.entries()) {
      const r = await pool.run(['trace', 'inspect', f, '--json'], q);
      expect(contractBroken(r), name).toBeNull();
      // inspect prints what it read and, for damage, exits 2 with the one line
      const verdict = r.stdout.trim() ? (JSON.parse(r.stdout) as { status: string; error?: string }) : { status: 'refused', error: r.stderr };
      expect(verdict.status, `${name}: ${r.stdout}${r.stderr}`).toBe('damaged');
      expect(verdict.error ?? '', name).toMatch(re);
      expect(py[k].status, `${name} (Python): ${py[k].detail}`).toBe('damaged');
      expect(py[k].detail, name).toMatch(re);
      // and chain.npy never holds a wrapped index
      const ex = await pool.run(['trace', 'export', f, '--npy', join(dir, `npy-${name}`)], q);
      expect(contractBroken(ex), name).toBeNull();
    }
  });

  it('an energy component that is not a name is damage (it was a CSV column and a file name: --npy wrote outside DIR); decoded strings in messages are escaped and short', async () => {
    const sub = join(dir, 'comp22');
    mkdirSync(sub, { recursive: true });
    const evil = variant('comp', (rs) => {
      // (variant copies the records shallowly: each edit gives its record a new energy_j)
      for (const r of rs) if (r.energy_j) r.energy_j = { ...(r.energy_j as object), '../escaped': 0 };
    });
    const comma = variant('comma', (rs) => {
      const s = firstSweep(rs);
      s.energy_j = { ...(s.energy_j as object), 'a,b\n=1+1': 0 };
    });
    const nan = variant('nanenergy', (rs) => {
      const s = firstSweep(rs);
      s.energy_j = { ...(s.energy_j as object), rng: NaN };
    });
    const bidi = variant('bidi', (rs) => (firstSweep(rs).cycle = '\u202e\x1b[31m' + 'A'.repeat(100000)));
    const cases: [string, RegExp][] = [
      [evil, /energy_j: "\.\.\/escaped" is not a component name/],
      [comma, /energy_j: "a,b\\n=1\+1" is not a component name/],
      [nan, /energy_j is not a map of finite numbers/],
      [bidi, /sweep record: cycle is "\\u202e\\u001b\[31mA+\.\.\., expected an integer >= 0/],
    ];
    const py = pythonStatuses(cases.map((c) => c[0]));
    for (const [k, [f, re]] of cases.entries()) {
      const r = await pool.run(['trace', 'inspect', f], q);
      expect(contractBroken(r), f).toBeNull();
      expect(r.code, f).toBe(2);
      expect(r.stdout + r.stderr, f).toMatch(re);
      expect(r.stdout + r.stderr, f).not.toMatch(/[\u202e\x1b]/);
      expect(r.stderr.length, f).toBeLessThan(400);
      expect(py[k].status, `${f} (Python): ${py[k].detail}`).toBe('damaged');
      expect(py[k].detail, f).toMatch(re);
      expect(py[k].detail.length, f).toBeLessThan(400);
    }
    const ex = await pool.run(['trace', 'export', evil, '--npy', join(sub, 'npy')], q);
    expect(ex.code).toBe(2);
    expect(existsSync(join(sub, 'escaped_j.npy'))).toBe(false);
    expect(existsSync(join(sub, 'npy'))).toBe(false);
    const csv = await pool.run(['trace', 'export', comma, '--csv', join(sub, 'c.csv')], q);
    expect(csv.code).toBe(2);
    expect(existsSync(join(sub, 'c.csv'))).toBe(false);
  });

  it("a header whose layout is not its grid's, counts beyond 2^53, a VCD timing no config holds: damage or one line (were a 4 GB allocation, a 2-cell layout.npy, '#5e+297' times)", async () => {
    const hdr = (rs: Record<string, unknown>[]): Record<string, unknown> => (rs[0] = { ...rs[0], layout: { ...(rs[0].layout as object) } });
    const lay = (rs: Record<string, unknown>[]) => hdr(rs).layout as Record<string, unknown>;
    const cases: [string, RegExp][] = [
      [variant('bigN', (rs) => (lay(rs).N = 2 ** 31 - 1)), /header: layout\.N 2147483647 is not layout\.L squared \(L = 8\)/],
      [variant('smallN', (rs) => Object.assign(lay(rs), { N: 4, L: 2 })), /header: layout\.colour holds 64 cells, the grid 4/],
      [
        variant('traced', (rs) => {
          const h = hdr(rs);
          const tc = h.traced_cells as { data: Uint8Array };
          const data = Uint8Array.from(tc.data);
          new DataView(data.buffer).setInt32(0, 64, true);
          h.traced_cells = { ...tc, data };
        }),
        /header: traced_cells holds cell 64, outside the grid's 0\.\.63/,
      ],
      [variant('bigcycle', (rs) => (firstSweep(rs).cycle = 1e300)), /sweep record: cycle is 1e\+300, expected an integer >= 0/],
      // the thinning and model summary inspect and export read (null for either was a TypeError stack trace)
      [variant('thinning', (rs) => (hdr(rs).thinning = null)), /header: thinning is not \{every, stages, chains, cells\}/],
      [
        variant('stagesjoin', (rs) => (hdr(rs).thinning = { every: 1, stages: 5, chains: null, cells: null })),
        /header: thinning is not \{every, stages, chains, cells\}/,
      ],
      [variant('model', (rs) => (hdr(rs).model = null)), /header: model is not a map/],
    ];
    const py = pythonStatuses(cases.map((c) => c[0]));
    for (const [k, [f, re]] of cases.entries()) {
      const r = await pool.run(['trace', 'export', f, '--npy', join(dir, `npy-h-${k}`)], q);
      expect(contractBroken(r), f).toBeNull();
      expect(r.code, f).toBe(2);
      expect(r.stderr, f).toMatch(re);
      expect(existsSync(join(dir, `npy-h-${k}`)), f).toBe(false);
      expect(py[k].status, `${f} (Python): ${py[k].detail}`).toBe('damaged');
      expect(py[k].detail, f).toMatch(re);
    }
    // the header's timing and text reach the VCD only as values a config holds and as text
    const cfg = (rs: Record<string, unknown>[], clock: Record<string, unknown>) => {
      const h = hdr(rs);
      const c = h.config as Record<string, unknown>;
      h.config = { ...c, clock: { ...(c.clock as object), ...clock } };
    };
    for (const [name, clock, re] of [
      ['phase0', { phase_cycles: 0 }, /the trace header's clock\.phase_cycles is 0, not an integer from 1 to 1000000/],
      // the clock is the run's (run.clock_hz), which the readers check, with the config's
      ['hz', { clock_hz: 1e-300 }, /header: run\.clock_hz is 1e-300, expected a number from 1e-3 to 1e15 \(Hz\)/],
    ] as const) {
      const edit = (rs: Record<string, unknown>[]) => {
        cfg(rs, clock);
        if ('clock_hz' in clock) hdr(rs).run = { ...(rs[0].run as object), clock_hz: clock.clock_hz };
      };
      const r = await pool.run(['trace', 'export', variant(name, edit), '--vcd', join(dir, `${name}.vcd`)], q);
      expect(contractBroken(r), name).toBeNull();
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(re);
    }
    const inj = variant('inject', (rs) => (hdr(rs).created = 'x\n$end\n$var wire 1 ! injected $end\n$date y'));
    const v = await pool.run(['trace', 'export', inj, '--vcd', join(dir, 'inject.vcd')], q);
    expect(v.code, v.stderr).toBe(0);
    const vcd = readFileSync(join(dir, 'inject.vcd'), 'utf8');
    expect(vcd).not.toMatch(/injected \$end/);
    expect(vcd.split('\n').slice(0, 4)).toEqual(['$date', '  x?$ end?$var wire 1 ! injected $ end?$date y (trace created)', '$end', '$version']);
  });

  it("the header's strings reach the terminal escaped: trace inspect and python -m dtca_trace (were raw ANSI and OSC escapes)", async () => {
    const f = variant('ansi', (rs) => (rs[0] = { ...rs[0], dtca_version: '\x1b[31mRED\u202e', created: '\x1b]0;title\x07x' }));
    const r = await pool.run(['trace', 'inspect', f], q);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(dtca \\x1b[31mRED\\u202e, created \\x1b]0;title\\x07x)');
    expect(r.stdout).not.toMatch(/[\x1b\x07\u202e]/);
    const py = spawnSync('/usr/bin/python3', ['-m', 'dtca_trace', f], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(ROOT, 'traces') } });
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toContain('(dtca \\x1b[31mRED\\u202e)');
    expect(py.stdout).not.toMatch(/[\x1b\u202e]/);
  });

  it('the Python reader refuses a FIFO, a device and a directory at once (a FIFO blocked its open for ever)', () => {
    const fifo = join(dir, 'fifo22');
    execFileSync('mkfifo', [fifo]);
    const py = `
import sys
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'traces'))})
import dtca_trace
for p in sys.argv[1:]:
    try:
        dtca_trace.load(p); print('read')
    except dtca_trace.TraceError as e:
        print(str(e))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, fifo, '/dev/zero', dir], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `${fifo}: is a FIFO (a pipe), not a trace file (a trace must be a regular file)`,
      '/dev/zero: is a device, not a trace file (a trace must be a regular file)',
      `${dir}: is a directory, not a trace file (a trace must be a regular file)`,
    ]);
  });

  it("the Python package's model.read refuses NaN weights and fractional pixel indices with its own ModelError", () => {
    const py = `
import json, sys, math
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'traces'))})
from dtca_trace import model
base = json.load(open(sys.argv[1]))
def case(name, edit):
    m = json.loads(json.dumps(base)); edit(m)
    p = sys.argv[2] + '/' + name + '.json'
    open(p, 'w').write(json.dumps(m).replace('"NAN"', 'NaN'))
    try:
        model.read(p); print(name, 'accepted')
    except model.ModelError as e:
        print(name, 'ModelError', str(e).replace(p, 'FILE'))
    except Exception as e:
        print(name, 'RAW', type(e).__name__, e)
case('nan', lambda m: m['stages'][0].__setitem__('bias', ['NAN'] + m['stages'][0]['bias'][1:]))
case('pixel', lambda m: m['dtm'].__setitem__('image', [4.5] + m['dtm']['image'][1:]))
case('type', lambda m: m.__setitem__('stages', 'oops'))
case('edges', lambda m: m['stages'][0].__setitem__('edges', [[0, 1]]))
case('grid', lambda m: m.__setitem__('grid', 7))
case('beta', lambda m: m.__setitem__('beta', 1e7))
case('bigL', lambda m: m['grid'].__setitem__('L', 10**12))
case('extra', lambda m: m.__setitem__('extra', 1))
case('stagekey', lambda m: m['stages'][0].__setitem__('\\x1b[31mevil', 1))
case('good', lambda m: None)
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, model, dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]),
    );
    expect(got.nan).toMatch(/^ModelError FILE: stages\[0\]\.bias\[0\]: nan is not a finite number/);
    expect(got.pixel).toMatch(/^ModelError FILE: dtm\.image\[0\]: 4\.5 is not an integer cell index/);
    for (const k of ['type', 'edges', 'grid']) expect(got[k], k).toMatch(/^ModelError FILE: /);
    // what dtca refuses (beta above 1e6, L above 46340, a key it does not know), not accepted (were) or a ValueError
    expect(got.beta).toBe('ModelError FILE: beta: must be a number in (0, 1e+06]');
    expect(got.bigL).toBe('ModelError FILE: grid.L: must be an integer in 2..46340');
    expect(got.extra).toBe('ModelError FILE: extra: unknown key');
    expect(got.stagekey).toBe('ModelError FILE: stages[0].\\x1b[31mevil: unknown key');
    expect(got.good).toBe('accepted');
  });

  it("the Python package reads a model with label guidance (the shipped model: it said 'dtm.label_gain: unknown key'), writes it back, refuses a bad gain", () => {
    const shipped = join(ROOT, 'configs/models/fmnist-t8.mp');
    const py = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'traces'))})
from dtca_trace import model
m = model.read(sys.argv[1])
print(json.dumps(m['dtm']['label_gain']))
out = sys.argv[2] + '/guided.json'
model.write(out, grid=m['grid'], beta=m['beta'], stages=m['stages'], dtm=m['dtm'])
print(json.dumps(model.read(out)['dtm']['label_gain']))
for g in (-1, 'x', 1e9):
    try:
        model.write(out, grid=m['grid'], beta=m['beta'], stages=m['stages'], dtm=dict(m['dtm'], label_gain=g)); print('accepted')
    except model.ModelError as e:
        print(str(e))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, shipped, dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [read, again, ...bad] = r.stdout.trim().split('\n');
    const gain = readModel(shipped).dtm!.label_gain!;
    expect(gain).toBeGreaterThan(1);
    expect([Number(read), Number(again)]).toEqual([gain, gain]);
    expect(bad).toEqual(Array(3).fill('dtm.label_gain: must be a number in [0, 100] (the label guidance; absent means 1)'));
    // dtca reads what Python wrote, with its gain
    expect(readModel(join(dir, 'guided.json')).dtm!.label_gain).toBe(gain);
  });
});

describe('23: --out through a symlink; the interrupted-run line counts right', () => {
  it('--out through a symbolic link to an empty directory writes into that directory', async () => {
    const target = join(dir, 'real-out');
    mkdirSync(target);
    const link = join(dir, 'link-out');
    symlinkSync(target, link);
    const r = await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '5', '--images', '1', '--out', link], q);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(target)).toContain('stats.json');
    const dangling = join(dir, 'dangling-out');
    symlinkSync(join(dir, 'nowhere'), dangling);
    refused(await pool.run(['run', '--model', model, ...SMALL, '--sweeps', '5', '--images', '1', '--out', dangling], q), /symbolic link to nowhere/);
  });

  it('a run stopped after its last image-stage does not claim to be at a sweep', () => {
    const all = interruptedMessage('SIGINT', { stage: 0, chain: 3, sweep: 249 }, { done: 128, of: 128, unit: 'image-stages' }, '/r');
    expect(all).not.toMatch(/before sweep|at stage/);
    expect(all).toMatch(/^interrupted by SIGINT after the last of the image-stages \(128 of 128 image-stages done\)/);
    const mid = interruptedMessage('SIGINT', { stage: 2, chain: 0, sweep: 17 }, { done: 40, of: 128, unit: 'image-stages' }, '/r');
    expect(mid).toMatch(/^interrupted by SIGINT at stage 2, image 0 before sweep 17 \(40 of 128 image-stages done\)/);
  });
});

describe('left from the last round: the sweep memory check sums over --jobs', () => {
  it('points that fit alone but not --jobs of them together are refused with the --jobs that fits', () => {
    const have = 8 * 2 ** 30;
    const point = 0.3 * have; // one point: 30 % of the machine
    expect(checkSweepMemory([point, point, point, point], 1, have)).toBeLessThan(have);
    expect(checkSweepMemory([point, point, point, point], 2, have) * MEMORY_MARGIN).toBeLessThan(have);
    expect(() => checkSweepMemory([point, point, point, point], 4, have)).toThrow(
      /--jobs 4: the 4 largest points run at once need about .* together; the machine has 8\.00 GiB\. Use --jobs 3/,
    );
    // the largest points count: one big point and small ones
    const small = 50 * 2 ** 20;
    expect(checkSweepMemory([0.8 * have, small, small], 3, have)).toBeCloseTo(0.8 * have + 3 * BYTES.workerBase, -6); // a point below the process base adds only a worker's heap
  });

  it('dtca sweep run refuses --jobs that cannot fit, before anything runs', async () => {
    // L = 2048 Boltzmann-machine points (~1 GB each by the estimate): enough of them at once cannot fit
    const cfgArgs = ['--grid', '2048', '--workload', 'bm', '--chains', '1', '--sweeps', '1'];
    const per = estimateRun(pointShapeFor(2048)).bytes - BYTES.base + BYTES.workerBase;
    const jobs = Math.ceil(machineMemory() / per) + 2;
    // the guard: the check itself must refuse this, in-process, before the CLI is asked to run anything
    expect(() => checkSweepMemory(new Array(jobs).fill(estimateRun(pointShapeFor(2048)).bytes), jobs)).toThrow(UserError);
    const clocks = Array.from({ length: jobs }, (_, k) => `${k + 1}e6`).join(',');
    const d = join(dir, 'memsweep');
    const r = await pool.run(['sweep', 'plan', ...cfgArgs, '--clock', clocks, '--out', d], q);
    expect(r.code, r.stderr).toBe(0);
    const run = await pool.run(['sweep', 'run', d, '--jobs', String(jobs)], q);
    refused(run, new RegExp(`--jobs ${jobs}: the ${jobs} largest points run at once need about .*Use --jobs \\d+`));
    expect(readdirSync(join(d, 'points')).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});

describe('index lists (--trace-stages, --trace-chains, trace export --cells, probe --cells)', () => {
  it('a huge range is refused before it is expanded, naming the flag', async () => {
    const { parseIndexList, MAX_INDICES } = await import('../traces/writer.js');
    expect(() => parseIndexList('--trace-stages', '0-99999999999')).toThrow(/--trace-stages '0-99999999999': index 99999999999 is too large/);
    expect(() => parseIndexList('--cells', `0-${MAX_INDICES}`)).toThrow(new RegExp(`--cells '0-${MAX_INDICES}': more than ${MAX_INDICES} indices`));
    expect(() => parseIndexList('--chains', '5-3')).toThrow(/range 5-3 runs backwards/);
    expect(parseIndexList('--cells', `3,0-2,${MAX_INDICES - 4}`)).toEqual([0, 1, 2, 3, MAX_INDICES - 4]);
    expect(parseIndexList('--cells', `0-${MAX_INDICES - 1}`)).toHaveLength(MAX_INDICES);
  });
});

describe('control characters in chart labels', () => {
  it('a title and a series name with C0 controls render (as U+FFFD), to SVG and PNG', async () => {
    const { renderChart, xmlSafe } = await import('../sim/io/plot.js');
    expect(xmlSafe('a\x01b\x1bc\td\ne\ud800f')).toBe('a\ufffdb\ufffdc\td\ne\ufffdf');
    const spec = {
      title: 'config c\x01',
      data: { values: [{ x: 1, y: 2, s: 'a\x1bb' }] },
      mark: 'point',
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 's', type: 'nominal' } },
    };
    const { svg, png } = await renderChart(spec as never);
    expect(svg).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    expect(svg).toContain('c\ufffd');
    expect(png.length).toBeGreaterThan(100);
  });
});

describe('standard output that cannot be written', () => {
  it.skipIf(!existsSync('/dev/full'))('a full device on standard output is one line and exit 2, not a stack trace', async () => {
    const { openSync, closeSync } = await import('node:fs');
    const { CLI, ROOT } = await import('./helpers/cli.js');
    const full = openSync('/dev/full', 'w');
    try {
      for (const args of [
        ['config', 'show'],
        ['model', 'new', '--stages', '1', '-L', '8', '--rules', 'G8', '--visible', '4', '--weights', 'zero', '--seed', '1', '--out', '-'],
      ]) {
        const r = spawnSync(process.execPath, [CLI, ...args], {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', full, 'pipe'],
          env: { ...process.env, DTCA_LOG: 'info' },
        });
        expect(r.status, args.join(' ')).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines[lines.length - 1]).toMatch(/^dtca: writing standard output failed: .*(ENOSPC|no space)/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr).not.toMatch(/written to standard output/);
      }
    } finally {
      closeSync(full);
    }
  });
});

describe("audit: a sweep's jobs, from --jobs, a plan file or options.json, are checked before anything is written", () => {
  const SWEEP = ['sweep', '--axis', 'clock.clock_hz=1e7,2e7', ...SMALL, '--sweeps', '5', '--no-charts'];

  it('a bad --jobs or plan-file jobs leaves no sweep directory behind', async () => {
    for (const j of ['-1', '0', '1.5', '1e300']) {
      const out = join(dir, `jobs-${j}`);
      refused(
        await pool.run([...SWEEP, '--jobs', j, '--out', out], q),
        new RegExp(`^dtca: --jobs ${j === '1e300' ? '1e\\+300' : j.replace('.', '\\.')}: must be an integer [<>]=`),
      );
      expect(existsSync(out), j).toBe(false);
    }
    // an absurd count of threads is refused with the most a sweep takes, here and in `sweep run`/`sweep train`
    for (const [args, j] of [
      [SWEEP, '1e6'],
      [SWEEP, '1025'],
      [['sweep', 'run', join(dir, 'no-such-sweep')], '1e6'],
      [['sweep', 'train', join(dir, 'no-such-sweep')], '1e6'],
    ] as [string[], string][]) {
      const out = join(dir, `jobs-max-${j}`);
      refused(
        await pool.run([...args, '--jobs', j, ...(args === SWEEP ? ['--out', out] : [])], q),
        new RegExp(`^dtca: --jobs ${Number(j)}: must be an integer <= 1024 \\(points or stages run at once; results do not depend on it\\)$`),
      );
      expect(existsSync(out), j).toBe(false);
    }
    expect(checkJobs(1024, '--jobs')).toBe(1024);
    for (const [j, re] of [
      ['-1', /^dtca: --plan .*plan-jobs\.json: jobs -1: must be an integer >= 1$/],
      ['"2"', /^dtca: --plan .*plan-jobs\.json: jobs "2": must be an integer >= 1$/],
      ['1e300', /^dtca: --plan .*plan-jobs\.json: jobs 1e\+300: must be an integer <= /],
      ['5000', /^dtca: --plan .*plan-jobs\.json: jobs 5000: must be an integer <= 1024 /],
    ] as [string, RegExp][]) {
      const plan = join(dir, 'plan-jobs.json');
      writeFileSync(plan, `{"axes": {"clock.clock_hz": [1e7]}, "jobs": ${j}}`);
      const out = join(dir, 'plan-jobs-out');
      refused(await pool.run(['sweep', '--plan', plan, ...SMALL, '--sweeps', '5', '--no-charts', '--out', out], q), re);
      expect(existsSync(out), j).toBe(false);
    }
    // the plan's zip, replicates and seed are the plan's: a string "false" for zip zipped the axes, a string replicates was called --replicates
    for (const [body, re] of [
      ['"zip": "false"', /^dtca: --plan .*plan-vals\.json: zip "false": must be true or false$/],
      ['"replicates": "3"', /^dtca: --plan .*plan-vals\.json: replicates "3": must be an integer >= 1$/],
      ['"seed": 1e308', /^dtca: --plan .*plan-vals\.json: seed 1e\+308: must be an integer >= 0 and < 2\^53$/],
      ['"seed": -0.5', /^dtca: --plan .*plan-vals\.json: seed -0\.5: must be an integer >= 0$/],
    ] as [string, RegExp][]) {
      const plan = join(dir, 'plan-vals.json');
      writeFileSync(plan, `{"axes": {"clock.clock_hz": [1e7, 2e7], "fabric.tile.size": [8, 4]}, ${body}}`);
      const out = join(dir, 'plan-vals-out');
      refused(await pool.run(['sweep', 'plan', '--plan', plan, ...SMALL, '--sweeps', '5', '--out', out], q), re);
      expect(existsSync(out), body).toBe(false);
    }
  });

  it('--resume refuses a damaged options.json in one line naming it', async () => {
    const out = join(dir, 'options-sweep');
    const r = await pool.run([...SWEEP, '--jobs', '1', '--out', out], q);
    expect(r.code, r.stderr).toBe(0);
    const file = join(out, 'options.json');
    for (const [body, re] of [
      ['{"format": "dtca-sweep-options", "jobs": -5, "charts": true}', /options\.json: jobs -5: must be an integer >= 1$/],
      ['{"format": "dtca-sweep-options", "jobs": 1000000, "charts": true}', /options\.json: jobs 1000000: must be an integer <= 1024 /],
      ['{"format": "dtca-sweep-options", "jobs": 1, "charts": "yes"}', /options\.json: charts "yes": must be true or false$/],
      ['{"jobs": 1, "charts": true}', /options\.json: not a sweep's options file/],
      ['garbage', /options\.json: not valid JSON/],
    ] as [string, RegExp][]) {
      writeFileSync(file, body);
      refused(await pool.run(['sweep', '--resume', out], q), new RegExp(`^dtca: ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/${re.source}`));
    }
    // without one, the defaults apply
    rmSync(file);
    expect((await pool.run(['sweep', '--resume', out], q)).code).toBe(0);
  });
});
