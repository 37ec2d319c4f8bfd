/**
 * Runs the built CLI's main() in a worker thread (test/helpers/cli-worker.mjs), one invocation at
 * a time, with a wall-clock limit per invocation: a hang terminates the worker, is reported as
 * `hang`, and the next invocation gets a fresh worker. Far cheaper than a process per case.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export const DIST_CLI = fileURLToPath(new URL('../../dist/dtca.js', import.meta.url));
const WORKER = new URL('./cli-worker.mjs', import.meta.url);

export interface CliResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
  /** main() itself threw (it must not) */
  thrown: string | null;
  /** keys added to Object.prototype by the invocation */
  polluted: string[];
  hang: boolean;
  ms: number;
}

export class CliPool {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private next = 0;
  /** exit codes seen (and 'hang'), for a census of what the cases did */
  codes = new Map<string, number>();
  /** rejects the invocation in flight when the worker dies */
  private failed: ((e: Error) => void) | null = null;

  constructor(
    private readonly timeoutMs = 10_000,
    private readonly cli: string = DIST_CLI,
  ) {
    this.cli = cli ?? DIST_CLI;
  }

  private start(): Promise<void> {
    const w = new Worker(WORKER, { workerData: { cli: `file://${this.cli}` }, stdout: false, stderr: false });
    this.worker = w;
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: { ready?: boolean }) => {
        if (m.ready) {
          w.off('message', onMsg);
          resolve();
        }
      };
      w.on('message', onMsg);
      w.once('error', (e) => {
        this.worker = null;
        this.failed?.(e);
        reject(e);
      });
    });
    return this.ready;
  }

  async run(args: string[], env: Record<string, string | null> = {}): Promise<CliResult> {
    if (!this.worker) await this.start();
    else await this.ready;
    const w = this.worker as Worker;
    const id = ++this.next;
    const t0 = performance.now();
    return new Promise<CliResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off('message', onMsg);
        void w.terminate();
        this.worker = null;
        this.codes.set('hang', (this.codes.get('hang') ?? 0) + 1);
        resolve({ code: undefined, stdout: '', stderr: '', thrown: null, polluted: [], hang: true, ms: performance.now() - t0 });
      }, this.timeoutMs);
      const onMsg = (m: Omit<CliResult, 'hang' | 'ms'> & { id: number }) => {
        if (m.id !== id) return;
        clearTimeout(timer);
        w.off('message', onMsg);
        const k = `exit ${m.code}`;
        this.codes.set(k, (this.codes.get(k) ?? 0) + 1);
        resolve({ ...m, hang: false, ms: performance.now() - t0 });
      };
      w.on('message', onMsg);
      this.failed = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      w.postMessage({ id, args, env });
    });
  }

  async close(): Promise<void> {
    if (this.worker) await this.worker.terminate();
    this.worker = null;
  }
}

/** stderr lines that are not log records (pino JSON lines of level < 40 are progress, not errors). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => {
    if (!l.trim()) return false;
    if (l.startsWith('{"level":')) {
      const lv = Number(/^\{"level":(\d+)/.exec(l)?.[1]);
      return lv >= 50;
    }
    return true;
  });
}

/**
 * The contract every invocation must keep: it works (exit 0), or ends with exit 2 and exactly one
 * line "dtca: ..." on stderr (plus log records); never a stack trace, an internal error, a hang, a
 * throw out of main(), or a change to Object.prototype. Returns what broke, or null.
 */
export function contractBroken(r: CliResult, allowed: number[] = [0, 2]): string | null {
  if (r.hang) return 'hang';
  if (r.thrown) return `main() threw: ${r.thrown.split('\n')[0]}`;
  if (r.polluted.length) return `Object.prototype polluted: ${r.polluted.join(',')}`;
  if (/\n\s+at |internal error/.test(r.stderr)) return `stack trace: ${r.stderr.split('\n').find((l) => /internal error|Error/.test(l)) ?? ''}`.slice(0, 200);
  if (!allowed.includes(r.code as number)) return `exit ${r.code}`;
  if (r.code !== 0) {
    const lines = errorLines(r.stderr);
    if (lines.length !== 1 || !lines[0].startsWith('dtca: ')) return `${lines.length} error lines: ${lines.join(' | ').slice(0, 200)}`;
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(lines[0])) return 'control characters in the error line';
  }
  return null;
}
