// Human-readable output on stderr (stdout stays free for data). On a terminal, a progress line updates in place.
import type { Reporter, RunEvent } from '../report.ts';

export interface HumanReporterDeps {
  readonly write: (text: string) => void;
  readonly isTty: boolean;
  readonly now: () => number;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function createHumanReporter(deps: HumanReporterDeps): Reporter {
  let total = { files: 0, bytes: 0 };
  let done = { files: 0, bytes: 0 };
  let lastDraw = 0;
  let drawn = false;
  const clear = (): void => {
    if (drawn) deps.write('\r\x1b[K');
    drawn = false;
  };
  const line = (text: string): void => {
    clear();
    deps.write(`${text}\n`);
  };
  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'start':
          total = { files: event.files, bytes: event.bytes };
          done = { files: 0, bytes: 0 };
          line(`${event.command} ${event.tag}: ${event.files} files, ${formatBytes(event.bytes)} → ${event.destination}`);
          break;
        case 'file':
          done = { files: done.files + 1, bytes: done.bytes + event.bytes };
          if (deps.isTty && deps.now() - lastDraw > 200) {
            lastDraw = deps.now();
            deps.write(`\r\x1b[K${done.files}/${total.files} files, ${formatBytes(done.bytes)} sent`);
            drawn = true;
          }
          break;
        case 'retry':
          line(`retrying ${event.what} (attempt ${event.attempt + 1}): ${event.error}`);
          break;
        case 'info':
          line(event.message);
          break;
        case 'warning':
          line(`warning: ${event.message}`);
          break;
        case 'progress':
          break;
        case 'summary':
          line(summaryLine(event));
          break;
      }
    },
  };
}

function summaryLine(e: Extract<RunEvent, { type: 'summary' }>): string {
  return (
    `${e.command} ${e.tag} complete: ${e.files} files, ${formatBytes(e.bytes)} ` +
    `(${e.uploadedFiles} uploaded, ${formatBytes(e.uploadedBytes)}; ${e.copiedFiles} copied in the store; ${e.reusedFiles} already stored) ` +
    `in ${e.seconds.toFixed(1)} s, ${e.mbPerSecond.toFixed(1)} MB/s; manifest ${e.manifest ?? '-'}`
  );
}
