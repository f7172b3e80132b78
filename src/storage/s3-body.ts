// Streaming a request body to the SDK from a source that may fail mid-way (a disk read error).
import { Transform, type Readable } from 'node:stream';

const MIN_BODY_CHUNK = 64 * 1024;

/**
 * The stream the SDK reads: source bytes, counted. A source failure aborts the request (via onFailure) and
 * then ends this stream without an error: the SDK neither notices a failed body by itself (the request would
 * wait for the missing bytes until the server times out) nor listens for errors on its aws-chunked wrapper.
 * Small chunks are gathered: the SDK's aws-chunked encoder refuses any chunk but the last below 8 KiB.
 */
function guardedBody(source: Readable, onBytes: ((bytes: number) => void) | undefined,
  onFailure: (err: unknown) => void): Readable {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const body = new Transform({
    transform(chunk: Buffer, _enc, done): void {
      onBytes?.(chunk.length);
      if (pendingBytes === 0 && chunk.length >= MIN_BODY_CHUNK) return done(null, chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < MIN_BODY_CHUNK) return done();
      const gathered = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      done(null, gathered);
    },
    flush(done): void {
      done(null, pendingBytes === 0 ? undefined : Buffer.concat(pending, pendingBytes));
    },
  });
  source.on('error', (err) => {
    onFailure(err);
    body.destroy();
  });
  body.on('error', () => {}); // only the SDK destroys it with an error, and the SDK reports that error itself
  body.on('close', () => source.destroy()); // request over, however it ended: release the file
  source.pipe(body);
  return body;
}

/** Sends a request whose body is read from source; a read failure rejects with that failure. */
export async function sendWithBody<T>(source: Readable, onBytes: ((bytes: number) => void) | undefined,
  signal: AbortSignal | undefined, send: (body: Readable, signal: AbortSignal) => Promise<T>): Promise<T> {
  const failed = new AbortController();
  let readError: unknown;
  const body = guardedBody(source, onBytes, (err) => {
    readError = err;
    failed.abort(err);
  });
  try {
    return await send(body, signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]));
  } catch (err) {
    throw readError ?? err;
  } finally {
    body.destroy();
  }
}
