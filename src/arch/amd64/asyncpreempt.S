/*
 * asyncpreempt.S (x86-64) - the trampoline of asynchronous preemption
 * (Go's asyncPreempt).
 *
 * The SIGURG handler, having found the interrupted point safe, rewrites
 * the interrupted context (sigctx_redirect) and returns; the thread then
 * "calls" asyncpreempt from the interrupted instruction:
 *
 *     rsp = interrupted rsp - 136    [rsp] = interrupted rip
 *
 * The 128 bytes skipped are the System V red zone, which the interrupted
 * leaf function may be using. The trampoline saves everything that code
 * can be using: the general purpose registers, rflags, and the x87, SSE,
 * AVX and AVX-512 state with xsave, the component mask being the one the
 * OS enabled in XCR0 less AMX tile data (fxsave on a CPU without xsave;
 * asyncpreempt_xsave_* are set by asyncpreempt_init). It then calls
 * asyncpreempt2 (preempt.c), through asyncpreempt_call below,, which parks the goroutine as _Gpreempted.
 * When the goroutine runs again, perhaps on another thread, everything is
 * restored and `ret $128` pops the interrupted rip and the red zone in
 * one instruction, so no register is needed to jump back.
 *
 * The frame, from the top: interrupted rip, rbp (a normal frame, so a
 * frame-pointer unwinder walks through it), rflags, fourteen registers,
 * then the 64-byte aligned save area.
 */
	.text
	.p2align 4
	.globl asyncpreempt
	.hidden asyncpreempt
	.type asyncpreempt, @function
asyncpreempt:
	.cfi_startproc
	.cfi_def_cfa_offset 8
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushfq
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movl	asyncpreempt_xsave_size(%rip), %eax
	subq	%rax, %rsp
	andq	$-64, %rsp
	testl	%eax, %eax
	jz	1f
	/* xrstor faults unless the header's reserved bytes are zero, and
	 * xsave writes only XSTATE_BV: clear the rest first. */
	xorl	%eax, %eax
	movq	%rax, 512(%rsp)
	movq	%rax, 520(%rsp)
	movq	%rax, 528(%rsp)
	movq	%rax, 536(%rsp)
	movq	%rax, 544(%rsp)
	movq	%rax, 552(%rsp)
	movq	%rax, 560(%rsp)
	movq	%rax, 568(%rsp)
	movl	asyncpreempt_xsave_mask(%rip), %eax
	movl	asyncpreempt_xsave_mask+4(%rip), %edx
	xsave64	(%rsp)
	call	asyncpreempt_call
	movl	asyncpreempt_xsave_mask(%rip), %eax
	movl	asyncpreempt_xsave_mask+4(%rip), %edx
	xrstor64 (%rsp)
	jmp	2f
1:	subq	$512, %rsp
	andq	$-64, %rsp
	fxsave64 (%rsp)
	call	asyncpreempt_call
	fxrstor64 (%rsp)
2:	leaq	-120(%rbp), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	popfq
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret	$128
	.cfi_endproc

/* The state is saved: put the thread in the state the C calling
 * convention expects (direction flag clear, x87 stack empty, upper AVX
 * halves clean so the scheduler's SSE code runs at full speed), then
 * park. Everything changed here is restored from the save area. */
	.p2align 4
asyncpreempt_call:
	cld
	emms
	cmpb	$0, asyncpreempt_avx(%rip)
	je	1f
	vzeroupper
1:	leaq	8(%rsp), %rdi
	jmp	asyncpreempt2

	.globl asyncpreempt_end
	.hidden asyncpreempt_end
	.hidden asyncpreempt_end
asyncpreempt_end:
	.size asyncpreempt, . - asyncpreempt

	.section .note.GNU-stack,"",@progbits
