/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fluent.py's normalizations, which make recorded traffic reproducible in
 * regression test output (s:164-221, s:262-276).  Written as scanners that
 * do exactly what the reference's regular expressions do.
 */
#ifndef WF_PG_NORMALIZE_H
#define WF_PG_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/*
 * Query.print: appends the query text (a str, UTF-8) to out after, in this
 * order:
 *  1. shard ids: in public\.[a-z_]+([0-9]+) the digits become as many X's
 *     (lowercase only: public.Ab_1 stays);
 *  2. timestamps: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}.[0-9]{2,6}-[0-9]{2}
 *     (the '.' matches any character but a newline; only negative UTC
 *     offsets) becomes XXXX-XX-XX XX:XX:XX.XXXXXX-XX;
 *  3. the second integer argument of assign_distributed_transaction_id(
 *     becomes XX (\s here is Python's: Unicode whitespace).
 * Deliberate difference: with two such calls in one query the reference
 * can garble the second (it edits at stale positions); wirefault does not.
 */
void pg_normalize_query(struct strbuf *out, const char *text, size_t len);

/* ParameterStatus.normalize: TimeZone and server_version values print as XXX. */
bool pg_parameter_status_masked(const char *name, size_t len);

#endif /* WF_PG_NORMALIZE_H */
