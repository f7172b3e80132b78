// The sizes of an age (age-encryption.org/v1) file, exactly: a textual header, a 16-byte nonce, then the payload
// in STREAM chunks of 64 KiB plaintext, each followed by a 16-byte ChaCha20-Poly1305 tag (the last chunk may be
// shorter; an empty file has one empty chunk). Known in advance, so multipart and resumable uploads can declare
// the length of an encrypted object before a byte of it exists. Pure.

export const AGE_FORMAT = 'age-encryption.org/v1';
/** Plaintext bytes per STREAM chunk. */
export const PLAIN_CHUNK = 64 * 1024;
export const TAG_SIZE = 16;
/** Ciphertext bytes per full STREAM chunk. */
export const CIPHER_CHUNK = PLAIN_CHUNK + TAG_SIZE;
export const NONCE_SIZE = 16;

/**
 * Header plus nonce for X25519 recipients: the version line (22 bytes), one stanza per recipient
 * (`-> X25519 <43 base64>\n<43 base64>\n`, 98 bytes), the MAC line (`--- <43 base64>\n`, 48 bytes), the nonce.
 */
export function x25519PrefixSize(recipients: number): number {
  if (!Number.isInteger(recipients) || recipients < 1) throw new RangeError(`an age file needs at least one recipient (got ${recipients})`);
  return 22 + 98 * recipients + 48 + NONCE_SIZE;
}

/** STREAM chunks of a plaintext of this size (at least one). */
export function chunkCount(plainSize: number): number {
  return Math.max(1, Math.ceil(plainSize / PLAIN_CHUNK));
}

/** Payload (after header and nonce) size for a plaintext of this size. */
export function payloadSize(plainSize: number): number {
  return plainSize + TAG_SIZE * chunkCount(plainSize);
}

/** The whole encrypted object's size, given its header-and-nonce size. */
export function encryptedSize(plainSize: number, prefixSize: number): number {
  return prefixSize + payloadSize(plainSize);
}

/** Plaintext bytes in chunk `index` of a plaintext of this size. */
export function plainChunkLength(plainSize: number, index: number): number {
  return Math.max(0, Math.min(PLAIN_CHUNK, plainSize - index * PLAIN_CHUNK));
}

/** Plaintext bytes in chunks [from, to). */
export function plainBytesOfChunks(plainSize: number, from: number, to: number): number {
  return Math.min(plainSize, to * PLAIN_CHUNK) - Math.min(plainSize, from * PLAIN_CHUNK);
}
