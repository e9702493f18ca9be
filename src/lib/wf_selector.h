/*
 * wf_selector.h - label selectors and field selectors, as Kubernetes parses them.
 *
 * Label selector syntax (k8s.io/apimachinery/pkg/labels.Parse):
 *   key=value, key==value, key!=value, key in (a,b), key notin (a,b),
 *   key (exists), !key (does not exist), comma-separated, all must match.
 *   Whitespace (space, tab, CR, LF) around tokens is allowed; a value may be
 *   empty ("key=", "key in ()", "key in (a,)"). Keys must be qualified names
 *   and values label values (wf_validate.h); set values are sorted and
 *   de-duplicated, and requirements are sorted by key (stable), as Kubernetes
 *   does. The numeric operators "key>1" / "key<1" that labels.Parse also
 *   knows are rejected (no wf_sel_op for them).
 * Field selector syntax (fields.ParseSelector): field=value, field==value,
 *   field!=value, comma separated, empty terms skipped, terms sorted as
 *   strings. Nothing is trimmed or validated in the field name; the value
 *   may be empty and may escape '\', ',' and '=' with a backslash (any other
 *   escape, or a bare ',' or '=' in the value, is an error).
 * Errors are -WF_EINVAL with Kubernetes' message, e.g.
 *   "unable to parse requirement: found '', expected: ',' or ')'"
 *   "found '=', expected: !, identifier, or 'end of string'"
 *   "invalid selector: 'a'; can't understand 'a'"
 *   "invalid field selector: invalid escape sequence: \x"
 * (quoted bad values longer than 128 bytes are shortened with "...").
 *
 * Matching takes a lookup callback so callers can match labels of a parsed
 * JSON object, a compact cache entry, or anything else.
 */
#ifndef WF_SELECTOR_H
#define WF_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/wf_err.h"

typedef enum wf_sel_op {
	WF_SEL_EQ,	  /* = or == */
	WF_SEL_NEQ,	  /* != */
	WF_SEL_IN,	  /* in (...) */
	WF_SEL_NOTIN,	  /* notin (...) */
	WF_SEL_EXISTS,	  /* key */
	WF_SEL_NOTEXISTS, /* !key */
} wf_sel_op;

typedef struct wf_sel_req {
	char *key;
	wf_sel_op op;
	char **values; /* EQ/NEQ: one value; IN/NOTIN: nvalues >= 1 sorted,
			  distinct values; EXISTS/NOTEXISTS: NULL, 0 */
	size_t nvalues;
} wf_sel_req;

/* All strings and arrays are owned by the selector. */
typedef struct wf_selector {
	wf_sel_req *reqs;
	size_t nreqs;
} wf_selector;

/* Returns the value for key, or NULL when absent. */
typedef const char *(*wf_sel_lookup_fn)(void *ctx, const char *key);

/* Parse a label selector ("", NULL or blanks select everything). *out is
 * always initialised, also on error (then empty), so wf_selector_free is
 * safe either way. Caller frees with wf_selector_free. */
int wf_label_selector_parse(const char *s, wf_selector *out, wf_err *err);
/* Parse a field selector (only EQ and NEQ are produced); same contract. */
int wf_field_selector_parse(const char *s, wf_selector *out, wf_err *err);
/* Free what the selector owns and leave it empty; NULL is a no-op. */
void wf_selector_free(wf_selector *sel);
/* True when the selector has no requirements (selects everything). */
bool wf_selector_empty(const wf_selector *sel);

/* Does the object whose values `lookup` returns satisfy every requirement?
 * Label semantics: EQ and IN need the key present with a listed value; NEQ
 * and NOTIN hold when the key is absent or its value is not listed;
 * EXISTS/NOTEXISTS test presence. An empty or NULL selector matches all. */
bool wf_selector_matches(const wf_selector *sel, wf_sel_lookup_fn lookup, void *ctx);
/* Field semantics: an absent field compares as "" for EQ and NEQ
 * ("involvedObject.namespace=" matches an empty or missing namespace);
 * other operators are evaluated as in wf_selector_matches. */
bool wf_field_selector_matches(const wf_selector *sel, wf_sel_lookup_fn lookup, void *ctx);

#endif
