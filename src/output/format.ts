// How sizes, rates, durations and the live progress line read. One unit system throughout: IEC (KiB, MiB/s). Pure.
import type { ProgressEvent } from '../report.ts';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '-- /s' : `${formatBytes(bytesPerSecond)}/s`;
}

/** 42s, 4m05s, 3h07m. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}

/** e.g. `58.6% 117.2 MiB / 200.0 MiB, 20.0 MiB/s, ETA 4s, 12/19 files (3 reused), 2 in flight` */
export function formatProgressLine(p: ProgressEvent): string {
  const reused = p.reusedFiles > 0 ? ` (${p.reusedFiles} ${p.command === 'restore' ? 'already present' : 'reused'})` : '';
  return `${p.percent}% ${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)}, ${formatRate(p.bytesPerSecond)}, ` +
    `ETA ${formatDuration(p.etaSeconds)}, ${p.doneFiles}/${p.totalFiles} files${reused}, ${p.inFlightFiles} in flight`;
}
