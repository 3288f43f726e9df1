// Half-open RVA or file-offset ranges, and the searches over sorted ranges and starts that the extractor's
// passes share.

export interface Range {
  begin: number;
  end: number;
}

/** Sorted, disjoint union of `ranges` (empty ones dropped); a merged range keeps the extra fields of its first piece. */
export function normalise<R extends Range>(ranges: readonly R[]): R[] {
  const out: R[] = [];
  for (const r of ranges.filter((x) => x.end > x.begin).sort((a, b) => a.begin - b.begin)) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** [begin, end) minus `holes` (sorted, disjoint), as sorted pieces. */
export function subtract(begin: number, end: number, holes: readonly Range[]): Range[] {
  const out: Range[] = [];
  let at = begin;
  for (const h of holes) {
    if (h.end <= at) continue;
    if (h.begin >= end) break;
    if (h.begin > at) out.push({ begin: at, end: h.begin });
    at = Math.max(at, h.end);
  }
  if (at < end) out.push({ begin: at, end });
  return out;
}

/** Index of the range holding `x` in `ranges` (sorted, disjoint), or -1. */
export function rangeIndexAt(ranges: readonly Range[], x: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (x < ranges[mid].begin) hi = mid - 1;
    else if (x >= ranges[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Index of the last element <= x in an ascending array, or -1. */
export function lastAtOrBelow(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
