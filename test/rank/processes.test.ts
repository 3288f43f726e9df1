import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProcessCounts, countPslist } from '../../src/rank/processes.js';
import { PROTECTED_BIT, tagFromText } from '../../src/tag.js';
import { c, row } from './helpers.js';

const VOL2 = `Volatility Foundation Volatility Framework 2.6
Offset(V)          Name                    PID   PPID   Thds     Hnds   Sess  Wow64 Start                          Exit
------------------ -------------------- ------ ------ ------ -------- ------ ------ ------------------------------ ------------------------------
0xfffffa8000c9b040 System                    4      0     97      537 ------      0 2012-11-26 22:02:58 UTC+0000
0xfffffa8001c2a5f0 smss.exe                256      4      2       30 ------      0 2012-11-26 22:02:58 UTC+0000
0xfffffa8002d2f060 csrss.exe               336    328      9      423      0      0 2012-11-26 22:03:01 UTC+0000
`;

const TASKLIST = `
Image Name                     PID Session Name        Session#    Mem Usage
========================= ======== ================ =========== ============
System Idle Process              0 Services                   0          8 K
System                           4 Services                   0      2,468 K
smss.exe                       376 Services                   0      1,204 K
`;

const VOL3 = `Volatility 3 Framework 2.5.0
PID	PPID	ImageFileName	Offset(V)	Threads	Handles	SessionId	Wow64	CreateTime	ExitTime	File output
4	0	System	0xfa8000c9b040	97	-	N/A	False	2012-11-26 22:02:58.000000 	N/A	Disabled
256	4	smss.exe	0xfa8001c2a5f0	2	-	N/A	False	2012-11-26 22:02:58.000000 	N/A	Disabled
`;

test('process rows are counted in Volatility 2/Rekall, tasklist and Volatility 3 output', () => {
  assert.deepEqual(countPslist(VOL2), { processes: 3, threads: 108 });
  assert.deepEqual(countPslist(TASKLIST), { processes: 3 });
  assert.deepEqual(countPslist(VOL3), { processes: 2, threads: 99 });
  assert.deepEqual(countPslist('nothing here\n'), { processes: 0 });
});

test('more Proc allocations than listed processes is flagged; matching counts say nothing', () => {
  const rows = [row('Proc', c(50, 45, 5000)), row('Thre', c(300, 192, 9000))];
  assert.deepEqual(checkProcessCounts(rows, { processes: 5, threads: 108 }), []);
  assert.deepEqual(checkProcessCounts(rows, { processes: 3, threads: 110 }), [
    '5 outstanding Proc allocations but 3 listed processes: 2 processes may be hidden from the list (unlinked) or terminated and still referenced',
    '108 outstanding Thre allocations but 110 listed threads: the list and the report may not come from the same moment or machine',
  ]);
});

test('Proc with the pre-Win8 protected bit counts as Proc; a missing row is reported', () => {
  const prot = { ...row('Proc', c(7, 2, 100)), tag: (tagFromText('Proc') | PROTECTED_BIT) >>> 0 };
  assert.deepEqual(checkProcessCounts([prot], { processes: 5 }), []);
  assert.deepEqual(checkProcessCounts([row('Abcd', c(1, 0, 1))], { processes: 4 }), ['the report has no Proc row: cannot compare with the 4 listed processes']);
});
