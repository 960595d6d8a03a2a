// Independent check of mapd's MVT encoder against @mapbox/mvt-fixtures.
//
// For every fixture marked valid for spec v2, the fixture's tile.mvt is
// decoded with @mapbox/vector-tile (+ pbf for the typed values), its content
// (layers, extents, features, ids, types, tile-space geometry, typed
// properties) is handed as JSON to tests/tools/mvt_from_json (which builds a
// tile with md_mvt_*), and our tile is decoded by the same libraries and
// compared structurally with the fixture. Fixtures that the builder cannot
// express by design are skipped with the reason printed.
//
// The same round trip then runs over a sample of the package's real-world
// tiles (Mapbox Streets and OSM QA tiles).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import vt from '@mapbox/vector-tile';
import Pbf from 'pbf';

const {VectorTile} = vt;
const here = path.dirname(fileURLToPath(import.meta.url));
const fixturesDir = path.join(here, 'node_modules/@mapbox/mvt-fixtures/fixtures');
const realWorldDir = path.join(here, 'node_modules/@mapbox/mvt-fixtures/real-world');
const buildDir = process.env.MAPD_BUILD_DIR;
const tool = buildDir && path.join(buildDir, 'tests', 'mvt_from_json');

// ---- typed values, read with pbf (vector-tile drops the protobuf types) ----

const VALUE_TYPES = {1: 'string', 2: 'float', 3: 'double', 4: 'int', 5: 'uint', 6: 'sint', 7: 'bool'};

function readValue(tag, v, pbf) {
    v.type = VALUE_TYPES[tag];
    if (tag === 1) v.value = pbf.readString();
    else if (tag === 2) v.value = pbf.readFloat();
    else if (tag === 3) v.value = pbf.readDouble();
    else if (tag === 4) v.value = pbf.readVarint(true);
    else if (tag === 5) v.value = pbf.readVarint();
    else if (tag === 6) v.value = pbf.readSVarint();
    else if (tag === 7) v.value = pbf.readBoolean();
}

function readFeatureTags(tag, f, pbf) {
    if (tag === 2) pbf.readPackedVarint(f.tags);
}

function readLayer(tag, l, pbf) {
    if (tag === 1) l.name = pbf.readString();
    else if (tag === 2) l.features.push(pbf.readMessage(readFeatureTags, {tags: []}));
    else if (tag === 3) l.keys.push(pbf.readString());
    else if (tag === 4) l.values.push(pbf.readMessage(readValue, {}));
}

// {layerName: [[{key, type, value}, ...] per feature]}
function typedProperties(buf) {
    const layers = {};
    new Pbf(buf).readFields((tag, acc, pbf) => {
        if (tag !== 3) return;
        const l = pbf.readMessage(readLayer, {features: [], keys: [], values: []});
        acc[l.name] = l.features.map((f) => {
            const props = [];
            for (let i = 0; i + 1 < f.tags.length; i += 2)
                props.push({key: l.keys[f.tags[i]], ...l.values[f.tags[i + 1]]});
            return props;
        });
    }, layers);
    return layers;
}

// ---- decoded content ----

// Surveyor's formula in tile space (y down): > 0 for exterior rings.
function ringArea(ring) {
    let sum = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++)
        sum += ring[j].x * ring[i].y - ring[i].x * ring[j].y;
    return sum;
}

function decode(buf) {
    const tile = new VectorTile(new Pbf(buf));
    const typed = typedProperties(buf);
    const layers = [];
    for (const name of Object.keys(tile.layers)) {
        const layer = tile.layers[name];
        const features = [];
        for (let i = 0; i < layer.length; i++) {
            const f = layer.feature(i);
            features.push({
                id: f.id,
                type: f.type,
                geometry: f.loadGeometry().map((ring) => ring.map((p) => [p.x, p.y])),
                properties: f.properties,
                typed: typed[name][i],
            });
        }
        layers.push({name, extent: layer.extent, version: layer.version, features});
    }
    return layers;
}

// Why the builder cannot express this content by design, or null.
function inexpressible(layers) {
    for (const l of layers) {
        if (l.features.length === 0)
            return `layer "${l.name}" has no features: empty layers are never written`;
        for (const f of l.features) {
            if (f.type < 1 || f.type > 3)
                return `feature type ${f.type} (UNKNOWN): the builder writes POINT/LINESTRING/POLYGON only`;
        }
    }
    return null;
}

// The part of a decoded tile the builder can express: POINT, LINESTRING and
// POLYGON features, in the layers that keep at least one.
function expressible(layers) {
    return layers
        .map((l) => ({...l, features: l.features.filter((f) => f.type >= 1 && f.type <= 3)}))
        .filter((l) => l.features.length > 0);
}

// The decoded content as mvt_from_json input (expressible features only; an
// emptied layer is still passed, to check that the builder drops it).
function toBuilderJson(layers) {
    return {
        layers: layers.map((l) => ({
            name: l.name,
            extent: l.extent,
            features: l.features.filter((f) => f.type >= 1 && f.type <= 3).map((f) => {
                let geometry;
                if (f.type === 1) {
                    geometry = f.geometry.flat();
                } else if (f.type === 2) {
                    geometry = f.geometry;
                } else {
                    // Rings to polygons the way the spec defines them: a ring of
                    // positive area starts a polygon, negative ones are its holes.
                    geometry = [];
                    for (const ring of f.geometry) {
                        const pts = ring.map(([x, y]) => ({x, y}));
                        const area = ringArea(pts);
                        if (area > 0) geometry.push([ring]);
                        else if (area < 0 && geometry.length) geometry[geometry.length - 1].push(ring);
                    }
                }
                return {
                    id: f.id === undefined ? 0 : f.id,
                    type: f.type,
                    geometry,
                    properties: f.typed.map((p) => ({key: p.key, type: p.type, value: p.value})),
                };
            }),
        })),
    };
}

