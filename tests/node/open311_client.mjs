// A GeoReport v2 client drives the server, in JSON and in XML.
//
// codeforamerica's npm client `open311` (0.0.12, the only version) cannot be
// installed here: it depends on `sparkxml` as a git URL on github.com (only
// the npm registry is reachable) and on request@2.11 / xml2json@0.2 (a
// node-expat build from 2012). So the client below is written from the
// spec's text (http://wiki.open311.org/GeoReport_v2): discovery first, then
// the endpoint's URL it names; GET services, services/{code} when
// `metadata` is true, POST requests (form fields, api_key, attribute[code]),
// GET requests/{id} and requests with filters, tokens/{token}; answers in
// .json or .xml, errors as [{code, description}] / <errors><error>. The XML
// is read by a real XML parser (fast-xml-parser, pinned; its validator
// checks well-formedness), never by regular expressions, and every XML
// answer must say what the JSON answer says.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HERE, freshDb, serve, token } from './reports_lib.mjs';

// The spec's list elements: container → its repeated child.
const LISTS = { services: 'service', service_requests: 'request', attributes: 'attribute',
  values: 'value', errors: 'error', endpoints: 'endpoint', formats: 'format', notes: 'note' };
const CHILDREN = new Set(Object.values(LISTS));

class Open311Error extends Error {
  constructor(status, errors) {
    super(`${status}: ${errors.map((e) => e.description).join('; ')}`);
    this.status = status;
    this.errors = errors;
  }
}

class GeoReportClient {
  constructor(endpoint, { format = 'json', apiKey, locale } = {}) {
    this.endpoint = endpoint.replace(/\/$/, '');
    this.format = format;
    this.apiKey = apiKey;
    this.locale = locale;
    this.parser = new XMLParser({
      ignoreAttributes: true, parseTagValue: false, trimValues: false,
      isArray: (name, jpath) => CHILDREN.has(name) && LISTS[jpath.split('.').slice(-2, -1)[0]] === name,
    });
  }

  // Discovery (the spec's "Service Discovery"): the production endpoint
  // that supports this client's format.
  static async discover(discoveryUrl, options = {}) {
    const probe = new GeoReportClient(discoveryUrl.replace(/\/discovery\.(json|xml)$/, ''), options);
    const d = await probe.call('GET', 'discovery');
    const mime = options.format === 'xml' ? 'text/xml' : 'application/json';
    const ep = d.endpoints.find((e) => e.type === 'production' && e.formats.includes(mime));
    assert.ok(ep, 'discovery names a production endpoint for the format');
    return { discovery: d, client: new GeoReportClient(ep.url, options) };
  }

  // XML → the JSON answer's shape: list containers become arrays, an empty
  // element an empty string (or an empty list for a list container).
  fromXml(node, name) {
    if (name in LISTS) {
      const items = node === '' ? [] : node[LISTS[name]] || [];
      return items.map((i) => this.fromXml(i, LISTS[name]));
    }
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, this.fromXml(v, k)]));
  }

  async call(method, resource, params = {}) {
    const q = new URLSearchParams();
    const form = new URLSearchParams();
    const target = method === 'POST' ? form : q;
    for (const [k, v] of Object.entries(params)) if (v !== undefined) target.append(k, String(v));
    if (this.locale) target.append('locale', this.locale);
    const qs = q.toString() ? `?${q}` : '';
    const res = await fetch(`${this.endpoint}/${resource}.${this.format}${qs}`, {
      method,
      headers: method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
      body: method === 'POST' ? form.toString() : undefined,
    });
    const text = await res.text();
    let value;
    if (this.format === 'xml') {
      assert.match(res.headers.get('content-type'), /^text\/xml/);
      const ok = XMLValidator.validate(text);
      assert.equal(ok, true, `not well-formed XML: ${JSON.stringify(ok)}\n${text.slice(0, 300)}`);
      const doc = this.parser.parse(text);
      const [root] = Object.keys(doc).filter((k) => k !== '?xml');
      value = this.fromXml(doc[root], root);
      this.lastRoot = root;
    } else {
      assert.match(res.headers.get('content-type'), /^application\/json/);
      value = JSON.parse(text);
    }
    if (res.status >= 400) throw new Open311Error(res.status, value);
    this.lastStatus = res.status;
    return value;
  }

  serviceList() { return this.call('GET', 'services'); }
  serviceDefinition(code) { return this.call('GET', `services/${encodeURIComponent(code)}`); }
  async postServiceRequest({ attributes = {}, ...fields }) {
    const params = { api_key: this.apiKey, ...fields };
    for (const [k, v] of Object.entries(attributes)) params[`attribute[${k}]`] = v;
    const [created] = await this.call('POST', 'requests', params);
    return created;
  }
  async getServiceRequest(id) { return (await this.call('GET', `requests/${encodeURIComponent(id)}`))[0]; }
  getServiceRequests(filters = {}) { return this.call('GET', 'requests', filters); }
  getToken(tok) { return this.call('GET', `tokens/${encodeURIComponent(tok)}`); }
}

