// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's snapshots: a running guest saved to a directory,
 * with async faults in flight, and started again from it in a new VMM
 * process, its memory served lazily.
 *
 * Taking one (-S DIR): the guest's test program asks through the test
 * device ("snap").  The vCPU that asked stops, the others are kicked out
 * of KVM_RUN, and each vCPU's last exit is completed (KVM_RUN with
 * immediate_exit: an I/O or MMIO exit is only finished by the next
 * KVM_RUN).  Then DIR/state gets every record below and DIR/mem the image
 * of guest RAM (each page as the guest last wrote it: a page the VMM had
 * not served yet comes from its saved copy).  Faults in flight need no
 * record: KVM's are retried by the guest after the restore (below), and
 * the VMM-owned ones die with the VM, their pages in the image.  The VM is
 * destroyed, and a new process (this program again, with -R DIR) restores
 * it; this one waits for it and exits with its status.
 *
 * Restoring (-R DIR), in the order Documentation/api.rst gives: the VM,
 * KVM_CAP_APF_FEATURES as this process's options say, the memslots (RAM
 * empty, every page missing: a userfaultfd serves each from DIR/mem on its
 * first access, -d ms late, as from a remote store; -P: a thread also
 * fetches every page in order; -E: eager, the whole image is read before
 * the guest runs), the vCPUs, then the arch's state (arch_restore()).
 * Restoring the guest's async PF enable word queues a wake-all on each
 * vCPU, so every task the guest had parked when the snapshot was taken
 * retries its access, and a page still missing faults again, now on this
 * VM.  A snapshot whose guest had async PF with a feature this VM does not
 * offer (-e, KVM_APF_FEATURE_GUEST_ERROR) fails at the enable word:
 * arch_restore() names the step.
 *
 * The state file: a header record, then records of (type, vCPU, key,
 * length) and their bytes, each padded to 8 bytes.  Written to
 * DIR/state.new and renamed (and the same for mem), so that the process
 * restoring from DIR/mem keeps the image it maps while it writes the next.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm.h"

#define SNAP_MAGIC	0x50414e5341504b56ULL	/* "VKPASNAP" */
#define SNAP_VERSION	1

struct snap_rec {
	u32 type;
	u32 vcpu;
	u64 key;
	u32 len;
	u32 pad;
};

struct snap_header {
	u64 magic;
	u32 version;
	u32 nr_vcpus;
	u64 ram_base;
	u64 ram_size;
	u64 apf_features;	/* the source's KVM_CAP_APF_FEATURES */
	u32 round;		/* restores before this snapshot */
	char arch[12];
};

#if defined(__x86_64__)
#define SNAP_ARCH_NAME	"x86_64"
#elif defined(__aarch64__)
#define SNAP_ARCH_NAME	"arm64"
#endif

static size_t rec_size(u32 len)
{
	return sizeof(struct snap_rec) + ((len + 7) & ~7U);
}

void snap_put(struct snap *s, u32 type, u32 vcpu, u64 key, const void *data,
	      u32 len)
{
	struct snap_rec r = { .type = type, .vcpu = vcpu, .key = key, .len = len };
	size_t need = s->len + rec_size(len);

	if (need > s->cap) {
		s->cap = need * 2 > 65536 ? need * 2 : 65536;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			die("realloc");
	}
	memcpy(s->buf + s->len, &r, sizeof(r));
	if (len)
		memcpy(s->buf + s->len + sizeof(r), data, len);
	memset(s->buf + s->len + sizeof(r) + len, 0, rec_size(len) - sizeof(r) - len);
	s->len = need;
}

const void *snap_next(const struct snap *s, size_t *pos, u32 type, u32 vcpu,
		      u64 *key, u32 *len)
{
	while (*pos + sizeof(struct snap_rec) <= s->len) {
		const struct snap_rec *r = (const void *)(s->buf + *pos);

		*pos += rec_size(r->len);
		if (r->type == type && r->vcpu == vcpu) {
			*key = r->key;
			*len = r->len;
			return r + 1;
		}
	}
	return NULL;
}

const void *snap_find(const struct snap *s, u32 type, u32 vcpu, u64 key,
		      u32 len)
{
	const void *data;
	size_t pos = 0;
	u32 l;
	u64 k;

	while ((data = snap_next(s, &pos, type, vcpu, &k, &l))) {
		if (k != key)
			continue;
		if (l != len) {
			errno = 0;
			die("snapshot: record %#x/%#x/%#llx has %u bytes, not %u",
			    type, vcpu, (unsigned long long)key, l, len);
		}
		return data;
	}
	return NULL;
}

