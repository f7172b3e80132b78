// Plain-text tables for a terminal: columns padded to their widest cell, the last one left ragged. Pure.
export function formatColumns(header: readonly string[], lines: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[header, ...lines].map(render).join('\n')}\n`;
}
