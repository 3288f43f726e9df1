// The ARM64 code tiers: the bit-mask decoder against words assembled by llvm-mc, the analyser against
// clang-built fixture drivers (test/fixtures/drivers-arm64) and hand-assembled images, and random input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tagApis } from '../../src/extract/apis.js';
import { analyseArm64 } from '../../src/extract/arm64/analyse.js';
import { extractTags, scanTagInFile } from '../../src/extract/extract.js';
import type { TagFinding } from '../../src/extract/types.js';
import { Decoded, type Insn, decode, decodeBitmask, decodeInto, writtenMask } from '../../src/extract/arm64/decode.js';

/** The registers the word at `pc` may write, ascending (31: sp), as the function-start pass sees them. */
function writtenRegs(w: number, pc: number): number[] {
  const d = new Decoded();
  decodeInto(w, pc, d);
  const m = writtenMask(d);
  return Array.from({ length: 32 }, (_, r) => r).filter((r) => (m >>> r) & 1);
}
import { findBytes } from '../../src/extract/data.js';
import { readPe } from '../../src/pe/read.js';
import { PROTECTED_BIT, formatTag, tagFromText, withoutProtectedBit } from '../../src/tag.js';
import { RDATA, type SynthImage, TEXT, buildPe, importData } from '../pe/synth.js';
import { prngWords } from '../helpers/prng.js';
import type { ArchTruth } from '../helpers/truth.js';

const DRIVERS = fileURLToPath(new URL('../fixtures/drivers-arm64/', import.meta.url));
const MACHINE_ARM64 = 0xaa64;
const DIR_IMPORT = 1;

// ---- decoder ---------------------------------------------------------------------------------------

// Words from `llvm-mc --triple=aarch64 -mattr=+lse -filetype=obj` + llvm-objdump, at the pc given.
test('decode: constants built in registers (llvm-mc words)', () => {
  assert.deepEqual(decode(0x528e4a02, 0), { op: 'movz', rd: 2, sf: false, imm16: 0x7250, shift: 0 }); // mov w2,#0x7250
  assert.deepEqual(decode(0x72ac6de2, 0), { op: 'movk', rd: 2, sf: false, imm16: 0x636f, shift: 16 }); // movk w2,#0x636f,lsl #16
  assert.deepEqual(decode(0xd2c24683, 0), { op: 'movz', rd: 3, sf: true, imm16: 0x1234, shift: 32 }); // mov x3,#0x123400000000
  assert.deepEqual(decode(0xf2f7dde3, 0), { op: 'movk', rd: 3, sf: true, imm16: 0xbeef, shift: 48 }); // movk x3,#0xbeef,lsl #48
  assert.deepEqual(decode(0x12800004, 0), { op: 'movn', rd: 4, sf: false, imm16: 0, shift: 0 }); // mov w4,#-1
  assert.deepEqual(decode(0x92a24685, 0), { op: 'movn', rd: 5, sf: true, imm16: 0x1234, shift: 16 }); // mov x5,#-0x12340001
  assert.deepEqual(decode(0x320103e2, 0), { op: 'logimm', logic: 'orr', rd: 2, rn: 31, sf: false, imm: 0x80000000n }); // orr w2,wzr,#0x80000000
  assert.deepEqual(decode(0xb200f3e6, 0), { op: 'logimm', logic: 'orr', rd: 6, rn: 31, sf: true, imm: 0x5555555555555555n });
  assert.deepEqual(decode(0x32010022, 0), { op: 'logimm', logic: 'orr', rd: 2, rn: 1, sf: false, imm: 0x80000000n }); // orr w2,w1,#0x80000000
  assert.deepEqual(decode(0x12001d07, 0), { op: 'logimm', logic: 'and', rd: 7, rn: 8, sf: false, imm: 0xffn }); // and w7,w8,#0xff
  assert.deepEqual(decode(0x7200003f, 0), { op: 'logimm', logic: 'ands', rd: 31, rn: 1, sf: false, imm: 1n }); // tst w1,#0x1
  // mov w2,w0 / mov x1,x0 / orr w9,w23,w8,lsl #4
  assert.deepEqual(decode(0x2a0003e2, 0), { op: 'logreg', logic: 'orr', invert: false, rd: 2, rn: 31, rm: 0, sf: false, shiftType: 0, amount: 0 });
  assert.deepEqual(decode(0xaa0003e1, 0), { op: 'logreg', logic: 'orr', invert: false, rd: 1, rn: 31, rm: 0, sf: true, shiftType: 0, amount: 0 });
  assert.deepEqual(decode(0x2a0812e9, 0), { op: 'logreg', logic: 'orr', invert: false, rd: 9, rn: 23, rm: 8, sf: false, shiftType: 0, amount: 4 });
  // add w1,w23,#80,lsl #12 / sub w8,w24,#208,lsl #12 / add x0,x8,#120 / add x0,sp,#16
  assert.deepEqual(decode(0x114142e1, 0), { op: 'addimm', rd: 1, rn: 23, sf: false, sub: false, flags: false, imm: 0x50000 });
  assert.deepEqual(decode(0x51434308, 0), { op: 'addimm', rd: 8, rn: 24, sf: false, sub: true, flags: false, imm: 0xd0000 });
  assert.deepEqual(decode(0x9101e100, 0), { op: 'addimm', rd: 0, rn: 8, sf: true, sub: false, flags: false, imm: 120 });
  assert.deepEqual(decode(0x910043e0, 0), { op: 'addimm', rd: 0, rn: 31, sf: true, sub: false, flags: false, imm: 16 });
});

