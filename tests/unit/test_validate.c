/*
 * test_validate.c - unit tests for wf_validate: each Kubernetes name/label/key
 * check against tables of valid and invalid values, with the exact messages
 * Kubernetes prints (written out here independently of the implementation),
 * combined messages, NULL, oversized and non-ASCII input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wf_mem.h"
#include "lib/wf_validate.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Kubernetes' messages, verbatim. */
#define LEN63 "must be no more than 63 characters"
#define LEN253 "must be no more than 253 characters"
#define SUBDOMAIN                                                                                  \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "  \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "      \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-" \
	"9])?)*')"
#define LABEL                                                                                      \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "   \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "   \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1035                                                                                    \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "  \
	"an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "    \
	"'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QNAME                                                                                      \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "  \
	"validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LVALUE                                                                                     \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "   \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "      \
	"'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-" \
	"Za-z0-9])?')"
#define ENV                                                                                        \
	"a valid environment variable name must consist of alphabetic characters, digits, '_', "   \
	"'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  "   \
	"or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
#define CMKEY                                                                                      \
	"a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "       \
	"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "                \
	"'[-._a-zA-Z0-9]+')"

/* Strings of a given length built at run time: "<c>*n" written as {c, n}. */
struct vcase {
	const char *in; /* literal input, or NULL to build from fill/len/pre/post */
	char fill;
	size_t len;
	const char *pre;  /* prepended to the filled part */
	const char *post; /* appended */
	const char *want; /* NULL when valid */
};

#define S(str, w)                                                                                  \
	{                                                                                          \
		str, 0, 0, NULL, NULL, w                                                           \
	}
#define FILL(c, n, w)                                                                              \
	{                                                                                          \
		NULL, c, n, "", "", w                                                              \
	}
#define FILLX(p, c, n, q, w)                                                                       \
	{                                                                                          \
		NULL, c, n, p, q, w                                                                \
	}

static char *build(const struct vcase *c)
{
	if (c->in)
		return wf_xstrdup(c->in);
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, c->pre);
	for (size_t i = 0; i < c->len; i++)
		wf_buf_putc(&b, c->fill);
	wf_buf_puts(&b, c->post);
	return wf_buf_steal(&b);
}

static void run_table(const char *name, const char *(*check)(const char *), const struct vcase *t,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *s = build(&t[i]);
		const char *got = check(s);
		bool ok = t[i].want ? (got && strcmp(got, t[i].want) == 0) : got == NULL;
		if (!ok) {
			print_error("%s case %zu '%.80s' (len %zu):\n got  %s\n want %s\n", name, i,
				    s, strlen(s), got ? got : "(valid)",
				    t[i].want ? t[i].want : "(valid)");
			free(s);
			fail();
		}
		/* messages are static: a second call returns the same pointer */
		assert_ptr_equal(check(s), got);
		free(s);
	}
}

static const struct vcase subdomain_cases[] = {
    S("a", NULL),
    S("example.com", NULL),
    S("my-app.example-1.com", NULL),
    S("0", NULL),
    S("1.2.3.4", NULL),
    S("a-b--c", NULL),
    FILL('a', 253, NULL),
    FILLX("", 'a', 63, ".b", NULL), /* labels inside a subdomain are not length-limited */
    FILLX("", 'a', 100, ".b", NULL),
    S("", SUBDOMAIN),
    S(".", SUBDOMAIN),
    S(".a", SUBDOMAIN),
    S("a.", SUBDOMAIN),
    S("a..b", SUBDOMAIN),
    S("-a", SUBDOMAIN),
    S("a-", SUBDOMAIN),
    S("a-.b", SUBDOMAIN),
    S("a.-b", SUBDOMAIN),
    S("A", SUBDOMAIN),
    S("Example.com", SUBDOMAIN),
    S("a_b", SUBDOMAIN),
    S("a b", SUBDOMAIN),
    S("a/b", SUBDOMAIN),
    S("caf\xc3\xa9", SUBDOMAIN),
    S("\xff", SUBDOMAIN),
    FILL('a', 254, LEN253),
    FILL('a', 10000, LEN253),
    FILLX("", 'a', 254, "-", LEN253 "; " SUBDOMAIN),
    FILL('-', 10000, LEN253 "; " SUBDOMAIN),
};

