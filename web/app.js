// mapd web map: the city's facilities, reports and districts on MapLibre GL,
// a report form, a "what's near me" panel and, at /?view=centre, the command
// centre's live list. Everything comes from this server: the style
// (/styles/mapd.json), tiles, glyphs, MapLibre itself and the JSON API.
// User-provided text is only ever inserted with textContent.
import { Map as MapLibreMap, Marker, NavigationControl, Popup, ScaleControl } from './vendor/maplibre-gl.mjs';
import { CENTRE_T, actionForm, centreActions } from './centre.js';

const STYLE_URL = '/styles/mapd.json';
const HOME = { center: [116.397, 39.909], zoom: 11 };
const CLUSTER_LAYERS = ['facilities-cluster', 'reports-cluster'];
const POINT_LAYERS = ['facilities-point', 'reports-point', 'reports-point-closed'];
const LAYER_GROUPS = {
  districts: ['districts-fill', 'districts-line', 'districts-label'],
  grids: ['grids-line'],
  facilities: ['facilities-cluster', 'facilities-point'],
  reports: ['reports-cluster', 'reports-point', 'reports-point-closed'],
};
const OPEN_STATUSES = ['reported', 'filed', 'dispatched', 'in_progress', 'handled', 'parked'];

// code -> [name_zh, name_en], from /api/v1/facility-categories (the city's
// facility_categories table: a category added there shows here with its name,
// and in the style with its colour, without touching this file).
const FACILITY_CATEGORIES = {};

const T = {
  zh: {
    title: '城管地图', layers: '图层', report: '上报问题', nearby: '附近设施', live: '实时上报',
    centre: '指挥中心', facilities: '便民设施', reports: '问题上报', districts: '行政区', grids: '单元网格',
    clusterHint: '圆圈中的数字是聚合的点数，点击可放大。黑色描边表示超期案件。',
    reportTitle: '上报城市管理问题', category: '问题类别', pinHint: '拖动地图上的图钉，或点击地图选择问题位置。',
    useLocation: '使用我的位置', description: '问题描述', address: '地址（可选）', submit: '提交',
    submitting: '提交中…', submitted: '已提交，编号', followToken: '查询凭证', duplicates: '附近已有同类问题：',
    noDuplicates: '附近没有同类未结案问题。', chooseCategory: '请选择问题类别', nearbyTitle: '我附近的设施',
    fromCentre: '从地图中心查找', fromHere: '从我的位置查找', liveTitle: '实时上报', tokenPrompt: '指挥中心令牌',
    signIn: '进入', overdueOnly: '只看超期', connected: '已连接', connecting: '连接中…', disconnected: '连接中断，重试中',
    overdue: '超期', accept: '立案', reject: '不予立案', dispatch: '派遣', status: '状态', time: '时间',
    kind: '类型', history: '处理记录', addressL: '地址', phone: '电话', hours: '营业时间', district: '区',
    deadline: '处置时限', facilityCategory: '类别', noResults: '没有结果', locating: '定位中…', locationFailed: '无法获取位置，使用地图中心。',
    categoriesFailed: '无法加载问题类别', meters: '米', km: '公里', at: '位置',
    corrections: '地图纠错', missingTitle: '地图上缺少的设施', facilityName: '设施名称',
    hoursOptional: '营业时间（可选）', nameRequired: '请填写设施名称',
    meToo: '我也遇到', supported: '已支持', supporters: '支持人数', bySupporters: '按支持人数排序',
    photo: '照片（可选）', photoSent: '照片已上传，审核通过后公开',
  },
  en: {
    title: 'City map', layers: 'Layers', report: 'Report a problem', nearby: 'Near me', live: 'Live',
    centre: 'Command centre', facilities: 'Facilities', reports: 'Reports', districts: 'Districts', grids: 'Grid cells',
    clusterHint: 'Numbers are clustered points; click to zoom in. A black ring marks an overdue case.',
    reportTitle: 'Report a city problem', category: 'Category', pinHint: 'Drag the pin on the map, or click the map, to place the problem.',
    useLocation: 'Use my location', description: 'Description', address: 'Address (optional)', submit: 'Submit',
    submitting: 'Submitting…', submitted: 'Submitted, report number', followToken: 'Follow-up token',
    duplicates: 'Open reports of the same kind nearby:', noDuplicates: 'No open report of this kind nearby.',
    chooseCategory: 'Choose a category', nearbyTitle: "What's near me", fromCentre: 'Searching from the map centre',
    fromHere: 'Searching from your location', liveTitle: 'Incoming reports', tokenPrompt: 'Command centre token',
    signIn: 'Sign in', overdueOnly: 'Overdue only', connected: 'Live', connecting: 'Connecting…',
    disconnected: 'Disconnected, retrying', overdue: 'overdue', accept: 'Accept', reject: 'Reject',
    dispatch: 'Dispatch', status: 'Status', time: 'Time', kind: 'Kind', history: 'History', addressL: 'Address',
    phone: 'Phone', hours: 'Hours', facilityCategory: 'Type', district: 'District', deadline: 'Deadline', noResults: 'Nothing found',
    locating: 'Locating…', locationFailed: 'No location; using the map centre.',
    categoriesFailed: 'Could not load the categories', meters: 'm', km: 'km', at: 'At',
    corrections: 'Map corrections', missingTitle: 'The facility missing from the map', facilityName: 'Name',
    meToo: 'Me too', supported: 'Supported', supporters: 'Supporters', bySupporters: 'Most supported first',
    photo: 'Photo (optional)', photoSent: 'Photo uploaded; shown once the centre accepts the report',
    hoursOptional: 'Opening hours (optional)', nameRequired: 'Give the facility a name',
  },
};

