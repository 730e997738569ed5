// A NEAR wallet's basic flow with near-api-js 7.2.0, unmodified, against our node:
// read state and balance, transfer, read the access key's nonce, see a typed error for an
// unknown account, for a function-call key used beyond its permission and for a transfer to
// an implicit account. Usage: node wallet.mjs RPC_URL CREDENTIALS_JSON RECEIVER
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Account, JsonRpcProvider, KeyPair } from 'near-api-js';

const [url, credFile, receiver] = process.argv.slice(2);
const cred = JSON.parse(fs.readFileSync(credFile, 'utf8'));
const provider = new JsonRpcProvider({ url });
const account = new Account(cred.account_id, provider, cred.secret_key);

const state = await account.getState();
assert.equal(state.balance.locked, 0n);
assert.equal(state.balance.total, state.balance.available);
const before = await account.getBalance();
const receiverBefore = await new Account(receiver, provider).getBalance();

const result = await account.transfer({ receiverId: receiver, amount: 1234n });
assert.deepEqual(result.status, { SuccessValue: '' });
assert.equal(result.transaction.signer_id, cred.account_id);

assert.equal(await account.getBalance(), before - 1234n);
assert.equal(await new Account(receiver, provider).getBalance(), receiverBefore + 1234n);
const key = await account.getAccessKey(cred.public_key);
assert.equal(key.nonce, 1n);
assert.equal(key.permission, 'FullAccess');

await assert.rejects(new Account('ghost.acme', provider).getState(), (e) => e.constructor.name === 'AccountDoesNotExistError');

// Refusals near-api-js names: NEAR's InvalidAccessKeyError family, CreateAccountNotAllowed.
const named = (name) => (e) => {
  assert.equal(e.constructor.name, name, `${e.constructor.name}: ${e.message}`);
  return true;
};
const limited = KeyPair.fromRandom('ed25519');
await account.addFunctionCallAccessKey({
  publicKey: limited.getPublicKey(),
  contractId: 'treasury',
  methodNames: ['confirm'],
});
const app = new Account(cred.account_id, provider, limited.toString());
await assert.rejects(app.transfer({ receiverId: receiver, amount: 1n }), named('AccessKeyRequiresFullAccessActionError'));
await assert.rejects(
  app.callFunction({ contractId: 'treasury', methodName: 'propose', args: {} }),
  named('AccessKeyMethodNameMismatchActionError'),
);
await assert.rejects(
  app.callFunction({ contractId: 'registrar', methodName: 'confirm', args: {} }),
  named('AccessKeyReceiverMismatchActionError'),
);
await assert.rejects(account.transfer({ receiverId: 'ab'.repeat(32), amount: 1n }), named('CreateAccountNotAllowedActionError'));
// Explorer and indexer reads: module code and storage, the block's chunk, the receipt.
const final = { finality: 'final' };
const code = await provider.viewContractCode({ contractId: 'treasury', blockQuery: final });
assert.equal(code.code_base64, '', 'a native module has no bytecode');
assert.equal(code.hash.length > 40, true);
const stored = await provider.viewContractState({ contractId: 'treasury', prefix: '', blockQuery: final });
assert.ok(stored.values.length >= 1, JSON.stringify(stored));
const txBlock = await provider.viewBlock({ blockId: result.transaction_outcome.block_hash });
const chunk = await provider.viewChunk(txBlock.chunks[0].chunk_hash);
assert.ok(chunk.transactions.some((t) => t.hash === result.transaction.hash));
const receipt = await provider.viewTransactionReceipt(result.transaction.hash);
assert.equal(receipt.receiver_id, receiver);
const withReceipts = await provider.viewTransactionStatusWithReceipts({ txHash: result.transaction.hash, accountId: cred.account_id });
assert.equal(withReceipts.receipts[0].receipt_id, result.transaction.hash);
console.log('near-api-js wallet flow: ok');
