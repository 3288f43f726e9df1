// A small database built through the real pipeline from fake drivers, shared by the db tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { fakeDriver, fakeExtract, type FakeTag } from '../index/fake-driver.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'whose-tag-db-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface HostFiles {
  host: string;
  files: Record<string, { tags: FakeTag[]; company?: string }>;
}

/** Write each host's fake drivers under dir/host and index them into dbPath. */
export async function buildDb(dir: string, dbPath: string, hosts: HostFiles[]): Promise<Db> {
  const db = openDb(dbPath);
  for (const h of hosts) {
    const root = join(dir, h.host);
    mkdirSync(root, { recursive: true });
    for (const [name, f] of Object.entries(h.files)) writeFileSync(join(root, name), fakeDriver(f.tags, { company: f.company }));
    await indexPaths(db, [root], { host: h.host, extractor: fakeExtract });
  }
  return db;
}