void snap_get(const struct snap *s, u32 type, u32 vcpu, u64 key, void *data,
	      u32 len)
{
	const void *p = snap_find(s, type, vcpu, key, len);

	if (!p) {
		errno = 0;
		die("snapshot: no record %#x for vcpu %d, key %#llx", type,
		    (int)vcpu, (unsigned long long)key);
	}
	memcpy(data, p, len);
}

/* Load DIR/state and check that it fits this VMM; the header is checked. */
static void snap_load(struct snap *s, const char *dir, struct snap_header *h)
{
	char path[4096];
	size_t pos = 0;
	const void *p;
	u64 key;
	u32 len;

	snprintf(path, sizeof(path), "%s/state", dir);
	s->buf = read_file(path, &s->len);
	s->cap = s->len;
	errno = 0;
	p = snap_next(s, &pos, SNAP_HEADER, SNAP_VM, &key, &len);
	if (!p || len != sizeof(*h))
		die("%s: not a snapshot", path);
	memcpy(h, p, sizeof(*h));
	if (h->magic != SNAP_MAGIC || h->version != SNAP_VERSION)
		die("%s: not a snapshot of version %d", path, SNAP_VERSION);
	if (strncmp(h->arch, SNAP_ARCH_NAME, sizeof(h->arch)))
		die("%s: a snapshot of an %.12s guest", path, h->arch);
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			die("write %s", what);
		buf = (const u8 *)buf + n;
		len -= n;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Save the stopped VM to vmm->snap_dir: the vCPUs' last exits completed,
 * every record, the memory image.
 */
void snapshot_save(struct vmm *vmm)
{
	struct snap_header h = {
		.magic = SNAP_MAGIC,
		.version = SNAP_VERSION,
		.nr_vcpus = vmm->nr_vcpus,
		.ram_base = vmm->ram_base,
		.ram_size = vmm->ram_size,
		.apf_features = vmm->apf_features,
		.round = vmm->round,
	};
	char path[4096], tmp[4096];
	struct snap s = {};
	double t0 = now_s();
	int i, fd;

	memcpy(h.arch, SNAP_ARCH_NAME, sizeof(SNAP_ARCH_NAME));
	for (i = 0; i < vmm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vmm->vcpus[i];

		vcpu->run->immediate_exit = 1;
		if (ioctl(vcpu->fd, KVM_RUN, 0) == 0 || errno != EINTR)
			die("vcpu %d: KVM_RUN to complete its last exit", i);
		vcpu->run->immediate_exit = 0;
	}
	if (mkdir(vmm->snap_dir, 0700) && errno != EEXIST)
		die("mkdir %s", vmm->snap_dir);
	snap_put(&s, SNAP_HEADER, SNAP_VM, 0, &h, sizeof(h));
	uart_save(&s);
	testdev_save(vmm, &s);
	arch_save(vmm, &s);

	snprintf(tmp, sizeof(tmp), "%s/mem.new", vmm->snap_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s", tmp);
	mem_save(vmm, fd, &s);
	close(fd);
	snprintf(path, sizeof(path), "%s/mem", vmm->snap_dir);
	if (rename(tmp, path))
		die("rename %s", tmp);

	snprintf(tmp, sizeof(tmp), "%s/state.new", vmm->snap_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s", tmp);
	write_all(fd, s.buf, s.len, tmp);
	close(fd);
	snprintf(path, sizeof(path), "%s/state", vmm->snap_dir);
	if (rename(tmp, path))
		die("rename %s", tmp);
	free(s.buf);
	fprintf(stderr, "vmm: snapshot %d saved to %s in %.0f ms (%llu MiB of RAM)\n",
		vmm->round + 1, vmm->snap_dir, (now_s() - t0) * 1000,
		(unsigned long long)vmm->ram_size >> 20);
}

/*
 * Restore: what create_vm() does for a boot, from the snapshot in
 * vmm->restore_dir.  Returns the snapshot, for arch_restore() once the
 * vCPUs exist.
 */
struct snap *snapshot_load(struct vmm *vmm)
{
	struct snap *s = calloc(1, sizeof(*s));
	struct snap_header h;

	if (!s)
		die("calloc");
	snap_load(s, vmm->restore_dir, &h);
	if (h.nr_vcpus != (u32)vmm->nr_vcpus || h.ram_size != vmm->ram_size) {
		errno = 0;
		die("restore: the snapshot has %u vCPUs and %llu MiB, not %d and %llu (-c, -m)",
		    h.nr_vcpus, (unsigned long long)h.ram_size >> 20,
		    vmm->nr_vcpus, (unsigned long long)vmm->ram_size >> 20);
	}
	vmm->round = h.round + 1;
	return s;
}

/* The generic records, once the new VM's devices exist. */
void snapshot_restore_devices(struct vmm *vmm, const struct snap *s)
{
	uart_restore(s);
	testdev_restore(vmm, s);
}

void snapshot_free(struct snap *s)
{
	free(s->buf);
	free(s);
}
