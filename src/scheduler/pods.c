/*
 * pods.c - the pod table and pod profiles.
 *
 * A pod's placement constraints (nodeSelector, required and preferred node
 * affinity, tolerations) are interned as a profile: pods stamped from one
 * template share one, so the per-(profile, class) filter cache in
 * framework.c is computed once for all of them. Profiles are reference
 * counted and freed with their last pod.
 *
 * A pod is PENDING (queued, alone or through its gang), ASSUMED (a BIND was
 * decided and its resources are reserved) or BOUND. Assumed and bound pods
 * are on their node's pod list and counted in node->used. A pod bound to a
 * node the scheduler does not know yet is kept on a placeholder node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

#define WF__SC_AMOUNT_MAX (INT64_C(1) << 52)

/* ---- keys ---------------------------------------------------------------------- */

/* "ns/name" into k (room for strlen(ns) + strlen(name) + 2). */
static void pod_key_write(char *k, const char *ns, size_t nslen, const char *name, size_t namelen)
{
	memcpy(k, ns, nslen);
	k[nslen] = '/';
	memcpy(k + nslen + 1, name, namelen + 1);
}

static char *pod_key(const char *ns, const char *name, uint32_t *nslen)
{
	size_t a = strlen(ns), b = strlen(name);
	char *k = wf_xmalloc(a + b + 2);
	pod_key_write(k, ns, a, name, b);
	*nslen = (uint32_t)a;
	return k;
}

wf__sc_pod *wf__sc_pod_get(const wf_sched *s, const char *ns, const char *name)
{
	if (!ns || !name)
		return NULL;
	uint32_t nslen;
	char *k = pod_key(ns, name, &nslen);
	uint32_t id;
	bool ok = wf__sc_hmap_get(&s->podmap, k, strlen(k), &id);
	free(k);
	return ok ? s->pods[id] : NULL;
}

