/* md_lru.c - the caches' order-of-use list (md_lru.h). */
#include "md_lru.h"

void md_lru_unlink(struct md_lru *l, struct md_lru_link *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

void md_lru_push_front(struct md_lru *l, struct md_lru_link *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    l->head = e;
    if (!l->tail)
        l->tail = e;
}
