// The console's browser signing code (rpc/console/near.js) against near-api-js's byte-exact
// vectors: same borsh, same sha256, same signature. Run by tests/it/console.rs.
import { readFileSync } from 'node:fs';
import { b58decode, b58encode, encodeTransaction, functionCall, signerFromSecret, signTransaction, transfer, base64 } from '../../rpc/console/near.js';

const vectors = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let checked = 0;
for (const v of vectors) {
  const d = v.decoded;
  const actions = [];
  for (const a of d.actions) {
    if (a.Transfer) actions.push(transfer(a.Transfer.deposit));
    else if (a.FunctionCall) {
      const f = a.FunctionCall;
      const action = functionCall(f.method_name, null, f.deposit, f.gas);
      action.args = new TextEncoder().encode(f.args);
      actions.push(action);
    } else actions.push(null);
  }
  if (actions.includes(null)) continue;
  const signer = await signerFromSecret(v.secret_key);
  if (signer.publicKeyText !== v.public_key) throw new Error(`${v.name}: public key ${signer.publicKeyText}`);
  const tx = { signerId: d.signer_id, nonce: d.nonce, receiverId: d.receiver_id, blockHash: b58decode(d.block_hash), actions };
  const hex = Buffer.from(encodeTransaction({ ...tx, publicKey: signer.publicKey })).toString('hex');
  if (hex !== v.transaction_borsh_hex) throw new Error(`${v.name}: borsh ${hex}`);
  const { signed, hash } = await signTransaction(signer, tx);
  if (hash !== v.tx_hash_b58) throw new Error(`${v.name}: hash ${hash}`);
  if (base64(signed) !== v.signed_tx_base64) throw new Error(`${v.name}: signed ${base64(signed)}`);
  checked++;
}
if (b58encode(b58decode('1112')) !== '1112') throw new Error('base58 leading zeros');
for (const bad of ['ed25519:abc', 'secp256k1:xyz', 'ed25519:0OIl']) {
  let refused = false;
  try { await signerFromSecret(bad); } catch { refused = true; }
  if (!refused) throw new Error(`${bad} accepted`);
}
if (checked < 2) throw new Error(`only ${checked} vectors checked`);
console.log(`console signing matches near-api-js on ${checked} vectors`);
