/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * APF_SDEI_ENTRY(entry, handler): an SDEI entry point for guest code.  KVM
 * saved x0-x17, PC and PSTATE and enters @entry at EL1 with everything
 * masked, x0-x3 = event, arg, interrupted PC and PSTATE; @handler is called
 * with them, x18-x30 and SP are kept as SDEI requires, then EVENT_COMPLETE
 * (0xc4000025) resumes the interrupted context.
 * APF_SDEI_ENTRY_RESUME(entry, handler): the same, but @handler returns a
 * u64, and if it is not 0 (an address), the entry resumes there instead
 * with EVENT_COMPLETE_AND_RESUME (0xc4000026: x0-x17 restored, the
 * interrupted PC and PSTATE in ELR_EL1 and SPSR_EL1, the address entered
 * at EL1h with everything masked, as for an IRQ).  It
 * declares no C symbol: code takes @entry's address from the assembler.
 * arm64 only, no x86 twin: x86 takes "not present" as an exception, through
 * the selftests library's own handlers.
 */
#ifndef APF_SDEI_ENTRY_H
#define APF_SDEI_ENTRY_H

#define APF_SDEI_ENTRY(entry, handler)			\
	asm(".text\n"					\
	    ".balign 16\n"				\
	    ".global " #entry "\n"			\
	    #entry ":\n"				\
	    "	stp	x18, x30, [sp, #-16]!\n"	\
	    "	bl	" #handler "\n"			\
	    "	ldp	x18, x30, [sp], #16\n"		\
	    "	mov	x0, #0x25\n"			\
	    "	movk	x0, #0xc400, lsl #16\n"		\
	    "	mov	x1, xzr\n"			\
	    "	hvc	#0\n"				\
	    "	b	.\n");				\
	void entry(void)

#define APF_SDEI_ENTRY_RESUME(entry, handler)		\
	asm(".text\n"					\
	    ".balign 16\n"				\
	    ".global " #entry "\n"			\
	    #entry ":\n"				\
	    "	stp	x18, x30, [sp, #-16]!\n"	\
	    "	bl	" #handler "\n"			\
	    "	ldp	x18, x30, [sp], #16\n"		\
	    "	mov	x1, x0\n"			\
	    "	mov	x0, #0x25\n"			\
	    "	cbz	x1, 1f\n"			\
	    "	mov	x0, #0x26\n"			\
	    "1:	movk	x0, #0xc400, lsl #16\n"		\
	    "	hvc	#0\n"				\
	    "	b	.\n")

#endif
