.intel_syntax noprefix
# Image base 0x10000: IAT slots at VA 0x12000.. (rva 0x2000..)
.set IAT_ALLOC, 0x12000
.set IAT_FREE, 0x12004
.set IAT_LOOKASIDE, 0x12008
.set IAT_OBDEREF, 0x1200c
.set IAT_OTHER, 0x12010
.text
f_push:                      # MSVC style: stdcall arguments pushed
  push 0x31485550            # 'PUH1'
  push 0x20
  push 0
  call dword ptr [IAT_ALLOC]
  ret
.p2align 4, 0xcc
f_movesp:                    # gcc style: arguments stored with mov [esp+N], then stdcall pops, gcc re-reserves
  sub esp, 0x1c
  mov dword ptr [esp + 8], 0x3153454d     # 'MES1'
  mov dword ptr [esp + 4], 0x20
  mov dword ptr [esp], 0
  call dword ptr [IAT_ALLOC]
  sub esp, 12
  mov dword ptr [esp + 8], 0x3253454d     # 'MES2'
  mov dword ptr [esp + 4], 0x20
  mov dword ptr [esp], 0
  call dword ptr [IAT_ALLOC]
  sub esp, 12
  add esp, 0x1c
  ret
.p2align 4, 0xcc
w_stack:                     # cdecl AllocTag(tag): re-pushes its stack parameter
  mov eax, dword ptr [esp + 4]
  push eax
  push 0x20
  push 0
  call dword ptr [IAT_ALLOC]
  ret
.p2align 4, 0xcc
w_frame:                     # stdcall AllocSized(size, tag) with an ebp frame: tag is [ebp+0Ch]
  push ebp
  mov ebp, esp
  push dword ptr [ebp + 0xc]
  push dword ptr [ebp + 8]
  push 1
  call dword ptr [IAT_ALLOC]
  pop ebp
  ret 8
.p2align 4, 0xcc
w_outer:                     # cdecl AllocOuter(tag) -> AllocSized(0x40, tag)
  push dword ptr [esp + 4]
  push 0x40
  call w_frame
  ret
.p2align 4, 0xcc
f_callers:
  push 0x31535457            # 'WTS1'
  call w_stack
  add esp, 4
  push 0x31465457            # 'WTF1'
  push 0x10
  call w_frame
  push 0x314f5457            # 'WTO1'
  call w_outer
  add esp, 4
  ret
.p2align 4, 0xcc
f_misc:
  push esi
  push ebx
  mov edx, 0x31414646        # 'FFA1' fastcall object-reference tag in edx
  mov ecx, esi
  call dword ptr [IAT_OBDEREF]
  mov ebx, dword ptr [IAT_ALLOC]
  push 0x31474552            # 'REG1' through a register loaded from the IAT
  push 8
  push 0
  call ebx
  push 0x31534f4c            # 'LOS1' lookaside: Tag is the 6th dword
  push 0x40
  push 0
  push 0
  push 0
  push esi
  call dword ptr [IAT_LOOKASIDE]
  cmp eax, 0x314d4344        # 'DCM1' compared, not a tag
  pop ebx
  pop esi
  mov dword ptr [esp + 8], 0x314c4154     # 'TAL1' tail call: ExFreePoolWithTag(P, Tag), Tag at [esp+8] past the return address
  jmp dword ptr [IAT_FREE]
