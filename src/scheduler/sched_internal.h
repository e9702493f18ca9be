/*
 * sched_internal.h - the scheduler library's private types, shared by its
 * .c files only. Internal symbols carry the prefix wf__sc_.
 *
 * Ownership. struct wf_sched owns every node, class, profile, pod and gang
 * (each a heap object in a slot table, found through a hash map). Strings
 * from labels, taints and names are interned once in `strs` (id 0 is "").
 *
 * Invariants kept by nodes.c and pods.c:
 *  - node->used[r] is the sum of requests of pods assumed or bound there
 *    (used[WF__R_PODS] their count), always consistent with the indexes;
 *  - a present node is in exactly one class (same labels minus per-node
 *    keys, taints, unschedulable, readiness and set of extended resources),
 *    and in that class's CPU index and one GPU bucket per extended resource;
 *  - a pending pod that is not in a gang is in exactly one queue; a gang is
 *    queued as one unit while it has pending members.
 */
#ifndef WF_SCHED_INTERNAL_H
#define WF_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* ---- small containers (util.c) --------------------------------------------- */

/* Bump allocator: per-cycle scratch, freed at once with wf__sc_arena_reset. */
typedef struct wf__sc_ablk wf__sc_ablk;
typedef struct wf__sc_arena {
	wf__sc_ablk *head;
} wf__sc_arena;

void *wf__sc_arena_alloc(wf__sc_arena *a, size_t n);
void *wf__sc_arena_zalloc(wf__sc_arena *a, size_t n);
char *wf__sc_arena_strndup(wf__sc_arena *a, const char *s, size_t n);
char *wf__sc_arena_strdup(wf__sc_arena *a, const char *s);
/* Drop everything but the first block (kept for the next cycle). */
void wf__sc_arena_reset(wf__sc_arena *a);
void wf__sc_arena_free(wf__sc_arena *a);
/* v, an arena array of *cap elements of elem bytes with n in use, with room
 * for one more: copied into a twice larger one (first when empty) when full. */
void *wf__sc_arena_grow(wf__sc_arena *a, void *v, size_t n, size_t *cap, size_t elem, size_t first);

/* v, an array of *cap elements of elem bytes, with room for need of them
 * (the capacity doubles, from first); *cap is updated. */
void *wf__sc_grow(void *v, uint32_t *cap, uint32_t need, size_t elem, uint32_t first);

/* Ids of the freed slots of a table of objects by id (nodes, classes,
 * profiles, pods, gangs, label sets), reused before the table grows. */
typedef struct wf__sc_ids {
	uint32_t *v;
	uint32_t n, cap;
} wf__sc_ids;

void wf__sc_ids_push(wf__sc_ids *f, uint32_t id);
/* A freed id into *id; false when there is none. */
bool wf__sc_ids_pop(wf__sc_ids *f, uint32_t *id);

/* Open-addressing map from a byte string to a uint32. Keys are borrowed:
 * the caller keeps them alive while they are in the map. */
typedef struct wf__sc_hent {
	const char *key;
	uint32_t len;
	uint32_t hash;
	uint32_t val;
} wf__sc_hent;

typedef struct wf__sc_hmap {
	wf__sc_hent *e;
	uint32_t cap; /* power of two, or 0 */
	uint32_t n;
} wf__sc_hmap;

uint32_t wf__sc_hash(const void *p, size_t len);
bool wf__sc_hmap_get(const wf__sc_hmap *m, const char *key, size_t len, uint32_t *val);
void wf__sc_hmap_put(wf__sc_hmap *m, const char *key, size_t len, uint32_t val);
bool wf__sc_hmap_del(wf__sc_hmap *m, const char *key, size_t len);
void wf__sc_hmap_free(wf__sc_hmap *m);

/* String interning; ids are stable for the scheduler's life. */
typedef struct wf__sc_strtab {
	wf__sc_hmap map;
	char **s;
	uint32_t *len;
	uint32_t n, cap;
} wf__sc_strtab;

void wf__sc_strtab_init(wf__sc_strtab *t);
void wf__sc_strtab_free(wf__sc_strtab *t);
uint32_t wf__sc_intern(wf__sc_strtab *t, const char *s);
/* The id of s, or -1 when it was never interned. */
int64_t wf__sc_intern_find(const wf__sc_strtab *t, const char *s);

/* Growable byte string used to build map keys (signatures). */
typedef struct wf__sc_sig {
	char *p;
	size_t len, cap;
} wf__sc_sig;