test('decode: addresses, loads and stores (llvm-mc words)', () => {
  // adrp x8 at 0x11014 -> page 0x12000 (from direct.sys); adrp x3,#-4096 at 0x5008; adr x9,#260 at 0x44.
  assert.deepEqual(decode(0xb0000008, 0x11014), { op: 'adr', rd: 8, page: true, target: 0x12000 });
  assert.deepEqual(decode(0xf0ffffe3, 0x5008), { op: 'adr', rd: 3, page: true, target: 0x4000 });
  assert.deepEqual(decode(0x10000829, 0x44), { op: 'adr', rd: 9, page: false, target: 0x44 + 260 });
  assert.deepEqual(decode(0xf9403d08, 0), { op: 'ldr', rt: 8, rn: 8, offset: 120, size: 3, wb: 0 }); // ldr x8,[x8,#120]
  assert.deepEqual(decode(0xb9400102, 0), { op: 'ldr', rt: 2, rn: 8, offset: 0, size: 2, wb: 0 }); // ldr w2,[x8]
  assert.deepEqual(decode(0xf97ffc20, 0), { op: 'ldr', rt: 0, rn: 1, offset: 32760, size: 3, wb: 0 }); // ldr x0,[x1,#32760]
  assert.deepEqual(decode(0x38401428, 0), { op: 'ldr', rt: 8, rn: 1, offset: 0, size: 0, wb: 1 }); // ldrb w8,[x1],#1
  // Literal loads (MSVC's constant pools): ldr x1,#32 at 0x100 / ldr w25,#392 / ldrsw x3,#-8 / prfm / ldr s0.
  assert.deepEqual(decode(0x58000101, 0x100), { op: 'lit', rt: 1, size: 8, target: 0x120 });
  assert.deepEqual(decode(0x18000c59, 0x2338), { op: 'lit', rt: 25, size: 4, target: 0x2338 + 392 });
  assert.deepEqual(decode(0x98ffffc3, 0x1000), { op: 'lit', rt: 3, size: 4, target: 0xff8 });
  assert.deepEqual(writtenRegs(0x98ffffc3, 0x1000), [3]);
  assert.deepEqual(decode(0xd8000040, 0), { op: 'none' });
  assert.deepEqual(decode(0x1c000040, 0), { op: 'none' });
  assert.deepEqual(decode(0xa8c453f3, 0), { op: 'pair', load: true, rt: 19, rt2: 20, rn: 31, offset: 0, size: 3, wb: 64, fp: false }); // ldp x19,x20,[sp],#64
  assert.deepEqual(writtenRegs(0xa8c453f3, 0), [19, 20, 31]);
  assert.deepEqual(decode(0xa9bc53f3, 0), { op: 'pair', load: false, rt: 19, rt2: 20, rn: 31, offset: -64, size: 3, wb: -64, fp: false }); // stp x19,x20,[sp,#-64]!
  assert.deepEqual(writtenRegs(0xa9bc53f3, 0), [31]);
  assert.deepEqual(decode(0x6dbf27e8, 0), { op: 'pair', load: false, rt: 8, rt2: 9, rn: 31, offset: -16, size: 3, wb: -16, fp: true }); // stp d8,d9,[sp,#-16]!
  assert.deepEqual(decode(0x69410861, 0), { op: 'pair', load: true, rt: 1, rt2: 2, rn: 3, offset: 8, size: 2, wb: 0, fp: false }); // ldpsw x1,x2,[x3,#8]
  assert.deepEqual(decode(0x69000861, 0), { op: 'load', regs: [1, 2, 3] }); // stgp x1,x2,[x3]
  assert.deepEqual(decode(0xb9000268, 0), { op: 'str', rt: 8, rn: 19, offset: 0, size: 2, wb: 0 }); // str w8,[x19]
  assert.deepEqual(decode(0x39000420, 0), { op: 'str', rt: 0, rn: 1, offset: 1, size: 0, wb: 0 }); // strb w0,[x1,#1]
  assert.deepEqual(decode(0xb85fc3a2, 0), { op: 'ldr', rt: 2, rn: 29, offset: -4, size: 2, wb: 0 }); // ldur w2,[x29,#-4]
  assert.deepEqual(decode(0xb800c3e1, 0), { op: 'str', rt: 1, rn: 31, offset: 12, size: 2, wb: 0 }); // stur w1,[sp,#12]
  assert.deepEqual(decode(0xf81e0fe0, 0), { op: 'str', rt: 0, rn: 31, offset: -32, size: 3, wb: -32 }); // str x0,[sp,#-32]!
  assert.deepEqual(decode(0xf84107fe, 0), { op: 'ldr', rt: 30, rn: 31, offset: 0, size: 3, wb: 16 }); // ldr x30,[sp],#16
  assert.deepEqual(decode(0x3c9f0fe0, 0), { op: 'load', regs: [31] }); // str q0,[sp,#-16]!: only the base changes
  assert.deepEqual(decode(0xcb2f73ff, 0), { op: 'setsp' }); // sub sp,sp,x15,lsl #4
  assert.deepEqual(decode(0xc85f7c83, 0), { op: 'load', regs: [3, 4, 31, 31] }); // ldxr x3,[x4]
  assert.deepEqual(writtenRegs(0xc8057ce6, 0), [5, 6, 7, 31]); // stxr w5,x6,[x7]: status w5
  assert.deepEqual(decode(0xb8210062, 0), { op: 'load', regs: [2] }); // ldadd w1,w2,[x3]
  assert.deepEqual(decode(0x4cdf7000, 0), { op: 'load', regs: [0] }); // ld1 {v0.16b},[x0],#16
});

