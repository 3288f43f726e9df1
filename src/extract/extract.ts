// The public entry of tag extraction: one driver image in, every tag with its evidence out.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';
import { readPe } from '../pe/read.js';
import type { PeImage } from '../pe/types.js';
import { tagBytes, withoutProtectedBit } from '../tag.js';
import { tagApis } from './apis.js';
import { dataTags, findBytes } from './data.js';
import { locateOffset } from '../pe/locate.js';
import { analyseCode } from './analyse.js';
import { decoyImmediates } from './decoys.js';
import { ImageData } from './globals.js';
import { analyseArm64 } from './arm64/analyse.js';
import { ImageView, arm64FrameworkCalls, arm64Frameworks, frameworkCalls, planFrameworks } from './frameworks/index.js';
import { type Metadata, metadataRanges } from './metadata.js';
import { subtract } from './ranges.js';
import { type DriverReport, type Evidence, MAX_EVIDENCE, TIER_RANK, freeRank, type TagFinding, type TagKind, type Tier, type CallEvidence, type CodeInput, type ImmediateSite, type TagApi, type Wrapper, type ScanHit, type ExportedWrapper } from './types.js';
import { externalApis, ownApis, exportedWrappers, importKey, importRefs, moduleName } from './exports.js';
import { evidenceOf, scanSitesOf, siteHit, type ScanSite } from './scan-sites.js';

// iced-x86 is CommonJS: an ESM `import` makes node scan its 924 KB for export names (~90 ms per start).
const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
const { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction } = iced;

export { EXTRACTOR_VERSION } from './version.js';

export interface ExtractOptions {
  path?: string;
  /** The file's SHA-256 (hex), when the caller has hashed it already: saves hashing it twice. */
  sha256?: string;
  /** Other images' exported wrappers (from a database): this image's calls to them carry tags. */
  exportedWrappers?: readonly ExportedWrapper[];
}

/** Everything the tiers found before grouping, kept for `scan`. */
interface Analysis {
  pe: PeImage;
  code?: CodeInput;
  calls: CallEvidence[];
  immediates: ImmediateSite[];
  wrappers: Wrapper[];
  /** Evidence text by RVA where iced-x86 cannot disassemble (ARM64). */
  instructions?: Map<number, string>;
  tagApis: string[];
  /** The tag-taking APIs as this image sees them: the built-in table plus other images' exported wrappers it imports. */
  apis: Map<string, TagApi>;
  /** Other images' exported wrappers changed what was decoded: a scan (which knows none) sees other sites. */
  external: boolean;
  warnings: string[];
}

function bitnessOf(pe: PeImage): 32 | 64 | undefined {
  return pe.machine === 'x64' ? 64 : pe.machine === 'x86' ? 32 : undefined;
}

/**
 * The decoder's view of the image: code sections (without the metadata some linkers put in them, as
 * separate pieces), IAT names, known function starts.
 */
