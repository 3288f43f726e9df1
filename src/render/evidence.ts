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
 * What proves the tag, after the place: the API, or for framework evidence its own label,
 * `framework: WdfDriverCreate DriverPoolTag` or `KMDF default, from the file name (service amdacpbus2)`.
 */
export function evidenceApi(e: Pick<Evidence, 'api' | 'source' | 'field'>): string {
  if (e.source === 'framework') return `framework: ${e.api ?? ''} ${e.field ?? ''}`.trimEnd();
  if (e.source === 'kmdf-default') return `KMDF default, from the file name (service ${e.field ?? '?'})`;
  return e.api ?? '';
}

/**
 * `.text+0x1a2b ExAllocatePoolWithTag via 0x1400`: the place, the API reached (or the framework label), and
 * the wrappers it went through (the driver's own function, then another driver's export: `via ndis.sys!NdisAllocate…`);
 * a tag read from the image's data says where: `from table .rdata+0x4000`.
 */
export function evidenceText(
  e: Pick<Evidence, 'section' | 'rva' | 'api' | 'via' | 'viaExport' | 'source' | 'field' | 'heldIn'>,
): string {
  let s = evidencePlace(e);
  const api = evidenceApi(e);
  if (api) s += ` ${api}`;
  if (e.heldIn) s += ` from ${e.heldIn}`;
  const via = [e.via !== undefined ? `0x${e.via.toString(16)}` : undefined, e.viaExport].filter(Boolean);
  if (via.length) s += ` via ${via.join(', ')}`;
  return s;
}

/** True when every call-tier piece of evidence is KMDF's default tag: inferred from a file name, not seen. */
export function inferredOnly(evidence: readonly Pick<Evidence, 'tier' | 'source'>[]): boolean {
  const strong = evidence.filter((e) => e.tier !== 'data');
  return strong.length > 0 && strong.every((e) => e.source === 'kmdf-default');
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