test('decode: branches, compares and system words (llvm-mc words)', () => {
  assert.deepEqual(decode(0x94000040, 0xa0), { op: 'bl', target: 0x1a0 });
  assert.deepEqual(decode(0x97ffffeb, 0xa4), { op: 'bl', target: 0x50 });
  assert.deepEqual(decode(0x17fffff2, 0xa8), { op: 'b', target: 0x70 });
  assert.deepEqual(decode(0x54000101, 0xac), { op: 'bcond', target: 0xcc }); // b.ne
  assert.deepEqual(decode(0xb4000680, 0xb0), { op: 'bcond', target: 0x180 }); // cbz x0
  assert.deepEqual(decode(0x372fffc3, 0xb4), { op: 'bcond', target: 0xac }); // tbnz w3,#5
  assert.deepEqual(decode(0xd63f0100, 0), { op: 'blr', rn: 8 });
  assert.deepEqual(decode(0xd61f0200, 0), { op: 'br', rn: 16 });
  assert.deepEqual(decode(0xd65f03c0, 0), { op: 'ret' });
  assert.deepEqual(decode(0x6b09011f, 0), { op: 'cmp', regs: [8, 9] }); // cmp w8,w9
  assert.deepEqual(decode(0xf100001f, 0), { op: 'addimm', rd: 31, rn: 0, sf: true, sub: true, flags: true, imm: 0 }); // cmp x0,#0
  assert.deepEqual(decode(0x7a421020, 0), { op: 'cmp', regs: [1, 2] }); // ccmp w1,w2,#0,ne
  assert.deepEqual(decode(0x1a890102, 0), { op: 'csel', rd: 2, rn: 8, rm: 9, sf: false, other: 'rm' }); // csel w2,w8,w9,eq
  assert.deepEqual(decode(0x1a891502, 0), { op: 'csel', rd: 2, rn: 8, rm: 9, sf: false, other: 'inc' }); // csinc w2,w8,w9,ne
  assert.deepEqual(decode(0x5a891102, 0), { op: 'csel', rd: 2, rn: 8, rm: 9, sf: false, other: 'inv' }); // csinv w2,w8,w9,ne
  assert.deepEqual(decode(0xda891502, 0), { op: 'csel', rd: 2, rn: 8, rm: 9, sf: true, other: 'neg' }); // csneg x2,x8,x9,ne
  assert.deepEqual(decode(0x1a9f17e0, 0), { op: 'csel', rd: 0, rn: 31, rm: 31, sf: false, other: 'inc' }); // cset w0,eq
  assert.deepEqual(decode(0x3a891502, 0), { op: 'write', regs: [2] }); // S=1: unallocated
  assert.deepEqual(decode(0xd43e0060, 0), { op: 'stop' }); // brk #0xf003 (__fastfail)
  assert.deepEqual(decode(0xd4200000, 0), { op: 'none' }); // brk #0
  assert.deepEqual(decode(0xd538d080, 0), { op: 'write', regs: [0] }); // mrs x0,tpidr_el1
  assert.deepEqual(decode(0xd518d080, 0), { op: 'none' }); // msr tpidr_el1,x0
  assert.deepEqual(decode(0xd503201f, 0), { op: 'none' }); // nop
  assert.deepEqual(decode(0x1e260003, 0), { op: 'write', regs: [3] }); // fmov w3,s0
  assert.deepEqual(decode(0x0e0c3c24, 0), { op: 'write', regs: [4] }); // mov w4,v1.s[1]
  assert.deepEqual(decode(0x00000000, 0), { op: 'stop' }); // udf #0
});

/** Reference logical immediate built as a bit string: a run of `ones` ones rotated right by `r` in `e` bits. */
function bitmaskReference(e: number, ones: number, r: number, width: number): bigint {
  const elem = '0'.repeat(e - ones) + '1'.repeat(ones);
  const rotated = r === 0 ? elem : elem.slice(e - r) + elem.slice(0, e - r);
  return BigInt(`0b${rotated.repeat(width / e)}`);
}

test('decodeBitmask: every valid encoding matches a bit-string reference; reserved ones are undefined', () => {
  let valid = 0;
  for (const width of [32, 64]) {
    const seen = new Set<string>();
    for (let e = 2; e <= width; e *= 2) {
      for (let ones = 1; ones < e; ones++) {
        for (let r = 0; r < e; r++) {
          const n = e === 64 ? 1 : 0;
          const imms = ((~(2 * e - 1) & 0x3f) | (ones - 1)) & 0x3f;
          assert.equal(decodeBitmask(n, r, imms, width === 64), bitmaskReference(e, ones, r, width), `e=${e} ones=${ones} r=${r}`);
          seen.add(`${n}:${r}:${imms}`);
          valid++;
        }
      }
    }
    // Every other N:immr:imms combination is reserved.
    for (let n = 0; n < 2; n++) {
      for (let immr = 0; immr < 64; immr++) {
        for (let imms = 0; imms < 64; imms++) {
          if (seen.has(`${n}:${immr}:${imms}`)) continue;
          const e = n ? 64 : 1 << (31 - Math.clz32(~imms & 0x3f));
          // immr bits above the element size are ignored by the hardware: same value as the reduced form.
          if (e >= 2 && e <= width && (immr & (e - 1)) !== immr && seen.has(`${n}:${immr & (e - 1)}:${imms}`)) continue;
          assert.equal(decodeBitmask(n, immr, imms, width === 64), undefined, `${width}: N=${n} immr=${immr} imms=${imms}`);
        }
      }
    }
  }
  assert.equal(valid, 1302 + 5334);
});

const REGISTER_FIELDS: (keyof Insn | string)[] = ['rd', 'rn', 'rm', 'rt'];

test('decode: 100,000 random words never throw and stay in range', () => {
  const next = prngWords(0x5eed);
  const ops = new Set<string>();
  for (let k = 0; k < 100_000; k++) {
    const w = next();
    const pc = (next() & 0xffffc) + 0x1000;
    const i = decode(w, pc) as Record<string, unknown>;
    ops.add(i.op as string);
    for (const f of REGISTER_FIELDS) if (f in i) assert.ok((i[f] as number) >= 0 && (i[f] as number) <= 31, `${w.toString(16)} ${f}`);
    if ('target' in i) assert.ok(Number.isSafeInteger(i.target), w.toString(16));
  }
  // Random words reach every kind of result.
  assert.deepEqual([...ops].sort(), ['addimm', 'addreg', 'adr', 'b', 'bcond', 'bl', 'blr', 'br', 'cmp', 'csel', 'ldr', 'lit', 'load', 'logimm', 'logreg', 'movk', 'movn', 'movz', 'none', 'pair', 'ret', 'setsp', 'stop', 'store', 'str', 'write']);
});

// ---- hand-assembled images -------------------------------------------------------------------------

