#!/usr/bin/env node
// The storefront and /admin in a real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), with axe-core on every page.
//
// It starts the real server (build/kore, as `make run` does) on free ports
// in a temporary working directory with its own conf/shop.json, a database
// seeded by `build/freakinbeats import tests/browser/fixture.csv`, and the
// fake Discogs of tests/e2e/fake_discogs.py as a subprocess.  Then, as a
// shopper and as the owner: load /, search, apply facets, open a record,
// build a cart and check its totals, check out, log in to /admin, sync
// against the fake (held, then forced), watch it finish, read the diff,
// sync again after a price change and read old -> new, see a removed
// record and a cart that no longer checks out, log out.  Screenshots go to
// build/screenshots/.  Output is TAP, for tests/run.sh.
//
//   node tests/browser/run.mjs            (after make all; npm install here)
//   FB_KEEP_TMP=1 node tests/browser/run.mjs   keep the temporary folder
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SHOTS = path.join(REPO, 'build', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'browser-admin-passphrase';
const TOKEN = 'browser-token';
const SELLER = 'browsershop';
const SHOP = { name: 'Test Records & Co', intro: 'Fixture intro: records for the browser test.', checkout: 'email', order_email: 'orders@test-records.example' };
const FIRST_LOAD_MAX = 150 * 1024;
const CONFIG_VARS = ['PORT', 'HOST', 'TLS_PORT', 'TLS_CERT', 'TLS_KEY', 'DATABASE_URL', 'DISCOGS_TOKEN',
  'DISCOGS_SELLER_USERNAME', 'DISCOGS_API_URL', 'DISCOGS_USER_AGENT', 'DISCOGS_MIN_INTERVAL_MS',
  'SYNC_INTERVAL_HOURS', 'ENABLE_AUTO_SYNC', 'SYNC_MAX_REMOVE_FRACTION', 'ADMIN_PASSPHRASE', 'SCRIPTS_DIR', 'LOG_LEVEL'];

// ---------------------------------------------------------------- TAP
let n = 0;
let failed = 0;
function ok(cond, desc, diag) {
  n += 1;
  const line = String(desc).replace(/\s+/g, ' ');
  if (cond) {
    console.log(`ok ${n} - ${line}`);
  } else {
    failed += 1;
    console.log(`not ok ${n} - ${line}`);
    if (diag !== undefined) for (const l of String(diag).split('\n')) console.log(`# ${l}`);
  }
  return Boolean(cond);
}
function eq(got, want, desc) {
  return ok(got === want, desc, `got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    ok(false, `${name}: ${e.message.split('\n')[0]}`, e.stack);
  }
  if (process.env.FB_TIMING === '1') console.log(`# step ${name}: ${Date.now() - t0} ms`);
}

// ---------------------------------------------------------------- set-up
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of CONFIG_VARS) delete env[k];
  return { ...env, ...extra };
}

// A working directory like the repository's, with our own conf/shop.json.
function makeCwd(tmp) {
  const cwd = path.join(tmp, 'cwd');
  fs.mkdirSync(path.join(cwd, 'conf'), { recursive: true });
  for (const name of ['kore.conf', 'build', 'src']) {
    fs.symlinkSync(path.join(REPO, name), path.join(cwd, name));
  }
  fs.cpSync(path.join(REPO, 'scripts'), path.join(cwd, 'scripts'), { recursive: true });
  for (const name of fs.readdirSync(path.join(REPO, 'conf'))) {
    if (name !== 'shop.json' && name !== 'cert') fs.symlinkSync(path.join(REPO, 'conf', name), path.join(cwd, 'conf', name));
  }
  fs.writeFileSync(path.join(cwd, 'conf', 'shop.json'), JSON.stringify(SHOP, null, 2));
  return cwd;
}

