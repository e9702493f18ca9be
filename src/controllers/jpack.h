/*
 * jpack.h - a compact, exact binary encoding of JSON values, for objects
 * that caches hold for a long time (the informers).
 *
 * A parsed jansson tree costs several kilobytes for a pod; its JSON text
 * still several hundred bytes, most of them keys, well-known words
 * ("status", "True", "Running"), uids and timestamps. This encoding writes
 * a well-known string as one byte, a canonical uid as 16 bytes, an RFC 3339
 * UTC second ("2024-05-01T10:00:00Z") and a plain decimal string
 * ("123456") as a varint, anything else as length + bytes. Decoding gives
 * back a tree equal to the one encoded (json_equal, key order kept).
 */
#ifndef WF_CONTROLLERS_JPACK_H
#define WF_CONTROLLERS_JPACK_H

#include <jansson.h>
#include <stddef.h>

/* Nesting accepted by encode and decode (jansson's parser allows 2048). */
#define WF_JPACK_MAX_DEPTH 2048

/*
 * Encode v. Returns a new buffer (caller frees) and its size in *len, or
 * NULL (with *len 0) when v is NULL or nested deeper than
 * WF_JPACK_MAX_DEPTH.
 */
unsigned char *wf_jpack_encode(const json_t *v, size_t *len);

/*
 * Decode buf[0..len): a new reference, or NULL when the bytes are not
 * exactly one well-formed encoded value (truncated, trailing bytes,
 * unknown tags, too deep). Never reads outside buf.
 */
json_t *wf_jpack_decode(const unsigned char *buf, size_t len);

#endif
