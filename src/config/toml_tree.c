/* The immutable value tree built by toml_parse(): nodes, the per-table key
 * index, the public accessors and the canonical date/time text.
 *
 * A table keeps its entries in definition order in one array; the same
 * entries form an AA tree (Andersson 1993) ordered by key bytes, so finding
 * or adding a key costs O(log n) comparisons for any choice of keys. A hash
 * table would need a secret seed to resist chosen collisions, and util/ has
 * no randomness. */
#include "config/toml_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct toml_value *toml_node_new(enum toml_type type, int depth, int line, int column)
{
	struct toml_value *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->type = (uint8_t)type;
	v->depth = (uint16_t)depth;
	v->line = line;
	v->column = column;
	if (type == TOML_TABLE)
		v->u.table.root = TOML_NIL;
	return v;
}

static int key_cmp(const struct toml_slot *s, const char *key, size_t len)
{
	size_t n = s->key_len < len ? s->key_len : len;
	int c = memcmp(s->key, key, n);
	if (c)
		return c;
	return (s->key_len > len) - (s->key_len < len);
}

struct toml_slot *toml_node_find(const struct toml_value *table, const char *key, size_t len)
{
	struct toml_slot *items = table->u.table.items;
	uint32_t i = table->u.table.root;
	while (i != TOML_NIL) {
		int c = key_cmp(&items[i], key, len);
		if (c == 0)
			return &items[i];
		i = c > 0 ? items[i].left : items[i].right;
	}
	return NULL;
}

/* AA tree rebalancing: skew removes a left horizontal link, split a double
 * right one. Both return the new root of the subtree. */
static uint32_t skew(struct toml_slot *it, uint32_t n)
{
	uint32_t l = it[n].left;
	if (l == TOML_NIL || it[l].level != it[n].level)
		return n;
	it[n].left = it[l].right;
	it[l].right = n;
	return l;
}

static uint32_t split(struct toml_slot *it, uint32_t n)
{
	uint32_t r = it[n].right;
	if (r == TOML_NIL || it[r].right == TOML_NIL || it[it[r].right].level != it[n].level)
		return n;
	it[n].right = it[r].left;
	it[r].left = n;
	it[r].level++;
	return r;
}

/* Recursion depth is the tree height, at most 2 log2(n) (< 64). */
static uint32_t tree_insert(struct toml_slot *it, uint32_t root, uint32_t n)
{
	if (root == TOML_NIL)
		return n;
	if (key_cmp(&it[root], it[n].key, it[n].key_len) > 0)
		it[root].left = tree_insert(it, it[root].left, n);
	else
		it[root].right = tree_insert(it, it[root].right, n);
	return split(it, skew(it, root));
}

