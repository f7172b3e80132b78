// The upload engine with client-side encryption, over the local backend with real files: sealed objects in their
// own key namespace, plaintext and stored facts recorded, resume from the journal, and reuse only of objects sealed
// to the same recipients.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { uploadFiles, type UploadInput } from '../../src/upload/run.ts';
import { openJournal } from '../../src/upload/journal.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { createLocalFiles } from '../../src/local-files.ts';
import { silentReporter } from '../../src/report.ts';
import type { LocalFile } from '../../src/domain.ts';
import type { StoredRecord } from '../../src/upload/plan.ts';
import type { ManifestFile } from '../../src/catalog/manifest.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { objectEncryption, type ObjectEncryption } from '../../src/crypto/object-encryption.ts';
import { compareWithStored } from '../../src/catalog/check.ts';
import { freshUploadDirs, localFileIn } from './upload-fixture.ts';

let dataDir: string;
let destDir: string;
let stateDir: string;

beforeEach(() => {
  ({ dataDir, destDir, stateDir } = freshUploadDirs('cbr-upload-crypt-'));
});

function localFile(relPath: string, content?: string | Buffer): LocalFile {
  return localFileIn(dataDir, relPath, content);
}

async function run(files: LocalFile[], encryption: ObjectEncryption | undefined, over: Partial<UploadInput> = {}) {
  const local = createLocalFiles();
  const input: UploadInput = {
    files, nodeId: 'n1', layout: 'seed', dataDirs: [dataDir], referenced: new Map(),
    journal: await openJournal(join(stateDir, 'j.jsonl')), concurrency: 4, signal: new AbortController().signal,
    vanishedIsFailure: true, ...(encryption ? { encryption } : {}), ...over,
  };
  return uploadFiles(input, {
    backend: createLocalBackend({ root: destDir }), reporter: silentReporter, openSource: (f) => local.openSource(f),
    hashFile: (f) => local.hashFile(f), exists: async (p) => existsSync(p),
  });
}

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

function recordOf(e: ManifestFile): StoredRecord {
  return { key: e.key, path: e.path, size: e.size, mtimeMs: e.mtimeMs, ino: e.ino, crc32c: e.crc32c, ...(e.stored ? { stored: e.stored } : {}) };
}

const T = 'ks/t-0123456789abcdef0123456789abcdef';

describe('uploadFiles with client-side encryption', () => {
  it('stores each file sealed under <key>.<set>.age, recording the plaintext and the stored size and CRC32C', async () => {
    const k = await keyPair();
    const content = Buffer.alloc(200_000, 7);
    const f = localFile(`${T}/snapshots/t/nb-1-big-Data.db`, content);
    const enc = objectEncryption([k.recipient]);
    const r = await run([f], enc);
    assert.deepEqual(r.failures, []);
    const e = r.entries[0]!;
    assert.equal(e.key, enc.keyFor(`n1/${f.relPath}`));
    assert.equal(e.size, content.length);
    assert.equal(e.crc32c, crc32cToBase64(crc32cOf(content)));
    const stored = readFileSync(join(destDir, e.key));
    assert.deepEqual(e.stored, { size: stored.length, crc32c: crc32cToBase64(crc32cOf(stored)) });
    assert.equal(stored.length, enc.storedSize(content.length));
    const d = new Decrypter();
    d.addIdentity(k.identity);
    assert.deepEqual(Buffer.from(await d.decrypt(stored)), content);
    assert.equal(compareWithStored(e, { key: e.key, size: stored.length, crc32c: e.stored!.crc32c }).ok, true);
    assert.equal(compareWithStored(e, { key: e.key, size: content.length, crc32c: e.crc32c }).ok, false, 'plaintext facts are not the object\'s');
  });

  it('a rerun after a failure reuses what the journal recorded (with its stored facts), confirmed in the store', async () => {
    const enc = objectEncryption([(await keyPair()).recipient]);
    const a = localFile(`${T}/snapshots/t/nb-1-big-Data.db`, 'aaaa');
    const b = localFile(`${T}/snapshots/t/nb-2-big-Data.db`, 'bbbb');
    const first = (await run([a], enc)).entries[0]!;
    const r = await run([a, b], enc);
    assert.deepEqual(r.failures, []);
    assert.equal(r.uploadedFiles, 1);
    const again = r.entries.find((e) => e.path === a.relPath)!;
    assert.equal(again.reused, true);
    assert.deepEqual(again.stored, first.stored);
    // The stored object replaced behind the journal's back: not confirmed, so sent again.
    writeFileSync(join(destDir, first.key), 'not what was stored');
    const r3 = await run([a], enc);
    assert.equal(r3.resentFiles, 1);
    assert.notDeepEqual(r3.entries[0]!.stored, first.stored);
  });

  it('reuses and copies only objects sealed to the same recipients; plain and encrypted never stand for each other', async () => {
    const [k1, k2] = [await keyPair(), await keyPair()];
    const e1 = objectEncryption([k1.recipient]);
    const e2 = objectEncryption([k2.recipient]);
    const snap = localFile(`${T}/snapshots/tag1/nb-1-big-Data.db`, 'immutable sstable');
    mkdirSync(join(dataDir, T, 'snapshots', 'tag2'), { recursive: true });
    linkSync(snap.absPath, join(dataDir, T, 'snapshots', 'tag2', 'nb-1-big-Data.db'));
    const link = localFile(`${T}/snapshots/tag2/nb-1-big-Data.db`);
    const sealed = (await run([snap], e1, { journal: await openJournal(join(stateDir, 'a.jsonl')) })).entries[0]!;
    const referenced = new Map([[sealed.key, recordOf(sealed)]]);

    const same = await run([snap, link], e1, { referenced, journal: await openJournal(join(stateDir, 'b.jsonl')) });
    assert.equal(same.entries.find((e) => e.path === snap.relPath)?.reused, true);
    assert.equal(same.copiedFiles, 1, 'the hard link is copied server-side from the sealed object');
    assert.deepEqual(same.entries.find((e) => e.path === link.relPath)?.stored, sealed.stored);

    const other = await run([snap, link], e2, { referenced, journal: await openJournal(join(stateDir, 'c.jsonl')) });
    assert.equal(other.uploadedFiles, 2, 'other recipients: sent again, sealed to them');
    assert.ok(other.entries.every((e) => e2.owns(e.key) && e.stored !== undefined));

    const plain = await run([snap, link], undefined, { referenced, journal: await openJournal(join(stateDir, 'd.jsonl')) });
    assert.equal(plain.uploadedFiles, 2, 'unencrypted: sent again in plain text');
    assert.ok(plain.entries.every((e) => !e.key.endsWith('.age') && e.stored === undefined));

    const plainRef = new Map(plain.entries.map((e) => [e.key, recordOf(e)]));
    const sealedAgain = await run([link], e1, { referenced: plainRef, journal: await openJournal(join(stateDir, 'e.jsonl')) });
    assert.equal(sealedAgain.copiedFiles, 0, 'a plain twin is never copied into an encrypted backup');
    assert.equal(sealedAgain.uploadedFiles, 1);
  });
});
