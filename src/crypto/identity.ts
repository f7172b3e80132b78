// The secret keys that decrypt a backup (restore, verify --deep), read from an age identity file that the
// operator brings along; never stored, never logged. Checked against the manifest before any download, so a
// wrong key is one line and exit 2, not a failure per file.
import { readFile } from 'node:fs/promises';
import { Decrypter, identityToRecipient } from 'age-encryption';
import { UsageError } from '../errors.ts';
import { recipientFingerprint } from './recipients.ts';

export interface Identities {
  /** The file they came from (for messages). */
  readonly file: string;
  /** The fingerprints of their public keys (as manifests record recipients). */
  readonly fingerprints: readonly string[];
  /** A decrypter holding every identity of the file. */
  decrypter(): Decrypter;
}

/** Reads an age identity file: `AGE-SECRET-KEY-1…` lines, `#` comments and blank lines ignored. */
export async function loadIdentities(file: string): Promise<Identities> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the identity file --identity ${file}: ${(err as Error).message}`);
  }
  const keys = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length === 0) throw new UsageError(`the identity file ${file} holds no age identity (AGE-SECRET-KEY-1…)`);
  const fingerprints: string[] = [];
  for (const [i, key] of keys.entries()) {
    if (!key.startsWith('AGE-SECRET-KEY-1')) {
      throw new UsageError(`${file}:${i + 1} is not an age X25519 identity (AGE-SECRET-KEY-1…)`);
    }
    try {
      fingerprints.push(recipientFingerprint(await identityToRecipient(key)));
    } catch {
      throw new UsageError(`${file}:${i + 1} is not a valid age identity`); // the key itself is never echoed
    }
  }
  return {
    file,
    fingerprints,
    decrypter() {
      const d = new Decrypter();
      for (const key of keys) d.addIdentity(key);
      return d;
    },
  };
}

/** The manifest's encryption facts, as far as identities are concerned. */
export interface EncryptedBackup {
  readonly tag: string;
  readonly recipients: readonly string[];
}

/**
 * The identities needed for an encrypted backup: given, and one of them a recipient of it. Undefined for an
 * unencrypted backup (identities given or not). `required`: whether the command cannot go on without them.
 */
export function identitiesFor(backup: EncryptedBackup | undefined, identities: Identities | undefined, command: string): Identities | undefined {
  if (backup === undefined) return undefined;
  if (identities === undefined) {
    throw new UsageError(`backup ${backup.tag} is encrypted (age): ${command} needs --identity FILE with a secret key of one of its recipients`);
  }
  if (!identities.fingerprints.some((f) => backup.recipients.includes(f))) {
    throw new UsageError(`wrong identity: no key in ${identities.file} is a recipient of backup ${backup.tag} ` +
      `(its recipients' fingerprints: ${backup.recipients.join(', ')}; the file's: ${identities.fingerprints.join(', ')})`);
  }
  return identities;
}
