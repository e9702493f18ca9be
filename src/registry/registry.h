/*
 * registry.h - what Wharf serves: one wf_kind per resource, with its rules.
 *
 * A kind describes where its objects live in the store, how it appears in
 * discovery, and the per-kind rules the API layer applies on every write:
 * defaulting, validation (which reports every bad field as a cause), which
 * part an update of the main resource or of the status subresource may
 * change, and which field selectors it supports. Nothing here does I/O.
 */
#ifndef WF_REGISTRY_H
#define WF_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One bad field, as in a Kubernetes Status' details.causes. */
typedef struct wf_cause {
	char *reason;  /* "FieldValueRequired", "FieldValueInvalid", ... */
	char *field;   /* "spec.containers[0].image" */
	char *message; /* "Required value" / "Invalid value: \"x\": ..." */
} wf_cause;

typedef struct wf_causes {
	wf_cause *v;
	size_t n;
} wf_causes;

/* Add a cause. `reason` is a Kubernetes CauseType name. */
void wf_causes_add(wf_causes *c, const char *reason, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void wf_causes_required(wf_causes *c, const char *field);
/* Invalid value: renders the offending JSON value like Kubernetes does. */
void wf_causes_invalid(wf_causes *c, const char *field, const json_t *value, const char *detail);
/* Same, for a string value. */
void wf_causes_invalid_str(wf_causes *c, const char *field, const char *value, const char *detail);
void wf_causes_unsupported(wf_causes *c, const char *field, const json_t *value,
			   const char *const *supported);
void wf_causes_free(wf_causes *c);

typedef enum wf_name_rule {
	WF_NAME_SUBDOMAIN, /* DNS-1123 subdomain (most kinds) */
	WF_NAME_LABEL,     /* DNS-1123 label (namespaces) */
	WF_NAME_DNS1035,   /* DNS-1035 label (services) */
} wf_name_rule;

typedef struct wf_kind wf_kind;

struct wf_kind {
	const char *group;    /* "" for the core group */
	const char *version;  /* "v1" */
	const char *resource; /* plural, "pods" */
	const char *kind;     /* "Pod" */
	const char *singular; /* "pod" */
	const char *short_names[4];
	bool namespaced;
	bool in_all_category; /* appears in `kubectl get all` */
	bool has_status;      /* has a status subresource */
	/* Writes through /status also change labels and annotations, as the
	 * Pod status strategy of Kubernetes allows (it resets only the spec,
	 * deletionTimestamp and ownerReferences); other kinds take only status. */
	bool status_sets_labels;
	const char *extra_subresources[4]; /* "binding", "log" */
	wf_name_rule name_rule;
	bool create_on_update; /* PUT of a missing object creates it */
	bool orphan_by_default; /* default deletion propagation is Orphan (batch Jobs) */
	/* Supported field selector labels beyond metadata.name/metadata.namespace. */
	const char *const *fields;

	/* Fill in defaults on create and update (obj is the full new object). */
	void (*defaults)(json_t *obj);
	/* On create: reset what a client may not set (e.g. status). */
	void (*prepare_create)(json_t *obj);
	/* Validate a new object (old == NULL) or an update of the main resource
	 * or of status. Append one cause per bad field. */
	void (*validate)(const json_t *obj, const json_t *old, wf_causes *c);
	/* Extra update rules (immutable fields); old is never NULL. */
	void (*validate_update)(const json_t *obj, const json_t *old, wf_causes *c);
};

/* Look up a kind by group, version and resource (plural). NULL if not served. */
const wf_kind *wf_registry_find(const char *group, const char *version, const char *resource);
/* Look up by group and Kind name ("Pod"). */
const wf_kind *wf_registry_find_kind(const char *group, const char *kind);
size_t wf_registry_count(void);
const wf_kind *wf_registry_at(size_t i);

/* "v1" or "batch/v1". Returns a static or kind-owned string. */
const char *wf_kind_api_version(const wf_kind *k);
/* The kind's "pods" or "jobs.batch" form used in messages. */
void wf_kind_qualified_resource(const wf_kind *k, char *buf, size_t len);

/*
 * Store keys. Kinds live under "/registry/<resource>/" (core group) or
 * "/registry/<group>/<resource>/" (every other group); namespaced objects under
 * ".../<namespace>/<name>", cluster-scoped ones under ".../<name>".
 * Returned strings are heap-allocated; caller frees.
 */
char *wf_registry_key(const wf_kind *k, const char *ns, const char *name);
/* Prefix of every object of the kind (ns NULL) or of one namespace. */
char *wf_registry_prefix(const wf_kind *k, const char *ns);

/* Field selector support: is `field` selectable for this kind? */
bool wf_kind_field_supported(const wf_kind *k, const char *field);
/* Value of a selectable field in obj ("" when absent); borrowed from obj or a
 * static string. */
const char *wf_kind_field_value(const wf_kind *k, const json_t *obj, const char *field);

/* Shared rules every kind uses, in objmeta.c. */
void wf_validate_object_meta(const wf_kind *k, const json_t *obj, wf_causes *c);
void wf_validate_labels(const json_t *labels, const char *field, wf_causes *c);
/* obj[key] when it is an object; otherwise add a Required or Invalid cause
 * for `field` and return NULL. */
json_t *wf_validate_required_object(const json_t *obj, const char *key, const char *field,
				    wf_causes *c);
void wf_validate_quantity_map(const json_t *m, const char *field, wf_causes *c);
void wf_validate_pod_spec(const json_t *spec, const char *field, wf_causes *c);
void wf_default_pod_spec(json_t *spec);

/* Helpers for walking jansson objects without type surprises. */
const char *wf_json_str(const json_t *obj, const char *key);           /* NULL unless a string */
const char *wf_json_path_str(const json_t *obj, const char *dotted);   /* "metadata.name" */
json_t *wf_json_path(const json_t *obj, const char *dotted);           /* borrowed or NULL */
json_t *wf_json_obj_ensure(json_t *obj, const char *key);              /* borrowed, creates {} */
/* Equal values, where two absent (NULL) values are equal too (json_equal
 * says NULL equals nothing). */
bool wf_json_same(const json_t *a, const json_t *b);

#endif