/* ---- profiles ------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int check_term(const wf_sched_term *t, const char *what, size_t ti, wf_err *err)
{
	for (size_t i = 0; i < t->nreqs; i++) {
		const wf_sched_requirement *r = &t->reqs[i];
		if (!r->key || !*r->key)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: requirement %zu has no key",
					  what, ti, i);
		if (r->op > WF_SCHED_OP_LT)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: %s: invalid operator", what, ti,
					  r->key);
		if (r->nvalues && !r->values)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: %s: values missing", what, ti,
					  r->key);
		for (size_t v = 0; v < r->nvalues; v++)
			if (!r->values[v])
				return wf_err_set(err, WF_EINVAL, "%s[%zu]: %s: NULL value", what,
						  ti, r->key);
		if (r->field && (strcmp(r->key, "metadata.name") != 0 ||
				 (r->op != WF_SCHED_OP_IN && r->op != WF_SCHED_OP_NOT_IN)))
			return wf_err_set(err, WF_EINVAL,
					  "%s[%zu]: matchFields supports only metadata.name with "
					  "In or NotIn, not %s",
					  what, ti, r->key);
		switch (r->op) {
		case WF_SCHED_OP_IN:
		case WF_SCHED_OP_NOT_IN:
			if (!r->nvalues)
				return wf_err_set(
				    err, WF_EINVAL,
				    "%s[%zu]: %s: values must be non-empty for In and "
				    "NotIn",
				    what, ti, r->key);
			break;
		case WF_SCHED_OP_EXISTS:
		case WF_SCHED_OP_DOES_NOT_EXIST:
			if (r->nvalues)
				return wf_err_set(
				    err, WF_EINVAL,
				    "%s[%zu]: %s: values must be empty for Exists and "
				    "DoesNotExist",
				    what, ti, r->key);
			break;
		default: {
			int64_t num;
			if (r->nvalues != 1 || !wf__sc_parse_i64(r->values[0], &num))
				return wf_err_set(err, WF_EINVAL,
						  "%s[%zu]: %s: Gt and Lt need one integer value",
						  what, ti, r->key);
		}
		}
	}
	return 0;
}

static int check_pod_term_list(const wf_sched_pod_term *v, size_t n, const char *what,
			       bool preferred, wf_err *err)
{
	if (n && !v)
		return wf_err_set(err, WF_EINVAL, "%s terms missing", what);
	for (size_t i = 0; i < n; i++) {
		const wf_sched_pod_term *t = &v[i];
		if (!t->topology_key || !*t->topology_key)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: topologyKey is required", what,
					  i);
		if (preferred ? t->weight < 1 || t->weight > 100 : t->weight != 0)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: weight %d not in %s", what, i,
					  (int)t->weight, preferred ? "1..100" : "0..0");
		if (t->nnamespaces && !t->namespaces)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: namespaces missing", what, i);
		for (size_t j = 0; j < t->nnamespaces; j++)
			if (!t->namespaces[j] || !*t->namespaces[j])
				return wf_err_set(err, WF_EINVAL, "%s[%zu]: empty namespace", what,
						  i);
		if (t->nselector && !t->selector)
			return wf_err_set(err, WF_EINVAL, "%s[%zu]: selector missing", what, i);
		for (size_t j = 0; j < t->nselector; j++) {
			const wf_sched_requirement *r = &t->selector[j];
			if (r->field || r->op > WF_SCHED_OP_DOES_NOT_EXIST)
				return wf_err_set(err, WF_EINVAL,
						  "%s[%zu]: a label selector takes In, NotIn, "
						  "Exists and DoesNotExist only",
						  what, i);
		}
		wf_sched_term sel = {.reqs = t->selector, .nreqs = t->nselector};
		int rc = check_term(&sel, what, i, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_pod_terms(const wf_sched_pod_spec *sp, wf_err *err)
{
	int rc;
	if ((rc = check_pod_term_list(sp->affinity, sp->naffinity, "podAffinity", false, err)) <
		0 ||
	    (rc = check_pod_term_list(sp->anti_affinity, sp->nanti_affinity, "podAntiAffinity",
				      false, err)) < 0 ||
	    (rc = check_pod_term_list(sp->pref_affinity, sp->npref_affinity,
				      "preferred podAffinity", true, err)) < 0 ||
	    (rc = check_pod_term_list(sp->pref_anti_affinity, sp->npref_anti_affinity,
				      "preferred podAntiAffinity", true, err)) < 0)
		return rc;
	if (sp->naffinity + sp->nanti_affinity + sp->npref_affinity + sp->npref_anti_affinity >
	    UINT16_MAX)
		return wf_err_set(err, WF_ETOOBIG, "too many pod affinity terms");
	return 0;
}

static int check_constraints(const wf_sched_pod_spec *sp, wf_err *err)
{
	for (size_t i = 0; i < sp->nnode_selector; i++)
		if (!sp->node_selector[i].key || !sp->node_selector[i].value)
			return wf_err_set(err, WF_EINVAL,
					  "nodeSelector entry %zu has no key or value", i);
	if (sp->nrequired && !sp->required)
		return wf_err_set(err, WF_EINVAL, "required node affinity terms missing");
	for (size_t i = 0; i < sp->nrequired; i++) {
		if (sp->required[i].nreqs && !sp->required[i].reqs)
			return wf_err_set(err, WF_EINVAL, "nodeSelectorTerms[%zu] missing", i);
		int rc = check_term(&sp->required[i], "nodeSelectorTerms", i, err);
		if (rc < 0)
			return rc;
	}
	if (sp->npreferred && !sp->preferred)
		return wf_err_set(err, WF_EINVAL, "preferred node affinity terms missing");
	for (size_t i = 0; i < sp->npreferred; i++) {
		const wf_sched_preferred *pf = &sp->preferred[i];
		if (pf->weight < 0 || pf->weight > 100)
			return wf_err_set(err, WF_EINVAL,
					  "preferredDuringScheduling[%zu]: weight %d not in 0..100",
					  i, (int)pf->weight);
		if (pf->term.nreqs && !pf->term.reqs)
			return wf_err_set(err, WF_EINVAL, "preferred term %zu missing", i);
		int rc = check_term(&pf->term, "preferredDuringScheduling", i, err);
		if (rc < 0)
			return rc;
	}
	int rc = check_pod_terms(sp, err);
	if (rc < 0)
		return rc;
	if (sp->nlabels && !sp->labels)
		return wf_err_set(err, WF_EINVAL, "labels missing");
	if (sp->nlabels > UINT16_MAX)
		return wf_err_set(err, WF_ETOOBIG, "too many labels");
	for (size_t i = 0; i < sp->nlabels; i++)
		if (!sp->labels[i].key || !*sp->labels[i].key || !sp->labels[i].value)
			return wf_err_set(err, WF_EINVAL, "label %zu has no key or value", i);
	if (sp->ntolerations && !sp->tolerations)
		return wf_err_set(err, WF_EINVAL, "tolerations missing");
	for (size_t i = 0; i < sp->ntolerations; i++) {
		const wf_sched_toleration *t = &sp->tolerations[i];
		if (t->op > WF_SCHED_TOL_EXISTS)
			return wf_err_set(err, WF_EINVAL, "tolerations[%zu]: invalid operator", i);
		if (t->effect > WF_SCHED_NO_EXECUTE)
			return wf_err_set(err, WF_EINVAL, "tolerations[%zu]: invalid effect", i);
		if ((!t->key || !*t->key) && t->op != WF_SCHED_TOL_EXISTS)
			return wf_err_set(err, WF_EINVAL,
					  "tolerations[%zu].operator: operator must be Exists when "
					  "`key` is empty, which means \"match all values and all "
					  "keys\"",
					  i);
		if (t->op == WF_SCHED_TOL_EXISTS && t->value && *t->value)
			return wf_err_set(err, WF_EINVAL,
					  "tolerations[%zu].operator: value must be empty when "
					  "`operator` is 'Exists'",
					  i);
	}
	return 0;
}

static void term_build(wf_sched *s, const wf_sched_term *in, wf__sc_term *out, wf__sc_sig *g,
		       bool *per_node)
{
	out->nreqs = (uint32_t)in->nreqs;
	out->reqs = wf_xcalloc(in->nreqs ? in->nreqs : 1, sizeof(*out->reqs));
	wf__sc_sig_u32(g, out->nreqs);
	for (size_t i = 0; i < in->nreqs; i++) {
		const wf_sched_requirement *r = &in->reqs[i];
		wf__sc_req *o = &out->reqs[i];
		o->key = wf__sc_intern(&s->strs, r->key);
		o->op = (uint8_t)r->op;
		o->field = r->field;
		o->nvals = (uint32_t)r->nvalues;
		o->vals = wf_xmalloc((r->nvalues ? r->nvalues : 1) * sizeof(uint32_t));
		for (size_t v = 0; v < r->nvalues; v++)
			o->vals[v] = wf__sc_intern(&s->strs, r->values[v]);
		qsort(o->vals, o->nvals, sizeof(uint32_t), cmp_u32);
		if (o->op == WF_SCHED_OP_GT || o->op == WF_SCHED_OP_LT)
			wf__sc_parse_i64(r->values[0], &o->num);
		if (o->field || wf__sc_is_per_node_key(s, o->key))
			*per_node = true;
		wf__sc_sig_u32(g, o->key | (o->field ? 0x80000000u : 0));
		wf__sc_sig_u32(g, o->op);
		wf__sc_sig_u32(g, o->nvals);
		for (uint32_t v = 0; v < o->nvals; v++)
			wf__sc_sig_u32(g, o->vals[v]);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void aterm_build(wf_sched *s, const wf_sched_pod_term *in, wf__sc_aterm *out, wf__sc_sig *g)
{
	out->topo = wf__sc_intern(&s->strs, in->topology_key);
	out->weight = in->weight;
	out->nothing = in->match_nothing;
	out->all_ns = in->all_namespaces;
	wf__sc_sig_u32(g, out->topo);
	wf__sc_sig_u32(g, (uint32_t)out->weight);
	wf__sc_sig_u32(g, (uint32_t)out->nothing << 1 | out->all_ns);
	wf_sched_term sel = {.reqs = in->selector, .nreqs = in->nselector};
	bool per_node = false; /* pod labels, not node labels: no bearing on classes */
	wf__sc_term t;
	term_build(s, &sel, &t, g, &per_node);
	out->reqs = t.reqs;
	out->nreqs = t.nreqs;
	out->nns = out->all_ns ? 0 : (uint32_t)in->nnamespaces;
	out->ns = wf_xcalloc(out->nns ? out->nns : 1, sizeof(char *));
	for (uint32_t i = 0; i < out->nns; i++)
		out->ns[i] = wf_xstrdup(in->namespaces[i]);
	qsort(out->ns, out->nns, sizeof(char *), cmp_str);
	wf__sc_sig_u32(g, out->nns);
	for (uint32_t i = 0; i < out->nns; i++)
		wf__sc_sig_u32(g, wf__sc_intern(&s->strs, out->ns[i]));
}

