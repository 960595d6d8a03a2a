// The admin page (/admin#token=TOKEN, an admin token): edit the facility
// categories (PUT /api/v1/facility-categories/{code}) and a facility's
// fields (PATCH /api/v1/facilities/{id}); each save shows the record's
// history (GET .../history), which keeps every change with who and when.
const $ = (sel) => document.querySelector(sel);
let token = sessionStorage.getItem('mapd.admin.token') || '';
const FIELDS = ['name', 'category', 'status', 'address', 'phone', 'opening_hours'];

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(json?.error?.message || `${res.status}`);
  return json;
}

function say(text) { $('#astatus').textContent = text; }

function showHistory(title, rows) {
  $('#history').replaceChildren(...rows.map((r) => h('li', { 'data-at': r.at },
    `${title} · ${r.at} · ${r.role} ${r.actor}${r.report_id ? ` · report #${r.report_id}` : ''} · `,
    h('code', {}, JSON.stringify(r.change)))));
  $('#history').dataset.count = String(rows.length);
}

function categoryRow(c) {
  const zh = h('input', { name: 'name_zh', value: c.name_zh, 'aria-label': 'name_zh' });
  const en = h('input', { name: 'name_en', value: c.name_en, 'aria-label': 'name_en' });
  const color = h('input', { name: 'color', type: 'color', value: c.color || '#888888', 'aria-label': 'color' });
  const code = c.code ? h('code', {}, c.code) : h('input', { name: 'code', placeholder: 'new_code', 'aria-label': 'code' });
  const save = h('button', { type: 'button', 'data-save': c.code || 'new', onclick: async () => {
    const key = c.code || code.value.trim();
    try {
      await api(`/api/v1/facility-categories/${encodeURIComponent(key)}`, { method: 'PUT',
        body: { name_zh: zh.value.trim(), name_en: en.value.trim(), color: color.value } });
      const hist = await api(`/api/v1/facility-categories/${encodeURIComponent(key)}/history`);
      showHistory(key, hist.history);
      say(`saved ${key}`);
      await loadCategories();
    } catch (err) { say(err.message); }
  } }, '保存 / Save');
  return h('tr', { 'data-code': c.code || '' }, h('td', {}, code), h('td', {}, zh), h('td', {}, en), h('td', {}, color), h('td', {}, save));
}

async function loadCategories() {
  const j = await fetch('/api/v1/facility-categories').then((r) => r.json());
  $('#categories tbody').replaceChildren(...j.facility_categories.map(categoryRow), categoryRow({ name_zh: '', name_en: '' }));
}

let current = null;
async function loadFacility(id) {
  const f = await fetch(`/ogc/collections/facilities/items/${id}`, { headers: { Accept: 'application/geo+json' } });
  if (!f.ok) throw new Error(`facility ${id}: ${f.status}`);
  const props = (await f.json()).properties;
  current = id;
  $('#facility-fields tbody').replaceChildren(...FIELDS.map((k) => h('tr', {}, h('th', {}, k),
    h('td', {}, h('input', { name: k, value: props[k] ?? '', 'aria-label': k })))));
  $('#facility-form').hidden = false;
  const hist = await api(`/api/v1/facilities/${id}/history`);
  showHistory(`facility ${id}`, hist.history);
}

$('#facility-load').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadFacility(Number($('#facility-id').value)).catch((err) => say(err.message));
});
$('#facility-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = {};
  for (const k of FIELDS) body[k] = $(`#facility-fields input[name="${k}"]`).value.trim();
  try {
    const j = await api(`/api/v1/facilities/${current}`, { method: 'PATCH', body });
    say(`saved facility ${j.id}: ${j.name}`);
    const hist = await api(`/api/v1/facilities/${current}/history`);
    showHistory(`facility ${current}`, hist.history);
  } catch (err) { say(err.message); }
});

function start() {
  const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (frag.get('token')) {
    token = frag.get('token');
    sessionStorage.setItem('mapd.admin.token', token);
    history.replaceState(null, '', location.pathname);
  }
  $('#atoken-form').hidden = !!token;
  loadCategories().then(() => { document.body.dataset.ready = 'true'; }).catch((err) => say(err.message));
}
$('#atoken-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('#atoken-input').value.trim();
  sessionStorage.setItem('mapd.admin.token', token);
  start();
});
start();
