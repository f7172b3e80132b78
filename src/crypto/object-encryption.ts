// Client-side encryption as the upload engine sees it: which key namespace encrypted objects live in, how a
// file's bytes are sealed, and what the manifest records. One object per run, built from the recipients.
import type { PutSource } from '../storage/backend.ts';
import { AGE_FORMAT, encryptedSize, x25519PrefixSize } from './age-format.ts';
import { recipientFingerprint, recipientSetId } from './recipients.ts';
import { sealSource, type SealedSource } from './encrypting-source.ts';

/** What a manifest records of an encrypted backup: the format and who can decrypt (fingerprints, not keys). */
export interface ManifestEncryption {
  readonly format: typeof AGE_FORMAT;
  readonly recipients: readonly string[];
}

export interface ObjectEncryption {
  readonly manifest: ManifestEncryption;
  /** The plain key's encrypted counterpart: `<key>.<recipient set id>.age`. */
  keyFor(plainKey: string): string;
  /** Whether an object under this key holds bytes sealed to this run's recipients. */
  owns(key: string): boolean;
  /** The encrypted object's size for a plaintext of this size. */
  storedSize(plainSize: number): number;
  seal(plain: PutSource, onPlainBytes?: (bytes: number) => void): Promise<SealedSource>;
}

/** Keys of encrypted objects end so (before a `@<crc32c>` disambiguation). */
const ENCRYPTED_KEY = /\.([0-9a-f]{8})\.age(@[0-9a-f]{8})?$/;

/** The recipient set id of an encrypted object's key, or undefined for a plain object's. */
export function recipientSetOfKey(key: string): string | undefined {
  return ENCRYPTED_KEY.exec(key)?.[1];
}

export function objectEncryption(recipients: readonly string[]): ObjectEncryption {
  const fingerprints = [...new Set(recipients.map(recipientFingerprint))].sort();
  const setId = recipientSetId(fingerprints);
  const prefixSize = x25519PrefixSize(recipients.length);
  return {
    manifest: { format: AGE_FORMAT, recipients: fingerprints },
    keyFor: (plainKey) => `${plainKey}.${setId}.age`,
    owns: (key) => recipientSetOfKey(key) === setId,
    storedSize: (plainSize) => encryptedSize(plainSize, prefixSize),
    seal: (plain, onPlainBytes) => sealSource(plain, recipients, onPlainBytes === undefined ? {} : { onPlainBytes }),
  };
}
