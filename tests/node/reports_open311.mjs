// Open311 GeoReport v2: every JSON response validates against schemas written
// from the spec's field lists (tests/node/open311/*.schema.json, ajv); every
// XML response is well-formed (xmllint) and carries the spec's element names;
// errors come in Open311's form with 400/403/404.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import { HERE, freshDb, http, serve, token, xmllint } from './reports_lib.mjs';

const ajv = new Ajv({ allErrors: true, strict: true });
const schemaDir = new URL('./open311/', import.meta.url);
for (const f of readdirSync(schemaDir)) ajv.addSchema(JSON.parse(readFileSync(new URL(f, schemaDir), 'utf8')));

function valid(name, value) {
  const ok = ajv.validate(name, value);
  assert.ok(ok, `${name}: ${ajv.errorsText()}\n${JSON.stringify(value).slice(0, 600)}`);
}
const xpath = (xml, expr) => xmllint(xml, `string(${expr})`).replace(/\n$/, '');
const xcount = (xml, expr) => Number(xmllint(xml, `count(${expr})`));

let db, srv, app;
before(async () => {
  db = freshDb();
  app = token(db.db, 'app');
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

const get = (path) => http(srv.base, 'GET', path);

test('discovery (json, xml)', async () => {
  const j = await get('/open311/v2/discovery.json');
  assert.equal(j.status, 200);
  valid('discovery', j.json);
  const x = await get('/open311/v2/discovery.xml');
  assert.equal(x.status, 200);
  assert.match(x.headers.get('content-type'), /text\/xml/);
  xmllint(x.text);
  assert.equal(xpath(x.text, '/discovery/endpoints/endpoint/specification'), 'http://wiki.open311.org/GeoReport_v2');
  assert.equal(xcount(x.text, '/discovery/endpoints/endpoint/formats/format'), 2);
});

test('services list the categories with their group (json, xml)', async () => {
  const j = await get('/open311/v2/services.json');
  valid('services', j.json);
  const codes = j.json.map((s) => s.service_code);
  for (const c of ['200101', '200102', '200401', '200505', '200510', '900001']) assert.ok(codes.includes(c), c);
  assert.equal(j.json.find((s) => s.service_code === '200101').group, '市容环境');
  assert.equal(j.json.find((s) => s.service_code === '200401').metadata, true);
  const x = await get('/open311/v2/services.xml');
  xmllint(x.text);
  assert.equal(xcount(x.text, '/services/service'), j.json.length);
  for (const el of ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group'])
    assert.equal(xcount(x.text, `/services/service/${el}`), j.json.length, el);
});

test('service definition of a category with attributes (json, xml)', async () => {
  const j = await get('/open311/v2/services/200401.json');
  assert.equal(j.status, 200);
  valid('service_definition', j.json);
  const size = j.json.attributes.find((a) => a.code === 'size');
  assert.equal(size.datatype, 'singlevaluelist');
  assert.equal(size.required, true);
  assert.deepEqual(size.values.map((v) => v.key), ['small', 'medium', 'large']);
  const x = await get('/open311/v2/services/200401.xml');
  xmllint(x.text);
  assert.equal(xpath(x.text, '/service_definition/service_code'), '200401');
  assert.equal(xpath(x.text, '/service_definition/attributes/attribute/code'), 'size');
  assert.equal(xcount(x.text, '/service_definition/attributes/attribute/values/value/key'), 3);
  const none = await get('/open311/v2/services/123456.json');
  assert.equal(none.status, 404);
  valid('errors', none.json);
});

test('POST requests (form, api_key) then read it back by id, by token, in the list', async () => {
  const form = {
    api_key: app, service_code: '200401', lat: String(HERE.lat), long: String(HERE.lon),
    description: '路面塌陷 Open311', 'attribute[size]': 'small', email: 'o311@example.cn',
    first_name: '张', last_name: '三', media_url: 'https://media.example.cn/x.jpg',
  };
  const r = await http(srv.base, 'POST', '/open311/v2/requests.json', { form });
  assert.equal(r.status, 201, r.text);
  valid('post_response', r.json);
  // The request is stored at once: the answer has its id, and no token (the
  // spec: each "should not be returned if" the other is).
  const { service_request_id: id } = r.json[0];
  assert.equal(r.json[0].token, undefined);
  const tok = execFileSync('sqlite3', [db.db, `SELECT token FROM reports WHERE id = ${Number(id)}`],
    { encoding: 'utf8' }).trim();
  assert.match(tok, /^[0-9a-f]{16,}$/);

  const one = await get(`/open311/v2/requests/${id}.json`);
  valid('requests', one.json);
  assert.equal(one.json.length, 1);
  assert.equal(one.json[0].service_code, '200401');
  assert.equal(one.json[0].status, 'open');
  assert.equal(one.json[0].media_url, 'https://media.example.cn/x.jpg');
  assert.ok(Math.abs(one.json[0].lat - HERE.lat) < 1e-9);
  assert.match(one.json[0].requested_datetime, /\+08:00$/);

  const ext = await get(`/open311/v2/requests/${id}.json?extensions=true`);
  valid('requests', ext.json);
  assert.equal(ext.json[0].notes.length, 1);
  assert.equal(ext.json[0].notes[0].type, 'report');

  const t = await get(`/open311/v2/tokens/${tok}.json`);
  valid('tokens', t.json);
  assert.equal(t.json[0].service_request_id, id);
  const tx = await get(`/open311/v2/tokens/${tok}.xml`);
  xmllint(tx.text);
  assert.equal(xpath(tx.text, '/service_requests/request/service_request_id'), id);

  const x = await get(`/open311/v2/requests/${id}.xml?extensions=true`);
  xmllint(x.text);
  for (const el of ['service_request_id', 'status', 'status_notes', 'service_name', 'service_code',
    'description', 'agency_responsible', 'service_notice', 'requested_datetime', 'updated_datetime',
    'expected_datetime', 'address', 'address_id', 'zipcode', 'lat', 'long', 'media_url'])
    assert.equal(xcount(x.text, `/service_requests/request/${el}`), 1, el);
  assert.equal(xpath(x.text, '/service_requests/request/notes/note/type'), 'report');

  const list = await get(`/open311/v2/requests.json?service_request_id=${id},999999999`);
  valid('requests', list.json);
  assert.deepEqual(list.json.map((q) => q.service_request_id), [id]);

  const px = await http(srv.base, 'POST', '/open311/v2/requests.xml', { form: { ...form, description: 'xml' } });
  assert.equal(px.status, 201, px.text);
  xmllint(px.text);
  assert.match(xpath(px.text, '/service_requests/request/service_request_id'), /^[0-9]+$/);
});

test('GET requests: default window, filters, paging (json, xml)', async () => {
  const all = await get('/open311/v2/requests.json');
  assert.equal(all.status, 200);
  valid('requests', all.json);
  assert.ok(all.json.length > 0 && all.json.length <= 1000);
  const now = Date.now();
  for (const q of all.json) assert.ok(now - Date.parse(q.requested_datetime) <= 91 * 86400e3);

  const f = await get('/open311/v2/requests.json?service_code=200102,200101&status=closed&start_date=2026-01-01T00:00:00%2B08:00&end_date=2026-12-31&page_size=20&page=2');
  assert.equal(f.status, 200, f.text);
  valid('requests', f.json);
  assert.ok(f.json.length <= 20);
  for (const q of f.json) {
    assert.ok(['200102', '200101'].includes(q.service_code));
    assert.equal(q.status, 'closed');
  }
  const near = await get(`/open311/v2/requests.json?lat=${HERE.lat}&long=${HERE.lon}&radius=500&start_date=2025-11-01`);
  valid('requests', near.json);
  for (const q of near.json) assert.ok(Math.abs(q.lat - HERE.lat) < 0.006, `${q.lat}`);

  const x = await get('/open311/v2/requests.xml?page_size=5&status=open');
  xmllint(x.text);
  assert.ok(xcount(x.text, '/service_requests/request') <= 5);
});

test('errors are Open311 errors: 403 api_key, 400 bad input, 404 unknown', async () => {
  const cases = [
    [{ service_code: '200102', lat: '39.9', long: '116.4' }, 403, /api_key/],
    [{ api_key: 'mdt_' + '0'.repeat(64), service_code: '200102', lat: '39.9', long: '116.4' }, 403, /api_key/],
    [{ api_key: app, lat: '39.9', long: '116.4' }, 400, /service_code/],
    [{ api_key: app, service_code: '999999', lat: '39.9', long: '116.4' }, 404, /999999/],
    [{ api_key: app, service_code: '200102', address_string: '火星路999号' }, 400, /lat and long/],
    [{ api_key: app, service_code: '200102', lat: '91', long: '116.4' }, 400, /lat/],
    [{ api_key: app, service_code: '200401', lat: '39.9', long: '116.4' }, 400, /size/],
    [{ api_key: app, service_code: '200102', lat: '39.9', long: '116.4', media_url: 'javascript:alert(1)' }, 400, /media_url/],
  ];
  for (const [form, status, msg] of cases) {
    for (const fmt of ['json', 'xml']) {
      const r = await http(srv.base, 'POST', `/open311/v2/requests.${fmt}`, { form });
      assert.equal(r.status, status, `${JSON.stringify(form)} ${fmt}: ${r.text}`);
      if (fmt === 'json') {
        valid('errors', r.json);
        assert.equal(r.json[0].code, status);
        assert.match(r.json[0].description, msg);
      } else {
        xmllint(r.text);
        assert.equal(xpath(r.text, '/errors/error/code'), String(status));
        assert.match(xpath(r.text, '/errors/error/description'), msg);
      }
    }
  }
  for (const path of ['/open311/v2/requests/99999999.json', '/open311/v2/tokens/abcdef.json',
    '/open311/v2/nothing.json', '/open311/v2/services.txt']) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    valid('errors', r.json);
  }
  const bad = await get('/open311/v2/requests.json?status=pending');
  assert.equal(bad.status, 400);
  valid('errors', bad.json);
  const x = await get('/open311/v2/requests/99999999.xml');
  assert.equal(x.status, 404);
  xmllint(x.text);
  assert.equal(xpath(x.text, '/errors/error/code'), '404');
});

test('POST with an unknown service_code is 404 (the spec lists 404 for it), JSON and XML', async () => {
  for (const fmt of ['json', 'xml']) {
    const form = { api_key: app, service_code: '999999', lat: String(HERE.lat), long: String(HERE.lon) };
    const r = await http(srv.base, 'POST', `/open311/v2/requests.${fmt}`, { form });
    assert.equal(r.status, 404, r.text);
    if (fmt === 'json') {
      valid('errors', r.json);
      assert.match(r.json[0].description, /999999/);
    } else {
      xmllint(r.text);
      assert.equal(xpath(r.text, '/errors/error/code'), '404');
    }
  }
  // The XML answer of a stored request names its id and no token either.
  const form = { api_key: app, service_code: '200401', lat: String(HERE.lat), long: String(HERE.lon),
    'attribute[size]': 'small' };
  const x = await http(srv.base, 'POST', '/open311/v2/requests.xml', { form });
  assert.equal(x.status, 201, x.text);
  assert.match(xpath(x.text, '/service_requests/request/service_request_id'), /^[0-9]+$/);
  assert.equal(xcount(x.text, '//token'), 0);
});