static int grow(void **items, size_t size, size_t len, size_t *cap, size_t max)
{
	if (len < *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 4;
	if (n > max || n < *cap)
		return -ENOMEM;
	void *p = realloc(*items, n * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = n;
	return 0;
}

int toml_node_insert(struct toml_value *table, char *key, size_t key_len, struct toml_value *value,
		     int line, int column)
{
	size_t cap = table->u.table.cap;
	uint32_t n = table->u.table.len;
	if (grow((void **)&table->u.table.items, sizeof(struct toml_slot), n, &cap, TOML_NIL - 1) !=
	    0) {
		free(key);
		toml_free(value);
		return -ENOMEM;
	}
	table->u.table.cap = (uint32_t)cap;
	struct toml_slot *it = table->u.table.items;
	it[n] = (struct toml_slot){key, key_len, value, line, column, TOML_NIL, TOML_NIL, 1};
	table->u.table.len = n + 1;
	table->u.table.root = tree_insert(it, table->u.table.root, n);
	return 0;
}

int toml_node_push(struct toml_value *array, struct toml_value *value)
{
	size_t n = array->u.array.len;
	if (grow((void **)&array->u.array.items, sizeof(value), n, &array->u.array.cap,
		 SIZE_MAX / sizeof(value)) != 0) {
		toml_free(value);
		return -ENOMEM;
	}
	array->u.array.items[n] = value;
	array->u.array.len = n + 1;
	return 0;
}

/* Recursion is bounded by TOML_MAX_DEPTH: the parser builds nothing deeper. */
void toml_free(struct toml_value *v)
{
	if (!v)
		return;
	if (v->type == TOML_TABLE) {
		for (uint32_t i = 0; i < v->u.table.len; i++) {
			free(v->u.table.items[i].key);
			toml_free(v->u.table.items[i].value);
		}
		free(v->u.table.items);
	} else if (v->type == TOML_ARRAY) {
		for (size_t i = 0; i < v->u.array.len; i++)
			toml_free(v->u.array.items[i]);
		free(v->u.array.items);
	} else if (v->type == TOML_STRING) {
		/* strings may be keys (private_key, psk): wipe before free */
		explicit_bzero(v->u.str.ptr, v->u.str.len);
		free(v->u.str.ptr);
	}
	free(v);
}

enum toml_type toml_type(const struct toml_value *v)
{
	return (enum toml_type)v->type;
}

const char *toml_type_name(enum toml_type type)
{
	static const char *const names[] = {
	    [TOML_TABLE] = "table",
	    [TOML_ARRAY] = "array",
	    [TOML_STRING] = "string",
	    [TOML_INTEGER] = "integer",
	    [TOML_FLOAT] = "float",
	    [TOML_BOOL] = "boolean",
	    [TOML_DATETIME] = "offset date-time",
	    [TOML_DATETIME_LOCAL] = "local date-time",
	    [TOML_DATE_LOCAL] = "local date",
	    [TOML_TIME_LOCAL] = "local time",
	};
	if ((unsigned)type >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[type];
}

void toml_position(const struct toml_value *v, int *ret_line, int *ret_column)
{
	*ret_line = v ? v->line : 0;
	*ret_column = v ? v->column : 0;
}

static bool is_a(const struct toml_value *v, enum toml_type type)
{
	return v && v->type == type;
}

size_t toml_table_len(const struct toml_value *table)
{
	return is_a(table, TOML_TABLE) ? table->u.table.len : 0;
}

const struct toml_value *toml_table_get(const struct toml_value *table, const char *key)
{
	if (!is_a(table, TOML_TABLE) || !key)
		return NULL;
	struct toml_slot *s = toml_node_find(table, key, strlen(key));
	return s ? s->value : NULL;
}

int toml_table_entry(const struct toml_value *table, size_t i, struct toml_entry *ret)
{
	if (i >= toml_table_len(table))
		return -EINVAL;
	const struct toml_slot *s = &table->u.table.items[i];
	*ret = (struct toml_entry){s->key, s->key_len, s->value, s->line, s->column};
	return 0;
}

size_t toml_array_len(const struct toml_value *array)
{
	return is_a(array, TOML_ARRAY) ? array->u.array.len : 0;
}

const struct toml_value *toml_array_get(const struct toml_value *array, size_t i)
{
	if (i >= toml_array_len(array))
		return NULL;
	return array->u.array.items[i];
}

int toml_get_string(const struct toml_value *v, const char **ret, size_t *ret_len)
{
	if (!is_a(v, TOML_STRING))
		return -EINVAL;
	*ret = v->u.str.ptr;
	if (ret_len)
		*ret_len = v->u.str.len;
	return 0;
}

int toml_get_int(const struct toml_value *v, int64_t *ret)
{
	if (!is_a(v, TOML_INTEGER))
		return -EINVAL;
	*ret = v->u.integer;
	return 0;
}

int toml_get_float(const struct toml_value *v, double *ret)
{
	if (!is_a(v, TOML_FLOAT))
		return -EINVAL;
	*ret = v->u.fp;
	return 0;
}

int toml_get_bool(const struct toml_value *v, bool *ret)
{
	if (!is_a(v, TOML_BOOL))
		return -EINVAL;
	*ret = v->u.boolean;
	return 0;
}

int toml_get_datetime(const struct toml_value *v, struct toml_datetime *ret)
{
	if (!v || v->type < TOML_DATETIME || v->type > TOML_TIME_LOCAL)
		return -EINVAL;
	*ret = v->u.dt;
	return 0;
}

/* A field brought into [0, mod): toml_datetime_format() takes hand-made
 * structs too, and must stay within its buffer whatever they hold. */
static int field(int v, int mod)
{
	return v < 0 ? 0 : v % mod;
}

static size_t format_time(const struct toml_datetime *dt, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%02d:%02d:%02d", field(dt->hour, 100), field(dt->minute, 100),
			 field(dt->second, 100));
	int digits = dt->frac_digits > 9 ? 9 : dt->frac_digits;
	if (digits > 0) {
		int scaled = field(dt->nanosecond, 1000000000);
		for (int i = digits; i < 9; i++)
			scaled /= 10;
		n += snprintf(buf + n, size - (size_t)n, ".%0*d", digits, scaled);
	}
	return (size_t)n;
}

static size_t format_offset(int minutes, char *buf, size_t size)
{
	int m = minutes < 0 ? -(minutes % 6000) : minutes % 6000;
	if (m == 0)
		return (size_t)snprintf(buf, size, "Z");
	return (size_t)snprintf(buf, size, "%c%02d:%02d", minutes < 0 ? '-' : '+', m / 60, m % 60);
}

/* The longest text is 35 bytes: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM". */
size_t toml_datetime_format(const struct toml_datetime *dt, char buf[static TOML_DATETIME_LEN])
{
	size_t n = 0, size = TOML_DATETIME_LEN;
	buf[0] = '\0';
	if (dt->type != TOML_TIME_LOCAL)
		n += (size_t)snprintf(buf, size, "%04d-%02d-%02d", field(dt->year, 10000),
				      field(dt->month, 100), field(dt->day, 100));
	if (dt->type == TOML_DATE_LOCAL)
		return n;
	if (dt->type != TOML_TIME_LOCAL)
		buf[n++] = 'T';
	n += format_time(dt, buf + n, size - n);
	if (dt->type == TOML_DATETIME)
		n += format_offset(dt->offset_minutes, buf + n, size - n);
	return n;
}
