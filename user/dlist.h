/* SPDX-License-Identifier: GPL-2.0 */
/* A circular intrusive doubly linked list (the kernel's list_head, reduced). */
#ifndef WF_DLIST_H
#define WF_DLIST_H

#include <stdbool.h>
#include <stddef.h>

struct dlist {
	struct dlist *prev, *next;
};

static inline void dlist_init(struct dlist *head)
{
	head->prev = head->next = head;
}

static inline bool dlist_empty(const struct dlist *head)
{
	return head->next == head;
}

static inline void dlist_del(struct dlist *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->prev = node->next = node;
}

/* Appends node at the tail (the most recent end). */
static inline void dlist_add_tail(struct dlist *head, struct dlist *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void dlist_move_tail(struct dlist *head, struct dlist *node)
{
	dlist_del(node);
	dlist_add_tail(head, node);
}

#define dlist_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* WF_DLIST_H */
