/* md_lru.h - the order-of-use list of the caches (tile cache, feature
 * cache): an intrusive doubly linked list, head = most recently used, tail =
 * the next to evict. An entry embeds a struct md_lru_link and
 * md_lru_entry() gets the entry back from its link. Not thread-safe: the
 * owning cache's lock guards it.
 */
#ifndef MD_LRU_H
#define MD_LRU_H

#include <stddef.h>

struct md_lru_link {
    struct md_lru_link *prev, *next;
};

struct md_lru {
    struct md_lru_link *head, *tail;
};

/* The entry of type `type` whose member `member` is the link `link` (non-NULL). */
#define md_lru_entry(link, type, member) ((type *)(void *)((char *)(link) - offsetof(type, member)))

/* Take `e` out of the list (it must be in it). */
void md_lru_unlink(struct md_lru *l, struct md_lru_link *e);
/* Put `e` (not in the list) at the head. */
void md_lru_push_front(struct md_lru *l, struct md_lru_link *e);

#endif
