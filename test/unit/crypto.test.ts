import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient, type Recipient } from 'age-encryption';
import { crc32cOf } from '../../src/checksum/crc32c.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { CIPHER_CHUNK, PLAIN_CHUNK, encryptedSize, x25519PrefixSize } from '../../src/crypto/age-format.ts';
import { sealSource } from '../../src/crypto/encrypting-source.ts';
import { decryptingStream } from '../../src/crypto/decrypting-stream.ts';
import { loadRecipients, recipientFingerprint } from '../../src/crypto/recipients.ts';
import { identitiesFor, loadIdentities } from '../../src/crypto/identity.ts';
import { objectEncryption, recipientSetOfKey } from '../../src/crypto/object-encryption.ts';
import { UsageError } from '../../src/errors.ts';

const SIZES = [0, 1, PLAIN_CHUNK - 1, PLAIN_CHUNK, PLAIN_CHUNK + 1, 2 * PLAIN_CHUNK, 3 * PLAIN_CHUNK + 12345];

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** typage's own encryption of `plain`, and the file key it drew (seen by a recipient of ours). */
async function typageEncrypt(plain: Uint8Array, recipients: string[]): Promise<{ out: Uint8Array; fileKey: Uint8Array }> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  let fileKey: Uint8Array | undefined;
  const capture: Recipient = { wrapFileKey: (k) => { fileKey = k.slice(); return []; } };
  e.addRecipient(capture);
  const out = await e.encrypt(plain);
  return { out, fileKey: fileKey! };
}

async function decryptWith(identity: string, bytes: Uint8Array): Promise<Buffer> {
  const d = new Decrypter();
  d.addIdentity(identity);
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([Buffer.from(bytes)]), decryptingStream(d), async function* (source) {
    for await (const c of source) chunks.push(Buffer.from(c as Uint8Array));
  });
  return Buffer.concat(chunks);
}

describe('age sizes', () => {
  it('the encrypted size is known in advance, exactly as typage writes it, for 1 to 3 recipients', async () => {
    const recipients = await Promise.all([keyPair(), keyPair(), keyPair()]).then((ks) => ks.map((k) => k.recipient));
    for (const r of [1, 2, 3]) {
      for (const n of SIZES) {
        const { out } = await typageEncrypt(randomBytes(n), recipients.slice(0, r));
        assert.equal(encryptedSize(n, x25519PrefixSize(r)), out.length, `${n} bytes to ${r} recipient(s)`);
      }
    }
  });
});

describe('sealSource', () => {
  it('writes the very bytes typage writes under the same file key and nonce, whole and in any ranges', async () => {
    const { recipient } = await keyPair();
    for (const n of SIZES) {
      const plain = randomBytes(n);
      const { out, fileKey } = await typageEncrypt(plain, [recipient]);
      const prefix = out.subarray(0, x25519PrefixSize(1));
      const sealed = await sealSource(bytesSource(plain), [recipient], { keyMaterial: { fileKey, prefix } });
      assert.equal(sealed.size, out.length);
      assert.deepEqual(await buffer(sealed.open()), Buffer.from(out), `${n} bytes whole`);
      for (const part of [1000, CIPHER_CHUNK, 100_003]) {
        const pieces: Buffer[] = [];
        for (let at = 0; at < sealed.size; at += part) pieces.push(await buffer(sealed.open(at, Math.min(sealed.size, at + part))));
        assert.deepEqual(Buffer.concat(pieces), Buffer.from(out), `${n} bytes in parts of ${part}`);
      }
      for (let i = 0; i < 20; i++) {
        const a = Math.floor(Math.random() * (sealed.size + 1));
        const b = a + Math.floor(Math.random() * (sealed.size - a + 1));
        assert.deepEqual(await buffer(sealed.open(a, b)), Buffer.from(out.subarray(a, b)), `${n} bytes, range ${a}..${b}`);
      }
    }
  });

  it('knows the plaintext CRC32C once ranges that tile the object were read, whatever their order and retries', async () => {
    const { recipient } = await keyPair();
    const plain = randomBytes(5 * PLAIN_CHUNK + 777);
    const sealed = await sealSource(bytesSource(plain), [recipient]);
    const part = 150_001;
    const starts = [];
    for (let at = 0; at < sealed.size; at += part) starts.push(at);
    await buffer(sealed.open(starts.at(-1)!, sealed.size));
    assert.equal(sealed.plaintextCrc32c(), undefined, 'not before every chunk was read');
    for (const at of starts.reverse()) await buffer(sealed.open(at, Math.min(sealed.size, at + part)));
    await buffer(sealed.open(starts[1]!, starts[1]! + part)); // a retried part
    assert.equal(sealed.plaintextCrc32c(), crc32cOf(plain));
    const empty = await sealSource(bytesSource(Buffer.alloc(0)), [recipient]);
    await buffer(empty.open());
    assert.equal(empty.plaintextCrc32c(), 0);
  });

  it('is decrypted by typage; a fresh file key per sealed source; a source that ends early fails the read', async () => {
    const { identity, recipient } = await keyPair();
    const plain = randomBytes(3 * PLAIN_CHUNK + 5);
    const a = await buffer((await sealSource(bytesSource(plain), [recipient])).open());
    const b = await buffer((await sealSource(bytesSource(plain), [recipient])).open());
    assert.notDeepEqual(a, b);
    assert.ok(a.subarray(0, 22).toString() === 'age-encryption.org/v1\n');
    assert.deepEqual(await decryptWith(identity, a), plain);
    const short = { size: plain.length, open: () => Readable.from([plain.subarray(0, 1000)]) };
    await assert.rejects(buffer((await sealSource(short, [recipient])).open()), /ended early/);
  });
});