const STATUS = {
  reported: ['上报', 'Reported'], filed: ['立案', 'Filed'], dispatched: ['派遣', 'Dispatched'],
  in_progress: ['处置中', 'In progress'], handled: ['已反馈', 'Handled'], closed: ['结案', 'Closed'],
  rejected: ['不予立案', 'Rejected'], parked: ['挂账', 'Parked'],
  open: ['营业', 'Open'], unverified: ['待核实', 'Unverified'],
};
const KIND = { problem: ['群众上报', 'Problem'], incident: ['巡查发现', 'Patrol incident'], correction: ['地图纠错', 'Map correction'] };

const params = new URLSearchParams(location.search);
const state = {
  lang: ['zh', 'en'].find((l) => l === (params.get('lang') || localStorage.getItem('mapd.lang'))) || 'zh',
  centre: params.get('view') === 'centre',
  token: sessionStorage.getItem('mapd.token') || '',
  panel: null,
  pin: null,
  pinMarker: null,
  here: null,
  categories: null, // [{code, group, group_zh, group_en, name_zh, name_en, kind}]
  live: new Map(), // report id -> list item
  liveAbort: null,
};

// ---- small helpers ---------------------------------------------------------

const $ = (sel) => document.querySelector(sel);
const t = (key) => T[state.lang][key] ?? T.zh[key] ?? key;
const pick = (pair) => (pair ? pair[state.lang === 'en' ? 1 : 0] : '');

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace el's children; arrays are flattened, null/undefined/false skipped.
function setChildren(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

// The consistency token of this browser's newest write (the change number
// in a 201's Mapd-Consistency header): sent with every tile request, so a
// node that reads tiles from a replica waits for the replica to have the
// write, or reads the primary (docs/scaling.md). Kept per page.
let consistency = 0;
function noteConsistency(res) {
  const v = Number(res.headers.get('Mapd-Consistency'));
  if (Number.isSafeInteger(v) && v > consistency) consistency = v;
}

async function api(path, { method = 'GET', body, auth = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  // A FormData body is sent as multipart/form-data (the browser sets the boundary).
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
  noteConsistency(res);
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new Error(json?.error?.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return json;
}

// "Me too" is once per device: a random token this browser keeps (only its
// SHA-256 is stored by the server, docs/reports.md).
function deviceToken() {
  let d = localStorage.getItem('mapd.device');
  if (!d || d.length < 16) {
    const raw = crypto.getRandomValues(new Uint8Array(16));
    d = Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem('mapd.device', d);
  }
  return d;
}

// A "me too" button for open report `id` with `count` supporters so far.
function supportButton(id, count) {
  const label = (n, done) => `${t(done ? 'supported' : 'meToo')} (${n})`;
  const btn = h('button', { type: 'button', class: 'support', 'data-support': id }, label(count || 0, false));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const r = await api(`/api/v1/reports/${id}/supporters`, { method: 'POST', body: { device: deviceToken() } });
      btn.textContent = label(r.supporters, true);
    } catch (err) {
      btn.textContent = err.status === 409 ? t('supported') : err.message;
    }
  });
  return btn;
}