const TEXT_RVA = 0x1000;
const IMPORT_RVA = 0x3000;

const movz = (rd: number, imm16: number, shift = 0) => (0x52800000 | ((shift / 16) << 21) | (imm16 << 5) | rd) >>> 0;
const movk = (rd: number, imm16: number, shift = 16) => (0x72800000 | ((shift / 16) << 21) | (imm16 << 5) | rd) >>> 0;
/** mov/movk pair putting `tag` (display form) into w`rd`. */
const movTag = (rd: number, tag: string) => {
  const v = tagFromText(tag);
  return [movz(rd, v & 0xffff), movk(rd, v >>> 16)];
};
const adrp = (rd: number, pc: number, target: number) => {
  const imm = (Math.floor(target / 4096) - Math.floor(pc / 4096)) & 0x1fffff;
  return (0x90000000 | ((imm & 3) << 29) | ((imm >>> 2) << 5) | rd) >>> 0;
};
const ldrX = (rt: number, rn: number, offset: number) => (0xf9400000 | ((offset / 8) << 10) | (rn << 5) | rt) >>> 0;
const branch = (base: number, pc: number, target: number) => (base | (((target - pc) / 4) & 0x3ffffff)) >>> 0;
const bl = (pc: number, target: number) => branch(0x94000000, pc, target);
const b = (pc: number, target: number) => branch(0x14000000, pc, target);
const cbz = (rt: number, pc: number, target: number) => (0xb4000000 | ((((target - pc) / 4) & 0x7ffff) << 5) | rt) >>> 0;
const movReg = (rd: number, rm: number) => (0x2a0003e0 | (rm << 16) | rd) >>> 0; // mov wd,wm
const BLR = (rn: number) => (0xd63f0000 | (rn << 5)) >>> 0;
const RET = 0xd65f03c0;
const CMP_W8_W9 = 0x6b09011f;
const STR_W10_X19 = 0xb900026a;

test('test encoders agree with llvm-mc', () => {
  assert.equal(movz(2, 0x7250), 0x528e4a02);
  assert.equal(movk(2, 0x636f), 0x72ac6de2);
  assert.equal(adrp(8, 0x11014, 0x12000), 0xb0000008);
  assert.equal(adrp(3, 0x5008, 0x4000), 0xf0ffffe3);
  assert.equal(ldrX(8, 8, 120), 0xf9403d08);
  assert.equal(bl(0xa0, 0x1a0), 0x94000040);
  assert.equal(bl(0xa4, 0x50), 0x97ffffeb);
  assert.equal(b(0xa8, 0x70), 0x17fffff2);
  assert.equal(cbz(0, 0xb0, 0x180), 0xb4000680);
  assert.equal(movReg(2, 0), 0x2a0003e2);
  assert.equal(BLR(8), 0xd63f0100);
});

/**
 * An ARM64 image with `build(slot)` as .text at 0x1000, where slot(name) is the IAT RVA of an ntoskrnl
 * import. Words are placed in order; the function gets each word's RVA through `at` in the callback.
 */
function image(imports: string[], build: (slot: (name: string) => number) => number[], extra: Partial<Pick<SynthImage, 'sections' | 'directories'>> = {}): Uint8Array {
  const imp = importData(IMPORT_RVA, [{ dll: 'ntoskrnl.exe', entries: imports }], true);
  const slot = (name: string) => imp.firstThunks[0] + 8 * imports.indexOf(name);
  const words = build(slot);
  const code = new Uint8Array(words.length * 4);
  const view = new DataView(code.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w, true));
  return buildPe({
    machine: MACHINE_ARM64,
    is64: true,
    imageBase: 0x10000n,
    entryRva: TEXT_RVA,
    sections: [
      { name: '.text', rva: TEXT_RVA, virtualSize: code.length, data: code, characteristics: TEXT },
      { name: '.rdata', rva: IMPORT_RVA, virtualSize: imp.data.length, data: imp.data, characteristics: RDATA },
      ...(extra.sections ?? []),
    ],
    directories: { [DIR_IMPORT]: [IMPORT_RVA, imp.size], ...extra.directories },
  });
}

const analyse = (buf: Uint8Array) => analyseArm64(buf, readPe(buf), tagApis());
const pc = (index: number) => TEXT_RVA + 4 * index;
const callTags = (a: ReturnType<typeof analyse>) => a.calls.map((c) => `${formatTag(c.value)}>${c.api}@${c.site.toString(16)}`).sort();

test('analyseArm64: a magic number only compared (even through a copy) is not a tag; a stored one is code tier', () => {
  const a = analyse(image(['ExFreePoolWithTag'], () => [
    ...movTag(9, 'SyM1'), CMP_W8_W9, ...movTag(10, 'SyH1'), STR_W10_X19, ...movTag(11, 'SyC1'), movReg(9, 11), CMP_W8_W9, RET,
  ]));
  assert.deepEqual(a.calls, []);
  assert.deepEqual(a.immediates.map((i) => [formatTag(i.v), i.at]), [['SyH1', pc(3)]]);
  assert.equal(a.instructions.get(pc(3)), "mov w10,#0x7953; movk w10,#0x3148,lsl #16");
});

test('analyseArm64: evidence text of a long derivation keeps its last six instructions', () => {
  const ADD_W2_W2_0 = 0x11000042;
  const STR_W2_X19 = 0xb9000262;
  const a = analyse(image(['ExFreePoolWithTag'], () => [...movTag(2, 'SyD1'), ...Array(7).fill(ADD_W2_W2_0), STR_W2_X19, RET]));
  assert.deepEqual(a.immediates.map((i) => i.at), [pc(0), pc(2), pc(3), pc(4), pc(5), pc(6), pc(7), pc(8)]);
  assert.equal(a.instructions.get(pc(1) + 4), 'mov w2,#0x7953; movk w2,#0x3144,lsl #16; add w2,w2,#0x0');
  assert.equal(a.instructions.get(pc(8)), `…; ${Array(6).fill('add w2,w2,#0x0').join('; ')}`);
});

