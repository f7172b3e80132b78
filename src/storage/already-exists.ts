// The one rule for "a create-only put found an object under its key": every adapter throws alreadyExistsError()
// and every caller asks isAlreadyExists(), so the code and its permanence are decided here alone.
import { StorageError } from '../errors.ts';

const CODE = 'PreconditionFailed';

/**
 * What a create-only put throws when the key is taken. Permanent, so that no retry repeats it: another writer
 * (or an earlier attempt of this same put whose answer was lost) stored the object first.
 */
export function alreadyExistsError(what: string, reason: string, cause?: unknown): StorageError {
  return new StorageError(`${what} already exists (${reason})`, { permanent: true, code: CODE, cause });
}

/** Whether err is a create-only put's refusal because the key already holds an object. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof StorageError && err.code === CODE;
}