function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(state.lang === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

function fmtDistance(m) {
  return m < 1000 ? `${Math.round(m)} ${t('meters')}` : `${(m / 1000).toFixed(m < 10000 ? 2 : 1)} ${t('km')}`;
}

function categoryName(code) {
  const c = state.categories?.find((x) => x.code === code);
  if (!c) return code || '';
  return state.lang === 'en' ? `${c.name_en} (${c.name_zh})` : `${c.name_zh} ${c.name_en}`;
}

// ---- the map ----------------------------------------------------------------

const map = new MapLibreMap({
  container: 'map',
  style: STYLE_URL,
  center: HOME.center,
  zoom: HOME.zoom,
  maxZoom: 20,
  hash: 'map',
  localIdeographFontFamily: false, // CJK glyphs come from /fonts like every other glyph
  attributionControl: { compact: true },
  transformRequest: (url, kind) => (kind === 'Tile' && consistency && url.includes('/tiles/')
    ? { url, headers: { 'Mapd-Consistency': String(consistency) } } : { url }),
});
window.map = map;
map.addControl(new NavigationControl({ visualizePitch: false }), 'top-right');
map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');

// The [value, output] pairs of a style layer's `match` expression (paint or layout).
function styleMatchPairs(layer, prop, layout = false) {
  const expr = layout ? map.getLayoutProperty(layer, prop) : map.getPaintProperty(layer, prop);
  const pairs = [];
  if (Array.isArray(expr) && expr[0] === 'match') {
    for (let i = 2; i + 1 < expr.length; i += 2) pairs.push([expr[i], expr[i + 1]]);
  }
  return pairs;
}

// One SDF icon of the map's sprite drawn as the map draws it: `color` inside
// the edge (191/255), `halo` (a colour and a width in CSS px) around it.
function iconCanvas(name, color, halo = null) {
  const img = map.getImage(name);
  const c = h('canvas', { class: 'legend-icon', 'aria-hidden': 'true' });
  if (!img?.data) return c;
  const { width, height, data } = img.data;
  const ratio = img.pixelRatio || 1;
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d');
  const out = ctx.createImageData(width, height);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const fill = rgb(color);
  const ring = halo ? rgb(halo.color) : null;
  const haloEdge = halo ? 191 - (255 / 8) * halo.width * ratio : 256; // the SDF falls 255/8 per sprite px
  for (let i = 0; i < width * height; i++) {
    const a = data[i * 4 + 3];
    const inside = Math.min(1, Math.max(0, (a - 185) / 12));
    const around = ring ? Math.min(1, Math.max(0, (a - haloEdge + 6) / 12)) : 0;
    const col = inside >= 0.5 || !ring ? fill : ring;
    out.data.set([...col, Math.round(255 * Math.max(inside, around))], i * 4);
  }
  ctx.putImageData(out, 0, 0);
  return c;
}

// The legend is read from the style: each category's icon and colour, each
// status's shape and colour, and the overdue halo, exactly as drawn.
function buildLegend() {
  const fac = $('#legend-facilities');
  setChildren(fac, ...styleMatchPairs('facilities-point', 'icon-color').map(([code, color]) => {
    const icon = map.hasImage(`facility-${code}`) ? `facility-${code}` : 'facility-default';
    return h('li', { 'data-code': code, 'data-icon': icon }, iconCanvas(icon, color, { color: '#ffffff', width: 1 }),
      pick(FACILITY_CATEGORIES[code]) || code);
  }));
  const rep = $('#legend-reports');
  const colours = Object.fromEntries(styleMatchPairs('reports-point', 'icon-color'));
  const items = styleMatchPairs('reports-point', 'icon-image', true).map(([code, icon]) =>
    h('li', { 'data-code': code, 'data-icon': icon }, iconCanvas(icon, colours[code] || '#000000'), pick(STATUS[code]) || code));
  items.push(h('li', { 'data-code': 'overdue', 'data-icon': 'shape-circle' },
    iconCanvas('shape-circle', colours.reported || '#000000', { color: '#000000', width: 2.5 }), t('overdue')));
  setChildren(rep, ...items);
}

function buildToggles() {
  const box = $('#toggles');
  setChildren(box, ...Object.entries(LAYER_GROUPS).map(([group, layers]) => {
    const visible = layers.some((l) => map.getLayer(l) && map.getLayoutProperty(l, 'visibility') !== 'none');
    const input = h('input', { type: 'checkbox', 'data-group': group, checked: visible });
    input.addEventListener('change', () => {
      for (const l of layers) if (map.getLayer(l)) map.setLayoutProperty(l, 'visibility', input.checked ? 'visible' : 'none');
    });
    return h('label', {}, input, t(group));
  }));
}

function applyLabelLanguage() {
  if (!map.getLayer('districts-label')) return;
  map.setLayoutProperty('districts-label', 'text-field',
    state.lang === 'en' ? ['coalesce', ['get', 'name_en'], ['get', 'name']] : ['get', 'name']);
}

// Reload every tile of the source with the data version the server has now
// (the TileJSON's tile URL carries it), so a change is on the map at once.
async function refreshTiles() {
  const src = map.getSource('mapd');
  if (!src) return;
  const url = map.getStyle().sources.mapd.url;
  const tj = await fetch(url, { cache: 'no-store' }).then((r) => r.json());
  src.setTiles(tj.tiles);
}

function flash(lngLat, ms = 15000) {
  const m = new Marker({ element: h('div', { class: 'flash-at' }, h('div', { class: 'flash' })) })
    .setLngLat(lngLat).addTo(map);
  setTimeout(() => m.remove(), ms);
}

// ---- clicks: clusters zoom in, features show their public fields ---------------

function interactiveLayers() {
  return [...CLUSTER_LAYERS, ...POINT_LAYERS].filter((l) => map.getLayer(l));
}

function featuresAt(point) {
  const r = 5;
  return map.queryRenderedFeatures([[point.x - r, point.y - r], [point.x + r, point.y + r]], { layers: interactiveLayers() });
}

map.on('mousemove', (e) => {
  if (!map.loaded() && !map.isStyleLoaded()) return;
  map.getCanvas().style.cursor = state.panel === 'report' || featuresAt(e.point).length ? 'pointer' : '';
});

map.on('click', (e) => {
  if (state.panel === 'report') {
    setPin(e.lngLat);
    return;
  }
  const f = featuresAt(e.point)[0];
  if (!f) return;
  if (f.properties.cluster) {
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, 20) });
  } else if (f.sourceLayer === 'facilities') {
    showFacility(f.id, f.properties, f.geometry.coordinates);
  } else if (f.sourceLayer === 'reports') {
    showReport(f.id, f.properties, f.geometry.coordinates);
  }
});

