// The PE view every later stage reads. Produced by readPe() in src/pe/read.ts.

export type Machine = 'x86' | 'x64' | 'arm64' | 'arm' | 'ia64' | 'unknown';

export interface Section {
  name: string;
  /** Virtual address relative to the image base. */
  rva: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
  characteristics: number;
  /** IMAGE_SCN_MEM_EXECUTE or IMAGE_SCN_CNT_CODE. */
  executable: boolean;
}

export interface ImportEntry {
  dll: string;
  /** Function name, when imported by name. */
  name?: string;
  ordinal?: number;
  /** RVA of the IAT slot the loader fills; calls go through [imageBase + iatRva]. */
  iatRva: number;
}

export interface VersionInfo {
  CompanyName?: string;
  FileVersion?: string;
  FileDescription?: string;
  OriginalFilename?: string;
  ProductName?: string;
  ProductVersion?: string;
  [key: string]: string | undefined;
}

/** One exported function of the image. */
export interface ExportEntry {
  ordinal: number;
  rva: number;
  /** Names it is exported under (none when exported by ordinal only). */
  names: string[];
}

export interface Exports {
  /** The image's own name as its export directory gives it (e.g. "ndis.sys"), or '' when absent. */
  module: string;
  /** Every exported function (decoded on first call; a damaged table gives those read before the damage). */
  entries(): ExportEntry[];
  /** RVA of the function exported under `name` (binary search of the sorted name table), if any. */
  rvaOf(name: string): number | undefined;
}

/** One x64 .pdata RUNTIME_FUNCTION: a function's extent. */
export interface FunctionRange {
  begin: number;
  end: number;
}

/** RVAs of the load configuration's Control Flow Guard function pointer variables. */
export interface GuardPointers {
  /** GuardCFCheckFunctionPointer: called with the target (ARM64: x15, x86: ecx) before an indirect call. */
  checkSlot?: number;
  /** GuardCFDispatchFunctionPointer: called instead of the target (x64: rax), which it then jumps to. */
  dispatchSlot?: number;
}

export interface PeImage {
  machine: Machine;
  /** Raw IMAGE_FILE_HEADER.Machine value. */
  machineCode: number;
  is64: boolean;
  imageBase: bigint;
  entryRva: number;
  subsystem: number;
  timeDateStamp: number;
  sections: Section[];
  imports: ImportEntry[];
  /** The export directory, when the image has one. */
  exports: Exports | null;
  version: VersionInfo | null;
  /** Function extents from the exception directory (x64/ARM64); empty when absent. */
  functions: FunctionRange[];
  /** Control Flow Guard pointer variables from the load configuration; absent when the image has none. */
  guard?: GuardPointers;
  /** File offset of a virtual address range, or -1 when it is not backed by file bytes. */
  rvaToOffset(rva: number): number;
  /** Section holding the rva, if any. */
  sectionAt(rva: number): Section | undefined;
  /**
   * 'memory' for an image dumped from memory (each section's bytes at its RVA). `sections` then already point
   * at those bytes, so nothing past readPe reads differently; only fields that hold file offsets (the
   * certificate table, debug data's PointerToRawData) point at nothing in such a file.
   */
  layout: 'file' | 'memory';
  /** One line saying how the memory layout was recognised. */
  layoutNote?: string;
  /** Why no import could be read from a present import directory (also in `warnings`): no call-tier proof. */
  importsDiscarded?: string;
  /** Non-fatal oddities met while reading (truncated import table, bad version resource, …). */
  warnings: string[];
}

/** A file that is not a readable PE image. `offset` is where reading failed, when known. */
export class PeFormatError extends Error {
  constructor(message: string, public readonly offset?: number) {
    super(offset === undefined ? message : `${message} (at offset 0x${offset.toString(16)})`);
    this.name = 'PeFormatError';
  }
}

/** Is this one of a report's warnings that say no call-tier proof was possible (readPe's `importsDiscarded`)? */
export function isNoCallProofWarning(warning: string): boolean {
  return /^imports (discarded|unreadable): /.test(warning);
}
