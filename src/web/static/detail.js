// One record: /detail/{listing_id}.  A record that was sold or left the
// shop still shows, marked as such, without the add-to-cart button.
import { api, el, cover, money, gradeInfo, GRADES, cart, shop, formatDate, webUrl } from './common.js';

const box = document.getElementById('detail');
const id = decodeURIComponent(location.pathname.replace(/^\/detail\//, ''));

function fact(term, ...value) {
  const v = value.filter((x) => x !== null && x !== undefined && x !== '');
  if (v.length === 0) return [];
  return [el('dt', {}, term), el('dd', {}, ...v)];
}

function gradeFact(term, condition) {
  const g = gradeInfo(condition);
  if (!g) return [];
  return fact(term, g.name, g.text ? el('span', { class: 'grade-note' }, g.text) : null);
}

function list(text) {
  return (text || '').split(',').map((x) => x.trim()).filter(Boolean).join(', ');
}

function cartButton(x) {
  const note = el('p', { class: 'muted', role: 'status' });
  const btn = el('button', { type: 'button', id: 'add-to-cart' });
  const paint = () => {
    const inCart = cart.has(x.listing_id);
    btn.textContent = inCart ? 'Remove from cart' : 'Add to cart';
    btn.className = inCart ? 'secondary' : '';
  };
  btn.addEventListener('click', () => {
    if (cart.has(x.listing_id)) {
      cart.remove(x.listing_id);
      note.textContent = 'Removed from your cart.';
    } else {
      cart.add(x);
      note.replaceChildren('Added to your cart. ', el('a', { href: '/cart' }, 'Go to the cart'));
    }
    paint();
  });
  paint();
  return [btn, note];
}

function gradingHelp() {
  return el('details', { class: 'grading' },
    el('summary', {}, 'How records are graded'),
    el('p', {}, 'The media (the record itself) and the sleeve are graded separately, on the Goldmine scale Discogs uses:'),
    el('dl', {}, GRADES.flatMap(([name, , text]) => [el('dt', {}, name), el('dd', {}, text)])));
}

function render(x) {
  const title = x.release_title || 'Untitled';
  const artist = x.primary_artist || x.artist_names || 'Unknown artist';
  document.title = `${artist} – ${title} · ${shop.name}`;
  const active = x.is_active !== false;
  const gone = active ? null : el('div', { class: 'notice warn', role: 'status' },
    el('h2', {}, 'This record is no longer for sale'),
    el('p', {}, x.sold_at ? `It was sold on ${formatDate(x.sold_at)}.`
      : `It left the shop${x.removed_at ? ` on ${formatDate(x.removed_at)}` : ''}: it has been sold or taken off sale.`),
    el('p', {}, el('a', { href: '/' }, 'Browse the records that are for sale')));
  const buy = el('div', { class: 'buy' },
    el('span', { class: 'price' }, money(x.price_value, x.price_currency)),
    x.price_currency ? el('span', { class: 'muted' }, x.price_currency) : null,
    active ? cartButton(x) : null);
  const facts = el('dl', { class: 'facts' },
    gradeFact('Media condition', x.condition),
    gradeFact('Sleeve condition', x.sleeve_condition),
    fact('Label', x.label_names || x.primary_label),
    fact('Catalogue number', x.catalog_number),
    fact('Year', x.release_year ? String(x.release_year) : ''),
    fact('Country', x.country),
    fact('Format', x.format_names || x.primary_format),
    fact('Genres', list(x.genres)),
    fact('Styles', list(x.styles)));
  const discogs = webUrl(x.uri) ? el('p', {}, el('a', { href: webUrl(x.uri), rel: 'noopener noreferrer', id: 'discogs-link' },
    'See this listing on Discogs')) : null;
  box.replaceChildren(
    el('article', { class: 'record' },
      cover(x, { lazy: false }),
      el('div', {},
        el('h1', {}, title),
        el('p', { class: 'by' }, 'by ', el('strong', {}, artist)),
        gone,
        buy,
        x.comments ? el('section', { 'aria-labelledby': 'comments-h' },
          el('h2', { id: 'comments-h', class: 'visually-hidden' }, 'Seller’s comments'),
          el('p', { class: 'comments' }, x.comments)) : null,
        facts,
        gradingHelp(),
        discogs)));
  box.removeAttribute('aria-busy');
}

function notFound(msg) {
  document.title = `Record not found · ${shop.name}`;
  box.replaceChildren(el('div', { class: 'notice', role: 'status' },
    el('h1', {}, 'We could not find this record'),
    el('p', {}, msg),
    el('p', {}, el('a', { href: '/' }, 'Browse all records'))));
  box.removeAttribute('aria-busy');
}

async function load() {
  if (!/^\d{1,20}$/.test(id)) {
    notFound('This address does not name a record.');
    return;
  }
  try {
    const r = await api(`/api/data/${id}`);
    render(r.data);
  } catch (e) {
    if (e.status === 404) {
      notFound('It may have been sold a while ago, or the link is mistyped.');
      return;
    }
    const retry = el('button', { type: 'button', onclick: load }, 'Try again');
    box.replaceChildren(el('div', { class: 'notice error', role: 'alert' },
      el('h1', {}, 'The record could not be loaded'), el('p', {}, e.message), retry));
    box.removeAttribute('aria-busy');
  }
}

if (document.referrer && new URL(document.referrer).origin === location.origin &&
    new URL(document.referrer).pathname === '/') {
  document.getElementById('back').href = new URL(document.referrer).pathname + new URL(document.referrer).search;
}
load();
