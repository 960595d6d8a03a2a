// Open311 in zh and en (api/open311_lang.c): `locale` (query, or POST's form
// field) wins over Accept-Language (q-values); services, service
// definitions, requests and the common errors in the asked language, with
// Content-Language; an unsupported locale falls back to the default answer
// (as without a language), a malformed one is 400. And address_string
// without lat/long (store/read/address.c): a facility's address, a district
// name (zh, en), or a 400 that says what was tried.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { HERE, freshDb, http, serve, token, xmllint } from './reports_lib.mjs';

let db, srv, app;
before(async () => {
  db = freshDb();
  app = token(db.db, 'app');
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

const get = (path, headers = {}) => http(srv.base, 'GET', path, { headers });
const post = (fmt, form, headers = {}) =>
  http(srv.base, 'POST', `/open311/v2/requests.${fmt}`, { form, headers });
const sql = (q) => execFileSync('sqlite3', ['-readonly', '-separator', '\t', db.db, q],
  { encoding: 'utf8' }).trim();
const xpath = (xml, expr) => xmllint(xml, `string(${expr})`).replace(/\n$/, '');
const lang = (r) => r.headers.get('content-language');

test('services: today\'s answer without a language, zh or en when asked', async () => {
  const plain = await get('/open311/v2/services.json');
  const s0 = plain.json.find((s) => s.service_code === '200101');
  assert.deepEqual([s0.service_name, s0.description, s0.group], ['私搭乱建', 'Illegal structure', '市容环境']);
  assert.equal(lang(plain), 'zh, en');

  const en = await get('/open311/v2/services.json?locale=en');
  const e = en.json.find((s) => s.service_code === '200101');
  assert.deepEqual([e.service_name, e.description, e.group],
    ['Illegal structure', 'Illegal structure', 'City appearance and environment']);
  assert.equal(lang(en), 'en');

  const zh = await get('/open311/v2/services.json?locale=zh_CN');
  const z = zh.json.find((s) => s.service_code === '200101');
  assert.deepEqual([z.service_name, z.description, z.group], ['私搭乱建', '私搭乱建', '市容环境']);
  assert.equal(lang(zh), 'zh');

  // Accept-Language with q-values; locale wins over it.
  const ae = await get('/open311/v2/services.json', { 'Accept-Language': 'en-US,en;q=0.9,zh;q=0.8' });
  assert.equal(ae.json.find((s) => s.service_code === '200101').service_name, 'Illegal structure');
  const az = await get('/open311/v2/services.json', { 'Accept-Language': 'fr, en;q=0.5, zh;q=0.8' });
  assert.equal(az.json.find((s) => s.service_code === '200101').service_name, '私搭乱建');
  assert.equal(lang(az), 'zh');
  const win = await get('/open311/v2/services.json?locale=zh', { 'Accept-Language': 'en' });
  assert.equal(win.json.find((s) => s.service_code === '200101').description, '私搭乱建');

  // Unsupported: the default answer. XML in en too.
  const fr = await get('/open311/v2/services.json?locale=fr-FR');
  assert.deepEqual(fr.json, plain.json);
  assert.equal(lang(fr), 'zh, en');
  const x = await get('/open311/v2/services.xml?locale=en');
  xmllint(x.text);
  assert.equal(xpath(x.text, "/services/service[service_code='200101']/group"), 'City appearance and environment');
  assert.equal(lang(x), 'en');
});

test('service definition: attribute descriptions and value names in one language', async () => {
  const plain = await get('/open311/v2/services/200401.json');
  assert.equal(plain.json.attributes[0].description, '塌陷面积 Size of the collapse');
  const en = await get('/open311/v2/services/200401.json?locale=en');
  assert.equal(en.json.attributes[0].description, 'Size of the collapse');
  assert.deepEqual(en.json.attributes[0].values.map((v) => v.name), ['under 1 m²', '1–5 m²', 'over 5 m²']);
  const zh = await get('/open311/v2/services/200401.xml', { 'Accept-Language': 'zh-CN' });
  xmllint(zh.text);
  assert.equal(xpath(zh.text, '/service_definition/attributes/attribute/description'), '塌陷面积');
  assert.equal(xpath(zh.text, "//value[key='small']/name"), '小于1平方米');
  assert.equal(lang(zh), 'zh');
});

test('discovery and requests: names in the language asked', async () => {
  const d = await get('/open311/v2/discovery.json?locale=en');
  assert.equal(d.json.contact, 'City-management command centre');
  const form = { api_key: app, service_code: '200102', lat: String(HERE.lat), long: String(HERE.lon) };
  const made = await post('json', form);
  assert.equal(made.status, 201, made.text);
  const id = made.json[0].service_request_id;
  const en = await get(`/open311/v2/requests/${id}.json?locale=en`);
  assert.equal(en.json[0].service_name, 'Exposed rubbish');
  assert.equal(lang(en), 'en');
  const plain = await get(`/open311/v2/requests/${id}.json`);
  assert.equal(plain.json[0].service_name, '暴露垃圾');
  const list = await get('/open311/v2/requests.xml?service_code=200102&page_size=3', { 'Accept-Language': 'en' });
  xmllint(list.text);
  assert.equal(xpath(list.text, '/service_requests/request[1]/service_name'), 'Exposed rubbish');
});

test('malformed locale or Accept-Language: 400 in Open311 form', async () => {
  for (const [path, headers, msg] of [
    ['/open311/v2/services.json?locale=en_US!', {}, /locale must be a language tag/],
    ['/open311/v2/services.xml?locale=123', {}, /locale must be a language tag/],
    ['/open311/v2/discovery.json', { 'Accept-Language': 'en;q=2' }, /Accept-Language is malformed/],
    ['/open311/v2/requests.xml', { 'Accept-Language': 'en q' }, /Accept-Language is malformed/],
  ]) {
    const r = await get(path, headers);
    assert.equal(r.status, 400, path);
    if (path.includes('.xml')) {
      xmllint(r.text);
      assert.match(xpath(r.text, '/errors/error/description'), msg);
    } else {
      assert.equal(r.json[0].code, 400);
      assert.match(r.json[0].description, msg);
    }
  }
  const bad = await post('json', { api_key: app, service_code: '200102', locale: 'e n' });
  assert.equal(bad.status, 400);
  assert.match(bad.json[0].description, /locale/);
});

test('error descriptions in zh: api_key, parameters, service code, outside, not found', async () => {
  const p = { lat: String(HERE.lat), long: String(HERE.lon) };
  const cases = [
    [{ service_code: '200102', ...p }, 403, '提交服务请求需要 api_key'],
    [{ api_key: 'mdt_' + '0'.repeat(64), service_code: '200102', ...p }, 403, 'api_key 无效'],
    [{ api_key: app, ...p }, 400, '缺少必填参数 service_code'],
    [{ api_key: app, service_code: '12' , ...p }, 400, 'service_code 必须是 6 位数字代码'],
    [{ api_key: app, service_code: '999999', ...p }, 404, "'999999' 不是已知的服务代码（见 /api/v1/categories）"],
    [{ api_key: app, service_code: '200102', lat: '31.23', long: '121.47' }, 400,
      '坐标点 121.470000,31.230000 不在本服务器覆盖的任何区内'],
    [{ api_key: app, service_code: '200102', lat: '39.9' }, 400, 'lat 和 long 为必填项'],
    [{ api_key: app, service_code: '200102', lat: '91', long: '116.4' }, 400, 'lat 91 超出 -90..90 范围'],
    [{ api_key: app, service_code: '200401', ...p }, 400, '服务代码 200401 需要属性 size'],
  ];
  for (const [form, status, zh] of cases) {
    for (const how of ['form', 'header']) {
      const r = how === 'form' ? await post('json', { ...form, locale: 'zh' })
        : await post('xml', form, { 'Accept-Language': 'zh-CN,zh;q=0.9' });
      assert.equal(r.status, status, `${JSON.stringify(form)}: ${r.text}`);
      assert.equal(lang(r), 'zh');
      const text = how === 'form' ? r.json[0].description : xpath(r.text, '/errors/error/description');
      assert.equal(text, zh);
    }
    // English stays as it was.
    const en = await post('json', { ...form, locale: 'en' });
    assert.equal(en.status, status);
    assert.equal(lang(en), 'en');
    assert.doesNotMatch(en.json[0].description, /[\u4e00-\u9fff]/);
  }
  const nf = await get('/open311/v2/requests/99999999.json?locale=zh');
  assert.equal(nf.status, 404);
  assert.equal(nf.json[0].description, '服务请求 99999999 不存在');
  const nr = await get('/open311/v2/nothing.json', { 'Accept-Language': 'zh' });
  assert.equal(nr.status, 404);
  assert.equal(nr.json[0].description, '没有这个 Open311 资源：/open311/v2/nothing.json');
  const bs = await get('/open311/v2/requests.json?status=pending&locale=zh');
  assert.equal(bs.json[0].description, 'status 必须是 open、closed 或两者');
  // Without a language: English, as always.
  const plain = await get('/open311/v2/requests/99999999.json');
  assert.equal(plain.json[0].description, 'report 99999999 does not exist');
  assert.equal(lang(plain), 'en');
});

test('rate limit message in zh', async () => {
  const small = await serve(db.db, ['--rate-limit', '1']);
  try {
    const form = { api_key: app, service_code: '200102', lat: String(HERE.lat), long: String(HERE.lon), locale: 'zh' };
    let r;
    for (let i = 0; i < 3; i++) {
      r = await http(small.base, 'POST', '/open311/v2/requests.json', { form });
      if (r.status === 429) break;
    }
    assert.equal(r.status, 429, r.text);
    assert.match(r.json[0].description, /^来自 .* 的提交过多：每分钟最多 1 条，请 \d+ 秒后重试$/);
    assert.equal(lang(r), 'zh');
  } finally {
    await small.stop();
  }
});

test('address_string without lat/long: a facility address, a district, else what was tried', async () => {
  const [address, flon, flat] = sql("SELECT address, lon, lat FROM facilities WHERE address <> ''"
    + ' AND district_code IS NOT NULL GROUP BY address HAVING count(*) = 1 ORDER BY min(id) LIMIT 1').split('\t');
  for (const fmt of ['json', 'xml']) {
    const r = await post(fmt, { api_key: app, service_code: '200102', address_string: address });
    assert.equal(r.status, 201, r.text);
    const id = fmt === 'json' ? r.json[0].service_request_id : xpath(r.text, '//service_request_id');
    const back = await get(`/open311/v2/requests/${id}.json`);
    assert.ok(Math.abs(back.json[0].lat - Number(flat)) < 1e-6 && Math.abs(back.json[0].long - Number(flon)) < 1e-6,
      `${back.json[0].lat},${back.json[0].long} vs ${flat},${flon}`);
    assert.equal(back.json[0].address, address);
  }
  for (const [name, code] of [['东城区', '110101'], ['Haidian', '110108'], ['北京市朝阳区', '110105']]) {
    const [llon, llat] = sql(`SELECT label_lon, label_lat FROM districts WHERE code = '${code}'`).split('\t');
    const r = await post('json', { api_key: app, service_code: '200102', address_string: name });
    assert.equal(r.status, 201, `${name}: ${r.text}`);
    const back = await get(`/open311/v2/requests/${r.json[0].service_request_id}.json`);
    assert.ok(Math.abs(back.json[0].lat - Number(llat)) < 1e-6 && Math.abs(back.json[0].long - Number(llon)) < 1e-6, name);
  }
  const none = await post('json', { api_key: app, service_code: '200102', address_string: '火星路999号' });
  assert.equal(none.status, 400);
  assert.equal(none.json[0].description, "no facility, district or street named '火星路999号'; give lat and long");
  const noneZh = await post('xml', { api_key: app, service_code: '200102', address_string: '火星路999号', locale: 'zh' });
  assert.equal(noneZh.status, 400);
  assert.equal(xpath(noneZh.text, '/errors/error/description'), "没有名为 '火星路999号' 的设施、区或街道；请提供 lat 和 long");
  // A name several facilities share (and no address holds); a street in several districts.
  const [shared, n] = sql('SELECT s.name, s.n FROM (SELECT name, count(*) AS n FROM facilities GROUP BY name'
    + ' HAVING n > 1) s WHERE NOT EXISTS (SELECT 1 FROM facilities g WHERE instr(g.address, s.name) > 0)'
    + ' AND NOT EXISTS (SELECT 1 FROM districts d WHERE instr(s.name, d.name) > 0) ORDER BY s.name LIMIT 1').split('\t');
  assert.ok(Number(n) > 1, shared);
  const amb = await post('json', { api_key: app, service_code: '200102', address_string: shared });
  assert.equal(amb.status, 400);
  assert.equal(amb.json[0].description,
    `no facility, district or street named '${shared}': ${n} facilities have this name or address; give lat and long`);
  const districts = Number(sql("SELECT count(DISTINCT coalesce(district_code, '')) FROM facilities WHERE instr(address, '京顺路') > 0"));
  assert.ok(districts > 1);
  const street = await post('json', { api_key: app, service_code: '200102', address_string: '京顺路' });
  assert.equal(street.status, 400);
  assert.equal(street.json[0].description,
    `no facility, district or street named '京顺路': a street of this name lies in ${districts} districts; give lat and long`);
  // A point given: address_string is only the address, as before.
  const both = await post('json', { api_key: app, service_code: '200102', address_string: '火星路999号',
    lat: String(HERE.lat), long: String(HERE.lon) });
  assert.equal(both.status, 201, both.text);
});
