/*
 * test_strmap.c - the string map: add, get, delete across growth, keys
 * that differ only late or are empty, and freeing with a value destructor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wf_mem.h"
#include "lib/wf_strmap.h"

static int g_freed;

static void count_free(void *p)
{
	g_freed++;
	free(p);
}

static void test_grow_get_del(void **state)
{
	wf_strmap m = {0};
	assert_null(wf_strmap_get(&m, "x"));
	assert_null(wf_strmap_del(&m, "x"));
	static int vals[5000];
	char key[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "default/pod-%d", i);
		wf_strmap_add(&m, key, &vals[i]);
	}
	assert_int_equal(m.n, 5000);
	assert_true(m.nb >= 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "default/pod-%d", i);
		assert_ptr_equal(wf_strmap_get(&m, key), &vals[i]);
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof key, "default/pod-%d", i);
		assert_ptr_equal(wf_strmap_del(&m, key), &vals[i]);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "default/pod-%d", i);
		assert_ptr_equal(wf_strmap_get(&m, key), i % 2 ? &vals[i] : NULL);
	}
	assert_int_equal(m.n, 2500);
	/* Keys that share a long prefix, and the empty key. */
	char *a = wf_xmalloc(10001), *b = wf_xmalloc(10001);
	memset(a, 'k', 10000);
	a[10000] = '\0';
	memcpy(b, a, 10001);
	b[9999] = 'j';
	wf_strmap_add(&m, a, &vals[1]);
	wf_strmap_add(&m, b, &vals[3]);
	wf_strmap_add(&m, "", &vals[5]);
	assert_ptr_equal(wf_strmap_get(&m, a), &vals[1]);
	assert_ptr_equal(wf_strmap_get(&m, b), &vals[3]);
	assert_ptr_equal(wf_strmap_get(&m, ""), &vals[5]);
	free(a);
	free(b);
	wf_strmap_free(&m, NULL);
	assert_int_equal(m.n, 0);
	assert_null(wf_strmap_get(&m, ""));
}

static void test_free_values(void **state)
{
	wf_strmap m = {0};
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		wf_strmap_add(&m, key, wf_xstrdup(key));
	}
	g_freed = 0;
	wf_strmap_free(&m, count_free);
	assert_int_equal(g_freed, 100);
	wf_strmap_free(&m, count_free); /* an empty map: nothing to do */
	assert_int_equal(g_freed, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_get_del),
	    cmocka_unit_test(test_free_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
