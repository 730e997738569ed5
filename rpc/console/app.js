// The workspace console: overview, explorer, treasury and organizations, over the node's own
// JSON-RPC (`POST /`), its console API (`/console/api/*`) and its block stream
// (`/console/events`). Transactions are signed here with a key connected for this page only.

import { b58decode, drawPassword, functionCall, parseKey, sha256, b58encode, signerFromSecret, signTransaction, base64 } from './near.js';

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const YOCTO = 10n ** 24n;
const state = { overview: null, key: null, blocks: [], treasury: 'treasury', registrar: 'registrar', workspace: 'workspace', shownOnce: null };

// ---- talking to the node

async function rpc(method, params) {
  const r = await fetch('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'console', method, params }) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `the node answered HTTP ${r.status}`);
  if (body.error) throw new Error(rpcMessage(body.error));
  return body.result;
}

function rpcMessage(e) {
  const info = e.cause?.info || {};
  if (e.data && typeof e.data === 'object') {
    const inner = e.data.TxExecutionError?.InvalidTxError ?? e.data.TxExecutionError ?? e.data;
    return `${e.cause?.name ?? e.name}: ${typeof inner === 'string' ? inner : JSON.stringify(inner)}`;
  }
  if (e.cause?.name === 'UNKNOWN_ACCOUNT') return `account ${info.requested_account_id} does not exist`;
  if (e.cause?.name === 'UNKNOWN_ACCESS_KEY') return `that key is not a key of ${info.requested_account_id ?? 'the account'}`;
  return typeof e.data === 'string' ? e.data : (info.vm_error || e.message || JSON.stringify(e));
}

async function api(path) {
  const r = await fetch(`/console/api/${path}`);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `HTTP ${r.status}`);
  return body;
}

async function view(account, method, args = {}) {
  const r = await rpc('query', { request_type: 'call_function', finality: 'final', account_id: account, method_name: method, args_base64: base64(new TextEncoder().encode(JSON.stringify(args))) });
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(r.result)));
}

const account = (id) => rpc('query', { request_type: 'view_account', finality: 'final', account_id: id });

/// Signs `actions` to `receiver` with the connected key and waits for the final outcome;
/// returns the decoded success value, or throws the refusal's message.
async function send(receiver, actions) {
  if (!state.key) throw new Error('connect a key first');
  const k = state.key;
  const access = await rpc('query', { request_type: 'view_access_key', finality: 'final', account_id: k.account, public_key: k.signer.publicKeyText });
  const head = await rpc('block', { finality: 'final' });
  const tx = { signerId: k.account, nonce: BigInt(access.nonce) + 1n, receiverId: receiver, blockHash: b58decode(head.header.hash), actions };
  const { signed, hash } = await signTransaction(k.signer, tx);
  const out = await rpc('send_tx', { signed_tx_base64: base64(signed), wait_until: 'FINAL' });
  const status = out.status || {};
  if ('SuccessValue' in status) {
    const text = atob(status.SuccessValue);
    return { hash, value: text ? JSON.parse(text) : null };
  }
  const kind = status.Failure?.ActionError?.kind || status.Failure;
  const message = kind?.FunctionCallError?.ExecutionError || JSON.stringify(kind);
  const e = new Error(message);
  e.hash = hash;
  throw e;
}

// ---- the page frame

function flash(text, ok = true) {
  const f = $('#flash');
  f.className = ok ? 'ok' : 'error';
  f.textContent = text;
}

