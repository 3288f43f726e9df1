import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locatePooltag, POOLTAG_ENV, windowsCandidates } from '../../src/pooltag/locate.js';

const WIN_ENV = { 'ProgramFiles(x86)': 'C:\\Program Files (x86)', ProgramFiles: 'C:\\Program Files', ProgramW6432: 'C:\\Program Files' };
const KIT10_X64 = 'C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt';

function probe(existing: string[]) {
  const asked: string[] = [];
  return { asked, exists: (p: string) => (asked.push(p), existing.includes(p)) };
}

test('--pooltag wins over everything, even when the file is missing', () => {
  const p = probe([KIT10_X64]);
  assert.equal(locatePooltag({ explicit: 'D:\\mine.txt', env: { ...WIN_ENV, [POOLTAG_ENV]: 'E:\\env.txt' }, platform: 'win32', exists: p.exists }), 'D:\\mine.txt');
  assert.deepEqual(p.asked, []);
});

test('WHOSE_TAG_POOLTAG comes next', () => {
  assert.equal(locatePooltag({ env: { [POOLTAG_ENV]: '/data/pooltag.txt' }, platform: 'linux' }), '/data/pooltag.txt');
  assert.equal(locatePooltag({ env: { ...WIN_ENV, [POOLTAG_ENV]: 'E:\\env.txt' }, platform: 'win32', exists: () => true }), 'E:\\env.txt');
});

test('off Windows there is no install to probe', () => {
  const p = probe([KIT10_X64]);
  assert.equal(locatePooltag({ env: WIN_ENV, platform: 'linux', exists: p.exists }), undefined);
  assert.deepEqual(p.asked, []);
});

test('on Windows: the Windows 10 kit triage folders first, x64 before x86 before arm64', () => {
  const candidates = windowsCandidates(WIN_ENV);
  assert.deepEqual(candidates.slice(0, 6), [
    KIT10_X64,
    'C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x86\\triage\\pooltag.txt',
    'C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\arm64\\triage\\pooltag.txt',
    'C:\\Program Files\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt',
    'C:\\Program Files\\Windows Kits\\10\\Debuggers\\x86\\triage\\pooltag.txt',
    'C:\\Program Files\\Windows Kits\\10\\Debuggers\\arm64\\triage\\pooltag.txt',
  ]);
  assert.ok(candidates.includes('C:\\Program Files\\Debugging Tools for Windows (x64)\\triage\\pooltag.txt'));
  assert.ok(candidates.includes('C:\\Program Files (x86)\\Windows Kits\\8.1\\Debuggers\\x64\\triage\\pooltag.txt'));
  assert.ok(
    candidates.indexOf('C:\\Program Files\\Debugging Tools for Windows (x64)\\triage\\pooltag.txt') <
      candidates.indexOf('C:\\Program Files (x86)\\Windows Kits\\8.1\\Debuggers\\x64\\triage\\pooltag.txt'),
  );
  assert.equal(new Set(candidates).size, candidates.length);
});

test('on Windows: the first existing candidate is returned', () => {
  const old = 'C:\\Program Files\\Debugging Tools for Windows (x64)\\triage\\pooltag.txt';
  const arm = 'C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\arm64\\triage\\pooltag.txt';
  assert.equal(locatePooltag({ env: WIN_ENV, platform: 'win32', exists: probe([old, arm]).exists }), arm);
  assert.equal(locatePooltag({ env: WIN_ENV, platform: 'win32', exists: probe([old]).exists }), old);
  const none = probe([]);
  assert.equal(locatePooltag({ env: WIN_ENV, platform: 'win32', exists: none.exists }), undefined);
  assert.equal(none.asked.length, windowsCandidates(WIN_ENV).length);
});

test('Windows environment names are matched case-insensitively, with defaults when unset', () => {
  const lower = windowsCandidates({ 'PROGRAMFILES(X86)': 'D:\\PF86', programfiles: 'D:\\PF' });
  assert.equal(lower[0], 'D:\\PF86\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt');
  assert.ok(lower.includes('D:\\PF\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt'));
  assert.equal(windowsCandidates({})[0], KIT10_X64);
});
