// Tiles decoded by @mapbox/vector-tile (independent of mapd's own decoder
// and of GDAL), the style validated by @maplibre/maplibre-gl-style-spec.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Pbf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import { startServer, tileAt } from './mapd_server.mjs';

const require = createRequire(import.meta.url);
let srv;
before(async () => { srv = await startServer(); });
after(async () => { assert.equal(await srv.stop(), 0); });

const allowed = {
  facilities: ['category', 'name', 'status', 'cluster', 'point_count', 'point_count_abbreviated', 'categories'],
  reports: ['service_code', 'status', 'kind', 'created_at', 'overdue', 'supporters', 'category', 'cluster',
    'point_count', 'point_count_abbreviated', 'categories'],
  districts: ['code', 'name', 'name_en'],
  district_labels: ['code', 'name', 'name_en'],
  grids: ['code', 'district_code'],
};

async function fetchTile(layers, { z, x, y }) {
  const res = await fetch(`${srv.base}/tiles/${layers}/${z}/${x}/${y}.mvt`);
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, tile: buf.length ? new VectorTile(new Pbf(buf)) : null };
}

function features(layer) {
  const out = [];
  for (let i = 0; i < layer.length; i++) out.push(layer.feature(i));
  return out;
}

test('composite tiles decode with the expected layers, ids, types and public fields', async () => {
  for (const z of [8, 11, 12, 14, 16]) {
    const t = tileAt(z, 116.40, 39.91);
    const { status, headers, tile } = await fetchTile('districts,grids,facilities,reports', t);
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/vnd.mapbox-vector-tile');
    for (const name of Object.keys(tile.layers)) {
      const layer = tile.layers[name];
      assert.ok(allowed[name], `unexpected layer ${name}`);
      assert.equal(layer.extent, 4096);
      assert.equal(layer.version, 2);
      assert.ok(layer.length > 0, `empty layer ${name} written at z${z}`);
      const ids = new Set();
      for (const f of features(layer)) {
        for (const k of Object.keys(f.properties)) assert.ok(allowed[name].includes(k), `${name}.${k}`);
        assert.ok(f.id !== undefined, 'feature id missing');
        ids.add(f.id);
        const geom = f.loadGeometry();
        assert.ok(geom.length > 0);
        for (const ring of geom) for (const p of ring) {
          assert.ok(p.x >= -64 && p.x <= 4160 && p.y >= -64 && p.y <= 4160, `point outside buffer ${p.x},${p.y}`);
        }
        if (name === 'districts' || name === 'grids') assert.equal(f.type, 3);
        else if (name === 'district_labels') assert.equal(f.type, 1);
        else assert.equal(f.type, 1);
      }
      assert.equal(ids.size, layer.length, `duplicate feature ids in ${name}`);
    }
    if (z >= 10) assert.ok(tile.layers.grids, `grids at z${z}`);
    assert.ok(tile.layers.districts);
  }
});

test('clusters carry counts that add up, single points carry row ids', async () => {
  const t6 = tileAt(6, 116.4, 39.9);
  const { tile } = await fetchTile('reports', t6);
  const cl = features(tile.layers.reports);
  assert.ok(cl.every((f) => f.properties.cluster === true));
  assert.equal(cl.reduce((s, f) => s + f.properties.point_count, 0), 20000);
  for (const f of cl) {
    const cats = f.properties.categories.split(',').map((s) => Number(s.split(':')[1]));
    assert.equal(cats.reduce((a, b) => a + b, 0), f.properties.point_count);
    if (f.properties.point_count >= 1000) assert.match(f.properties.point_count_abbreviated, /k$/);
  }
  const t16 = tileAt(16, 116.40, 39.91);
  const { tile: raw } = await fetchTile('reports', t16);
  for (const f of features(raw.layers.reports)) {
    assert.equal(f.properties.cluster, undefined);
    assert.match(f.properties.service_code, /^\d{6}$/);
    assert.ok(Number.isInteger(f.id) && f.id >= 1 && f.id <= 20000);
  }
});

