// docs/commands.md names every flag the CLI shows: `-h` of every command and subcommand (found by
// walking `dtca -h`'s command lists) against the table's rows for that command, and the other way
// round, every flag in a row's usage exists in its command's `-h`. A flag added to a command
// without a word in docs/commands.md fails here, not for a new user.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dtca, ROOT } from './helpers/cli.js';

/** documented once, in the paragraph on conventions (every command takes them) */
const GLOBAL = new Set(['--quiet', '--verbose', '--version', '--help', '-h']);

interface Help {
  /** the command's words after `dtca` ('' for dtca itself) */
  path: string;
  flags: string[];
  subcommands: string[];
}

/** A `-h` text's flags (the Options section) and subcommands (the Commands section, as full paths). */
function parseHelp(path: string, text: string): Help {
  const flags: string[] = [];
  const subcommands: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const head = /^(\w[\w ]*):$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    if (section === 'Commands') {
      // `  dtca model new   write ...`, `  dtca model info <file>  describe ...`: the words before an argument or the description
      const m = /^ {2}dtca ((?:[\w-]+ ?)+)/.exec(line);
      if (m) subcommands.push(m[1]!.trim());
    } else if (section === 'Options') {
      // an option's line starts within the first columns; its description's continuation lines are indented further
      const m = /^ {2,6}(-\w|--[\w-]+)(?:, (--[\w-]+))?(?=\s|$)/.exec(line);
      if (m) flags.push(m[2] ?? m[1]!);
      if (m?.[2]) flags.push(m[1]!);
    }
  }
  return { path, flags, subcommands: subcommands.filter((s) => s.startsWith(path ? `${path} ` : '') && s !== path) };
}

/** The table of docs/commands.md: per row, its cells, the code spans of its first cell. */
function tableRows(md: string): { cells: string[]; spans: string[] }[] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|'));
      const spans = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      return { cells, spans };
    });
}

/**
 * Which command each row's usage spans belong to: the longest known path a span starts with
 * (`dtca sweep plan ...`, or `sweep train DIR` after a slash), else the span before it's
 * (`--npy DIR` after `dtca trace export FILE --csv OUT`).
 */
function spansByCommand(rows: { cells: string[]; spans: string[] }[], paths: string[]) {
  const longestFirst = [...paths].sort((a, b) => b.length - a.length);
  const out: { path: string; span: string; row: number }[] = [];
  rows.forEach((r, k) => {
    let current: string | null = null;
    for (const span of r.spans) {
      const words = span.replace(/^dtca /, '');
      const p = longestFirst.find((q) => words === q || words.startsWith(`${q} `));
      if (p !== undefined && (span.startsWith('dtca ') || current !== null)) current = p;
      if (current !== null) out.push({ path: current, span, row: k });
    }
  });
  return out;
}

/** `--x` (or its negation `--no-x`, as boolean options default to true are written) as a word of `text` */
function mentions(text: string, flag: string): boolean {
  const forms = [flag, ...(flag.startsWith('--') ? [`--no-${flag.slice(2)}`] : [])];
  return forms.some((f) => new RegExp(`(^|[^\\w-])${f.replace(/[-]/g, '\\-')}(?![\\w-])`).test(text));
}

