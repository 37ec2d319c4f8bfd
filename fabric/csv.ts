/**
 * CSV cells: the one function every CSV dtca writes goes through (`sweep`'s results.csv,
 * `trace export --csv`, `energy-table --csv`).
 *
 * RFC 4180 quoting (a comma, a double quote, a CR or an LF puts the cell in double quotes, its
 * quotes doubled), and OWASP's rule against formula injection: a text cell that begins with `=`,
 * `+`, `-`, `@`, a tab, a CR or an LF opens in a spreadsheet as a formula (`=HYPERLINK(...)`,
 * `@SUM(...)`), so it is written `'` + the text, quoted: the spreadsheet shows it as text, and a
 * program reading the file sees the leading `'`. Numbers stay numbers: a number is written as
 * JavaScript prints it (`-0.5`, `1e-9`), and so is text that is one plain decimal number
 * (`-2`, `+1.5e3`: a spreadsheet reads it as that number, never as a formula).
 */

/** A plain decimal number: what a spreadsheet reads as a number, never as a formula. */
const PLAIN_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
/** What makes a spreadsheet read a cell as a formula (OWASP, CSV Injection). */
const FORMULA_START = /^[=+\-@\t\r\n]/;

/** One CSV cell: '' for null and undefined, numbers as printed, text quoted where needed and neutralised. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV line (no line end) of these cells. */
export function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',');
}
