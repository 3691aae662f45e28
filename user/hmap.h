/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An intrusive chained hash table: callers embed struct hmap_node in their
 * entries, hash their own keys and compare keys themselves while walking
 * the nodes that share a hash.  Grows by doubling; never shrinks.
 */
#ifndef WF_HMAP_H
#define WF_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	struct hmap_node *next;
	uint64_t hash;
};

struct hmap {
	struct hmap_node **buckets;
	size_t mask;		/* bucket count - 1 */
	size_t count;
};

#define HMAP_INIT { 0 }

/* Frees the buckets, not the nodes. */
void hmap_free(struct hmap *m);
/* 0 or -ENOMEM (then the node is not inserted). */
int hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash);
void hmap_remove(struct hmap *m, struct hmap_node *node);
/* The first node with this hash, then the following ones; NULL at the end. */
struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash);
struct hmap_node *hmap_next(const struct hmap_node *node);

/* A well-mixed 64-bit hash (splitmix64's finalizer) and a byte-string hash. */
uint64_t hmap_hash_u64(uint64_t x);
uint64_t hmap_hash_bytes(const void *data, size_t len);

#define hmap_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* WF_HMAP_H */