let popup = null;
function openPopup(lngLat, content) {
  popup?.remove();
  popup = new Popup({ maxWidth: '300px', focusAfterOpen: false }).setLngLat(lngLat).setDOMContent(content).addTo(map);
  return popup;
}

function fields(rows) {
  return h('dl', {}, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function showFacility(id, props, coords) {
  const box = h('div', { class: 'popup', 'data-facility-id': id });
  const render = (p) => setChildren(box,
    h('h4', {}, p.name || ''),
    fields([
      [t('facilityCategory'), pick(FACILITY_CATEGORIES[p.category]) || p.category],
      [t('status'), pick(STATUS[p.status]) || p.status],
      [t('addressL'), p.address],
      [t('phone'), p.phone],
      [t('hours'), p.opening_hours],
    ]));
  render(props);
  const pp = openPopup(coords, box);
  // The tile has name/category/status; the OGC item adds address, phone, hours.
  fetch(`/ogc/collections/facilities/items/${encodeURIComponent(id)}`, { headers: { Accept: 'application/geo+json' } })
    .then((r) => (r.ok ? r.json() : null))
    .then((j) => {
      if (!j?.properties) return;
      render({ ...props, ...j.properties });
      if (pp.isOpen()) pp.setDOMContent(box);
    })
    .catch(() => {});
}

function showReport(id, props, coords) {
  const box = h('div', { class: 'popup', 'data-report-id': id });
  const render = (r, history) => setChildren(box, [
    h('h4', {}, `#${id} ${categoryName(r.category || r.service_code)}`),
    fields([
      [t('status'), `${pick(STATUS[r.status]) || r.status}${r.overdue ? ` · ${t('overdue')}` : ''}`],
      [t('kind'), pick(KIND[r.kind]) || r.kind],
      [t('time'), fmtTime(r.created_at)],
      [t('deadline'), fmtTime(r.expected_at)],
      [t('description'), r.description],
      [t('supporters'), r.supporters],
    ]),
    r.photos?.length ? h('div', { class: 'photos' }, r.photos.map((p) =>
      h('a', { href: p.url, target: '_blank', rel: 'noopener' }, h('img', { src: p.thumb_url, alt: '', loading: 'lazy', width: 96 })))) : null,
    r.status && r.status !== 'closed' && r.status !== 'rejected'
      ? h('div', { class: 'support-row' }, supportButton(id, r.supporters)) : null,
    history?.length ? [h('strong', {}, t('history')), h('ol', {}, history.map((s) =>
      h('li', {}, `${fmtTime(s.at)} ${pick(STATUS[s.to]) || s.to}${s.note ? ` — ${s.note}` : ''}`)))] : null,
  ]);
  render(props, null);
  const pp = openPopup(coords, box);
  Promise.all([api(`/api/v1/reports/${id}`), api(`/api/v1/reports/${id}/history`).catch(() => null)])
    .then(([r, hist]) => {
      render({ ...props, ...r }, hist?.history || []);
      if (pp.isOpen()) pp.setDOMContent(box); // re-anchor for the new size
    })
    .catch(() => {});
}

// ---- panels -------------------------------------------------------------------

// Show panel `name` (null closes); `toggle`: a second press closes it.
function openPanel(name, toggle = false) {
  state.panel = toggle && state.panel === name ? null : name;
  $('#panel').hidden = !state.panel;
  for (const sec of document.querySelectorAll('.panel-body')) sec.hidden = sec.id !== `panel-${state.panel}`;
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.panel === state.panel));
  padForPanel();
  if (state.panel === 'report') startReport();
  else if (state.pinMarker) { state.pinMarker.remove(); state.pinMarker = null; }
  if (state.panel === 'nearby') loadNearby();
}