/// Runs an action from a button or form: shows its result or its error; never throws. Every
/// button is disabled meanwhile, so nothing is sent twice.
async function act(what, fn) {
  flash(`${what}...`);
  const buttons = [...document.querySelectorAll('main button')];
  for (const b of buttons) b.disabled = true;
  try {
    const result = await fn();
    flash(`${what}: done${result ? `\n${result}` : ''}`);
    await render();
  } catch (e) {
    flash(`${what} refused: ${e.message}`, false);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

const ACCOUNT_ID = /^(?=.{2,64}$)(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/;

/// An account id typed into a form, checked before anything is signed.
function accountId(value, what) {
  const v = need(value, what);
  if (!ACCOUNT_ID.test(v)) throw new Error(`\`${v}\` is not an account id (2 to 64 of a-z, 0-9, - and _, parts joined by dots)`);
  return v;
}

function page() {
  const [, name = 'overview', ...rest] = location.hash.split('/');
  let arg = rest.join('/');
  try { arg = decodeURIComponent(arg); } catch { /* shown as typed */ }
  return { name, arg };
}

async function render() {
  const { name, arg } = page();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name || (name !== 'overview' && ['block', 'tx', 'account'].includes(name) && a.dataset.page === 'explorer'));
  for (const s of document.querySelectorAll('.page')) s.classList.remove('active');
  const explorerPage = ['explorer', 'block', 'tx', 'account'].includes(name);
  const section = $(`#page-${explorerPage ? 'explorer' : name}`) || $('#page-overview');
  section.classList.add('active');
  try {
    if (name === 'overview') await renderOverview(section);
    else if (explorerPage) await renderExplorer(section, name, arg);
    else if (name === 'treasury') await renderTreasury(section);
    else if (name === 'organizations') await renderOrganizations(section);
  } catch (e) {
    section.innerHTML = `<div class="card error">${esc(e.message)}</div>`;
  }
}

// ---- overview

async function loadOverview() {
  state.overview = await api('overview');
  const o = state.overview;
  state.treasury = o.treasury_account_id;
  state.registrar = o.registrar_account_id;
  state.workspace = o.workspace.account_id;
  $('#title').textContent = `${o.workspace.name} · ${o.chain_id}`;
  return o;
}

function chart(values, label) {
  if (values.length < 2) return `<p class="muted">${esc(label)}: waiting for blocks</p>`;
  const max = Math.max(...values, 1);
  const pts = values.map((v, i) => `${(i / (values.length - 1)) * 300},${100 - (v / max) * 95}`).join(' ');
  return `<p class="muted">${esc(label)} (last ${values.length} blocks, max ${Math.round(max)})</p><svg class="chart" viewBox="0 0 300 100" preserveAspectRatio="none"><polyline points="${pts}"/></svg>`;
}

async function renderOverview(section) {
  const o = await loadOverview();
  const rows = o.validators.map((v) => `<tr data-validator="${esc(v.account_id)}"><td><a href="#/account/${esc(v.account_id)}">${esc(v.account_id)}</a>${v.this_node ? ' <span class="badge">this node</span>' : ''}</td>
    <td class="hide-narrow">${esc(v.organization ?? '-')}</td><td class="num">${esc(v.last_signed ?? '-')}</td><td class="num">${esc(v.missed)} / ${esc(v.window)}</td>
    <td class="hide-narrow">${v.connected ? 'yes' : 'no'}</td><td><span class="badge ${esc(v.status)}">${esc(v.status)}</span></td></tr>`).join('');
  const orgs = o.organizations.map((g) => `<tr><td>${esc(g.id)}</td><td>${esc(g.name)}</td><td class="num">${Object.keys(g.members).length}</td><td>${esc(g.validators.join(', ') || '-')}</td></tr>`).join('');
  const blocks = state.blocks.slice(-15).reverse().map((b) => `<tr><td class="num"><a href="#/block/${b.height}">${b.height}</a></td><td class="mono hide-narrow">${esc(b.hash.slice(0, 12))}…</td><td>${esc(b.author)}</td><td class="num">${b.txs}</td><td class="num">${b.interval_ms ?? '-'} ms</td></tr>`).join('');
  const recent = state.blocks.slice(-60);
  const tps = recent.filter((b) => b.interval_ms).map((b) => (b.txs * 1000) / b.interval_ms);
  const finality = recent.filter((b) => b.finality_ms != null).map((b) => b.finality_ms);
  section.innerHTML = `
    <div class="grid">
      <div class="card"><h2>Chain</h2><div class="stat" id="chain-id">${esc(o.chain_id)}</div><div class="muted">workspace ${esc(o.workspace.name)}</div></div>
      <div class="card"><h2>Head</h2><div class="stat" id="head-height">${esc(state.blocks.at(-1)?.height ?? o.head.height)}</div><div class="muted">final (BFT)</div></div>
      <div class="card"><h2>This node</h2><div>${esc(o.node.account_id ?? 'observer')} · ${o.node.syncing ? 'syncing' : 'in sync'}</div><div class="muted">${o.node.peers} peers (${o.node.peers_needed} needed) · membership ${esc(o.node.membership ?? 'none')}</div></div>
    </div>
    <div class="card"><h2>Validators (${o.validators.length})</h2><table id="validators"><thead><tr><th>account</th><th class="hide-narrow">organization</th><th class="num">last signed</th><th class="num">not in certificate</th><th class="hide-narrow">connected here</th><th>status</th></tr></thead><tbody>${rows}</tbody></table>
      <p class="muted">From the commit certificates of the last ${esc(o.validators[0]?.window ?? 0)} blocks: "missed" counts precommits not in a certificate (it holds the quorum that arrived first). "Connected here" is this node's view.</p></div>
    <div class="card"><h2>Organizations</h2><table><thead><tr><th>id</th><th>name</th><th class="num">members</th><th>validators</th></tr></thead><tbody>${orgs}</tbody></table></div>
    <div class="grid"><div class="card"><h2>Throughput</h2>${chart(tps, 'transactions per second')}</div><div class="card"><h2>Finality</h2>${chart(finality, 'block time to final here, ms')}</div></div>
    <div class="card"><h2>Live blocks</h2><table id="blocks"><thead><tr><th class="num">height</th><th class="hide-narrow">hash</th><th>proposer</th><th class="num">txs</th><th class="num">interval</th></tr></thead><tbody>${blocks}</tbody></table></div>`;
}

function listen() {
  const events = new EventSource('/console/events');
  events.onerror = () => flash('the block stream was interrupted; the browser reconnects by itself', false);
  events.onopen = () => { if ($('#flash').textContent.startsWith('the block stream')) flash(''); };
  events.addEventListener('block', (e) => {
    const b = JSON.parse(e.data);
    // A reconnect replays recent heights: keep one entry per height, in order.
    if (state.blocks.length && b.height <= state.blocks.at(-1).height) return;
    state.blocks.push(b);
    if (state.blocks.length > 300) state.blocks.shift();
    if (page().name === 'overview') {
      const h = $('#head-height');
      if (h) h.textContent = state.blocks.at(-1).height;
      throttledOverview();
    }
  });
}

let overviewPending = false;
function throttledOverview() {
  if (overviewPending) return;
  overviewPending = true;
  setTimeout(async () => {
    overviewPending = false;
    if (page().name === 'overview' && !document.activeElement?.closest?.('form')) await renderOverview($('#page-overview')).catch(() => {});
  }, 1000);
}

// ---- explorer

const formatNear = (yocto) => {
  const v = BigInt(yocto);
  const whole = v / YOCTO;
  const frac = (v % YOCTO).toString().padStart(24, '0').slice(0, 4);
  return `${whole}.${frac} NEAR`;
};

function describeAction(a) {
  if (typeof a === 'string') return a;
  const [kind, body] = Object.entries(a)[0];
  if (kind === 'Transfer') return `Transfer ${formatNear(body.deposit)}`;
  if (kind === 'FunctionCall') {
    let args = '';
    try { args = atob(body.args); } catch { args = body.args; }
    return `FunctionCall ${body.method_name}(${args})${body.deposit !== '0' ? ` with ${formatNear(body.deposit)}` : ''}`;
  }
  return `${kind} ${JSON.stringify(body)}`;
}

async function renderExplorer(section, kind, arg) {
  const search = `<form class="inline card" id="search"><label>Block height or hash, transaction hash, or account id<input name="q" size="48" value="${esc(arg)}"></label><button>Search</button></form>`;
  let body = '<p class="muted">Search for something.</p>';
  if (kind === 'block') body = await blockCard(arg);
  if (kind === 'tx') body = await txCard(arg);
  if (kind === 'account') body = await accountCard(arg);
  section.innerHTML = search + body;
  $('#search', section).addEventListener('submit', (e) => {
    e.preventDefault();
    find(new FormData(e.target).get('q').trim());
  });
}

async function find(q) {
  if (!q) return;
  if (/^\d+$/.test(q)) { location.hash = `#/block/${q}`; return; }
  if (/^[1-9A-HJ-NP-Za-km-z]{43,44}$/.test(q)) {
    const isBlock = await rpc('block', { block_id: q }).then(() => true, () => false);
    location.hash = isBlock ? `#/block/${q}` : `#/tx/${q}`;
    return;
  }
  location.hash = `#/account/${q}`;
}

async function blockCard(id) {
  const b = await rpc('block', { block_id: /^\d+$/.test(id) ? Number(id) : id }).catch((e) => { throw new Error(`block ${id}: ${e.message}`); });
  const chunk = await rpc('chunk', { chunk_id: b.chunks[0].chunk_hash });
  const txs = chunk.transactions.map((t) => `<tr><td class="mono"><a href="#/tx/${esc(t.hash)}">${esc(t.hash)}</a></td><td>${esc(t.signer_id)}</td><td>${esc(t.receiver_id)}</td></tr>`).join('');
  return `<div class="card" id="block-card"><h2>Block ${esc(b.header.height)}</h2><table>
    <tr><th>hash</th><td class="mono">${esc(b.header.hash)}</td></tr><tr><th>proposer</th><td>${esc(b.author)}</td></tr>
    <tr><th>time</th><td>${esc(new Date(Number(BigInt(b.header.timestamp) / 1000000n)).toISOString())}</td></tr>
    <tr><th>previous</th><td class="mono"><a href="#/block/${esc(b.header.prev_hash)}">${esc(b.header.prev_hash)}</a></td></tr></table>
    <h3>Transactions (${chunk.transactions.length})</h3><table><thead><tr><th>hash</th><th>signer</th><th>receiver</th></tr></thead><tbody>${txs}</tbody></table></div>`;
}

async function txCard(hash) {
  const t = await rpc('tx', { tx_hash: hash, wait_until: 'NONE' }).catch((e) => { throw new Error(`transaction ${hash}: ${e.message}`); });
  const tx = t.transaction;
  const status = t.status.SuccessValue !== undefined ? `success${t.status.SuccessValue ? `: ${atob(t.status.SuccessValue)}` : ''}` : `failure: ${JSON.stringify(t.status.Failure)}`;
  const block = t.transaction_outcome.block_hash;
  const logs = t.receipts_outcome.flatMap((r) => r.outcome.logs);
  return `<div class="card" id="tx-card"><h2>Transaction</h2><table>
    <tr><th>hash</th><td class="mono">${esc(tx.hash)}</td></tr><tr><th>signer</th><td><a href="#/account/${esc(tx.signer_id)}">${esc(tx.signer_id)}</a></td></tr>
    <tr><th>receiver</th><td><a href="#/account/${esc(tx.receiver_id)}">${esc(tx.receiver_id)}</a></td></tr>
    <tr><th>actions</th><td>${tx.actions.map((a) => esc(describeAction(a))).join('<br>')}</td></tr>
    <tr><th>outcome</th><td class="${t.status.SuccessValue !== undefined ? 'ok' : 'error'}">${esc(status)}</td></tr>
    <tr><th>logs</th><td>${logs.map(esc).join('<br>') || '-'}</td></tr>
    <tr><th>block</th><td class="mono"><a href="#/block/${esc(block)}">${esc(block)}</a></td></tr></table></div>`;
}

async function accountCard(id) {
  const a = await account(id).catch((e) => { throw new Error(`account ${id}: ${e.message}`); });
  const keys = await rpc('query', { request_type: 'view_access_key_list', finality: 'final', account_id: id });
  const recent = await api(`account/${encodeURIComponent(id)}/transactions`);
  const keyRows = keys.keys.map((k) => `<tr><td class="mono">${esc(k.public_key)}</td><td>${k.access_key.permission === 'FullAccess' ? 'full access' : `function call: ${esc(k.access_key.permission.FunctionCall.receiver_id)}`}</td></tr>`).join('');
  const txRows = recent.transactions.map((t) => `<tr><td class="num"><a href="#/block/${t.height}">${t.height}</a></td><td class="mono"><a href="#/tx/${esc(t.hash)}">${esc(t.hash.slice(0, 16))}…</a></td><td>${esc(t.signer_id)} → ${esc(t.receiver_id)}</td><td>${esc(t.actions.join(', '))}</td></tr>`).join('');
  return `<div class="card" id="account-card"><h2>Account ${esc(id)}</h2><table>
    <tr><th>balance</th><td id="balance">${esc(formatNear(a.amount))} <span class="muted">(${esc(a.amount)} yocto)</span></td></tr>
    <tr><th>locked</th><td>${esc(formatNear(a.locked))}</td></tr><tr><th>module</th><td class="mono">${esc(a.code_hash)}</td></tr></table>
    <h3>Keys</h3><table>${keyRows}</table>
    <h3>Recent transactions <span class="muted">(last ${recent.blocks_scanned} blocks)</span></h3><table><tbody>${txRows || '<tr><td class="muted">none</td></tr>'}</tbody></table></div>`;
}

// ---- treasury

function describeRequest(r) {
  return r.actions.map((a) => {
    switch (a.type) {
      case 'Transfer': return `transfer ${formatNear(a.amount)} to ${r.receiver_id}`;
      case 'FunctionCall': {
        let args = a.args;
        try { args = atob(a.args); } catch { /* shown raw */ }
        let parsed = {};
        try { parsed = JSON.parse(args); } catch { /* not JSON */ }
        const funds = a.deposit !== '0' ? ` with ${formatNear(a.deposit)}` : '';
        if (r.receiver_id === state.registrar && a.method_name === 'create_account') return `mint top-level account ${parsed.new_account_id} (key ${parsed.new_public_key})${funds}`;
        if (r.receiver_id === state.workspace && a.method_name === 'invite_organization') return `invite organization ${parsed.org_id} (${parsed.name}) with admin ${parsed.admin}`;
        return `call ${r.receiver_id}.${a.method_name}(${args})${funds}`;
      }
      case 'AddValidator': return `add validator ${a.validator.account_id} for organization ${a.organization}`;
      case 'RemoveValidator': return `remove validator ${a.account_id}`;
      case 'ReplaceValidator': return `replace validator ${a.account_id} by ${a.validator.account_id}`;
      case 'RemoveOrganization': return `remove organization ${a.org_id} and its validators`;
      case 'AddMember': return `add member ${a.member.account_id ?? a.member.public_key}`;
      case 'DeleteMember': return `delete member ${a.member.account_id ?? a.member.public_key}`;
      case 'SetNumConfirmations': return `require ${a.num_confirmations} confirmations`;
      case 'CreateAccount': return `create account ${r.receiver_id}`;
      default: return `${a.type} ${JSON.stringify(a)}`;
    }
  }).join('; ');
}

const member = (m) => m.account_id ?? m.public_key;

async function renderTreasury(section) {
  if (!state.overview) await loadOverview();
  const t = state.treasury;
  const [members, k, ids, head] = await Promise.all([view(t, 'get_members'), view(t, 'get_num_confirmations'), view(t, 'list_request_ids'), rpc('block', { finality: 'final' })]);
  const requests = await Promise.all(ids.map((id) => view(t, 'get_request', { request_id: id })));
  // The last ten that are no longer pending, with their outcome (deleted ones are gone).
  const nonce = await view(t, 'get_request_nonce');
  const doneIds = [];
  for (let i = nonce - 1; i >= 0 && doneIds.length < 10; i--) if (!ids.includes(i)) doneIds.push(i);
  const done = (await Promise.all(doneIds.map((id) => view(t, 'get_request', { request_id: id }).catch(() => null)))).filter(Boolean);
  const doneRows = done.map((r) => `<tr data-done="${r.request_id}"><td class="num">${r.request_id}</td><td class="wrap">${esc(describeRequest(r))}</td>
    <td class="${r.outcome.status === 'executed' ? 'ok' : 'error'}">${esc(r.outcome.status)}${r.outcome.height ? ` at ${r.outcome.height}` : ''}</td>
    <td class="wrap">${esc((r.outcome.logs || []).join('; ') || r.outcome.error || '')}</td></tr>`).join('');
  const rows = requests.map((r) => `<tr data-request="${r.request_id}"><td class="num">${r.request_id}</td><td class="wrap">${esc(describeRequest(r))}</td><td>${esc(member(r.proposer))}</td>
    <td>${esc(r.confirmations.map(member).join(', '))} (${r.confirmations.length}/${k})</td><td class="num">${r.expires_after_height} <span class="muted">(${Math.max(0, r.expires_after_height - head.header.height)} blocks)</span></td>
    <td class="mono wrap">${esc(r.hash)}</td><td><button class="confirm" data-id="${r.request_id}" data-hash="${esc(r.hash)}">Confirm</button></td></tr>`).join('');
  section.innerHTML = `
    <div class="grid"><div class="card"><h2>Members</h2><div id="members">${members.map((m) => esc(member(m))).join('<br>')}</div></div>
      <div class="card"><h2>Threshold</h2><div class="stat">${k} of ${members.length}</div></div></div>
    <div class="card"><h2>Pending requests</h2><table id="requests"><thead><tr><th class="num">id</th><th>actions</th><th>proposer</th><th>confirmed by</th><th class="num">expires after</th><th>hash signed for</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="7" class="muted">none</td></tr>'}</tbody></table></div>
    <div class="card"><h2>Recent outcomes</h2><table id="outcomes"><thead><tr><th class="num">id</th><th>actions</th><th>outcome</th><th>logs or error</th></tr></thead><tbody>${doneRows || '<tr><td colspan="4" class="muted">none yet</td></tr>'}</tbody></table></div>
    <div class="card"><h2>Propose</h2>
      <form class="inline" id="propose">
        <label>kind<select name="kind">
          <option value="mint">mint a top-level account</option><option value="transfer">transfer</option>
          <option value="add_validator">add a validator</option><option value="remove_validator">remove a validator</option>
          <option value="add_member">add a member</option><option value="delete_member">delete a member</option><option value="set_k">change K</option>
          <option value="invite_org">invite an organization</option><option value="remove_org">remove an organization</option></select></label>
        <label>account / receiver / org id<input name="account" autocomplete="off"></label>
        <label>amount (NEAR) / K<input name="amount" autocomplete="off"></label>
        <label>public key / consensus key / admin<input name="key" autocomplete="off"></label>
        <label>peer id / organization name<input name="peer" autocomplete="off"></label>
        <label>address / organization<input name="address" autocomplete="off"></label>
        <button>Propose and confirm</button>
      </form><p class="muted">Mint: account, amount, public key. Transfer: receiver, amount. Add validator: account, consensus key, peer id, address, organization (in "address / organization" after a space). Members: an account id or an ed25519 public key. Invite an organization: org id, admin, name.</p></div>`;
  $('#propose', section).addEventListener('submit', (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target));
    act('proposing', async () => {
      const request = buildRequest(f);
      const { value, hash } = await send(t, [functionCall('add_request_and_confirm', { request })]);
      const r = await view(t, 'get_request', { request_id: value });
      return `request ${value} (hash ${r.hash}), transaction ${hash}: ${r.outcome.status}${r.outcome.logs ? `\n${r.outcome.logs.join('\n')}` : ''}${r.outcome.error ? `\n${r.outcome.error}` : ''}`;
    });
  });
  for (const b of section.querySelectorAll('button.confirm')) {
    b.addEventListener('click', () => act(`confirming request ${b.dataset.id}`, async () => {
      const { hash } = await send(t, [functionCall('confirm', { request_id: Number(b.dataset.id), hash: b.dataset.hash })]);
      const r = await view(t, 'get_request', { request_id: Number(b.dataset.id) });
      return `signed for request hash ${b.dataset.hash} in transaction ${hash}: ${r.outcome.status}${r.outcome.logs ? `\n${r.outcome.logs.join('\n')}` : ''}${r.outcome.error ? `\n${r.outcome.error}` : ''}`;
    }));
  }
}

