// Seccomp for minidock: Docker-format profiles compiled to classic BPF in TypeScript.
//
//   profile.ts         Docker's JSON format, strict loading (loadProfileFile)
//   default.ts         Docker's default profile (DEFAULT_PROFILE)
//   compile.ts         profile + capabilities -> BPF bytes (compileProfile)
//   bpf.ts             the cBPF assembler and encoder (labels, trampolines, struct sock_filter)
//   interp.ts          run a program on a made-up syscall (evaluate)
//   disasm.ts          readable listings (disassemble)
//   actions.ts         SECCOMP_RET_* and AUDIT_ARCH_* values
//   syscalls-x86_64.ts the x86_64 syscall table

export * from './actions.js';
export * from './bpf.js';
export * from './compile.js';
export * from './default.js';
export * from './disasm.js';
export * from './interp.js';
export * from './profile.js';
export * from './syscalls-x86_64.js';
