// /admin: log in with ADMIN_PASSPHRASE (an HttpOnly session cookie the
// script never sees), sync now with live progress, the run history with
// each run's changes, held runs and their forced apply, the rules and the
// plugins.
import { api, el, formatDate, listingPath } from './common.js';

const root = document.getElementById('admin');
const logoutBtn = document.getElementById('logout');
const DIFF_SHOWN = 200;
let timer = null;
let wasRunning = null;
let watching = null;       // the run this page started, until it ends
let lastRuns = [];

const $ = (id) => document.getElementById(id);

async function start() {
  clearTimeout(timer);
  let s;
  try {
    s = (await api('/api/admin/session')).data;
  } catch (e) {
    root.replaceChildren(el('div', { class: 'notice error', role: 'alert' }, el('p', {}, e.message)));
    return;
  }
  if (!s.enabled) {
    logoutBtn.hidden = true;
    root.replaceChildren(el('div', { class: 'notice warn' },
      el('h2', {}, 'Admin is switched off'),
      el('p', {}, 'Set ADMIN_PASSPHRASE in the server’s environment (or its .env file) and restart it.')));
  } else if (!s.admin) {
    loginForm();
  } else {
    dashboard(s);
  }
}

function loginForm(message) {
  logoutBtn.hidden = true;
  const input = el('input', { id: 'passphrase', name: 'passphrase', type: 'password', autocomplete: 'current-password', required: true });
  const error = el('p', { id: 'login-error', class: 'error-text', role: 'alert' }, message || '');
  const button = el('button', { type: 'submit', id: 'login-button' }, 'Log in');
  const form = el('form', { class: 'login', id: 'login-form' },
    el('label', { for: 'passphrase' }, 'Admin passphrase'), input, button, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await api('/api/admin/login', { method: 'POST', body: { passphrase: input.value } });
      input.value = '';
      start();
      return;
    } catch (err) {
      if (err.status === 401) error.textContent = 'Wrong passphrase. Each wrong try makes the next one wait longer.';
      else if (err.status === 429) error.textContent = `Too many wrong tries: wait ${err.retryAfter || 'a few'} seconds, then try again.`;
      else error.textContent = err.message;
      const wait = err.status === 429 ? (err.retryAfter || 1) * 1000 : 1000;
      setTimeout(() => { button.disabled = false; }, wait);
      input.focus();
    }
  });
  root.replaceChildren(el('section', { 'aria-labelledby': 'login-h' }, el('h2', { id: 'login-h' }, 'Log in'), form));
  input.focus();
}

logoutBtn.addEventListener('click', async () => {
  try {
    await api('/api/admin/logout', { method: 'POST', body: {} });
  } catch (e) {
    // The cookie is cleared by the answer; a failure leaves it to expire.
  }
  clearTimeout(timer);
  loginForm('You are logged out.');
});

function section(id, title, ...body) {
  return el('section', { id, 'aria-labelledby': `${id}-h` }, el('h2', { id: `${id}-h` }, title), ...body);
}

function dashboard(s) {
  logoutBtn.hidden = false;
  const syncBtn = el('button', { type: 'button', id: 'sync-now', onclick: () => startSync(false) }, 'Sync now');
  root.replaceChildren(
    el('p', { class: 'muted' }, 'Logged in', s.expires_at ? ` until ${formatDate(s.expires_at)}` : '', '.'),
    section('sync', 'Sync with Discogs',
      el('div', { id: 'sync-state' }, el('p', { class: 'muted' }, 'Loading…')),
      el('p', {}, syncBtn),
      el('p', { id: 'sync-msg', role: 'status', 'aria-live': 'polite' })),
    section('runs', 'Sync history', el('div', { id: 'runs-list' }, el('p', { class: 'muted' }, 'Loading…'))),
    el('section', { id: 'diff', 'aria-labelledby': 'diff-h', hidden: true, tabindex: '-1' },
      el('h2', { id: 'diff-h' }, 'Changes'), el('div', { id: 'diff-body' })),
    section('rules', 'Rules', el('div', { id: 'rules-body' }, el('p', { class: 'muted' }, 'Loading…'))),
    section('plugins', 'Plugins', el('div', { id: 'plugins-body' }, el('p', { class: 'muted' }, 'Loading…'))));
  refresh();
  loadRules();
  loadPlugins();
}

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      clearTimeout(timer);
      loginForm('Your session has ended: please log in again.');
      return undefined;
    }
    throw e;
  }
}

async function startSync(force) {
  const msg = $('sync-msg');
  msg.textContent = force ? 'Applying the held sync…' : 'Starting a sync…';
  try {
    const r = await guarded(() => api('/api/sync', { method: 'POST', body: force ? { force: true } : {} }));
    if (!r) return;
    watching = r.data.run_id;
    msg.textContent = `Sync #${r.data.run_id} started${force ? ' (forced: removals will be applied)' : ''}.`;
  } catch (e) {
    msg.textContent = e.status === 409 ? `Not started: ${e.message}` : `Could not start the sync: ${e.message}`;
  }
  refresh();
}