void wf__sc_sig_u32(wf__sc_sig *g, uint32_t v);
void wf__sc_sig_i64(wf__sc_sig *g, int64_t v);

/* Parse a whole string as a decimal int64 (Gt/Lt operands). */
bool wf__sc_parse_i64(const char *s, int64_t *out);

/* ---- resources --------------------------------------------------------------- */

#define WF__SC_NRES_MAX 64
#define WF__SC_REQ_INLINE 3 /* requests a pod holds without arrays of their own */
enum {
	WF__R_CPU = 0,
	WF__R_MEM = 1,
	WF__R_PODS = 2,
	WF__R_EPH = 3,
	WF__R_FIXED = 4,
};
#define WF__SC_DEFAULT_MAX_PODS 110

typedef struct wf__sc_resdef {
	char *name;
	bool ext;   /* an extended resource (a domain-prefixed name, not kubernetes.io/) */
	bool accel; /* an accelerator: GPUs, MIG slices and the like */
} wf__sc_resdef;

/* ---- labels, taints, tolerations, node selectors ----------------------------- */

typedef struct wf__sc_kv {
	uint32_t k, v;
} wf__sc_kv;

typedef struct wf__sc_taint {
	uint32_t k, v;
	uint8_t effect; /* wf_sched_effect */
} wf__sc_taint;

typedef struct wf__sc_tol {
	uint32_t k, v;
	uint8_t op;	/* wf_sched_tol_op */
	uint8_t effect; /* wf_sched_effect, ALL for empty */
} wf__sc_tol;

typedef struct wf__sc_req {
	uint32_t key;
	uint8_t op; /* wf_sched_op */
	bool field; /* matchFields metadata.name */
	uint32_t nvals;
	uint32_t *vals; /* sorted ids */
	int64_t num;	/* Gt/Lt operand */
} wf__sc_req;

typedef struct wf__sc_term {
	wf__sc_req *reqs;
	uint32_t nreqs;
} wf__sc_term;

typedef struct wf__sc_pterm {
	int32_t weight;
	wf__sc_term term;
} wf__sc_pterm;

/* A pod (anti-)affinity term (wf_sched_pod_term), interned. */
typedef struct wf__sc_aterm {
	uint32_t topo;	  /* topologyKey */
	int32_t weight;	  /* preferred terms; 0 for required ones */
	bool nothing;	  /* no labelSelector: matches no pod */
	bool all_ns;	  /* every namespace */
	wf__sc_req *reqs; /* label selector over pod labels, AND'ed */
	uint32_t nreqs;
	char **ns; /* namespaces; none (and not all_ns): the pod's own */
	uint32_t nns;
} wf__sc_aterm;

/* ---- node classes and nodes (nodes.c) ------------------------------------- */

#define WF__SC_CPU_LEVELS 32
#define WF__SC_GPU_KEYS 64

typedef struct wf__sc_link {
	int32_t prev, next;
} wf__sc_link;

/* Free-amount buckets of one extended resource within a class:
 * head[partly][k] lists nodes with min(free, 63) == k, partly = some used. */
typedef struct wf__sc_gidx {
	int32_t head[2][WF__SC_GPU_KEYS];
	uint64_t mask[2];
} wf__sc_gidx;

typedef struct wf__sc_class {
	uint32_t id;
	uint32_t gen; /* unique per slot use: profile caches check it */
	uint32_t nnodes;
	char *sig;
	uint32_t siglen;
	wf__sc_kv *labels; /* sorted by key, per-node keys left out */
	uint32_t nlabels;
	wf__sc_taint *taints;
	uint32_t ntaints;
	bool unschedulable;
	uint8_t ready;	   /* wf_sched_ready */
	uint64_t ext_mask; /* extended resources with allocatable > 0 */
	bool accel;	   /* has an accelerator resource */
	int32_t members;   /* list head through node->mlink */
	int32_t cpu_head[WF__SC_CPU_LEVELS];
	uint32_t cpu_mask;
	wf__sc_gidx *gidx; /* one per bit of ext_mask, by rank */
	int32_t live_pos;  /* index in s->live, -1 when empty */
} wf__sc_class;