static const struct vcase label_cases[] = {
    S("a", NULL),
    S("my-name", NULL),
    S("123-abc", NULL),
    S("0", NULL),
    FILL('z', 63, NULL),
    S("", LABEL),
    S("-a", LABEL),
    S("a-", LABEL),
    S("A", LABEL),
    S("a_b", LABEL),
    S("a.", LABEL),
    S("a.b", "must not contain dots"),
    S("example.com", "must not contain dots"),
    S("\xe2\x98\x83", LABEL),
    FILL('a', 64, LEN63),
    FILL('a', 10000, LEN63),
    FILLX("", 'a', 64, ".b", LEN63 "; must not contain dots"),
    FILL('A', 64, LEN63 "; " LABEL),
};

static const struct vcase dns1035_cases[] = {
    S("a", NULL),	  S("my-name", NULL),
    S("abc-123", NULL),	  FILL('z', 63, NULL),
    S("", DNS1035),	  S("1a", DNS1035),
    S("123", DNS1035),	  S("-a", DNS1035),
    S("a-", DNS1035),	  S("A", DNS1035),
    S("a.b", DNS1035),	  S("a_b", DNS1035),
    FILL('a', 64, LEN63), FILL('9', 64, LEN63 "; " DNS1035),
};

#define PFX(m) "prefix part " m
#define NAME(m) "name part " m

static const struct vcase qname_cases[] = {
    S("a", NULL),
    S("MyName", NULL),
    S("my.name", NULL),
    S("123-abc", NULL),
    S("a_b.c-D", NULL),
    S("example.com/MyName", NULL),
    S("kubernetes.io/hostname", NULL),
    S("app.kubernetes.io/name", NULL),
    S("nvidia.com/gpu.product", NULL),
    FILL('a', 63, NULL),
    FILLX("", 'a', 253, "/b", NULL),
    FILLX("a/", 'b', 63, "", NULL),
    S("", NAME("must be non-empty") "; " NAME(QNAME)),
    S("-a", NAME(QNAME)),
    S("a-", NAME(QNAME)),
    S("_a", NAME(QNAME)),
    S(".a", NAME(QNAME)),
    S("a b", NAME(QNAME)),
    S("a$", NAME(QNAME)),
    S("a=b", NAME(QNAME)),
    S("caf\xc3\xa9", NAME(QNAME)),
    S("\xff", NAME(QNAME)),
    S("/a", PFX("must be non-empty")),
    S("a/", NAME("must be non-empty") "; " NAME(QNAME)),
    S("/", PFX("must be non-empty") "; " NAME("must be non-empty") "; " NAME(QNAME)),
    S("Example.com/a", PFX(SUBDOMAIN)),
    S("a_b/c", PFX(SUBDOMAIN)),
    S("a..b/c", PFX(SUBDOMAIN)),
    S("a/-b", NAME(QNAME)),
    S("A/-b", PFX(SUBDOMAIN) "; " NAME(QNAME)),
    S("a/b/c", "a qualified name " QNAME " with an optional DNS subdomain prefix and '/' "
	       "(e.g. 'example.com/MyName')"),
    S("//", "a qualified name " QNAME " with an optional DNS subdomain prefix and '/' "
	    "(e.g. 'example.com/MyName')"),
    FILL('a', 64, NAME(LEN63)),
    FILL('a', 10000, NAME(LEN63)),
    FILL('-', 64, NAME(LEN63) "; " NAME(QNAME)),
    FILLX("", 'a', 254, "/b", PFX(LEN253)),
    FILLX("", 'a', 254, "-/b", PFX(LEN253) "; " PFX(SUBDOMAIN)),
    FILLX("", 'a', 254, "/", PFX(LEN253) "; " NAME("must be non-empty") "; " NAME(QNAME)),
    FILLX("x/", 'a', 64, "", NAME(LEN63)),
    FILLX("X/", '_', 64, "", PFX(SUBDOMAIN) "; " NAME(LEN63) "; " NAME(QNAME)),
};

static const struct vcase lvalue_cases[] = {
    S("", NULL),
    S("a", NULL),
    S("MyValue", NULL),
    S("my_value", NULL),
    S("12345", NULL),
    S("v1.2-rc_3", NULL),
    FILL('a', 63, NULL),
    S("-a", LVALUE),
    S("a-", LVALUE),
    S("_", LVALUE),
    S(".", LVALUE),
    S("a b", LVALUE),
    S("a/b", LVALUE),
    S("a,b", LVALUE),
    S("caf\xc3\xa9", LVALUE),
    S("\x01", LVALUE),
    FILL('a', 64, LEN63),
    FILL('a', 10000, LEN63),
    FILL('-', 64, LEN63 "; " LVALUE),
};

