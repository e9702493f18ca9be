/*
 * table.c - meta.k8s.io/v1 Table responses for `kubectl get`, built from the
 * per-kind column definitions in registry/tables.c.
 */
#include "api/api_internal.h"
#include "registry/tables.h"

#include <string.h>

static const wf_table_def *wf__def(const wf_kind *k)
{
	const wf_table_def *d = wf_table_def_find(k->group, k->resource);
	return d ? d : wf_table_def_generic();
}

json_t *wf_table_new(const wf_kind *k, bool with_columns)
{
	json_t *t = json_object();
	json_object_set_new(t, "kind", json_string("Table"));
	json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
	json_object_set_new(t, "metadata", json_object());
	json_t *cols = json_array();
	if (with_columns) {
		const wf_table_def *d = wf__def(k);
		for (size_t i = 0; i < d->ncols; i++) {
			const wf_column *c = &d->cols[i];
			json_t *col = json_object();
			json_object_set_new(col, "name", json_string(c->name));
			json_object_set_new(col, "type", json_string(c->type));
			json_object_set_new(col, "format", json_string(c->format ? c->format : ""));
			json_object_set_new(col, "description",
					    json_string(c->description ? c->description : ""));
			json_object_set_new(col, "priority", json_integer(c->priority));
			json_array_append_new(cols, col);
		}
	}
	json_object_set_new(t, "columnDefinitions", cols);
	json_object_set_new(t, "rows", json_array());
	return t;
}

void wf_table_add_row(json_t *table, const wf_kind *k, const json_t *obj, bool include_object,
		      time_t now)
{
	const wf_table_def *d = wf__def(k);
	json_t *row = json_object();
	json_t *cells = json_array();
	d->row(obj, now, cells);
	json_object_set_new(row, "cells", cells);
	if (include_object) {
		json_object_set(row, "object", (json_t *)obj);
	} else {
		json_t *pom = json_object();
		json_object_set_new(pom, "kind", json_string("PartialObjectMetadata"));
		json_object_set_new(pom, "apiVersion", json_string("meta.k8s.io/v1"));
		json_t *md = json_object_get(obj, "metadata");
		json_object_set_new(pom, "metadata", md ? json_deep_copy(md) : json_object());
		json_object_set_new(row, "object", pom);
	}
	json_array_append_new(json_object_get(table, "rows"), row);
}
