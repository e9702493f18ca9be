/*
 * test_fs.h - small helpers the unit tests share: a temporary directory
 * removed with everything below it, and a sleep in milliseconds for bounded
 * polls. Header-only (static inline): each test binary is one file.
 */
#ifndef WF_TEST_FS_H
#define WF_TEST_FS_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static inline int test_fs_rm_entry(const char *path, const struct stat *sb, int flag,
				   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Make a fresh directory "/tmp/<prefix>-XXXXXX" into buf; false on failure. */
static inline int test_fs_mkdtemp(char *buf, size_t cap, const char *prefix)
{
	snprintf(buf, cap, "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(buf) != NULL;
}

/* rm -rf path (never following symbolic links). */
static inline void test_fs_rm_rf(const char *path)
{
	nftw(path, test_fs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void test_fs_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