function toYocto(near) {
  const m = String(near ?? '').trim().match(/^(\d+)(?:\.(\d{1,24}))?$/);
  if (!m) throw new Error(`\`${near}\` is not an amount in NEAR (like 12.5)`);
  return (BigInt(m[1]) * YOCTO + BigInt((m[2] ?? '').padEnd(24, '0'))).toString();
}

function asMember(text) {
  const v = String(text ?? '').trim();
  if (!v) throw new Error('name the member: an account id or an ed25519 public key');
  if (v.startsWith('ed25519:')) { parseKey(v, 32, 'the public key'); return { public_key: v }; }
  return { account_id: v };
}

function need(value, what) {
  const v = String(value ?? '').trim();
  if (!v) throw new Error(`${what} is needed`);
  return v;
}

function buildRequest(f) {
  const t = state.treasury;
  const b64 = (args) => base64(new TextEncoder().encode(JSON.stringify(args)));
  const call = (method, args, deposit = '0') => ({ type: 'FunctionCall', method_name: method, args: b64(args), deposit, gas: '100000000000000' });
  switch (f.kind) {
    case 'mint': {
      const id = need(f.account, 'the new account id');
      if (id.includes('.')) throw new Error(`${id} is not a top-level account id (no dot)`);
      parseKey(need(f.key, 'its public key'), 32, 'the public key');
      return { receiver_id: state.registrar, actions: [call('create_account', { new_account_id: id, new_public_key: f.key.trim() }, toYocto(f.amount || '0'))] };
    }
    case 'transfer': return { receiver_id: accountId(f.account, 'the receiver'), actions: [{ type: 'Transfer', amount: toYocto(f.amount) }] };
    case 'add_validator': {
      const [address, organization] = need(f.address, 'the address and organization').split(/\s+/);
      parseKey(need(f.key, 'the consensus key'), 32, 'the consensus key');
      return { receiver_id: t, actions: [{ type: 'AddValidator', validator: { account_id: need(f.account, 'the validator account'), consensus_key: f.key.trim(), peer_id: need(f.peer, 'the peer id'), address }, organization: need(organization, 'the organization') }] };
    }
    case 'remove_validator': return { receiver_id: t, actions: [{ type: 'RemoveValidator', account_id: need(f.account, 'the validator account') }] };
    case 'add_member': return { receiver_id: t, actions: [{ type: 'AddMember', member: asMember(f.account || f.key) }] };
    case 'delete_member': return { receiver_id: t, actions: [{ type: 'DeleteMember', member: asMember(f.account || f.key) }] };
    case 'set_k': {
      const k = Number(need(f.amount, 'K'));
      if (!Number.isInteger(k) || k < 1) throw new Error(`K must be a whole number of at least 1, not ${f.amount}`);
      return { receiver_id: t, actions: [{ type: 'SetNumConfirmations', num_confirmations: k }] };
    }
    case 'invite_org': return { receiver_id: state.workspace, actions: [call('invite_organization', { org_id: need(f.account, 'the organization id'), name: need(f.peer, 'its name'), admin: need(f.key, 'its admin account') })] };
    case 'remove_org': return { receiver_id: t, actions: [{ type: 'RemoveOrganization', org_id: need(f.account, 'the organization id') }] };
    default: throw new Error(`unknown kind ${f.kind}`);
  }
}

