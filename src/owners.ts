// Who owns a tag, as every report command sees it: the join of the tag database and pooltag.txt.
import type { Tier, TagKind } from './extract/types.js';

export interface Owner {
  /** Driver file name (from the database) or pooltag.txt's binary field. */
  name: string;
  /** `report`: the report itself names the binary (poolmon Mapped_Driver, !poolused `Binary:`, Verifier's driver). */
  source: 'db' | 'pooltag' | 'report';
  /** db owners: best tier of evidence; pooltag owners have none. */
  tier?: Tier;
  kind?: TagKind;
  /** pooltag description or the driver's FileDescription/CompanyName. */
  description?: string;
  /** db owners: hosts that have the driver (fleet databases). */
  hosts?: string[];
  /** db owners: path and content hash of one file with this content. */
  path?: string;
  sha256?: string;
  /** db owners: CPU of the build (x64, x86, arm64) and the OriginalFilename of its version resource. */
  machine?: string;
  originalName?: string;
  /** pooltag owners from a wildcard entry: its pattern (`Nt??`). */
  wildcard?: string;
  /** db owners: the only proof is KMDF's default tag, inferred from the driver's file name. */
  inferred?: 'kmdf-default';
}

/** Anything that can name a tag's owners. Implemented over the database and over pooltag.txt entries. */
export interface OwnerSource {
  ownersOf(tag: number): Owner[];
}

/** Owners from several sources, db owners first (they carry evidence), then pooltag entries. */
export function combineOwners(sources: OwnerSource[]): OwnerSource {
  return {
    ownersOf(tag: number): Owner[] {
      return sources.flatMap((s) => s.ownersOf(tag));
    },
  };
}
