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
}
