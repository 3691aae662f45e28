// SPDX-License-Identifier: GPL-2.0
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>

void hmap_free(struct hmap *m)
{
	free(m->buckets);
	*m = (struct hmap)HMAP_INIT;
}

static int grow(struct hmap *m)
{
	size_t n = m->buckets ? (m->mask + 1) * 2 : 64, i;
	struct hmap_node **b = calloc(n, sizeof(*b)), *node, *next;

	if (!b)
		return -ENOMEM;
	if (m->buckets) {
		for (i = 0; i <= m->mask; i++) {
			for (node = m->buckets[i]; node; node = next) {
				next = node->next;
				node->next = b[node->hash & (n - 1)];
				b[node->hash & (n - 1)] = node;
			}
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->mask = n - 1;
	return 0;
}

int hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash)
{
	struct hmap_node **slot;

	/* a table that cannot grow just runs fuller */
	if ((!m->buckets || m->count > m->mask) && grow(m) && !m->buckets)
		return -ENOMEM;
	node->hash = hash;
	slot = &m->buckets[hash & m->mask];
	node->next = *slot;
	*slot = node;
	m->count++;
	return 0;
}

void hmap_remove(struct hmap *m, struct hmap_node *node)
{
	struct hmap_node **p;

	if (!m->buckets)
		return;
	for (p = &m->buckets[node->hash & m->mask]; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			m->count--;
			return;
		}
	}
}

struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash)
{
	struct hmap_node *n;

	if (!m->buckets)
		return NULL;
	for (n = m->buckets[hash & m->mask]; n; n = n->next)
		if (n->hash == hash)
			return n;
	return NULL;
}

struct hmap_node *hmap_next(const struct hmap_node *node)
{
	struct hmap_node *n;

	for (n = node->next; n; n = n->next)
		if (n->hash == node->hash)
			return n;
	return NULL;
}

uint64_t hmap_hash_u64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t hmap_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a, then mixed */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return hmap_hash_u64(h);
}
