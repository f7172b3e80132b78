// The GCS library's read stream crashes the process when it is destroyed before its answer arrives: on the answer it
// pipes the response into the already destroyed stream and `pipeline` throws ERR_STREAM_UNABLE_TO_PIPE from an event
// handler, an uncaught exception (seen when a restore aborts sibling ranged reads). So callers never hold the
// library's stream: they get a PassThrough fed by it, and the library's stream is destroyed only once its answer has
// been wired (the tick after 'response'), or at once when it has already answered or ended.
import { PassThrough, type Readable } from 'node:stream';

/** Wraps the library's stream; when `signal` fires, the returned stream fails with its reason. */
export function detachedGcsRead(inner: Readable, signal?: AbortSignal): Readable {
  const outer = new PassThrough({ highWaterMark: inner.readableHighWaterMark });
  let answered = false;
  let pendingDestroy = false;
  inner.once('response', () => setImmediate(() => {
    answered = true;
    if (pendingDestroy) inner.destroy();
  }));
  const stopInner = (): void => {
    if (inner.destroyed) return;
    if (answered || inner.readableEnded) inner.destroy();
    else pendingDestroy = true;
  };
  inner.on('error', (err) => outer.destroy(err));
  inner.pipe(outer);
  outer.once('close', () => {
    inner.unpipe(outer);
    stopInner();
  });
  if (signal !== undefined) {
    const onAbort = (): void => void outer.destroy(signal.reason as Error);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      outer.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return outer;
}
