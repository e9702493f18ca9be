/*
 * admission.h - admission run on create, between defaulting and validation
 * (kube-apiserver's mutating + validating admission, the plugins Wharf
 * needs): Priority (pods get spec.priority and spec.preemptionPolicy from
 * their PriorityClass, or from the globalDefault class) and the
 * PriorityClass rule that only one class may be the global default.
 */
#ifndef WF_API_ADMISSION_H
#define WF_API_ADMISSION_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api_internal.h"

/*
 * Admit obj (of kind k, defaulted, not yet validated) for creation; may
 * change obj. Returns true when the create may go on; false after replying
 * 403 Forbidden (unknown PriorityClass, a spec.priority or
 * spec.preemptionPolicy that disagrees with the class, a second global
 * default) or 500 (the store failed). Fields of the wrong type are left
 * alone for validation to report.
 */
bool wf_admit_create(wf_req *r, const wf_kind *k, json_t *obj);

#endif
