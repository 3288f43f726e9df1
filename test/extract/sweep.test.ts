// Hand-assembled x64 and x86 code (sources in asm/) through the decoder and the wrapper fixpoint.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tagApis } from '../../src/extract/apis.js';
import { type CodeAnalysis, analyseCode, codeInput } from '../../src/extract/extract.js';
import { resolveCalls } from '../../src/extract/resolve.js';
import { sweep } from '../../src/extract/sweep.js';
import { readPe } from '../../src/pe/read.js';
import { formatTag, withoutProtectedBit } from '../../src/tag.js';
import type { CodeInput } from '../../src/extract/types.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixturesMissing = existsSync(`${FIXTURES}drivers/x64`) ? false : `fixture drivers absent from ${FIXTURES}`;

/** The built drivers, the MSVC drivers and (when fetched) wine's. */
function fixtureFiles(): string[] {
  const dirs = ['drivers/x64', 'drivers/x86', 'msvc', 'wine/x64', 'wine/x86'].map((d) => `${FIXTURES}${d}/`).filter((d) => existsSync(d));
  return dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.sys')).map((f) => d + f));
}

const X64 = Buffer.from(
  '4883ec2841b844724131ba4000000031c9ff15e90f00004883c428c3cccccccc4883ec2841b8434d43318b05d01f0000' +
  '85c0440f45c0ba4000000031c9ff15bd0f000041b8434d4a3185db740641b8434d4a32ba4000000031c9ff15a00f0000' +
  '4883c428c3ccccccccccccccccccccccba54415431ff258d0f0000cccccccccc564883ec20488b35740f000041b85245' +
  '4731ba1000000031c9ffd641b852454732ba1000000031c9ffd64883c4205ec34189c8ba2000000031c9ff25400f0000' +
  '4883ec284189d089cab901000000ff152c0f00004883c428c3cccccccccccccc89cab930000000ebd7cccccccccccccc' +
  '4883ec28b957504131e8b2ffffffba57504231b910000000e8b3ffffffb957504331e8c9ffffff4883c428c3cccccccc' +
  '4883ec4866c74424300000c74424284c4f4b3148c7442420400000004531c94531c031d2488d0db51e0000ff15bf0e00' +
  '004883c448c3cccccccccccccccccccc4883ec283d44434d317505254443543141b94443523141b8434c4331ff159e0e' +
  '0000ba4000000031c9ff15710e0000ba44434f314889d9ff157b0e000041b8505250314181c800000080ba4000000031' +
  'c9ff15490e00004883c428c3',
  'hex',
);

const X86 = Buffer.from(
  '68505548316a206a00ff1500200100c383ec1cc74424084d455331c744240420000000c7042400000000ff1500200100' +
  '83ec0cc74424084d455332c744240420000000c7042400000000ff150020010083ec0c83c41cc3cccccccccccccccccc' +
  '8b442404506a206a00ff1500200100c35589e5ff750cff75086a01ff15002001005dc20800cccccccccccccccccccccc' +
  'ff7424046a40e8d5ffffffc3cccccccc6857545331e8b6ffffff83c40468575446316a10e8b7ffffff6857544f31e8cd' +
  'ffffff83c404c3cccccccccccccccccc5653ba4646413189f1ff150c2001008b1d0020010068524547316a086a00ffd3' +
  '684c4f53316a406a006a006a0056ff15082001003d44434d315b5ec744240854414c31ff2504200100',
  'hex',
);

const IMPORTS = ['ExAllocatePoolWithTag', 'ExFreePoolWithTag', 'ExInitializeNPagedLookasideList', 'ObfDereferenceObjectWithTag', 'KeDelayExecutionThread'];

function input(bitness: 32 | 64, bytes: Uint8Array, functionStarts: number[] = []): CodeInput {
  const slot = bitness === 64 ? 8 : 4;
  return {
    bitness,
    imageBase: 0x10000n,
    sections: [{ name: '.text', rva: 0x1000, bytes }],
    imports: new Map(IMPORTS.map((name, i) => [0x2000 + slot * i, name])),
    functionStarts,
    apis: tagApis(),
  };
}

/** "TAG api [via 0xRVA] [protected] [object-ref]" per call-tier evidence, sorted. */
function calls(a: CodeAnalysis): string[] {
  const out = a.calls.map((c) => {
    let s = `${formatTag(withoutProtectedBit(c.value))} ${c.api}`;
    if (c.via !== undefined) s += ` via 0x${c.via.toString(16)}`;
    if (c.value !== withoutProtectedBit(c.value)) s += ' protected';
    if (c.kind === 'object-ref') s += ' object-ref';
    return s;
  });
  return [...new Set(out)].sort();
}

function unproven(a: CodeAnalysis): string[] {
  const proven = new Set(a.calls.map((c) => c.at));
  return a.immediates.filter((i) => !proven.has(i.at)).map((i) => formatTag(i.v)).sort();
}

function wrappers(a: CodeAnalysis): string[] {
  return a.wrappers.map((w) => `0x${w.rva.toString(16)} param ${w.param} ${w.api}`);
}

