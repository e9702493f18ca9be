/*
 * yaml_json.h - YAML request bodies and manifests to jansson values.
 *
 * Plain scalars are typed by the YAML 1.2 core schema: null, ~ and the empty
 * scalar are null; true/false (also True, TRUE, False, FALSE) are booleans;
 * decimal, 0o octal and 0x hex integers are integers; decimal floats are
 * reals; everything else (yes, no, on, off, timestamps included) is a string.
 * Quoted and block scalars are strings. The tags !!str, !!int, !!float,
 * !!bool, !!null, !!binary, !!timestamp, !!map and !!seq are honoured; other
 * tags are refused. Mapping keys must be scalars and unique; a key that is
 * not a string becomes its JSON text ("1", "true", "null"). "<<" merge keys
 * are supported as Kubernetes' YAML reader supports them. Anchors and aliases
 * are expanded (each alias becomes its own copy), within the limits below.
 *
 * Limits (billion-laughs and stack protection): a stream may expand to at
 * most WF_YAML_MAX_NODES values (keys count), and nest at most
 * WF_YAML_MAX_DEPTH collections deep, aliases expanded. Infinity and NaN,
 * and integers outside 64 bits, are refused: JSON cannot hold them.
 */
#ifndef WF_YAML_JSON_H
#define WF_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "lib/wf_err.h"

#define WF_YAML_MAX_NODES 1000000
#define WF_YAML_MAX_DEPTH 1000

/*
 * Parse text (len bytes, need not be NUL-terminated) holding exactly one
 * YAML document; empty documents ("---" alone, or only null) do not count.
 * On success *out is the new value (caller owns). Zero or several documents,
 * a syntax error (the message gives line and column), a broken limit, a
 * duplicate or non-scalar key, an unknown anchor or a bad tag give -WF_EINVAL;
 * *out is untouched on error.
 */
int wf_yaml_to_json(const char *text, size_t len, json_t **out, wf_err *err);

/*
 * Like wf_yaml_to_json for a multi-document stream (a manifest with ---):
 * *array_out is a new array holding every non-empty document in order
 * (possibly none). The limits apply to the whole stream. Errors as above.
 */
int wf_yaml_to_json_all(const char *text, size_t len, json_t **array_out, wf_err *err);

#endif
