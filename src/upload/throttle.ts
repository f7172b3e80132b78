// --max-rate: one token bucket shared by every stream of a run, so the sum of all uploads stays under the limit.
import { Transform, type TransformCallback } from 'node:stream';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RateLimiter {
  /** Resolves once `bytes` may pass. */
  take(bytes: number): Promise<void>;
}

/** Allows `bytesPerSecond` on average, with a burst of a tenth of a second. */
export function createRateLimiter(bytesPerSecond: number, clock: Clock = realClock): RateLimiter {
  const burst = Math.max(64 * 1024, bytesPerSecond / 10);
  let available = burst;
  let last = clock.now();
  return {
    async take(bytes: number): Promise<void> {
      const now = clock.now();
      available = Math.min(burst, available + ((now - last) / 1000) * bytesPerSecond);
      last = now;
      available -= bytes; // may go into debt: the caller waits until it is paid back
      if (available < 0) await clock.sleep((-available / bytesPerSecond) * 1000);
    },
  };
}

/** A pass-through stream that lets each chunk go only when the limiter allows it. */
export function throttle(limiter: RateLimiter): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
      limiter.take(chunk.length).then(() => done(null, chunk), done);
    },
  });
}
