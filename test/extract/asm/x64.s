.intel_syntax noprefix
.section .iat, "aw"
IAT_ALLOC: .quad 0
IAT_FREE: .quad 0
IAT_LOOKASIDE: .quad 0
IAT_OBDEREF: .quad 0
IAT_OTHER: .quad 0
.section .g, "aw"
G: .quad 0
.text
# f_direct 0x1000
f_direct:
  sub rsp, 0x28
  mov r8d, 0x31417244        # 'DrA1'
  mov edx, 0x40
  xor ecx, ecx
  call qword ptr [rip + IAT_ALLOC]
  add rsp, 0x28
  ret
.p2align 4, 0xcc
f_cmov:
  sub rsp, 0x28
  mov r8d, 0x31434d43        # 'CMC1'
  mov eax, dword ptr [rip + G]
  test eax, eax
  cmovne r8d, eax
  mov edx, 0x40
  xor ecx, ecx
  call qword ptr [rip + IAT_ALLOC]
  mov r8d, 0x314a4d43        # 'CMJ1'
  test ebx, ebx
  je 1f
  mov r8d, 0x324a4d43        # 'CMJ2'
1:
  mov edx, 0x40
  xor ecx, ecx
  call qword ptr [rip + IAT_ALLOC]
  add rsp, 0x28
  ret
.p2align 4, 0xcc
f_tail:
  mov edx, 0x31544154        # 'TAT1'
  jmp qword ptr [rip + IAT_FREE]
.p2align 4, 0xcc
f_reg:
  push rsi
  sub rsp, 0x20
  mov rsi, qword ptr [rip + IAT_ALLOC]
  mov r8d, 0x31474552        # 'REG1'
  mov edx, 0x10
  xor ecx, ecx
  call rsi
  mov r8d, 0x32474552        # 'REG2'
  mov edx, 0x10
  xor ecx, ecx
  call rsi
  add rsp, 0x20
  pop rsi
  ret
.p2align 4, 0xcc
w_first:                     # AllocFirst(tag): forwards param 0 (ecx) as the tag, tail jmp
  mov r8d, ecx
  mov edx, 0x20
  xor ecx, ecx
  jmp qword ptr [rip + IAT_ALLOC]
.p2align 4, 0xcc
w_second:                    # AllocSecond(size, tag): forwards param 1 (edx)
  sub rsp, 0x28
  mov r8d, edx
  mov edx, ecx
  mov ecx, 1
  call qword ptr [rip + IAT_ALLOC]
  add rsp, 0x28
  ret
.p2align 4, 0xcc
w_outer:                     # AllocOuter(tag) -> AllocSecond(0x30, tag), tail jmp
  mov edx, ecx
  mov ecx, 0x30
  jmp w_second
.p2align 4, 0xcc
f_callers:
  sub rsp, 0x28
  mov ecx, 0x31415057        # 'WPA1'
  call w_first
  mov edx, 0x31425057        # 'WPB1'
  mov ecx, 0x10
  call w_second
  mov ecx, 0x31435057        # 'WPC1'
  call w_outer
  add rsp, 0x28
  ret
.p2align 4, 0xcc
f_lookaside:
  sub rsp, 0x48
  mov word ptr [rsp + 0x30], 0
  mov dword ptr [rsp + 0x28], 0x314b4f4c   # 'LOK1'
  mov qword ptr [rsp + 0x20], 0x40
  xor r9d, r9d
  xor r8d, r8d
  xor edx, edx
  lea rcx, [rip + G]
  call qword ptr [rip + IAT_LOOKASIDE]
  add rsp, 0x48
  ret
.p2align 4, 0xcc
f_decoys:
  sub rsp, 0x28
  cmp eax, 0x314d4344        # 'DCM1' compared
  jne 1f
  and eax, 0x31544344        # 'DCT1' mask
1:
  mov r9d, 0x31524344        # 'DCR1' in r9: not ExAllocatePoolWithTag's tag argument
  mov r8d, 0x31434c43        # 'CLC1' clobbered by the next call
  call qword ptr [rip + IAT_OTHER]
  mov edx, 0x40
  xor ecx, ecx
  call qword ptr [rip + IAT_ALLOC]
  mov edx, 0x314f4344        # 'DCO1' object reference tag
  mov rcx, rbx
  call qword ptr [rip + IAT_OBDEREF]
  mov r8d, 0x31505250        # 'PRP1' | protected bit below
  or r8d, 0x80000000
  mov edx, 0x40
  xor ecx, ecx
  call qword ptr [rip + IAT_ALLOC]
  add rsp, 0x28
  ret
