import * as PE from 'pe-library';
import type { Bytes } from './bytes.js';
import {
  DIR_CERTIFICATE, MAX_SECTIONS, PE32_MAGIC, makeSection, ntLayout, type DataDirectory, type PeHeaders,
} from './headers.js';

const SECTION_HEADER_SIZE = 40;

/** Section order of NtExecutable: by RVA, then virtual size (its comparator never looks at file offsets). */
const byAddress = (a: PE.Format.ImageSectionHeader, b: PE.Format.ImageSectionHeader) =>
  a.virtualAddress === b.virtualAddress ? a.virtualSize - b.virtualSize : a.virtualAddress - b.virtualAddress;

/**
 * Headers and sections through pe-library, or null when the image is outside what it reads safely: it refuses
 * COFF symbols, assumes a standard-size optional header with 16 directories, and allocates each section's (and
 * the certificate's) claimed size before checking it against the file, so hostile sizes must be screened first.
 *
 * Read through pe-library's header views, with NtExecutable.from's checks and section order: NtExecutable.from
 * itself copies every section and the overlay, a second copy of the whole file that nothing here reads (and
 * that was a tenth of the extractor's allocation on real drivers).
 */
export function readHeadersWithPeLibrary(b: Bytes): PeHeaders | null {
  try {
    if (!withinPeLibraryLimits(b)) return null;
    const { ImageDosHeader, ImageNtHeaders, ImageSectionHeaderArray } = PE.Format;
    const dh = ImageDosHeader.from(b.buf);
    const nh = ImageNtHeaders.from(b.buf, dh.newHeaderAddress);
    if (!dh.isValid() || !nh.isValid() || nh.fileHeader.numberOfSymbols > 0) return null;
    const tableAt = dh.newHeaderAddress + nh.getSectionHeaderOffset();
    const count = nh.fileHeader.numberOfSections;
    const infos: PE.Format.ImageSectionHeader[] = [];
    ImageSectionHeaderArray.from(b.buf.buffer as ArrayBuffer, count, b.buf.byteOffset + tableAt).forEach((info) => {
      // As NtExecutable.from: a section missing either its file offset or its raw size has no raw data.
      if (!info.pointerToRawData || !info.sizeOfRawData) {
        info.pointerToRawData = 0;
        info.sizeOfRawData = 0;
      }
      infos.push(info);
    });
    infos.sort(byAddress);
    const opt = nh.optionalHeader;
    const is64 = !nh.is32bit();
    const dirs = nh.optionalHeaderDataDirectory;
    const directories: DataDirectory[] = [];
    for (let i = 0; i < 16; i++) {
      const d = dirs.get(i);
      directories.push({ rva: d.virtualAddress, size: d.size });
    }
    return {
      machineCode: nh.fileHeader.machine,
      is64,
      imageBase: is64 && 'imageBaseBigInt' in opt ? opt.imageBaseBigInt : BigInt(opt.imageBase),
      entryRva: opt.addressOfEntryPoint,
      subsystem: opt.subsystem,
      timeDateStamp: nh.fileHeader.timeDateStamp,
      sizeOfHeaders: opt.sizeOfHeaders,
      sizeOfImage: opt.sizeOfImage,
      sectionAlignment: opt.sectionAlignment,
      fileAlignment: opt.fileAlignment,
      sections: infos.map((s) =>
        makeSection(s.name, s.virtualAddress, s.virtualSize, s.pointerToRawData, s.sizeOfRawData, s.characteristics)),
      directories,
    };
  } catch {
    // Anything pe-library cannot read goes to the own reader, which reports a located PeFormatError.
    return null;
  }
}

function withinPeLibraryLimits(b: Bytes): boolean {
  const nt = ntLayout(b);
  const standardSize = nt.magic === PE32_MAGIC ? 224 : 240;
  if (nt.symbolTable !== 0 || nt.symbolCount !== 0) return false;
  if (nt.sizeOfOptionalHeader !== standardSize || nt.sectionCount > MAX_SECTIONS) return false;
  if (b.u32(nt.optOffset + standardSize - 132, 'NumberOfRvaAndSizes') !== 16) return false;
  if (!b.has(nt.sectionTable, nt.sectionCount * SECTION_HEADER_SIZE)) return false;
  // pe-library copies every section's raw bytes; real images' raw ranges do not overlap, so their total is
  // at most the file size, while a hostile table could make it 96 times that.
  let totalRaw = 0;
  for (let i = 0; i < nt.sectionCount; i++) {
    const at = nt.sectionTable + i * SECTION_HEADER_SIZE;
    const rawSize = b.u32(at + 16, 'section SizeOfRawData');
    const rawOffset = b.u32(at + 20, 'section PointerToRawData');
    if (rawSize === 0 || rawOffset === 0) continue;
    if (!b.has(rawOffset, rawSize)) return false;
    totalRaw += rawSize;
  }
  if (totalRaw > b.length) return false;
  const cert = nt.optOffset + standardSize - 128 + DIR_CERTIFICATE * 8;
  const certOffset = b.u32(cert, 'certificate directory');
  const certSize = b.u32(cert + 4, 'certificate directory');
  return certSize === 0 || certOffset <= b.length;
}
