// Issue 15: every tileset is also served in GCJ-02 Web Mercator
// (?crs=gcj02), for apps on Amap/Tencent base maps. Checked against gcoord
// (an independent WGS84 -> GCJ-02 implementation) with tiles decoded by
// @mapbox/vector-tile: points land where gcoord puts them, cluster counts
// are exact per GCJ-02 tile, a new report shows in the next GCJ-02 tile
// (cache invalidation in the GCJ-02 keyspace), bad crs values are 400, and
// the GCJ-02 style validates and points at GCJ-02 tiles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Pbf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import gcoord from 'gcoord';
import { startServer, tileAt } from './mapd_server.mjs';

const require = createRequire(import.meta.url);
const EXTENT = 4096;
let srv;
before(async () => { srv = await startServer(['--rate-limit', '0']); });
after(async () => { assert.equal(await srv.stop(), 0); });

const toGcj = (lon, lat) => gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);

// Fractional tile-space position of lon/lat in tile {z,x,y}.
function tilePos({ z, x, y }, lon, lat) {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  const wx = ((lon + 180) / 360) * n;
  const wy = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  return { x: (wx - x) * EXTENT, y: (wy - y) * EXTENT };
}

async function fetchTile(layers, { z, x, y }, crs) {
  const q = crs ? `?crs=${crs}` : '';
  const res = await fetch(`${srv.base}/tiles/${layers}/${z}/${x}/${y}.mvt${q}`);
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, tile: buf.length ? new VectorTile(new Pbf(buf)) : null };
}

function features(tile, name) {
  const layer = tile?.layers[name];
  const out = [];
  for (let i = 0; layer && i < layer.length; i++) out.push(layer.feature(i));
  return out;
}

async function facilities() {
  const res = await fetch(`${srv.base}/ogc/collections/facilities/items?limit=10000`);
  assert.equal(res.status, 200);
  const fc = await res.json();
  assert.equal(fc.numberReturned, fc.numberMatched, 'every facility in one page');
  return fc.features.map((f) => ({ id: f.id, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] }));
}

test('a GCJ-02 tile at z16 puts each point where gcoord says, within one pixel', async () => {
  const all = await facilities();
  let checked = 0;
  for (const f of all.slice(0, 40)) {
    const [glon, glat] = toGcj(f.lon, f.lat);
    const t = tileAt(16, glon, glat);
    const { status, tile } = await fetchTile('facilities', t, 'gcj02');
    assert.equal(status, 200);
    const got = features(tile, 'facilities').find((g) => g.id === f.id);
    assert.ok(got, `facility ${f.id} in GCJ-02 tile ${t.z}/${t.x}/${t.y}`);
    const [[p]] = got.loadGeometry();
    const want = tilePos(t, glon, glat);
    assert.ok(Math.abs(p.x - want.x) <= 1 && Math.abs(p.y - want.y) <= 1,
      `facility ${f.id}: (${p.x},${p.y}) vs gcoord (${want.x.toFixed(2)},${want.y.toFixed(2)})`);
    // The WGS84 position is 300-600 m away: hundreds of pixels at z16.
    const wgs = tilePos(t, f.lon, f.lat);
    assert.ok(Math.hypot(p.x - wgs.x, p.y - wgs.y) > 1000, 'the GCJ-02 tile is shifted');
    checked++;
  }
  assert.equal(checked, 40);
});

// Lon/lat of a tile-space position (inverse of tilePos).
function lonLat({ z, x, y }, px, py) {
  const n = 2 ** z;
  const lon = ((x + px / EXTENT) / n) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (y + py / EXTENT)) / n))) * 180) / Math.PI;
  return [lon, lat];
}

function segDist(p, a, b) {
  const dx = b.x - a.x, dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const u = len2 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0;
  return Math.hypot(p.x - (a.x + u * dx), p.y - (a.y + u * dy));
}