/** The flags a command's -h shows that its rows of the doc do not mention, as "dtca PATH: --flag". */
function undocumented(md: string, helps: Help[]): string[] {
  const rows = tableRows(md);
  const spans = spansByCommand(
    rows,
    helps.map((h) => h.path).filter((p) => p !== ''),
  );
  const missing: string[] = [];
  for (const h of helps) {
    // dtca itself and a group of subcommands (dtca model) have only the global flags, and no row of their own
    if (h.path === '' || (h.subcommands.length > 0 && h.flags.every((f) => GLOBAL.has(f)))) continue;
    // `dtca sweep plan ...`: the ellipsis right after the command stands for its parent's options
    const parent = h.path.split(' ').slice(0, -1).join(' ');
    const inherits = spans.some((s) => s.path === h.path && s.span.startsWith(`dtca ${h.path} ...`));
    const own = spans.filter((s) => s.path === h.path || (inherits && s.path === parent));
    if (own.length === 0) {
      missing.push(`dtca ${h.path}: no row`);
      continue;
    }
    // its usage spans and the descriptions of their rows (a row may hold several commands' usages: only this one's count)
    const rowsOf = new Set(own.map((s) => s.row));
    const text = [...own.map((s) => s.span), ...[...rowsOf].map((k) => rows[k]!.cells.slice(1).join(' | '))].join('\n');
    for (const f of h.flags) if (!GLOBAL.has(f) && !mentions(text, f)) missing.push(`dtca ${h.path}: ${f}`);
  }
  return missing;
}

/** The flags of a row's usage that its command's -h does not show, as "dtca PATH: --flag". */
function unknown(md: string, helps: Help[]): string[] {
  const byPath = new Map(helps.map((h) => [h.path, new Set(h.flags)]));
  const out: string[] = [];
  for (const { path, span } of spansByCommand(
    tableRows(md),
    helps.map((h) => h.path).filter((p) => p !== ''),
  )) {
    for (const m of span.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)) {
      const f = m[1]!;
      const known = byPath.get(path)!;
      if (GLOBAL.has(f) || known.has(f) || (f.startsWith('--no-') && known.has(`--${f.slice(5)}`))) continue;
      out.push(`dtca ${path}: ${f}`);
    }
  }
  return out;
}

let helps: Help[];
let md: string;

beforeAll(() => {
  md = readFileSync(join(ROOT, 'docs/commands.md'), 'utf8');
  helps = [];
  const todo = [''];
  while (todo.length > 0) {
    const path = todo.shift()!;
    const r = dtca([...(path ? path.split(' ') : []), '-h']);
    expect(r.code, `dtca ${path} -h: ${r.stderr}`).toBe(0);
    const h = parseHelp(path, r.stdout);
    helps.push(h);
    todo.push(...h.subcommands);
  }
}, 120_000);

describe('docs/commands.md and -h', () => {
  it('finds every command and the flags of each (the parser reads -h as yargs writes it)', () => {
    const paths = helps.map((h) => h.path);
    for (const p of [
      'run',
      'model new',
      'model tune',
      'sweep',
      'sweep plan',
      'sweep slurm',
      'sweep collect',
      'config schema',
      'trace export',
      'experiment central',
      'bench',
    ])
      expect(paths).toContain(p);
    const flags = (p: string) => helps.find((h) => h.path === p)!.flags;
    expect(flags('model new')).toEqual(expect.arrayContaining(['-L', '--stages', '--boundary', '--out', '-h', '--help']));
    expect(flags('sweep collect')).toEqual(expect.arrayContaining(['--charts', '--json']));
    expect(flags('train')).toEqual(expect.arrayContaining(['--lr-floor', '--slurm-partition', '--json']));
    // a description's continuation line that starts with a flag is not an option of its own
    expect(flags('sweep')).not.toContain('--no-charts');
  });

  it('the global flags are in the paragraph on conventions', () => {
    for (const f of GLOBAL) expect(md).toContain(`\`${f}\``);
  });

  it("every flag -h shows is in its command's row of docs/commands.md", () => {
    expect(undocumented(md, helps)).toEqual([]);
  });

  it("every flag a row of docs/commands.md names exists in its command's -h", () => {
    expect(unknown(md, helps)).toEqual([]);
  });

  it('the check fails when a flag goes missing from the doc, or the doc names one that does not exist', () => {
    const without = md.replaceAll('--lr-floor', '');
    expect(undocumented(without, helps)).toContain('dtca train: --lr-floor');
    const extra = md.replace('`dtca data [--data DIR] [--json]`', '`dtca data [--data DIR] [--json] [--dir DIR]`');
    expect(unknown(extra, helps)).toContain('dtca data: --dir');
  });
});