static const struct vcase env_cases[] = {
    S("FOO", NULL),
    S("my.env-name", NULL),
    S("MY_ENV.NAME", NULL),
    S("MyEnvName1", NULL),
    S("_x", NULL),
    S("-x", NULL),
    S(".x", NULL),
    S("x..y", NULL),
    FILL('A', 10000, NULL),
    S("", ENV),
    S("1A", ENV),
    S("9", ENV),
    S("a=b", ENV),
    S("a b", ENV),
    S("a$", ENV),
    S("\xc3\xa9", ENV),
    S(".", "must not be '.'"),
    S("..", "must not be '..'"),
    S("..a", "must not start with '..'"),
    S("..$", ENV "; must not start with '..'"),
};

static const struct vcase cmkey_cases[] = {
    S("key.name", NULL),
    S("KEY_NAME", NULL),
    S("key-name", NULL),
    S("1", NULL),
    S(".env", NULL),
    S("a..b", NULL),
    FILL('a', 253, NULL),
    S("", CMKEY),
    S("a/b", CMKEY),
    S("a b", CMKEY),
    S("caf\xc3\xa9", CMKEY),
    S(".", "must not be '.'"),
    S("..", "must not be '..'"),
    S("..a", "must not start with '..'"),
    S("../etc", CMKEY "; must not start with '..'"),
    FILL('a', 254, LEN253),
    FILL('a', 10000, LEN253),
    FILLX("", 'a', 254, "/", LEN253 "; " CMKEY),
    FILLX("..", 'a', 300, "", LEN253 "; must not start with '..'"),
    FILLX("../", 'a', 300, "", LEN253 "; " CMKEY "; must not start with '..'"),
};

static void test_dns1123_subdomain(void **state)
{
	(void)state;
	run_table("subdomain", wf_check_dns1123_subdomain, subdomain_cases, NELEM(subdomain_cases));
}

static void test_dns1123_label(void **state)
{
	(void)state;
	run_table("label", wf_check_dns1123_label, label_cases, NELEM(label_cases));
}

static void test_dns1035_label(void **state)
{
	(void)state;
	run_table("dns1035", wf_check_dns1035_label, dns1035_cases, NELEM(dns1035_cases));
}

static void test_qualified_name(void **state)
{
	(void)state;
	run_table("qualified name", wf_check_qualified_name, qname_cases, NELEM(qname_cases));
}

static void test_label_value(void **state)
{
	(void)state;
	run_table("label value", wf_check_label_value, lvalue_cases, NELEM(lvalue_cases));
}

static void test_env_var_name(void **state)
{
	(void)state;
	run_table("env var", wf_check_env_var_name, env_cases, NELEM(env_cases));
}

static void test_config_map_key(void **state)
{
	(void)state;
	run_table("config map key", wf_check_config_map_key, cmkey_cases, NELEM(cmkey_cases));
}

/* NULL is checked as the empty string by every function. */
static void test_null_is_empty(void **state)
{
	(void)state;
	const char *(*fns[])(const char *) = {
	    wf_check_dns1123_subdomain, wf_check_dns1123_label, wf_check_dns1035_label,
	    wf_check_qualified_name,	wf_check_label_value,	wf_check_env_var_name,
	    wf_check_config_map_key,
	};
	for (size_t i = 0; i < NELEM(fns); i++) {
		const char *a = fns[i](NULL), *b = fns[i]("");
		assert_true(a == b);
	}
	assert_null(wf_check_label_value(NULL));
	assert_non_null(wf_check_dns1123_label(NULL));
}

/* Every byte value in an otherwise valid name: only the allowed ones pass. */
static void test_every_byte(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) {
		char s[4] = {'a', (char)c, 'a', '\0'};
		bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool alnum = lower || (c >= 'A' && c <= 'Z');
		bool keych = alnum || c == '-' || c == '_' || c == '.';
		assert_true((wf_check_dns1123_label(s) == NULL) == (lower || c == '-'));
		assert_true((wf_check_dns1123_subdomain(s) == NULL) ==
			    (lower || c == '-' || c == '.'));
		assert_true((wf_check_label_value(s) == NULL) == keych);
		assert_true((wf_check_qualified_name(s) == NULL) == (keych || c == '/'));
		assert_true((wf_check_env_var_name(s) == NULL) == keych);
		assert_true((wf_check_config_map_key(s) == NULL) == keych);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns1123_subdomain), cmocka_unit_test(test_dns1123_label),
	    cmocka_unit_test(test_dns1035_label),     cmocka_unit_test(test_qualified_name),
	    cmocka_unit_test(test_label_value),	      cmocka_unit_test(test_env_var_name),
	    cmocka_unit_test(test_config_map_key),    cmocka_unit_test(test_null_is_empty),
	    cmocka_unit_test(test_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
