// The developer page (/developers): lists what this server opens to apps,
// read live from its own catalogs (/tiles, /ogc/collections, /api/v1/consultations), so a tileset or collection added on the server appears here.
const EXPORT_LAYERS = ['facilities', 'reports', 'districts', 'grids'];

function cell(row, text, href) {
  const td = document.createElement('td');
  if (href) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    td.append(a);
  } else {
    const code = document.createElement('code');
    code.textContent = text;
    td.append(code);
  }
  row.append(td);
}

function rows(tableId, items, fill) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement('tr');
    fill(tr, item);
    body.append(tr);
  }
}

async function json(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

async function main() {
  const [catalog, ogc] = await Promise.all([json('/tiles'), json('/ogc/collections')]);
  // The consultations layer (城管维基) is served beside the catalog's tilesets.
  const origin = location.origin;
  catalog.tilesets.push({ id: 'consultations', tilejson: `${origin}/tiles/consultations.json`,
    tiles: `${origin}/tiles/consultations/{z}/{x}/{y}.mvt` });
  catalog.styles.push(`${origin}/styles/consultations.json`);
  rows('tilesets', catalog.tilesets, (tr, t) => {
    cell(tr, t.id);
    cell(tr, new URL(t.tilejson).pathname, t.tilejson);
    cell(tr, t.tiles);
  });
  rows('styles', catalog.styles, (tr, s) => cell(tr, new URL(s).pathname, s));
  rows('collections', ogc.collections, (tr, c) => {
    cell(tr, c.id);
    const td = document.createElement('td');
    td.textContent = c.title || '';
    tr.append(td);
    const items = (c.links || []).find((l) => l.rel === 'items');
    cell(tr, items ? new URL(items.href).pathname : '', items ? items.href : undefined);
  });
  const layers = EXPORT_LAYERS.map((l) => ({ layer: l, geojson: `/api/v1/export/${l}.geojson`, csv: `/api/v1/export/${l}.csv` }));
  const open = await json('/api/v1/consultations');
  for (const c of open.consultations) {
    layers.push({ layer: `consultation ${c.id}: ${c.title}`, geojson: `/api/v1/consultations/${c.id}/results.geojson`,
      csv: `/api/v1/consultations/${c.id}/results.csv` });
  }
  rows('exports', layers, (tr, e) => {
    cell(tr, e.layer);
    cell(tr, e.geojson, e.geojson);
    cell(tr, e.csv, e.csv);
  });
  document.getElementById('dev-status').textContent =
    `${catalog.tilesets.length} tilesets, ${catalog.styles.length} styles, ${ogc.collections.length} collections`;
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  document.getElementById('dev-status').textContent = String(e);
  document.body.dataset.ready = 'error';
});
