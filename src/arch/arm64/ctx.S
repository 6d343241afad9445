/*
 * ctx.S (AArch64, AAPCS64) - the goroutine context switch.
 *
 * void ctxswitch(void **save_sp, void *sp)
 *
 * The frame left on a switched-out stack (176 bytes, 16-byte aligned):
 *     sp+0    x19..x28
 *     sp+80   x29 (frame pointer), x30 (return address)
 *     sp+96   d8..d15 (the callee-saved low halves of v8..v15)
 *     sp+160  fpcr
 * ctx_arm64.c builds the same frame on a fresh stack (ctx_prepare).
 */
	.text
	.p2align 4
	.globl ctxswitch
	.hidden ctxswitch
	.type ctxswitch, %function
ctxswitch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size ctxswitch, .-ctxswitch

/* gostart_tramp: the first return of a new goroutine lands here. */
	.p2align 4
	.globl gostart_tramp
	.hidden gostart_tramp
	.type gostart_tramp, %function
gostart_tramp:
	mov	x29, #0
	mov	x30, #0
	bl	gostart
	brk	#0
	.size gostart_tramp, .-gostart_tramp

	.section .note.GNU-stack,"",%progbits