// Keep the map's centre in the part the panel does not cover (so the report
// pin and "near me" searches start where the user looks).
function padForPanel() {
  const panel = $('#panel');
  const phone = window.matchMedia('(max-width: 700px)').matches;
  const pad = { top: 0, bottom: 0, left: 0, right: 0 };
  if (state.panel && phone) pad.bottom = panel.offsetHeight;
  else if (state.panel) pad.left = panel.offsetWidth + 10;
  map.setPadding(pad);
}
window.addEventListener('resize', () => padForPanel());

function applyLanguage() {
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
  document.title = `${t('title')} · mapd`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('#lang').textContent = state.lang === 'en' ? '中文' : 'EN';
  if (map.isStyleLoaded()) { buildLegend(); buildToggles(); applyLabelLanguage(); }
  fillCategorySelect();
  fillNearbySelect();
  updatePinText();
  for (const [, item] of state.live) item.render();
}

$('#lang').addEventListener('click', () => {
  state.lang = state.lang === 'en' ? 'zh' : 'en';
  localStorage.setItem('mapd.lang', state.lang);
  applyLanguage();
});
for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => openPanel(b.dataset.panel, true));
$('#panel-close').addEventListener('click', () => openPanel(null));

// ---- report a problem -----------------------------------------------------------

async function loadCategories() {
  if (state.categories) return state.categories;
  const j = await api('/api/v1/categories');
  state.categories = j.categories;
  return state.categories;
}

function fillCategorySelect() {
  const sel = $('#report-category');
  const keep = sel.value;
  if (!state.categories) return;
  const groups = new Map();
  for (const c of state.categories.filter((x) => x.kind === 'problem')) {
    if (!groups.has(c.group)) groups.set(c.group, { c, items: [] });
    groups.get(c.group).items.push(c);
  }
  const option = (x) => h('option', { value: x.code },
    state.lang === 'en' ? `${x.name_en} · ${x.name_zh}` : `${x.name_zh} · ${x.name_en}`);
  // A facility missing from the map (900004) is reported by place too; the
  // other map corrections start from a facility's popup.
  const missing = state.categories.filter((x) => x.code === MISSING_FACILITY);
  setChildren(sel, h('option', { value: '' }, t('chooseCategory')),
    ...[...groups.values()].map(({ c, items }) => h('optgroup', {
      label: state.lang === 'en' ? `${c.group_en} ${c.group_zh}` : `${c.group_zh} ${c.group_en}`,
    }, items.map(option))),
    missing.length ? h('optgroup', { label: t('corrections') }, missing.map(option)) : null);
  sel.value = keep;
  showFacilityFields();
}

const MISSING_FACILITY = '900004';

// One <option> per facility category, names in the page's language.
function facilityOptions() {
  return Object.entries(FACILITY_CATEGORIES).map(([code, names]) => h('option', { value: code }, pick(names)));
}

function showFacilityFields() {
  $('#report-facility').hidden = $('#report-category').value !== MISSING_FACILITY;
  const sel = $('#report-fac-category');
  const keep = sel.value;
  setChildren(sel, facilityOptions());
  if (keep) sel.value = keep;
}
$('#report-category').addEventListener('change', showFacilityFields);

const PIN_SVG = '<svg viewBox="0 0 28 36" aria-hidden="true"><path d="M14 1C6.8 1 1 6.6 1 13.6 1 23 14 35 14 35s13-12 13-21.4C27 6.6 21.2 1 14 1z" fill="#d9480f" stroke="#fff" stroke-width="2"/><circle cx="14" cy="13.5" r="4.5" fill="#fff"/></svg>';