test('analyseArm64: forward branches join both constants; calls clobber x0-x18 but not x19', () => {
  const a = analyse(image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ adrp(20, pc(0), slot('ExFreePoolWithTag')),
    /* 1 */ ldrX(20, 20, slot('ExFreePoolWithTag') & 0xfff),
    /* 2 */ ...movTag(19, 'SyK1'),
    /* 4 */ ...movTag(3, 'SyX1'),
    /* 6 */ cbz(0, pc(6), pc(10)),
    /* 7 */ ...movTag(1, 'SyJ1'),
    /* 9 */ b(pc(9), pc(12)),
    /* 10 */ ...movTag(1, 'SyJ2'),
    /* 12 */ BLR(20),
    /* 13 */ movReg(1, 19),
    /* 14 */ BLR(20),
    /* 15 */ movReg(1, 3),
    /* 16 */ BLR(20),
    /* 17 */ RET,
  ]));
  assert.deepEqual(callTags(a), ['SyJ1>ExFreePoolWithTag@1030', 'SyJ2>ExFreePoolWithTag@1030', 'SyK1>ExFreePoolWithTag@1038']);
  // SyX1 sat in w3 across a call: it never reaches the API, so it stays code tier.
  assert.ok(a.immediates.some((i) => formatTag(i.v) === 'SyX1' && i.at === pc(4)));
  assert.equal(a.instructions.get(pc(2)), 'mov w19,#0x7953; movk w19,#0x314b,lsl #16');
});

test('analyseArm64: bl to a linker import thunk and adrp+add+ldr [xn] both reach the import, without wrappers', () => {
  const a = analyse(image(['ExAllocatePoolWithTag', 'ExFreePoolWithTag'], (slot) => {
    const alloc = slot('ExAllocatePoolWithTag');
    const free = slot('ExFreePoolWithTag');
    return [
      /* 0 */ ...movTag(2, 'SyT1'),
      /* 2 */ bl(pc(2), pc(11)),
      /* 3 */ adrp(8, pc(3), free),
      /* 4 */ (0x91000108 | ((free & 0xfff) << 10)) >>> 0, // add x8,x8,#lo12
      /* 5 */ 0xf9400108, // ldr x8,[x8]
      /* 6 */ ...movTag(1, 'SyT2'),
      /* 8 */ BLR(8),
      /* 9 */ RET,
      /* 10 */ 0xd503201f, // nop
      /* 11 */ adrp(16, pc(11), alloc),
      /* 12 */ ldrX(16, 16, alloc & 0xfff),
      /* 13 */ 0xd61f0200, // br x16
    ];
  }));
  assert.deepEqual(callTags(a), ['SyT1>ExAllocatePoolWithTag@1008', 'SyT2>ExFreePoolWithTag@1020']);
  assert.deepEqual(a.calls.map((c) => c.via), [undefined, undefined]);
  assert.deepEqual(a.wrappers, []);
});

test('analyseArm64: a wrapper forwarding w1 through mov, called by bl and by a tail branch', () => {
  const a = analyse(image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ ...movTag(1, 'SyW1'),
    /* 2 */ bl(pc(2), pc(8)),
    /* 3 */ ...movTag(1, 'SyW2'),
    /* 5 */ b(pc(5), pc(8)),
    /* 6 */ RET,
    /* 7 */ RET,
    /* 8 */ movReg(9, 1),
    /* 9 */ adrp(3, pc(9), slot('ExFreePoolWithTag')),
    /* 10 */ ldrX(3, 3, slot('ExFreePoolWithTag') & 0xfff),
    /* 11 */ movReg(1, 9),
    /* 12 */ 0xd61f0060, // br x3
  ]));
  assert.deepEqual(a.wrappers, [{ rva: pc(8), param: 1, api: 'ExFreePoolWithTag' }]);
  assert.deepEqual(callTags(a), ['SyW1>ExFreePoolWithTag@1008', 'SyW2>ExFreePoolWithTag@1014']);
  assert.deepEqual(a.calls.map((c) => c.via), [pc(8), pc(8)]);
});

const ldrLit = (rt: number, pc: number, target: number, x = false) => ((x ? 0x58000000 : 0x18000000) | ((((target - pc) / 4) & 0x7ffff) << 5) | rt) >>> 0;
const tagWord = (tag: string) => tagFromText(tag);

test('analyseArm64: a tag read from a literal pool (older MSVC) reaches the API and a wrapper; the pool is not decoded', () => {
  const a = analyse(image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ ldrLit(25, pc(0), pc(12)),
    /* 1 */ adrp(20, pc(1), slot('ExFreePoolWithTag')),
    /* 2 */ ldrX(20, 20, slot('ExFreePoolWithTag') & 0xfff),
    /* 3 */ movReg(1, 25),
    /* 4 */ BLR(20),
    /* 5 */ ldrLit(1, pc(5), pc(13)),
    /* 6 */ bl(pc(6), pc(16)),
    /* 7 */ ldrLit(9, pc(7), pc(14), true), // 8 bytes whose high half is not zero: no constant
    /* 8 */ movReg(1, 9),
    /* 9 */ BLR(20),
    /* 10 */ RET,
    /* 11 */ 0xd503201f, // nop
    /* 12 */ tagWord('SyL1'),
    /* 13 */ tagWord('SyL2'),
    // Decoded, these two words would build SyZ9 in w10.
    /* 14 */ ...movTag(10, 'SyZ9'),
    /* 16 */ adrp(3, pc(16), slot('ExFreePoolWithTag')),
    /* 17 */ ldrX(3, 3, slot('ExFreePoolWithTag') & 0xfff),
    /* 18 */ 0xd61f0060, // br x3
  ]));
  assert.deepEqual(callTags(a), ['SyL1>ExFreePoolWithTag@1010', 'SyL2>ExFreePoolWithTag@1018']);
  assert.deepEqual(a.calls.map((c) => [c.at, c.via]), [[pc(0), undefined], [pc(5), pc(16)]]);
  // The constant's bytes are the pool word (what scan finds), the evidence names the load.
  assert.deepEqual(a.immediates.map((i) => [formatTag(i.v), i.at, i.immAt]), [['SyL1', pc(0), pc(12)], ['SyL2', pc(5), pc(13)]]);
  assert.equal(a.instructions.get(pc(0)), 'ldr w25,0x1030');
});

