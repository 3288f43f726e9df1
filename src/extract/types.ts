// The extractor's shared types, in one home every pass imports from (this file imports none of them): what
// the extractor says about one driver (produced by extractTags() in extract.ts), the tag-taking API table,
// the code handed to the decoders and the call sites and evidence they return.
import type { Machine, VersionInfo } from '../pe/types.js';
import type { Value } from './values.js';

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
  /** For call tier through another image's exported wrapper: "module!name" or "module!#ordinal". */
  viaExport?: string;
  /** For call tier when the tag was read from the image's data: "global .data+0x3020", "table .rdata+0x4000". */
  heldIn?: string;
  /** Disassembly of the instruction that supplies the value, e.g. "mov r8d,6B636F4Ch". */
  instruction?: string;
  /** Set when the value carried bit 31 (PROTECTED_POOL). */
  protected?: boolean;
  /**
   * Where a framework takes the tag from, when not an argument: `framework` = a structure field or a
   * registration the framework reads (`field` names it); `kmdf-default` = KMDF's default tag, inferred from
   * the file name (`field` is the service name assumed).
   */
  source?: EvidenceSource;
  field?: string;
}

export type EvidenceSource = 'framework' | 'kmdf-default';

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

/** 1 for evidence at a free (ExFreePoolWithTag, NdisFreeMemoryWithTagPriority, …), else 0: allocations list first. */
export function freeRank(e: Pick<Evidence, 'api'>): number {
  return e.api !== undefined && /Free/.test(e.api) ? 1 : 0;
}

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
  /** The image's name from its export directory (lower case), when it exports anything. */
  module?: string;
  /** Exported functions that forward a parameter into a tag argument: other drivers' calls to them carry tags. */
  exportedWrappers: ExportedWrapper[];
  /** Imported functions that are not built-in tag APIs: the ones another image's exported wrapper may be. */
  imports?: ImportRef[];
  /** Set for an image dumped from memory (sections at their RVAs): how that was recognised. */
  memoryLayout?: string;
  /** Set (and in `warnings`) when the import directory could not be read, so no call-tier proof was possible. */
  importsDiscarded?: string;
  /**
   * Every tag-like immediate of the decoded code with what `scan` reports on its bytes (the database keeps
   * them so scan need not decode an indexed file); absent when other images' exported wrappers changed what
   * was decoded, since a scan knows none.
   */
  scanSites?: ScanSite[];
  warnings: string[];
}

/** An imported function: module (lower case) and name, or ordinal when imported by ordinal. */
export interface ImportRef {
  module: string;
  name?: string;
  ordinal?: number;
}

/** An export of one image whose parameter `param` reaches the tag argument of `api` (summary for importers). */
export interface ExportedWrapper {
  /** Exporting image, lower case (its export directory name, e.g. "ndis.sys"). */
  module: string;
  /** Export name; absent when exported by ordinal only. */
  name?: string;
  ordinal: number;
  /** 0-based parameter index (x86: stack dword index). */
  param: number;
  /** The tag-taking API the parameter reaches, and its kind. */
  api: string;
  kind: TagKind;
}

export interface TagApi {
  name: string;
  module: string;
  kind: TagKind;
  /** 0-based parameter index of the tag. */
  tagArg: number;
  /** Parameter count. */
  params: number;
  /** x86 calling convention. */
  x86: 'stdcall' | 'fastcall';
  /** x86 stdcall: dword index of the tag at the call, when a 64-bit parameter shifts it. */
  x86TagSlot?: number;
  /** x86: bytes the callee pops, when a 64-bit parameter changes it. */
  x86StackBytes?: number;
  /**
   * Set for another image's exported wrapper (named "module!export"): the API its tag parameter reaches.
   * Such an entry does not know how many bytes an x86 callee pops.
   */
  reaches?: string;
}

/** Where the tag is at the moment of the call: a register (canonical GPR index) or a stack dword/qword. */
export type ArgLocation = { reg: number } | { stack: number };

export interface CodeSection {
  name: string;
  rva: number;
  bytes: Uint8Array;
}

export interface CodeInput {
  bitness: 32 | 64;
  /** Needed to turn x86 absolute addresses into RVAs. */
  imageBase: bigint;
  /** End of the mapped image (RVA): x86 immediates inside [imageBase, imageBase + imageEnd) are addresses. */
  imageEnd?: number;
  /** Executable sections only. */
  sections: CodeSection[];
  /** IAT slot rva → imported function name. */
  imports: Map<number, string>;
  /** Known function starts (x64 .pdata begins, entry point): decoding realigns on them. */
  functionStarts: number[];
  /** Known function extents (x64 .pdata), to tell a leaf function's start from a point inside a function. */
  functionRanges?: { begin: number; end: number }[];
  apis: Map<string, TagApi>;
  /** Data (non-executable, mapped) sections as RVA ranges: loads from them are globals and tables. */
  dataRanges?: { begin: number; end: number }[];
  /**
   * The image's own exports that are tag-taking APIs (ntoskrnl.exe's ExAllocatePoolWithTag), by RVA: a
   * direct call, or a call through a register holding the address, is a call to that API.
   */
  ownApis?: Map<number, TagApi>;
  /** x64 CFG: RVA of __guard_dispatch_icall_fptr (load configuration); a call through it calls rax. */
  guardDispatch?: number;
  /** What the framework pass (frameworks/) asks the sweep to watch, when the image uses a framework. */
  frameworks?: FrameworkHooks;
}

