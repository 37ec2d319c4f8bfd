// Every dtca command line the docs write (README.md and docs/*.md: the lines of ```sh blocks, a
// container's command in a ```yaml block, docs/commands.md's usages and the inline `dtca ...` /
// `npx dtca ...` code spans) parses: a known command and subcommand, every
// flag known to that command, a number where the flag takes one, a value where one is needed. The
// command line goes through the CLI's own parser (buildCli in cli/main.ts, in-process) with one
// more middleware, run after yargs' validation and dtca's checks of cli/argv.ts and before the
// command's handler, that stops there: nothing is simulated, read or written.
// (In the cli tier: it imports cli/main.ts, which the unit tier may not; test/tiers.ts.)
import { describe, it, expect, vi, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../cli/main.js';
import { newSession } from '../cli/session.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Command lines written wrong on purpose (examples of the errors dtca gives), with the reason.
 * Each must still fail to parse (else it is no longer an example of an error and belongs out of this list).
 */
const WRONG_ON_PURPOSE: Record<string, string> = {
  'dtca run --grid 48': 'docs/commands.md: a config value typed as a flag, and the --set the error points to',
  'dtca runn': 'docs/commands.md: a misspelt command, and the command the error points to',
  'dtca model xyz': "docs/commands.md: a command dtca model does not have, and the error's list of its commands",
};

interface Line {
  /** file:line */
  where: string;
  /** as written (after `npx`, continuation lines joined) */
  text: string;
  /**
   * block: a line of a ```sh block; usage: a usage of docs/commands.md's table (both full command
   * lines); prose: an inline code span in the text, which may name a command or a flag alone
   */
  kind: 'block' | 'usage' | 'prose';
}

/** The documented command lines of one markdown file. */
export function commandLines(file: string, md: string): Line[] {
  const out: Line[] = [];
  const lines = md.split('\n');
  // fenced blocks: their shell lines; the prose with the blocks blanked out (same offsets) for the spans
  const prose: string[] = [];
  const shell: { at: number; text: string }[] = [];
  let fence: string | null = null;
  lines.forEach((l, i) => {
    const open = /^```(\w*)/.exec(l);
    if (open) fence = fence === null ? open[1]! : null;
    else if (fence !== null && ['sh', 'bash', 'shell'].includes(fence)) shell.push({ at: i, text: l });
    else if (fence === 'yaml') {
      // a container's command: ["sh", "-c", "node /opt/dtca/dist/dtca.js sweep run ..."]
      const m = /"\S*node\s+\S*dist\/dtca\.js( [^"]*)"/.exec(l);
      if (m) out.push({ where: `${file}:${i + 1}`, text: `dtca${m[1]!}`, kind: 'block' });
    }
    prose.push(open || fence !== null ? ' '.repeat(l.length) : l);
  });
  for (let k = 0; k < shell.length; k++) {
    const first = shell[k]!.at;
    let text = shell[k]!.text;
    while (/\\\s*$/.test(text) && k + 1 < shell.length) text = text.replace(/\\\s*$/, ' ') + shell[++k]!.text;
    // a comment, then the commands of a `&&` / `;` / `|` chain
    text = text.replace(/(^|\s)#.*$/, '');
    for (const part of text.split(/&&|;|\|/)) {
      const cmd = part
        .trim()
        .replace(/^\$\s+/, '')
        .replace(/^exec\s+/, '');
      const m = /^(?:npx\s+dtca|dtca|\S*node\s+\S*dist\/dtca\.js)(?=\s|$)(.*)$/.exec(cmd);
      if (m) out.push({ where: `${file}:${first + 1}`, text: `dtca${m[1]!.replace(/\s+/g, ' ').trimEnd()}`, kind: 'block' });
    }
  }
  const text = prose.join('\n');
  for (const m of text.matchAll(/`([^`]*)`/g)) {
    const at = text.slice(0, m.index).split('\n').length;
    // a table cell writes | as \|
    const span = m[1]!.replace(/\\\|/g, '|').replace(/\s+/g, ' ').trim();
    // a message that names the command to type next: "...; continue with: dtca sweep --resume DIR"
    const said = /(?:^|: )((?:npx )?dtca(?: .*)?)$/.exec(span);
    const row = lines[at - 1]!;
    if (file === 'docs/commands.md' && row.startsWith('| `') && row.split(/(?<!\\)\|/)[1]!.includes(m[0])) continue;
    if (said) out.push({ where: `${file}:${at}`, text: said[1]!.replace(/^npx /, ''), kind: 'prose' });
  }
  // the usages of docs/commands.md's table: a row's first cell, its spans separated by " / "; a span
  // after the first without "dtca" is a subcommand (`sweep run DIR ...`) or more options of the one
  // before (`dtca trace export FILE --csv OUT` / `--npy DIR`, `(MODEL also: [--config C] ...)`)
  if (file === 'docs/commands.md') {
    lines.forEach((row, i) => {
      if (!row.startsWith('| `')) return;
      const cell = row.split(/(?<!\\)\|/)[1]!;
      let before = '';
      for (const m of cell.matchAll(/`([^`]+)`/g)) {
        const span = m[1]!.replace(/\\\|/g, '|');
        const afterSlash = /\/ $/.test(cell.slice(0, m.index));
        // (also `npm run bench`): not a dtca command line
        if (!span.startsWith('dtca') && !/^[-[]/.test(span) && !afterSlash) continue;
        const full = span.startsWith('dtca') ? span : /^[-[]/.test(span) ? `${before} ${span}` : `dtca ${span}`;
        out.push({ where: `${file}:${i + 1}`, text: full, kind: 'usage' });
        before = full.split(' --')[0]!;
      }
    });
  }
  return out;
}

/** Placeholder words that stand for a number (a count, a seed, a stage, a scale, a rate). */
const NUMBER_WORDS = /^(N|K|S|C|W|T|E|B|M|G|D|L|F|LR|SCALE|START|END)$/;

/**
 * The argument vectors a documented line stands for: its usage syntax read ([optional] parts in,
 * `a|b` alternatives one per vector, `...` and `…` out, placeholders for numbers as 1, [config]
 * as a preset); the words after `dtca`. Quotes are taken off as a shell would.
 */
export function argvsOf(text: string): string[][] {
  // shell arithmetic, $((JOB_COMPLETION_INDEX + 1)): a number
  const words = (text.replace(/\$\(\([^)]*\)\)/g, '1').match(/"[^"]*"|'[^']*'|\S+/g) ?? []).slice(1).map((w) => w.replace(/^["']|["']$/g, ''));
  const tokens: string[][] = [];
  for (let w of words) {
    // [config]: the optional config positional, given as a preset (the command must take one)
    if (w === '[config]') w = 'dtca-paper';
    w = w.replace(/[[\]]/g, '');
    if (w === '...' || w === '…') {
      // `--set ...`: some value of the flag; `dtca run ... --trace`: the command's other options
      if (tokens.length > 0 && tokens[tokens.length - 1]![0]!.startsWith('-')) tokens.push(['a=1']);
      continue;
    }
    if (w === '') continue;
    // a shell default, "${SLURM_CPUS_PER_TASK:-1}": its value
    w = w.replace(/^\$\{\w+:-([^}]*)\}$/, '$1');
    w = w.replace(/,?(\.\.\.|…)$/, '');
    // <id>: any word
    w = w.replace(/<[^>]+>/g, 'x');
    const alts = w.split('|').map((a) =>
      a
        .split(/([:,/=])/)
        .map((p) => (NUMBER_WORDS.test(p) ? '1' : p))
        .join(''),
    );
    tokens.push(alts);
  }
  const n = Math.max(1, ...tokens.map((t) => t.length));
  return Array.from({ length: n }, (_, k) => tokens.map((t) => t[k % t.length]!));
}

class Parsed extends Error {}

/** null when `argv` parses, else the parser's message */
export async function parseError(argv: string[]): Promise<string | null> {
  const s = newSession({ argv });
  const cli = buildCli(argv, s).middleware(() => {
    throw new Parsed('parsed');
  }, false);
  try {
    await cli.parseAsync();
    return null; // -h, --version: shown, nothing run
  } catch (e) {
    if (e instanceof Parsed) return null;
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Whether a parse error of a prose span is what the prose means: the text names a command or a flag
 * without writing a whole command line. `dtca` alone is the program; a span that ends in a flag that
 * needs a value (`dtca sweep --axis`, `dtca train --budget`) names the flag; a span that names no
 * file or directory may leave out what the command requires (`dtca sweep run`, `dtca model new
 * --weights random:0.25`, `dtca experiment`). An unknown command or flag, or a wrong value, is never
 * excused; a ```sh block's line and a usage of docs/commands.md are held to the whole command line.
 */
export function excused(line: Line, argv: string[], msg: string): boolean {
  if (line.kind !== 'prose') return false;
  if (argv.length === 0) return true;
  const last = argv[argv.length - 1]!;
  if (last.startsWith('-') && (msg.startsWith(`${last}: needs a value`) || msg.startsWith(`${last} true: expected one of`))) return true;
  // a span that names its file or directory (`dtca model tune l2.mp --images 1000`) reads as a command line to type
  const named = argv.some((w, i) => !w.startsWith('-') && !argv[i - 1]?.startsWith('-') && !/^[a-z][a-z-]*$/.test(w));
  return !named && /^--[\w-]+: required$|^missing an argument|^[\w ]+: missing <|^name an? \w+/.test(msg);
}

const files = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

let lines: Line[];
const quiet: ReturnType<typeof vi.spyOn>[] = [];

beforeAll(() => {
  lines = files.flatMap((f) => commandLines(f, readFileSync(join(ROOT, f), 'utf8')));
  // -h and --version print; the parser's messages are what this test reads
  quiet.push(
    vi.spyOn(console, 'log').mockImplementation(() => {}),
    vi.spyOn(console, 'error').mockImplementation(() => {}),
  );
});
afterAll(() => quiet.forEach((q) => q.mockRestore()));

describe('the command lines in the docs', () => {
  it('finds them: sh blocks, usages of docs/commands.md, inline spans', () => {
    const texts = lines.map((l) => l.text);
    expect(texts).toContain('dtca sweep collect /shared/s1');
    expect(texts).toContain('dtca sweep run /shared/s1 --jobs "${SLURM_CPUS_PER_TASK:-1}"');
    expect(texts.some((t) => t.startsWith('dtca train --init l1.mp --out l2.mp') && t.includes('--epochs 10'))).toBe(true);
    expect(texts.some((t) => t.startsWith('dtca model new [--stages T] [-L N]'))).toBe(true);
    // a usage of the table after " / " without "dtca", more options of the span before, a message's next command
    expect(texts).toContain('dtca sweep run DIR [--shard k/N] [--jobs N]');
    expect(texts).toContain('dtca trace export FILE --npy DIR');
    expect(texts).toContain('dtca sweep --resume DIR');
    expect(texts).not.toContain('dtca npm run bench');
    expect(texts).toContain('dtca sweep run /sweeps/s1 --shard $((JOB_COMPLETION_INDEX + 1))/4 --jobs 2');
    expect(lines.length).toBeGreaterThan(300);
  });

  it('reads usage syntax: optional parts, alternatives, placeholders', () => {
    expect(argvsOf('dtca eval RUN_DIR|MODEL [--images N] [--json]')).toEqual([
      ['eval', 'RUN_DIR', '--images', '1', '--json'],
      ['eval', 'MODEL', '--images', '1', '--json'],
    ]);
    expect(argvsOf('dtca run [config] --beta B|START:END [--set ...]')).toEqual([
      ['run', 'dtca-paper', '--beta', '1', '--set', 'a=1'],
      ['run', 'dtca-paper', '--beta', '1:1', '--set', 'a=1'],
    ]);
  });

  it('the parser stops before the command runs, and tells a wrong line', async () => {
    expect(await parseError(['run', '--images', '3'])).toBeNull();
    expect(await parseError(['run', '--imgaes', '3'])).toMatch(/did you mean --images/);
    expect(await parseError(['run', '--images', 'many'])).toMatch(/not a number/);
    expect(await parseError(['sweep', 'plan', '--bogus'])).toMatch(/bogus/);
    expect(await parseError(['modle'])).not.toBeNull();
  });

  it('excuses a prose span only for what it leaves out, never for a wrong flag or value', async () => {
    const prose = (text: string): Line => ({ where: 'x.md:1', text, kind: 'prose' });
    const check = async (text: string) => {
      const argv = argvsOf(text)[0]!;
      return excused(prose(text), argv, (await parseError(argv))!);
    };
    expect(await check('dtca sweep --axis')).toBe(true);
    expect(await check('dtca model new --weights random:0.25')).toBe(true);
    expect(await check('dtca model tune l2.mp --images 1000')).toBe(false);
    expect(await check('dtca sweep --axes')).toBe(false);
    expect(await check('dtca run --images many')).toBe(false);
    const argv = argvsOf('dtca model new')[0]!;
    expect(excused({ where: 'x.md:1', text: 'dtca model new', kind: 'block' }, argv, (await parseError(argv))!)).toBe(false);
  });

  it('every one parses', async () => {
    const bad: string[] = [];
    let checked = 0;
    for (const line of lines) {
      const wrong = WRONG_ON_PURPOSE[line.text];
      for (const argv of argvsOf(line.text)) {
        checked++;
        const msg = await parseError(argv);
        if (wrong !== undefined) {
          if (msg === null) bad.push(`${line.where}: \`${line.text}\` is listed as wrong on purpose (${wrong}) but parses`);
        } else if (msg !== null && !excused(line, argv, msg)) bad.push(`${line.where}: \`${line.text}\` (dtca ${argv.join(' ')}): ${msg}`);
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });
});