test('analyseArm64: CSINC/CSINV/CSNEG keep Rn and the changed Rm as either value', () => {
  const a = analyse(image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ adrp(20, pc(0), slot('ExFreePoolWithTag')),
    /* 1 */ ldrX(20, 20, slot('ExFreePoolWithTag') & 0xfff),
    /* 2 */ ...movTag(8, 'SyC2'),
    /* 4 */ ...movTag(9, 'SyC3'),
    /* 6 */ 0x1a891501, // csinc w1,w8,w9,ne
    /* 7 */ BLR(20),
    /* 8 */ ...movTag(8, 'SyC5'),
    /* 10 */ 0x5a801101, // csinv w1,w8,w0,ne: w0 is unknown after the call, so only w8 stays
    /* 11 */ BLR(20),
    /* 12 */ RET,
  ]));
  // SyC3 + 1 increments the first byte in memory: TyC3.
  assert.deepEqual(callTags(a), ['SyC2>ExFreePoolWithTag@101c', 'SyC5>ExFreePoolWithTag@102c', 'TyC3>ExFreePoolWithTag@101c']);
  assert.equal(a.instructions.get(pc(6)), 'mov w9,#0x7953; movk w9,#0x3343,lsl #16; csinc w1,w8,w9');
});

const CFG_RVA = 0x4000;
const DIR_LOAD_CONFIG = 10;
/** A .cfg section holding a 64-bit load configuration whose guard check and dispatch pointers are the two words after it. */
function loadConfig(): Pick<SynthImage, 'sections' | 'directories'> {
  const data = new Uint8Array(0x90);
  const view = new DataView(data.buffer);
  view.setUint32(0, 0x80, true);
  view.setBigUint64(0x70, 0x10000n + BigInt(CFG_RVA + 0x80), true);
  view.setBigUint64(0x78, 0x10000n + BigInt(CFG_RVA + 0x88), true);
  return { sections: [{ name: '.cfg', rva: CFG_RVA, virtualSize: data.length, data, characteristics: RDATA }], directories: { [DIR_LOAD_CONFIG]: [CFG_RVA, 0x80] } };
}

test('analyseArm64: a CFG-checked call keeps its arguments and target across the check; a dispatched call reaches x15', () => {
  const MOV_X15_X8 = 0xaa0803ef;
  const buf = image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ adrp(8, pc(0), slot('ExFreePoolWithTag')),
    /* 1 */ ldrX(8, 8, slot('ExFreePoolWithTag') & 0xfff),
    /* 2 */ ...movTag(1, 'SyG1'),
    /* 4 */ MOV_X15_X8,
    /* 5 */ adrp(17, pc(5), CFG_RVA),
    /* 6 */ ldrX(17, 17, 0x80), // the check pointer
    /* 7 */ BLR(17),
    /* 8 */ BLR(15),
    /* 9 */ adrp(8, pc(9), slot('ExFreePoolWithTag')),
    /* 10 */ ldrX(15, 8, slot('ExFreePoolWithTag') & 0xfff),
    /* 11 */ ...movTag(1, 'SyG2'),
    /* 13 */ adrp(16, pc(13), CFG_RVA),
    /* 14 */ ldrX(16, 16, 0x88), // the dispatch pointer
    /* 15 */ BLR(16),
    /* 16 */ RET,
  ], loadConfig());
  const pe = readPe(buf);
  assert.deepEqual(pe.guard, { checkSlot: CFG_RVA + 0x80, dispatchSlot: CFG_RVA + 0x88 });
  assert.deepEqual(callTags(analyse(buf)), ['SyG1>ExFreePoolWithTag@1020', 'SyG2>ExFreePoolWithTag@103c']);
  // Without the load configuration the check is an unknown call that clobbers w1.
  const plain = image(['ExFreePoolWithTag'], (slot) => [
    adrp(8, pc(0), slot('ExFreePoolWithTag')), ldrX(8, 8, slot('ExFreePoolWithTag') & 0xfff), ...movTag(1, 'SyG1'), MOV_X15_X8,
    adrp(17, pc(5), CFG_RVA), ldrX(17, 17, 0x80), BLR(17), BLR(15), RET,
  ]);
  assert.deepEqual(callTags(analyse(plain)), []);
});

