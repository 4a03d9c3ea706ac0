/* The request-head parser: fed whole and in two pieces at a point the
 * input chooses, it must reach the same verdict, status and head length,
 * never read past what it was given, and keep every span inside the head. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/http.h"
#include "front/mimic.h"

static void check_spans(const struct http_request *r, size_t len)
{
	const struct http_span *s[] = {
	    &r->method_name, &r->target,     &r->host,	      &r->upgrade,	  &r->connection,
	    &r->ws_key,	     &r->ws_version, &r->ws_protocol, &r->content_length, &r->te};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if ((size_t)s[i]->off + s[i]->len > len)
			abort();
	if (r->head_len > len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0] % (size);
	data++;
	size--;
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct http_parser p1, p2;
	struct http_request r1, r2;
	int s1 = 0, s2 = 0;
	http_parser_init(&p1, &r1);
	enum http_result a = http_parse(&p1, copy, size, &r1, &s1);
	http_parser_init(&p2, &r2);
	enum http_result b = http_parse(&p2, copy, cut < size ? cut : size, &r2, &s2);
	if (b == HTTP_NEED_MORE)
		b = http_parse(&p2, copy, size, &r2, &s2);
	if (a != b || (a == HTTP_REJECT && s1 != s2) ||
	    (a == HTTP_COMPLETE && (r1.head_len != r2.head_len || r1.flags != r2.flags)))
		abort();
	/* the mimic answers whatever the parser decided, within its buffer */
	uint8_t out[MIMIC_RESPONSE_MAX];
	struct mimic_answer ans;
	if (a != HTTP_NEED_MORE) {
		uint64_t boundary = 0;
		mimic_answer(out, &r1, copy, a == HTTP_REJECT ? s1 : 0, 1700000000, &boundary,
			     &ans);
		if (ans.len > sizeof(out))
			abort();
	}
	if (a == HTTP_COMPLETE) {
		check_spans(&r1, size);
		struct http_span v;
		(void)http_find_header(&r1, copy, "sec-websocket-key", &v);
		(void)http_find_header(&r1, copy, "x-not-there", &v);
	}
	free(copy);
	return 0;
}
