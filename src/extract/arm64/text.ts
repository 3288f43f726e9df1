// Short disassembly of the A64 instructions that build a constant, for evidence ("mov w2,#0x7250").
import { type Insn, decode } from './decode.js';

const SHIFTS = ['lsl', 'lsr', 'asr', 'ror'];
const INVERTED: Record<string, string> = { and: 'bic', orr: 'orn', eor: 'eon', ands: 'bics' };
/** Evidence text stays short even when constants are derived from each other many times. */
const MAX_INSNS = 6;

/**
 * How a constant was built: the instruction (its word, decoded again at RVA `pc` when text is asked for),
 * and the constants it was derived from (text is made on demand).
 */
export interface Provenance {
  word: number;
  pc: number;
  from: readonly Provenance[];
}

/** A word that decodes to no modelled instruction (NOP). */
export const NOP = 0xd503201f;

function regName(r: number, sf: boolean, sp = false): string {
  if (r === 31) return sp ? (sf ? 'sp' : 'wsp') : sf ? 'xzr' : 'wzr';
  return `${sf ? 'x' : 'w'}${r}`;
}

const hex = (v: bigint | number) => `#0x${v.toString(16)}`;

/** The value a MOVZ/MOVN writes, at the register's width. */
export function moveWideValue(i: { op: 'movz' | 'movn' | 'movk'; sf: boolean; imm16: number; shift: number }): bigint {
  const v = BigInt(i.imm16) << BigInt(i.shift);
  const mask = i.sf ? 0xffffffffffffffffn : 0xffffffffn;
  return i.op === 'movz' ? v : ~v & mask;
}

/** Text of one constant-building instruction; other instructions are never asked for. */
export function formatInsn(i: Insn): string {
  switch (i.op) {
    case 'movz':
    case 'movn':
      return `mov ${regName(i.rd, i.sf)},${hex(moveWideValue(i))}`;
    case 'movk':
      return `movk ${regName(i.rd, i.sf)},${hex(i.imm16)}${i.shift ? `,lsl #${i.shift}` : ''}`;
    case 'logimm':
      return i.rn === 31 && i.logic === 'orr'
        ? `mov ${regName(i.rd, i.sf)},${hex(i.imm)}`
        : `${i.logic} ${regName(i.rd, i.sf, i.logic !== 'ands')},${regName(i.rn, i.sf)},${hex(i.imm)}`;
    case 'addimm':
      return `${i.sub ? 'sub' : 'add'}${i.flags ? 's' : ''} ${regName(i.rd, i.sf, !i.flags)},${regName(i.rn, i.sf, true)},${hex(i.imm)}`;
    case 'logreg':
    case 'addreg': {
      const name = i.op === 'logreg' ? (i.invert ? INVERTED[i.logic] : i.logic) : `${i.sub ? 'sub' : 'add'}${i.flags ? 's' : ''}`;
      const shift = i.amount ? `,${SHIFTS[i.shiftType]} #${i.amount}` : '';
      return `${name} ${regName(i.rd, i.sf)},${regName(i.rn, i.sf)},${regName(i.rm, i.sf)}${shift}`;
    }
    case 'csel':
      return `cs${i.other === 'rm' ? 'el' : i.other} ${regName(i.rd, i.sf)},${regName(i.rn, i.sf)},${regName(i.rm, i.sf)}`;
    case 'lit':
      return `ldr ${regName(i.rt, i.size === 8)},0x${i.target.toString(16)}`;
    default:
      return i.op;
  }
}

/** The instructions that built a constant, sources first: "mov w2,#0x7250; movk w2,#0x636f,lsl #16". */
export function describe(why: Provenance): string {
  const out: string[] = [];
  const seen = new Set<Provenance>();
  let cut = false;
  const visit = (p: Provenance, depth: number): void => {
    if (seen.has(p)) return;
    seen.add(p);
    if (depth === MAX_INSNS) {
      cut = true;
      return;
    }
    for (const f of p.from) visit(f, depth + 1);
    out.push(formatInsn(decode(p.word, p.pc)));
  };
  visit(why, 0);
  if (out.length > MAX_INSNS) cut = true;
  return `${cut ? '…; ' : ''}${out.slice(-MAX_INSNS).join('; ')}`;
}