function setPin(lngLat) {
  state.pin = { lng: lngLat.lng, lat: lngLat.lat };
  if (!state.pinMarker) {
    const el = h('div', { class: 'pin', title: 'drag' });
    el.innerHTML = PIN_SVG; // constant markup, no user data
    state.pinMarker = new Marker({ element: el, draggable: true, anchor: 'bottom' }).setLngLat(lngLat).addTo(map);
    state.pinMarker.on('dragend', () => {
      const p = state.pinMarker.getLngLat();
      state.pin = { lng: p.lng, lat: p.lat };
      updatePinText();
    });
  } else {
    state.pinMarker.setLngLat(lngLat);
  }
  updatePinText();
}

function updatePinText() {
  const p = state.pin;
  $('#report-where').textContent = p ? `${t('at')} ${p.lng.toFixed(5)}, ${p.lat.toFixed(5)}` : '';
}

function startReport() {
  setPin(state.pin || map.getCenter());
  loadCategories().then(fillCategorySelect).catch((e) => showResult(`${t('categoriesFailed')}: ${e.message}`, true));
}

function showResult(content, isError = false) {
  const box = $('#report-result');
  box.hidden = false;
  box.classList.toggle('error', isError);
  setChildren(box, ...[content].flat());
}

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ lng: pos.coords.longitude, lat: pos.coords.latitude }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
}

$('#report-locate').addEventListener('click', async () => {
  $('#report-where').textContent = t('locating');
  const here = await locate();
  if (!here) { updatePinText(); return; }
  state.here = here;
  setPin(here);
  map.flyTo({ center: [here.lng, here.lat], zoom: Math.max(map.getZoom(), 16) });
});

$('#report-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const category = $('#report-category').value;
  if (!category) { showResult(t('chooseCategory'), true); return; }
  if (!state.pin) return;
  const body = { category, lon: +state.pin.lng.toFixed(7), lat: +state.pin.lat.toFixed(7), channel: 'web' };
  if (category === MISSING_FACILITY) {
    const name = $('#report-fac-name').value.trim();
    if (!name) { showResult(t('nameRequired'), true); return; }
    body.proposed_change = { name, category: $('#report-fac-category').value };
    const hours = $('#report-fac-hours').value.trim();
    if (hours) body.proposed_change.opening_hours = hours;
  }
  const description = $('#report-description').value.trim();
  const address = $('#report-address').value.trim();
  if (description) body.description = description;
  if (address) body.address = address;
  const btn = $('#report-submit');
  btn.disabled = true;
  btn.textContent = t('submitting');
  try {
    const r = await api('/api/v1/reports', { method: 'POST', body: withPhoto(body) });
    const dups = r.duplicates || [];
    showResult([
      h('div', { 'data-report-id': r.id }, h('strong', {}, `${t('submitted')} #${r.id}`)),
      r.token ? h('div', { class: 'mono' }, `${t('followToken')}: ${r.token}`) : null,
      h('div', {}, dups.length ? t('duplicates') : t('noDuplicates')),
      dups.length ? h('ul', { class: 'duplicates' }, dups.map((d) => h('li', { 'data-id': d.id },
        `#${d.id} ${categoryName(d.category || category)} · ${pick(STATUS[d.status]) || d.status}` +
        `${d.distance_m !== undefined ? ` · ${fmtDistance(d.distance_m)}` : ''} `,
        supportButton(d.id, d.supporters)))) : null,
    ]);
    $('#report-description').value = '';
    $('#report-fac-name').value = '';
    $('#report-fac-hours').value = '';
    if (r.photos?.length) {
      $('#report-result').append(h('div', { class: 'photo-note', 'data-photo-id': r.photos[0].id }, t('photoSent')));
      clearPhoto();
    }
    flash([body.lon, body.lat], 5000);
    await refreshTiles();
  } catch (err) {
    showResult(err.message, true);
  } finally {
    btn.disabled = false;
    btn.textContent = t('submit');
  }
});

// The photo chosen in the form (or taken with the phone's camera) goes with
// the create in one multipart request (a part "report" with the JSON, a
// part "photo"): the report and its photo are stored together or not at
// all. The server strips its metadata and shows it once the centre accepts
// the report.
function withPhoto(body) {
  const file = $('#report-photo').files?.[0];
  if (!file) return body;
  const form = new FormData();
  form.append('report', JSON.stringify(body));
  form.append('photo', file, file.name || 'photo.jpg');
  return form;
}

let photoPreviewUrl = null;
function clearPhoto() {
  $('#report-photo').value = '';
  showPhotoPreview();
}

