/*
 * wf_validate.h - syntax checks of Kubernetes names, labels and annotations.
 *
 * Each check returns NULL when the value is valid, or a static message
 * (never freed, stable across calls and threads) with Kubernetes' wording
 * (k8s.io/apimachinery/pkg/util/validation), e.g.
 *   "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric
 *    characters, '-' or '.', and must start and end with an alphanumeric
 *    character (e.g. 'example.com', regex used for validation is '...')"
 * Where Kubernetes reports several problems at once, they are joined with
 * "; " in Kubernetes' order (as labels.Parse and most callers print them),
 * e.g. "must be no more than 63 characters; a lowercase RFC 1123 label ...".
 * Length limits count bytes, as Go's len() does. NULL is checked as "".
 */
#ifndef WF_VALIDATE_H
#define WF_VALIDATE_H

#include <stdbool.h>

/* DNS-1123 subdomain: <= 253 chars, [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
 */
const char *wf_check_dns1123_subdomain(const char *s);
/* DNS-1123 label: <= 63 chars, [a-z0-9]([-a-z0-9]*[a-z0-9])?; a valid
 * subdomain with dots gets "must not contain dots". */
const char *wf_check_dns1123_label(const char *s);
/* DNS-1035 label (services): <= 63 chars, [a-z]([-a-z0-9]*[a-z0-9])? */
const char *wf_check_dns1035_label(const char *s);
/* Qualified name (label and annotation keys): [prefix/]name, prefix a DNS-1123
 * subdomain, name <= 63 chars of [A-Za-z0-9_.-] starting and ending alphanumeric.
 * Messages say "prefix part ..." / "name part ..." like IsQualifiedName. */
const char *wf_check_qualified_name(const char *s);
/* Label value: empty, or <= 63 chars, same alphabet as a name part. */
const char *wf_check_label_value(const char *s);
/* Env var name: [-._a-zA-Z][-._a-zA-Z0-9]*, and not ".", ".." or "..*". */
const char *wf_check_env_var_name(const char *s);
/* ConfigMap/Secret data key: [-._a-zA-Z0-9]+, <= 253 chars, not ".", ".." or "..*". */
const char *wf_check_config_map_key(const char *s);

#endif
