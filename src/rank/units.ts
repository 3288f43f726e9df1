// Numbers for people: tables show KB/MB, JSON and CSV keep exact values.

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** 1024-based, like poolmon's K; one decimal below 100 of a unit. */
export function humanBytes(n: number): string {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1024) return `${sign}${v} B`;
  let unit = -1;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${sign}${v < 100 ? v.toFixed(1) : Math.round(v)} ${UNITS[unit]}`;
}

/** Growth with its sign, so a shrinking tag reads as such. */
export function signedBytes(n: number): string {
  return n > 0 ? '+' + humanBytes(n) : humanBytes(n);
}

export function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`;
}