// A small preview of the chosen photo under the file input.
function showPhotoPreview() {
  const file = $('#report-photo').files?.[0];
  const img = $('#report-photo-preview');
  if (photoPreviewUrl) URL.revokeObjectURL(photoPreviewUrl);
  photoPreviewUrl = file ? URL.createObjectURL(file) : null;
  img.hidden = !file;
  if (file) img.src = photoPreviewUrl;
  else img.removeAttribute('src');
}
$('#report-photo').addEventListener('change', showPhotoPreview);

// ---- what's near me -----------------------------------------------------------------

function fillNearbySelect() {
  const sel = $('#nearby-category');
  const keep = sel.value || 'toilet';
  setChildren(sel, facilityOptions());
  sel.value = keep;
}

let nearbyMarkers = [];
async function loadNearby() {
  const from = state.here || map.getCenter();
  $('#nearby-from').textContent = state.here ? t('fromHere') : t('fromCentre');
  const list = $('#nearby-list');
  const category = $('#nearby-category').value;
  try {
    const j = await api(`/api/v1/nearest?lon=${from.lng.toFixed(6)}&lat=${from.lat.toFixed(6)}` +
      `&category=${encodeURIComponent(category)}&k=10`);
    nearbyMarkers.forEach((m) => m.remove());
    nearbyMarkers = [];
    const feats = j.features || [];
    setChildren(list, ...(feats.length ? feats.map((f) => {
      const p = f.properties;
      const li = h('li', { 'data-id': f.id },
        h('span', { class: 'dist' }, fmtDistance(p.distance_m)),
        h('div', { class: 'name' }, p.name),
        h('div', { class: 'meta' }, [p.address, p.opening_hours].filter(Boolean).join(' · ')));
      li.addEventListener('click', () => {
        map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 16) });
        showFacility(f.id, p, f.geometry.coordinates);
      });
      return li;
    }) : [h('li', {}, t('noResults'))]));
  } catch (err) {
    setChildren(list, h('li', {}, err.message));
  }
}

$('#nearby-category').addEventListener('change', loadNearby);
$('#nearby-locate').addEventListener('click', async () => {
  $('#nearby-from').textContent = t('locating');
  const here = await locate();
  if (here) {
    state.here = here;
    map.flyTo({ center: [here.lng, here.lat], zoom: Math.max(map.getZoom(), 14) });
  } else {
    $('#nearby-from').textContent = t('locationFailed');
  }
  loadNearby();
});

// ---- command centre: live list from the event stream --------------------------------

const centreCtx = {
  h,
  t: (key) => CENTRE_T[state.lang][key] ?? t(key),
  api,
  onDone: (report) => { upsertLive(report, false); refreshTiles().catch(() => {}); },
  onError: (message) => setLiveStatus('error', message),
};

function liveItem(report) {
  const li = h('li', { 'data-id': report.id });
  const item = {
    report,
    el: li,
    render() {
      const r = this.report;
      li.classList.toggle('overdue', !!r.overdue);
      const actions = centreActions(r.status).map((a) => [a, centreCtx.t(a)]);
      setChildren(li,
        h('div', { class: 'name' }, `#${r.id} ${categoryName(r.category)}`, h('span', { class: 'badge-overdue' }, t('overdue'))),
        h('div', { class: 'meta' }, [pick(STATUS[r.status]) || r.status, fmtTime(r.created_at), r.address || r.district,
          r.supporters ? `${t('supporters')} ${r.supporters}` : null].filter(Boolean).join(' · ')),
        r.description ? h('div', { class: 'meta' }, r.description.slice(0, 120)) : null,
        actions.length ? h('div', { class: 'actions' }, actions.map(([action, label]) => h('button', {
          type: 'button', 'data-action': action,
          onclick: (ev) => {
            ev.stopPropagation();
            li.querySelector('.case-form')?.remove();
            li.append(actionForm(r, action, centreCtx));
          },
        }, label))) : null);
    },
  };
  li.addEventListener('click', () => {
    map.flyTo({ center: [report.lon, report.lat], zoom: Math.max(map.getZoom(), 16) });
    showReport(report.id, report, [report.lon, report.lat]);
  });
  item.render();
  return item;
}

function upsertLive(report, fresh) {
  if ($('#live-overdue').checked && !report.overdue) return;
  let item = state.live.get(report.id);
  if (item) {
    item.report = { ...item.report, ...report };
    item.render();
  } else {
    item = liveItem(report);
    state.live.set(report.id, item);
  }
  if (fresh) {
    $('#live-list').prepend(item.el);
    item.el.classList.remove('fresh');
    void item.el.offsetWidth; // restart the animation
    item.el.classList.add('fresh');
  }
}

