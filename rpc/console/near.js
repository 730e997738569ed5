// NEAR transactions in the browser: base58, borsh of the transaction shapes the console sends
// (FunctionCall and Transfer), and ed25519 signing through WebCrypto. The secret key stays in
// this page's memory as a non-extractable CryptoKey.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function b58encode(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

export function b58decode(text) {
  let n = 0n;
  for (const c of text) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error(`\`${c}\` is not a base58 character`);
    n = n * 58n + BigInt(i);
  }
  const bytes = [];
  while (n > 0n) {
    bytes.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const c of text) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/// `ed25519:<base58>` to its bytes, checking the length.
export function parseKey(text, length, what) {
  const [kind, data] = String(text).trim().split(':');
  if (kind !== 'ed25519' || !data) throw new Error(`${what} must look like ed25519:<base58>`);
  const bytes = b58decode(data);
  if (bytes.length !== length) throw new Error(`${what} must be ${length} bytes, not ${bytes.length}`);
  return bytes;
}

class Writer {
  constructor() {
    this.bytes = [];
  }
  u8(v) {
    this.bytes.push(v & 255);
  }
  u32(v) {
    for (let i = 0; i < 4; i++) this.bytes.push((v >>> (8 * i)) & 255);
  }
  uint(v, width) {
    let x = BigInt(v);
    if (x < 0n || x >= 1n << BigInt(8 * width)) throw new Error(`${v} does not fit ${8 * width} bits`);
    for (let i = 0; i < width; i++) {
      this.bytes.push(Number(x & 255n));
      x >>= 8n;
    }
  }
  raw(a) {
    for (const b of a) this.bytes.push(b);
  }
  vec(a) {
    this.u32(a.length);
    this.raw(a);
  }
  str(s) {
    this.vec(new TextEncoder().encode(s));
  }
}

/// A FunctionCall action (`args` a JSON value) or a Transfer.
export const functionCall = (method, args, deposit = '0', gas = '100000000000000') => ({
  kind: 'FunctionCall',
  method,
  args: new TextEncoder().encode(JSON.stringify(args)),
  gas,
  deposit,
});
export const transfer = (deposit) => ({ kind: 'Transfer', deposit });

function writeAction(w, a) {
  if (a.kind === 'FunctionCall') {
    w.u8(2);
    w.str(a.method);
    w.vec(a.args);
    w.uint(a.gas, 8);
    w.uint(a.deposit, 16);
  } else if (a.kind === 'Transfer') {
    w.u8(3);
    w.uint(a.deposit, 16);
  } else {
    throw new Error(`no encoding for action ${a.kind}`);
  }
}

/// borsh of a NEAR Transaction.
export function encodeTransaction(tx) {
  const w = new Writer();
  w.str(tx.signerId);
  w.u8(0);
  w.raw(tx.publicKey);
  w.uint(tx.nonce, 8);
  w.str(tx.receiverId);
  w.raw(tx.blockHash);
  w.u32(tx.actions.length);
  for (const a of tx.actions) writeAction(w, a);
  return Uint8Array.from(w.bytes);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// A signer from a NEAR secret key (`ed25519:` + base58 of seed and public key, 64 bytes):
/// checks that the key's two halves belong together.
export async function signerFromSecret(secret) {
  const bytes = parseKey(secret, 64, 'the secret key');
  const seed = bytes.slice(0, 32);
  const publicKey = bytes.slice(32);
  if (!crypto.subtle) throw new Error('this browser has no WebCrypto here (use https or localhost)');
  let key;
  try {
    key = await crypto.subtle.importKey('pkcs8', Uint8Array.from([...PKCS8_ED25519, ...seed]), { name: 'Ed25519' }, false, ['sign']);
  } catch (e) {
    throw new Error(`this browser cannot sign with ed25519 keys (${e.message})`);
  }
  const probe = new TextEncoder().encode('chain console key check');
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, probe));
  const verifier = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  if (!(await crypto.subtle.verify({ name: 'Ed25519' }, verifier, signature, probe))) {
    throw new Error('the secret key is damaged: its halves do not belong together');
  }
  return {
    publicKey,
    publicKeyText: `ed25519:${b58encode(publicKey)}`,
    sign: async (message) => new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, message)),
  };
}

/// Signs `tx` (sha256 of its borsh, as NEAR does): the SignedTransaction's borsh and the hash.
export async function signTransaction(signer, tx) {
  const bytes = encodeTransaction({ ...tx, publicKey: signer.publicKey });
  const hash = await sha256(bytes);
  const signature = await signer.sign(hash);
  const signed = new Uint8Array(bytes.length + 65);
  signed.set(bytes);
  signed[bytes.length] = 0;
  signed.set(signature, bytes.length + 1);
  return { signed, hash: b58encode(hash) };
}

export function base64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/// 256 random bits as unpadded base64url: what a credential's password is.
export function drawPassword() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
