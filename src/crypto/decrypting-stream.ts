// Decrypts an age object as it streams, with typage (age-encryption) alone: the header is checked (one of the
// identities must unwrap the file key, the MAC must match) and every 64 KiB chunk is authenticated before its
// plaintext passes on; a truncated, extended or altered object makes the stream fail, never end early as if good.
import { Duplex } from 'node:stream';
import type { Decrypter } from 'age-encryption';
import type { Identities } from './identity.ts';

export function decryptingStream(decrypter: Decrypter): Duplex {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = decrypter.decrypt(input.readable);
  output.catch(() => {}); // also seen by the first pull, which fails the stream with it
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= (await output).getReader();
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
  return Duplex.fromWeb({ readable, writable: input.writable });
}

/** A fresh decrypting stream per object, from the operator's identities. */
export function decryptStage(identities: Identities): () => Duplex {
  return () => decryptingStream(identities.decrypter());
}
