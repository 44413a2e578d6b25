// The cart: records kept in localStorage (one of each), totals per
// currency, and a checkout that first re-checks that every record is still
// for sale, then sends the buyer on: to each listing on Discogs, or as an
// order e-mail to the shop (conf/shop.json: "checkout").
import { api, el, cover, money, centsText, toCents, cart, shop, gradeShort, listingPath, webUrl } from './common.js';

const box = document.getElementById('cart');
const result = document.getElementById('checkout-result');

function render() {
  const items = cart.items();
  if (items.length === 0) {
    box.replaceChildren(el('div', { class: 'notice' },
      el('h2', {}, 'Your cart is empty'),
      el('p', {}, el('a', { href: '/' }, 'Browse the records'))));
    return;
  }
  const list = el('ul', { class: 'cart-list', 'aria-label': 'Records in your cart' }, items.map(row));
  box.replaceChildren(list, totals(items),
    el('p', { class: 'muted' }, 'One copy of each record. Shipping is arranged when you order.'),
    el('button', { type: 'button', id: 'checkout', onclick: checkout },
      shop.checkout === 'email' ? 'Check out by e-mail' : 'Check out on Discogs'));
}

function row(it) {
  const cond = gradeShort(it.condition);
  return el('li', { class: 'cart-item', 'data-id': it.id },
    cover(it, { lazy: true }),
    el('div', { class: 'what' },
      el('a', { href: listingPath(it.id) }, it.title || 'Untitled'),
      el('div', {}, it.artist || ''),
      el('div', { class: 'muted' }, cond ? `Condition ${cond}` : ''),
      el('div', { class: 'price' }, money(it.price, it.currency))),
    el('div', { class: 'actions' },
      el('button', {
        type: 'button',
        class: 'secondary',
        'aria-label': `Remove ${it.title || 'this record'} from the cart`,
        onclick: () => { cart.remove(it.id); result.replaceChildren(); render(); },
      }, 'Remove')));
}

function totals(items) {
  const t = cart.totals(items);
  const rows = [...t.entries()].map(([cur, cents]) => el('tr', { 'data-currency': cur, 'data-cents': cents },
    el('th', { scope: 'row' }, `Total in ${cur}`),
    el('td', { class: 'amount price' }, centsText(cents, cur))));
  return el('section', { class: 'totals', id: 'totals', 'aria-labelledby': 'totals-h' },
    el('h2', { id: 'totals-h' }, `${items.length} record${items.length === 1 ? '' : 's'}`),
    el('table', {}, el('tbody', {}, rows)),
    t.size > 1 ? el('p', { class: 'muted' }, 'Prices are in more than one currency, so each has its own total.') : null);
}

async function recheck(items) {
  return Promise.all(items.map(async (it) => {
    try {
      const r = await api(`/api/data/${encodeURIComponent(it.id)}`);
      return { it, x: r.data };
    } catch (e) {
      return { it, err: e };
    }
  }));
}

async function checkout() {
  const btn = document.getElementById('checkout');
  btn.disabled = true;
  result.replaceChildren(el('p', { role: 'status' }, 'Checking that every record is still for sale…'));
  const checks = await recheck(cart.items());
  btn.disabled = false;
  const failed = checks.find((c) => c.err && c.err.status !== 404);
  if (failed) {
    result.replaceChildren(el('div', { class: 'notice error', role: 'alert' },
      el('h2', {}, 'We could not check your cart'), el('p', {}, failed.err.message)));
    return;
  }
  const gone = [];
  const changed = [];
  let items = cart.items();
  for (const { it, x, err } of checks) {
    if (err || x.is_active === false || (x.status && x.status !== 'For Sale')) {
      gone.push(it);
      items = items.filter((y) => y.id !== it.id);
    } else if (toCents(x.price_value) !== toCents(it.price) || (x.price_currency || '') !== it.currency) {
      changed.push([it, x]);
      items = items.map((y) => (y.id === it.id ? { ...y, price: x.price_value, currency: x.price_currency || '' } : y));
    }
  }
  if (gone.length || changed.length) {
    cart.save(items);
    render();
    result.replaceChildren(el('div', { class: 'notice warn', role: 'alert' },
      el('h2', {}, 'Your cart has changed'),
      gone.length ? el('p', {}, 'No longer for sale, taken out of your cart: ',
        gone.map((it) => `${it.artist} – ${it.title}`).join('; '), '.') : null,
      changed.map(([it, x]) => el('p', {}, `New price for ${it.title}: ${money(x.price_value, x.price_currency)} (was ${money(it.price, it.currency)}).`)),
      el('p', {}, 'Please look it over and check out again.')));
    return;
  }
  if (shop.checkout === 'email') emailOrder(items);
  else discogsOrder(items);
}

function discogsOrder(items) {
  result.replaceChildren(el('div', { class: 'notice ok', role: 'status', id: 'checkout-ready' },
    el('h2', {}, 'Everything is still for sale'),
    el('p', {}, 'Buy each record on Discogs, where payment and shipping are handled:'),
    el('ul', { class: 'checkout-links' }, items.map((it) => el('li', {},
      el('a', { href: webUrl(it.uri) || listingPath(it.id), rel: 'noopener noreferrer', class: 'button' },
        `Buy ${it.artist} – ${it.title} on Discogs`))))));
}

function orderText(items) {
  const lines = items.map((it) => `- ${it.artist} – ${it.title} (${it.condition || 'ungraded'}): ` +
    `${money(it.price, it.currency)} [listing ${it.id}]`);
  const t = [...cart.totals(items).entries()].map(([cur, c]) => `Total ${cur}: ${centsText(c, cur)}`);
  return `Hello ${shop.name},\n\nI would like to order:\n${lines.join('\n')}\n\n${t.join('\n')}\n\n` +
    'My name:\nShipping address:\n';
}

function emailOrder(items) {
  const body = orderText(items);
  const subject = `Order: ${items.length} record${items.length === 1 ? '' : 's'}`;
  const href = `mailto:${shop.orderEmail}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
  result.replaceChildren(el('div', { class: 'notice ok', role: 'status', id: 'checkout-ready' },
    el('h2', {}, 'Everything is still for sale'),
    el('p', {}, el('a', { href, class: 'button', id: 'order-email' }, `Send the order to ${shop.orderEmail}`)),
    el('label', { for: 'order-text' }, 'Or copy the order into an e-mail yourself:'),
    el('textarea', { id: 'order-text', class: 'order', readonly: true }, body)));
}

render();
