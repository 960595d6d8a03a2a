// 执法城管通 - the officer's phone view (/officer#token=TOKEN): their own
// cases by deadline (GET /api/v1/officer/cases), the way to the chosen case
// on the map, start / report back with a note, and a patrol incident filed
// on the spot (巡查即录入: POST /api/v1/reports, kind incident, channel patrol).
//
// The way: a straight line from the officer's position (the browser's
// geolocation) to the case and its geodesic length. This is honest about
// what mapd has: no road network or routing engine runs offline, so there
// is no turn-by-turn route.
import { Map as MapLibreMap, Marker, NavigationControl } from './vendor/maplibre-gl.mjs';

const T = {
  zh: {
    title: '执法城管通', tokenPrompt: '队员令牌', signIn: '进入', queue: '我的案件', patrol: '巡查上报',
    category: '问题类别', description: '问题描述', submit: '提交', cancel: '取消', start: '开始处置',
    reportBack: '处置反馈', note: '处置说明', confirm: '确认', deadline: '时限', overdue: '超期',
    noCases: '没有待处理的案件', way: '直线距离', wayNote: '（直线，离线无路网导航）', noLocation: '未获得位置，无法计算距离',
    filed: '已上报，编号', unit: '单位', patrolWhere: '位置：我的当前位置', patrolCentre: '位置：地图中心（未获得定位）',
    status: { dispatched: '待处置', in_progress: '处置中' }, photoLater: '照片上传尚未提供：仅文字反馈',
    loadFailed: '加载失败',
  },
  en: {
    title: 'Officer', tokenPrompt: 'Officer token', signIn: 'Sign in', queue: 'My cases', patrol: 'Patrol report',
    category: 'Category', description: 'Description', submit: 'Submit', cancel: 'Cancel', start: 'Start',
    reportBack: 'Report back', note: 'What was done', confirm: 'Confirm', deadline: 'Due', overdue: 'overdue',
    noCases: 'No open cases', way: 'Straight-line distance', wayNote: ' (straight line: no road routing offline)',
    noLocation: 'No location yet: no distance', filed: 'Filed, report no.', unit: 'Unit',
    patrolWhere: 'At: my current position', patrolCentre: 'At: the map centre (no location)',
    status: { dispatched: 'To do', in_progress: 'In progress' }, photoLater: 'Photo upload is not available yet: note only',
    loadFailed: 'Loading failed',
  },
};

const params = new URLSearchParams(location.search);
const state = {
  lang: ['zh', 'en'].find((l) => l === (params.get('lang') || localStorage.getItem('mapd.lang'))) || 'zh',
  token: sessionStorage.getItem('mapd.officer.token') || '',
  here: null,
  cases: [],
  selected: null,
  categories: [],
};
const $ = (sel) => document.querySelector(sel);
const t = (key) => T[state.lang][key] ?? T.zh[key] ?? key;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(json?.error?.message || `${res.status}`);
  return json;
}

function fmtTime(v) {
  if (!v) return '—';
  return new Date(v).toLocaleString(state.lang === 'en' ? 'en-GB' : 'zh-CN',
    { timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

// Geodesic distance on the WGS84 mean sphere (haversine, R = 6371008.8 m):
// within 0.5% of the ellipsoid over a city, plenty for "how far is it".
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}
const fmtDist = (m) => (m < 1000 ? `${Math.round(m)} ${state.lang === 'en' ? 'm' : '米'}` : `${(m / 1000).toFixed(2)} ${state.lang === 'en' ? 'km' : '公里'}`);

const map = new MapLibreMap({
  container: 'omap', style: '/styles/mapd.json', center: [116.404, 39.915], zoom: 13,
  localIdeographFontFamily: false, attributionControl: false,
});
map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
window.map = map;
let hereMarker = null;
let caseMarker = null;

function wayGeoJSON() {
  const c = state.selected;
  if (!c || !state.here) return { type: 'FeatureCollection', features: [] };
  return { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {},
    geometry: { type: 'LineString', coordinates: [state.here, [c.lon, c.lat]] } }] };
}

function drawWay() {
  if (map.getSource('way')) map.getSource('way').setData(wayGeoJSON());
  const c = state.selected;
  const box = $('#oway');
  if (!c) { box.hidden = true; return; }
  box.hidden = false;
  if (!state.here) { box.textContent = `#${c.id} · ${t('noLocation')}`; return; }
  const d = distanceM(state.here, [c.lon, c.lat]);
  box.dataset.distance = String(Math.round(d));
  box.textContent = `#${c.id} · ${t('way')} ${fmtDist(d)}${t('wayNote')}`;
}

function select(c) {
  state.selected = c;
  for (const li of document.querySelectorAll('#cases li')) li.classList.toggle('selected', Number(li.dataset.id) === c.id);
  caseMarker?.remove();
  caseMarker = new Marker({ color: '#d9480f' }).setLngLat([c.lon, c.lat]).addTo(map);
  const pts = state.here ? [state.here, [c.lon, c.lat]] : [[c.lon, c.lat]];
  if (pts.length === 2) {
    const w = Math.min(pts[0][0], pts[1][0]); const e = Math.max(pts[0][0], pts[1][0]);
    const s = Math.min(pts[0][1], pts[1][1]); const n = Math.max(pts[0][1], pts[1][1]);
    map.fitBounds([[w, s], [e, n]], { padding: 40, maxZoom: 17, duration: 0 });
  } else {
    map.jumpTo({ center: pts[0], zoom: 16 });
  }
  drawWay();
}

