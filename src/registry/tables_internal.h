/*
 * tables_internal.h - what the tables_*.c files share: defensive JSON
 * readers, cell appenders, and the Kubernetes string formats the printers
 * reuse (label maps, label selectors, container lists, ages).
 *
 * Readers never trust a type: a lookup through a non-object, or a value of
 * the wrong type, reads as absent (NULL / false). Appenders add exactly one
 * cell each, falling back to JSON null if jansson refuses a value.
 */
#ifndef WF_TABLES_INTERNAL_H
#define WF_TABLES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/wf_mem.h"
#include "lib/wf_time.h"
#include "registry/tables.h"

#define WF__DESC_NAME                                                                              \
	"Name must be unique within a namespace; it is what clients use to refer to the object."
#define WF__DESC_AGE "Time since the object was created (metadata.creationTimestamp)."

/* The member at the path of keys that follows `o` (NULL-terminated), or NULL
 * when any step is missing or not an object. */
const json_t *wf__tbl_at(const json_t *o, ...) __attribute__((sentinel));
/* Like wf__tbl_at, but the value must be a string. */
const char *wf__tbl_str(const json_t *o, ...) __attribute__((sentinel));
/* A string value, or NULL when v is not a string. */
const char *wf__tbl_sval(const json_t *v);
/* A JSON integer (only) into *out; false otherwise. */
bool wf__tbl_int(const json_t *v, int64_t *out);
/* Like wf__tbl_int, clamped to [lo, hi]; def when v is not an integer. */
int64_t wf__tbl_int_clamp(const json_t *v, int64_t lo, int64_t hi, int64_t def);
/* Members of an object or elements of an array; 0 for anything else. */
size_t wf__tbl_count(const json_t *v);
/* Parse an RFC 3339 string value; false when absent or malformed. */
bool wf__tbl_time(const json_t *v, time_t *out);
/* metadata.name, or "" */
const char *wf__tbl_name(const json_t *obj);
/* True when s is non-NULL and not empty. */
bool wf__tbl_nonempty(const char *s);
/* True when v exists and is not JSON null (Go's "pointer is not nil"). */
bool wf__tbl_present(const json_t *v);
/* True when the first condition of `type` in the array conds has status
 * "True" (isPodInitializedConditionTrue, hasJobCondition). */
bool wf__tbl_cond_true(const json_t *conds, const char *type);

/* Age of timestamp v at now into buf (WF_TIME_DURATION_LEN bytes), as
 * translateTimestampSince: "<unknown>" when absent, "<invalid>" when
 * unparseable. Returns buf. */
char *wf__tbl_since(const json_t *v, time_t now, char *buf);

void wf__tbl_add_str(json_t *cells, const char *s); /* NULL appends "" */
void wf__tbl_add_int(json_t *cells, int64_t v);
void wf__tbl_add_bool(json_t *cells, bool v);
void wf__tbl_add_null(json_t *cells);
/* The AGE cell: metadata.creationTimestamp against now. */
void wf__tbl_add_age(json_t *cells, const json_t *obj, time_t now);

/* labels.FormatLabels: "a=1,b=2" with keys sorted, "<none>" when empty or
 * not an object; non-string values print as "". */
void wf__tbl_format_labels(const json_t *map, wf_buf *out);
/* metav1.FormatLabelSelector: "app=web,tier in (a,b),!gpu" with
 * requirements sorted by key, "<none>" for an absent or empty selector,
 * "<error>" for one Kubernetes would reject. */
void wf__tbl_format_selector(const json_t *sel, wf_buf *out);
/* Container names and images, each joined with ",". */
void wf__tbl_containers(const json_t *containers, wf_buf *names, wf_buf *images);
/* Sort the strings and join the distinct ones with sep. */
void wf__tbl_join_sorted_unique(const char **v, size_t n, const char *sep, wf_buf *out);

/* Definitions, one per printer (tables_pods.c, tables_core.c, tables_batch.c). */
extern const wf_table_def wf__table_pods;
extern const wf_table_def wf__table_nodes;
extern const wf_table_def wf__table_namespaces;
extern const wf_table_def wf__table_events; /* core and events.k8s.io */
extern const wf_table_def wf__table_configmaps;
extern const wf_table_def wf__table_secrets;
extern const wf_table_def wf__table_services;
extern const wf_table_def wf__table_serviceaccounts;
extern const wf_table_def wf__table_leases;
extern const wf_table_def wf__table_jobs;
extern const wf_table_def wf__table_priorityclasses;
extern const wf_table_def wf__table_podgroups;
extern const wf_table_def wf__table_pytorchjobs;

#endif