// "page 2 of 5" -> [2, 5]
function pagesOf(progress) {
  const m = /page (\d+) of (\d+)/.exec(progress || '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

async function refresh() {
  clearTimeout(timer);
  let st;
  try {
    st = await guarded(() => api('/api/sync/status'));
    if (!st) return;
  } catch (e) {
    $('sync-state').replaceChildren(el('p', { class: 'error-text' }, e.message));
    timer = setTimeout(refresh, 5000);
    return;
  }
  const s = st.data;
  renderStatus(s);
  const running = Boolean(s.running);
  const last = s.last_run;
  const ended = !running && last && last.status !== 'running' &&
    (wasRunning || (watching !== null && last.id >= watching));
  if (wasRunning === null || running !== wasRunning || running || ended) await loadRuns();
  if (ended) {
    watching = null;
    $('sync-msg').textContent = `Sync #${last.id} ${last.status}.`;
    if (last.status === 'succeeded') showDiff(last.id, false);
  }
  wasRunning = running;
  $('sync-now').disabled = running;
  timer = setTimeout(refresh, running ? 700 : 5000);
}

function renderStatus(s) {
  const run = s.last_run;
  const parts = [];
  if (s.running && run && run.status === 'running') {
    const pg = pagesOf(run.progress);
    const waiting = /rate limit/.test(run.progress || '');
    parts.push(el('p', { class: 'progress-line', id: 'sync-progress' },
      `Sync #${run.id} is running: `, waiting ? 'waiting for the rate limit' : (run.progress || 'starting')));
    if (pg) parts.push(el('progress', { max: pg[1], value: pg[0], 'aria-label': 'Inventory pages fetched' }));
    parts.push(el('p', { class: 'muted' }, `${run.pages} page${run.pages === 1 ? '' : 's'} fetched, ` +
      `${run.requests} request${run.requests === 1 ? '' : 's'} to Discogs, ${run.retries} retr${run.retries === 1 ? 'y' : 'ies'}.`));
  } else if (s.running) {
    parts.push(el('p', { class: 'progress-line', id: 'sync-progress' }, 'A sync is running…'));
  } else if (run) {
    parts.push(el('p', {}, `Last sync #${run.id}: `, badge(run.status), ` ${formatDate(run.finished_at || run.started_at)}: ` +
      `${run.added} added, ${run.updated} updated, ${run.removed} removed.`));
    if (run.error) parts.push(el('p', { class: run.status === 'held' ? '' : 'error-text' }, run.error));
  } else {
    parts.push(el('p', {}, 'No sync has run yet.'));
  }
  parts.push(el('p', { class: 'muted' }, s.next_run_at ? `Next automatic sync: ${formatDate(s.next_run_at)}.` : 'No automatic sync is scheduled.'));
  const en = s.enrichment;
  if (en) parts.push(el('p', { class: 'muted' }, `Release details (genres, styles, country): ${en.pending} pending, ${en.done} done, ${en.failed} failed.`));
  $('sync-state').replaceChildren(...parts);
}

function badge(status) {
  return el('span', { class: `badge ${status}` }, status);
}

async function loadRuns() {
  let r;
  try {
    r = await guarded(() => api('/api/sync/runs?limit=20'));
    if (!r) return;
  } catch (e) {
    $('runs-list').replaceChildren(el('p', { class: 'error-text' }, e.message));
    return;
  }
  lastRuns = r.data;
  if (lastRuns.length === 0) {
    $('runs-list').replaceChildren(el('p', {}, 'No runs yet.'));
    return;
  }
  const newest = lastRuns[0].id;
  const rows = lastRuns.map((run) => el('tr', { 'data-run': run.id },
    el('td', {}, `#${run.id}`),
    el('td', {}, badge(run.status), run.forced ? ' (forced)' : ''),
    el('td', {}, formatDate(run.started_at)),
    el('td', { class: 'num' }, String(run.added)),
    el('td', { class: 'num' }, String(run.updated)),
    el('td', { class: 'num' }, String(run.removed)),
    el('td', {}, run.trigger || ''),
    el('td', {},
      run.status === 'running' ? '' : el('button', {
        type: 'button', class: 'secondary', 'data-diff': run.id, onclick: () => showDiff(run.id, true),
      }, 'Changes', el('span', { class: 'visually-hidden' }, ` of run ${run.id}`)),
      run.status === 'held' && run.id === newest ? [' ', el('button', {
        type: 'button', class: 'danger', id: 'force-apply', onclick: () => startSync(true),
      }, 'Apply anyway')] : null,
      run.error && run.status !== 'held' ? el('div', { class: 'error-text' }, run.error) : null)));
  $('runs-list').replaceChildren(el('div', {}, el('table', { class: 'runs' },
    el('caption', { class: 'visually-hidden' }, 'The last sync runs, newest first'),
    el('thead', {}, el('tr', {}, ['Run', 'Status', 'Started', 'Added', 'Updated', 'Removed', 'Trigger', 'Actions']
      .map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows)),
  lastRuns.some((x) => x.status === 'held' && x.id === newest) ? el('p', { class: 'muted' },
    'The last sync was held: it would have removed more listings than SYNC_MAX_REMOVE_FRACTION allows, so nothing was changed. ' +
    '“Apply anyway” runs it again and applies the removals.') : null));
}

function show(v) {
  if (v === null || v === undefined || v === '') return '(empty)';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

async function showDiff(id, focus) {
  const box = $('diff');
  const body = $('diff-body');
  box.hidden = false;
  $('diff-h').textContent = `Changes in sync #${id}`;
  body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  let run;
  try {
    run = await guarded(() => api(`/api/sync/runs/${id}`));
    if (!run) return;
  } catch (e) {
    body.replaceChildren(el('p', { class: 'error-text' }, e.message));
    return;
  }
  const changes = Array.isArray(run.data.changes) ? run.data.changes : [];
  const kinds = { added: [], updated: [], removed: [] };
  for (const c of changes) if (kinds[c.kind]) kinds[c.kind].push(c);
  const link = (c) => el('a', { href: listingPath(c.listing_id) }, `Listing ${c.listing_id}`);
  const more = (n) => (n > DIFF_SHOWN ? el('p', { class: 'muted' }, `… and ${n - DIFF_SHOWN} more.`) : null);
  const parts = [el('p', {}, badge(run.data.status), ` ${kinds.added.length} added, ${kinds.updated.length} updated, ${kinds.removed.length} removed.`)];
  if (run.data.status === 'held') parts.push(el('p', {}, 'Held runs change nothing, so they have no changes to show.'));
  if (kinds.added.length) {
    parts.push(el('h3', {}, `Added (${kinds.added.length})`),
      el('ul', { class: 'added' }, kinds.added.slice(0, DIFF_SHOWN).map((c) => el('li', {}, link(c)))), more(kinds.added.length));
  }
  if (kinds.updated.length) {
    parts.push(el('h3', {}, `Updated (${kinds.updated.length})`));
    for (const c of kinds.updated.slice(0, DIFF_SHOWN)) {
      const fields = c.fields && typeof c.fields === 'object' ? Object.entries(c.fields) : [];
      parts.push(el('div', { class: 'updated', 'data-listing': c.listing_id }, link(c),
        el('table', {},
          el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Field'), el('th', { scope: 'col' }, 'Old'), el('th', { scope: 'col' }, 'New'))),
          el('tbody', {}, fields.map(([name, v]) => el('tr', { 'data-field': name },
            el('th', { scope: 'row' }, name),
            el('td', { class: 'old' }, show(v && v.old)),
            el('td', { class: 'new' }, el('span', { class: 'visually-hidden' }, 'becomes '), show(v && v.new))))))));
    }
    parts.push(more(kinds.updated.length));
  }
  if (kinds.removed.length) {
    parts.push(el('h3', {}, `Removed (${kinds.removed.length})`),
      el('ul', { class: 'removed' }, kinds.removed.slice(0, DIFF_SHOWN).map((c) => el('li', {}, link(c)))), more(kinds.removed.length));
  }
  body.replaceChildren(el('div', { class: 'diff' }, parts));
  if (focus) box.focus();
}

async function loadRules() {
  const box = $('rules-body');
  let r;
  try {
    r = await api('/api/rules');
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error-text' }, e.message));
    return;
  }
  const scripts = Object.entries(r.data.scripts || {});
  box.replaceChildren(
    el('p', {}, `Folder ${r.data.scripts_dir}. `, r.data.has_errors ? el('strong', { class: 'error-text' }, 'Some rules have errors: the last good version stays in force.') : 'All rules are loaded.'),
    el('table', { class: 'runs', id: 'rules-table' },
      el('thead', {}, el('tr', {}, ['File', 'Function', 'State', 'Version', 'Last error'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, scripts.map(([name, s]) => el('tr', { 'data-script': name },
        el('td', { class: 'mono' }, s.file || name),
        el('td', { class: 'mono' }, s.function || ''),
        el('td', {}, badge(s.state)),
        el('td', { class: 'mono' }, s.version || ''),
        el('td', {}, s.error ? el('span', { class: 'mono error-text' }, s.error) : (s.last_call_error ? el('span', { class: 'mono' }, `last call: ${s.last_call_error}`) : '—')))))));
}

async function loadPlugins() {
  const box = $('plugins-body');
  let r;
  try {
    r = await guarded(() => api('/api/plugins'));
    if (!r) return;
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error-text' }, e.message));
    return;
  }
  const list = r.data.plugins || [];
  box.replaceChildren(
    el('p', { class: 'muted' }, `Plugin ABI ${r.data.host_abi}.`, r.data.conf_error ? ` ${r.data.conf_error}` : ''),
    list.length === 0 ? el('p', {}, 'No plugins are configured.') : el('ul', { id: 'plugins-list' }, list.map((p) => el('li', { 'data-plugin': p.name },
      el('strong', {}, p.name), ' ', badge(p.state), ' ',
      (p.routes || []).map((rt) => el('code', {}, `${rt.methods} ${rt.path}`)).flatMap((c, i) => (i ? [', ', c] : [c])),
      p.reason ? el('div', { class: 'error-text' }, p.reason) : null))));
}

start();