test('each district is labelled once, in the tile that holds its label point', async () => {
  for (const z of [7, 9]) {
    // Every tile over Beijing (115.4-117.6 E, 39.4-41.1 N) at this zoom.
    const a = tileAt(z, 115.4, 41.1), b = tileAt(z, 117.6, 39.4);
    const seen = new Map();
    let polygonTiles = 0;
    for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) {
      const { tile } = await fetchTile('districts', { z, x, y });
      if (tile?.layers.districts) polygonTiles++;
      const labels = tile?.layers.district_labels;
      for (const f of labels ? features(labels) : []) {
        assert.equal(f.type, 1);
        const [[p]] = f.loadGeometry();
        assert.ok(p.x >= 0 && p.x < 4096 && p.y >= 0 && p.y < 4096, 'label inside its tile, not in the buffer');
        seen.set(f.properties.code, (seen.get(f.properties.code) || 0) + 1);
      }
    }
    assert.equal(seen.size, 16, `labels at z${z}: ${[...seen.keys()]}`);
    assert.ok([...seen.values()].every((n) => n === 1), `each district once at z${z}`);
    assert.ok(polygonTiles > 1, 'the districts span several tiles');
  }
});

test('polygon rings are wound as the spec says', async () => {
  const t = tileAt(9, 116.40, 39.91);
  const { tile } = await fetchTile('districts', t);
  for (const f of features(tile.layers.districts)) {
    const rings = f.loadGeometry();
    // Spec 4.3.4.4: exterior rings have positive area by the surveyor's
    // formula in tile space (y down) - positive signedArea() in vector-tile.
    let exteriors = 0;
    let first = true;
    for (const ring of rings) {
      let area = 0;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        area += (ring[j].x - ring[i].x) * (ring[i].y + ring[j].y);
      }
      if (first) assert.ok(area > 0, `first ring of ${f.properties.code} is not an exterior`);
      first = false;
      if (area > 0) exteriors++;
    }
    assert.ok(exteriors >= 1, `district ${f.properties.code} has no exterior ring`);
    assert.match(f.properties.code, /^1101\d\d$/);
  }
});

