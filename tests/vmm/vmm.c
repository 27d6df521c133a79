// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM: boots a Linux kernel with an initramfs as a KVM guest,
 * on raw KVM ioctls, so that a person writing a VMM can read what it takes.
 * This file is the arch-neutral part: guest RAM (a memfd), the vCPU run
 * loop and a 16550 UART for the console.  The boot protocol, the interrupt
 * controller and the exits that differ per arch are in ARCH.c.
 *
 * Usage: vmm [-c CPUS] -k KERNEL [-i INITRD] [-m MIB] [-r N] [-t SECONDS] [-x]
 *            [-d MS] [-a] [-V | -X] [-b GPA:MIB] [-n] [-O] [-A] [-G] [-e]
 *            [-U fix|retry|stop] [-T]
 *            [-S DIR] [-R DIR] [-P | -E] [-F] [-D] [CMDLINE...]
 *   CMDLINE: words added to the arch's kernel command line (arch_cmdline:
 *            the console on our UART, panic=-1, what the machine needs);
 *   -c:      vCPUs (default 1, at most 8);
 *   -m:      guest RAM in MiB (default 256);
 *   -r:      when the guest resets, boot it again, N times (default 0);
 *   -t:      fail, printing the vCPU state, if a boot runs longer;
 *   -x:      x86: offer no XSAVE state beyond SSE (see x86_64.c);
 *   -d:      serve a page the guest dropped MS milliseconds after its fault
 *            (mem.c), a decimal: 0.1 is 100 us;
 *   -a:      serve all of RAM through userfaultfd from the start, every
 *            missing page -d late;
 *   -b:      an unresolvable region of MIB MiB at GPA (hex), not RAM;
 *   -n:      do not offer the guest async PF (x86: KVM's CPUID feature
 *            bits; arm64: the vendor hypercall service's bit);
 *   -O:      do not offer batched "page ready" (x86: CPUID's
 *            KVM_FEATURE_ASYNC_PF_RING; arm64: the vendor hypercall
 *            service's ring bit): "page ready" one at a time;
 *   -A:      do not offer "not present" as a synchronous exception
 *            (x86: CPUID's KVM_FEATURE_ASYNC_PF_VE; arm64: the vendor
 *            hypercall service's abort bit): it comes as #PF or the SDEI
 *            event;
 *   -G:      KVM must offer "not present" as a synchronous exception:
 *            arm64's abort it always offers; x86's #VE Intel does; on
 *            QEMU's TCG (an emulated AMD host) have it offer it
 *            (kvm.apf_ve_on_amd, set for this run and restored at exit);
 *            on AMD silicon exit with status 4 (skipped);
 *   -V:      VMM-driven async PF (KVM_APF_FEATURE_VMM): accept the faults
 *            on dropped pages KVM hands over, complete them with
 *            KVM_APF_READY_BATCH (mem.c);
 *   -X:      the same, exitless (KVM_APF_FEATURE_VMM_EXITLESS): KVM
 *            accepts each fault itself and posts it to the vCPU's ring;
 *   -e:      let the guest opt in to error status (KVM_CAP_APF_FEATURES
 *            with KVM_APF_FEATURE_GUEST_ERROR);
 *   -U:      on an unresolvable access (a memory-fault exit), fix the
 *            backing and re-enter (default), re-enter once without a fix
 *            first (retry: the same exit comes again), or stop;
 *   -T:      test run: the guest's test program reports through the test
 *            device (testdev.c), and the exit status is its verdict;
 *   -S:      the guest may ask for snapshots; each is saved to DIR and
 *            restored by a new VMM process (snapshot.c);
 *   -R:      start from the snapshot in DIR, its RAM served lazily: -d ms
 *            a page, with -P a prefetcher streaming the rest in; -E
 *            eager: the whole image read in before the guest runs;
 *   -F:      (with -e, test) before each restore, check that the same
 *            restore without -e is refused at the enable word;
 *   -D:      debug: KVM's tracepoints (tracefs) on from the VM's creation
 *            (a restore's too); if the guest then dies (a triple fault)
 *            or times out, the log gets the last events.
 * Exit status: 0 when the guest reboots or powers off (with -T: and its
 * tests passed), 1 on an error or a timeout, 4 when -G cannot be had.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define DEFAULT_RAM_MIB		256
#define MAX_VCPUS		8

void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fprintf(stderr, "vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	exit(1);
}

void *gpa_to_hva(struct vmm *vmm, u64 gpa, u64 len)
{
	if (gpa < vmm->ram_base || gpa - vmm->ram_base > vmm->ram_size ||
	    len > vmm->ram_size - (gpa - vmm->ram_base)) {
		errno = 0;
		die("guest range 0x%llx+0x%llx is outside RAM",
		    (unsigned long long)gpa, (unsigned long long)len);
	}
	return vmm->ram + (gpa - vmm->ram_base);
}

void *read_file(const char *path, size_t *size)
{
	struct stat st;
	size_t done = 0;
	void *buf;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("%s", path);
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		die("malloc");
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + done, st.st_size - done);

		if (n <= 0)
			die("read %s", path);
		done += n;
	}
	close(fd);
	*size = done;
	return buf;
}

/*
 * The 16550 UART, enough for Linux's 8250 driver to find it and write to
 * it: the transmitter is always empty (each byte goes to our stdout at
 * once), its interrupt follows the 16550's rules (raised when enabled and
 * the holding register is empty, cleared by reading IIR or writing THR),
 * and there is no input yet.
 */
#define UART_RX		0	/* in: receive buffer (DLAB=0) */
#define UART_TX		0	/* out: transmit holding (DLAB=0) */
#define UART_IER	1	/* interrupt enable (DLAB=0) */
#define UART_IIR	2	/* in: interrupt identification */
#define UART_FCR	2	/* out: FIFO control */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define UART_MSR	6	/* modem status */
#define UART_SCR	7	/* scratch */

#define UART_IER_THRI		0x02
#define UART_IIR_NO_INT		0x01
#define UART_IIR_THRI		0x02
#define UART_IIR_FIFO		0xc0
#define UART_FCR_ENABLE		0x01
#define UART_LCR_DLAB		0x80
#define UART_MCR_LOOP		0x10
#define UART_LSR_THRE		0x20
#define UART_LSR_TEMT		0x40

static struct {
	u8 ier, lcr, mcr, scr, fcr, dll, dlm;
	int thri;		/* a "holding register empty" interrupt is due */
} uart;

static pthread_mutex_t uart_lock = PTHREAD_MUTEX_INITIALIZER;

static void uart_reset(void)
{
	memset(&uart, 0, sizeof(uart));
}

void uart_save(struct snap *s)
{
	snap_put(s, SNAP_UART, SNAP_VM, 0, &uart, sizeof(uart));
}

void uart_restore(const struct snap *s)
{
	snap_get(s, SNAP_UART, SNAP_VM, 0, &uart, sizeof(uart));
}

static void uart_update_irq(struct vmm *vmm)
{
	arch_uart_irq(vmm, (uart.ier & UART_IER_THRI) && uart.thri);
}

void uart_write(struct vmm *vmm, unsigned int off, u8 val)
{
	int dlab;

	pthread_mutex_lock(&uart_lock);
	dlab = uart.lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_TX:
		if (dlab) {
			uart.dll = val;
			break;
		}
		if (!(uart.mcr & UART_MCR_LOOP))
			console_putc(val);
		uart.thri = 1;
		break;
	case UART_IER:
		if (dlab) {
			uart.dlm = val;
			break;
		}
		/* Enabling the THR interrupt with THR empty raises it. */
		if ((val & UART_IER_THRI) && !(uart.ier & UART_IER_THRI))
			uart.thri = 1;
		uart.ier = val & 0x0f;
		break;
	case UART_FCR:
		uart.fcr = val;
		break;
	case UART_LCR:
		uart.lcr = val;
		break;
	case UART_MCR:
		uart.mcr = val & 0x1f;
		break;
	case UART_SCR:
		uart.scr = val;
		break;
	}
	uart_update_irq(vmm);
	pthread_mutex_unlock(&uart_lock);
}

u8 uart_read(struct vmm *vmm, unsigned int off)
{
	u8 val = 0;
	int dlab;

	pthread_mutex_lock(&uart_lock);
	dlab = uart.lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_RX:
		val = dlab ? uart.dll : 0;
		break;
	case UART_IER:
		val = dlab ? uart.dlm : uart.ier;
		break;
	case UART_IIR:
		if ((uart.ier & UART_IER_THRI) && uart.thri) {
			val = UART_IIR_THRI;
			uart.thri = 0;
		} else {
			val = UART_IIR_NO_INT;
		}
		if (uart.fcr & UART_FCR_ENABLE)
			val |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		val = uart.lcr;
		break;
	case UART_MCR:
		val = uart.mcr;
		break;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_MSR:
		if (uart.mcr & UART_MCR_LOOP)
			/* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			val = ((uart.mcr & 0x01) << 5) |
			      ((uart.mcr & 0x02) << 3) |
			      ((uart.mcr & 0x04) << 4) |
			      ((uart.mcr & 0x08) << 4);
		else
			val = 0xb0;	/* DCD, DSR, CTS */
		break;
	case UART_SCR:
		val = uart.scr;
		break;
	}
	uart_update_irq(vmm);
	pthread_mutex_unlock(&uart_lock);
	return val;
}