test('x64: direct, cmov, join, tail jmp, call through a register, lookaside stack argument, object-ref, protected', () => {
  const a = analyseCode(input(64, X64));
  assert.deepEqual(calls(a), [
    'CMC1 ExAllocatePoolWithTag', // kept by cmovne: the old value may stay
    'CMJ1 ExAllocatePoolWithTag', // both sides of a je join
    'CMJ2 ExAllocatePoolWithTag',
    'DCO1 ObfDereferenceObjectWithTag object-ref',
    'DrA1 ExAllocatePoolWithTag',
    'LOK1 ExInitializeNPagedLookasideList', // [rsp+28h]
    'PRP1 ExAllocatePoolWithTag protected', // or r8d,80000000h
    'REG1 ExAllocatePoolWithTag', // call rsi, rsi loaded from the IAT
    'REG2 ExAllocatePoolWithTag',
    'TAT1 ExFreePoolWithTag', // jmp [rip+IAT]
    'WPA1 ExAllocatePoolWithTag via 0x10b0', // 1st parameter
    'WPB1 ExAllocatePoolWithTag via 0x10c0', // 2nd parameter
    'WPC1 ExAllocatePoolWithTag via 0x10e0', // two levels, outer ends in jmp
  ]);
  // r9d is not ExAllocatePoolWithTag's tag argument; r8d does not survive a call; cmp/and immediates are no candidates.
  assert.deepEqual(unproven(a), ['CLC1', 'DCR1']);
  assert.deepEqual(wrappers(a), [
    '0x10b0 param 0 ExAllocatePoolWithTag',
    '0x10c0 param 1 ExAllocatePoolWithTag',
    '0x10e0 param 0 ExAllocatePoolWithTag',
  ]);
});

test('x64: evidence points at the instruction that supplies the tag', () => {
  const a = analyseCode(input(64, X64));
  const byTag = new Map(a.calls.map((c) => [formatTag(withoutProtectedBit(c.value)), c]));
  assert.equal(byTag.get('DrA1')!.at, 0x1004);
  assert.equal(byTag.get('DrA1')!.site, 0x1011);
  assert.equal(byTag.get('LOK1')!.at, 0x112b);
  assert.equal(byTag.get('WPB1')!.at, 0x10fe);
  assert.equal(byTag.get('WPB1')!.site, 0x1108);
});

test('x64: .pdata function starts give the same answer as call targets alone', () => {
  const starts = [0x1000, 0x1020, 0x1070, 0x1080, 0x10b0, 0x10c0, 0x10e0, 0x10f0, 0x1120, 0x1160];
  assert.deepEqual(calls(analyseCode(input(64, X64, starts))), calls(analyseCode(input(64, X64))));
});

test('x86: pushes, gcc mov [esp+N] stores around stdcall pops, stack-parameter wrappers, fastcall, IAT register, tail jmp', () => {
  const a = analyseCode(input(32, X86));
  assert.deepEqual(calls(a), [
    'FFA1 ObfDereferenceObjectWithTag object-ref', // __fastcall: tag in edx
    'LOS1 ExInitializeNPagedLookasideList', // 6th dword
    'MES1 ExAllocatePoolWithTag',
    'MES2 ExAllocatePoolWithTag', // after call [IAT]; sub esp,12
    'PUH1 ExAllocatePoolWithTag',
    'REG1 ExAllocatePoolWithTag', // call ebx
    'TAL1 ExFreePoolWithTag', // mov [esp+8],imm; jmp [IAT]
    'WTF1 ExAllocatePoolWithTag via 0x1070', // ebp frame, [ebp+0Ch]
    'WTO1 ExAllocatePoolWithTag via 0x1090', // forwards [esp+4] to the framed wrapper
    'WTS1 ExAllocatePoolWithTag via 0x1060', // mov eax,[esp+4]; push eax
  ]);
  assert.deepEqual(unproven(a), []);
  assert.deepEqual(wrappers(a), [
    '0x1060 param 0 ExAllocatePoolWithTag',
    '0x1070 param 1 ExAllocatePoolWithTag',
    '0x1090 param 0 ExAllocatePoolWithTag',
  ]);
});

test('x86: immediates that point into the image are addresses, not code-tier candidates', () => {
  // mov dword ptr [esp+4],6660214Eh; push 6660214Eh; ret
  const code = Buffer.from('c74424044e2160666 84e216066c3'.replace(/ /g, ''), 'hex');
  const asDll = { ...input(32, code), imageBase: 0x66600000n, imageEnd: 0x10000 };
  assert.deepEqual(analyseCode(asDll).immediates, []);
  const asDriver = { ...input(32, code), imageEnd: 0x10000 };
  assert.deepEqual(analyseCode(asDriver).immediates.map((i) => [i.at, formatTag(i.v)]), [
    [0x1000, 'N!`f'],
    [0x1008, 'N!`f'],
  ]);
});

test('garbage bytes decode without findings or errors', () => {
  const junk = new Uint8Array(4096);
  let x = 0x12345678;
  for (let i = 0; i < junk.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    junk[i] = x >>> 24;
  }
  for (const bitness of [32, 64] as const) {
    const a = analyseCode(input(bitness, junk, [0x1000]));
    assert.equal(a.calls.length, 0);
  }
});

test('decoding only the functions the byte pre-scan points at finds what decoding everything finds', { skip: fixturesMissing }, () => {
  const key = (c: { value: number; at: number; api: string; via?: number }) => `${c.value}@${c.at} ${c.api} ${c.via ?? ''}`;
  let compared = 0;
  for (const file of fixtureFiles()) {
    const buf = readFileSync(file);
    const code = codeInput(buf, readPe(buf), tagApis())!;
    const full = sweep(code);
    const part = analyseCode(code);
    assert.deepEqual(part.immediates, [...full.immediates].sort((a, b) => a.at - b.at), `${file} immediates`);
    const fullCalls = resolveCalls(full.sites, code.apis, code.bitness, { ownApis: code.ownApis }).calls.map(key).sort();
    assert.deepEqual(part.calls.map(key).sort(), fullCalls, `${file} calls`);
    compared += fullCalls.length;
  }
  assert.ok(compared > 100, `${compared} call-tier sites compared`);
});