function build(json) {
    const r = spawnSync(tool, [], {input: JSON.stringify(json), maxBuffer: 256 << 20});
    assert.equal(r.error, undefined, `cannot run ${tool}: ${r.error}`);
    assert.equal(r.status, 0, `mvt_from_json exited ${r.status}: ${r.stderr}`);
    return r.stdout;
}

const INT_TYPES = new Set(['int', 'uint', 'sint']);

function compareTiles(ours, theirs, label) {
    assert.deepEqual(ours.map((l) => l.name), theirs.map((l) => l.name), `${label}: layer names`);
    for (let li = 0; li < theirs.length; li++) {
        const a = ours[li], b = theirs[li];
        const where = `${label} layer "${b.name}"`;
        assert.equal(a.extent, b.extent, `${where}: extent`);
        assert.equal(a.version, 2, `${where}: version`);
        assert.equal(a.features.length, b.features.length, `${where}: feature count`);
        for (let fi = 0; fi < b.features.length; fi++) {
            const fa = a.features[fi], fb = b.features[fi];
            const at = `${where} feature ${fi}`;
            // The builder always writes an id; a fixture without one reads as 0.
            assert.equal(fa.id, fb.id === undefined ? 0 : fb.id, `${at}: id`);
            assert.equal(fa.type, fb.type, `${at}: type`);
            assert.deepEqual(fa.geometry, fb.geometry, `${at}: geometry`);
            assert.deepEqual(fa.properties, fb.properties, `${at}: properties`);
            assert.equal(fa.typed.length, fb.typed.length, `${at}: property count`);
            const byKey = new Map(fa.typed.map((p) => [p.key, p]));
            for (const pb of fb.typed) {
                const pa = byKey.get(pb.key);
                assert.ok(pa, `${at}: property ${pb.key} missing`);
                // Integers are written as uint (>= 0) or sint (< 0), whatever
                // integer type the fixture used; other types must match exactly.
                if (INT_TYPES.has(pb.type)) assert.ok(INT_TYPES.has(pa.type), `${at}: ${pb.key} type ${pa.type}`);
                else assert.equal(pa.type, pb.type, `${at}: ${pb.key} type`);
                assert.equal(pa.value, pb.value, `${at}: ${pb.key} value`);
            }
        }
    }
}

test('mvt_from_json helper is built', () => {
    assert.ok(buildDir, 'MAPD_BUILD_DIR is not set');
    assert.ok(fs.existsSync(tool), `${tool} not found; build the default target`);
});

test('md_mvt_* reproduces every valid @mapbox/mvt-fixtures tile', () => {
    const ids = fs.readdirSync(fixturesDir).filter((d) => fs.existsSync(path.join(fixturesDir, d, 'info.json'))).sort();
    assert.ok(ids.length >= 70, `only ${ids.length} fixtures found`);
    let compared = 0, invalid = 0;
    const skipped = [];
    for (const id of ids) {
        const info = JSON.parse(fs.readFileSync(path.join(fixturesDir, id, 'info.json'), 'utf8'));
        if (!info.validity || info.validity.v2 !== true) {
            invalid++;
            continue;
        }
        const fixtureBuf = fs.readFileSync(path.join(fixturesDir, id, 'tile.mvt'));
        const theirs = decode(fixtureBuf);
        const reason = inexpressible(theirs);
        if (reason) {
            // Still built from what it holds: that must come out, and what the
            // builder cannot express must be absent rather than wrong.
            const kept = expressible(theirs);
            compareTiles(decode(build(toBuilderJson(theirs))), kept, `fixture ${id}`);
            skipped.push(`${id}: ${reason}`);
            continue;
        }
        compareTiles(decode(build(toBuilderJson(theirs))), theirs, `fixture ${id}`);
        compared++;
    }
    console.log(`mvt-fixtures: ${compared} valid v2 fixtures compared, ${skipped.length} skipped, ` +
                `${invalid} not valid v2 (not applicable)`);
    for (const s of skipped) console.log(`  skipped ${s}`);
    assert.ok(compared >= 40, `only ${compared} fixtures compared`);
});

test('md_mvt_* reproduces real-world tiles from @mapbox/mvt-fixtures', () => {
    const files = [];
    for (const city of fs.readdirSync(realWorldDir).sort()) {
        const dir = path.join(realWorldDir, city);
        if (!fs.statSync(dir).isDirectory()) continue;
        const tiles = fs.readdirSync(dir).filter((f) => f.endsWith('.mvt')).sort();
        // A spread of each city's tiles keeps the run short.
        for (let i = 0; i < tiles.length; i += Math.max(1, Math.floor(tiles.length / 4)))
            files.push(path.join(dir, tiles[i]));
    }
    let compared = 0, features = 0;
    for (const file of files) {
        const theirs = decode(fs.readFileSync(file));
        const label = path.relative(realWorldDir, file);
        const kept = expressible(theirs);
        compareTiles(decode(build(toBuilderJson(theirs))), kept, label);
        compared++;
        features += kept.reduce((n, l) => n + l.features.length, 0);
    }
    console.log(`real-world: ${compared} tiles, ${features} features compared`);
    assert.ok(compared >= 10);
});
