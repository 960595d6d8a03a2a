// Screenshots of the web map's clusters for docs/ (before/after a change):
//   node bench/clusters/shots.mjs BASE_URL OUT_PREFIX
// Headless Debian Chromium (playwright-core from tests/node); the map at
// z10, z11 and z12 over the dense core; waits until every tile is drawn.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../tests/node/package.json'));
const { chromium } = require('playwright-core');
const [base, prefix] = process.argv.slice(2);

const browser = await chromium.launch({ executablePath: process.env.MAPD_CHROMIUM || '/usr/bin/chromium',
  headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-gl=swiftshader'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
for (const z of [10, 11, 12]) {
  await page.goto(`${base}/#map=${z}/39.909/116.397`);
  await page.waitForFunction(() => {
    const m = window.map;
    return m && m.isStyleLoaded() && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, null, { timeout: 60000, polling: 200 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${prefix}-z${z}.png` });
  console.log(`${prefix}-z${z}.png`);
}
await browser.close();
