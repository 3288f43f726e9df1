// A stand-in for driver files and the extractor, so pipeline tests control exactly what each file "contains".
// A fake driver is text: `FAKEPE <machine>` then one `TAG tier kind sites api` line per tag; anything else is
// "not a PE" and the fake extractor throws PeFormatError for it, like the real one.
import { createHash } from 'node:crypto';
import { PeFormatError } from '../../src/pe/types.js';
import type { DriverReport, TagFinding, Tier, TagKind } from '../../src/extract/types.js';
import type { Machine } from '../../src/pe/types.js';
import { tagFromText } from '../../src/tag.js';

export interface FakeTag {
  tag: string;
  tier: Tier;
  kind?: TagKind;
  sites?: number;
  api?: string;
}

export function fakeDriver(tags: FakeTag[], opts: { machine?: Machine; company?: string; salt?: string } = {}): string {
  const lines = [`FAKEPE ${opts.machine ?? 'x64'} ${(opts.company ?? 'Acme Corp').replace(/ /g, '_')} ${opts.salt ?? ''}`];
  for (const t of tags) lines.push(`${t.tag.replace(/ /g, '_')} ${t.tier} ${t.kind ?? 'pool'} ${t.sites ?? 1} ${t.api ?? 'ExAllocatePoolWithTag'}`);
  return lines.join('\n') + '\n';
}

export function fakeExtract(buf: Uint8Array, opts: { path?: string } = {}): DriverReport {
  const text = Buffer.from(buf).toString('latin1');
  if (!text.startsWith('FAKEPE ')) throw new PeFormatError(`${opts.path ?? 'file'}: no MZ signature`, 0);
  const [head, ...rest] = text.trimEnd().split('\n');
  const [, machine, company] = head.split(' ');
  const findings: TagFinding[] = rest.map((line, i) => {
    const [tagText, tier, kind, sites, api] = line.split(' ');
    const tag = tagFromText(tagText.replace(/_/g, ' '));
    const n = Number(sites);
    const evidence = Array.from({ length: Math.min(n, 8) }, (_, k) => ({
      tier: tier as Tier,
      section: tier === 'data' ? '.rdata' : '.text',
      rva: 0x1000 + i * 0x100 + k * 0x10,
      ...(tier === 'call' ? { api, instruction: `mov r8d,${tag.toString(16).toUpperCase()}h` } : {}),
    }));
    return { tag, kind: kind as TagKind, tier: tier as Tier, protected: false, evidence, sites: n, apis: tier === 'call' ? [api] : [] };
  });
  return {
    path: opts.path,
    size: buf.byteLength,
    sha256: createHash('sha256').update(buf).digest('hex'),
    machine: machine as Machine,
    version: { CompanyName: company.replace(/_/g, ' '), FileVersion: '1.0.0.0' },
    tagApis: ['ExAllocatePoolWithTag'],
    findings,
    wrappers: [],
    exportedWrappers: [],
    warnings: [],
  };
}
