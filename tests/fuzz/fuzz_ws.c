/* WebSocket frame headers, both roles: whatever parses must rebuild to the
 * same header bytes (the parser accepts only minimal encodings) and parse
 * again to the same frame; close payloads never read past their length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/ws.h"

static void check_role(const uint8_t *data, size_t size, int masked)
{
	struct ws_frame f, g;
	uint8_t hdr[WS_HEADER_MAX];
	enum ws_result r = ws_parse_header(data, size, masked, UINT64_C(1) << 40, &f);
	if (r != WS_OK)
		return;
	if (f.header_len > size || f.header_len > WS_HEADER_MAX)
		abort();
	size_t hl = ws_build_header(hdr, f.fin, f.opcode, f.masked ? f.mask : NULL, f.payload_len);
	if (hl != f.header_len || memcmp(hdr, data, hl) != 0)
		abort();
	if (ws_parse_header(hdr, hl, masked, UINT64_C(1) << 40, &g) != WS_OK ||
	    g.payload_len != f.payload_len || g.opcode != f.opcode)
		abort();
	if (f.opcode == WS_OP_CLOSE) {
		size_t n = size - hl;
		if (n > f.payload_len)
			n = (size_t)f.payload_len;
		uint16_t code;
		(void)ws_parse_close(data + hl, n, &code);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_role(data, size, 1);
	check_role(data, size, 0);
	(void)ws_key_valid(data, size);
	return 0;
}
