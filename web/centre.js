// The command centre's case actions (/?view=centre): every transition of the
// workflow (store/domain/workflow.c) the centre takes, each with a note; dispatch
// and rework name a unit and, optionally, an officer (GET /api/v1/units);
// merge names the original report. Used by app.js for each live-list item.

// Which centre actions each status allows (mirrors store/domain/workflow.c; the
// server decides: a stale page gets a 409 with its reason).
const CENTRE_ACTIONS = {
  reported: ['accept', 'reject', 'merge', 'park'],
  filed: ['dispatch', 'merge', 'park'],
  dispatched: ['merge', 'park'],
  in_progress: ['merge', 'park'],
  handled: ['verify', 'rework', 'park'],
  parked: ['resume'],
};

export const CENTRE_T = {
  zh: {
    accept: '立案', reject: '不予立案', dispatch: '派遣', verify: '核查结案', rework: '返工', park: '挂账',
    resume: '恢复', merge: '合并', note: '备注', unit: '责任单位', officer: '处置人员（可选）', anyOfficer: '单位内任何人员',
    into: '合并到案件编号', confirm: '确认', cancel: '取消', noUnits: '尚无责任单位（mapd unit add）',
    assigned: '已派遣至',
  },
  en: {
    accept: 'Accept', reject: 'Reject', dispatch: 'Dispatch', verify: 'Verify & close', rework: 'Rework', park: 'Park',
    resume: 'Resume', merge: 'Merge', note: 'Note', unit: 'Unit', officer: 'Officer (optional)', anyOfficer: 'anyone in the unit',
    into: 'Merge into report no.', confirm: 'Confirm', cancel: 'Cancel', noUnits: 'No units yet (mapd unit add)',
    assigned: 'Dispatched to',
  },
};

let unitsPromise = null;

// The units with their officers, fetched once per page (staff token).
export function loadUnits(api) {
  if (!unitsPromise) unitsPromise = api('/api/v1/units', { auth: true }).then((j) => j.units).catch((e) => { unitsPromise = null; throw e; });
  return unitsPromise;
}

export function centreActions(status) {
  return CENTRE_ACTIONS[status] || [];
}

// The form for one action on report r: note, and the action's own fields.
// ctx: { h, t (key -> text), api, onDone(report), onError(message) }.
export function actionForm(r, action, ctx) {
  const { h, t } = ctx;
  const note = h('textarea', { name: 'note', rows: 2, maxlength: 1000, 'aria-label': t('note'), placeholder: t('note') });
  const fields = [note];
  let unitSel = null;
  let officerSel = null;
  let into = null;
  if (action === 'dispatch' || action === 'rework') {
    unitSel = h('select', { name: 'unit', 'aria-label': t('unit'), required: action === 'dispatch' });
    officerSel = h('select', { name: 'officer', 'aria-label': t('officer') });
    const fillOfficers = (units) => {
      const u = units.find((x) => x.code === unitSel.value);
      officerSel.replaceChildren(h('option', { value: '' }, t('anyOfficer')),
        ...(u ? u.officers : []).map((o) => h('option', { value: o.id }, o.name)));
    };
    loadUnits(ctx.api).then((units) => {
      if (!units.length) ctx.onError(t('noUnits'));
      const first = action === 'rework' ? [h('option', { value: '' }, '—')] : [];
      unitSel.replaceChildren(...first, ...units.map((u) => h('option', { value: u.code }, `${u.name} (${u.code})`)));
      unitSel.addEventListener('change', () => fillOfficers(units));
      fillOfficers(units);
    }).catch((e) => ctx.onError(e.message));
    fields.unshift(h('label', {}, t('unit'), unitSel), h('label', {}, t('officer'), officerSel));
  }
  if (action === 'merge') {
    into = h('input', { name: 'into', type: 'number', min: 1, required: true, 'aria-label': t('into') });
    fields.unshift(h('label', {}, t('into'), into));
  }
  const form = h('form', { class: 'case-form', 'data-form': action },
    h('div', { class: 'case-form-title' }, `#${r.id} · ${t(action)}`), ...fields,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-confirm': action }, t('confirm')),
      h('button', { type: 'button', 'data-cancel': '', onclick: () => form.remove() }, t('cancel'))));
  form.addEventListener('click', (ev) => ev.stopPropagation());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { action };
    if (note.value.trim()) body.note = note.value.trim();
    if (unitSel && unitSel.value) body.unit = unitSel.value;
    if (officerSel && officerSel.value) body.officer = Number(officerSel.value);
    if (into) body.into = Number(into.value);
    try {
      const j = await ctx.api(`/api/v1/reports/${r.id}/transitions`, { method: 'POST', body, auth: true });
      form.remove();
      ctx.onDone(j.report);
    } catch (err) {
      ctx.onError(err.message);
    }
  });
  return form;
}