static void aterm_free(wf__sc_aterm *t)
{
	for (uint32_t i = 0; i < t->nreqs; i++)
		free(t->reqs[i].vals);
	free(t->reqs);
	for (uint32_t i = 0; i < t->nns; i++)
		free(t->ns[i]);
	free(t->ns);
}

static uint32_t profile_naterms(const wf__sc_profile *pr)
{
	return pr->naff + pr->nanti + pr->npaff + pr->npanti;
}

static void term_free(wf__sc_term *t)
{
	for (uint32_t i = 0; i < t->nreqs; i++)
		free(t->reqs[i].vals);
	free(t->reqs);
}

static void profile_destroy(wf__sc_profile *pr)
{
	for (uint32_t i = 0; i < pr->nterms; i++)
		term_free(&pr->terms[i]);
	for (uint32_t i = 0; i < pr->npref; i++)
		term_free(&pr->pref[i].term);
	for (uint32_t i = 0; i < profile_naterms(pr); i++)
		aterm_free(&pr->aterms[i]);
	free(pr->aterms);
	free(pr->terms);
	free(pr->pref);
	free(pr->sel);
	free(pr->tols);
	free(pr->names);
	free(pr->cache);
	free(pr->sig);
	free(pr);
}

void wf__sc_profile_unref(wf_sched *s, wf__sc_profile *pr)
{
	if (!pr || --pr->refs)
		return;
	s->cache_entries -= pr->ncache;
	wf__sc_hmap_del(&s->profmap, pr->sig, pr->siglen);
	s->profiles[pr->id] = NULL;
	wf__sc_ids_push(&s->prof_free, pr->id);
	profile_destroy(pr);
}

/* Build (or find) the profile of a validated spec; takes a reference. */
static wf__sc_profile *profile_get(wf_sched *s, const wf_sched_pod_spec *sp)
{
	wf__sc_profile *pr = wf_xcalloc(1, sizeof(*pr));
	wf__sc_sig g = {0};
	bool per_node = false;

	pr->nsel = (uint32_t)sp->nnode_selector;
	pr->sel = wf_xmalloc((pr->nsel ? pr->nsel : 1) * sizeof(*pr->sel));
	for (uint32_t i = 0; i < pr->nsel; i++) {
		pr->sel[i].k = wf__sc_intern(&s->strs, sp->node_selector[i].key);
		pr->sel[i].v = wf__sc_intern(&s->strs, sp->node_selector[i].value);
		if (wf__sc_is_per_node_key(s, pr->sel[i].k))
			per_node = true;
	}
	wf__sc_sig_u32(&g, pr->nsel);
	for (uint32_t i = 0; i < pr->nsel; i++) {
		wf__sc_sig_u32(&g, pr->sel[i].k);
		wf__sc_sig_u32(&g, pr->sel[i].v);
	}

	pr->has_required = sp->has_required;
	pr->nterms = (uint32_t)sp->nrequired;
	pr->terms = wf_xcalloc(pr->nterms ? pr->nterms : 1, sizeof(*pr->terms));
	wf__sc_sig_u32(&g, pr->has_required ? pr->nterms + 1 : 0);
	for (uint32_t i = 0; i < pr->nterms; i++)
		term_build(s, &sp->required[i], &pr->terms[i], &g, &per_node);

	pr->npref = (uint32_t)sp->npreferred;
	pr->pref = wf_xcalloc(pr->npref ? pr->npref : 1, sizeof(*pr->pref));
	wf__sc_sig_u32(&g, pr->npref);
	for (uint32_t i = 0; i < pr->npref; i++) {
		pr->pref[i].weight = sp->preferred[i].weight;
		wf__sc_sig_u32(&g, (uint32_t)pr->pref[i].weight);
		term_build(s, &sp->preferred[i].term, &pr->pref[i].term, &g, &per_node);
	}

	pr->ntols = (uint32_t)sp->ntolerations;
	pr->tols = wf_xcalloc(pr->ntols ? pr->ntols : 1, sizeof(*pr->tols));
	wf__sc_sig_u32(&g, pr->ntols);
	for (uint32_t i = 0; i < pr->ntols; i++) {
		const wf_sched_toleration *t = &sp->tolerations[i];
		wf__sc_tol *o = &pr->tols[i];
		o->k = wf__sc_intern(&s->strs, t->key);
		o->v = t->op == WF_SCHED_TOL_EXISTS ? 0 : wf__sc_intern(&s->strs, t->value);
		o->op = (uint8_t)t->op;
		o->effect = (uint8_t)t->effect;
		wf__sc_sig_u32(&g, o->k);
		wf__sc_sig_u32(&g, o->v);
		wf__sc_sig_u32(&g, (uint32_t)o->op << 8 | o->effect);
	}
	pr->naff = (uint32_t)sp->naffinity;
	pr->nanti = (uint32_t)sp->nanti_affinity;
	pr->npaff = (uint32_t)sp->npref_affinity;
	pr->npanti = (uint32_t)sp->npref_anti_affinity;
	uint32_t nat = profile_naterms(pr);
	pr->aterms = wf_xcalloc(nat ? nat : 1, sizeof(*pr->aterms));
	const struct {
		const wf_sched_pod_term *v;
		uint32_t n;
	} lists[] = {{sp->affinity, pr->naff},
		     {sp->anti_affinity, pr->nanti},
		     {sp->pref_affinity, pr->npaff},
		     {sp->pref_anti_affinity, pr->npanti}};
	uint32_t at = 0;
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
		wf__sc_sig_u32(&g, lists[l].n);
		for (uint32_t i = 0; i < lists[l].n; i++)
			aterm_build(s, &lists[l].v[i], &pr->aterms[at++], &g);
	}
	/* Preferred inter-pod terms score nodes one by one: no class shortcut. */
	pr->per_node = per_node || pr->npaff || pr->npanti;

	uint32_t id;
	if (wf__sc_hmap_get(&s->profmap, g.p, g.len, &id)) {
		free(g.p);
		pr->sig = NULL;
		profile_destroy(pr);
		pr = s->profiles[id];
		pr->refs++;
		return pr;
	}

	/* Node names pinned by every required term (matchFields In). */
	if (pr->has_required && pr->nterms) {
		bool all = true;
		for (uint32_t i = 0; i < pr->nterms && all; i++) {
			bool pinned = false;
			for (uint32_t j = 0; j < pr->terms[i].nreqs; j++) {
				const wf__sc_req *r = &pr->terms[i].reqs[j];
				if (r->field && r->op == WF_SCHED_OP_IN) {
					pinned = true;
					pr->names = wf_xrealloc(pr->names, (pr->nnames + r->nvals) *
									       sizeof(uint32_t));
					memcpy(pr->names + pr->nnames, r->vals,
					       r->nvals * sizeof(uint32_t));
					pr->nnames += r->nvals;
				}
			}
			all = pinned;
		}
		pr->names_only = all;
		if (pr->names_only) {
			qsort(pr->names, pr->nnames, sizeof(uint32_t), cmp_u32);
			uint32_t o = 0;
			for (uint32_t i = 0; i < pr->nnames; i++)
				if (!o || pr->names[o - 1] != pr->names[i])
					pr->names[o++] = pr->names[i];
			pr->nnames = o;
		}
	}

	if (!wf__sc_ids_pop(&s->prof_free, &id)) {
		s->profiles = wf__sc_grow(s->profiles, &s->profiles_cap, s->nprofiles + 1,
					  sizeof(*s->profiles), 16);
		id = s->nprofiles++;
	}
	s->profiles[id] = pr;
	pr->id = id;
	pr->refs = 1;
	pr->sig = g.p;
	pr->siglen = (uint32_t)g.len;
	wf__sc_hmap_put(&s->profmap, pr->sig, pr->siglen, id);
	return pr;
}

