// Headless Debian Chromium driven by playwright-core for the web map tests.
// Every request that is not to the test server is aborted and recorded, so a
// test can assert that the page never tried to reach outside the machine.
// Console errors and uncaught page errors are collected per page.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.MAPD_CHROMIUM || '/usr/bin/chromium';

// Where screenshots go: the build tree's test output folder.
export function outDir() {
  const dir = process.env.MAPD_TEST_OUT ||
    join(process.env.MAPD_BUILD_DIR || tmpdir(), 'tests', 'out', 'web');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Chromium with a fresh temporary profile (playwright-core makes one per launch).
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page in a new browser context (`options`: viewport, geolocation, ...)
// whose requests may only go to `base`; the rest are aborted and recorded.
export async function openPage(browser, base, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const log = { blocked: [], errors: [], requests: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === base || url.startsWith(`${base}/`)) {
      log.requests.push(url);
      return route.continue();
    }
    log.blocked.push(url);
    return route.abort('blockedbyclient');
  });
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`console: ${m.text()} @ ${m.location()?.url || ''}`);
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) log.errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, log, context };
}

// Wait until the style is loaded, every tile is in and the map is not moving.
export async function waitIdle(page, timeout = 30000) {
  await page.waitForFunction(() => {
    const m = window.map;
    return m && m.isStyleLoaded() && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, null, { timeout, polling: 100 });
}

// Screen coordinates (page pixels) of a lon/lat on the map.
export async function screenPoint(page, lngLat) {
  return page.evaluate(([lng, lat]) => {
    const p = window.map.project([lng, lat]);
    const r = window.map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lngLat);
}
