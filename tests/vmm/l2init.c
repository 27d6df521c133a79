// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the reference VMM's test guest (L2): says it is up, then
 * reboots, which ends the VMM.
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/reboot.h>

int main(void)
{
	printf("L2 user space up\n");
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 1;
}