typedef struct wf__sc_node {
	uint32_t id;
	uint32_t name_id;
	const char *name; /* interned */
	bool present;	  /* false: a placeholder holding pods bound to an unknown node */
	wf__sc_class *cls;
	wf__sc_kv *own; /* per-node labels (hostname), sorted */
	uint32_t nown;
	int64_t *alloc;	    /* [s->res_cap] */
	int64_t *used;	    /* [s->res_cap] */
	int32_t pods;	    /* list head through pod->nlink: assumed and bound pods */
	int32_t *nominated; /* pods nominated here */
	uint32_t nnominated, nominated_cap;
	int32_t min_prio;  /* lowest priority of its pods (INT32_MAX: none) */
	bool min_dirty;	   /* min_prio must be recomputed */
	wf__sc_link mlink; /* class members */
	wf__sc_link clink; /* class CPU index */
	uint8_t clevel;
	wf__sc_link *glink; /* per class extended resource (rank) */
	uint8_t *gkey;
	uint32_t ngl;
	bool freed_pending; /* in s->freed: capacity freed here waits to be offered */
} wf__sc_node;

/* ---- profiles: interned pod placement constraints (pods.c) ------------------ */

/* Cached verdict of a profile's class-scoped filters and scores on a class. */
typedef struct wf__sc_pcache {
	uint32_t gen;	     /* class gen it was computed for; 0 = empty */
	uint8_t fail_plugin; /* index of the first failing filter plugin, 0xff = none */
	uint8_t code;
	uint8_t reason;
	uint32_t arg, arg2;
	int64_t score[4]; /* raw class-scoped scores, by score plugin class slot */
} wf__sc_pcache;

typedef struct wf__sc_profile {
	uint32_t id, refs;
	char *sig;
	uint32_t siglen;
	wf__sc_kv *sel; /* nodeSelector, sorted by key */
	uint32_t nsel;
	bool has_required;
	wf__sc_term *terms;
	uint32_t nterms;
	wf__sc_pterm *pref;
	uint32_t npref;
	wf__sc_tol *tols;
	uint32_t ntols;
	/* Inter-pod terms: required affinity and anti-affinity, preferred
	 * affinity and anti-affinity, in that order, in one array. */
	wf__sc_aterm *aterms;
	uint32_t naff, nanti, npaff, npanti;
	bool per_node; /* reads node names or per-node labels: no class caching */
	/* When every required term pins node names (matchFields metadata.name
	 * In), the union of those names: the only candidates. */
	uint32_t *names;
	uint32_t nnames;
	bool names_only;
	wf__sc_pcache *cache; /* indexed by class id */
	uint32_t ncache;
	uint32_t npending; /* pending pods using it */
} wf__sc_profile;

/* ---- queue entries (queue.c) ------------------------------------------------- */

enum {
	WF__Q_NONE = 0,
	WF__Q_ACTIVE,
	WF__Q_BACKOFF,
	WF__Q_UNSCHED,
};

/* Events that may make a parked unit schedulable; a unit records which of
 * them its last failure depends on. */
enum {
	WF__EV_NODE_ADD = 1u << 0,
	WF__EV_RES = 1u << 1,	      /* capacity freed or grown */
	WF__EV_LABELS = 1u << 2,      /* node labels changed */
	WF__EV_TAINTS = 1u << 3,      /* node taints changed, or readiness */
	WF__EV_SCHEDULABLE = 1u << 4, /* spec.unschedulable cleared */
	WF__EV_GANG = 1u << 5,	      /* a member or the group itself changed */
	WF__EV_PODS = 1u << 6,	      /* a pod was placed or left its node */
	WF__EV_ALL = 0xffffffffu,
};

/* A queue unit is a pod (handle 2*id) or a gang (2*id+1). */
typedef struct wf__sc_qent {
	/* Fields ordered by size: no padding (one per pod and gang). */
	int64_t ts;
	uint64_t seq;
	int64_t backoff_until;
	int64_t parked_at;
	uint64_t offered;     /* s->calls when freed capacity was last offered to it */
	int32_t pos;	      /* heap position */
	int32_t uprev, unext; /* unschedulable list (unit handles) */
	int32_t prio;
	uint32_t attempts;
	uint32_t fail_mask;
	uint8_t where;
	bool gang_wait; /* parked because the group is missing or too small */
} wf__sc_qent;

/* ---- pods and gangs (pods.c, gang.c) ---------------------------------------- */

enum {
	WF__P_PENDING = 0,
	WF__P_ASSUMED,
	WF__P_BOUND,
};

typedef struct wf__sc_gang wf__sc_gang;

/* A pod's labels, interned as a set: pods with equal labels (a Job's, a
 * Deployment's) share one. Keys are interned strings; values are not (many
 * are unique, such as a Job's uid, and interned strings live as long as
 * the scheduler): they live in the set's key and go with the set. */
