/*
 * filter.h - label and field selector filtering of objects for list and
 * watch requests (implemented in resource_read.c).
 */
#ifndef WF_API_FILTER_H
#define WF_API_FILTER_H

#include "api/api_internal.h"
#include "lib/wf_selector.h"

typedef struct wf_filter {
	const wf_kind *kind;
	wf_selector labels;
	wf_selector fields;
	const char *name; /* metadata.name=X, borrowed from fields, or NULL */
	const char *ns;	  /* metadata.namespace=X, likewise */
} wf_filter;

/* Parse labelSelector and fieldSelector of the request; -WF_EINVAL with a
 * message for malformed selectors or unsupported fields. */
int wf_filter_init(wf_filter *f, const wf_kind *k, const wf_req *r, wf_err *err);
bool wf_filter_empty(const wf_filter *f);
bool wf_filter_matches(const wf_filter *f, const json_t *obj);
void wf_filter_free(wf_filter *f);

#endif
