// CSV cells (fabric/csv.ts), the one function every CSV dtca writes goes through: RFC 4180 quoting
// and OWASP's rule against formula injection (a text cell beginning with = + - @ tab CR opened
// as a formula in a spreadsheet: a sweep axis value '=HYPERLINK(...)' reached results.csv as is).
import { describe, it, expect } from 'vitest';
import { csvCell, csvLine } from '../fabric/csv.js';
import { toCsv } from '../sim/sweep/collect.js';
import type { PlanFile, Row } from '../sim/sweep/store.js';

describe('csvCell', () => {
  it('neutralises text that a spreadsheet would read as a formula: a leading quote, the cell quoted', () => {
    expect(csvCell('=1+1')).toBe(`"'=1+1"`);
    expect(csvCell('+cmd')).toBe(`"'+cmd"`);
    expect(csvCell('-2+3')).toBe(`"'-2+3"`);
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvCell('\tx')).toBe(`"'\tx"`);
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it('numbers stay numbers (negative ones too), plain numeric text too; other text only quoted where RFC 4180 needs it', () => {
    expect(csvCell(-0.5)).toBe('-0.5');
    expect(csvCell(-1e-9)).toBe('-1e-9');
    expect(csvCell(42)).toBe('42');
    expect(csvCell('-2')).toBe('-2');
    expect(csvCell('+1.5e3')).toBe('+1.5e3');
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('a\rb')).toBe('"a\rb"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvLine(['x', -3, '=y'])).toBe(`x,-3,"'=y"`);
  });

  it("results.csv: a hostile axis value is neutralised, the axis's negative numbers stay numbers", () => {
    const pf = {
      plan: {
        axes: [
          { path: 'name', values: [] },
          { path: 'cell.offset', values: [] },
        ],
      },
    } as unknown as PlanFile;
    const row = (point: number, name: string, off: number) =>
      ({ point, id: `p${point}`, axes: { name, 'cell.offset': off }, replicate: 0, seed: 1, workload: 'bm 2x(50+2)' }) as unknown as Row;
    const lines = toCsv(pf, [row(1, '=HYPERLINK("http://evil","x")', -0.25), row(2, '@SUM(1)', 0.5)]).split('\n');
    expect(lines[1]).toMatch(/^1,p1,"'=HYPERLINK\(""http:\/\/evil"",""x""\)",-0\.25,0,1,bm 2x\(50\+2\),/);
    expect(lines[2]).toMatch(/^2,p2,"'@SUM\(1\)",0\.5,0,1,/);
  });
});