function setLiveStatus(s, text) {
  const el = $('#live-status');
  el.dataset.state = s;
  el.textContent = text || (s === 'on' ? t('connected') : s === 'error' ? t('disconnected') : t('connecting'));
}

let liveListSeq = 0;
async function loadLiveList() {
  const seq = ++liveListSeq;
  const overdue = $('#live-overdue').checked;
  const bySupporters = $('#live-supporters').checked;
  let q = overdue ? 'overdue=true&limit=100' : `status=${OPEN_STATUSES.join(',')}&limit=50`;
  if (bySupporters) q += '&sort=supporters';
  const j = await api(`/api/v1/reports?${q}`, { auth: true });
  if (seq !== liveListSeq) return; // a newer load (the filter changed) wins
  state.live.clear();
  const reports = (j.reports || []).slice();
  if (!bySupporters) reports.sort((a, b) => b.id - a.id);
  setChildren($('#live-list'));
  for (const r of reports) upsertLive(r, false);
  setChildren($('#live-list'), ...reports.map((r) => state.live.get(r.id)?.el).filter(Boolean));
}

function handleFrame(frame) {
  let type = 'message';
  let data = '';
  let id = null;
  for (const line of frame.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data += (data ? '\n' : '') + value;
    else if (field === 'id') id = value;
  }
  if (!data) return id;
  let payload;
  try { payload = JSON.parse(data); } catch { return id; }
  const report = payload.report;
  if (!report) return id;
  if (type === 'report.created') {
    upsertLive(report, true);
    flash([report.lon, report.lat]);
  } else {
    upsertLive(report, false);
  }
  refreshTiles().catch(() => {});
  return id;
}

async function streamEvents(signal) {
  let lastId = null;
  while (!signal.aborted) {
    setLiveStatus('off');
    try {
      const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${state.token}` };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const res = await fetch('/api/v1/events', { headers, signal, cache: 'no-store' });
      if (!res.ok) throw new Error(`${res.status}`);
      setLiveStatus('on');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, '\n');
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const id = handleFrame(buf.slice(0, cut));
          if (id) lastId = id;
          buf = buf.slice(cut + 2);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    setLiveStatus('error');
    await new Promise((r) => setTimeout(r, 3000));
  }
}

async function startCentre() {
  $('#mode-badge').hidden = false;
  document.querySelector('.tab[data-panel="live"]').hidden = false;
  const frag = new URLSearchParams(location.hash.replace(/^#/, '').replace(/&?map=[^&]*/, ''));
  if (frag.get('token')) {
    state.token = frag.get('token');
    sessionStorage.setItem('mapd.token', state.token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  openPanel('live');
  if (!state.token) {
    $('#token-form').hidden = false;
    return;
  }
  $('#token-form').hidden = true;
  loadCategories().catch(() => {});
  try {
    await loadLiveList();
  } catch (err) {
    setLiveStatus('error', err.message);
  }
  state.liveAbort?.abort();
  state.liveAbort = new AbortController();
  streamEvents(state.liveAbort.signal);
}

$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token-input').value.trim();
  if (!state.token) return;
  sessionStorage.setItem('mapd.token', state.token);
  startCentre();
});
$('#live-overdue').addEventListener('change', () => loadLiveList().catch((err) => setLiveStatus('error', err.message)));
$('#live-supporters').addEventListener('change', () => loadLiveList().catch((err) => setLiveStatus('error', err.message)));

// ---- start ----------------------------------------------------------------------------

async function loadFacilityCategories() {
  const j = await api('/api/v1/facility-categories');
  for (const c of j.facility_categories) FACILITY_CATEGORIES[c.code] = [c.name_zh, c.name_en];
  fillNearbySelect();
  showFacilityFields();
}

const facilityCategoriesLoaded = loadFacilityCategories().catch(() => {});
map.on('load', async () => {
  await facilityCategoriesLoaded;
  // Symbols are placed top layer first: citizens see a facility before a
  // report beside it; the centre sees the report first.
  if (state.centre && map.getLayer('reports-point') && map.getLayer('facilities-point')) {
    map.moveLayer('reports-point', map.getLayer('districts-label') ? 'districts-label' : undefined);
  }
  buildLegend();
  buildToggles();
  applyLabelLanguage();
  document.body.dataset.ready = 'true';
});
applyLanguage();
loadCategories().then(() => applyLanguage()).catch(() => {});
if (state.centre) startCentre();
else if (window.matchMedia('(min-width: 701px)').matches) openPanel('layers');

window.mapdApp = { state, refreshTiles, openPanel, setPin, showReport, showFacility };