void wf__sc_profiles_free(wf_sched *s)
{
	for (uint32_t i = 0; i < s->nprofiles; i++)
		if (s->profiles[i])
			profile_destroy(s->profiles[i]);
	free(s->profiles);
	free(s->prof_free.v);
	wf__sc_hmap_free(&s->profmap);
}

/* Only pending pods are scheduled: a profile without any may lose its cache
 * (wf__sc_profiles_trim). */
static void prof_pending(wf__sc_profile *pr, int d)
{
	if (!pr)
		return;
	if (d > 0)
		pr->npending++;
	else
		pr->npending--;
}

void wf__sc_profiles_trim(wf_sched *s)
{
	for (uint32_t i = 0; i < s->nprofiles; i++) {
		wf__sc_profile *pr = s->profiles[i];
		if (!pr || pr->npending || !pr->cache)
			continue;
		s->cache_entries -= pr->ncache;
		free(pr->cache);
		pr->cache = NULL;
		pr->ncache = 0;
	}
}

/* ---- node pod lists and nominations ------------------------------------------ */

/* Circular lists of pods through one of their links (nlink, llink). */
static wf__sc_link *link_of(wf__sc_pod *p, size_t off)
{
	return (wf__sc_link *)((char *)p + off);
}

static void ring_add(wf_sched *s, int32_t *head, wf__sc_pod *p, size_t off)
{
	int32_t id = (int32_t)p->id;
	wf__sc_link *l = link_of(p, off);
	if (*head < 0) {
		l->prev = l->next = id;
		*head = id;
		return;
	}
	wf__sc_link *h = link_of(s->pods[*head], off);
	wf__sc_link *t = link_of(s->pods[h->prev], off);
	l->prev = h->prev;
	l->next = *head;
	t->next = id;
	h->prev = id;
}

static void ring_del(wf_sched *s, int32_t *head, wf__sc_pod *p, size_t off)
{
	int32_t id = (int32_t)p->id;
	wf__sc_link *l = link_of(p, off);
	if (l->next == id) {
		*head = -1;
	} else {
		link_of(s->pods[l->prev], off)->next = l->next;
		link_of(s->pods[l->next], off)->prev = l->prev;
		if (*head == id)
			*head = l->next;
	}
	l->prev = l->next = -1;
}

static void node_list_add(wf_sched *s, wf__sc_node *n, wf__sc_pod *p)
{
	ring_add(s, &n->pods, p, offsetof(wf__sc_pod, nlink));
}

static void node_list_del(wf_sched *s, wf__sc_node *n, wf__sc_pod *p)
{
	ring_del(s, &n->pods, p, offsetof(wf__sc_pod, nlink));
}

void wf__sc_pod_clear_nomination(wf_sched *s, wf__sc_pod *p)
{
	if (p->nominated < 0)
		return;
	wf__sc_node *n = s->nodes[p->nominated];
	wf__sc_node_unnominate(s, n, p);
	p->nominated = -1;
	for (uint32_t i = 0; i < s->nnoms; i++) {
		if (s->noms[i].pod == p->id) {
			s->noms[i] = s->noms[--s->nnoms];
			break;
		}
	}
	/* The held capacity is free again for everyone. */
	wf__sc_q_freed(s, n);
	wf__sc_node_maybe_drop(s, n);
}

void wf__sc_pod_set_nomination(wf_sched *s, wf__sc_pod *p, wf__sc_node *n, int64_t now)
{
	if (p->nominated == (int32_t)n->id) {
		for (uint32_t i = 0; i < s->nnoms; i++)
			if (s->noms[i].pod == p->id)
				s->noms[i].at = now;
		return;
	}
	wf__sc_pod_clear_nomination(s, p);
	p->nominated = (int32_t)n->id;
	wf__sc_node_nominate(s, n, p);
	s->noms = wf__sc_grow(s->noms, &s->noms_cap, s->nnoms + 1, sizeof(*s->noms), 16);
	s->noms[s->nnoms++] = (struct wf__sc_nom){.pod = p->id, .at = now};
}

