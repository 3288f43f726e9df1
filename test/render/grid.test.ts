import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGrid, type Grid } from '../../src/render/grid.js';

const grid: Grid = {
  columns: [
    { key: 'tag', title: 'Tag' },
    { key: 'bytes', title: 'Bytes' },
    { key: 'owner', title: 'Owner' },
  ],
  rows: [
    { tag: 'Io  ', bytes: 1024, owner: 'nt!io' },
    { tag: 'Ab,c', bytes: 5, owner: 'a|b "x"' },
  ],
  footer: ['total 1029'],
};

test('table aligns numbers right and keeps trailing spaces inside cells', () => {
  assert.equal(
    renderGrid(grid, 'table'),
    ['Tag   Bytes  Owner', '----  -----  -------', 'Io     1024  nt!io', 'Ab,c      5  a|b "x"', 'total 1029', ''].join('\n'),
  );
});

test('csv quotes fields with commas and quotes, CRLF rows', () => {
  assert.equal(renderGrid(grid, 'csv'), 'tag,bytes,owner\r\nIo  ,1024,nt!io\r\n"Ab,c",5,"a|b ""x"""\r\n');
});

test('markdown escapes pipes and right-aligns numeric columns', () => {
  const md = renderGrid(grid, 'md').split('\n');
  assert.equal(md[1], '| --- | ---: | --- |');
  assert.equal(md[3], '| Ab,c | 5 | a\\|b "x" |');
});

test('control bytes in cells and notes (driver names from a report, paths) are escaped in table and markdown, kept in CSV', () => {
  const g: Grid = {
    columns: [{ key: 'owner', title: 'Owner' }],
    rows: [{ owner: 'evil\x1b[2J.sys' }],
    footer: ['from r\x07.txt'],
  };
  assert.equal(renderGrid(g, 'table'), 'Owner\n---------------\nevil\\x1b[2J.sys\nfrom r\\x07.txt\n');
  assert.equal(renderGrid(g, 'md'), '| Owner |\n| --- |\n| evil\\x1b[2J.sys |\n\nfrom r\\x07.txt\n');
  assert.equal(renderGrid(g, 'csv'), 'owner\r\nevil\x1b[2J.sys\r\n');
});
