// Signal handling over an in-process emitter and a timer the test fires itself (the real process is in
// test/e2e/interrupt.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { INTERRUPT_SIGNALS, STOP_GRACE_MS, interruptedMessage, watchInterrupts, type InterruptSignal } from '../../src/interrupt.ts';

function harness(graceMs?: number) {
  const emitter = new EventEmitter();
  const aborts: Error[] = [];
  const exits: string[] = [];
  const timers: { fire: () => void; ms: number }[] = [];
  const watch = watchInterrupts({
    listen: (sig, onSignal) => void emitter.on(sig, onSignal),
    abort: (reason) => aborts.push(reason),
    exitNow: (message) => exits.push(message),
    startTimer: (fire, ms) => void timers.push({ fire, ms }),
    ...(graceMs === undefined ? {} : { graceMs }),
  });
  return { send: (sig: InterruptSignal) => emitter.emit(sig), emitter, aborts, exits, timers, watch };
}

describe('interrupts', () => {
  for (const sig of INTERRUPT_SIGNALS) {
    it(`${sig} aborts the run once and starts the grace timer`, () => {
      const h = harness();
      assert.equal(h.watch.received(), undefined);
      h.send(sig);
      assert.equal(h.watch.received(), sig);
      assert.deepEqual(h.aborts.map((e) => e.message), [`interrupted by ${sig}`]);
      assert.deepEqual(h.timers.map((t) => t.ms), [STOP_GRACE_MS]);
      assert.deepEqual(h.exits, [], 'the run is given the chance to stop cleanly');
    });
  }

  it('listens on SIGINT, SIGTERM and SIGHUP for good (a second signal must still find a listener)', () => {
    const h = harness();
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) assert.equal(h.emitter.listenerCount(sig), 1, sig);
    h.send('SIGTERM');
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) assert.equal(h.emitter.listenerCount(sig), 1, `${sig} after the first signal`);
  });

  it('a second signal ends the run at once, saying which signals came', () => {
    const h = harness();
    h.send('SIGTERM');
    h.send('SIGINT');
    assert.equal(h.exits.length, 1);
    assert.match(h.exits[0]!, /^interrupted by SIGTERM; SIGINT came while it was stopping, so it was ended without cleaning up: the run is incomplete/);
    assert.equal(h.aborts.length, 1, 'aborted only once');
    assert.equal(h.watch.received(), 'SIGTERM');
  });

  it('a run still going when the grace period is over is ended', () => {
    const h = harness(1500);
    h.send('SIGHUP');
    assert.deepEqual(h.exits, []);
    assert.equal(h.timers[0]?.ms, 1500);
    h.timers[0]!.fire();
    assert.equal(h.exits.length, 1);
    assert.match(h.exits[0]!, /^interrupted by SIGHUP; it had not stopped 1\.5 s later, so it was ended without cleaning up/);
  });

  it('the final line names the signal, then what the run said as it stopped', () => {
    const stopped = '1 of 3 files were not stored (first: /d/f: interrupted by SIGTERM); no manifest was written.';
    assert.equal(interruptedMessage('SIGTERM', stopped), `interrupted by SIGTERM; ${stopped}`);
    assert.equal(interruptedMessage('SIGINT', 'interrupted by SIGINT'), 'interrupted by SIGINT; it stopped before it had finished');
    assert.equal(interruptedMessage('SIGHUP', 'interrupted by SIGHUP: while listing'), 'interrupted by SIGHUP; while listing');
    assert.match(interruptedMessage('SIGTERM', undefined), /^interrupted by SIGTERM; .*not reported as a success/);
  });
});