// Does the XML answer (every value a string) say what the JSON answer says?
function sameAnswer(xml, json, where = '') {
  if (Array.isArray(json)) {
    assert.ok(Array.isArray(xml), `${where}: a list in JSON, ${JSON.stringify(xml)} in XML`);
    assert.equal(xml.length, json.length, `${where}: list length`);
    json.forEach((v, i) => sameAnswer(xml[i], v, `${where}[${i}]`));
  } else if (json !== null && typeof json === 'object') {
    assert.deepEqual(Object.keys(xml).sort(), Object.keys(json).sort(), `${where}: fields`);
    for (const k of Object.keys(json)) sameAnswer(xml[k], json[k], `${where}.${k}`);
  } else if (typeof json === 'number') {
    assert.ok(Math.abs(Number(xml) - json) < 1e-7, `${where}: ${xml} vs ${json}`);
  } else {
    assert.equal(xml, json === null ? '' : String(json), where);
  }
}

let db, srv, app, json, xml, discovered;
before(async () => {
  db = freshDb();
  app = token(db.db, 'app');
  srv = await serve(db.db, ['--rate-limit', '0']);
  const url = `${srv.base}/open311/v2/discovery.json`;
  const dj = await GeoReportClient.discover(url, { format: 'json', apiKey: app });
  const dx = await GeoReportClient.discover(url.replace(/json$/, 'xml'), { format: 'xml', apiKey: app });
  json = dj.client;
  xml = dx.client;
  discovered = { json: dj.discovery, xml: dx.discovery };
});
after(async () => { await srv.stop(); db.remove(); });

test('discovery: one production endpoint for both formats, the same in JSON and XML', () => {
  sameAnswer(discovered.xml, discovered.json, 'discovery');
  const [ep] = discovered.json.endpoints;
  assert.equal(ep.specification, 'http://wiki.open311.org/GeoReport_v2');
  assert.deepEqual(ep.formats, ['application/json', 'text/xml']);
  assert.equal(json.endpoint, `${srv.base}/open311/v2`);
  assert.equal(xml.endpoint, json.endpoint);
});