static void create_vcpu(struct vmm *vmm, struct vcpu *vcpu, int id)
{
	int size;

	vcpu->vmm = vmm;
	vcpu->id = id;
	vcpu->fd = ioctl(vmm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		die("KVM_CREATE_VCPU %d", id);
	size = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*vcpu->run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		die("mmap kvm_run");
	vcpu_stats_open(vcpu);
	if (vmm->apf_features & KVM_APF_FEATURE_VMM_EXITLESS)
		mem_vcpu_ring(vcpu);
	arch_setup_vcpu(vcpu);
}

/*
 * The vCPU threads and how a boot ends: the first vCPU thread whose guest
 * resets or powers off, or fails, reports it, and the main thread kicks the
 * others out of KVM_RUN (SIGUSR1 and kvm_run->immediate_exit) and joins
 * them all; at the -t timeout it kicks them all and each prints its state.
 */
static pthread_mutex_t end_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t end_cond = PTHREAD_COND_INITIALIZER;
static enum exit_action end_action = EXIT_CONTINUE;
static int nr_stopped;		/* vCPU threads that have stopped */
static int timed_out;
static int stopping;
static __thread struct vcpu *this_vcpu;

static void on_kick(int sig)
{
	if (this_vcpu)
		this_vcpu->run->immediate_exit = 1;
}

#define TRACEFS "/sys/kernel/tracing/"

static void trace_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		fprintf(stderr, "vmm: -D: %s: %s\n", file, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* -D: KVM's tracepoints on, from an empty buffer. */
static void trace_start(void)
{
	mkdir(TRACEFS, 0755);
	if (access(TRACEFS "trace", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	trace_write(TRACEFS "tracing_on", "0");
	trace_write(TRACEFS "buffer_size_kb", "512");
	trace_write(TRACEFS "trace", "");
	trace_write(TRACEFS "events/kvm/enable", "1");
	trace_write(TRACEFS "events/kvm_apf/enable", "1");
	trace_write(TRACEFS "tracing_on", "1");
}

/*
 * -D: the last @n events of thread @tid (its vCPU's; 0: every thread) to
 * the log (called with end_lock held).
 */
static void trace_tail(struct vmm *vmm, int n, pid_t tid)
{
	char **ring, line[512], task[24];
	long i, total = 0;
	FILE *f;

	if (!vmm->trace || n <= 0)
		return;
	trace_write(TRACEFS "tracing_on", "0");
	f = fopen(TRACEFS "trace", "r");
	if (!f)
		return;
	ring = calloc(n, sizeof(*ring));
	if (!ring) {
		fclose(f);
		return;
	}
	/* "             vmm-41      [000] d..1.    26.41: kvm_exit: ..." */
	snprintf(task, sizeof(task), "-%d ", (int)tid);
	while (fgets(line, sizeof(line), f)) {
		char *cpu = strstr(line, " [");

		if (line[0] == '#')
			continue;
		if (tid && (!cpu || !strstr(line, task) ||
			    strstr(line, task) > cpu))
			continue;
		free(ring[total % n]);
		ring[total++ % n] = strdup(line);
	}
	fclose(f);
	fprintf(stderr, "vmm: -D: the last %ld of %ld KVM events%s:\n",
		total < n ? total : n, total, tid ? " of this vCPU's thread" : "");
	for (i = total < n ? 0 : total - n; i < total; i++)
		fprintf(stderr, "vmm:   %s", ring[i % n]);
	for (i = 0; i < n; i++)
		free(ring[i]);
	free(ring);
}

#define EXITS_UNKNOWN	(~0ULL)

/*
 * @vcpu's state to the log, from its own thread: @what, and how many exits
 * to user space it made (@exits, if known); with -D the last @events KVM
 * events of its thread too.
 */
static void report_vcpu(struct vcpu *vcpu, const char *what,
			unsigned long long exits, int events)
{
	pthread_mutex_lock(&end_lock);
	if (exits == EXITS_UNKNOWN)
		fprintf(stderr, "vmm: vcpu %d: %s\n", vcpu->id, what);
	else
		fprintf(stderr, "vmm: vcpu %d: %s after %llu exits to user space\n",
			vcpu->id, what, exits);
	arch_dump_vcpu(vcpu);
	trace_tail(vcpu->vmm, events, gettid());
	pthread_mutex_unlock(&end_lock);
}

/* Each vCPU's state, printed by its own thread (testdev "dump"). */
void dump_vcpus(struct vcpu *self)
{
	struct vmm *vmm = self->vmm;
	int i;

	for (i = 0; i < vmm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vmm->vcpus[i];

		if (vcpu == self) {
			report_vcpu(vcpu, "dump (it asked for it)", EXITS_UNKNOWN, 0);
			continue;
		}
		__atomic_store_n(&vcpu->dump, 1, __ATOMIC_RELEASE);
		pthread_kill(vcpu->thread, SIGUSR1);
	}
}

static void vcpu_stopped(enum exit_action act)
{
	pthread_mutex_lock(&end_lock);
	if (end_action == EXIT_CONTINUE)
		end_action = act;
	nr_stopped++;
	pthread_cond_signal(&end_cond);
	pthread_mutex_unlock(&end_lock);
}

/*
 * Create the VM, its RAM and vCPUs, and load the guest: one boot; or, with
 * -R, put the snapshot's guest in it.
 */
static struct vcpu *create_vm(struct vmm *vmm)
{
	struct snap *snap = NULL;
	struct vcpu *vcpus;
	int i;

	test_boot_start();
	if (vmm->restore_dir)
		snap = snapshot_load(vmm);
	if (vmm->trace)
		trace_start();
	vmm->snap = snap;
	vmm->vm_fd = ioctl(vmm->kvm_fd, KVM_CREATE_VM, 0);
	if (vmm->vm_fd < 0)
		die("KVM_CREATE_VM");
	arch_create_vm(vmm);
	if (vmm->apf_features) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_APF_FEATURES,
			.args[0] = vmm->apf_features,
		};

		if (ioctl(vmm->vm_fd, KVM_ENABLE_CAP, &cap))
			die("KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES, 0x%llx)",
			    (unsigned long long)vmm->apf_features);
	}
	mem_create(vmm);
	if (!snap)
		arch_load_guest(vmm);
	uart_reset();
	vcpus = calloc(vmm->nr_vcpus, sizeof(*vcpus));
	if (!vcpus)
		die("calloc");
	vmm->vcpus = vcpus;
	for (i = 0; i < vmm->nr_vcpus; i++)
		create_vcpu(vmm, &vcpus[i], i);
	arch_vcpus_created(vmm);
	if (snap) {
		snapshot_restore_devices(vmm, snap);
		if (arch_restore(vmm, snap))
			exit(2);
		snapshot_free(snap);
		vmm->snap = NULL;
		fprintf(stderr, "vmm: restored from %s (restore %d) in %.0f ms\n",
			vmm->restore_dir, vmm->round, test_boot_ms());
	}
	return vcpus;
}

/* Undo create_vm(), once the vCPU threads are gone. */
static void destroy_vm(struct vmm *vmm, struct vcpu *vcpus)
{
	int size = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	int i;

	for (i = 0; i < vmm->nr_vcpus; i++) {
		munmap(vcpus[i].run, size);
		close(vcpus[i].stats_fd);
		close(vcpus[i].fd);
	}
	free(vcpus);
	close(vmm->vm_fd);
	mem_destroy(vmm);
}

/* Run one vCPU until the guest resets, powers off or fails. */
static enum exit_action run_vcpu(struct vcpu *vcpu)
{
	unsigned long long exits = 0;
	enum exit_action act;

	for (;; exits++) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && __atomic_load_n(&timed_out, __ATOMIC_ACQUIRE)) {
				report_vcpu(vcpu, "timed out", exits, 60);
				return EXIT_ERROR;
			}
			if (errno == EINTR && __atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
				return EXIT_CONTINUE;	/* another vCPU ended it */
			if (errno == EINTR &&
			    __atomic_exchange_n(&vcpu->dump, 0, __ATOMIC_ACQ_REL)) {
				vcpu->run->immediate_exit = 0;
				report_vcpu(vcpu, "dump", exits, 0);
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EFAULT &&
			    vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
				act = mem_fault_exit(vcpu);
				if (act != EXIT_CONTINUE)
					return act;
				continue;
			}
			perror("vmm: KVM_RUN");
			return EXIT_ERROR;
		}
		switch (vcpu->run->exit_reason) {
		case KVM_EXIT_SHUTDOWN:
			/*
			 * x86: a triple fault, how Linux's "reboot=t" resets,
			 * or a guest that crashed beyond its own handlers:
			 * the state it died in, for the log.
			 */
			report_vcpu(vcpu, "triple fault", exits, 150);
			return EXIT_RESET;
		case KVM_EXIT_SYSTEM_EVENT:
			if (vcpu->run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				return EXIT_POWEROFF;
			return EXIT_RESET;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "vmm: KVM_EXIT_FAIL_ENTRY, reason 0x%llx\n",
				(unsigned long long)
				vcpu->run->fail_entry.hardware_entry_failure_reason);
			return EXIT_ERROR;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "vmm: KVM_EXIT_INTERNAL_ERROR, suberror %u\n",
				vcpu->run->internal.suberror);
			return EXIT_ERROR;
		default:
			act = arch_handle_exit(vcpu);
			if (act != EXIT_CONTINUE)
				return act;
		}
		if (__atomic_load_n(&vcpu->vmm->snap_requested, __ATOMIC_ACQUIRE))
			return EXIT_SNAPSHOT;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t kick;

	this_vcpu = vcpu;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	vcpu_stopped(run_vcpu(vcpu));
	return NULL;
}

