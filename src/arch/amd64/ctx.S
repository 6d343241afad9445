/*
 * ctx.S (x86-64, System V) - the goroutine context switch.
 *
 * void ctxswitch(void **save_sp, void *sp)
 *
 * The frame left on a switched-out stack, from its saved sp upwards:
 *     sp+0   mxcsr (4 bytes), x87 control word (2 bytes), padding
 *     sp+8   r15, r14, r13, r12, rbx, rbp
 *     sp+56  return address
 * Only callee-saved state is kept: ctxswitch is called like any function,
 * so everything else is already dead or spilled by the caller. The FP
 * control words are callee-saved too (a goroutine may change its rounding
 * mode); loading them is slow, so they are loaded only when the incoming
 * context's values differ from the current ones, which is rare.
 * ctx_amd64.c builds the same frame on a fresh stack (ctx_prepare).
 */
	.text
	.p2align 4
	.globl ctxswitch
	.hidden ctxswitch
	.type ctxswitch, @function
ctxswitch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	/* Reload each word with its own size: one 8-byte load spanning both
	 * stores would miss store forwarding and stall. */
	movl	(%rsp), %eax
	movzwl	4(%rsp), %edx
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	cmpl	(%rsp), %eax
	jne	1f
	cmpw	4(%rsp), %dx
	jne	1f
2:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
1:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	2b
	.cfi_endproc
	.size ctxswitch, .-ctxswitch

/*
 * gostart_tramp: where a new goroutine's first switch "returns" to.
 * rsp is 16-byte aligned here (ctx_prepare), so the call below gives
 * gostart the alignment of an ordinary call; rbp = 0 ends frame walks.
 */
	.p2align 4
	.globl gostart_tramp
	.hidden gostart_tramp
	.type gostart_tramp, @function
gostart_tramp:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	call	gostart
	ud2
	.cfi_endproc
	.size gostart_tramp, .-gostart_tramp

	.section .note.GNU-stack,"",@progbits