// ---- organizations and access

async function renderOrganizations(section) {
  if (!state.overview) await loadOverview();
  const w = state.workspace;
  const [orgs, invitations, access] = await Promise.all([view(w, 'get_organizations'), view(w, 'get_invitations'), api('access')]);
  const me = state.key?.account;
  const mine = invitations.filter((i) => i.invitee === me && i.status === 'pending');
  const cards = await Promise.all(orgs.map(async (o) => {
    const credentials = await view(w, 'get_credentials', { org_id: o.id });
    const role = o.members[me];
    const members = Object.entries(o.members).map(([a, r]) => `<tr><td>${esc(a)}</td><td>${esc(r)}</td></tr>`).join('');
    const invs = invitations.filter((i) => i.org_id === o.id).map((i) => `<tr><td class="num">${i.id}</td><td>${esc(i.kind)}</td><td>${esc(i.invitee)}</td><td>${esc(i.role ?? 'admin')}</td><td>${esc(i.status)}</td><td class="num">${i.expires_at}</td>
      <td>${i.status === 'pending' && role === 'admin' && i.kind === 'user' ? `<button class="secondary revoke-inv" data-id="${i.id}">Revoke</button>` : ''}</td></tr>`).join('');
    const creds = credentials.map((c) => `<tr><td>${esc(c.username)}</td><td>${esc(c.role)}</td><td>${esc(c.created_by)}</td><td>${c.revoked_at == null ? 'active' : `revoked at ${c.revoked_at}`}</td>
      <td>${c.revoked_at == null && (role === 'admin' || role === 'operator') ? `<button class="secondary revoke-cred" data-org="${esc(o.id)}" data-user="${esc(c.username)}">Revoke</button>` : ''}</td></tr>`).join('');
    const rejected = access.rejections[o.id] || {};
    return `<div class="card org" data-org="${esc(o.id)}"><h2>${esc(o.name)} <span class="muted">${esc(o.id)}</span>${role ? ` <span class="badge">you: ${esc(role)}</span>` : ''}</h2>
      <p class="muted">validators: ${esc(o.validators.join(', ') || 'none')} · limits here: ${access.limits.requests_per_sec_per_node} requests/s, ${access.limits.max_connections_per_node} connections · refused here: ${rejected.unauthorized ?? 0} unauthorized, ${rejected.forbidden ?? 0} forbidden, ${rejected.rate_limited ?? 0} over a limit</p>
      <h3>Members</h3><table><tbody>${members}</tbody></table>
      <h3>Invitations</h3><table><thead><tr><th class="num">id</th><th>kind</th><th>invitee</th><th>role</th><th>status</th><th class="num">expires</th><th></th></tr></thead><tbody>${invs || '<tr><td class="muted">none</td></tr>'}</tbody></table>
      <h3>Credentials</h3><table><thead><tr><th>username</th><th>role</th><th>created by</th><th>state</th><th></th></tr></thead><tbody>${creds || '<tr><td class="muted">none</td></tr>'}</tbody></table>
      <form class="inline invite-user"><label>invite account<input name="account" autocomplete="off"></label><label>role<select name="role"><option>member</option><option>viewer</option><option>operator</option><option>admin</option></select></label><button>Invite</button></form>
      <form class="inline set-role"><label>member<input name="account" autocomplete="off"></label><label>new role<select name="role"><option>member</option><option>viewer</option><option>operator</option><option>admin</option></select></label><button>Change role</button></form>
      <form class="inline create-cred"><label>credential username<input name="username" autocomplete="off"></label><label>role<select name="role"><option>read</option><option>submit</option><option>admin</option></select></label><button>Create credential</button></form>
      <div class="secret-slot"></div></div>`;
  }));
  const pending = mine.map((i) => `<tr data-invitation="${i.id}"><td>${esc(i.kind === 'organization' ? `found organization ${i.org_id} (${i.name})` : `join ${i.org_id} as ${i.role}`)}</td><td>from ${esc(i.inviter)}</td>
    <td><button class="accept" data-id="${i.id}">Accept</button> <button class="secondary decline" data-id="${i.id}">Decline</button></td></tr>`).join('');
  section.innerHTML = `<div class="card"><h2>Your invitations</h2>${me ? `<table id="my-invitations">${pending || '<tr><td class="muted">none pending</td></tr>'}</table>` : '<p class="muted">Connect a key to see invitations made to you.</p>'}
    <p class="muted">Membership of this node: ${esc(access.membership ?? 'none')}.</p></div>${cards.join('')}`;
  if (state.shownOnce) {
    const { org, username, password } = state.shownOnce;
    state.shownOnce = null;
    const slot = $(`.org[data-org="${CSS.escape(org)}"] .secret-slot`, section);
    if (slot) slot.innerHTML = `<p class="secret" id="new-credential">Shown once, keep it now: <code>${esc(username)}:${esc(password)}</code><br><span class="muted">Send it as HTTP Basic credentials to ${esc(org)}'s nodes.</span></p>`;
  }
  const call = (method, args) => send(w, [functionCall(method, args)]);
  for (const b of section.querySelectorAll('button.accept')) b.addEventListener('click', () => act(`accepting invitation ${b.dataset.id}`, () => call('accept_invitation', { invitation_id: Number(b.dataset.id) }).then(() => '')));
  for (const b of section.querySelectorAll('button.decline')) b.addEventListener('click', () => act(`declining invitation ${b.dataset.id}`, () => call('decline_invitation', { invitation_id: Number(b.dataset.id) }).then(() => '')));
  for (const b of section.querySelectorAll('button.revoke-inv')) b.addEventListener('click', () => act(`revoking invitation ${b.dataset.id}`, () => call('revoke_invitation', { invitation_id: Number(b.dataset.id) }).then(() => '')));
  for (const b of section.querySelectorAll('button.revoke-cred')) b.addEventListener('click', () => act(`revoking credential ${b.dataset.user}`, () => call('revoke_credential', { org_id: b.dataset.org, username: b.dataset.user }).then(() => '')));
  for (const card of section.querySelectorAll('.org')) {
    const org = card.dataset.org;
    const on = (sel, fn) => $(sel, card).addEventListener('submit', (e) => { e.preventDefault(); fn(Object.fromEntries(new FormData(e.target))); });
    on('form.invite-user', (f) => act(`inviting ${f.account} into ${org}`, async () => {
      const { value } = await call('invite_user', { org_id: org, account_id: accountId(f.account, 'the account to invite'), role: f.role });
      return `invitation ${value}: ${f.account} accepts it on this page with their key`;
    }));
    on('form.set-role', (f) => act(`changing ${f.account}'s role`, () => call('set_role', { org_id: org, account_id: accountId(f.account, 'the member'), role: f.role }).then(() => '')));
    on('form.create-cred', (f) => act(`creating credential ${f.username}`, async () => {
      const password = drawPassword();
      const hash = b58encode(await sha256(new TextEncoder().encode(password)));
      await call('create_credential', { org_id: org, username: need(f.username, 'a username'), role: f.role, password_sha256: hash });
      // Shown by the refresh that follows, once, then forgotten.
      state.shownOnce = { org, username: f.username, password };
      return `credential ${f.username} created for membership ${org}`;
    }));
  }
}

