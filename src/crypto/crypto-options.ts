// The command-line side of client-side encryption: --encrypt-to / --encrypt-to-file become the run's object
// encryption, --identity the identities a restore or verify decrypts with. Read once, before any work.
import type { GlobalOptions } from '../config/options.ts';
import { loadIdentities, type Identities } from './identity.ts';
import { objectEncryption, type ObjectEncryption } from './object-encryption.ts';
import { loadRecipients } from './recipients.ts';

/** `{ encryption }` when recipients are given, else nothing: encryption is off by default. */
export async function encryptionOption(opts: Pick<GlobalOptions, 'encryptTo' | 'encryptToFile'>): Promise<{ encryption?: ObjectEncryption }> {
  if (opts.encryptTo.length === 0 && opts.encryptToFile === undefined) return {};
  return { encryption: objectEncryption(await loadRecipients(opts.encryptTo, opts.encryptToFile)) };
}

export async function identitiesOption(file: string | undefined): Promise<{ identities?: Identities }> {
  return file === undefined ? {} : { identities: await loadIdentities(file) };
}