typedef struct wf__sc_lset {
	uint32_t id, refs, n;
	int32_t placed; /* list head through pod->llink: its assumed and bound pods */
	char *sig;	/* per label, by key id: the id (4 bytes), the value, NUL;
			   the set's key in s->lsetmap (allocated with the set) */
	uint32_t siglen;
	struct wf__sc_label {
		uint32_t k;
		const char *v; /* in sig */
	} lab[];
} wf__sc_lset;

/* The value of label key in l, or NULL. */
const char *wf__sc_lset_value(const wf__sc_lset *l, uint32_t key);

typedef struct wf__sc_pod {
	/* Fields ordered by size to avoid padding: one of these per pod. */
	wf__sc_qent *q; /* its queue entry when not in a gang: made by wf__sc_pod_q
			   when first needed, dropped once bound (NULL then) */
	uint8_t *rid;	/* requested resources (pods excluded), amounts > 0: */
	int64_t *rval;	/* rid_in and rval_in for up to WF__SC_REQ_INLINE */
	int64_t rval_in[WF__SC_REQ_INLINE];
	wf__sc_profile *prof;
	wf__sc_node *node; /* assumed or bound */
	wf__sc_gang *gang;
	int64_t created_ms;
	wf__sc_lset *labels; /* metadata.labels (an empty set when none) */
	wf__sc_link nlink;
	wf__sc_link llink; /* placed pods of its label set */
	wf__sc_link glink;
	uint32_t id;
	uint32_t nslen;
	int32_t prio;
	uint32_t want_node; /* name id when node_name restricts placement, else 0 */
	int32_t nominated;  /* node id, -1 */
	uint16_t nreq;
	uint8_t state;
	bool preempt_never;
	bool terminating; /* a preemption victim on its way out */
	bool wait_reported;
	uint8_t rid_in[WF__SC_REQ_INLINE];
	char key[]; /* "ns/name", allocated with the pod */
} wf__sc_pod;

/* A pod's own queue entry, made (out of the queues, priority and time from
 * the pod) when it has none. */
wf__sc_qent *wf__sc_pod_q(wf__sc_pod *p);
/* Where a pod's own entry is queued: WF__Q_NONE when it has none. */
static inline uint8_t wf__sc_pod_where(const wf__sc_pod *p)
{
	return p->q ? p->q->where : WF__Q_NONE;
}
/* The pod's scheduling attempts (of its group's entry for a gang member). */
uint32_t wf__sc_pod_attempts(const wf__sc_pod *p);

struct wf__sc_gang {
	uint32_t id;
	char *key; /* "ns/name" */
	uint32_t nslen;
	bool defined;
	int32_t min_member;
	int64_t timeout_ms;
	int32_t members; /* list through pod->glink */
	uint32_t nmembers, npending, nassumed, nbound;
	wf__sc_qent q;
	int64_t timer_start; /* 0: not running */
	uint32_t timeouts;
	int32_t tpos; /* index in s->timed, -1 */
};

/* ---- decisions ------------------------------------------------------------ */

typedef struct wf__sc_dec {
	wf_sched_decision d; /* strings point into this allocation */
} wf__sc_dec;

/* ---- the scheduler ----------------------------------------------------------- */

typedef struct wf__sc_framework wf__sc_framework;

struct wf_sched {
	wf_sched_config cfg;
	wf__sc_strtab strs;
	uint32_t id_unsched_key, id_notready_key, id_unreach_key;
	uint32_t *per_node_keys;
	uint32_t nper_node_keys;

	wf__sc_resdef res[WF__SC_NRES_MAX];
	uint32_t nres, res_cap;
	wf__sc_hmap resmap;

	wf__sc_node **nodes;
	uint32_t nnodes, nodes_cap;
	wf__sc_ids node_free;
	wf__sc_hmap nodemap; /* name -> id */
	uint32_t npresent;

	wf__sc_class **classes;
	uint32_t nclasses, classes_cap;
	wf__sc_ids class_free;
	wf__sc_hmap classmap;
	uint32_t *live; /* ids of classes with nodes */
	uint32_t nlive, live_cap;
	uint32_t class_gen;

	wf__sc_profile **profiles;
	uint32_t nprofiles, profiles_cap;
	wf__sc_ids prof_free;
	wf__sc_hmap profmap;
	size_t cache_entries; /* wf__sc_pcache entries over all profiles */

	wf__sc_pod **pods;
	uint32_t npods, pods_cap;
	wf__sc_ids pod_free;
	wf__sc_hmap podmap;
	size_t npods_live, nassumed, nbound;

