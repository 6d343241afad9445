/*
 * sigctx_amd64.c - what the signal handlers read from an interrupted
 * x86-64 context.
 */
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "runtime.h"

uintptr_t sigctx_sp(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];
}

uintptr_t sigctx_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}
