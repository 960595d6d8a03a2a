// Makes docs/screenshot.png, the README's picture of the demo (not a test):
//   MAPD_BIN=build/release/mapd/mapd MAPD_FIXTURE_DB=sample-data/demo.sqlite \
//     node tests/node/web_screenshot.mjs docs/screenshot.png
// A desktop view of central Beijing: layers panel, clusters, a report's popup.
import { startServer } from './mapd_server.mjs';
import { launch, openPage, waitIdle } from './web_browser.mjs';

const out = process.argv[2] || 'screenshot.png';
const srv = await startServer();
const browser = await launch();
try {
  const { page, log } = await openPage(browser, srv.base, { viewport: { width: 1040, height: 640 } });
  await page.goto(`${srv.base}/?lang=zh#map=12.6/39.9080/116.4130`);
  await waitIdle(page);
  // A report near the centre: its popup shows category, status and history.
  const shown = await page.evaluate(() => {
    const m = window.map;
    const f = m.queryRenderedFeatures({ layers: ['reports-point'] })
      .map((x) => ({ x, p: m.project(x.geometry.coordinates) }))
      .find(({ x, p }) => p.x > 600 && p.x < 760 && p.y > 380 && p.y < 500 && x.properties.status !== 'reported');
    if (f) window.mapdApp.showReport(f.x.id, f.x.properties, f.x.geometry.coordinates);
    return !!f;
  });
  if (shown) await page.locator('.maplibregl-popup ol li').first().waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: out });
  if (log.blocked.length || log.errors.length) console.error(log);
} finally {
  await browser.close();
  await srv.stop();
}