describe('decryptingStream', () => {
  it('fails on a wrong identity, an altered byte, and a truncated object (mid-chunk and at a chunk boundary)', async () => {
    const { identity, recipient } = await keyPair();
    const other = await keyPair();
    const plain = randomBytes(2 * PLAIN_CHUNK);
    const sealed = await sealSource(bytesSource(plain), [recipient]);
    const bytes = await buffer(sealed.open());
    await assert.rejects(decryptWith(other.identity, bytes), /no identity matched/);
    const altered = Buffer.from(bytes);
    altered[sealed.prefixSize + 70_000]! ^= 1;
    await assert.rejects(decryptWith(identity, altered));
    await assert.rejects(decryptWith(identity, bytes.subarray(0, bytes.length - 10)));
    await assert.rejects(decryptWith(identity, bytes.subarray(0, sealed.prefixSize + CIPHER_CHUNK)));
    assert.deepEqual(await decryptWith(identity, bytes), plain);
  });
});

describe('recipients and identities', () => {
  it('reads recipients from flags and a file, refuses secret keys and malformed keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbr-crypto-'));
    try {
      const [k1, k2] = [await keyPair(), await keyPair()];
      const file = join(dir, 'recipients.txt');
      await writeFile(file, `# backup key\n${k2.recipient}\n\n${k1.recipient}\n`);
      assert.deepEqual(await loadRecipients([k1.recipient], file), [k1.recipient, k2.recipient]);
      await assert.rejects(loadRecipients([k1.identity], undefined), (err: Error) => err instanceof UsageError && /secret key/.test(err.message));
      // One character of the checksum changed (to another one: a key ending in q stayed valid, 1 run in 32 failed).
      const changed = `${k1.recipient.slice(0, -1)}${k1.recipient.endsWith('q') ? 'p' : 'q'}`;
      await assert.rejects(loadRecipients([changed], undefined), UsageError);
      await writeFile(file, '# nothing\n');
      await assert.rejects(loadRecipients([], file), /names no recipient/);

      const idFile = join(dir, 'key.txt');
      await writeFile(idFile, `# created: now\n# public key: ${k1.recipient}\n${k1.identity}\n`);
      const ids = await loadIdentities(idFile);
      assert.deepEqual(ids.fingerprints, [recipientFingerprint(k1.recipient)]);
      const backup = { tag: 't1', recipients: [recipientFingerprint(k2.recipient)] };
      assert.throws(() => identitiesFor(backup, ids, 'restore'), (err: Error) => err instanceof UsageError && /^wrong identity/.test(err.message));
      assert.throws(() => identitiesFor(backup, undefined, 'restore'), /needs --identity/);
      assert.equal(identitiesFor(undefined, ids, 'restore'), undefined);
      assert.equal(identitiesFor({ tag: 't1', recipients: [recipientFingerprint(k1.recipient)] }, ids, 'restore'), ids);
      await writeFile(idFile, `${k1.recipient}\n`);
      await assert.rejects(loadIdentities(idFile), UsageError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('puts encrypted objects in a key namespace of their recipient set', async () => {
    const [k1, k2] = [await keyPair(), await keyPair()];
    const e12 = objectEncryption([k1.recipient, k2.recipient]);
    const e21 = objectEncryption([k2.recipient, k1.recipient]);
    const e1 = objectEncryption([k1.recipient]);
    const key = e12.keyFor('n/ks/t-1/snapshots/a/nb-1-big-Data.db');
    assert.equal(e21.keyFor('x'), e12.keyFor('x'));
    assert.notEqual(e1.keyFor('x'), e12.keyFor('x'));
    assert.ok(e12.owns(key) && e12.owns(`${key}@0123abcd`) && !e1.owns(key) && !e12.owns('n/ks/t-1/snapshots/a/nb-1-big-Data.db'));
    assert.equal(recipientSetOfKey('n/ks/t-1/backups/nb-1-big-Data.db'), undefined);
    assert.equal(e12.storedSize(PLAIN_CHUNK), x25519PrefixSize(2) + PLAIN_CHUNK + 16);
  });
});
