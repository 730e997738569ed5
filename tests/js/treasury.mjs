// A treasury request from near-api-js 7.2.0, unmodified: alice proposes and confirms minting
// a top-level account through the registrar, bob confirms, the views show the outcome and
// the new account exists; then a stale cached nonce is recovered from; then the workspace's
// invitations, with a refusal named in the error.
// Usage: node treasury.mjs RPC_URL ALICE_JSON BOB_JSON NEW_ACCOUNT NEW_PUBLIC_KEY
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Account, JsonRpcProvider } from 'near-api-js';

const [url, aliceFile, bobFile, newId, newKey] = process.argv.slice(2);
const provider = new JsonRpcProvider({ url });
const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const [a, b] = [load(aliceFile), load(bobFile)];
const alice = new Account(a.account_id, provider, a.secret_key);
const bob = new Account(b.account_id, provider, b.secret_key);
const view = (method, args = {}) => provider.callFunction({ contractId: 'treasury', method, args });

assert.deepEqual(await view('get_members'), [
  { account_id: 'alice.acme' }, { account_id: 'bob.acme' }, { account_id: 'carol.acme' },
]);
assert.equal(await view('get_num_confirmations'), 2);

const mint = Buffer.from(JSON.stringify({ new_account_id: newId, new_public_key: newKey })).toString('base64');
const request = {
  receiver_id: 'registrar',
  actions: [{ type: 'FunctionCall', method_name: 'create_account', args: mint, deposit: '1000', gas: '30000000000000' }],
};
const id = await alice.callFunction({ contractId: 'treasury', methodName: 'add_request_and_confirm', args: { request } });
assert.equal(typeof id, 'number');
assert.equal((await view('get_request', { request_id: id })).outcome.status, 'pending');
assert.deepEqual(await view('list_request_ids'), [id]);

await bob.callFunction({ contractId: 'treasury', methodName: 'confirm', args: { request_id: id } });
const done = await view('get_request', { request_id: id });
assert.equal(done.outcome.status, 'executed', JSON.stringify(done));
assert.equal(done.confirmations.length, 2);
const created = await new Account(newId, provider).getState();
assert.equal(created.balance.total, 1000n);
const keys = await provider.viewAccessKeyList({ accountId: newId });
assert.equal(keys.keys[0].public_key, newKey);

// A second handle on alice's key moves the nonce on; the first one's cached nonce is now
// stale: near-api-js gets InvalidNonce, refetches and succeeds.
const other = new Account(a.account_id, provider, a.secret_key);
await alice.transfer({ receiverId: 'bob.acme', amount: 1n });
await other.transfer({ receiverId: 'bob.acme', amount: 1n });
const r = await alice.transfer({ receiverId: 'bob.acme', amount: 1n });
assert.deepEqual(r.status, { SuccessValue: '' });
// The workspace: the treasury invites organization globex with bob as its admin, bob
// accepts, invites alice as a viewer, alice accepts; a refusal is named in the error.
const ws = (method, args = {}) => provider.callFunction({ contractId: 'workspace', method, args });
const invite = { org_id: 'globex', name: 'Globex', admin: 'bob.acme' };
const inviteOrg = {
  receiver_id: 'workspace',
  actions: [{ type: 'FunctionCall', method_name: 'invite_organization', args: Buffer.from(JSON.stringify(invite)).toString('base64'), deposit: '0', gas: '30000000000000' }],
};
const wid = await alice.callFunction({ contractId: 'treasury', methodName: 'add_request_and_confirm', args: { request: inviteOrg } });
await bob.callFunction({ contractId: 'treasury', methodName: 'confirm', args: { request_id: wid } });
const [orgInvite] = await ws('get_invitations', { account_id: 'bob.acme' });
assert.equal(orgInvite.kind, 'organization', JSON.stringify(orgInvite));
await bob.callFunction({ contractId: 'workspace', methodName: 'accept_invitation', args: { invitation_id: orgInvite.id } });
const userInvite = await bob.callFunction({
  contractId: 'workspace', methodName: 'invite_user', args: { org_id: 'globex', account_id: 'alice.acme', role: 'viewer' },
});
await alice.callFunction({ contractId: 'workspace', methodName: 'accept_invitation', args: { invitation_id: userInvite } });
assert.deepEqual((await ws('get_organization', { org_id: 'globex' })).members, { 'alice.acme': 'viewer', 'bob.acme': 'admin' });
await assert.rejects(
  alice.callFunction({ contractId: 'workspace', methodName: 'invite_user', args: { org_id: 'globex', account_id: 'carol.acme', role: 'member' } }),
  (e) => {
    assert.match(e.message, /^NotAdmin: alice\.acme is not an admin of organization globex/, `${e.constructor.name}: ${e.message}`);
    return true;
  },
);
console.log('near-api-js treasury flow: ok');
