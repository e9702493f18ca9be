/*
 * wf_quantity.h - Kubernetes resource quantities ("500m", "4Gi", "1e3", "2").
 *
 * Grammar (as k8s.io/apimachinery resource.ParseQuantity):
 *   quantity ::= [sign] digits [. [digits]] [suffix] | [sign] . digits [suffix]
 *   suffix   ::= Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|""|k|M|G|T|P|E | (e|E)[sign]digits
 * No whitespace is allowed anywhere. At least one digit is required: "-",
 * "+", "." and "Gi" are rejected (Kubernetes reads some of these as zero).
 *
 * Values are exact: the parser works on the digit string, never on floating
 * point, so "0.1" is exactly 100m and "1.5Gi" exactly 1610612736000m. A value
 * finer than the target unit rounds away from zero ("0.0001" is 1m, "-0.0001"
 * is -1m), matching Kubernetes' rule that a non-zero request never becomes 0.
 * A value whose magnitude does not fit in an int64 at the target unit is
 * rejected (Kubernetes would cap it); milli-units reach about 9.2P (8Pi).
 */
#ifndef WF_QUANTITY_H
#define WF_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/wf_err.h"

/* Longest string wf_quantity_format_milli writes, NUL included. */
#define WF_QUANTITY_FMT_MAX 24

/* Parse `s` (NULL is treated as ""). On success stores milli-units in
 * *milli_out and returns 0; *milli_out is untouched on error.
 * Errors, all -WF_EINVAL, with Kubernetes' messages:
 *   malformed:  "quantities must match the regular expression
 *                '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
 *   bad suffix: "unable to parse quantity's suffix" ("1e", "1K", "1Kii")
 *   no digits:  "unable to parse numeric part of quantity" ("-", ".", "Gi")
 *   too large:  "quantity is too large: <s> (at most 9223372036854775807m is
 *               supported)" (ours; Kubernetes caps such values instead). */
int wf_quantity_parse(const char *s, int64_t *milli_out, wf_err *err);

/* Like wf_quantity_parse but in whole units, rounded away from zero like
 * Kubernetes' Value() ("500m" is 1, "1Ei" is 1152921504606846976). Use it
 * for byte counts that may exceed the milli range. */
int wf_quantity_parse_value(const char *s, int64_t *value_out, wf_err *err);

/* Does wf_quantity_parse accept `s`? */
bool wf_quantity_valid(const char *s);

/* Format milli-units canonically into buf (len bytes, truncated if short):
 * whole units when divisible by 1000 ("2", "-3", "0"), otherwise with an
 * "m" suffix ("500m", "-1500m"). WF_QUANTITY_FMT_MAX bytes always suffice.
 * Returns buf. */
char *wf_quantity_format_milli(int64_t milli, char *buf, unsigned len);

#endif
