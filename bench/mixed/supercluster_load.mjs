// bench/mixed: the peer's freshness cost. supercluster (bench/clusters'
// pinned 9.1.0) keeps its index in memory and cannot add a point: to show
// a new report it must load() every point again. This times load() for the
// first N points of a CSV (lon,lat per line), with the options
// bench/clusters' server uses, median of ROUNDS.
// Usage: node bench/mixed/supercluster_load.mjs POINTS.csv N [N...]   (env ROUNDS=3)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../clusters/package.json', import.meta.url));
const Supercluster = require('supercluster').default ?? require('supercluster');
const [file, ...sizes] = process.argv.slice(2);
const all = readFileSync(file, 'utf8').trim().split('\n').map((l) => {
  const [lon, lat] = l.split(',').map(Number);
  return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: {} };
});
const rounds = Number(process.env.ROUNDS || 3);
for (const n of sizes.map(Number)) {
  // Beyond the file's points, copies shifted by a few metres per round.
  const pts = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = all[i % all.length], k = Math.floor(i / all.length);
    const [lon, lat] = p.geometry.coordinates;
    pts[i] = k === 0 ? p : { type: 'Feature', properties: {},
      geometry: { type: 'Point', coordinates: [lon + k * 3e-5, lat + k * 2e-5] } };
  }
  const ms = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    new Supercluster({ maxZoom: 13, radius: 320, extent: 4096 }).load(pts);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ points: n, load_ms_median: Math.round(ms[Math.floor(ms.length / 2)]) }));
}
