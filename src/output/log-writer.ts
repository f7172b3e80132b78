// The one writer of human lines on stderr. On a terminal it keeps one live line (progress) rewritten in place and
// never lets other output run into it: the live line is cleared, the text written, the live line drawn again.
// Elsewhere (a cron log file, a pipe) there is no live line and every line starts with a UTC timestamp.

export interface LogWriter {
  /** Text for stderr: whole lines, or chunks of another program's output (nodetool's). */
  print(text: string): void;
  /** Shows or replaces the live line (on a terminal only; ignored elsewhere). */
  live(text: string): void;
  /** Removes the live line until live() is called again. */
  clearLive(): void;
  /** Forgets the live line without writing anything now; the next text printed clears it first. */
  forgetLive(): void;
}

export interface LogWriterDeps {
  readonly write: (text: string) => void;
  readonly isTty: boolean;
  readonly now: () => Date;
}

const CLEAR_LINE = '\r\x1b[K';
// Autowrap off while the live line is drawn: a line wider than the terminal is cut, never wrapped onto a second
// line that \r could not take back.
const NO_WRAP = '\x1b[?7l';
const WRAP = '\x1b[?7h';

/** `2026-12-01T03:15:02Z`: ISO 8601, UTC, to the second. */
export function logTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function createLogWriter(deps: LogWriterDeps): LogWriter {
  let liveText: string | undefined;
  let drawn = false;
  let atLineStart = true;

  const stamp = (text: string): string => {
    if (deps.isTty || text === '') return text;
    const prefix = `${logTimestamp(deps.now())} `;
    let out = '';
    for (const piece of text.split(/(?<=\n)/)) {
      out += atLineStart ? `${prefix}${piece}` : piece;
      atLineStart = piece.endsWith('\n');
    }
    return out;
  };

  const draw = (): string => {
    if (liveText === undefined || !atLineStart) return '';
    drawn = true;
    return `${CLEAR_LINE}${NO_WRAP}${liveText}${WRAP}`;
  };

  return {
    print(text) {
      if (text === '') return;
      const clear = drawn ? CLEAR_LINE : '';
      drawn = false;
      const body = stamp(text);
      if (deps.isTty) atLineStart = text.endsWith('\n');
      deps.write(`${clear}${body}${draw()}`);
    },
    live(text) {
      if (!deps.isTty) return;
      liveText = text;
      const out = draw();
      if (out !== '') deps.write(out);
    },
    clearLive() {
      liveText = undefined;
      if (!drawn) return;
      drawn = false;
      deps.write(CLEAR_LINE);
    },
    forgetLive() {
      liveText = undefined;
    },
  };
}
