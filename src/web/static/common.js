// Shared by every page: the shop's settings, API calls, money, grading,
// covers, the cart (localStorage) and a small DOM helper.  No framework,
// no build step: plain ES modules served as they are.

const data = document.body.dataset;

export const shop = {
  name: data.shopName || 'Freakinbeats',
  checkout: data.checkout === 'email' ? 'email' : 'discogs',
  orderEmail: data.orderEmail || '',
};

// The versioned static folder this module came from: /static/{v}/.
export const STATIC = new URL('.', import.meta.url).pathname;
export const PLACEHOLDER = STATIC + 'cover.svg';

// el('a', {href: '/', class: 'x', onclick: fn}, 'text', child, ...)
export function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// JSON in and out; throws ApiError (status 0: the network failed).
export async function api(path, { method = 'GET', body, signal } = {}) {
  let r;
  try {
    r = await fetch(path, {
      method,
      signal,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The shop could not be reached. Check your connection.');
  }
  let json = null;
  try { json = await r.json(); } catch (e) { json = null; }
  if (!r.ok) {
    const msg = json && json.error ? json.error : `The server answered ${r.status}.`;
    const err = new ApiError(r.status, msg);
    err.retryAfter = Number(r.headers.get('Retry-After')) || 0;
    throw err;
  }
  return { data: json, headers: r.headers, status: r.status };
}

// Money: hundredths as integers, so sums never drift.
export function toCents(value) {
  return Math.round(Number(value) * 100);
}

export function money(value, currency) {
  const n = Number(value);
  if (!Number.isFinite(n)) return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(n);
  } catch (e) {
    return `${n.toFixed(2)} ${currency || ''}`.trim();
  }
}

export function centsText(cents, currency) {
  return money(cents / 100, currency);
}

// Discogs' grading (the Goldmine standard), for shoppers.
export const GRADES = [
  ['Mint (M)', 'M', 'Perfect, probably never played, possibly still sealed.'],
  ['Near Mint (NM or M-)', 'NM', 'Nearly perfect: no obvious signs of wear. The sleeve has no creases, seam splits or writing.'],
  ['Very Good Plus (VG+)', 'VG+', 'Shows some signs of play, such as light scuffs, but they do not affect the sound. A great copy.'],
  ['Very Good (VG)', 'VG', 'Light surface noise you can hear in quiet passages, light scratches. The sleeve may have ring wear or writing.'],
  ['Good Plus (G+)', 'G+', 'Surface noise and scratches throughout, but it plays through without skipping.'],
  ['Good (G)', 'G', 'Plays through, but with a lot of noise, scratches and wear.'],
  ['Fair (F)', 'F', 'Heavily worn: it may skip or crackle badly. For collectors of the rare.'],
  ['Poor (P)', 'P', 'Barely playable, cracked or warped. Sold as it is.'],
  ['Generic', 'Generic', 'A plain or company sleeve, not the original picture sleeve.'],
  ['No Cover', 'No Cover', 'Sold without a sleeve.'],
  ['Not Graded', 'Not graded', 'The seller has not graded this.'],
];

export function gradeInfo(condition) {
  if (!condition) return null;
  const g = GRADES.find((x) => x[0] === condition || x[1] === condition);
  return g ? { name: g[0], short: g[1], text: g[2] } : { name: condition, short: condition, text: '' };
}

export function gradeShort(condition) {
  const g = gradeInfo(condition);
  return g ? g.short : '';
}

// A cover image: lazy, sized, with alt text and a placeholder on failure.
export function cover(listing, { lazy = true, cls = 'cover' } = {}) {
  const title = listing.release_title || listing.title || 'this record';
  const artist = listing.primary_artist || listing.artist_names || listing.artist || '';
  const img = el('img', {
    class: cls,
    src: webUrl(listing.image_uri || listing.image) || PLACEHOLDER,
    alt: artist ? `Cover of ${title} by ${artist}` : `Cover of ${title}`,
    width: 300,
    height: 300,
    loading: lazy ? 'lazy' : null,
    decoding: 'async',
    referrerpolicy: 'no-referrer',
  });
  img.addEventListener('error', () => {
    if (!img.src.endsWith(PLACEHOLDER)) img.src = PLACEHOLDER;
  }, { once: true });
  return img;
}

// The cart: one entry per listing (quantity 1), kept in localStorage.
const CART_KEY = 'freakinbeats.cart';

export const cart = {
  items() {
    try {
      const v = JSON.parse(localStorage.getItem(CART_KEY) || '[]');
      return Array.isArray(v) ? v.filter((x) => x && typeof x.id === 'string') : [];
    } catch (e) {
      return [];
    }
  },
  save(items) {
    localStorage.setItem(CART_KEY, JSON.stringify(items));
    updateCartCount();
  },
  has(id) {
    return this.items().some((x) => x.id === String(id));
  },
  add(listing) {
    const items = this.items();
    if (items.some((x) => x.id === String(listing.listing_id))) return items;
    items.push({
      id: String(listing.listing_id),
      title: listing.release_title || '',
      artist: listing.primary_artist || listing.artist_names || '',
      price: listing.price_value,
      currency: listing.price_currency || '',
      condition: listing.condition || '',
      uri: listing.uri || '',
      image: listing.image_uri || '',
    });
    this.save(items);
    return items;
  },
  remove(id) {
    this.save(this.items().filter((x) => x.id !== String(id)));
  },
  // {currency: cents}, in the order currencies first appear.
  totals(items) {
    const t = new Map();
    for (const it of items) {
      const c = it.currency || '?';
      t.set(c, (t.get(c) || 0) + toCents(it.price));
    }
    return t;
  },
};

export function updateCartCount() {
  const n = cart.items().length;
  for (const node of document.querySelectorAll('[data-cart-count]')) {
    node.textContent = n > 0 ? String(n) : '';
  }
}

// Only web links leave the shop: no javascript:, data: or other schemes.
export function webUrl(u) {
  return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null;
}

export function listingPath(id) {
  return `/detail/${encodeURIComponent(id)}`;
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

window.addEventListener('storage', (e) => {
  if (e.key === CART_KEY) updateCartCount();
});
updateCartCount();
