// Which worker a file goes to first. Each worker thread warms its own JIT up, and that warm-up is most of
// the CPU an index spends on a few hundred files (x64 and ARM64 run different analysers): on the real-code
// bench corpus, two workers that each ran both analysers spent ~10 s of CPU where one thread running
// everything spent ~6.5 s. So each worker prefers one lane of files, and takes another lane's only when its
// own is empty.
import { closeSync, openSync, readSync } from 'node:fs';

/** Files whose code the x86/x64 analyser decodes, or that have none it can (not PE, other machines). */
export const LANE_X86 = 0;
/** ARM64 images: the ARM64 analyser. */
export const LANE_ARM64 = 1;
export const LANES = 2;

const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;
/** Where the linkers put the PE header: a file whose header lies further on is sorted as x86, safely. */
const HEAD_BYTES = 1024;
const head = Buffer.alloc(HEAD_BYTES);

/** The lane of the file at `path`, from its first bytes; unreadable and non-PE files go to the x86 lane. */
export function laneOf(path: string): number {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const n = readSync(fd, head, 0, HEAD_BYTES, 0);
    if (n < 64 || head.readUInt16LE(0) !== 0x5a4d) return LANE_X86;
    const pe = head.readUInt32LE(0x3c);
    if (pe + 6 > n || head.readUInt32LE(pe) !== 0x4550) return LANE_X86;
    return head.readUInt16LE(pe + 4) === IMAGE_FILE_MACHINE_ARM64 ? LANE_ARM64 : LANE_X86;
  } catch {
    return LANE_X86;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
