// The shop page: search as you type, facet filters, sorting and pages.
// The URL holds the whole state (?q=&genre=&style=&format=&condition=
// &year=&price=&label=&sort=&page=), so any view can be shared or
// bookmarked, and Back/Forward work.
import { api, el, cover, money, gradeShort, listingPath } from './common.js';

const PAGE_SIZE = 24;
const STYLE_SCAN = 1000;   // the API's largest page (see styleFallback)
const FILTERS = [
  // [state key, facet key, heading]
  ['genre', 'genres', 'Genre'],
  ['style', 'styles', 'Style'],
  ['format', 'formats', 'Format'],
  ['condition', 'conditions', 'Condition'],
  ['year', 'years', 'Year'],
  ['price', 'price_bands', 'Price'],
  ['label', 'labels', 'Label'],
];
const KEYS = ['q', ...FILTERS.map((f) => f[0]), 'sort', 'page'];
const SHOWN = 8;

const $ = (id) => document.getElementById(id);
const form = $('search-form');
const qInput = $('q');
const sortSelect = $('sort');
const grid = $('grid');
const status = $('status');
const message = $('message');
const pager = $('pager');
const facetsBox = $('facets');
const activeBox = $('active-filters');
let controller = null;
let typing = null;
let shown = null;          // the query string on screen

function readState() {
  const p = new URLSearchParams(location.search);
  const s = {};
  for (const k of KEYS) s[k] = (p.get(k) || '').trim();
  const page = parseInt(s.page, 10);
  s.page = Number.isFinite(page) && page > 0 ? page : 1;
  return s;
}

function stateUrl(s) {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    if (k === 'page' ? s.page > 1 : s[k]) p.set(k, s[k]);
  }
  const qs = p.toString();
  return qs ? `/?${qs}` : '/';
}

function withChange(s, change) {
  return { ...s, page: 1, ...change };
}

// "10-20" -> min_price=10, max_price=19.99 (bands include lo, exclude hi).
function priceParams(band, p) {
  const m = /^(\d+)(?:-(\d+)|\+)$/.exec(band || '');
  if (!m) return;
  p.set('min_price', m[1]);
  if (m[2]) p.set('max_price', (Number(m[2]) - 0.01).toFixed(2));
}

function effectiveSort(s) {
  return s.sort || (s.q ? 'relevance' : '-posted');
}

function apiParams(s, forFacets) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  for (const k of ['genre', 'format', 'condition', 'label', 'year']) {
    if (s[k]) p.set(k, s[k]);
  }
  priceParams(s.price, p);
  if (!forFacets) p.set('sort', effectiveSort(s));
  return p;
}

// /api/search has no style parameter yet: with a style chosen, the
// first STYLE_SCAN matches of the other filters are fetched and
// filtered here, then paged here.
async function fetchResults(s, signal) {
  const p = apiParams(s, false);
  if (!s.style) {
    p.set('limit', PAGE_SIZE);
    p.set('offset', (s.page - 1) * PAGE_SIZE);
    const r = await api(`/api/search?${p}`, { signal });
    return { rows: r.data, total: Number(r.headers.get('X-Total-Count')) || r.data.length };
  }
  p.set('limit', STYLE_SCAN);
  const r = await api(`/api/search?${p}`, { signal });
  const want = s.style.toLowerCase();
  const all = r.data.filter((x) => (x.styles || '').split(',').some((y) => y.trim().toLowerCase() === want));
  const scanned = Number(r.headers.get('X-Total-Count')) || r.data.length;
  const start = (s.page - 1) * PAGE_SIZE;
  return { rows: all.slice(start, start + PAGE_SIZE), total: all.length, partial: scanned > STYLE_SCAN };
}

async function load({ focus = false } = {}) {
  shown = location.search;
  const s = readState();
  qInput.value = s.q;
  sortSelect.value = effectiveSort(s);
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  grid.setAttribute('aria-busy', 'true');
  status.textContent = 'Loading records…';
  const facets = api(`/api/facets?${apiParams(s, true)}`, { signal }).then((r) => r.data, () => null);
  let res;
  try {
    res = await fetchResults(s, signal);
  } catch (e) {
    if (e.name === 'AbortError') return;
    showError(e);
    return;
  }
  renderResults(s, res);
  renderActive(s);
  const f = await facets;
  if (signal.aborted) return;
  renderFacets(s, f);
  grid.removeAttribute('aria-busy');
  if (focus) $('main').focus({ preventScroll: false });
}

