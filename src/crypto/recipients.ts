// Who can decrypt a backup: age X25519 recipients (public keys, all a node needs) from --encrypt-to and
// --encrypt-to-file, and the fingerprints the manifest records of them. The identity (secret key) never
// comes near a backup run.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Encrypter } from 'age-encryption';
import { UsageError } from '../errors.ts';

/** X25519 only: `age1` + bech32; the post-quantum and plugin types (age1pq1…, age1tag1…, age1<plugin>1…) are refused. */
const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

/** Recipients from the flags and a recipients file (one per line, `#` comments and blank lines ignored). */
export async function loadRecipients(flags: readonly string[], file: string | undefined): Promise<string[]> {
  const out = flags.map((r, i) => checkRecipient(r.trim(), `--encrypt-to #${i + 1}`));
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the recipients file --encrypt-to-file ${file}: ${(err as Error).message}`);
    }
    const lines = text.split('\n').map((l) => l.trim());
    lines.forEach((line, i) => { if (line !== '' && !line.startsWith('#')) out.push(checkRecipient(line, `${file}:${i + 1}`)); });
    if (out.length === 0) throw new UsageError(`the recipients file ${file} names no recipient`);
  }
  return [...new Set(out)];
}

function checkRecipient(recipient: string, where: string): string {
  if (recipient.startsWith('AGE-SECRET-KEY-')) {
    throw new UsageError(`${where} is an age identity (secret key), not a recipient: give the node only the public key (age1…); ` +
      'the identity stays off the node');
  }
  if (!X25519_RECIPIENT.test(recipient)) throw new UsageError(`${where} is not an age X25519 recipient (age1… public key)`);
  try {
    new Encrypter().addRecipient(recipient); // the bech32 checksum and key length
  } catch (err) {
    throw new UsageError(`${where} is not a valid age recipient: ${(err as Error).message}`);
  }
  return recipient;
}

/** What a manifest records of a recipient: enough to tell which key can decrypt, short, and not the key itself. */
export function recipientFingerprint(recipient: string): string {
  return createHash('sha256').update(recipient).digest('hex').slice(0, 16);
}

/**
 * Names the set of recipients (order and repetition do not matter): objects encrypted to one set live under keys
 * of their own, so that a backup never reuses an object that other recipients (or none) can decrypt.
 */
export function recipientSetId(fingerprints: readonly string[]): string {
  return createHash('sha256').update([...new Set(fingerprints)].sort().join('\n')).digest('hex').slice(0, 8);
}
