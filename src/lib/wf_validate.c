/*
 * wf_validate.c - Kubernetes name, label and key syntax checks.
 *
 * Each Kubernetes regex is a single left-to-right character class test here
 * (no regex engine, linear time, no allocation). Kubernetes returns a list
 * of messages; every combination that can occur is spelled out below as one
 * string literal joined with "; ", so the checks can return static strings
 * that callers may keep. Wording follows k8s.io/apimachinery/pkg/util/
 * validation (RegexError's examples really are separated by ",  or ").
 */
#include "lib/wf_validate.h"

#include <string.h>

#define WF__MAXLEN63 "must be no more than 63 characters"
#define WF__MAXLEN253 "must be no more than 253 characters"
#define WF__EMPTY "must be non-empty"
#define WF__NO_DOTS "must not contain dots"
#define WF__LABEL_RE                                                                               \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "   \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "   \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define WF__SUBDOMAIN_RE                                                                           \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "  \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "      \
	"regex used for validation is "                                                            \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define WF__DNS1035_RE                                                                             \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "  \
	"an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "    \
	"'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define WF__QNAME_RE                                                                               \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "  \
	"validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define WF__LABEL_VALUE_RE                                                                         \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "   \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "      \
	"'my_value',  or '12345', regex used for validation is "                                   \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define WF__ENV_RE                                                                                 \
	"a valid environment variable name must consist of alphabetic characters, digits, '_', "   \
	"'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  "   \
	"or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
#define WF__CMKEY_RE                                                                               \
	"a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "       \
	"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "                \
	"'[-._a-zA-Z0-9]+')"
#define WF__DOT "must not be '.'"
#define WF__DOTDOT "must not be '..'"
#define WF__DOTDOT_PFX "must not start with '..'"

/* ------------------------------------------------------------------ */
/* Character classes                                                  */

