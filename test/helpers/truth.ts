// The shape of a fixture folder's truth.json (test/fixtures/drivers*/): per driver and architecture, the
// exact tag sets each tier must report. Shared by the x64/x86 and the ARM64 extractor tests.

export interface ArchTruth {
  call: string[];
  protected: string[];
  objectRef: string[];
  code: string[];
  dataIncludes: string[];
  absent: string[];
  bytesAbsent: string[];
  apis: Record<string, string[]>;
  /** The APIs each object-reference tag reaches; absent where a driver takes no object references. */
  objectRefApis?: Record<string, string[]>;
  viaWrapper: string[];
  wrappersInclude: { rva: number; param: number; api: string }[];
  /** Exact exports found to forward a parameter (1-based) into a tag argument; absent where not checked. */
  exportedWrappers?: { module: string; name?: string; ordinal: number; param: number; api: string; kind: string }[];
  /** Call-tier tags read from the image's data: the global or table each one's evidence names. */
  heldIn?: Record<string, string>;
  /** Globals code writes that reach a tag argument (warned about, never guessed): "section+0xRVA". */
  runtime?: string[];
  /** Exact sets when the exported wrappers of `exporters` (fixture drivers) are given to the extractor. */
  withExporters?: {
    exporters: string[];
    call: string[];
    code: string[];
    apis: Record<string, string[]>;
    viaExport: Record<string, string>;
  };
}