export function codeInput(buf: Uint8Array, pe: PeImage, apis: Map<string, TagApi>, meta = metadataRanges(buf, pe)): CodeInput | undefined {
  const bitness = bitnessOf(pe);
  if (!bitness) return undefined;
  const sections = pe.sections
    .filter((s) => s.executable && s.rawSize > 0)
    .flatMap((s) => {
      const len = Math.min(s.rawSize, s.virtualSize || s.rawSize, Math.max(0, buf.length - s.rawOffset));
      return subtract(s.rva, s.rva + len, meta.rvas).map((p) => ({
        name: s.name,
        rva: p.begin,
        bytes: buf.subarray(s.rawOffset + p.begin - s.rva, s.rawOffset + p.end - s.rva),
      }));
    })
    // Zero bytes left between metadata ranges are alignment padding: they decode to nothing of interest.
    .filter((s) => s.bytes.some((b) => b !== 0));
  const imports = new Map<number, string>();
  // Other images' exported wrappers, when given, are keyed "module!name": only then is the module looked at.
  const external = apis !== tagApis();
  for (const imp of pe.imports) {
    const key = external ? importKey(imp, apis) : imp.name;
    if (key !== undefined) imports.set(imp.iatRva, key);
  }
  const functionRanges = [...pe.functions].sort((a, b) => a.begin - b.begin);
  const own = ownApis(pe, apis);
  // Without .pdata (x86), an exported function's address is a known function start; with it, .pdata has them.
  const exported = functionRanges.length > 0 ? [] : (pe.exports?.entries() ?? []).map((e) => e.rva).filter((rva) => pe.sectionAt(rva)?.executable);
  return {
    bitness,
    imageBase: pe.imageBase,
    imageEnd: pe.sections.reduce((m, s) => Math.max(m, s.rva + Math.max(s.virtualSize, s.rawSize)), 0),
    sections,
    imports,
    functionStarts: [...functionRanges.map((f) => f.begin), pe.entryRva, ...exported],
    functionRanges,
    apis,
    dataRanges: pe.sections
      .filter((s) => !s.executable && (s.virtualSize || s.rawSize) > 0)
      .map((s) => ({ begin: s.rva, end: s.rva + (s.virtualSize || s.rawSize) })),
    ...(pe.guard?.dispatchSlot !== undefined ? { guardDispatch: pe.guard.dispatchSlot } : {}),
    ...(own.size > 0 ? { ownApis: own } : {}),
  };
}

export { type CodeAnalysis, analyseCode } from './analyse.js';

function analyse(buf: Uint8Array, pe: PeImage, meta: Metadata, external: readonly ExportedWrapper[] = [], path?: string): Analysis {
  const apis = externalApis(tagApis(), pe, external);
  const usesExternal = apis !== tagApis();
  const warnings = [...pe.warnings];
  const imported = [...new Set(pe.imports.map((i) => i.name).filter((n): n is string => n !== undefined && tagApis().has(n)))].sort();
  if (pe.machine === 'arm64') {
    const fwPlan = arm64Frameworks(pe);
    const { calls, immediates, wrappers, instructions, structSites } = analyseArm64(buf, pe, apis, meta.rvas, fwPlan.names);
    const fw = arm64FrameworkCalls(new ImageView(buf, pe), fwPlan, structSites, path);
    warnings.push(...fw.warnings);
    return { pe, calls: [...calls, ...fw.calls], immediates, wrappers, instructions, tagApis: imported, apis, external: usesExternal, warnings };
  }
  const code = codeInput(buf, pe, apis, meta);
  if (!code) {
    warnings.push(`${pe.machine} code is not decoded: only data-tier evidence`);
    return { pe, calls: [], immediates: [], wrappers: [], tagApis: imported, apis, external: usesExternal, warnings };
  }
  const image = new ImageView(buf, pe);
  const plan = planFrameworks(code, image, apis);
  if (plan) {
    code.frameworks = plan.hooks;
    code.apis = plan.apis;
  }
  const { calls, immediates: all, wrappers, runtime, structSites, globalStores, starts } = analyseCode(code, new ImageData(buf, pe, code));
  for (const r of runtime) {
    const w = `tag chosen at run time: the tag argument of ${r.api} at ${sectionName(pe, r.site)}+0x${r.site.toString(16)} is read from ${r.global.replace(/^global /, '')}, which code writes`;
    if (!warnings.includes(w)) warnings.push(w);
  }
  const fw = frameworkCalls(image, plan, structSites, globalStores, path);
  warnings.push(...fw.warnings);
  // Only immediates of tags no call proves can be decoys: a proven tag keeps all its evidence. An image
  // that imports and exports no tag-taking API (most DLLs) proves nothing either way: the pass is spared.
  const provenTags = new Set([...calls, ...fw.calls].map((c) => withoutProtectedBit(c.value)));
  const takesTags = imported.length > 0 || usesExternal || code.ownApis !== undefined || plan !== undefined;
  const decoys = takesTags ? decoyImmediates(code, starts, all.filter((im) => !provenTags.has(withoutProtectedBit(im.v))), wrappers) : new Set<number>();
  const immediates = decoys.size === 0 ? all : all.filter((im) => !decoys.has(im.at));
  return {
    pe,
    code,
    calls: [...calls, ...fw.calls],
    immediates,
    wrappers,
    tagApis: imported,
    // With KMDF's table functions when the driver binds to KMDF (a wrapper of WdfMemoryCreate is one too).
    apis: code.apis,
    external: usesExternal,
    warnings,
  };
}