static bool wf__lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool wf__alnum(char c)
{
	return wf__lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool wf__is_label(const char *s, size_t n)
{
	if (n == 0 || !wf__lower_alnum(s[0]) || !wf__lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!wf__lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* label(\.label)* */
static bool wf__is_subdomain(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!wf__is_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool wf__is_qname_part(const char *s, size_t n)
{
	if (n == 0 || !wf__alnum(s[0]) || !wf__alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!wf__alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static bool wf__is_key_char(char c)
{
	return wf__alnum(c) || c == '-' || c == '_' || c == '.';
}

/* 0: fine, 1: ".", 2: "..", 3: starts with "..". */
static unsigned wf__chdir(const char *s)
{
	if (strcmp(s, ".") == 0)
		return 1;
	if (strcmp(s, "..") == 0)
		return 2;
	return strncmp(s, "..", 2) == 0 ? 3 : 0;
}

/* ------------------------------------------------------------------ */
/* Checks                                                             */

const char *wf_check_dns1123_subdomain(const char *s)
{
	static const char *const msg[4] = {
	    NULL,
	    WF__MAXLEN253,
	    WF__SUBDOMAIN_RE,
	    WF__MAXLEN253 "; " WF__SUBDOMAIN_RE,
	};
	s = s ? s : "";
	size_t n = strlen(s);
	return msg[(n > 253) | (!wf__is_subdomain(s, n) << 1)];
}

const char *wf_check_dns1123_label(const char *s)
{
	static const char *const msg[2][3] = {
	    {NULL, WF__NO_DOTS, WF__LABEL_RE},
	    {WF__MAXLEN63, WF__MAXLEN63 "; " WF__NO_DOTS, WF__MAXLEN63 "; " WF__LABEL_RE},
	};
	s = s ? s : "";
	size_t n = strlen(s);
	unsigned re = 0;
	if (!wf__is_label(s, n))
		re = wf__is_subdomain(s, n) ? 1 : 2;
	return msg[n > 63][re];
}

const char *wf_check_dns1035_label(const char *s)
{
	static const char *const msg[4] = {
	    NULL,
	    WF__MAXLEN63,
	    WF__DNS1035_RE,
	    WF__MAXLEN63 "; " WF__DNS1035_RE,
	};
	s = s ? s : "";
	size_t n = strlen(s);
	bool ok = n > 0 && (s[0] >= 'a' && s[0] <= 'z') && wf__is_label(s, n);
	return msg[(n > 63) | (!ok << 1)];
}

/* Prefix states: 0 none, 1 empty, 2 too long, 3 bad syntax, 4 both.
 * Name states:   0 fine, 1 empty, 2 too long, 3 too long and bad, 4 bad. */
#define WF__P1 "prefix part " WF__EMPTY
#define WF__P2 "prefix part " WF__MAXLEN253
#define WF__P3 "prefix part " WF__SUBDOMAIN_RE
#define WF__P4 WF__P2 "; " WF__P3
#define WF__N1 "name part " WF__EMPTY "; name part " WF__QNAME_RE
#define WF__N2 "name part " WF__MAXLEN63
#define WF__N3 WF__N2 "; name part " WF__QNAME_RE
#define WF__N4 "name part " WF__QNAME_RE
#define WF__QROW(P)                                                                                \
	{                                                                                          \
		P, P "; " WF__N1, P "; " WF__N2, P "; " WF__N3, P "; " WF__N4                      \
	}

const char *wf_check_qualified_name(const char *s)
{
	static const char *const msg[5][5] = {
	    {NULL, WF__N1, WF__N2, WF__N3, WF__N4},
	    WF__QROW(WF__P1),
	    WF__QROW(WF__P2),
	    WF__QROW(WF__P3),
	    WF__QROW(WF__P4),
	};
	s = s ? s : "";
	const char *slash = strchr(s, '/');
	const char *name = s;
	unsigned pstate = 0;
	if (slash) {
		if (strchr(slash + 1, '/'))
			return "a qualified name " WF__QNAME_RE " with an optional DNS subdomain "
			       "prefix and '/' (e.g. 'example.com/MyName')";
		size_t plen = (size_t)(slash - s);
		name = slash + 1;
		bool toolong = plen > 253, bad = !wf__is_subdomain(s, plen);
		if (plen == 0)
			pstate = 1;
		else if (toolong)
			pstate = bad ? 4 : 2;
		else
			pstate = bad ? 3 : 0;
	}
	size_t n = strlen(name);
	bool ok = wf__is_qname_part(name, n);
	unsigned nstate;
	if (n == 0)
		nstate = 1;
	else if (n > 63)
		nstate = ok ? 2 : 3;
	else
		nstate = ok ? 0 : 4;
	return msg[pstate][nstate];
}

const char *wf_check_label_value(const char *s)
{
	static const char *const msg[4] = {
	    NULL,
	    WF__MAXLEN63,
	    WF__LABEL_VALUE_RE,
	    WF__MAXLEN63 "; " WF__LABEL_VALUE_RE,
	};
	s = s ? s : "";
	size_t n = strlen(s);
	bool ok = n == 0 || wf__is_qname_part(s, n);
	return msg[(n > 63) | (!ok << 1)];
}

const char *wf_check_env_var_name(const char *s)
{
	static const char *const msg[2][4] = {
	    {NULL, WF__DOT, WF__DOTDOT, WF__DOTDOT_PFX},
	    {WF__ENV_RE, WF__ENV_RE "; " WF__DOT, WF__ENV_RE "; " WF__DOTDOT,
	     WF__ENV_RE "; " WF__DOTDOT_PFX},
	};
	s = s ? s : "";
	bool ok = s[0] != '\0' && !(s[0] >= '0' && s[0] <= '9');
	for (const char *p = s; ok && *p; p++)
		ok = wf__is_key_char(*p);
	return msg[!ok][wf__chdir(s)];
}

const char *wf_check_config_map_key(const char *s)
{
	static const char *const msg[2][2][4] = {
	    {
		{NULL, WF__DOT, WF__DOTDOT, WF__DOTDOT_PFX},
		{WF__CMKEY_RE, WF__CMKEY_RE "; " WF__DOT, WF__CMKEY_RE "; " WF__DOTDOT,
		 WF__CMKEY_RE "; " WF__DOTDOT_PFX},
	    },
	    {
		{WF__MAXLEN253, WF__MAXLEN253 "; " WF__DOT, WF__MAXLEN253 "; " WF__DOTDOT,
		 WF__MAXLEN253 "; " WF__DOTDOT_PFX},
		{WF__MAXLEN253 "; " WF__CMKEY_RE, WF__MAXLEN253 "; " WF__CMKEY_RE "; " WF__DOT,
		 WF__MAXLEN253 "; " WF__CMKEY_RE "; " WF__DOTDOT,
		 WF__MAXLEN253 "; " WF__CMKEY_RE "; " WF__DOTDOT_PFX},
	    },
	};
	s = s ? s : "";
	size_t n = strlen(s);
	bool ok = n > 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = wf__is_key_char(s[i]);
	return msg[n > 253][!ok][wf__chdir(s)];
}
