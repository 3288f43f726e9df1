// Findings and their evidence as text, the way the CLI and exports show where a tag was seen.
import { freeRank, type Evidence, type TagFinding } from '../extract/types.js';

/** `pool`, `object-ref`, or `pool (protected)` when the tag carried the PROTECTED_POOL bit. */
export function kindText(f: Pick<TagFinding, 'kind' | 'protected'>): string {
  return f.kind + (f.protected ? ' (protected)' : '');
}

/** `.text+0x1a2b`: section and RVA. */
export function evidencePlace(e: Pick<Evidence, 'section' | 'rva'>): string {
  return `${e.section}+0x${e.rva.toString(16)}`;
}

/**
 * `.text+0x1a2b ExAllocatePoolWithTag via 0x1400`: the place, the API reached, and the wrappers it went
 * through (the driver's own function, then another driver's export: `via ndis.sys!NdisAllocate…`).
 */
export function evidenceText(e: Pick<Evidence, 'section' | 'rva' | 'api' | 'via' | 'viaExport'>): string {
  let s = evidencePlace(e);
  if (e.api) s += ` ${e.api}`;
  const via = [e.via !== undefined ? `0x${e.via.toString(16)}` : undefined, e.viaExport].filter(Boolean);
  if (via.length) s += ` via ${via.join(', ')}`;
  return s;
}

/** `0x2952`: RVAs and wrapper addresses as the tables print them, for JSON too. */
export function hexRva(n: number): string {
  return '0x' + n.toString(16);
}

/** Evidence for JSON: RVAs in hex like the tables. */
export function evidenceJson<E extends Pick<Evidence, 'rva' | 'via'>>(e: E): Omit<E, 'rva' | 'via'> & { rva: string; via?: string } {
  const { rva, via, ...rest } = e;
  return { ...rest, rva: hexRva(rva), ...(via !== undefined ? { via: hexRva(via) } : {}) };
}

/** Allocation sites before free sites, otherwise as given (stable). */
export function allocationsFirst<E extends Pick<Evidence, 'api'>>(evidence: readonly E[]): E[] {
  return [...evidence].sort((a, b) => freeRank(a) - freeRank(b));
}

/** `(+18 more)` when `shown` of `total` sites are listed, else ''. */
export function moreText(shown: number, total: number): string {
  return total > shown ? `(+${total - shown} more)` : '';
}
