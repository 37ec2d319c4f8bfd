// Missing Fashion-MNIST data from the command line: exit 2 and one line naming where dtca looked.
// (Loading and damage in-process: test/fmnist.test.ts.)
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { CLI, ROOT } from './helpers/cli.js';

function dtca(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DTCA_LOG: 'warn', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dtca eval without data', () => {
  it('dtca eval with no data: exit 2 and one line naming the directory and the remedy', () => {
    const r = dtca(['eval', 'configs', '--data', '/nonexistent/fmnist']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dtca: Fashion-MNIST not found: \/nonexistent\/fmnist does not exist; .*apt-get install dataset-fashion-mnist/);
  });

  it('dtca eval honours DTCA_DATA', () => {
    const r = dtca(['eval', 'configs'], { DTCA_DATA: '/elsewhere/fmnist' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/elsewhere\/fmnist does not exist/);
  });
});