	wf__sc_gang **gangs;
	uint32_t ngangs, gangs_cap;
	wf__sc_ids gang_free;
	wf__sc_hmap gangmap;
	uint32_t *timed; /* gangs with a running timeout */
	uint32_t ntimed, timed_cap;

	/* queue */
	int32_t *active;
	uint32_t nactive, active_cap;
	int32_t *backoff;
	uint32_t nbackoff, backoff_cap;
	int32_t uhead, utail;
	size_t nparked_gangs; /* gangs in the pool */
	size_t nunsched, ngangwait_pods;
	uint64_t seq;
	uint32_t *freed; /* ids of nodes whose freed capacity waits to be offered */
	uint32_t nfreed, freed_cap;
	uint64_t calls; /* wf_sched_schedule calls so far */

	wf__sc_lset **lsets; /* by id */
	uint32_t nlsets, lsets_cap;
	wf__sc_ids lset_free;
	wf__sc_hmap lsetmap;
	wf__sc_lset *no_labels;	 /* the set of pods without labels (never freed early) */
	wf__sc_hmap anti_placed; /* placed pods with required anti-affinity: &pod->id -> id */

	/* inter-pod affinity: nothing is re-queued while no pod has required terms */
	size_t naff_pods; /* pods whose profile has required inter-pod terms */
	bool pods_moved;  /* a pod was placed or left (WF__EV_PODS is due) */

	/* assigned pods per priority, sorted by priority: is anyone preemptible? */
	struct wf__sc_prio_count {
		int32_t prio;
		uint32_t n;
	} * prios;
	uint32_t nprios, prios_cap;

	/* nominations */
	struct wf__sc_nom {
		uint32_t pod;
		int64_t at; /* when it was (last) made */
	} * noms;	    /* pods with a nomination */
	uint32_t nnoms, noms_cap;

	/* decisions */
	wf__sc_dec **decq;
	size_t ndecq, decq_head, decq_cap;
	wf__sc_dec **ret;
	size_t nret, ret_cap;

	uint32_t scan_next; /* where the next node-by-node scan starts */
	wf__sc_arena arena; /* per cycle */
	const wf__sc_framework *fw;
	uint64_t cycles;
	int64_t now;
};

/* ---- cross-file internal API ------------------------------------------------ */

/* resources (nodes.c) */
int wf__sc_res_intern(wf_sched *s, const char *name, uint32_t *id, wf_err *err);
int64_t wf__sc_res_find(const wf_sched *s, const char *name);

/* nodes.c */
wf__sc_node *wf__sc_node_get(const wf_sched *s, const char *name);
wf__sc_node *wf__sc_node_placeholder(wf_sched *s, const char *name);
void wf__sc_node_maybe_drop(wf_sched *s, wf__sc_node *n);
void wf__sc_node_account(wf_sched *s, wf__sc_node *n, const wf__sc_pod *p, int sign);
int64_t wf__sc_label_of(const wf_sched *s, const wf__sc_class *c, const wf__sc_node *n,
			uint32_t key);
bool wf__sc_is_per_node_key(const wf_sched *s, uint32_t key);
void wf__sc_nodes_free(wf_sched *s);
void wf__sc_node_nominate(wf_sched *s, wf__sc_node *n, wf__sc_pod *p);
void wf__sc_node_unnominate(wf_sched *s, wf__sc_node *n, wf__sc_pod *p);
uint8_t wf__sc_cpu_level(const wf__sc_node *n);
/* Lowest priority among the node's assigned pods, INT32_MAX when none. */
int32_t wf__sc_node_min_prio(wf_sched *s, wf__sc_node *n);
/* Lowest priority among all assigned pods, INT32_MAX when none. */
int32_t wf__sc_min_assigned_prio(const wf_sched *s);

/* pods.c */
wf__sc_pod *wf__sc_pod_get(const wf_sched *s, const char *ns, const char *name);
void wf__sc_pod_assign(wf_sched *s, wf__sc_pod *p, wf__sc_node *n, uint8_t state);
void wf__sc_pod_unassign(wf_sched *s, wf__sc_pod *p);
void wf__sc_pod_clear_nomination(wf_sched *s, wf__sc_pod *p);
void wf__sc_pod_set_nomination(wf_sched *s, wf__sc_pod *p, wf__sc_node *n, int64_t now);
void wf__sc_pods_free(wf_sched *s);
void wf__sc_profiles_free(wf_sched *s);
void wf__sc_profile_unref(wf_sched *s, wf__sc_profile *pr);
/* Free the class caches of profiles no pending pod uses. */
void wf__sc_profiles_trim(wf_sched *s);
/* Class cache entries kept before idle profiles' caches are dropped. */
#define WF__SC_CACHE_BUDGET (256u * 1024u)
static inline const char *wf__sc_pod_name(const wf__sc_pod *p)
{
	return p->key + p->nslen + 1;
}