test('analyseArm64: stack slots: a spilled parameter (through x29 or sp), an escaped address, a lost sp', () => {
  const W = 22; // the wrapper
  const STUB = 31;
  const a = analyse(image(['ExFreePoolWithTag'], (slot) => [
    // Entry: two tags on the stack, the address of the upper one passed to a callee.
    /* 0 */ 0xa9be7bfd, // stp x29,x30,[sp,#-32]!
    /* 1 */ ...movTag(9, 'SyK2'),
    /* 3 */ ...movTag(10, 'SyK3'),
    /* 5 */ 0xb9001be9, // str w9,[sp,#24]
    /* 6 */ 0xb90013ea, // str w10,[sp,#16]
    /* 7 */ 0x910063e0, // add x0,sp,#24
    /* 8 */ bl(pc(8), pc(STUB)),
    /* 9 */ adrp(19, pc(9), slot('ExFreePoolWithTag')),
    /* 10 */ ldrX(19, 19, slot('ExFreePoolWithTag') & 0xfff),
    /* 11 */ 0xb9401be1, // ldr w1,[sp,#24]: the callee may have written it
    /* 12 */ BLR(19),
    /* 13 */ 0xb94013e1, // ldr w1,[sp,#16]: below the escaped address, still SyK3
    /* 14 */ BLR(19),
    /* 15 */ ...movTag(1, 'SyK4'),
    /* 17 */ bl(pc(17), pc(W)),
    /* 18 */ 0xcb2f73ff, // sub sp,sp,x15,lsl #4: sp no longer known
    /* 19 */ 0xb94013e1, // ldr w1,[sp,#16]
    /* 20 */ BLR(19),
    /* 21 */ RET,
    // Wrapper: w1 spilled through the frame pointer, a call, reloaded through sp, tail branch.
    /* 22 */ 0xa9be7bfd, // stp x29,x30,[sp,#-32]!
    /* 23 */ 0x910003fd, // mov x29,sp
    /* 24 */ 0xb9001fa1, // str w1,[x29,#28]
    /* 25 */ adrp(19, pc(25), slot('ExFreePoolWithTag')),
    /* 26 */ ldrX(19, 19, slot('ExFreePoolWithTag') & 0xfff),
    /* 27 */ bl(pc(27), pc(STUB)),
    /* 28 */ 0xb9401fe1, // ldr w1,[sp,#28]
    /* 29 */ 0xa8c27bfd, // ldp x29,x30,[sp],#32
    /* 30 */ 0xd61f0260, // br x19
    /* 31 */ RET,
  ]));
  assert.deepEqual(a.wrappers, [{ rva: pc(W), param: 1, api: 'ExFreePoolWithTag' }]);
  assert.deepEqual(callTags(a), [`SyK3>ExFreePoolWithTag@${pc(14).toString(16)}`, `SyK4>ExFreePoolWithTag@${pc(17).toString(16)}`]);
});

test('analyseArm64: excluded ranges (PE metadata in a code section) are not decoded', () => {
  const buf = image(['ExFreePoolWithTag'], (slot) => [
    /* 0 */ ...movTag(1, 'SyE1'),
    /* 2 */ adrp(20, pc(2), slot('ExFreePoolWithTag')),
    /* 3 */ ldrX(20, 20, slot('ExFreePoolWithTag') & 0xfff),
    /* 4 */ BLR(20),
    /* 5 */ RET,
  ]);
  const pe = readPe(buf);
  assert.deepEqual(callTags(analyseArm64(buf, pe, tagApis())), ['SyE1>ExFreePoolWithTag@1010']);
  // A hole ending mid-word: decoding resumes at the next whole word, after the mov/movk pair.
  const holed = analyseArm64(buf, pe, tagApis(), [{ begin: pc(0), end: pc(1) + 2 }]);
  assert.deepEqual(holed.calls, []);
  assert.deepEqual(holed.immediates, []);
  // The code after the hole is not a function entry: w1 there is unknown, not a parameter.
  assert.deepEqual(holed.wrappers, []);
});

test('analyseArm64: random code in a real PE layout never throws', () => {
  const next = prngWords(0xa64);
  for (let round = 0; round < 4; round++) {
    const buf = image(['ExAllocatePoolWithTag', 'ExFreePoolWithTag'], () => Array.from({ length: 16384 }, () => next()));
    const a = analyse(buf);
    for (const c of a.calls) assert.ok(c.at >= TEXT_RVA && c.at < TEXT_RVA + 65536);
    for (const w of a.wrappers) assert.ok(w.param >= 0 && w.param < 8);
    // A constant's bytes are in the code only when a literal load read them.
    for (const i of a.immediates) assert.ok(i.immAt === i.at || (i.immAt >= TEXT_RVA && i.immAt < TEXT_RVA + 65536 && i.immAt % 4 === 0));
  }
});

// ---- clang-built fixture drivers -------------------------------------------------------------------

const truth: { drivers: Record<string, { tagApis: string[]; arm64: Required<ArchTruth> }> } = JSON.parse(readFileSync(`${DRIVERS}truth.json`, 'utf8'));
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

