// yargs renders a command's whole help text when the command's handler starts, for failure output
// that dtca replaces with one line (cli/main.ts skipHelpCache): that rendering must not run, and
// --help must still print the help.
import { describe, expect, it, vi } from 'vitest';
import { buildCli } from '../cli/main.js';
import { newSession } from '../cli/session.js';

type Usage = { help: () => string };

/** parse `argv` in-process with stdout captured; how many times the usage text was rendered */
async function renders(argv: string[]): Promise<{ n: number; out: string }> {
  const cli = buildCli(argv, newSession({ argv }));
  const usage = (cli as unknown as { getInternalMethods(): { getUsageInstance(): Usage } }).getInternalMethods().getUsageInstance();
  let n = 0;
  const help = usage.help;
  usage.help = function (this: Usage) {
    n++;
    return help.call(this);
  };
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out += a.join(' ') + '\n';
  });
  try {
    await cli.parseAsync();
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
  return { n, out };
}

describe('the help text', () => {
  it('is not rendered when a command runs', async () => {
    const r = await renders(['config', 'schema']);
    expect(r.out).toContain('"$schema"');
    expect(r.n).toBe(0);
  });
  it('is rendered for --help', async () => {
    const r = await renders(['train', '--help']);
    expect(r.n).toBeGreaterThan(0);
    expect(r.out).toContain('--epochs');
  });
});