/** One formatter and instruction for the whole process: created on first use, small, never freed. */
let shared: { formatter: InstanceType<typeof Formatter>; ins: InstanceType<typeof Instruction> } | undefined;

/** Disassembly of the instruction at `rva`, for evidence (MASM syntax, as WinDbg users read it). */
function instructionText(code: CodeInput | undefined, rva: number): string | undefined {
  const sec = code?.sections.find((s) => rva >= s.rva && rva < s.rva + s.bytes.length);
  if (!sec) return undefined;
  shared ??= { formatter: new Formatter(FormatterSyntax.Masm), ins: new Instruction() };
  const decoder = new Decoder(code!.bitness, sec.bytes.subarray(rva - sec.rva, rva - sec.rva + 15), DecoderOptions.None);
  try {
    decoder.ip = BigInt(rva);
    decoder.decodeOut(shared.ins);
    return shared.formatter.format(shared.ins);
  } finally {
    decoder.free();
  }
}

interface Pending {
  tag: number;
  kind: TagKind;
  ev: Evidence;
}

/** Disassembly for evidence: the analyser's own text where it has one (ARM64), else iced-x86's. */
function instructionAt(a: Analysis, rva: number): string | undefined {
  return a.instructions?.get(rva) ?? instructionText(a.code, rva);
}

/** What a scan reports on each immediate of the analysis (stored by index, so scan need not decode). */
function sitesOf(a: Analysis, wanted?: (immAt: number) => boolean): ScanSite[] {
  return scanSitesOf(a.immediates, a.calls, (rva) => instructionAt(a, rva), wanted);
}

function sectionName(pe: PeImage, rva: number): string {
  return pe.sectionAt(rva)?.name ?? '';
}

function group(a: Analysis, dataHits: { value: number; section: string; rva: number }[]): TagFinding[] {
  const { pe } = a;
  const all: Pending[] = [];
  const proven = new Set<number>();
  const callKinds = new Map<number, Set<TagKind>>();
  for (const c of a.calls) {
    const tag = withoutProtectedBit(c.value);
    proven.add(c.at);
    if (!callKinds.has(tag)) callKinds.set(tag, new Set());
    callKinds.get(tag)!.add(c.kind);
    all.push({ tag, kind: c.kind, ev: evidenceOf(c.weak ? 'code' : 'call', sectionName(pe, c.at), c.at, c.value, c) });
  }
  // Unproven evidence belongs with the tag's proven kind when it only has object-reference uses.
  const kindOf = (tag: number): TagKind => {
    const k = callKinds.get(tag);
    return k && k.size === 1 && k.has('object-ref') ? 'object-ref' : 'pool';
  };
  for (const im of a.immediates) {
    if (proven.has(im.at)) continue;
    const tag = withoutProtectedBit(im.v);
    all.push({ tag, kind: kindOf(tag), ev: evidenceOf('code', sectionName(pe, im.at), im.at, im.v) });
  }
  for (const d of dataHits) {
    const tag = withoutProtectedBit(d.value);
    all.push({ tag, kind: kindOf(tag), ev: evidenceOf('data', d.section, d.rva, d.value) });
  }

  const byKey = new Map<number, { tag: number; kind: TagKind; evs: Evidence[]; seen: Set<string> }>();
  for (const p of all) {
    const key = p.tag * 2 + (p.kind === 'pool' ? 0 : 1);
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { tag: p.tag, kind: p.kind, evs: [], seen: new Set() }));
    // Only call evidence can repeat (one constant reaching an API along two paths); code and data RVAs are unique.
    if (p.ev.tier === 'call') {
      const id = `${p.ev.rva}:${p.ev.api}:${p.ev.via ?? ''}:${p.ev.viaExport ?? ''}:${p.ev.source ?? ''}:${p.ev.heldIn ?? ''}`;
      if (g.seen.has(id)) continue;
      g.seen.add(id);
    }
    g.evs.push(p.ev);
  }

  const findings: TagFinding[] = [];
  for (const g of byKey.values()) {
    // Allocation sites before free sites: where a tag is allocated is what a person looks for first, and
    // the cap below must not fill up with frees.
    g.evs.sort((x, y) => TIER_RANK[x.tier] - TIER_RANK[y.tier] || freeRank(x) - freeRank(y) || x.rva - y.rva);
    const evidence = g.evs.slice(0, MAX_EVIDENCE);
    for (const ev of evidence) {
      if (ev.tier === 'data') continue;
      const t = instructionAt(a, ev.rva);
      if (t) ev.instruction = t;
    }
    const apis = [...new Set(g.evs.filter((e) => e.api).map((e) => e.api!))].sort();
    findings.push({
      tag: g.tag,
      kind: g.kind,
      tier: g.evs[0].tier,
      protected: g.evs.some((e) => e.protected),
      evidence,
      sites: g.evs.length,
      apis,
    });
  }
  findings.sort((x, y) => TIER_RANK[x.tier] - TIER_RANK[y.tier] || (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : 0) || compareTags(x.tag, y.tag));
  return findings;
}

