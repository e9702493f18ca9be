/*
 * wf_fs.c - filesystem helpers.
 */
#include "lib/wf_fs.h"
#include "lib/wf_mem.h"

#include <errno.h>
#include <sys/stat.h>

int wf_mkdirs(const char *dir)
{
	char *p = wf_xstrdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	int rc = mkdir(p, 0755);
	int e = errno;
	free(p);
	if (rc < 0 && e != EEXIST) {
		errno = e;
		return -1;
	}
	return 0;
}