/* ---- state changes ---------------------------------------------------------- */

static void count_state(wf_sched *s, uint8_t st, int d)
{
	size_t *c = st == WF__P_ASSUMED ? &s->nassumed : st == WF__P_BOUND ? &s->nbound : NULL;
	if (!c)
		return;
	if (d > 0)
		(*c)++;
	else
		(*c)--;
}

/* Assigned pods per priority (s->prios, sorted). */
static void prio_count(wf_sched *s, int32_t prio, int d)
{
	uint32_t i = 0;
	while (i < s->nprios && s->prios[i].prio < prio)
		i++;
	if (i < s->nprios && s->prios[i].prio == prio) {
		if (d > 0) {
			s->prios[i].n++;
		} else if (--s->prios[i].n == 0) {
			memmove(s->prios + i, s->prios + i + 1,
				(s->nprios - i - 1) * sizeof(*s->prios));
			s->nprios--;
		}
		return;
	}
	if (d < 0)
		return;
	s->prios = wf__sc_grow(s->prios, &s->prios_cap, s->nprios + 1, sizeof(*s->prios), 8);
	memmove(s->prios + i + 1, s->prios + i, (s->nprios - i) * sizeof(*s->prios));
	s->prios[i].prio = prio;
	s->prios[i].n = 1;
	s->nprios++;
}

int32_t wf__sc_min_assigned_prio(const wf_sched *s)
{
	return s->nprios ? s->prios[0].prio : INT32_MAX;
}

/* A bound pod queues no more: its entry goes (once out of the queues). */
static void pod_drop_q(wf__sc_pod *p)
{
	if (p->q && p->q->where == WF__Q_NONE) {
		free(p->q);
		p->q = NULL;
	}
}

/* Inter-pod bookkeeping when pod p is placed (d = +1) or leaves its node:
 * its label set's list of placed pods, the placed pods with required
 * anti-affinity, and the re-queue of pods waiting on inter-pod rules. */
static void placed_changed(wf_sched *s, wf__sc_pod *p, int d)
{
	if (s->naff_pods)
		s->pods_moved = true;
	if (d > 0)
		ring_add(s, &p->labels->placed, p, offsetof(wf__sc_pod, llink));
	else
		ring_del(s, &p->labels->placed, p, offsetof(wf__sc_pod, llink));
	if (p->prof && p->prof->nanti) {
		if (d > 0)
			wf__sc_hmap_put(&s->anti_placed, (const char *)&p->id, sizeof p->id, p->id);
		else
			wf__sc_hmap_del(&s->anti_placed, (const char *)&p->id, sizeof p->id);
	}
}

/* Whether pods with this profile can fail for inter-pod reasons. */
static bool prof_has_required_terms(const wf__sc_profile *pr)
{
	return pr && (pr->naff || pr->nanti);
}

/* Pod p takes profile pr (NULL: none), holding the reference given. */
static void pod_set_profile(wf_sched *s, wf__sc_pod *p, wf__sc_profile *pr)
{
	if (prof_has_required_terms(p->prof))
		s->naff_pods--;
	if (prof_has_required_terms(pr))
		s->naff_pods++;
	p->prof = pr;
}

static void lset_unref(wf_sched *s, wf__sc_lset *l)
{
	if (!l || l == s->no_labels || --l->refs)
		return;
	wf__sc_hmap_del(&s->lsetmap, l->sig, l->siglen);
	s->lsets[l->id] = NULL;
	wf__sc_ids_push(&s->lset_free, l->id);
	free(l);
}