/** An API taking a pointer to a structure that holds a tag: the sweep captures the structure's fields at the call. */
export interface StructHook {
  /** Index of the pointer parameter. */
  param: number;
  params: number;
  /** Field offsets to capture when the structure is on the stack. */
  offsets: number[];
}

/** KMDF's function table as the driver holds it (see frameworks/kmdf.ts). */
export interface WdfTableHook {
  /** RVA of the WdfFunctions global: an array of pointers (KMDF < 1.15) or a pointer to the framework's array. */
  rva: number;
  form: 'array' | 'pointer';
  /** Entries in the table (array form: the extent of the global). */
  count: number;
  /** Table index → function name, for the functions the project knows. */
  names: Map<number, string>;
}

export interface FrameworkHooks {
  /** Imports (and framework-table functions) by name whose structure argument is captured. */
  structs: Map<string, StructHook>;
  /** Extra RVAs whose references make a function worth decoding (IAT slots, the WDF table). */
  slots: number[];
  /** Linker import thunks (`jmp [IAT]`) to the structure APIs: a call to the thunk is a call to the import. */
  thunks: Map<number, string>;
  wdf?: WdfTableHook;
}

/** A constant (or known value) stored by code into the image's own data (`mov [rip+X], imm`). */
export interface GlobalStore {
  rva: number;
  size: number;
  value: Value;
  /** RVA of the storing instruction. */
  at: number;
}

/** A call (or tail jump) that may carry a tag. */
export interface CallSite {
  /** RVA of the call/jmp instruction. */
  at: number;
  /** Start of the function containing it (parameter atoms refer to this function). */
  fn: number;
  /** Imported function name, or the RVA of the driver's own callee. */
  target: string | number;
  /** Value of parameter i at the call, in the callee's convention (x64 registers then stack; x86 stack dwords). */
  args: Value[];
  /** x86 only: ecx and edx, for fastcall imports. */
  regArgs?: Value[];
  /** Structure APIs: the stack structure's fields at the call, as (offset in the structure, value) pairs. */
  fields?: [number, Value][];
}

export interface ImmediateSite {
  /** RVA of the instruction. */
  at: number;
  /** The immediate as stored (little-endian u32 = tag bytes in memory order). */
  v: number;
  /** RVA of the immediate's bytes inside the instruction. */
  immAt: number;
}

/** The call fields evidence carries (see evidenceOf in scan-sites.ts). */
export type SiteCall = Pick<CallEvidence, 'api' | 'via' | 'viaExport' | 'source' | 'field' | 'heldIn'>;

/** A tag-like immediate of the image's decoded code, with what a scan hit on its bytes reports. */
export interface ScanSite {
  /** RVA of the immediate's bytes (where a scan hit lies). */
  immAt: number;
  /** RVA of the instruction. */
  at: number;
  /** The immediate as stored (protected bit included). */
  v: number;
  /** The first call the analysis proved for this constant at this instruction: call tier; none: code tier. */
  call?: SiteCall;
  instruction?: string;
}

export interface ScanHit {
  /** File offset of the tag bytes. */
  offset: number;
  /** call/code when the decoder confirms an instruction immediate there, else data. */
  tier: Tier;
  section?: string;
  rva?: number;
  /** For call/code hits: the instruction and (call) the API reached. */
  evidence?: Evidence;
}

/** Direct branches found by byte pattern: E8 rel32 (call), E9 rel32 and EB rel8 (jmp), into code. */
export interface Branches {
  from: number[];
  to: number[];
  isCall: boolean[];
}

export interface CallEvidence {
  /** The value as passed, protected bit included. */
  value: number;
  /** RVA of the instruction that supplied the constant. */
  at: number;
  /** RVA of the call or tail jump that passed it. */
  site: number;
  api: string;
  kind: TagKind;
  /** The driver's own function called at `site` that forwards the tag, when not the API itself. */
  via?: number;
  /** Framework evidence (frameworks/): see Evidence.source and Evidence.field. */
  source?: EvidenceSource;
  field?: string;
  /** Evidence that only suggests the tag (KMDF default without a WdfDriverCreate call found): code tier. */
  weak?: boolean;
  /** Another image's exported wrapper the tag went through ("module!name"), when `api` is reached that way. */
  viaExport?: string;
  /** When the value was read from the image's data: "global .data+0x3020" or "table .rdata+0x4000". */
  heldIn?: string;
}

export interface Wrapper {
  rva: number;
  param: number;
  api: string;
}
