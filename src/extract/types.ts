// What the extractor says about one driver. Produced by extractTags() in src/extract/extract.ts.
import type { Machine, VersionInfo } from '../pe/types.js';

/** call: value proven to reach a tag argument; code: tag-like immediate in code; data: bytes anywhere. */
export type Tier = 'call' | 'code' | 'data';
export const TIER_RANK: Record<Tier, number> = { call: 0, code: 1, data: 2 };

/** pool: a pool allocation/free tag; object-ref: an ObReferenceObject*WithTag tag (not pool memory). */
export type TagKind = 'pool' | 'object-ref';

export interface Evidence {
  tier: Tier;
  /** Section name, e.g. ".text", "PAGE", ".rdata". */
  section: string;
  /** RVA of the instruction (call/code) or of the bytes (data). */
  rva: number;
  /** For call tier: the API reached, e.g. "ExAllocatePoolWithTag". */
  api?: string;
  /** For call tier through a wrapper: RVA of the driver's own function that forwards the tag. */
  via?: number;
  /** Disassembly of the instruction that supplies the value, e.g. "mov r8d,6B636F4Ch". */
  instruction?: string;
  /** Set when the value carried bit 31 (PROTECTED_POOL). */
  protected?: boolean;
}

export interface TagFinding {
  /** Tag value without the protected bit. */
  tag: number;
  kind: TagKind;
  /** Best (lowest-ranked) tier among the evidence. */
  tier: Tier;
  /** True when any evidence carried the PROTECTED_POOL bit. */
  protected: boolean;
  /** Evidence, best first; capped per tag (see MAX_EVIDENCE) so a tag used 10,000 times stays small. */
  evidence: Evidence[];
  /** Total number of evidence sites seen, including ones dropped by the cap. */
  sites: number;
  /** APIs reached (call tier), sorted. */
  apis: string[];
}

export const MAX_EVIDENCE = 8;

export interface DriverReport {
  path?: string;
  size: number;
  sha256: string;
  machine: Machine;
  version: VersionInfo | null;
  /** Tag-taking APIs the driver imports. */
  tagApis: string[];
  findings: TagFinding[];
  /** Functions inferred to forward a parameter into a tag argument: rva → description. */
  wrappers: { rva: number; param: number; api: string }[];
  warnings: string[];
}