function startFake(port) {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', [path.join(REPO, 'tests/e2e/fake_discogs.py'), '--port', String(port),
      '--listings', '120', '--token', TOKEN, '--seller', SELLER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fake Discogs did not start: ${out}`)), 10000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, url: m[1] });
      }
    });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => reject(new Error(`fake Discogs exited ${code}: ${out}`)));
  });
}

async function control(fake, body) {
  const r = await fetch(`${fake.url}/_control`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`fake control ${body.op}: ${r.status}`);
  return (await r.json()).result;
}

async function waitHealthy(base, proc, logPath) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return;
    } catch (e) {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server not healthy after 30 s');
}

async function apiJson(base, p, init) {
  const r = await fetch(base + p, init);
  return { status: r.status, headers: r.headers, body: await r.json().catch(() => null) };
}

// ---------------------------------------------------------------- checks
const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe-core, injected through the DevTools protocol (the page's CSP stays on).
async function axeCheck(page, name) {
  await page.evaluate(AXE);
  const res = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  ok(bad.length === 0, `${name}: axe-core finds no serious or critical violation`,
    bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.slice(0, 3).map((x) => x.target.join(' ')).join('\n  ')}`).join('\n'));
  const other = res.violations.filter((v) => !bad.includes(v));
  if (other.length) console.log(`# ${name}: minor axe findings: ${other.map((v) => `${v.impact} ${v.id}`).join(', ')}`);
}