// Every vertex of a GCJ-02 feature, taken back to WGS84 by gcoord, lies on
// the WGS84 tile's same feature (within 3 units: both are snapped to the
// grid and simplified with a 1-unit tolerance). Vertices near the tile's
// edge are skipped (clipping differs between the two tiles).
test('GCJ-02 tiles move every vertex of districts, grids and the base map as gcoord does', async () => {
  for (const z of [10, 12]) {
    const t = tileAt(z, 116.40, 39.91);
    const w = await fetchTile('basemap,districts,grids', t);
    const g = await fetchTile('basemap,districts,grids', t, 'gcj02');
    let compared = 0, moved = 0;
    for (const name of ['basemap', 'districts', 'grids']) {
      const byId = new Map(features(w.tile, name).map((f) => [f.id, f]));
      for (const gf of features(g.tile, name)) {
        const wf = byId.get(gf.id);
        if (!wf || gf.type === 1) continue;
        const parts = wf.loadGeometry();
        for (const part of gf.loadGeometry()) for (const v of part) {
          if (v.x < 350 || v.y < 350 || v.x > EXTENT - 350 || v.y > EXTENT - 350) continue;
          const [glon, glat] = lonLat(t, v.x, v.y);
          const [lon, lat] = gcoord.transform([glon, glat], gcoord.GCJ02, gcoord.WGS84);
          const p = tilePos(t, lon, lat);
          let best = Infinity;
          for (const q of parts) for (let i = 0; i + 1 < q.length; i++) best = Math.min(best, segDist(p, q[i], q[i + 1]));
          assert.ok(best <= 3, `${name} ${gf.id} at z${z}: vertex (${v.x},${v.y}) is ${best.toFixed(1)} units off the WGS84 feature`);
          moved = Math.max(moved, Math.hypot(p.x - v.x, p.y - v.y));
          compared++;
        }
      }
    }
    assert.ok(compared >= 200, `vertices compared at z${z}: ${compared}`);
    assert.ok(moved > (z === 10 ? 50 : 200), `the GCJ-02 vertices are shifted (${moved.toFixed(0)} units)`);
  }
});

// Sum of point_count over the clusters placed in each tile's extent, per
// tile of zoom z over the city, against the points whose position (WGS84 or
// gcoord's GCJ-02) falls in that tile.
async function clusterCounts(z, crs, pts) {
  const a = tileAt(z, 116.1, 40.15), b = tileAt(z, 116.75, 39.7);
  let tiles = 0, total = 0;
  for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) {
    const t = { z, x, y };
    const { tile } = await fetchTile('facilities', t, crs);
    let sum = 0;
    for (const f of features(tile, 'facilities')) {
      assert.equal(f.properties.cluster, true);
      const [[p]] = f.loadGeometry();
      if (p.x >= 0 && p.x < EXTENT && p.y >= 0 && p.y < EXTENT) sum += f.properties.point_count;
    }
    const want = pts.filter(([lon, lat]) => {
      const q = tilePos(t, lon, lat);
      return q.x >= 0 && q.x < EXTENT && q.y >= 0 && q.y < EXTENT;
    }).length;
    assert.equal(sum, want, `${crs} tile ${z}/${x}/${y}: clusters hold ${sum}, ${want} points drawn there`);
    if (want) tiles++;
    total += want;
  }
  return { tiles, total };
}

test('GCJ-02 clusters hold exactly the points whose GCJ-02 position is in the tile', async () => {
  const all = await facilities();
  const wgs = all.map((f) => [f.lon, f.lat]);
  const gcj = all.map((f) => toGcj(f.lon, f.lat));
  for (const z of [11, 12]) {
    const w = await clusterCounts(z, undefined, wgs); // the method, on WGS84 tiles
    const g = await clusterCounts(z, 'gcj02', gcj);
    assert.ok(g.tiles >= 6, `the city spans ${g.tiles} tiles at z${z}`);
    console.log(`# z${z}: ${g.tiles} GCJ-02 tiles, ${g.total} of ${all.length} facilities checked`);
    assert.ok(g.total > 1000 && w.total > 1000, `${g.total} and ${w.total} points checked`);
  }
});