/* Run the vCPUs until the first stops, or until @timeout s (0: none). */
static enum exit_action run_vcpus(struct vcpu *vcpus, int n,
				  unsigned int timeout)
{
	struct sigaction sa = { .sa_handler = on_kick };
	struct timespec deadline;
	sigset_t kick;
	enum exit_action act;
	int i, err = 0;

	end_action = EXIT_CONTINUE;
	nr_stopped = 0;
	timed_out = 0;
	stopping = 0;
	/* SIGUSR1, no SA_RESTART: KVM_RUN returns EINTR.  Only vCPUs take it. */
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
	for (i = 0; i < n; i++)
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_thread, &vcpus[i]))
			die("pthread_create");

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout;
	pthread_mutex_lock(&end_lock);
	while (!nr_stopped && err != ETIMEDOUT) {
		if (timeout)
			err = pthread_cond_timedwait(&end_cond, &end_lock, &deadline);
		else
			pthread_cond_wait(&end_cond, &end_lock);
	}
	if (!nr_stopped) {
		/* Timed out: every vCPU prints its state, then we fail. */
		__atomic_store_n(&timed_out, 1, __ATOMIC_RELEASE);
		end_action = EXIT_ERROR;
		for (i = 0; i < n; i++)
			pthread_kill(vcpus[i].thread, SIGUSR1);
		while (nr_stopped < n)
			pthread_cond_wait(&end_cond, &end_lock);
		fprintf(stderr, "vmm: guest timed out after %u s\n", timeout);
	} else {
		__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
		for (i = 0; i < n; i++)
			pthread_kill(vcpus[i].thread, SIGUSR1);
		while (nr_stopped < n)
			pthread_cond_wait(&end_cond, &end_lock);
	}
	act = end_action;
	pthread_mutex_unlock(&end_lock);
	for (i = 0; i < n; i++)
		pthread_join(vcpus[i].thread, NULL);
	return act;
}

