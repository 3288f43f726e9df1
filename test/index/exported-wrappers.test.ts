// Exported wrappers in the database: an importer indexed before its exporter is upgraded when the exporter
// arrives (in the same run or a later one), downgraded when it goes, and a re-index with nothing changed
// analyses nothing again.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDb, type Db } from '../../src/db/schema.js';
import { extractTags } from '../../src/extract/extract.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { tagFromText } from '../../src/tag.js';

const DRIVERS = fileURLToPath(new URL('../fixtures/drivers/', import.meta.url));
const missing = existsSync(`${DRIVERS}x64/wrapimp.sys`) ? false : `fixture drivers absent from ${DRIVERS}`;

function tierOf(db: Db, tag: string): string | undefined {
  return db.prepare('SELECT tier FROM findings WHERE tag = ? AND kind = ?').pluck().get(tagFromText(tag), 'pool') as string | undefined;
}

function viaExport(db: Db, tag: string): unknown {
  return db.prepare("SELECT via_export FROM evidence WHERE tag = ? AND tier = 'call' ORDER BY seq").pluck().get(tagFromText(tag));
}

for (const order of ['importer first', 'same run'] as const) {
  test(`exported wrappers upgrade importers whatever the order (${order}); unchanged re-index does nothing`, { skip: missing }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'whose-tag-wrappers-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const imp = join(dir, 'a');
    const exp = join(dir, 'b');
    mkdirSync(imp);
    mkdirSync(exp);
    copyFileSync(`${DRIVERS}x64/wrapimp.sys`, join(imp, 'wrapimp.sys'));
    copyFileSync(`${DRIVERS}x64/wrapexp.sys`, join(exp, 'wrapexp.sys'));
    const db = openDb(join(dir, 'tags.db'));
    t.after(() => db.close());
    const extracted: string[] = [];
    const opts = {
      host: 'h',
      extractor: (buf: Uint8Array, o?: Parameters<typeof extractTags>[1]) => {
        extracted.push(o?.path ?? '');
        return extractTags(buf, o);
      },
    };
    if (order === 'importer first') {
      await indexPaths(db, [imp], opts);
      assert.equal(tierOf(db, 'WiA1'), 'code');
      const s = await indexPaths(db, [exp], opts);
      assert.equal(s.upgraded, 1);
    } else {
      const s = await indexPaths(db, [dir], opts);
      assert.equal(s.upgraded, 1);
    }
    for (const tag of ['WiA1', 'WiF1', 'WiW1']) assert.equal(tierOf(db, tag), 'call', tag);
    assert.equal(tierOf(db, 'WiT1'), 'code');
    assert.equal(viaExport(db, 'WiA1'), 'wrapexp.sys!WxAllocateTagged');
    assert.equal(viaExport(db, 'WiF1'), 'wrapexp.sys!#7');
    assert.deepEqual(
      db.prepare('SELECT module, name, ordinal, param, api FROM exported_wrappers ORDER BY ordinal').raw().all(),
      [['wrapexp.sys', 'WxAllocateTagged', 1, 1, 'ExAllocatePoolWithTag'], ['wrapexp.sys', null, 7, 1, 'ExFreePoolWithTag']],
    );

    extracted.length = 0;
    const again = await indexPaths(db, [dir], opts);
    assert.deepEqual([again.analysed, again.upgraded, extracted.length], [0, 0, 0]);

    // The exporter goes: its importer loses the evidence it gave.
    rmSync(join(exp, 'wrapexp.sys'));
    const gone = await indexPaths(db, [dir], opts);
    assert.deepEqual([gone.pruned, gone.upgraded], [1, 1]);
    assert.equal(tierOf(db, 'WiA1'), 'code');
  });
}