test('services, and the definition of each service with metadata', async () => {
  const sj = await json.serviceList();
  const sx = await xml.serviceList();
  assert.equal(xml.lastRoot, 'services');
  sameAnswer(sx, sj, 'services');
  assert.ok(sj.length >= 10);
  for (const s of sj) {
    for (const k of ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group'])
      assert.ok(k in s, `${s.service_code} ${k}`);
    assert.ok(['realtime', 'batch', 'blackbox'].includes(s.type));
  }
  const withMeta = sj.filter((s) => s.metadata === true);
  assert.ok(withMeta.some((s) => s.service_code === '200401'));
  for (const s of withMeta) {
    const dj = await json.serviceDefinition(s.service_code);
    const dx = await xml.serviceDefinition(s.service_code);
    assert.equal(xml.lastRoot, 'service_definition');
    sameAnswer(dx, dj, `definition ${s.service_code}`);
    assert.equal(dj.service_code, s.service_code);
    for (const a of dj.attributes) {
      assert.ok(['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'].includes(a.datatype));
      if (a.datatype.endsWith('valuelist')) assert.ok(a.values.length > 0);
    }
  }
  const en = new GeoReportClient(json.endpoint, { format: 'xml', locale: 'en' });
  const named = (await en.serviceList()).find((s) => s.service_code === '200401');
  assert.equal(named.service_name, 'Road collapse');
});

test('POST a request in each format, GET it back in both', async () => {
  const def = await json.serviceDefinition('200401');
  const size = def.attributes.find((a) => a.code === 'size');
  const made = {};
  for (const [fmt, client] of [['json', json], ['xml', xml]]) {
    const created = await client.postServiceRequest({
      service_code: '200401', lat: HERE.lat, long: HERE.lon, address_string: `东城区 ${fmt} 测试`,
      description: `路面塌陷 (${fmt} client)`, email: `${fmt}@example.cn`, first_name: 'Ada',
      attributes: { size: size.values[0].key },
    });
    assert.equal(client.lastStatus, 201);
    assert.match(created.service_request_id, /^[0-9]+$/);
    assert.ok(!('token' in created) || created.token === '', 'an id, never also a token');
    made[fmt] = created.service_request_id;
  }
  for (const [fmt, id] of Object.entries(made)) {
    const rj = await json.getServiceRequest(id);
    const rx = await xml.getServiceRequest(id);
    assert.equal(xml.lastRoot, 'service_requests');
    sameAnswer(rx, rj, `request ${id}`);
    assert.equal(rj.service_request_id, id);
    assert.equal(rj.service_code, '200401');
    assert.equal(rj.status, 'open');
    assert.equal(rj.description, `路面塌陷 (${fmt} client)`);
    assert.equal(rj.address, `东城区 ${fmt} 测试`);
    assert.ok(Math.abs(rj.lat - HERE.lat) < 1e-6 && Math.abs(rj.long - HERE.lon) < 1e-6);
    assert.ok(!('email' in rj), 'contact details are private');
    assert.ok(!Number.isNaN(Date.parse(rj.requested_datetime)));
  }
  // By the spec's list form too: service_request_id=a,b.
  const both = await xml.getServiceRequests({ service_request_id: `${made.json},${made.xml}` });
  assert.deepEqual(both.map((r) => r.service_request_id).sort(), [made.json, made.xml].sort());
});

test('GET requests with filters: service_code, status, dates, point and radius, paging', async () => {
  const now = new Date();
  const monthAgo = new Date(now.getTime() - 30 * 86400e3);
  const filters = [
    { service_code: '200401', status: 'open' },
    { service_code: '200102,200401', page_size: 5, page: 2 },
    { status: 'closed', start_date: monthAgo.toISOString(), end_date: now.toISOString() },
    { lat: HERE.lat, long: HERE.lon, radius: 500 },
    { service_code: '200401', extensions: 'true', page_size: 3 },
  ];
  for (const f of filters) {
    const lj = await json.getServiceRequests(f);
    const lx = await xml.getServiceRequests(f);
    sameAnswer(lx, lj, JSON.stringify(f));
    assert.ok(lj.length <= (f.page_size || 1000));
    for (const r of lj) {
      if (f.service_code) assert.ok(f.service_code.split(',').includes(r.service_code), JSON.stringify(f));
      if (f.status) assert.equal(r.status, f.status);
      if (f.start_date) {
        const t = Date.parse(r.requested_datetime);
        assert.ok(t >= monthAgo.getTime() - 1000 && t <= now.getTime() + 1000, r.requested_datetime);
      }
      if (f.radius) assert.ok(Math.abs(r.lat - HERE.lat) < 0.006 && Math.abs(r.long - HERE.lon) < 0.008);
      if (f.extensions) assert.ok(Array.isArray(r.notes) && r.notes.length > 0, 'notes with extensions');
    }
  }
  const open = await json.getServiceRequests({ service_code: '200401', status: 'open' });
  assert.ok(open.length > 0, 'the requests just posted are listed');
});

test('errors reach the client as Open311 errors, in both formats', async () => {
  for (const client of [json, xml]) {
    await assert.rejects(client.postServiceRequest({ service_code: '999999', lat: HERE.lat, long: HERE.lon }),
      (e) => e instanceof Open311Error && e.status === 404 && String(e.errors[0].code) === '404'
        && /999999/.test(e.errors[0].description));
    await assert.rejects(new GeoReportClient(client.endpoint, { format: client.format }).postServiceRequest(
      { service_code: '200102', lat: HERE.lat, long: HERE.lon }),
    (e) => e.status === 403 && /api_key/.test(e.errors[0].description));
    await assert.rejects(client.getServiceRequest('99999999'),
      (e) => e.status === 404 && String(e.errors[0].code) === '404');
    await assert.rejects(client.getServiceRequests({ status: 'pending' }),
      (e) => e.status === 400 && /status/.test(e.errors[0].description));
    const zh = new GeoReportClient(client.endpoint, { format: client.format, apiKey: app, locale: 'zh' });
    await assert.rejects(zh.postServiceRequest({ service_code: '200102', lat: 31.23, long: 121.47 }),
      (e) => e.status === 400 && /不在本服务器覆盖的任何区内/.test(e.errors[0].description));
    await assert.rejects(client.getToken('abcdef'), (e) => e.status === 404);
  }
});
