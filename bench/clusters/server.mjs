// bench/clusters: the peer. supercluster 9.1 over the same points as mapd,
// serving /tiles/{layer}/{z}/{x}/{y}.mvt (MVT 2.1, extent 4096, via vt-pbf)
// from memory on one thread - the usual Node stack for clustered tiles.
//   node server.mjs PORT LAYER=CSV[:CLUSTER_BELOW_ZOOM] ...
// Each CSV line: lon,lat,category. Clusters below the layer's cluster zoom
// (as mapd's layers table says), raw points at and above it; radius 40 px of
// a 512 px tile (supercluster's default), so 320 units of 4096. Prints
// "listening PORT" once every index is loaded, then "load LAYER N ms".
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import Supercluster from 'supercluster';
import vtpbf from 'vt-pbf';

const port = Number(process.argv[2]);
const layers = {};
for (const arg of process.argv.slice(3)) {
  const [name, spec] = arg.split('=');
  const [file, below] = spec.split(':');
  const features = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [lon, lat, category] = line.split(',');
    features.push({ type: 'Feature', properties: { category },
      geometry: { type: 'Point', coordinates: [Number(lon), Number(lat)] } });
  }
  const t0 = process.hrtime.bigint();
  const index = new Supercluster({ maxZoom: Number(below || 14) - 1, radius: 320, extent: 4096 });
  index.load(features);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  layers[name] = index;
  console.error(`load ${name} ${features.length} ${ms.toFixed(0)} ms`);
}

const re = /^\/tiles\/([a-z]+)\/(\d+)\/(\d+)\/(\d+)\.mvt$/;
createServer((req, res) => {
  const m = re.exec(req.url);
  const index = m && layers[m[1]];
  if (!index) { res.writeHead(404); res.end(); return; }
  const tile = index.getTile(Number(m[2]), Number(m[3]), Number(m[4]));
  if (!tile || tile.features.length === 0) { res.writeHead(204); res.end(); return; }
  const body = Buffer.from(vtpbf.fromGeojsonVt({ [m[1]]: tile }, { version: 2, extent: 4096 }));
  res.writeHead(200, { 'Content-Type': 'application/vnd.mapbox-vector-tile', 'Content-Length': body.length });
  res.end(body);
}).listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