function showError(e) {
  grid.replaceChildren();
  pager.replaceChildren();
  grid.removeAttribute('aria-busy');
  status.textContent = '';
  const retry = el('button', { type: 'button', onclick: () => load() }, 'Try again');
  message.replaceChildren(el('div', { class: 'notice error', role: 'alert' },
    el('h3', {}, 'The records could not be loaded'),
    el('p', {}, e.message || 'Something went wrong.'), retry));
}

function renderResults(s, { rows, total, partial }) {
  message.replaceChildren();
  grid.replaceChildren(...rows.map(card));
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (total === 0) {
    status.textContent = 'No records found.';
    const filtered = KEYS.some((k) => k !== 'page' && k !== 'sort' && s[k]);
    message.replaceChildren(el('div', { class: 'notice' },
      el('h3', {}, filtered ? 'No records match' : 'The shop is empty right now'),
      el('p', {}, filtered ? 'Try fewer words or remove a filter.' : 'New records arrive often: come back soon.'),
      filtered ? el('a', { href: '/', 'data-nav': '' }, 'Clear the search and all filters') : null));
  } else {
    const from = (s.page - 1) * PAGE_SIZE + 1;
    const to = Math.min(total, s.page * PAGE_SIZE);
    status.textContent = `${from}–${to} of ${total} record${total === 1 ? '' : 's'}` +
      (s.q ? ` for “${s.q}”` : '') + (partial ? ` (style checked among the first ${STYLE_SCAN} matches)` : '');
  }
  renderPager(s, pages);
}

function card(x) {
  const cond = [gradeShort(x.condition), gradeShort(x.sleeve_condition)].filter(Boolean).join(' / ');
  return el('li', { class: 'card' },
    el('a', { href: listingPath(x.listing_id) },
      cover(x),
      el('span', { class: 'body' },
        el('span', { class: 'artist' }, x.primary_artist || x.artist_names || 'Unknown artist'),
        el('span', { class: 'title' }, x.release_title || 'Untitled'),
        el('span', { class: 'meta' },
          el('span', { class: 'cond', title: 'Media / sleeve condition' }, cond ? `Cond. ${cond}` : ''),
          el('span', { class: 'price' }, money(x.price_value, x.price_currency))))));
}

function renderPager(s, pages) {
  pager.replaceChildren();
  if (pages <= 1) return;
  const link = (page, text, rel) => el('a', { href: stateUrl({ ...s, page }), rel, 'data-nav': '', 'data-focus': '' }, text);
  if (s.page > 1) pager.append(link(s.page - 1, '← Previous', 'prev'));
  const nums = new Set([1, pages, s.page - 1, s.page, s.page + 1].filter((n) => n >= 1 && n <= pages));
  let last = 0;
  for (const n of [...nums].sort((a, b) => a - b)) {
    if (n - last > 1) pager.append(el('span', { 'aria-hidden': 'true' }, '…'));
    pager.append(n === s.page
      ? el('span', { class: 'current', 'aria-current': 'page' }, el('span', { class: 'visually-hidden' }, 'Page '), String(n))
      : link(n, el('span', {}, el('span', { class: 'visually-hidden' }, 'Page '), String(n))));
    last = n;
  }
  if (s.page < pages) pager.append(link(s.page + 1, 'Next →', 'next'));
}

function bandLabel(b) {
  if (b.max === null) return `${b.min} and up`;
  return Number(b.min) === 0 ? `Under ${b.max}` : `${b.min} to ${b.max}`;
}

function facetLink(s, key, value, text, count) {
  const on = s[key] === String(value);
  return el('li', {},
    el('a', { href: stateUrl(withChange(s, { [key]: on ? '' : String(value) })), 'aria-current': on ? 'true' : null, 'data-nav': '' },
      el('span', {}, text, on ? el('span', { class: 'visually-hidden' }, ' (selected, select to remove)') : null),
      el('span', { class: 'count' }, String(count))));
}