let shotN = 0;
async function shot(page, name) {
  shotN += 1;
  const file = path.join(SHOTS, `${String(shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  ok(fs.statSync(file).size > 1000, `${name}: screenshot saved as ${path.relative(REPO, file)}`);
}

function textOf(page, sel) {
  return page.locator(sel).first().innerText();
}

// ---------------------------------------------------------------- main
async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-browser-'));
  const procs = [];
  let context = null;
  // Killed (a runner's timeout, ^C, a closed pipe): stop what we started.
  const bail = (why) => {
    for (const p of procs) {
      try {
        if (p.spawnargs[0].endsWith('kore')) process.kill(-p.pid, 'SIGTERM');
        else p.kill('SIGTERM');
      } catch (e) {
        // already gone
      }
    }
    if (process.env.FB_KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    process.stderr.write(`browser tests stopped: ${why}\n`);
    process.exit(1);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => bail(sig));
  process.stdout.on('error', () => bail('stdout closed'));
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.unlinkSync(path.join(SHOTS, f));
  try {
    ok(fs.existsSync(CHROMIUM), `Debian's chromium is installed at ${CHROMIUM}`, 'apt-get install chromium (make deps)');
    const db = path.join(tmp, 'freakinbeats.db');
    execFileSync(path.join(REPO, 'build/freakinbeats'), ['import', path.join(HERE, 'fixture.csv')],
      { env: cleanEnv({ DATABASE_URL: db }), cwd: tmp, stdio: 'pipe' });
    const fake = await startFake(await freePort());
    procs.push(fake.proc);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logPath = path.join(tmp, 'server.log');
    const log = fs.openSync(logPath, 'a');
    const cwd = makeCwd(tmp);
    const server = spawn(path.join(REPO, 'build/kore'), ['-f', '-n', '-r', '-c', 'kore.conf'], {
      cwd,
      detached: true,
      stdio: ['ignore', log, log],
      env: cleanEnv({
        PORT: port, TLS_PORT: 0, HOST: '127.0.0.1', DATABASE_URL: db,
        TLS_CERT: path.join(tmp, 'cert/server.pem'), TLS_KEY: path.join(tmp, 'cert/key.pem'),
        DISCOGS_TOKEN: TOKEN, DISCOGS_SELLER_USERNAME: SELLER, DISCOGS_API_URL: fake.url,
        DISCOGS_MIN_INTERVAL_MS: 20, ENABLE_AUTO_SYNC: 'false', SYNC_MAX_REMOVE_FRACTION: '0.5',
        ADMIN_PASSPHRASE: ADMIN, LOG_LEVEL: 'info',
      }),
    });
    procs.push(server);
    await waitHealthy(base, server, logPath);
    ok(true, 'the server is up with the fixture shop and a fake Discogs');

    context = await (await import('playwright-core')).chromium.launchPersistentContext(path.join(tmp, 'chrome'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
    });
    context.setDefaultTimeout(10000);
    const page = context.pages()[0] || await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await runShopper(page, base);
    await runAdmin(page, base, fake, context, cwd);
    ok(problems.length === 0, 'no script error and no CSP violation on any page', problems.join('\n'));
    const crashes = fs.readFileSync(logPath, 'utf8').split('\n').filter((l) => /restarting worker|sandbox violation|Segmentation/.test(l));
    ok(crashes.length === 0, 'no worker died', crashes.join('\n'));
  } catch (e) {
    ok(false, `browser tests: ${e.message.split('\n')[0]}`, e.stack);
  } finally {
    if (context) await context.close().catch(() => {});
    for (const p of procs.reverse()) {
      try {
        if (p.spawnargs[0].endsWith('kore')) process.kill(-p.pid, 'SIGTERM');
        else p.kill('SIGTERM');
      } catch (e) {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    if (process.env.FB_KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`# kept ${tmp}`);
    console.log(`1..${n}`);
    console.log(`# browser: ${n - failed} passed, ${failed} failed`);
    process.exitCode = failed > 0 || n === 0 ? 1 : 0;
  }
}

// ---------------------------------------------------------------- shopper
async function runShopper(page, base) {
  const cards = page.locator('#grid > li');
  let firstId = null;

  await step('load /', async () => {
    const bytes = new Map();
    const onResponse = async (r) => {
      const type = r.request().resourceType();
      if (type === 'image') return;
      try { bytes.set(r.url(), (await r.body()).length); } catch (e) { /* redirects */ }
    };
    page.on('response', onResponse);
    const resp = await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    eq(resp.status(), 200, '/: 200');
    await cards.first().waitFor();
    page.off('response', onResponse);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    console.log(`# first load of /: ${total} bytes before images over ${bytes.size} requests: ` +
      [...bytes.entries()].map(([u, b]) => `${new URL(u).pathname}${new URL(u).search ? '?…' : ''} ${b}`).join(', '));
    ok(total > 0 && total < FIRST_LOAD_MAX, `/: first load is ${total} bytes before images (< ${FIRST_LOAD_MAX})`);
    eq(await page.title(), SHOP.name, '/: the title is the configured shop name');
    ok((await textOf(page, '.intro')).includes(SHOP.intro), '/: the configured intro text shows');
    eq(await cards.count(), 24, '/: the first page shows 24 records');
    ok((await textOf(page, '#status')).includes('of 40 records'), '/: the status counts all 40 records');
    const c0 = cards.first();
    ok(await c0.locator('img[loading="lazy"][alt^="Cover of"]').count() === 1, '/: covers are lazy-loaded with alt text');
    ok(/\$|€/.test(await c0.locator('.price').innerText()), '/: a card shows its price with the currency');
    ok(/Cond\./.test(await c0.locator('.cond').innerText()), '/: a card shows the condition');
    firstId = (await c0.locator('a').getAttribute('href')).split('/').pop();
    ok(await page.locator('#pager a[rel="next"]').count() === 1, '/: a pager links to the next page');
    await axeCheck(page, '/');
    await shot(page, 'shop');
  });

  await step('a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/`);
    await cards.first().waitFor();
    ok(!(await page.locator('#filters').isVisible()), 'on a phone the filters fold away');
    const toggle = page.locator('#filters-toggle');
    await toggle.click();
    ok(await page.locator('#filters').isVisible(), 'the Filters button opens them');
    eq(await toggle.getAttribute('aria-expanded'), 'true', 'and says so (aria-expanded)');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(wide <= 390, `nothing scrolls sideways (${wide}px)`);
    await axeCheck(page, '/ (phone)');
    await shot(page, 'shop-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step('pages and sorting', async () => {
    await page.locator('#pager a[rel="next"]').click();
    await page.waitForURL(/page=2/);
    await page.waitForFunction(() => document.querySelectorAll('#grid > li').length === 16);
    ok(true, 'page 2 shows the last 16 records and the URL says page=2');
    await page.selectOption('#sort', 'price');
    await page.waitForURL(/sort=price/);
    await page.waitForFunction(() => !document.querySelector('#grid').hasAttribute('aria-busy'));
    const prices = await page.locator('#grid .price').allInnerTexts();
    const nums = prices.map((p) => Number(p.replace(/[^0-9.]/g, '')));
    ok(nums.every((v, i) => i === 0 || v >= nums[i - 1]), 'sorting by price orders the grid by price', prices.join(' '));
    ok(!/page=2/.test(page.url()), 'changing the sort goes back to page 1');
  });

  await step('search as you type', async () => {
    await page.goto(`${base}/`);
    await cards.first().waitFor();
    const want = (await apiJson(base, '/api/search?q=meridian&limit=100')).body;
    await page.locator('#q').pressSequentially('meridian', { delay: 40 });
    await page.waitForURL(/q=meridian/);
    await page.waitForFunction((nWant) => document.querySelectorAll('#grid > li').length === nWant &&
      !document.querySelector('#grid').hasAttribute('aria-busy'), want.length);
    const artists = await page.locator('#grid .artist').allInnerTexts();
    ok(want.length > 0 && artists.length === want.length && artists.every((a) => a === 'Cold Meridian'),
      `typing "meridian" shows the ${want.length} Cold Meridian records without pressing Enter`, artists.join(', '));
    ok((await textOf(page, '#status')).includes('“meridian”'), 'the status names the search');
    await shot(page, 'search');
    await page.locator('#q').fill('zzqqxx nothing like this');
    await page.waitForFunction(() => /No records/.test(document.querySelector('#message').innerText));
    ok(true, 'a search with no match shows the empty state');
    await page.reload();
    eq(await page.locator('#q').inputValue(), 'zzqqxx nothing like this', 'the URL keeps the search across a reload');
    await page.route('**/api/search?**', (r) => r.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"boom"}' }));
    await page.goto(`${base}/?q=meridian`);
    await page.locator('.notice.error').waitFor();
    ok((await textOf(page, '.notice.error')).includes('could not be loaded'), 'a failing API shows the error state');
    await page.unroute('**/api/search?**');
    await page.locator('.notice.error button').click();
    await cards.first().waitFor();
    ok(true, '"Try again" recovers from the error state');
  });

  await step('facets', async () => {
    await page.goto(`${base}/`);
    await page.locator('#facet-genre').waitFor();
    const facets = (await apiJson(base, '/api/facets')).body;
    const jazz = facets.genres.find((g) => g.value === 'Jazz');
    const link = page.locator('section[aria-labelledby="facet-genre"] a', { hasText: 'Jazz' });
    ok((await link.innerText()).includes(String(jazz.count)), `the Jazz facet shows its count (${jazz.count})`);
    await link.click();
    await page.waitForURL(/genre=Jazz/);
    await page.waitForFunction((c) => document.querySelectorAll('#grid > li').length === c, jazz.count);
    ok(true, `choosing Jazz shows its ${jazz.count} records`);
    eq(await page.locator('section[aria-labelledby="facet-genre"] a[aria-current="true"]').count(), 1, 'the chosen facet is marked current');
    ok((await textOf(page, '#active-filters')).includes('Genre: Jazz'), 'the active filter shows as a removable chip');
    await shot(page, 'facet');
    await axeCheck(page, '/?genre=Jazz');
    // A second facet narrows further; counts come from /api/facets.
    const jf = (await apiJson(base, '/api/facets?genre=Jazz')).body;
    const cond = jf.conditions[0];
    await page.locator('section[aria-labelledby="facet-condition"] a', { hasText: cond.value }).first().click();
    await page.waitForFunction((c) => document.querySelectorAll('#grid > li').length === c &&
      /condition=/.test(location.search), cond.count);
    ok(true, `genre and condition together show ${cond.count} records`);
    // Style: not an /api/search parameter yet, filtered in the page.
    await page.goto(`${base}/?style=Techno`);
    const techno = (await apiJson(base, '/api/facets')).body.styles.find((s) => s.value === 'Techno');
    await page.waitForFunction((c) => document.querySelectorAll('#grid > li').length === c, techno.count);
    ok(true, `the Techno style shows its ${techno.count} records`);
    // Year (by decade) and price band.
    await page.goto(`${base}/`);
    await page.locator('#facet-year').waitFor();
    await page.locator('section[aria-labelledby="facet-year"] summary').first().click();
    await page.locator('section[aria-labelledby="facet-year"] details[open] a').first().click();
    await page.waitForURL(/year=\d{4}/);
    ok(true, 'a year inside its decade can be chosen');
    await page.goto(`${base}/?price=20-50`);
    await cards.first().waitFor();
    const pr = (await page.locator('#grid .price').allInnerTexts()).map((p) => Number(p.replace(/[^0-9.]/g, '')));
    ok(pr.length > 0 && pr.every((v) => v >= 20 && v < 50), 'the 20 to 50 price band shows only prices in it', pr.join(' '));
  });

  await step('keyboard', async () => {
    await page.goto(`${base}/`);
    await cards.first().waitFor();
    await page.keyboard.press('Tab');
    eq(await page.evaluate(() => document.activeElement.textContent), 'Skip to the records', 'the first Tab reaches the skip link');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    const href = await page.evaluate(() => document.activeElement.getAttribute('href'));
    ok(/^\/detail\//.test(href || ''), 'after the skip link the next Tab reaches the first record', href);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/detail\//);
    ok(true, 'Enter opens the record');
  });

  await step('detail page', async () => {
    const x = (await apiJson(base, `/api/data/${firstId}`)).body;
    const resp = await page.goto(`${base}/detail/${firstId}`);
    eq(resp.status(), 200, '/detail/{id}: 200');
    await page.locator('h1').waitFor();
    eq(await textOf(page, 'h1'), x.release_title, 'the detail page shows the title');
    const facts = await textOf(page, 'dl.facts');
    for (const [what, v] of [['media condition', x.condition], ['sleeve condition', x.sleeve_condition],
      ['label', x.label_names], ['catalogue number', x.catalog_number], ['year', String(x.release_year)],
      ['country', x.country], ['format', x.format_names], ['genres', x.genres]]) {
      ok(facts.includes(v), `the detail page shows the ${what} (${v})`);
    }
    ok(/Hard Bop|House|Krautrock|Salsa|Soul|Bossa|Techno/.test(facts), 'the detail page shows the styles');
    ok((await page.locator('.grade-note').count()) >= 1, 'the grading is explained next to the condition');
    ok((await page.locator('details.grading dt').count()) >= 8, 'a grading guide lists every grade');
    ok((await textOf(page, '.comments')).includes(x.comments), 'the seller’s comments show');
    eq(await page.locator('#discogs-link').getAttribute('href'), x.uri, 'the Discogs link goes to the listing');
    ok((await textOf(page, '.buy .price')).length > 0 && (await textOf(page, '.buy')).includes(x.price_currency), 'price with its currency');
    const img = page.locator('.record img.cover');
    ok((await img.getAttribute('alt')).includes(x.release_title), 'the large cover has alt text');
    await axeCheck(page, '/detail');
    await shot(page, 'detail');
    const missing = await page.goto(`${base}/detail/1234`);
    eq(missing.status(), 404, '/detail of an unknown id: 404');
    await page.locator('#detail h1', { hasText: 'could not find' }).waitFor();
    ok(true, 'an unknown record says so');
  });

  await step('cart', async () => {
    await page.evaluate(() => localStorage.clear());
    const all = (await apiJson(base, '/api/search?limit=100')).body;
    const picks = [...all.filter((x) => x.price_currency === 'USD').slice(0, 2),
      ...all.filter((x) => x.price_currency === 'EUR').slice(0, 1)];
    for (const x of picks) {
      await page.goto(`${base}/detail/${x.listing_id}`);
      await page.locator('#add-to-cart').click();
      await page.locator('#add-to-cart', { hasText: 'Remove from cart' }).waitFor();
    }
    await page.locator('#add-to-cart').click();
    await page.locator('#add-to-cart', { hasText: 'Add to cart' }).waitFor();
    await page.locator('#add-to-cart').click();
    await page.locator('#add-to-cart', { hasText: 'Remove from cart' }).waitFor();
    eq(await textOf(page, '[data-cart-count]'), String(picks.length), 'the header counts the records in the cart');
    await page.goto(`${base}/cart`);
    await page.locator('#totals').waitFor();
    eq(await page.locator('.cart-item').count(), picks.length, 'the cart lists each record once (quantity 1)');
    const want = new Map();
    for (const x of picks) want.set(x.price_currency, (want.get(x.price_currency) || 0) + Math.round(x.price_value * 100));
    const got = await page.locator('#totals tr').evaluateAll((rows) => rows.map((r) => [r.dataset.currency, Number(r.dataset.cents), r.innerText]));
    eq(JSON.stringify(got.map((r) => [r[0], r[1]])), JSON.stringify([...want.entries()]), 'totals per currency add up exactly');
    const usdText = got.find((r) => r[0] === 'USD');
    ok(usdText && usdText[2].includes((want.get('USD') / 100).toFixed(2)), `the USD total reads ${usdText && usdText[2]}`);
    await axeCheck(page, '/cart');
    await shot(page, 'cart');
    await page.locator('#checkout').click();
    await page.locator('#checkout-ready').waitFor();
    const mail = await page.locator('#order-email').getAttribute('href');
    ok(mail.startsWith(`mailto:${SHOP.order_email}?`), 'checkout (email) sends the order to the configured address');
    const body = decodeURIComponent(mail.split('body=')[1]);
    ok(picks.every((x) => body.includes(x.listing_id)), 'the order e-mail names every listing');
    ok(body.includes('Total USD') && body.includes('Total EUR'), 'the order e-mail has a total per currency');
  });
}

// ---------------------------------------------------------------- owner
async function runAdmin(page, base, fake, context, cwd) {
  await step('admin login', async () => {
    const resp = await page.goto(`${base}/admin`);
    eq(resp.status(), 200, '/admin: 200');
    await page.locator('#passphrase').waitFor();
    await axeCheck(page, '/admin (login)');
    await shot(page, 'admin-login');
    await page.locator('#passphrase').fill('not the passphrase');
    await page.locator('#login-button').click();
    await page.locator('#login-error', { hasText: 'Wrong passphrase' }).waitFor();
    ok(true, 'a wrong passphrase is refused');
    await page.waitForTimeout(1100);
    await page.locator('#passphrase').fill(ADMIN);
    await page.locator('#login-button').click();
    await page.locator('#sync-now').waitFor();
    ok(true, 'the right passphrase opens the admin');
    const ck = (await context.cookies(base)).find((c) => c.name === 'fb_session');
    ok(ck && ck.httpOnly && ck.sameSite === 'Strict' && ck.expires > Date.now() / 1000 + 3600,
      'the session cookie is HttpOnly, SameSite=Strict, with an expiry', JSON.stringify(ck));
    ok(!(await page.evaluate(() => document.cookie)).includes('fb_session'), 'the page script cannot read the session cookie');
    await page.locator('#rules-table tbody tr').first().waitFor();
    eq(await page.locator('#rules-table tbody tr').count(), 3, 'the rules section lists the three scripts');
    ok((await textOf(page, '#rules-table')).includes('mapping.lua'), 'rules show their files');
    await page.locator('#plugins-list li').first().waitFor();
    ok((await textOf(page, '#plugins-list')).includes('stats'), 'the plugins section lists the loaded plugins');
    await axeCheck(page, '/admin');
  });

  await step('a broken rule', async () => {
    const file = path.join(cwd, 'scripts', 'ranking.lua');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${good}\nfunction score(row, query\n`);
    let text = '';
    for (let i = 0; i < 20 && !/ranking\.lua:\d+/.test(text); i++) {
      await page.waitForTimeout(300);
      await page.reload();
      await page.locator('#rules-table tbody tr').first().waitFor();
      text = await page.locator('#rules-table tr[data-script="ranking.lua"]').innerText();
    }
    ok(/scripts\/ranking\.lua:\d+/.test(text), 'a broken rule shows its error as file:line', text);
    ok(/error/.test(text), 'and its state as error', text);
    await shot(page, 'admin-rule-error');
    fs.writeFileSync(file, good);
  });

  await step('sync: held, forced, diff', async () => {
    await control(fake, { op: 'set_delay', kind: 'inventory', seconds: 0.6 });
    await page.locator('#sync-now').click();
    await page.locator('#sync-progress').waitFor({ timeout: 5000 });
    ok(/running/.test(await textOf(page, '#sync-progress')), 'live progress shows while the sync runs');
    await page.locator('#sync progress').waitFor({ timeout: 5000 });
    ok(true, 'the progress bar counts inventory pages');
    await page.locator('#force-apply').waitFor({ timeout: 20000 });
    ok((await textOf(page, '#runs-list')).includes('held'), 'the sync is held: it would remove all 40 fixture records');
    await shot(page, 'admin-held');
    await page.locator('#force-apply').click();
    await page.locator('#sync-msg', { hasText: 'succeeded' }).waitFor({ timeout: 20000 });
    ok(true, 'the forced run finishes and says so');
    await page.locator('#diff .diff').waitFor();
    const diff = await textOf(page, '#diff');
    ok(diff.includes('Added (120)'), 'the diff lists the 120 added listings', diff.slice(0, 300));
    ok(diff.includes('Removed (40)'), 'the diff lists the 40 removed listings', diff.slice(0, 300));
  });

  await step('sync: an update with old -> new', async () => {
    await control(fake, { op: 'set_delay', kind: 'inventory', seconds: 0 });
    const lid = (await control(fake, { op: 'ids' }))[0];
    await control(fake, { op: 'reprice', lid, value: 77.25 });
    await page.locator('#sync-now:not([disabled])').click();
    await page.locator('#diff h2', { hasText: /sync #3/ }).waitFor({ timeout: 20000 });
    await page.locator('#diff .updated').first().waitFor();
    const row = page.locator(`#diff .updated[data-listing="${lid}"] tr[data-field="price_value"]`);
    eq((await row.locator('td.new').textContent()).trim(), 'becomes 77.25', 'the diff shows the new price');
    const old = (await row.locator('td.old').textContent()).trim();
    ok(old !== '77.25' && Number(old) > 0, `and the old one (${old}), struck through`);
    await axeCheck(page, '/admin (diff)');
    await shot(page, 'admin-diff');
  });

  await step('sold records', async () => {
    const gone = (await apiJson(base, '/api/data?include_inactive=1&limit=1000')).body.find((x) => !x.is_active);
    const resp = await page.goto(`${base}/detail/${gone.listing_id}`);
    eq(resp.status(), 200, 'a removed record’s page is a 200, not an error');
    await page.locator('.notice.warn').waitFor();
    ok((await textOf(page, '.notice.warn')).includes('no longer for sale'), 'it says the record is no longer for sale');
    eq(await page.locator('#add-to-cart').count(), 0, 'and offers no add-to-cart');
    await axeCheck(page, '/detail (sold)');
    await shot(page, 'sold');
    await page.goto(`${base}/cart`);
    await page.locator('#checkout').click();
    await page.locator('.notice.warn', { hasText: 'Your cart has changed' }).waitFor();
    ok((await textOf(page, '.notice.warn')).includes('No longer for sale'), 'checkout re-checks and takes out sold records');
    await page.locator('.notice', { hasText: 'Your cart is empty' }).waitFor();
    ok(true, 'the cart is then empty');
  });

  await step('logout', async () => {
    await page.goto(`${base}/admin`);
    await page.locator('#logout').click();
    await page.locator('#passphrase').waitFor();
    const ck = (await context.cookies(base)).find((c) => c.name === 'fb_session');
    ok(!ck, 'logging out clears the session cookie', JSON.stringify(ck));
    const s = await page.evaluate(() => fetch('/api/admin/session').then((r) => r.json()));
    eq(s.admin, false, 'and the session is gone');
  });
}

main();