// ---- key connection

async function connect(form) {
  const f = new FormData(form);
  let accountId = String(f.get('account') || '').trim();
  let secret = String(f.get('secret') || '').trim();
  const file = f.get('file');
  if (file && file.size) {
    let parsed;
    try { parsed = JSON.parse(await file.text()); } catch { throw new Error('the key file is not JSON'); }
    accountId = accountId || parsed.account_id;
    secret = parsed.secret_key || parsed.private_key;
    if (!secret) throw new Error('the key file has no secret_key or private_key');
  }
  if (!accountId) throw new Error('name the account');
  if (!ACCOUNT_ID.test(accountId)) throw new Error(`\`${accountId}\` is not an account id`);
  if (!secret) throw new Error('paste the secret key or choose a key file');
  const signer = await signerFromSecret(secret);
  await account(accountId);
  await rpc('query', { request_type: 'view_access_key', finality: 'final', account_id: accountId, public_key: signer.publicKeyText })
    .catch(() => { throw new Error(`${signer.publicKeyText} is not a key of ${accountId}`); });
  state.key = { account: accountId, signer };
}

function setupConnect() {
  const dialog = $('#connect');
  const form = $('#connect-form');
  $('#connect-open').addEventListener('click', () => { $('#connect-error').textContent = ''; dialog.showModal(); });
  $('#connect-cancel').addEventListener('click', () => dialog.close());
  $('#disconnect').addEventListener('click', () => { state.key = null; $('#who').textContent = 'no key connected'; dialog.close(); render(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    $('#connect-error').textContent = '';
    try {
      await connect(form);
      form.reset();
      dialog.close();
      $('#who').textContent = `signing as ${state.key.account}`;
      render();
    } catch (err) {
      $('#connect-error').textContent = err.message;
    }
  });
}

setupConnect();
listen();
window.addEventListener('hashchange', () => { flash(''); render(); });
render();