/* The command line: the arch's, then the words @args[1..n-1]. */
static char *join_args(char **args, int n)
{
	size_t len = 1;
	char *s;
	int i;

	args[0] = (char *)arch_cmdline;
	for (i = 0; i < n; i++)
		len += strlen(args[i]) + 1;
	s = calloc(1, len);
	if (!s)
		die("calloc");
	for (i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, args[i]);
	}
	return s;
}

/* Run @fn(@arg) in a child process; its wait status. */
static int in_child(void (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		fn(arg);
		exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return status;
}

static void restore_without_errors(void *arg)
{
	struct vmm *vmm = arg;

	fprintf(stderr, "vmm: -F: restoring without KVM_APF_FEATURE_GUEST_ERROR first\n");
	vmm->apf_features &= ~KVM_APF_FEATURE_GUEST_ERROR;
	create_vm(vmm);
}

/*
 * -F, before a restore: the same restore into a VM that does not let the
 * guest opt in to error status (no -e) must fail at the guest's enable word
 * (the guest had opted in): in a child process, which exits 2 there
 * (create_vm()).  Returns 1 if it did.
 */
static int restore_refused_without_errors(struct vmm *vmm)
{
	int status = in_child(restore_without_errors, vmm);

	return WIFEXITED(status) && WEXITSTATUS(status) == 2;
}

/*
 * After a snapshot: this program again, in a new process, restoring it
 * (the options of this one, then -R @dir); this one waits for it and exits
 * with its status.
 */
static void exec_self(void *arg)
{
	execv("/proc/self/exe", arg);
	die("exec /proc/self/exe");
}

static int restore_in_new_process(int argc, char **argv, int nopts,
				  const char *dir)
{
	char **args = calloc(argc + 3, sizeof(*args));
	int status, i, n = 0;

	if (!args)
		die("calloc");
	for (i = 0; i < nopts; i++)
		args[n++] = argv[i];
	args[n++] = "-R";
	args[n++] = (char *)dir;
	for (i = nopts; i < argc; i++)
		args[n++] = argv[i];
	status = in_child(exec_self, args);
	free(args);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "vmm: the restoring VMM died of signal %d\n",
			WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

static const char usage_text[] =
	"vmm [-c CPUS] -k KERNEL [-i INITRD] [-m MIB] [-r N] [-t SECONDS] [-x]\n"
	"           [-d MS] [-a] [-V | -X] [-b GPA:MIB] [-n] [-O] [-A] [-G] [-e] [-U fix|retry|stop] [-T]\n"
	"           [-S DIR] [-R DIR] [-P | -E] [-F] [-D] [CMDLINE...]";

static void print_usage(void)
{
	fprintf(stderr, "usage: %s\n", usage_text);
	exit(1);
}

int main(int argc, char **argv)
{
	/*
	 * Not on main()'s stack: the memory server and the prefetcher may
	 * still run while the process exits, and exit() reuses that stack.
	 */
	static struct vmm vmm = {
		.ram_size = DEFAULT_RAM_MIB << 20,
		.nr_vcpus = 1,
	};
	unsigned int timeout = 0;
	int boot, reboots = 0;
	struct vcpu *vcpus;
	enum exit_action act;
	unsigned long long a, b;
	int opt, refused = 0;
	char **args;

	/* The options as given, for the process that restores a snapshot. */
	args = calloc(argc + 1, sizeof(*args));
	if (!args)
		die("calloc");
	memcpy(args, argv, argc * sizeof(*args));

	while ((opt = getopt(argc, argv, "+c:k:i:m:r:t:xd:aVXb:nOAGeU:TS:R:PEFD")) != -1) {
		switch (opt) {
		case 'c':
			vmm.nr_vcpus = atoi(optarg);
			break;
		case 'k':
			vmm.kernel = optarg;
			break;
		case 'i':
			vmm.initrd = optarg;
			break;
		case 'm':
			vmm.ram_size = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'r':
			reboots = atoi(optarg);
			break;
		case 't':
			timeout = strtoul(optarg, NULL, 0);
			break;
		case 'x':
			vmm.xsave_legacy = 1;
			break;
		case 'd':	/* ms, e.g. 0.1 */
			vmm.delay_us = strtod(optarg, NULL) * 1000 + 0.5;
			break;
		case 'a':
			vmm.delay_all = 1;
			break;
		case 'b':
			if (sscanf(optarg, "%llx:%llu", &a, &b) != 2 || !b ||
			    (a & 0xfffff))
				print_usage();
			vmm.bad_gpa = a;
			vmm.bad_size = b << 20;
			break;
		case 'n':
			vmm.no_apf = 1;
			break;
		case 'O':
			vmm.no_ready_ring = 1;
			break;
		case 'A':
			vmm.no_exception = 1;
			break;
		case 'G':
			vmm.ve_on_tcg = 1;
			break;
		case 'V':
			vmm.apf_features |= KVM_APF_FEATURE_VMM;
			break;
		case 'X':
			vmm.apf_features |= KVM_APF_FEATURE_VMM |
					    KVM_APF_FEATURE_VMM_EXITLESS;
			break;
		case 'e':
			vmm.apf_features |= KVM_APF_FEATURE_GUEST_ERROR;
			break;
		case 'U':
			if (strcmp(optarg, "fix") && strcmp(optarg, "stop") &&
			    strcmp(optarg, "retry"))
				print_usage();
			vmm.on_error_stop = !strcmp(optarg, "stop");
			vmm.on_error_retry = !strcmp(optarg, "retry");
			break;
		case 'T':
			vmm.test = 1;
			break;
		case 'S':
			vmm.snap_dir = optarg;
			break;
		case 'R':
			vmm.restore_dir = optarg;
			break;
		case 'P':
			vmm.prefetch = 1;
			break;
		case 'E':
			vmm.eager = 1;
			break;
		case 'F':
			vmm.check_refusal = 1;
			break;
		case 'D':
			vmm.trace = 1;
			break;
		default:
			print_usage();
		}
	}
	if (!vmm.kernel || vmm.nr_vcpus < 1 || vmm.nr_vcpus > MAX_VCPUS ||
	    (vmm.prefetch && vmm.eager) || (vmm.no_exception && vmm.ve_on_tcg) ||
	    (vmm.check_refusal && !(vmm.apf_features & KVM_APF_FEATURE_GUEST_ERROR)))
		print_usage();
	if (optind < argc)
		vmm.cmdline = join_args(argv + optind - 1, argc - optind + 1);
	else
		vmm.cmdline = arch_cmdline;

	vmm.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vmm.kvm_fd < 0)
		die("/dev/kvm");
	if (ioctl(vmm.kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = 0;
		die("KVM API version");
	}
	if (vmm.restore_dir && vmm.check_refusal)
		refused = restore_refused_without_errors(&vmm);
	for (boot = 0;; boot++) {
		vmm.boot = boot;
		vcpus = create_vm(&vmm);
		if (vmm.restore_dir && vmm.check_refusal && !boot)
			test_result("restore_without_error_feature_refused", refused,
				    refused ? NULL : "the restore went through");
		act = run_vcpus(vcpus, vmm.nr_vcpus, timeout);
		fflush(stdout);
		if (act == EXIT_SNAPSHOT) {
			snapshot_save(&vmm);
			destroy_vm(&vmm, vcpus);
			return restore_in_new_process(argc, args, optind,
						      vmm.snap_dir);
		}
		if (act == EXIT_ERROR)
			break;
		fprintf(stderr, "vmm: guest %s\n",
			act == EXIT_POWEROFF ? "powered off" : "reset");
		if (act != EXIT_RESET || boot >= reboots)
			break;
		/* A reset: a new VM, the guest booted again from scratch. */
		destroy_vm(&vmm, vcpus);
		fprintf(stderr, "vmm: boot %d of %d\n", boot + 2, reboots + 1);
	}
	if (vmm.test)
		return test_verdict(&vmm) || act == EXIT_ERROR;
	return act == EXIT_ERROR;
}
