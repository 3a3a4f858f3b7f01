/*
 * The memory behind expdata (expdata_internal.h): an arena that lives as long
 * as the repository handle, a string map and a growable pointer array.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expdata_internal.h"

void *xd__arena_alloc(arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 60000 ? n : 60000;
		chunk *c = malloc(sizeof(chunk) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

char *xd__arena_strndup(arena *a, const char *s, size_t n)
{
	char *d = xd__arena_alloc(a, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

char *xd__arena_strdup(arena *a, const char *s)
{
	return xd__arena_strndup(a, s, strlen(s));
}

void *xd__arena_copy(arena *a, const void *p, size_t n)
{
	void *d = xd__arena_alloc(a, n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

void xd__arena_free(arena *a)
{
	while (a->head) {
		chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void **map_slot(map *m, const char *key, int *found)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	*found = m->keys[i] != NULL;
	return &m->vals[i];
}

void *xd__map_get(const map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	int found;
	void **v = map_slot((map *)m, key, &found);
	return found ? *v : NULL;
}

int xd__map_put(map *m, arena *a, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		map bigger = { 0 };
		bigger.cap = m->cap ? m->cap * 2 : 64;
		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
		if (!bigger.keys || !bigger.vals) {
			free(bigger.keys);
			free(bigger.vals);
			return live__fail(LIVE_ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				int f;
				void **slot = map_slot(&bigger, m->keys[i], &f);
				bigger.keys[slot - bigger.vals] = m->keys[i];
				*slot = m->vals[i];
			}
		bigger.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = bigger;
	}
	int found;
	void **slot = map_slot(m, key, &found);
	if (!found) {
		if (!(m->keys[slot - m->vals] = xd__arena_strdup(a, key)))
			return live__fail(LIVE_ENOMEM, "out of memory");
		m->n++;
	}
	*slot = val;
	return 0;
}

void xd__map_free(map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

int xd__vec_push(vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return live__fail(LIVE_ENOMEM, "out of memory");
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}