/* gang.c */
wf__sc_gang *wf__sc_gang_ref(wf_sched *s, const char *ns, size_t nslen, const char *name);
void wf__sc_gang_add_member(wf_sched *s, wf__sc_gang *g, wf__sc_pod *p);
void wf__sc_gang_del_member(wf_sched *s, wf__sc_pod *p);
void wf__sc_gang_member_state(wf_sched *s, wf__sc_pod *p, uint8_t old_state);
void wf__sc_gang_requeue(wf_sched *s, wf__sc_gang *g);
void wf__sc_gangs_free(wf_sched *s);
void wf__sc_gang_timers(wf_sched *s, int64_t now);
void wf__sc_schedule_gang(wf_sched *s, wf__sc_gang *g, int64_t now);
bool wf__sc_gang_quorum(const wf__sc_gang *g);

/* queue.c */
wf__sc_qent *wf__sc_unit_q(const wf_sched *s, int32_t unit);
void wf__sc_q_add_active(wf_sched *s, int32_t unit);
void wf__sc_q_remove(wf_sched *s, int32_t unit);
void wf__sc_q_park(wf_sched *s, int32_t unit, uint32_t fail_mask, int64_t now);
void wf__sc_q_backoff(wf_sched *s, int32_t unit, int64_t now);
void wf__sc_q_event(wf_sched *s, uint32_t ev);
/* Resources were freed on node n (a pod left it, shrank, or a hold ended):
 * parked gangs move to back-off; n is remembered so that the next
 * wf__sc_q_pop_freed offers the capacity to parked pods. */
void wf__sc_q_freed(wf_sched *s, wf__sc_node *n);
/* Once the active queue is empty: the best parked pod (queue order) that
 * fits a node with freed capacity now, taken out of the pool, or -1. Each
 * pod is offered at most once per wf_sched_schedule call. */
int32_t wf__sc_q_pop_freed(wf_sched *s);
void wf__sc_q_move_unit(wf_sched *s, int32_t unit);
void wf__sc_q_fix(wf_sched *s, int32_t unit);
int32_t wf__sc_q_pop(wf_sched *s, int64_t now);
void wf__sc_q_tick(wf_sched *s, int64_t now);
void wf__sc_q_free(wf_sched *s);
int64_t wf__sc_backoff_ms(const wf_sched *s, uint32_t attempts);

/* decisions (framework.c) */
void wf__sc_emit(wf_sched *s, wf_sched_decision_kind kind, const char *ns, size_t nslen,
		 const char *name, const char *node, const char *msg, int32_t prio,
		 const wf__sc_pod *const *victims, size_t nvictims);

/* ---- framework: extension points as function tables (framework.c) ---------- */

typedef struct wf__sc_status {
	uint8_t code;	/* wf_sched_code */
	uint8_t reason; /* WF__RS_* */
	uint32_t arg, arg2;
	uint64_t res; /* WF__RS_RESOURCES: bit per short resource (WF__R_PODS: too many) */
} wf__sc_status;

enum {
	WF__RS_NONE = 0,
	WF__RS_UNSCHEDULABLE, /* node(s) were unschedulable */
	WF__RS_NODE_NAME,     /* node(s) didn't match the requested node name */
	WF__RS_TAINT,	      /* node(s) had untolerated taint {arg: arg2} */
	WF__RS_AFFINITY,      /* node(s) didn't match Pod's node affinity/selector */
	WF__RS_RESOURCES,     /* Insufficient <r> / Too many pods */
	WF__RS_NO_VICTIMS,    /* No preemption victims found for incoming pod */
	WF__RS_NOT_HELPFUL,   /* Preemption is not helpful for scheduling */
	WF__RS_GANG,	      /* pod group arg (gang id) missing or below minMember */
	WF__RS_POD_AFFINITY,  /* node(s) didn't match pod affinity rules */
	WF__RS_POD_ANTI,      /* node(s) didn't match pod anti-affinity rules */
	WF__RS_EXISTING_ANTI, /* node(s) didn't satisfy existing pods anti-affinity rules */
	WF__RS_COUNT,
};

