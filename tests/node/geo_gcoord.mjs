// mapd's WGS84 / GCJ-02 / BD-09 conversions (geo/coords.c, through the
// tests/tools/geo_convert helper) against gcoord, an independent JavaScript
// implementation: forward conversions must agree to 1e-6 degrees, and mapd's
// own inverses must round-trip to 1 cm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import gcoord from 'gcoord';

const buildDir = process.env.MAPD_BUILD_DIR;
const helper = buildDir && path.join(buildDir, 'tests', 'geo_convert');
const POINTS = 2000;

// mulberry32: a fixed sequence, so any failure can be replayed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// China's mainland bounding box (Xinjiang to Heilongjiang, Hainan to Mohe).
function points() {
  const next = rng(20240601);
  const out = [];
  for (let i = 0; i < POINTS; i++) {
    out.push([73.5 + next() * (134.8 - 73.5), 18.1 + next() * (53.6 - 18.1)]);
  }
  return out;
}

// Run the helper on [from, to, lon, lat] rows; returns [[lon, lat], ...].
function convert(rows) {
  const input = rows.map((r) => `${r[0]} ${r[1]} ${r[2].toFixed(12)} ${r[3].toFixed(12)}\n`).join('');
  const res = spawnSync(helper, [], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(res.error, undefined, `cannot run ${helper}: ${res.error}`);
  assert.equal(res.status, 0, `geo_convert failed: ${res.stdout.slice(0, 500)} ${res.stderr}`);
  const lines = res.stdout.trim().split('\n');
  assert.equal(lines.length, rows.length);
  return lines.map((l) => {
    const [lon, lat] = l.split(' ').map(Number);
    assert.ok(Number.isFinite(lon) && Number.isFinite(lat), `bad output line '${l}'`);
    return [lon, lat];
  });
}

// Haversine on the WGS84 mean radius: plenty for centimetre-scale differences.
function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

function maxDegrees(ours, theirs) {
  let worst = 0;
  ours.forEach((p, i) => {
    worst = Math.max(worst, Math.abs(p[0] - theirs[i][0]), Math.abs(p[1] - theirs[i][1]));
  });
  return worst;
}

test('geo_convert helper is built', () => {
  assert.ok(buildDir, 'MAPD_BUILD_DIR is not set');
  assert.ok(existsSync(helper), `${helper} not found: build the geo_convert target`);
});

const pts = points();
const forward = [
  ['wgs84', 'gcj02', gcoord.WGS84, gcoord.GCJ02],
  ['gcj02', 'bd09', gcoord.GCJ02, gcoord.BD09],
  ['wgs84', 'bd09', gcoord.WGS84, gcoord.BD09],
];

for (const [from, to, gFrom, gTo] of forward) {
  test(`${from} -> ${to} agrees with gcoord to 1e-6 degrees`, () => {
    const ours = convert(pts.map((p) => [from, to, p[0], p[1]]));
    const theirs = pts.map((p) => gcoord.transform([p[0], p[1]], gFrom, gTo));
    const worst = maxDegrees(ours, theirs);
    // The offsets are real (hundreds of metres): identity would fail here.
    const shift = Math.min(...pts.map((p, i) => metres(p, ours[i])));
    console.log(`# ${from}->${to}: ${pts.length} points, max |mapd - gcoord| = ${worst.toExponential(2)} deg, smallest shift ${shift.toFixed(1)} m`);
    assert.ok(worst <= 1e-6, `max difference ${worst} deg`);
    assert.ok(shift > 10, `smallest shift ${shift} m`);
  });
}

const inverses = [
  ['wgs84', 'gcj02', gcoord.GCJ02, gcoord.WGS84],
  ['gcj02', 'bd09', gcoord.BD09, gcoord.GCJ02],
  ['wgs84', 'bd09', gcoord.BD09, gcoord.WGS84],
];

for (const [base, other, gOther, gBase] of inverses) {
  test(`${base} -> ${other} -> ${base} round-trips within 1 cm`, () => {
    const there = convert(pts.map((p) => [base, other, p[0], p[1]]));
    const back = convert(there.map((p) => [other, base, p[0], p[1]]));
    const worst = Math.max(...pts.map((p, i) => metres(p, back[i])));
    // gcoord's inverses are approximate: its GCJ-02 one stops iterating at
    // 1e-6 degrees, its BD-09 one is the one-step formula, off by up to ~2e-6
    // degrees (20 cm). mapd's should sit within that of them.
    const theirs = there.map((p) => gcoord.transform([p[0], p[1]], gOther, gBase));
    const vsGcoord = maxDegrees(back, theirs);
    console.log(`# ${base}->${other}->${base}: max round trip ${worst.toExponential(2)} m, max |mapd - gcoord inverse| = ${vsGcoord.toExponential(2)} deg`);
    assert.ok(worst <= 0.01, `round trip off by ${worst} m`);
    assert.ok(vsGcoord <= 3e-6, `mapd's inverse is ${vsGcoord} deg from gcoord's`);
  });
}

test('geo_convert rejects bad lines', () => {
  const res = spawnSync(helper, [], { input: 'wgs84 mars 116 39\nwgs84 gcj02 116.391 39.907\n', encoding: 'utf8' });
  assert.equal(res.status, 1);
  const lines = res.stdout.trim().split('\n');
  assert.equal(lines[0], "error: unknown crs 'mars': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)");
  assert.equal(lines[1], '116.397240958599 39.908401108846');
});
