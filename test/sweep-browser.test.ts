// The sweep report in a real browser: Debian's headless Chromium (driven by playwright-core) opens
// index.html from disk with the network off, takes a screenshot, and the DOM is checked: no console
// errors, no request leaves the disk, one table row per point, every chart image decoded, and at a
// 1300 px wide window the page does not scroll sideways.
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
    const r = dtca(['sweep', '--grid', '12,14', '--clock', '1e7,4e7', '--images', '2', '--stages', '3', '--sweeps', '20', '--out', dir, '--jobs', '2']);
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
      expect(await page.locator('#results tbody tr').count()).toBe(4);
      const imgs = await page.$$eval('figure img', (els) =>
        els.map((e) => ({ ok: (e as HTMLImageElement).complete, w: (e as HTMLImageElement).naturalWidth })),
      );
      expect(imgs.length).toBe(charts);
      for (const i of imgs) {
        expect(i.ok).toBe(true);
        expect(i.w).toBeGreaterThan(100);
      }
      expect(await page.locator('#results a[href^="points/"]').count()).toBe(4);
      // the sort script runs: two clicks on "#" order the rows 4..1
      await page.locator('#results thead th').first().click();
      await page.locator('#results thead th').first().click();
      expect(await page.locator('#results tbody tr td:first-child').allTextContents()).toEqual(['4', '3', '2', '1']);
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