/* One scheduling attempt's state: lives in s->arena, freed at once. */
typedef struct wf__sc_cycle {
	wf_sched *s;
	wf__sc_pod *pod;
	wf__sc_profile *prof;
	int64_t now;
	int primary;   /* extended resource to bin-pack on, -1: a CPU-only pod */
	bool cpu_only; /* requests no extended resource */
	int64_t req_cpu, req_mem, req_primary;
	bool skip_score[8];	/* PreScore verdicts by score plugin */
	struct wf__sc_ipa *ipa; /* InterPodAffinity's PreFilter state, NULL: nothing to check */
	/* diagnosis of a pod that fits nowhere (framework.c) */
	bool diagnosed;
	uint32_t diag_events, diag_unresolvable, diag_unschedulable;
} wf__sc_cycle;

/* Filter and score plugins declare a scope: CLASS plugins read only what a
 * node class holds (labels, taints, flags) and are cached per (profile,
 * class); NODE plugins read per-node state (name, free resources). */
enum {
	WF__SCOPE_CLASS = 0,
	WF__SCOPE_NODE = 1,
};

typedef struct wf__sc_filter_plugin {
	const char *name;
	uint8_t scope;
	uint32_t fail_events; /* events that may cure its failures */
	/* n is NULL for a class-level evaluation (profile not per-node). */
	wf__sc_status (*filter)(const wf__sc_cycle *cy, const wf__sc_class *c,
				const wf__sc_node *n);
} wf__sc_filter_plugin;

typedef struct wf__sc_score_plugin {
	const char *name;
	uint8_t scope;
	int (*weight)(const wf_sched_config *cfg);
	/* PreScore: false = Skip for this pod. */
	bool (*applies)(const wf__sc_cycle *cy);
	int64_t (*score)(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n);
	/* NormalizeScore over the candidates' raw scores, in place, to 0..100. */
	void (*normalize)(int64_t *raw, size_t n);
} wf__sc_score_plugin;

typedef struct wf__sc_sort_plugin {
	const char *name;
	bool (*less)(const wf__sc_qent *a, const wf__sc_qent *b);
} wf__sc_sort_plugin;

typedef struct wf__sc_prefilter_plugin {
	const char *name;
	wf__sc_status (*prefilter)(wf__sc_cycle *cy);
} wf__sc_prefilter_plugin;

typedef struct wf__sc_reserve_plugin {
	const char *name;
	void (*reserve)(wf__sc_cycle *cy, wf__sc_node *n);
	void (*unreserve)(wf__sc_cycle *cy, wf__sc_node *n);
} wf__sc_reserve_plugin;

typedef struct wf__sc_permit_plugin {
	const char *name;
	wf__sc_status (*permit)(const wf__sc_cycle *cy, const wf__sc_node *n);
} wf__sc_permit_plugin;

typedef struct wf__sc_bind_plugin {
	const char *name;
	wf__sc_status (*bind)(wf__sc_cycle *cy, const wf__sc_node *n);
} wf__sc_bind_plugin;

/* PostFilter: preemption. Returns true when it nominated a node (and
 * emitted the PREEMPT decision); *msg gets the "preemption: ..." text. */
typedef struct wf__sc_postfilter_plugin {
	const char *name;
	bool (*postfilter)(wf__sc_cycle *cy, wf_buf *msg);
} wf__sc_postfilter_plugin;

#define WF__SC_MAX_PLUGINS 8

struct wf__sc_framework {
	const wf__sc_sort_plugin *sort;
	const wf__sc_prefilter_plugin *prefilter[WF__SC_MAX_PLUGINS];
	const wf__sc_filter_plugin *filter[WF__SC_MAX_PLUGINS];
	const wf__sc_postfilter_plugin *postfilter;
	const wf__sc_score_plugin *score[WF__SC_MAX_PLUGINS];
	const wf__sc_reserve_plugin *reserve[WF__SC_MAX_PLUGINS];
	const wf__sc_permit_plugin *permit[WF__SC_MAX_PLUGINS];
	const wf__sc_bind_plugin *bind;
	uint8_t nprefilter, nfilter, nscore, nreserve, npermit;
	uint8_t class_score_slot[WF__SC_MAX_PLUGINS]; /* score plugin -> pcache slot */
};

extern const wf__sc_framework wf__sc_default_framework;

