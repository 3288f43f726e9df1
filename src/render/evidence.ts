// Findings and their evidence as text, the way the CLI and exports show where a tag was seen.
import type { Evidence, TagFinding } from '../extract/types.js';

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