function stepForm(c, action, label) {
  const note = h('textarea', { rows: 2, maxlength: 1000, placeholder: t('note'), 'aria-label': t('note') });
  const form = h('form', { 'data-form': action }, note,
    action === 'report_back' ? h('p', { class: 'hint', 'data-photo': 'later' }, t('photoLater')) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-confirm': action }, t('confirm')),
      h('button', { type: 'button', onclick: () => form.remove() }, t('cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api(`/api/v1/reports/${c.id}/transitions`, { method: 'POST', body: { action, note: note.value.trim() || label } });
      await loadCases();
    } catch (err) {
      $('#ostatus').textContent = err.message;
    }
  });
  return form;
}

function caseItem(c) {
  const overdue = c.overdue;
  const li = h('li', { 'data-id': c.id, class: overdue ? 'overdue' : null });
  const action = c.status === 'dispatched' ? ['start', t('start')] : c.status === 'in_progress' ? ['report_back', t('reportBack')] : null;
  const dist = state.here ? fmtDist(distanceM(state.here, [c.lon, c.lat])) : '';
  li.append(
    h('div', { class: 'name' }, `#${c.id} ${state.lang === 'en' ? c.category_name_en || c.category : c.category_name || c.category}`),
    h('div', { class: 'meta' }, [T[state.lang].status[c.status] || c.status, c.address || c.district, dist].filter(Boolean).join(' · ')),
    h('div', { class: 'meta deadline' }, `${t('deadline')} ${fmtTime(c.expected_at)}${overdue ? ` · ${t('overdue')}` : ''}`),
    c.description ? h('div', { class: 'meta' }, c.description.slice(0, 140)) : null,
    action ? h('div', { class: 'actions' }, h('button', { type: 'button', 'data-action': action[0], onclick: (ev) => {
      ev.stopPropagation();
      li.querySelector('form')?.remove();
      li.append(stepForm(c, action[0], action[1]));
    } }, action[1])) : null);
  li.addEventListener('click', (ev) => { if (!ev.target.closest('form')) select(c); });
  return li;
}

async function loadCases() {
  const j = await api('/api/v1/officer/cases');
  state.cases = j.reports;
  $('#who').textContent = `${t('unit')} ${j.officer.unit}`;
  const list = $('#cases');
  list.replaceChildren(...state.cases.map(caseItem));
  if (!state.cases.length) list.append(h('li', { class: 'empty' }, t('noCases')));
  list.dataset.loaded = String(Date.now());
  const keep = state.selected && state.cases.find((c) => c.id === state.selected.id);
  if (keep) select(keep);
  else if (state.cases.length) select(state.cases[0]);
  else { state.selected = null; drawWay(); }
}

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((pos) => {
    state.here = [pos.coords.longitude, pos.coords.latitude];
    hereMarker = hereMarker || new Marker({ color: '#1971c2' }).setLngLat(state.here).addTo(map);
    hereMarker.setLngLat(state.here);
    document.body.dataset.located = 'true';
    if (state.selected) select(state.selected);
    $('#patrol-where').textContent = t('patrolWhere');
  }, () => { $('#patrol-where').textContent = t('patrolCentre'); }, { enableHighAccuracy: true, maximumAge: 10000 });
}

async function loadCategories() {
  const j = await fetch('/api/v1/categories').then((r) => r.json());
  state.categories = j.categories.filter((c) => c.kind !== 'correction' && !c.code.startsWith('9'));
  $('#patrol-category').replaceChildren(...state.categories.map((c) =>
    h('option', { value: c.code }, `${c.code} ${state.lang === 'en' ? c.name_en : c.name_zh}`)));
}

$('#patrol-open').addEventListener('click', () => {
  $('#patrol-form').hidden = false;
  $('#patrol-where').textContent = state.here ? t('patrolWhere') : t('patrolCentre');
});
$('#patrol-cancel').addEventListener('click', () => { $('#patrol-form').hidden = true; });
$('#patrol-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const at = state.here || map.getCenter().toArray();
  try {
    const j = await api('/api/v1/reports', { method: 'POST', body: {
      category: $('#patrol-category').value, lon: at[0], lat: at[1], kind: 'incident', channel: 'patrol',
      description: $('#patrol-description').value.trim() || undefined,
    } });
    $('#patrol-form').hidden = true;
    $('#patrol-description').value = '';
    $('#ostatus').textContent = `${t('filed')} ${j.id}`;
    $('#ostatus').dataset.filed = String(j.id);
  } catch (err) {
    $('#ostatus').textContent = err.message;
  }
});

function applyLanguage() {
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('#lang').textContent = state.lang === 'en' ? '中文' : 'EN';
}
$('#lang').addEventListener('click', () => {
  state.lang = state.lang === 'en' ? 'zh' : 'en';
  localStorage.setItem('mapd.lang', state.lang);
  applyLanguage();
  loadCategories().catch(() => {});
  if (state.token) loadCases().catch(() => {});
});

async function start() {
  const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (frag.get('token')) {
    state.token = frag.get('token');
    sessionStorage.setItem('mapd.officer.token', state.token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (!state.token) { $('#otoken-form').hidden = false; return; }
  $('#otoken-form').hidden = true;
  watchPosition();
  loadCategories().catch(() => {});
  try {
    await loadCases();
  } catch (err) {
    $('#ostatus').textContent = `${t('loadFailed')}: ${err.message}`;
  }
}

$('#otoken-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('#otoken-input').value.trim();
  sessionStorage.setItem('mapd.officer.token', state.token);
  start();
});

map.on('load', () => {
  map.addSource('way', { type: 'geojson', data: wayGeoJSON() });
  map.addLayer({ id: 'way', type: 'line', source: 'way', paint: { 'line-color': '#d9480f', 'line-width': 3, 'line-dasharray': [2, 1] } });
  document.body.dataset.ready = 'true';
});
applyLanguage();
start();
window.officerApp = { state, loadCases, distanceM, wayGeoJSON };
