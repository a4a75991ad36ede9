// Byte sizes for --max-file-size and for notes. Units are binary (1 KB = 1024 bytes), as `du -h` counts.

/** The largest --max-file-size: a file is scanned as one string, and V8 strings stop at about 512 MB. */
export const LARGEST_SCANNABLE_SIZE = 500 * 1024 ** 2;

const UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Parses `50MB`, `512 KB`, `1.5gb` or a plain byte count; null when it is not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2].toUpperCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}

/** Human-readable byte count: `512 bytes`, `1.5 KB`, `50 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['KB', 'MB', 'GB'];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The note for a file or blob skipped for its size; exact byte counts when rounding would hide the difference. */
export function overLimitNote(label: string, size: number, limit: number): string {
  let [s, l] = [formatBytes(size), formatBytes(limit)];
  const [sv, su] = s.split(' ');
  const [lv, lu] = l.split(' ');
  if (su === lu && Number(sv) === Number(lv)) [s, l] = [`${size} bytes`, `${limit} bytes`];
  return `skipped ${label}: ${s} is over the ${l} limit (--max-file-size)`;
}