/** Order tags by their bytes in memory order (the display order users read). */
function compareTags(a: number, b: number): number {
  for (let shift = 0; shift < 32; shift += 8) {
    const d = ((a >>> shift) & 0xff) - ((b >>> shift) & 0xff);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every tag of one driver image, with evidence, best tier first. Throws PeFormatError for non-PE input. */
export function extractTags(buf: Uint8Array, opts: ExtractOptions = {}): DriverReport {
  const pe = readPe(buf, opts.path);
  const meta = metadataRanges(buf, pe);
  const a = analyse(buf, pe, meta, opts.exportedWrappers, opts.path);
  const report: DriverReport = {
    size: buf.byteLength,
    sha256: opts.sha256 ?? createHash('sha256').update(buf).digest('hex'),
    machine: pe.machine,
    version: pe.version,
    tagApis: a.tagApis,
    findings: group(a, dataTags(buf, pe, meta)),
    wrappers: a.wrappers,
    exportedWrappers: exportedWrappers(pe, a.wrappers, a.apis, opts.path),
    warnings: a.warnings,
  };
  if (opts.path !== undefined) report.path = opts.path;
  if (pe.layoutNote) report.memoryLayout = pe.layoutNote;
  if (pe.importsDiscarded) report.importsDiscarded = pe.importsDiscarded;
  if (!a.external) report.scanSites = sitesOf(a);
  const imports = importRefs(pe, tagApis());
  if (imports.length > 0) report.imports = imports;
  const module = pe.exports ? moduleName(pe, opts.path) : undefined;
  if (module) report.module = module;
  return report;
}

/**
 * Every occurrence of `tag`'s four bytes in the file (findstr /l semantics), each classified: an
 * immediate the decoder proves reaches a tag API (call), another tag-like immediate (code), or bytes
 * (data). Non-PE files and unreadable images give data hits only.
 */
export function scanTagInFile(buf: Uint8Array, tag: number, pe?: PeImage): ScanHit[] {
  const offsets = findBytes(buf, tagBytes(tag));
  if (offsets.length === 0) return [];
  if (!pe) {
    try {
      pe = readPe(buf);
    } catch {
      return offsets.map((offset) => ({ offset, tier: 'data' as const }));
    }
  }
  const locs = offsets.map((o) => locateOffset(pe, o));
  const inCode = new Set(locs.filter((l) => l.executable).map((l) => l.rva!));
  const sites = new Map<number, ScanSite>();
  if (inCode.size > 0) {
    for (const site of sitesOf(analyse(buf, pe, metadataRanges(buf, pe)), (immAt) => inCode.has(immAt))) sites.set(site.immAt, site);
  }
  return locs.map((loc) => siteHit(loc, loc.rva !== undefined ? sites.get(loc.rva) : undefined));
}
