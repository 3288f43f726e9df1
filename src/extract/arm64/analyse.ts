// The ARM64 code tiers of one image: the same result the x86/x64 sweep gives (call evidence, tag-like
// immediates, wrappers), plus the disassembly of each constant for evidence, since iced-x86 cannot decode it.
import type { PeImage } from '../../pe/types.js';
import { importKey, ownApis } from '../exports.js';
import { resolveCalls } from '../resolve.js';
import { type Arm64Section, layout } from './starts.js';
import { describe } from './text.js';
import { type Const, type Literal, walkArm64 } from './walk.js';
import type { CallEvidence, CallSite, ImmediateSite, TagApi, Wrapper } from '../types.js';

interface Range {
  begin: number;
  end: number;
}

export interface Arm64Analysis {
  calls: CallEvidence[];
  /**
   * Tag-like constants built in registers and not only compared. `immAt` is the literal-pool word an
   * `ldr wN,<label>` read; otherwise it equals `at`: a constant built with MOVZ/MOVK is spread over 16-bit
   * fields of several instructions, so its four bytes never sit in the code.
   */
  immediates: ImmediateSite[];
  wrappers: Wrapper[];
  /** Disassembly of the instructions building each evidence constant, by CallEvidence.at / ImmediateSite.at. */
  instructions: Map<number, string>;
  /** Calls to the `structApis` asked for (the framework pass's), arguments with their ADRP+ADD addresses. */
  structSites: CallSite[];
}

/** [begin, end) minus the sorted or unsorted `holes`, as whole 4-byte words from `begin`. */
function pieces(begin: number, end: number, holes: readonly Range[]): Range[] {
  let out: Range[] = [{ begin, end }];
  for (const h of holes) {
    out = out.flatMap((p) => (h.end <= p.begin || h.begin >= p.end ? [p] : [{ begin: p.begin, end: h.begin }, { begin: h.end, end: p.end }]));
  }
  return out
    .map((p) => ({ begin: p.begin + ((4 - ((p.begin - begin) & 3)) & 3), end: p.end }))
    .map((p) => ({ begin: p.begin, end: p.begin + ((p.end - p.begin) & ~3) }))
    .filter((p) => p.end > p.begin);
}

/** Executable sections as whole words, without the PE metadata (import tables, …) some linkers put in them. */
function codeSections(buf: Uint8Array, pe: PeImage, exclude: readonly Range[]): Arm64Section[] {
  return pe.sections
    .filter((s) => s.executable && s.rawSize > 0 && (s.rva & 3) === 0)
    .flatMap((s) => {
      const len = Math.min(s.rawSize, s.virtualSize || s.rawSize, Math.max(0, buf.length - s.rawOffset));
      return pieces(s.rva, s.rva + len, exclude).map((p) => ({
        name: s.name,
        rva: p.begin,
        bytes: buf.subarray(s.rawOffset + p.begin - s.rva, s.rawOffset + p.end - s.rva),
        continues: p.begin !== s.rva,
      }));
    });
}

const SCN_MEM_WRITE = 0x80000000;

/** Literal-pool reads: only bytes of a section no one may write hold a constant. */
function readOnlyLiteral(buf: Uint8Array, pe: PeImage): Literal {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return (rva, size) => {
    const s = pe.sectionAt(rva);
    if (!s || (s.characteristics & SCN_MEM_WRITE) !== 0) return undefined;
    const off = rva - s.rva;
    if (off + size > Math.min(s.rawSize, s.virtualSize || s.rawSize)) return undefined;
    const at = s.rawOffset + off;
    if (at + size > buf.length) return undefined;
    if (size === 8 && view.getUint32(at + 4, true) !== 0) return undefined;
    return view.getUint32(at, true);
  };
}

/**
 * Decode an ARM64 image's executable sections: `call` and `code` tier evidence and the wrappers found.
 * `exclude`: RVA ranges inside code sections that are not code (extract.ts's metadataRanges().rvas).
 */
export function analyseArm64(
  buf: Uint8Array, pe: PeImage, apis: Map<string, TagApi>, exclude: readonly Range[] = [], structApis: ReadonlySet<string> = new Set(),
): Arm64Analysis {
  const sections = codeSections(buf, pe, exclude);
  // Imports by the name the API table knows them: other images' exported wrappers are "module!export".
  const imports = new Map<number, string>();
  for (const imp of pe.imports) {
    const key = importKey(imp, apis);
    if (key !== undefined) imports.set(imp.iatRva, key);
  }
  // An exported function's address is a function start; a kernel-like image's own exported APIs are called directly.
  const exported = (pe.exports?.entries() ?? []).map((e) => e.rva).filter((rva) => pe.sectionAt(rva)?.executable);
  const walked = walkArm64(layout(sections, pe.functions, [pe.entryRva, ...exported], imports), imports, apis, readOnlyLiteral(buf, pe), pe.guard, structApis);
  const { calls, wrappers } = resolveCalls(walked.sites, apis, 64, { ownApis: ownApis(pe, apis) });

  const instructions = new Map<number, string>();
  // A magic number that is only compared is not a tag.
  const kept = walked.candidates.filter((c) => !c.compared || c.used).sort((a, b) => a.at - b.at || a.v - b.v);
  const immediates: ImmediateSite[] = [];
  for (const [k, c] of kept.entries()) {
    if (k > 0 && kept[k - 1].at === c.at && kept[k - 1].v === c.v) continue;
    immediates.push({ at: c.at, v: c.v, immAt: c.immAt });
    if (!instructions.has(c.at)) instructions.set(c.at, describe(c.why));
  }

  // Call evidence names a constant by (at, value): find how it was built among the arguments passed.
  const wanted = new Set(calls.filter((c) => !instructions.has(c.at)).map((c) => c.at));
  const built = new Map<number, Const[]>();
  for (const site of wanted.size > 0 ? walked.sites : []) {
    for (const v of site.args) {
      for (const a of v ?? []) {
        if (a.k !== 'c' || !wanted.has(a.at)) continue;
        const list = built.get(a.at);
        if (list) list.push(a as Const);
        else built.set(a.at, [a as Const]);
      }
    }
  }
  for (const c of calls) {
    const a = built.get(c.at)?.find((x) => x.v === c.value);
    if (a && !instructions.has(c.at)) instructions.set(c.at, describe(a.why));
  }
  return { calls, immediates, wrappers, instructions, structSites: walked.structSites };
}