for (const [name, d] of Object.entries(truth.drivers)) {
  test(`fixture ${name}.sys (arm64): exact call, protected, object-ref, code sets and wrappers`, () => {
    const buf = readFileSync(`${DRIVERS}${name}.sys`);
    const pe = readPe(buf);
    const t = d.arm64;
    assert.equal(pe.machine, 'arm64');
    assert.deepEqual(sorted(pe.imports.map((i) => i.name!).filter((n) => tagApis().has(n))), sorted(d.tagApis));
    const a = analyseArm64(buf, pe, tagApis());
    const tagOf = (v: number) => formatTag(withoutProtectedBit(v));
    const pool = a.calls.filter((c) => c.kind === 'pool');
    const objectRef = a.calls.filter((c) => c.kind === 'object-ref');
    assert.deepEqual(sorted(pool.map((c) => tagOf(c.value))), sorted(t.call), 'call');
    assert.deepEqual(sorted(pool.filter((c) => c.value & PROTECTED_BIT).map((c) => tagOf(c.value))), sorted(t.protected), 'protected');
    assert.deepEqual(sorted(objectRef.map((c) => tagOf(c.value))), sorted(t.objectRef), 'object-ref');
    const proven = new Set(a.calls.map((c) => c.at));
    const provenTags = new Set(a.calls.map((c) => tagOf(c.value)));
    const code = a.immediates.filter((i) => !proven.has(i.at)).map((i) => tagOf(i.v)).filter((x) => !provenTags.has(x));
    assert.deepEqual(sorted(code), sorted(t.code), 'code');
    for (const tag of t.absent) assert.ok(!t.call.includes(tag) && !code.includes(tag), `${tag} absent`);
    for (const [tag, apis] of Object.entries(t.apis)) assert.deepEqual(sorted(pool.filter((c) => tagOf(c.value) === tag).map((c) => c.api)), apis, `${tag} apis`);
    for (const [tag, apis] of Object.entries(t.objectRefApis)) assert.deepEqual(sorted(objectRef.filter((c) => tagOf(c.value) === tag).map((c) => c.api)), apis, `${tag} apis`);
    const viaOnly = t.call.filter((tag) => pool.filter((c) => tagOf(c.value) === tag).every((c) => c.via !== undefined));
    assert.deepEqual(sorted(viaOnly), sorted(t.viaWrapper), 'viaWrapper');
    assert.deepEqual(a.wrappers.map((w) => ({ ...w, param: w.param + 1 })), t.wrappersInclude, 'wrappers');
    for (const tag of t.dataIncludes) assert.ok(findBytes(buf, [...Buffer.from(tag, 'latin1')]).length > 0, `${tag} bytes present`);
    for (const tag of t.bytesAbsent) assert.equal(findBytes(buf, [...Buffer.from(tag, 'latin1')]).length, 0, `${tag} bytes absent`);
    // Every evidence constant has its disassembly.
    for (const c of [...a.calls.map((x) => x.at), ...a.immediates.map((x) => x.at)]) assert.match(a.instructions.get(c) ?? '', /^mov w\d+,#0x[0-9a-f]+; movk |^ldr w\d+,0x[0-9a-f]+$/);
  });
}

test('fixture evidence text: the instructions that build the constant, derived ones included', () => {
  const buf = readFileSync(`${DRIVERS}direct.sys`);
  const a = analyseArm64(buf, readPe(buf), tagApis());
  const text = (tag: string) => a.instructions.get(a.calls.find((c) => formatTag(c.value) === tag)!.at);
  assert.equal(text('AdA1'), 'mov w2,#0x6441; movk w2,#0x3141,lsl #16');
  assert.equal(text('AdF1'), 'mov w23,#0x6441; movk w23,#0x3141,lsl #16; add w1,w23,#0x50000');
  assert.equal(text('AdS1'), 'mov w23,#0x6441; movk w23,#0x3141,lsl #16; mov w8,#0x120000; orr w9,w23,w8');
});

test('fixture selects.sys: csel, cinc and literal-pool evidence text; scan places the pool word at the call tier', () => {
  const buf = readFileSync(`${DRIVERS}selects.sys`);
  const a = analyseArm64(buf, readPe(buf), tagApis());
  const text = (tag: string) => a.instructions.get(a.calls.find((c) => formatTag(c.value) === tag)!.at);
  assert.equal(text('BsI1'), 'mov w8,#0x7341; movk w8,#0x3149,lsl #16; csinc w2,w8,w8');
  assert.equal(text('AsW1'), 'mov w8,#0x7341; movk w8,#0x3153,lsl #16; orr w10,w8,#0x40000');
  assert.equal(text('AsP1'), 'ldr w1,0x1174');
  const hits = scanTagInFile(buf, tagFromText('AsP1'));
  assert.deepEqual(hits.map((h) => [h.tier, h.rva, h.evidence?.rva, h.evidence?.api]), [['call', 0x1174, 0x1080, 'ExFreePoolWithTag']]);
});

test('fixture kernel.sys (arm64): calls to its own exported APIs (bl, blr through adrp+add, an own wrapper) are call tier', () => {
  const r = extractTags(readFileSync(`${DRIVERS}kernel.sys`), { path: 'kernel.sys' });
  assert.deepEqual(r.tagApis, []);
  const byTag = new Map(r.findings.map((f) => [formatTag(f.tag), f]));
  assert.deepEqual(byTag.get('AkR1')?.evidence[0].api, 'ExAllocatePoolWithTag');
  assert.equal(byTag.get('AkW1')?.evidence[0].via, 0x1130);
  assert.equal(byTag.get('AkL1')?.evidence[0].instruction, 'mov w20,#0x6b41; movk w20,#0x3141,lsl #16; add w5,w20,#0xb0000');
});

test('fixtures wrapexp.sys and wrapimp.sys (arm64): exported wrappers, and the importer\'s tags through them', () => {
  for (const [name, d] of Object.entries(truth.drivers)) {
    const want = d.arm64;
    const r = extractTags(readFileSync(`${DRIVERS}${name}.sys`), { path: `${name}.sys` });
    if (want.exportedWrappers) assert.deepEqual(r.exportedWrappers, want.exportedWrappers.map((w) => ({ ...w, param: w.param - 1 })), name);
    const w = want.withExporters;
    if (!w) continue;
    const wrappers = w.exporters.flatMap((e) => extractTags(readFileSync(`${DRIVERS}${e}.sys`), { path: `${e}.sys` }).exportedWrappers);
    const joined = extractTags(readFileSync(`${DRIVERS}${name}.sys`), { exportedWrappers: wrappers });
    const tags = (tier: string) => joined.findings.filter((f) => f.kind === 'pool' && f.tier === tier).map((f) => formatTag(f.tag)).sort();
    assert.deepEqual(tags('call'), w.call, `${name} call`);
    assert.deepEqual(tags('code'), w.code, `${name} code`);
    for (const f of joined.findings.filter((x) => x.tier === 'call')) {
      const tag = formatTag(f.tag);
      assert.deepEqual(f.apis, w.apis[tag], `${name} ${tag} apis`);
      for (const e of f.evidence.filter((x) => x.tier === 'call')) assert.equal(e.viaExport, w.viaExport[tag], `${name} ${tag}`);
    }
  }
});

test('extractTags on the ARM64 fixtures: exact call, protected, object-ref and code sets', () => {
  for (const [name, d] of Object.entries(truth.drivers)) {
    const report = extractTags(readFileSync(`${DRIVERS}${name}.sys`));
    const tags = (pred: (f: TagFinding) => boolean) => report.findings.filter(pred).map((f) => formatTag(f.tag)).sort();
    const want = d.arm64;
    assert.equal(report.machine, 'arm64');
    assert.deepEqual(tags((f) => f.tier === 'call' && f.kind === 'pool'), sorted(want.call), `${name} call`);
    assert.deepEqual(tags((f) => f.protected), sorted(want.protected), `${name} protected`);
    assert.deepEqual(tags((f) => f.kind === 'object-ref'), sorted(want.objectRef), `${name} object-ref`);
    assert.deepEqual(tags((f) => f.tier === 'code' && f.kind === 'pool'), sorted(want.code), `${name} code`);
    assert.ok(!report.warnings.some((w) => /not decoded/.test(w)), `${name}: ARM64 code is decoded`);
  }
});
