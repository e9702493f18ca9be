/*
 * kinds.h - the kind descriptors defined in src/registry/kind_*.c.
 * Private to the registry; everything else finds kinds through registry.h.
 */
#ifndef WF_KINDS_H
#define WF_KINDS_H

#include "registry/registry.h"

extern const wf_kind wf_kind_namespace;
extern const wf_kind wf_kind_node;
extern const wf_kind wf_kind_pod;
extern const wf_kind wf_kind_event;
extern const wf_kind wf_kind_configmap;
extern const wf_kind wf_kind_secret;
extern const wf_kind wf_kind_service;
extern const wf_kind wf_kind_serviceaccount;
extern const wf_kind wf_kind_lease;
extern const wf_kind wf_kind_job;
extern const wf_kind wf_kind_priorityclass;
extern const wf_kind wf_kind_podgroup;
extern const wf_kind wf_kind_volcano_podgroup;
extern const wf_kind wf_kind_pytorchjob;

#endif
