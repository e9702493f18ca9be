/*
 * tables.h - the columns and rows `kubectl get` shows for each kind, as the
 * cells of a meta.k8s.io/v1 Table.
 *
 * Each definition mirrors kube-apiserver's printer for that kind
 * (pkg/printers/internalversion) or, for custom kinds, the CRD's
 * additionalPrinterColumns. The server always renders every column, wide
 * ones included (priority > 0); kubectl hides those unless `-o wide`.
 *
 * Row functions are pure: they read the object and the time passed in,
 * never the clock, and accept any JSON at all. A field that is missing or
 * of the wrong type reads as absent, so a row always has exactly one cell
 * per column (strings, integers, booleans, or null where unknown).
 */
#ifndef WF_TABLES_H
#define WF_TABLES_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

typedef struct wf_column {
	const char *name;   /* header as Kubernetes spells it, e.g. "Nominated Node" */
	const char *type;   /* "string", "integer", "boolean", "date" */
	const char *format; /* "name" for the object's name column, else "" */
	const char *description;
	int priority; /* 0: always shown; 1: only with -o wide */
} wf_column;

typedef struct wf_table_def {
	const char *resource; /* plural, lowercase: "pods" */
	const wf_column *cols;
	size_t ncols;
	/* Append exactly ncols cells for obj to the JSON array `cells`, in
	 * column order. obj is borrowed and may be any JSON value (even NULL);
	 * `now` is the time ages are measured against. */
	void (*row)(const json_t *obj, time_t now, json_t *cells);
} wf_table_def;

/* Table definition for a resource of an API group ("" or NULL for the core
 * group; "batch", "coordination.k8s.io", ...) and a plural, lowercase
 * resource name, e.g. ("", "pods"). Returns a static definition, or NULL
 * when the generic NAME/AGE table applies (unknown kinds, NULL resource). */
const wf_table_def *wf_table_def_find(const char *group, const char *resource);

/* The generic fallback: Name, Age (what kube-apiserver shows for custom
 * kinds without printer columns). Static; never NULL. */
const wf_table_def *wf_table_def_generic(void);

#endif
