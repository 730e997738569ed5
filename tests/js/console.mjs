// The workspace console in a real headless browser (Debian's chromium through puppeteer-core),
// against a 4-validator testnet. Run by tests/it/console.rs:
//   node console.mjs <console url> <user> <password> <accounts dir> <screenshots dir> <newco secret> <newco public key>
// Every step waits (bounded) for what the page shows; any miss throws and exits non-zero.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const [url, user, password, accountsDir, shots, newcoSecret, newcoPublic] = process.argv.slice(2);
const origin = new URL(url).origin;
mkdirSync(shots, { recursive: true });
const keyOf = (account) => JSON.parse(readFileSync(join(accountsDir, `${account}.json`), 'utf8')).secret_key;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const failures = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
  await page.authenticate({ username: user, password });
  await page.setViewport({ width: 1280, height: 900 });

  const text = (sel) => page.$eval(sel, (e) => e.textContent);
  const waitText = async (sel, pred, what, ms = 30000) => {
    const until = Date.now() + ms;
    let last = '';
    while (Date.now() < until) {
      last = await page.$eval(sel, (e) => e.textContent).catch(() => '');
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what}: ${sel} shows ${JSON.stringify(last.slice(0, 400))}`);
  };
  const flash = (pred, what) => waitText('#flash', (t) => pred(t) && !t.endsWith('...'), what);
  // Clicks once the element is there; a page that re-renders (after a connect, a block, an
  // action) may replace it between the lookup and the click, so that is tried again.
  const click = async (sel) => {
    for (let i = 0; ; i++) {
      try {
        await page.waitForSelector(sel, { timeout: 30000 });
        await page.click(sel);
        return;
      } catch (e) {
        if (i >= 10 || !/detached|not clickable|No node|not an Element/i.test(e.message)) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const shot = async (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const connect = async (account, secret) => {
    await click('#connect-open');
    await page.$eval('#connect-form', (f) => f.reset());
    await page.type('#connect-form input[name=account]', account);
    await page.type('#connect-form textarea[name=secret]', secret);
    await click('#connect-submit');
    await waitText('#who', (t) => t.includes(`signing as ${account}`), `connecting ${account}`);
  };
  const go = async (hash, ready) => {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForSelector(ready, { timeout: 30000 });
  };

  // Overview: 4 validators, blocks advancing through the stream.
  await page.goto(`${url}#/overview`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => document.querySelectorAll('#validators tbody tr').length === 4, { timeout: 30000 });
  const first = Number(await waitText('#head-height', (t) => /^\d+$/.test(t.trim()), 'head height'));
  await waitText('#head-height', (t) => Number(t) >= first + 2, 'blocks advance');
  await page.waitForFunction(() => document.querySelectorAll('#blocks tbody tr').length >= 2, { timeout: 30000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#validators tbody tr')].every((r) => r.textContent.includes('signing')), { timeout: 30000 })
    .catch(async () => { throw new Error(`not every validator signing: ${await page.$$eval('#validators tbody tr', (rows) => rows.map((r) => r.textContent))}`); });
  await shot('overview');
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await shot('overview-phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 2) throw new Error(`the page is ${overflow}px wider than a phone`);
  await page.setViewport({ width: 1280, height: 900 });

  // Treasury: alice proposes minting `newco` (a TLA, through the registrar); a non-member's
  // confirm is refused with its message; bob confirms and it runs.
  await connect('alice.acme', keyOf('alice.acme'));
  await go('#/treasury', '#propose');
  await page.select('#propose select[name=kind]', 'mint');
  await page.type('#propose input[name=account]', 'newco');
  await page.type('#propose input[name=amount]', '5');
  await page.type('#propose input[name=key]', newcoPublic);
  await click('#propose button');
  const proposed = await flash((t) => t.includes('request'), 'proposing the mint');
  const id = proposed.match(/request (\d+) \(hash/)?.[1];
  if (!id || !proposed.includes('pending')) throw new Error(`proposal: ${proposed}`);
  await page.waitForSelector(`tr[data-request="${id}"] button.confirm`);
  const shownHash = await page.$eval(`tr[data-request="${id}"] button.confirm`, (b) => b.dataset.hash);
  await shot('treasury');
  await connect('acme', keyOf('acme'));
  await click(`tr[data-request="${id}"] button.confirm`);
  const refused = await flash((t) => t.includes('refused'), 'a non-member confirming');
  if (!refused.includes('acme is not a member of the treasury')) throw new Error(`non-member: ${refused}`);
  // Refused, it changed nothing: still one confirmation of two.
  await waitText(`tr[data-request="${id}"]`, (t) => t.includes('alice.acme (1/2)'), 'the request unchanged');
  // Bad keys are refused at connection with what is wrong: an unknown account, a key that is
  // not the account's.
  const connectError = async (account, secret, expected) => {
    await click('#connect-open');
    await page.$eval('#connect-form', (f) => f.reset());
    await page.type('#connect-form input[name=account]', account);
    await page.type('#connect-form textarea[name=secret]', secret);
    await click('#connect-submit');
    const shown = await waitText('#connect-error', (t) => t.length > 0, `connecting ${account}`);
    if (!shown.includes(expected)) throw new Error(`connecting ${account}: ${shown}`);
    await click('#connect-cancel');
  };
  await connectError('nobody.acme', keyOf('bob.acme'), 'account nobody.acme does not exist');
  await connectError('bob.acme', keyOf('alice.acme'), 'is not a key of bob.acme');
  // bob connects with his NEAR key file.
  await click('#connect-open');
  await page.$eval('#connect-form', (f) => f.reset());
  const upload = await page.$('#connect-form input[name=file]');
  await upload.uploadFile(join(accountsDir, 'bob.acme.json'));
  await click('#connect-submit');
  await waitText('#who', (t) => t.includes('signing as bob.acme'), 'connecting bob with a key file');
  await page.waitForSelector(`tr[data-request="${id}"] button.confirm`);
  await click(`tr[data-request="${id}"] button.confirm`);
  const executed = await flash((t) => t.includes('executed') || t.includes('refused'), 'bob confirming');
  if (!executed.includes('executed') || !executed.includes(shownHash)) throw new Error(`confirm: ${executed}`);
  // The outcome appears in the page for everyone, with what it did.
  await waitText(`#outcomes tr[data-done="${id}"]`, (t) => t.includes('executed') && t.includes('create_account'), 'the executed outcome');

  // Explorer: the new account, the transaction, the block.
  await go('#/explorer', '#search');
  await page.type('#search input[name=q]', 'newco');
  await click('#search button');
  await waitText('#balance', (t) => t.startsWith('5.0000 NEAR'), 'newco in the explorer');
  await shot('explorer-account');
  // The confirming transaction, found by its hash through the search box.
  const confirmTx = executed.match(/in transaction ([1-9A-HJ-NP-Za-km-z]{43,44})/)?.[1];
  if (!confirmTx) throw new Error(`no transaction hash in: ${executed}`);
  await page.$eval('#search input[name=q]', (i) => { i.value = ''; });
  await page.type('#search input[name=q]', confirmTx);
  await click('#search button');
  await page.waitForSelector('#tx-card', { timeout: 30000 });
  await waitText('#tx-card', (t) => t.includes('confirm') && t.includes('success') && t.includes('bob.acme'), 'the transaction page');
  await shot('explorer-transaction');
  // The block, found by its hash through the search box.
  const blockHash = await page.$eval('#tx-card a[href^="#/block/"]', (a) => a.getAttribute('href').slice('#/block/'.length));
  await page.$eval('#search input[name=q]', (i) => { i.value = ''; });
  await page.type('#search input[name=q]', blockHash);
  await click('#search button');
  await page.waitForSelector('#block-card', { timeout: 30000 });
  await waitText('#block-card', (t) => t.includes(blockHash) && t.includes(confirmTx), 'the block page lists the transaction');
  await shot('explorer-block');

  // Organizations: acme's admin invites newco, who accepts in the page; the admin creates a
  // credential, shown once, that works on this node (membership acme).
  await connect('acme', keyOf('acme'));
  await go('#/organizations', '.org[data-org="acme"] form.invite-user');
  await page.type('.org[data-org="acme"] form.invite-user input[name=account]', 'newco');
  await page.select('.org[data-org="acme"] form.invite-user select[name=role]', 'viewer');
  await click('.org[data-org="acme"] form.invite-user button');
  const invited = await flash((t) => t.includes('invitation'), 'inviting newco');
  const invitation = invited.match(/invitation (\d+):/)?.[1];
  if (!invitation) throw new Error(`invite: ${invited}`);
  await connect('newco', newcoSecret);
  await go('#/organizations', `#my-invitations tr[data-invitation="${invitation}"] button.accept`);
  await click(`#my-invitations tr[data-invitation="${invitation}"] button.accept`);
  await flash((t) => t.includes('accepting') && t.includes('done'), 'newco accepting');
  await waitText('.org[data-org="acme"]', (t) => t.includes('newco') && t.includes('viewer'), 'newco a viewer of acme');
  await connect('acme', keyOf('acme'));
  await go('#/organizations', '.org[data-org="acme"] form.set-role');
  await page.type('.org[data-org="acme"] form.set-role input[name=account]', 'newco');
  await page.select('.org[data-org="acme"] form.set-role select[name=role]', 'member');
  await click('.org[data-org="acme"] form.set-role button');
  await flash((t) => t.includes('role') && t.includes('done'), 'changing newco\'s role');
  await waitText('.org[data-org="acme"]', (t) => /newco\s*member/.test(t), 'newco a member of acme');
  await go('#/organizations', '.org[data-org="acme"] form.create-cred');
  await page.type('.org[data-org="acme"] form.create-cred input[name=username]', 'console-app');
  await page.select('.org[data-org="acme"] form.create-cred select[name=role]', 'read');
  await click('.org[data-org="acme"] form.create-cred button');
  await flash((t) => t.includes('created for membership acme'), 'creating a credential');
  const secretText = await waitText('#new-credential', (t) => t.includes('console-app:'), 'the password shown once');
  const credential = secretText.match(/console-app:([A-Za-z0-9_-]{43})/)?.[1];
  if (!credential) throw new Error(`credential: ${secretText}`);
  await shot('organizations');
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await shot('organizations-phone');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (wide > 2) throw new Error(`the organizations page is ${wide}px wider than a phone`);
  await page.setViewport({ width: 1280, height: 900 });
  const status = await fetch(origin, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`console-app:${credential}`).toString('base64')}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status', params: [] }),
  });
  if (status.status !== 200) throw new Error(`the new credential got HTTP ${status.status}: ${await status.text()}`);
  // A wrong password for it is refused, and the page counts the refusal against acme.
  const wrong = await fetch(origin, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`console-app:${'x'.repeat(43)}`).toString('base64')}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status', params: [] }),
  });
  if (wrong.status !== 401) throw new Error(`a wrong password got HTTP ${wrong.status}`);
  await go('#/overview', '#validators');
  await go('#/organizations', '.org[data-org="acme"]');
  await waitText('.org[data-org="acme"]', (t) => t.includes('refused here: 1 unauthorized'), 'the refusal counted');
  // A bad input is refused in the page with a clear message, before anything is signed.
  await page.type('.org[data-org="acme"] form.invite-user input[name=account]', 'Not An Account');
  await click('.org[data-org="acme"] form.invite-user button');
  const bad = await flash((t) => t.includes('refused'), 'a bad account id');
  if (!bad.includes('is not an account id')) throw new Error(`bad account id: ${bad}`);
  // The overview again, after all of it (the README's picture).
  await go('#/overview', '#validators');
  await new Promise((r) => setTimeout(r, 2500));
  await shot('overview-later');
  if (failures.length) throw new Error(failures.join('\n'));
  console.log(`console: overview, treasury (request ${id}), explorer, organizations (invitation ${invitation}, credential console-app) all passed`);
} finally {
  await browser.close();
}