const char *wf__sc_lset_value(const wf__sc_lset *l, uint32_t key)
{
	uint32_t lo = 0, hi = l->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (l->lab[mid].k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->lab[lo].k == key ? l->lab[lo].v : NULL;
}

static int cmp_label(const void *a, const void *b)
{
	const struct wf__sc_label *x = a, *y = b;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* A new set of labels in[0..n), its key built; not yet in s->lsetmap. */
static wf__sc_lset *lset_build(wf_sched *s, const wf_sched_label *in, size_t n)
{
	struct wf__sc_label *tmp = wf_xmalloc(n * sizeof(*tmp));
	size_t siglen = 0;
	for (size_t i = 0; i < n; i++) {
		tmp[i].k = wf__sc_intern(&s->strs, in[i].key);
		tmp[i].v = in[i].value;
		siglen += sizeof(uint32_t) + strlen(in[i].value) + 1;
	}
	qsort(tmp, n, sizeof(*tmp), cmp_label);
	wf__sc_lset *l = wf_xmalloc(sizeof(*l) + n * sizeof(l->lab[0]) + siglen);
	l->n = (uint32_t)n;
	l->refs = 1;
	l->placed = -1;
	l->sig = (char *)(l->lab + n);
	l->siglen = (uint32_t)siglen;
	char *w = l->sig;
	for (size_t i = 0; i < n; i++) {
		memcpy(w, &tmp[i].k, sizeof(uint32_t));
		w += sizeof(uint32_t);
		size_t len = strlen(tmp[i].v) + 1;
		memcpy(w, tmp[i].v, len);
		l->lab[i] = (struct wf__sc_label){.k = tmp[i].k, .v = w};
		w += len;
	}
	free(tmp);
	return l;
}

/* The pod takes the interned set of its labels (s->no_labels when none).
 * It is not placed now: its old set's list does not hold it. */
static void store_labels(wf_sched *s, wf__sc_pod *p, const wf_sched_pod_spec *sp)
{
	wf__sc_lset *l;
	uint32_t id;
	if (!sp->nlabels) {
		if (!s->no_labels) {
			s->no_labels = wf_xcalloc(1, sizeof(*l));
			s->no_labels->id = UINT32_MAX; /* not in s->lsets */
			s->no_labels->placed = -1;
		}
		l = s->no_labels;
	} else {
		l = lset_build(s, sp->labels, sp->nlabels);
		if (wf__sc_hmap_get(&s->lsetmap, l->sig, l->siglen, &id)) {
			free(l);
			l = s->lsets[id];
			l->refs++;
		} else {
			if (!wf__sc_ids_pop(&s->lset_free, &id)) {
				s->lsets = wf__sc_grow(s->lsets, &s->lsets_cap, s->nlsets + 1,
						       sizeof(*s->lsets), 64);
				id = s->nlsets++;
			}
			l->id = id;
			s->lsets[id] = l;
			wf__sc_hmap_put(&s->lsetmap, l->sig, l->siglen, id);
		}
	}
	lset_unref(s, p->labels);
	p->labels = l;
}

void wf__sc_pod_assign(wf_sched *s, wf__sc_pod *p, wf__sc_node *n, uint8_t state)
{
	uint8_t old = p->state;
	p->node = n;
	if (old == WF__P_PENDING)
		prof_pending(p->prof, -1);
	if (!n->min_dirty && p->prio < n->min_prio)
		n->min_prio = p->prio;
	prio_count(s, p->prio, +1);
	node_list_add(s, n, p);
	wf__sc_node_account(s, n, p, +1);
	placed_changed(s, p, +1);
	p->state = state;
	count_state(s, old, -1);
	count_state(s, state, +1);
	if (p->gang)
		wf__sc_gang_member_state(s, p, old);
	if (state == WF__P_BOUND)
		pod_drop_q(p);
}

/* Take the pod off its node, but never drop the node (a placeholder left
 * empty): the caller may put the pod back. */
static void unassign_keep(wf_sched *s, wf__sc_pod *p)
{
	wf__sc_node *n = p->node;
	uint8_t old = p->state;
	if (!n)
		return;
	if (p->prio == n->min_prio)
		n->min_dirty = true;
	prio_count(s, p->prio, -1);
	wf__sc_node_account(s, n, p, -1);
	node_list_del(s, n, p);
	placed_changed(s, p, -1);
	p->node = NULL;
	p->state = WF__P_PENDING;
	prof_pending(p->prof, +1);
	count_state(s, old, -1);
	if (p->gang)
		wf__sc_gang_member_state(s, p, old);
}

void wf__sc_pod_unassign(wf_sched *s, wf__sc_pod *p)
{
	wf__sc_node *n = p->node;
	if (!n)
		return;
	unassign_keep(s, p);
	wf__sc_node_maybe_drop(s, n);
}

static int32_t pod_unit(const wf__sc_pod *p)
{
	return (int32_t)(p->id * 2);
}

/* Put a pending pod (or its gang) where it can be tried again soon. */
static void pod_enqueue(wf_sched *s, wf__sc_pod *p)
{
	if (p->gang) {
		wf__sc_gang_requeue(s, p->gang);
		return;
	}
	if (wf__sc_pod_where(p) == WF__Q_NONE)
		wf__sc_q_add_active(s, pod_unit(p));
	else
		wf__sc_q_move_unit(s, pod_unit(p));
}

/* ---- upsert / remove -------------------------------------------------------- */

static int check_spec(const wf_sched_pod_spec *sp, wf_err *err)
{
	if (!sp->ns || !*sp->ns || !sp->name || !*sp->name)
		return wf_err_set(err, WF_EINVAL, "pod: namespace and name are required");
	if (strchr(sp->ns, '/'))
		return wf_err_set(err, WF_EINVAL, "pod %s/%s: invalid namespace", sp->ns, sp->name);
	if (sp->nrequests && !sp->requests)
		return wf_err_set(err, WF_EINVAL, "pod %s/%s: requests missing", sp->ns, sp->name);
	for (size_t i = 0; i < sp->nrequests; i++) {
		const wf_sched_resource *r = &sp->requests[i];
		if (!r->name || !*r->name)
			return wf_err_set(err, WF_EINVAL, "pod %s/%s: request %zu has no name",
					  sp->ns, sp->name, i);
		if (r->amount < 0 || r->amount > WF__SC_AMOUNT_MAX)
			return wf_err_set(err, WF_EINVAL,
					  "pod %s/%s: request %s out of range: %lld", sp->ns,
					  sp->name, r->name, (long long)r->amount);
	}
	if (sp->bound && (!sp->node_name || !*sp->node_name))
		return wf_err_set(err, WF_EINVAL, "pod %s/%s: bound without a node name", sp->ns,
				  sp->name);
	if (sp->group && (!*sp->group || strchr(sp->group, '/')))
		return wf_err_set(err, WF_EINVAL, "pod %s/%s: invalid group name", sp->ns,
				  sp->name);
	int rc = check_constraints(sp, err);
	if (rc < 0) {
		char msg[sizeof(err->msg)];
		if (err) {
			snprintf(msg, sizeof(msg), "pod %s/%s: %s", sp->ns, sp->name, err->msg);
			memcpy(err->msg, msg, sizeof(msg));
		}
	}
	return rc;
}

/* A pod's requests while they are read from its spec. */
typedef struct pod_reqs {
	uint16_t n;
	uint8_t rid[WF__SC_NRES_MAX];
	int64_t rval[WF__SC_NRES_MAX];
} pod_reqs;

static int read_requests(wf_sched *s, const wf_sched_pod_spec *sp, pod_reqs *r, wf_err *err)
{
	r->n = 0;
	for (size_t i = 0; i < sp->nrequests; i++) {
		uint32_t id;
		int rc = wf__sc_res_intern(s, sp->requests[i].name, &id, err);
		if (rc < 0)
			return rc;
		if (id == WF__R_PODS || sp->requests[i].amount == 0)
			continue;
		uint16_t j = 0;
		while (j < r->n && r->rid[j] != id)
			j++;
		if (j == r->n) {
			r->rid[r->n] = (uint8_t)id;
			r->rval[r->n++] = 0;
		}
		r->rval[j] += sp->requests[i].amount;
		if (r->rval[j] > WF__SC_AMOUNT_MAX)
			return wf_err_set(err, WF_EINVAL, "pod %s/%s: request %s out of range",
					  sp->ns, sp->name, sp->requests[i].name);
	}
	return 0;
}

static void free_requests(wf__sc_pod *p)
{
	if (p->rid != p->rid_in)
		free(p->rid);
	if (p->rval != p->rval_in)
		free(p->rval);
}

/* Requests live in the pod itself when they are few (most pods ask for
 * cpu, memory and maybe one accelerator), else in arrays of their own. */
static void store_requests(wf__sc_pod *p, const pod_reqs *r)
{
	free_requests(p);
	p->nreq = r->n;
	if (r->n <= WF__SC_REQ_INLINE) {
		p->rid = p->rid_in;
		p->rval = p->rval_in;
	} else {
		p->rid = wf_xmalloc(r->n);
		p->rval = wf_xmalloc(r->n * sizeof(int64_t));
	}
	memcpy(p->rid, r->rid, r->n);
	memcpy(p->rval, r->rval, r->n * sizeof(int64_t));
}

wf__sc_qent *wf__sc_pod_q(wf__sc_pod *p)
{
	if (!p->q) {
		p->q = wf_xcalloc(1, sizeof *p->q);
		p->q->pos = -1;
		p->q->uprev = p->q->unext = -1;
		p->q->prio = p->prio;
		p->q->ts = p->created_ms;
	}
	return p->q;
}

uint32_t wf__sc_pod_attempts(const wf__sc_pod *p)
{
	if (p->gang)
		return p->gang->q.attempts;
	return p->q ? p->q->attempts : 0;
}

static void pod_free(wf__sc_pod *p)
{
	free_requests(p);
	free(p->q);
	free(p); /* the key with it */
}

static void pod_destroy(wf_sched *s, wf__sc_pod *p)
{
	lset_unref(s, p->labels);
	wf__sc_hmap_del(&s->podmap, p->key, strlen(p->key));
	s->pods[p->id] = NULL;
	wf__sc_ids_push(&s->pod_free, p->id);
	s->npods_live--;
	pod_free(p);
}

static int pod_remove(wf_sched *s, wf__sc_pod *p)
{
	wf__sc_node *n = p->node;
	wf__sc_pod_clear_nomination(s, p);
	if (n)
		unassign_keep(s, p);
	if (p->gang)
		wf__sc_gang_del_member(s, p);
	else if (wf__sc_pod_where(p) != WF__Q_NONE)
		wf__sc_q_remove(s, pod_unit(p));
	prof_pending(p->prof, -1);
	wf__sc_profile *old = p->prof;
	pod_set_profile(s, p, NULL);
	wf__sc_profile_unref(s, old);
	pod_destroy(s, p);
	if (n) {
		wf__sc_q_freed(s, n);
		wf__sc_node_maybe_drop(s, n);
	}
	return 0;
}

int wf_sched_pod_remove(wf_sched *s, const char *ns, const char *name, wf_err *err)
{
	wf__sc_pod *p = s ? wf__sc_pod_get(s, ns, name) : NULL;
	if (!p)
		return wf_err_set(err, WF_ENOENT, "pod %s/%s not found", ns ? ns : "",
				  name ? name : "");
	return pod_remove(s, p);
}

static bool same_requests(const wf__sc_pod *p, const pod_reqs *r)
{
	return p->nreq == r->n &&
	       (r->n == 0 || (memcmp(p->rid, r->rid, r->n) == 0 &&
			      memcmp(p->rval, r->rval, r->n * sizeof(int64_t)) == 0));
}

int wf_sched_pod_upsert(wf_sched *s, const wf_sched_pod_spec *sp, wf_err *err)
{
	if (!s || !sp)
		return wf_err_set(err, WF_EINVAL, "pod: no spec");
	int rc = check_spec(sp, err);
	if (rc < 0)
		return rc;
	wf__sc_pod *p = wf__sc_pod_get(s, sp->ns, sp->name);
	if (sp->terminal)
		return p ? pod_remove(s, p) : 0;

	/* Requests read first: interning may fail. */
	pod_reqs reqs;
	rc = read_requests(s, sp, &reqs, err);
	if (rc < 0)
		return rc;

	bool created = false;
	if (!p) {
		size_t nslen = strlen(sp->ns), namelen = strlen(sp->name);
		p = wf_xcalloc(1, sizeof(*p) + nslen + namelen + 2);
		uint32_t id;
		if (!wf__sc_ids_pop(&s->pod_free, &id)) {
			s->pods =
			    wf__sc_grow(s->pods, &s->pods_cap, s->npods + 1, sizeof(*s->pods), 256);
			id = s->npods++;
		}
		s->pods[id] = p;
		p->id = id;
		pod_key_write(p->key, sp->ns, nslen, sp->name, namelen);
		p->nslen = (uint32_t)nslen;
		p->nominated = -1;
		p->nlink.prev = p->nlink.next = -1;
		p->llink.prev = p->llink.next = -1;
		p->glink.prev = p->glink.next = -1;
		p->state = WF__P_PENDING;
		wf__sc_hmap_put(&s->podmap, p->key, strlen(p->key), id);
		s->npods_live++;
		created = true;
	}

	/* Release the old reservation while fields change. */
	wf__sc_node *old_node = p->node;
	uint8_t old_state = p->state;
	bool req_changed = !same_requests(p, &reqs);
	if (old_node)
		unassign_keep(s, p);
	store_requests(p, &reqs);
	store_labels(s, p, sp);

	bool constraints_changed = true;
	wf__sc_profile *pr = profile_get(s, sp);
	if (p->prof == pr) {
		constraints_changed = false;
		wf__sc_profile_unref(s, pr);
	} else {
		/* The pod is pending here (any reservation was released above). */
		prof_pending(p->prof, -1);
		wf__sc_profile *old = p->prof;
		pod_set_profile(s, p, pr);
		wf__sc_profile_unref(s, old);
		prof_pending(pr, +1);
	}
	bool prio_changed = !created && p->prio != sp->priority;
	p->prio = sp->priority;
	p->created_ms = sp->created_ms;
	if (p->q) {
		p->q->prio = p->prio;
		p->q->ts = p->created_ms;
	}
	p->preempt_never = sp->preempt_never;
	uint32_t want = 0;
	if (!sp->bound && sp->node_name && *sp->node_name)
		want = wf__sc_intern(&s->strs, sp->node_name);
	if (want != p->want_node)
		constraints_changed = true;
	p->want_node = want;

	/* Group membership. */
	const char *gname = sp->group && *sp->group ? sp->group : NULL;
	wf__sc_gang *g = gname ? wf__sc_gang_ref(s, sp->ns, strlen(sp->ns), gname) : NULL;
	if (p->gang != g) {
		if (p->gang)
			wf__sc_gang_del_member(s, p);
		else if (wf__sc_pod_where(p) != WF__Q_NONE)
			wf__sc_q_remove(s, pod_unit(p));
		if (g)
			wf__sc_gang_add_member(s, g, p);
	}

	/* Where the pod is now. */
	if (sp->bound) {
		wf__sc_node *n = wf__sc_node_placeholder(s, sp->node_name);
		wf__sc_pod_clear_nomination(s, p);
		if (!p->gang && wf__sc_pod_where(p) != WF__Q_NONE)
			wf__sc_q_remove(s, pod_unit(p));
		wf__sc_pod_assign(s, p, n, WF__P_BOUND);
		if (p->gang)
			wf__sc_gang_requeue(s, p->gang);
	} else if (old_state == WF__P_ASSUMED && old_node) {
		/* Our binding is in flight: keep the reservation. */
		wf__sc_pod_assign(s, p, old_node, WF__P_ASSUMED);
	} else {
		if (sp->nominated_node && *sp->nominated_node && p->nominated < 0) {
			/* Restore a hold after a restart of the driver. */
			wf__sc_node *n = wf__sc_node_get(s, sp->nominated_node);
			if (n && n->present)
				wf__sc_pod_set_nomination(s, p, n, s->now);
		}
		if (created || constraints_changed || req_changed || prio_changed ||
		    old_state != WF__P_PENDING)
			pod_enqueue(s, p);
		else if (p->gang)
			wf__sc_gang_requeue(s, p->gang);
		if (wf__sc_pod_where(p) == WF__Q_ACTIVE && !p->gang)
			wf__sc_q_fix(s, pod_unit(p));
	}

	/* Capacity given back (moved, shrunk or unbound) may help others. */
	if (old_node && (p->node != old_node || req_changed))
		wf__sc_q_freed(s, old_node);
	if (old_node && p->node != old_node)
		wf__sc_node_maybe_drop(s, old_node);
	return 0;
}

/* ---- driver confirmations ------------------------------------------------------ */

int wf_sched_bound(wf_sched *s, const char *ns, const char *name, wf_err *err)
{
	wf__sc_pod *p = s ? wf__sc_pod_get(s, ns, name) : NULL;
	if (!p)
		return wf_err_set(err, WF_ENOENT, "pod %s/%s not found", ns ? ns : "",
				  name ? name : "");
	if (p->state == WF__P_BOUND)
		return 0;
	if (p->state != WF__P_ASSUMED)
		return wf_err_set(err, WF_EINVAL, "pod %s/%s is not assumed", ns, name);
	p->state = WF__P_BOUND;
	pod_drop_q(p);
	count_state(s, WF__P_ASSUMED, -1);
	count_state(s, WF__P_BOUND, +1);
	if (p->gang)
		wf__sc_gang_member_state(s, p, WF__P_ASSUMED);
	return 0;
}

int wf_sched_bind_failed(wf_sched *s, const char *ns, const char *name, int64_t now_ms, wf_err *err)
{
	wf__sc_pod *p = s ? wf__sc_pod_get(s, ns, name) : NULL;
	if (!p)
		return wf_err_set(err, WF_ENOENT, "pod %s/%s not found", ns ? ns : "",
				  name ? name : "");
	if (p->state != WF__P_ASSUMED)
		return wf_err_set(err, WF_EINVAL, "pod %s/%s is not assumed", ns, name);
	wf__sc_node *n = p->node;
	unassign_keep(s, p);
	if (p->gang) {
		wf__sc_gang_requeue(s, p->gang);
		wf__sc_q_backoff(s, (int32_t)(p->gang->id * 2 + 1), now_ms);
	} else {
		wf__sc_q_backoff(s, pod_unit(p), now_ms);
	}
	wf__sc_q_freed(s, n);
	wf__sc_node_maybe_drop(s, n);
	return 0;
}

/* ---- inspection ---------------------------------------------------------------- */

bool wf_sched_pod_info_get(const wf_sched *s, const char *ns, const char *name,
			   wf_sched_pod_info *out)
{
	memset(out, 0, sizeof(*out));
	const wf__sc_pod *p = s ? wf__sc_pod_get(s, ns, name) : NULL;
	if (!p)
		return false;
	out->terminating = p->terminating;
	out->node = p->node ? p->node->name : NULL;
	out->nominated_node = p->nominated >= 0 ? s->nodes[p->nominated]->name : NULL;
	out->attempts = wf__sc_pod_attempts(p);
	switch (p->state) {
	case WF__P_ASSUMED:
		out->state = WF_SCHED_POD_ASSUMED;
		return true;
	case WF__P_BOUND:
		out->state = WF_SCHED_POD_BOUND;
		return true;
	default:
		break;
	}
	if (p->gang && (p->gang->q.gang_wait || !wf__sc_gang_quorum(p->gang))) {
		out->state = WF_SCHED_POD_GANG_WAIT;
		return true;
	}
	switch (p->gang ? p->gang->q.where : wf__sc_pod_where(p)) {
	case WF__Q_ACTIVE:
		out->state = WF_SCHED_POD_ACTIVE;
		break;
	case WF__Q_BACKOFF:
		out->state = WF_SCHED_POD_BACKOFF;
		break;
	default:
		out->state = WF_SCHED_POD_UNSCHEDULABLE;
		break;
	}
	return true;
}

void wf__sc_pods_free(wf_sched *s)
{
	for (uint32_t i = 0; i < s->npods; i++) {
		wf__sc_pod *p = s->pods[i];
		if (!p)
			continue;
		pod_free(p);
	}
	free(s->pods);
	free(s->pod_free.v);
	for (uint32_t i = 0; i < s->nlsets; i++)
		free(s->lsets[i]);
	free(s->lsets);
	free(s->lset_free.v);
	free(s->no_labels);
	wf__sc_hmap_free(&s->lsetmap);
	wf__sc_hmap_free(&s->anti_placed);
	free(s->noms);
	free(s->prios);
	wf__sc_hmap_free(&s->podmap);
}
