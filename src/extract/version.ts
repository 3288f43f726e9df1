// Its own module so the index can tell stale analyses apart without loading the extractor and its WASM.

/**
 * Identifies what extractTags reports for a given file: the database analyses again any content stored
 * under another version. Bump it whenever any result can change (tiers, evidence, sets of tags).
 * 2: PE metadata (import/export/resource/debug/relocation data, signature) excluded from the code and data tiers.
 * 3: ARM64 code analysed (call and code tiers), no longer data tier only.
 * 4: debug and unwind sections (DWARF, stabs, .pdata/.xdata/.eh_frame) left out of the data tier.
 * 5: calls to the image's own exported tag APIs; exported wrappers; other images' exported wrappers (from a database).
 * 6: framework evidence (KMDF WdfFunctions table calls and DriverPoolTag or its default, Filter Manager
 *    context registrations, NDIS pool and timer parameter structures); 4-byte stack fields survive an
 *    8-byte store beside them.
 * 7: tags held in the image's data (globals no code writes, tables indexed or walked) reach call tier.
 */
export const EXTRACTOR_VERSION = '7';