/* plugins_filter.c */
extern const wf__sc_filter_plugin wf__sc_filter_node_unschedulable;
extern const wf__sc_filter_plugin wf__sc_filter_node_name;
extern const wf__sc_filter_plugin wf__sc_filter_taint_toleration;
extern const wf__sc_filter_plugin wf__sc_filter_node_affinity;
extern const wf__sc_filter_plugin wf__sc_filter_resources_fit;
extern const wf__sc_prefilter_plugin wf__sc_prefilter_resources;
extern const wf__sc_sort_plugin wf__sc_sort_priority;
bool wf__sc_tolerates(const wf__sc_profile *pr, uint32_t key, uint32_t value, uint8_t effect);
bool wf__sc_term_matches(const wf_sched *s, const wf__sc_term *t, const wf__sc_class *c,
			 const wf__sc_node *n);
/* Does label-selector requirement r (not a matchFields one) hold for a
 * label whose value has id v (-1: the label is absent)? */
bool wf__sc_req_holds(const wf_sched *s, const wf__sc_req *r, int64_t v);
/* Resource fit of pod on n, counting pods nominated there with priority >=
 * the pod's (other than the pod and its gang); returns the short mask. */
uint64_t wf__sc_fit_mask(const wf_sched *s, const wf__sc_pod *p, const wf__sc_node *n);

/* plugins_score.c */
extern const wf__sc_score_plugin wf__sc_score_node_affinity;
extern const wf__sc_score_plugin wf__sc_score_taint_toleration;
extern const wf__sc_score_plugin wf__sc_score_gpu_avoid;
extern const wf__sc_score_plugin wf__sc_score_gpu_binpack;
extern const wf__sc_score_plugin wf__sc_score_least_allocated;
extern const wf__sc_score_plugin wf__sc_score_balanced;

/* plugins_interpod.c */
extern const wf__sc_prefilter_plugin wf__sc_prefilter_interpod;
extern const wf__sc_filter_plugin wf__sc_filter_interpod;
extern const wf__sc_score_plugin wf__sc_score_interpod;

/* preempt.c */
extern const wf__sc_postfilter_plugin wf__sc_postfilter_preemption;
/* Gang PostFilter: find victims so that every pending member fits. */
bool wf__sc_preempt_gang(wf_sched *s, wf__sc_gang *g, wf__sc_pod **members, size_t n, int64_t now,
			 wf_buf *msg);

/* gang.c */
extern const wf__sc_permit_plugin wf__sc_permit_gang;
extern const wf__sc_prefilter_plugin wf__sc_prefilter_gang;

/* framework.c: the cycle's building blocks, shared with gang.c and preempt.c */
void wf__sc_cycle_init(wf__sc_cycle *cy, wf_sched *s, wf__sc_pod *p, int64_t now);
wf__sc_status wf__sc_prefilter(wf__sc_cycle *cy);
wf__sc_status wf__sc_filter_node(const wf__sc_cycle *cy, const wf__sc_node *n);
/* Would pod p pass every filter on node n now? (A cycle of its own.) */
bool wf__sc_pod_fits_node(wf_sched *s, wf__sc_pod *p, const wf__sc_node *n);
const wf__sc_pcache *wf__sc_class_verdict(const wf__sc_cycle *cy, const wf__sc_class *c);
/* Filter + Score: the best node, or NULL. */
wf__sc_node *wf__sc_find_node(wf__sc_cycle *cy);
/* FitError text for a pod that fits nowhere ("0/N nodes are available: ...");
 * returns the events that may cure the failures (WF__EV_*). */
uint32_t wf__sc_fit_error(wf__sc_cycle *cy, wf_buf *out);
/* Count the nodes failing UnschedulableAndUnresolvable / Unschedulable into
 * cy->diag_* (once per cycle; wf__sc_fit_error does it too). */
void wf__sc_diagnose(wf__sc_cycle *cy);
/* "preemption: 0/N nodes are available: ..." from per-node outcomes. */
void wf__sc_preempt_msg(wf_sched *s, size_t no_victims, size_t not_helpful, wf_buf *out);
/* One scheduling cycle for a pod that is not in a gang. */
void wf__sc_schedule_pod(wf_sched *s, wf__sc_pod *p, int64_t now);
void wf__sc_reserve(wf__sc_cycle *cy, wf__sc_node *n);
void wf__sc_unreserve(wf__sc_cycle *cy, wf__sc_node *n);
wf__sc_status wf__sc_permit(const wf__sc_cycle *cy, const wf__sc_node *n);
void wf__sc_bind(wf__sc_cycle *cy, const wf__sc_node *n);
void wf__sc_format_reason(const wf_sched *s, uint8_t reason, uint32_t arg, uint32_t arg2,
			  uint32_t resbit, wf_buf *out);
uint32_t wf__sc_status_events(const wf__sc_status *st);

#endif
