// Stopping on SIGINT, SIGTERM or SIGHUP. The first signal aborts the run through its one AbortController: uploads
// stop, multipart uploads are aborted on the store, the lock is released on the way out, and the run's own error
// becomes the final line. A second signal, or a run still going a grace period later, ends the process at once.
// - Node resets an inherited SIG_IGN to the default action at start-up (a background job of a non-interactive
//   shell starts with SIGINT ignored), and a listener replaces that default, so SIGINT is caught there too.
// - The listeners stay installed (never `once`): execa's signal-exit re-sends a signal to the process when it
//   finds no listener but its own, which used to kill interrupted runs before they had cleaned up.

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

/** How long an interrupted run may take to stop cleanly before it is ended anyway. */
export const STOP_GRACE_MS = 30_000;

export interface InterruptDeps {
  readonly listen: (signal: InterruptSignal, onSignal: () => void) => void;
  readonly abort: (reason: Error) => void;
  /** Ends the process now, with this message as its one final error line. */
  readonly exitNow: (message: string) => void;
  /** Calls back once after `ms`; must not keep the process alive by itself. */
  readonly startTimer: (onTimeout: () => void, ms: number) => void;
  readonly graceMs?: number;
}

export interface Interrupts {
  /** The first signal received, if any. */
  received(): InterruptSignal | undefined;
}

export function watchInterrupts(deps: InterruptDeps): Interrupts {
  const graceMs = deps.graceMs ?? STOP_GRACE_MS;
  let first: InterruptSignal | undefined;
  for (const signal of INTERRUPT_SIGNALS) {
    deps.listen(signal, () => {
      if (first !== undefined) {
        deps.exitNow(`interrupted by ${first}; ${signal} came while it was stopping, so it was ended without cleaning up: ` +
          'the run is incomplete and may leave unfinished uploads in the store');
        return;
      }
      first = signal;
      deps.startTimer(() => deps.exitNow(`interrupted by ${signal}; it had not stopped ${formatSeconds(graceMs)} later, so it ` +
        'was ended without cleaning up: the run is incomplete and may leave unfinished uploads in the store'), graceMs);
      deps.abort(new Error(`interrupted by ${signal}`));
    });
  }
  return { received: () => first };
}

/**
 * The final line of a run that a signal stopped: the signal, then what the run said as it stopped (its error's
 * message, or undefined when it returned normally, which after a signal is not reported as a success).
 */
export function interruptedMessage(signal: InterruptSignal, runMessage: string | undefined): string {
  if (runMessage === undefined) return `interrupted by ${signal}; it reached its end anyway, but is not reported as a success`;
  const rest = runMessage.replace(/^interrupted by SIG[A-Z]+[.;:,]?\s*/, '');
  return `interrupted by ${signal}; ${rest === '' ? 'it stopped before it had finished' : rest}`;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
