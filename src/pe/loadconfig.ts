// The Control Flow Guard pointers of the load configuration directory: the variables through which CFG
// compiled code checks (ARM64, x86) or dispatches (x64) its indirect calls. Code that calls through them is
// calling the guard, not the function it guards.
import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import type { GuardPointers } from './types.js';

/** Offsets of GuardCFCheckFunctionPointer in IMAGE_LOAD_CONFIG_DIRECTORY64 / 32; the dispatch pointer follows. */
const CHECK_64 = 0x70;
const CHECK_32 = 0x48;

/**
 * RVAs of the guard check and dispatch function pointer variables, when the directory has them. A
 * damaged directory gives a warning and no pointers (CFG calls then look like unknown calls, as before).
 */
export function readGuardPointers(
  b: Bytes, map: AddressMap, dir: DataDirectory, is64: boolean, imageBase: bigint, warnings: string[],
): GuardPointers {
  if (dir.rva === 0 || dir.size === 0) return {};
  const width = is64 ? 8 : 4;
  const check = is64 ? CHECK_64 : CHECK_32;
  const at = map.rvaToOffset(dir.rva, 4);
  if (at < 0 || !b.has(at, 4)) {
    warnings.push(`load configuration directory (RVA 0x${dir.rva.toString(16)}) is not in the file`);
    return {};
  }
  // The structure's own Size field says which fields this linker wrote.
  const size = Math.min(b.u32(at, 'load configuration size'), dir.size);
  const out: GuardPointers = {};
  const read = (field: number): number | undefined => {
    if (size < field + width || !b.has(at + field, width)) return undefined;
    const va = is64 ? b.u64(at + field, 'guard function pointer') : BigInt(b.u32(at + field, 'guard function pointer'));
    const rva = va - imageBase;
    return va !== 0n && rva > 0n && rva < 0x100000000n ? Number(rva) : undefined;
  };
  const checkSlot = read(check);
  const dispatchSlot = read(check + width);
  if (checkSlot !== undefined) out.checkSlot = checkSlot;
  if (dispatchSlot !== undefined) out.dispatchSlot = dispatchSlot;
  return out;
}
