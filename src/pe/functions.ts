import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import type { FunctionRange } from './types.js';

const MACHINE_X64 = 0x8664;
const MACHINE_IA64 = 0x200;
const MACHINE_ARM64 = 0xaa64;

/**
 * Function extents from the exception directory (.pdata). x64 and IA64 entries are 12-byte RUNTIME_FUNCTIONs
 * with begin and end; ARM64 entries are 8 bytes whose length is packed into the second word, or, for unpacked
 * entries, held in the first word of the .xdata record it points at. Other machines have no usable table.
 */
export function readFunctions(
  b: Bytes, map: AddressMap, dir: DataDirectory, machineCode: number, warnings: string[],
): FunctionRange[] {
  const arm64 = machineCode === MACHINE_ARM64;
  if (dir.rva === 0 || dir.size === 0 || !(arm64 || machineCode === MACHINE_X64 || machineCode === MACHINE_IA64)) return [];
  const entrySize = arm64 ? 8 : 12;
  const count = Math.floor(dir.size / entrySize);
  const start = map.rvaToOffset(dir.rva, count * entrySize);
  if (start < 0) {
    warnings.push(`exception directory (RVA 0x${dir.rva.toString(16)}, ${dir.size} bytes) is not in the file`);
    return [];
  }
  const functions: FunctionRange[] = [];
  let unreadable = 0;
  for (let i = 0; i < count; i++) {
    const at = start + i * entrySize;
    const begin = b.u32(at, 'exception directory entry');
    const second = b.u32(at + 4, 'exception directory entry');
    const end = arm64 ? arm64End(b, map, begin, second) : second;
    if (begin === 0 && second === 0) continue; // padding
    if (end > begin) functions.push({ begin, end });
    else unreadable++;
  }
  if (unreadable > 0) warnings.push(`${unreadable} exception directory entries have no usable extent`);
  return functions;
}

/** End of an ARM64 function, or 0 when its length cannot be read. Lengths are in 4-byte instruction units. */
function arm64End(b: Bytes, map: AddressMap, begin: number, unwind: number): number {
  if ((unwind & 3) !== 0) return begin + ((unwind >>> 2) & 0x7ff) * 4;
  const xdata = map.rvaToOffset(unwind, 4);
  return xdata < 0 ? 0 : begin + (b.u32(xdata, 'ARM64 .xdata header') & 0x3ffff) * 4;
}