function facetList(s, key, entries, label) {
  const list = entries.filter((e) => e.count > 0 || s[key] === String(e.value));
  const selected = list.findIndex((e) => s[key] === String(e.value));
  if (selected >= SHOWN) list.unshift(...list.splice(selected, 1));
  const ul = el('ul', {}, list.slice(0, SHOWN).map((e) => facetLink(s, key, e.value, label(e), e.count)));
  const nodes = [ul];
  if (list.length > SHOWN) {
    const rest = el('ul', { hidden: true }, list.slice(SHOWN).map((e) => facetLink(s, key, e.value, label(e), e.count)));
    const btn = el('button', { type: 'button', class: 'secondary more', 'aria-expanded': 'false' }, `Show all ${list.length}`);
    btn.addEventListener('click', () => {
      const open = rest.hidden;
      rest.hidden = !open;
      btn.setAttribute('aria-expanded', String(open));
      btn.textContent = open ? 'Show fewer' : `Show all ${list.length}`;
    });
    nodes.push(rest, btn);
  }
  return nodes;
}

// Years, grouped by decade: "1970s (12)" opens on its years.
function yearGroups(s, years) {
  const decades = new Map();
  for (const y of years) {
    const d = Math.floor(Number(y.value) / 10) * 10;
    if (!decades.has(d)) decades.set(d, []);
    decades.get(d).push(y);
  }
  return el('ul', {}, [...decades.entries()].sort((a, b) => b[0] - a[0]).map(([d, ys]) => {
    const total = ys.reduce((n, y) => n + y.count, 0);
    const open = ys.some((y) => s.year === String(y.value));
    return el('li', {}, el('details', { open },
      el('summary', {}, `${d}s `, el('span', { class: 'count' }, `(${total})`)),
      el('ul', {}, ys.map((y) => facetLink(s, 'year', y.value, String(y.value), y.count)))));
  }));
}

function renderFacets(s, f) {
  if (!f) {
    facetsBox.replaceChildren(el('p', { class: 'muted' }, 'Filters are unavailable right now.'));
    return;
  }
  const groups = [];
  for (const [key, fkey, heading] of FILTERS) {
    const entries = Array.isArray(f[fkey]) ? f[fkey] : [];
    if (entries.length === 0 && !s[key]) continue;
    const id = `facet-${key}`;
    let body;
    if (key === 'year') body = [yearGroups(s, entries)];
    else if (key === 'price') body = facetList(s, key, entries, bandLabel);
    else body = facetList(s, key, entries, (e) => String(e.value));
    groups.push(el('section', { class: 'facet', 'aria-labelledby': id }, el('h3', { id }, heading), body));
  }
  facetsBox.replaceChildren(...groups);
}

function renderActive(s) {
  const chips = [];
  if (s.q) chips.push(['q', `Search: ${s.q}`]);
  for (const [key, , heading] of FILTERS) if (s[key]) chips.push([key, `${heading}: ${s[key]}`]);
  activeBox.replaceChildren();
  if (chips.length === 0) return;
  activeBox.append(el('ul', { class: 'chips', 'aria-label': 'Active filters' },
    chips.map(([key, text]) => el('li', {},
      el('a', { class: 'chip', href: stateUrl(withChange(s, { [key]: '' })), 'data-nav': '' },
        text, el('span', { 'aria-hidden': 'true' }, ' ✕'), el('span', { class: 'visually-hidden' }, ' (remove)')))),
    chips.length > 1 ? el('li', {}, el('a', { class: 'chip', href: '/', 'data-nav': '' }, 'Clear all')) : null));
}

function go(url, { replace = false, focus = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  load({ focus });
}

// In-page navigation for our own links; modified clicks open normally.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  go(a.getAttribute('href'), { focus: a.hasAttribute('data-focus') });
});

qInput.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => {
    const s = readState();
    if (s.q === qInput.value.trim()) return;
    go(stateUrl(withChange(s, { q: qInput.value.trim() })), { replace: true });
  }, 250);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(typing);
  go(stateUrl(withChange(readState(), { q: qInput.value.trim() })));
});

sortSelect.addEventListener('change', () => {
  go(stateUrl(withChange(readState(), { sort: sortSelect.value })));
});

const toggle = $('filters-toggle');
toggle.addEventListener('click', () => {
  const open = !$('filters').classList.contains('open');
  $('filters').classList.toggle('open', open);
  toggle.setAttribute('aria-expanded', String(open));
});

// Back/Forward; a jump to #main (the skip link) changes nothing shown.
window.addEventListener('popstate', () => {
  if (location.search !== shown) load();
});
load();
