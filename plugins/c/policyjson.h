/*
 * policyjson.h: budget policies (the policy_json column of ff_budget_policy)
 * for the C budget_reset plugin. It reads exactly as the Go plugin's
 * internal/policyjson does.
 */
#ifndef POLICYJSON_H
#define POLICYJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * policy_reset_interval returns the top-level reset_interval_ms of the len
 * bytes of JSON at policy when it is an integer JSON number that fits in an
 * int64 (no fraction, no exponent), and 0 otherwise: a missing key, a
 * string, a number too large, or malformed JSON anywhere in the text. The
 * last of duplicate keys wins and keys match after unescaping, as with
 * Go's encoding/json; nesting deeper than 10000 is malformed, as there.
 */
int64_t policy_reset_interval(const char *policy, size_t len);

/*
 * policy_parse_int parses the len bytes at s as Go's
 * strconv.ParseInt(s, 10, 64) does: an optional sign, then one or more
 * ASCII digits, in range. It returns false for anything else.
 */
bool policy_parse_int(const char *s, size_t len, int64_t *out);

#endif /* POLICYJSON_H */
