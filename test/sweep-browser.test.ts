// The sweep report in a real browser: Debian's headless Chromium (driven by playwright-core) opens
// index.html from disk with the network off, takes a screenshot, and the DOM is checked: no console
// errors, no request leaves the disk, one table row per point, every chart image decoded, and at a
// 1300 px wide window the page does not scroll sideways. With two replicates per design, each
// chart's spec in the page (its data, not its pixels) holds the mean and the least and greatest
// replicate of every design, matching the results table's values, and its caption says what the
// bars are.
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { dtca } from './helpers/cli.js';

const CHROMIUM = process.env.DTCA_CHROMIUM ?? '/usr/bin/chromium';
const have = existsSync(CHROMIUM);
if (!have && !process.env.CI) console.warn(`SKIPPED the browser test of index.html: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!have && !process.env.CI)('index.html in headless Chromium', () => {
  it('loads from disk without network or console errors; the table and the charts are there', async () => {
    expect(existsSync(CHROMIUM), `Chromium is required in CI (${CHROMIUM})`).toBe(true);
    const root = mkdtempSync(join(tmpdir(), 'dtca-browser-'));
    const dir = join(root, 's');
    const r = dtca([
      'sweep',
      '--grid',
      '12,14',
      '--clock',
      '1e7,4e7',
      '--images',
      '2',
      '--stages',
      '3',
      '--sweeps',
      '20',
      '--replicates',
      '2',
      '--out',
      dir,
      '--jobs',
      '2',
    ]);
    expect(r.code).toBe(0);
    const charts = readdirSync(join(dir, 'plots')).filter((f) => f.endsWith('.svg')).length;
    expect(charts).toBeGreaterThan(0);
    const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'dtca-chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await ctx.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(pathToFileURL(join(dir, 'index.html')).href, { waitUntil: 'load' });
      const shot = join(root, 'index.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      expect(await page.locator('#results tbody tr').count()).toBe(8);
      const imgs = await page.$$eval('figure img', (els) =>
        els.map((e) => ({ ok: (e as HTMLImageElement).complete, w: (e as HTMLImageElement).naturalWidth })),
      );
      expect(imgs.length).toBe(charts);
      for (const i of imgs) {
        expect(i.ok).toBe(true);
        expect(i.w).toBeGreaterThan(100);
      }
      expect(await page.locator('#results a[href^="points/"]').count()).toBe(8);
      // the spread of the replicates, read from the page: the results table's lag-1 of each row, and
      // the lag-1 against clock chart's data (in its spec, embedded beside its picture)
      const seen = await page.evaluate(() => {
        const heads = Array.from(document.querySelectorAll('#results thead th')).map((t) => t.textContent);
        const col = (h: string) => heads.indexOf(h);
        const table = Array.from(document.querySelectorAll('#results tbody tr')).map((tr) => {
          const v = (h: string) => Number((tr as HTMLTableRowElement).cells[col(h)].getAttribute('data-v'));
          return { L: v('fabric.L'), clock: v('clock.clock_hz (MHz)'), lag1: v('lag-1') };
        });
        const fig = document.getElementById('chart-lag1_autocorr--clock.clock_hz')!;
        const spec = JSON.parse(fig.querySelector('script[type="application/vnd.vegalite+json"]')!.textContent!);
        return { table, spec, caption: fig.querySelector('figcaption')!.textContent };
      });
      expect(seen.caption).toContain('mean of 2 replicates; bars: least to greatest replicate (min–max)');
      type Datum = { x: number; y: number; lo: number; hi: number; n: number; series: string; kind: string };
      const measured = (seen.spec.data.values as Datum[]).filter((d) => d.kind === 'measured');
      expect(measured.length).toBe(4);
      for (const d of measured) {
        const reps = seen.table.filter((t) => String(t.L) === d.series && t.clock === d.x * 1e6).map((t) => t.lag1);
        expect(reps.length, `${d.series} at ${d.x} MHz`).toBe(2);
        expect(d.n).toBe(2);
        expect(d.lo).toBe(Math.min(...reps));
        expect(d.hi).toBe(Math.max(...reps));
        expect(d.y).toBeCloseTo((reps[0] + reps[1]) / 2, 12);
      }
      // seeds differ: the bars have a length (a bar of zero length everywhere would draw nothing)
      expect(measured.some((d) => d.hi > d.lo)).toBe(true);
      // the spec draws them: a layer of error bars from lo to hi where n > 1
      const bars = (
        seen.spec.layer as { mark: { type: string }; transform?: unknown[]; encoding?: { y?: { field: string }; y2?: { field: string } } }[]
      ).filter((l) => l.mark.type === 'errorbar');
      expect(bars.map((b) => [b.encoding?.y?.field, b.encoding?.y2?.field, b.transform])).toEqual([['lo', 'hi', [{ filter: 'datum.n > 1' }]]]);
      // the sort script runs: two clicks on "#" order the rows 8..1
      await page.locator('#results thead th').first().click();
      await page.locator('#results thead th').first().click();
      expect(await page.locator('#results tbody tr td:first-child').allTextContents()).toEqual(['8', '7', '6', '5', '4', '3', '2', '1']);
      // usable in a 1300 px window: the page itself does not scroll sideways (the results table
      // scrolls in its own box), and every chart fits the window
      await page.setViewportSize({ width: 1300, height: 900 });
      const fit = await page.evaluate(() => {
        const root = document.documentElement;
        const table = document.getElementById('results')!;
        const box = table.parentElement!;
        return {
          scrollWidth: root.scrollWidth,
          clientWidth: root.clientWidth,
          tableWidth: table.getBoundingClientRect().width,
          boxScrolls: box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX === 'auto',
          charts: Array.from(document.querySelectorAll('figure img')).map((e) => e.getBoundingClientRect().right),
        };
      });
      expect(fit.scrollWidth, 'index.html scrolls sideways at 1300 px').toBeLessThanOrEqual(fit.clientWidth);
      if (fit.tableWidth > fit.clientWidth) expect(fit.boxScrolls, 'the wide results table scrolls in its own box').toBe(true);
      for (const right of fit.charts) expect(right).toBeLessThanOrEqual(fit.clientWidth);
      await page.screenshot({ path: join(root, 'index-1300.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