test('the style validates with gl-style-validate and points at this server', async () => {
  const res = await fetch(`${srv.base}/styles/mapd.json`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(!text.includes('{{base}}'));
  const style = JSON.parse(text);
  assert.equal(style.sources.mapd.url, `${srv.base}/tiles/basemap,districts,grids,facilities,reports.json`);
  const dir = mkdtempSync(join(tmpdir(), 'mapd-style-'));
  const file = join(dir, 'style.json');
  writeFileSync(file, text);
  const bin = require.resolve('@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs');
  // Exits non-zero and prints the errors when the style is invalid.
  execFileSync(process.execPath, [bin, file], { stdio: 'inherit' });
  const tj = await (await fetch(style.sources.mapd.url)).json();
  assert.equal(tj.tilejson, '3.0.0');
  assert.deepEqual(tj.vector_layers.map((l) => l.id), ['basemap', 'districts', 'district_labels', 'grids', 'facilities', 'reports']);
});

// Issue 15: a report's status must not read as a facility category: no
// status colour of the style equals a category colour (those the server
// puts into the style from the facility categories).
test('report status colours are apart from facility category colours', async () => {
  const style = await (await fetch(`${srv.base}/styles/mapd.json`)).json();
  const layer = style.layers.find((l) => l.id === 'reports-point');
  const match = layer.paint['icon-color'];
  assert.equal(match[0], 'match');
  const statusColours = match.slice(2).filter((_, i) => i % 2 === 1).map((c) => c.toLowerCase());
  const cats = await (await fetch(`${srv.base}/api/v1/facility-categories`)).json();
  const catColours = cats.facility_categories.map((c) => String(c.color).toLowerCase());
  assert.ok(catColours.length >= 5, 'facility categories with colours');
  for (const c of statusColours) assert.ok(!catColours.includes(c), `status colour ${c} is also a category colour`);
  assert.equal(new Set(statusColours).size, statusColours.length, 'each status its own colour');
});

// Issue 15: --basemap-tiles composes an external raster base map (an XYZ
// template such as Tianditu's) beneath mapd's layers; the style stays
// valid; a bad template is refused at start.
test('--basemap-tiles puts a raster base map beneath every mapd layer', async () => {
  const url = 'https://t0.example.cn/vec_w/wmts?T={z}/{x}/{y}&tk=KEY';
  const ext = await startServer(['--basemap-tiles', url, '--basemap-attribution', '© 天地图']);
  try {
    const text = await (await fetch(`${ext.base}/styles/mapd.json`)).text();
    const style = JSON.parse(text);
    assert.deepEqual(style.sources['external-basemap'],
      { type: 'raster', tiles: [url], tileSize: 256, attribution: '© 天地图' });
    assert.equal(style.layers[0].type, 'background');
    assert.equal(style.layers[1].id, 'external-basemap');
    assert.equal(style.layers.filter((l) => l.source === 'external-basemap').length, 1);
    const dir = mkdtempSync(join(tmpdir(), 'mapd-style-'));
    writeFileSync(join(dir, 'style.json'), text);
    const bin = require.resolve('@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs');
    execFileSync(process.execPath, [bin, join(dir, 'style.json')], { stdio: 'inherit' });
  } finally {
    await ext.stop();
  }
  const plain = await (await fetch(`${srv.base}/styles/mapd.json`)).json();
  assert.equal(plain.sources['external-basemap'], undefined, 'off by default');
  await assert.rejects(startServer(['--basemap-tiles', 'ftp://x/{z}/{x}/{y}']), /exited/);
});

// Issue 15: --basemap-style composes an external vector base map (a MapLibre
// style from a file or an http(s) URL, read once at start) beneath mapd's
// layers: its sources and layers renamed ext-*, its icons left out, the
// result valid; a bad style is refused at start.
test('--basemap-style puts a vector base map beneath every mapd layer', async () => {
  const ext = {
    version: 8,
    name: 'city vector base map',
    sources: {
      streets: { type: 'vector', tiles: ['https://tiles.example.cn/streets/{z}/{x}/{y}.pbf'],
        attribution: '© example' },
    },
    layers: [
      { id: 'land', type: 'background', paint: { 'background-color': '#f4f1ea' } },
      { id: 'roads', type: 'line', source: 'streets', 'source-layer': 'roads', paint: { 'line-color': '#ccc' } },
      { id: 'pois', type: 'symbol', source: 'streets', 'source-layer': 'pois',
        layout: { 'icon-image': 'shop', 'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'] } },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), 'mapd-extstyle-'));
  writeFileSync(join(dir, 'ext.json'), JSON.stringify(ext));
  // Served over HTTP too, as a city's style URL would be.
  const httpd = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(ext));
  });
  await new Promise((r) => httpd.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${httpd.address().port}/style.json`;
  try {
    for (const where of [join(dir, 'ext.json'), url]) {
      const srv2 = await startServer(['--basemap-style', where]);
      try {
        const text = await (await fetch(`${srv2.base}/styles/mapd.json`)).text();
        const style = JSON.parse(text);
        assert.deepEqual(style.sources['ext-streets'], ext.sources.streets, where);
        const ids = style.layers.map((l) => l.id);
        assert.equal(style.layers[0].type, 'background', 'mapd background first');
        assert.deepEqual(ids.slice(1, 4), ['ext-land', 'ext-roads', 'ext-pois'], 'right above it');
        assert.equal(style.layers[2].source, 'ext-streets');
        assert.equal(style.layers[3].layout['icon-image'], undefined, 'their icons left out');
        assert.deepEqual(style.layers[3].layout['text-field'], ['get', 'name']);
        assert.ok(ids.indexOf('ext-pois') < ids.findIndex((i) => i.startsWith('facilities')),
          'beneath the city layers');
        writeFileSync(join(dir, 'style.json'), text);
        const bin = require.resolve('@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs');
        execFileSync(process.execPath, [bin, join(dir, 'style.json')], { stdio: 'inherit' });
      } finally {
        await srv2.stop();
      }
    }
    const bad = [
      { version: 7, sources: {}, layers: [] },
      { version: 8, sources: { s: { type: 'vector', url: 'mapbox://x' } }, layers: [] },
      { version: 8, sources: {}, layers: [{ id: 'a', type: 'line', source: 'nope' }] },
    ];
    for (const [i, b] of bad.entries()) {
      writeFileSync(join(dir, `bad${i}.json`), JSON.stringify(b));
      await assert.rejects(startServer(['--basemap-style', join(dir, `bad${i}.json`)]), /exited/);
    }
    await assert.rejects(startServer(['--basemap-style', join(dir, 'missing.json')]), /exited/);
    await assert.rejects(startServer(['--basemap-style', join(dir, 'ext.json'),
      '--basemap-tiles', 'https://t.example/{z}/{x}/{y}.png']), /exited/);
  } finally {
    httpd.close();
  }
});
