/*
 * asyncpreempt.S (AArch64) - the trampoline of asynchronous preemption
 * (Go's asyncPreempt).
 *
 * The SIGURG handler, having found the interrupted point safe, rewrites
 * the interrupted context (sigctx_redirect) and returns; the thread then
 * "calls" asyncpreempt from the interrupted instruction, as Go arranges:
 *
 *     x30 = interrupted pc    sp = interrupted sp - 16
 *     [sp] = interrupted x30
 *
 * Once the trampoline has saved that x30, those 16 bytes become its
 * frame record: {interrupted x29, interrupted pc}.
 *
 * The trampoline saves everything the interrupted code can be using (x0
 * to x30, sp, pc, the NZCV flags, fpsr, fpcr and the whole V register
 * file) and parks the goroutine (asyncpreempt2, preempt.c). Jumping back
 * is the hard part on AArch64: every branch to an arbitrary address needs
 * a register, and the interrupted code may be using all 31. So the save
 * area is laid out as the kernel's signal frame (struct rt_sigframe:
 * siginfo, then a ucontext whose mcontext holds the registers and an
 * fpsimd_context record), and the way back is rt_sigreturn, which loads
 * every register, sp and pc at once. asyncpreempt_resume (sigctx_arm64.c)
 * completes the frame for the thread the goroutine resumes on: the record
 * headers, its signal mask and its alternate signal stack. The offsets
 * below are checked against the C structures there.
 *
 * SVE and SME state beyond the V registers is not kept (the kernel drops
 * it at any system call too); code that keeps live SVE state must not be
 * preempted (gort_preempt_off).
 */
#define FRAME     4688   /* sizeof(struct rt_sigframe) */
#define REGS      312    /* uc.uc_mcontext.regs */
#define FPSR      600    /* the fpsimd_context record: fpsr, fpcr */
#define FPCR      604
#define VREGS     608    /* ... vregs[32] */
#define NR_rt_sigreturn 139

	.text
	.p2align 4
	.globl asyncpreempt
	.hidden asyncpreempt
	.type asyncpreempt, %function
asyncpreempt:
	sub	sp, sp, #4096
	sub	sp, sp, #(FRAME - 4096)
	stp	x0, x1, [sp, #REGS]
	add	x0, sp, #REGS
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	add	x1, sp, #4096
	ldr	x2, [x1, #(FRAME - 4096)]      /* interrupted x30 */
	add	x3, x1, #(FRAME - 4096 + 16)   /* interrupted sp */
	stp	x2, x3, [x0, #240]             /* regs[30], sp */
	mrs	x2, nzcv
	stp	x30, x2, [x0, #256]            /* pc, pstate */
	mrs	x2, fpsr
	str	w2, [sp, #FPSR]
	mrs	x2, fpcr
	str	w2, [sp, #FPCR]
	add	x0, sp, #VREGS
	stp	q0, q1, [x0, #0]
	stp	q2, q3, [x0, #32]
	stp	q4, q5, [x0, #64]
	stp	q6, q7, [x0, #96]
	stp	q8, q9, [x0, #128]
	stp	q10, q11, [x0, #160]
	stp	q12, q13, [x0, #192]
	stp	q14, q15, [x0, #224]
	stp	q16, q17, [x0, #256]
	stp	q18, q19, [x0, #288]
	stp	q20, q21, [x0, #320]
	stp	q22, q23, [x0, #352]
	stp	q24, q25, [x0, #384]
	stp	q26, q27, [x0, #416]
	stp	q28, q29, [x0, #448]
	stp	q30, q31, [x0, #480]
	/* The handler's 16 bytes, their x30 saved: a frame record
	 * {interrupted x29, interrupted pc}, as a call from the interrupted
	 * instruction would leave, so that a traceback shows the interrupted
	 * function (a leaf's x30 is its caller's return address). */
	stp	x29, x30, [x3, #-16]           /* x3: interrupted sp */
	sub	x29, x3, #16
	mov	x0, sp
	bl	asyncpreempt2                  /* returns the frame */
	mov	sp, x0
	mov	x8, #NR_rt_sigreturn
	svc	#0
	brk	#0                             /* rt_sigreturn does not return */
	.globl asyncpreempt_end
	.hidden asyncpreempt_end
asyncpreempt_end:
	.size asyncpreempt, . - asyncpreempt

	.section .note.GNU-stack,"",%progbits