test('a report created through the API is in the next GCJ-02 tile, and in the WGS84 one', async () => {
  const tok = execFileSync(process.env.MAPD_BIN, ['token', 'add', '--db', srv.db, '--role', 'app', '--label', 'gcj test'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const lon = 116.4012, lat = 39.9155;
  const [glon, glat] = toGcj(lon, lat);
  const g16 = tileAt(16, glon, glat), w16 = tileAt(16, lon, lat), g12 = tileAt(12, glon, glat);
  // Warm the cache: both CRSs, a point zoom and a cluster zoom.
  const before16 = await fetchTile('reports', g16, 'gcj02');
  await fetchTile('reports', w16);
  const before12 = await fetchTile('reports', g12, 'gcj02');
  assert.equal((await fetchTile('reports', g16, 'gcj02')).headers.get('x-tile-cache'), 'hit');
  const sum12 = (tile) => features(tile, 'reports').filter((f) => {
    const [[p]] = f.loadGeometry();
    return p.x >= 0 && p.x < EXTENT && p.y >= 0 && p.y < EXTENT;
  }).reduce((s, f) => s + f.properties.point_count, 0);
  const n12 = sum12(before12.tile);

  const res = await fetch(`${srv.base}/api/v1/reports`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tok}` },
    body: JSON.stringify({ category: '200102', lon, lat, description: 'GCJ-02 tile test' }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));

  const after16 = await fetchTile('reports', g16, 'gcj02');
  assert.notEqual(after16.headers.get('etag'), before16.headers.get('etag'));
  const got = features(after16.tile, 'reports').find((f) => f.id === body.id);
  assert.ok(got, `report ${body.id} in the GCJ-02 tile after the create`);
  const [[p]] = got.loadGeometry();
  const want = tilePos(g16, glon, glat);
  assert.ok(Math.abs(p.x - want.x) <= 1 && Math.abs(p.y - want.y) <= 1, `(${p.x},${p.y}) vs (${want.x},${want.y})`);

  const w = await fetchTile('reports', w16);
  const gw = features(w.tile, 'reports').find((f) => f.id === body.id);
  assert.ok(gw, 'and in the WGS84 tile');
  const [[q]] = gw.loadGeometry();
  const wantW = tilePos(w16, lon, lat);
  assert.ok(Math.abs(q.x - wantW.x) <= 1 && Math.abs(q.y - wantW.y) <= 1);

  assert.equal(sum12((await fetchTile('reports', g12, 'gcj02')).tile), n12 + 1, 'the GCJ-02 cluster tile counts it');
});

test('WGS84 and GCJ-02 tiles have their own ETags', async () => {
  const t = tileAt(14, 116.4, 39.91);
  const w = await fetchTile('facilities', t);
  const g = await fetchTile('facilities', t, 'gcj02');
  assert.equal(w.status, 200);
  assert.equal(g.status, 200);
  assert.notEqual(w.headers.get('etag'), g.headers.get('etag'));
  // Far outside China GCJ-02 is WGS84, yet the ETags still differ.
  const far = { z: 3, x: 0, y: 0 };
  const fw = await fetch(`${srv.base}/tiles/facilities/3/0/0.mvt`);
  const fg = await fetch(`${srv.base}/tiles/facilities/3/0/0.mvt?crs=gcj02`);
  assert.equal(fw.status, fg.status, `tile ${far.z}/${far.x}/${far.y}`);
  assert.notEqual(fw.headers.get('etag'), fg.headers.get('etag'));
  // wgs84 and EPSG:3857 name the default.
  for (const crs of ['wgs84', 'EPSG:3857']) {
    assert.equal((await fetchTile('facilities', t, crs)).headers.get('etag'), w.headers.get('etag'));
  }
});

test('an unsupported crs is a 400 with a JSON error on tiles, TileJSON and styles', async () => {
  const t = tileAt(12, 116.4, 39.91);
  for (const crs of ['bd09', 'BD09', 'junk', 'gcj03', '%01', '']) {
    for (const path of [`/tiles/facilities/${t.z}/${t.x}/${t.y}.mvt`, '/tiles/facilities,reports.json',
      '/styles/mapd.json']) {
      const res = await fetch(`${srv.base}${path}?crs=${crs}`);
      if (crs === '') { assert.ok(res.status === 200 || res.status === 204, `${path} crs= empty`); continue; }
      assert.equal(res.status, 400, `${path}?crs=${crs}`);
      const body = await res.json();
      assert.equal(body.error.code, 'invalid_argument');
      assert.match(body.error.message, crs.toLowerCase() === 'bd09' ? /Baidu.*gcj02/ : /unknown crs.*gcj02/);
    }
  }
});

test('TileJSON with crs=gcj02 lists GCJ-02 tile URLs, bounds and centre', async () => {
  const w = await (await fetch(`${srv.base}/tiles/facilities,reports.json`)).json();
  const g = await (await fetch(`${srv.base}/tiles/facilities,reports.json?crs=gcj02`)).json();
  assert.equal(g.tilejson, '3.0.0');
  assert.match(g.tiles[0], /\/tiles\/facilities,reports\/\{z\}\/\{x\}\/\{y\}\.mvt\?v=[\d.]+&crs=gcj02$/);
  assert.equal(g.tiles[0], `${w.tiles[0]}&crs=gcj02`, 'the same version');
  const [clon, clat] = toGcj(w.center[0], w.center[1]);
  assert.ok(Math.abs(g.center[0] - clon) < 1e-5 && Math.abs(g.center[1] - clat) < 1e-5);
  const [x0, y0] = toGcj(w.bounds[0], w.bounds[1]), [x1, y1] = toGcj(w.bounds[2], w.bounds[3]);
  assert.ok(g.bounds[0] <= x0 && g.bounds[1] <= y0 && g.bounds[2] >= x1 && g.bounds[3] >= y1, 'bounds hold the shifted city');
  assert.ok(g.bounds[0] > x0 - 0.01 && g.bounds[3] < y1 + 0.01, 'and not much more');
  const tile = await fetch(g.tiles[0].replace('{z}/{x}/{y}', '12/3372/1552'));
  assert.equal(tile.status, 200);
});

test('the style with crs=gcj02 validates and its sources carry crs=gcj02', async () => {
  const res = await fetch(`${srv.base}/styles/mapd.json?crs=gcj02`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const style = JSON.parse(text);
  const plain = await (await fetch(`${srv.base}/styles/mapd.json`)).json();
  assert.deepEqual(style.layers, plain.layers, 'the same layers');
  assert.ok(Object.keys(style.sources).length >= 1);
  for (const [name, src] of Object.entries(style.sources)) {
    for (const url of [src.url, ...(src.tiles || [])].filter(Boolean)) {
      if (url.startsWith(`${srv.base}/tiles/`)) assert.match(url, /[?&]crs=gcj02(&|$)/, `source ${name}`);
    }
  }
  assert.equal(style.sources.mapd.url, `${plain.sources.mapd.url}?crs=gcj02`);
  const tj = await (await fetch(style.sources.mapd.url)).json();
  assert.match(tj.tiles[0], /&crs=gcj02$/);
  const dir = mkdtempSync(join(tmpdir(), 'mapd-style-'));
  const file = join(dir, 'style.json');
  writeFileSync(file, text);
  const bin = require.resolve('@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs');
  execFileSync(process.execPath, [bin, file], { stdio: 'inherit' });
});

test('the consultations tileset too: GCJ-02 tiles, TileJSON and style, bad crs refused', async () => {
  const tok = execFileSync(process.env.MAPD_BIN, ['token', 'add', '--db', srv.db, '--role', 'centre', '--label', 'gcj test'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const lon = 116.4185, lat = 39.9402;
  const res = await fetch(`${srv.base}/api/v1/consultations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tok}` },
    body: JSON.stringify({ title: '便民菜站', body: '拟设便民菜站。', place: '交道口', lon, lat,
      closes_at: new Date(Date.now() + 7 * 86400e3).toISOString() }),
  });
  const made = await res.json();
  assert.equal(res.status, 201, JSON.stringify(made));
  const [glon, glat] = toGcj(lon, lat);
  const t = tileAt(16, glon, glat);
  const { status, tile } = await fetchTile('consultations', t, 'gcj02');
  assert.equal(status, 200);
  const f = features(tile, 'consultations').find((g) => g.id === made.id);
  assert.ok(f, 'the consultation in its GCJ-02 tile');
  const [[p]] = f.loadGeometry();
  const want = tilePos(t, glon, glat);
  assert.ok(Math.abs(p.x - want.x) <= 1 && Math.abs(p.y - want.y) <= 1, `(${p.x},${p.y}) vs (${want.x},${want.y})`);
  const tj = await (await fetch(`${srv.base}/tiles/consultations.json?crs=gcj02`)).json();
  assert.match(tj.tiles[0], /\/tiles\/consultations\/\{z\}\/\{x\}\/\{y\}\.mvt\?crs=gcj02$/);
  const style = await (await fetch(`${srv.base}/styles/consultations.json?crs=gcj02`)).json();
  assert.equal(style.sources.consultations.url, `${srv.base}/tiles/consultations.json?crs=gcj02`);
  for (const path of [`/tiles/consultations/${t.z}/${t.x}/${t.y}.mvt`, '/tiles/consultations.json', '/styles/consultations.json']) {
    for (const crs of ['bd09', 'junk']) {
      const r = await fetch(`${srv.base}${path}?crs=${crs}`);
      assert.equal(r.status, 400, `${path}?crs=${crs}`);
      assert.equal((await r.json()).error.code, 'invalid_argument');
    }
  }
});
