// SPDX-License-Identifier: GPL-2.0
#include "pg_stream.h"

#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "pg_messages.h"

/* A body buffer larger than this is given back after its message. */
#define KEEP_BUFFER_MAX (8u * 1024)
/* First byte of a TLS handshake record: a client starting TLS directly. */
#define TLS_HANDSHAKE 0x16

void pg_conn_stream_init(struct pg_conn_stream *cs, bool from_start, size_t max_message)
{
	memset(cs, 0, sizeof(*cs));
	cs->max_message = max_message;
	cs->auth_code = -1;
	cs->dir[WF_DIR_FRONTEND].phase = from_start ? PG_PHASE_STARTUP : PG_PHASE_TYPED;
	cs->dir[WF_DIR_BACKEND].phase = PG_PHASE_TYPED;
}

static void drop_partial(struct pg_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
	s->hdr_have = 0;
	s->in_body = false;
	s->retaining = false;
}

void pg_conn_stream_free(struct pg_conn_stream *cs)
{
	drop_partial(&cs->dir[WF_DIR_FRONTEND]);
	drop_partial(&cs->dir[WF_DIR_BACKEND]);
}

size_t pg_conn_stream_buffered(const struct pg_conn_stream *cs)
{
	return cs->dir[0].cap + cs->dir[1].cap;
}

static void emit_unparsed(const struct pg_conn_stream *cs, enum pg_phase why, uint64_t n,
			  pg_frame_fn fn, void *ctx)
{
	struct pg_frame f = { .kind = PG_FRAME_UNPARSED, .len = n, .phase = why,
			      .auth_code = cs->auth_code };

	fn(ctx, &f);
}

/*
 * Emits a typed message of direction dir and remembers the code of an
 * Authentication (after the frame: it is what the client's next 'p'
 * answers).  A body not retained, or too short, leaves the code unknown.
 */
static void emit_typed(struct pg_conn_stream *cs, enum wf_dir dir, struct pg_frame *f,
		       pg_frame_fn fn, void *ctx)
{
	f->auth_code = cs->auth_code;
	fn(ctx, f);
	if (dir == WF_DIR_BACKEND && f->type == 'R')
		cs->auth_code = f->body && f->len >= 4 ? (int32_t)wf_be32(f->body) : -1;
}

/*
 * Checks a complete header.  Typed: type + Int32 length (>= 4, at most the
 * protocol's 1 GiB).  Untyped: Int32 length + Int32 code, a known code with
 * its size, and at most the server's 10000-byte startup limit.
 */
static bool header_valid(const struct pg_stream *s)
{
	uint32_t len;

	if (s->phase == PG_PHASE_TYPED) {
		len = wf_be32(s->hdr + 1);
		return len >= WF_PG_TYPED_MIN_LEN && len <= WF_PG_TYPED_MAX_LEN;
	}
	len = wf_be32(s->hdr);
	if (len < WF_PG_UNTYPED_HDR_LEN || len > WF_PG_STARTUP_MAX_LEN)
		return false;
	switch (wf_be32(s->hdr + 4)) {
	case WF_PG_SSL_REQUEST:
	case WF_PG_GSSENC_REQUEST:
		return len == WF_PG_UNTYPED_HDR_LEN;
	case WF_PG_CANCEL_REQUEST:
		return len >= 16;
	default:
		return wf_be32(s->hdr + 4) >> 16 == WF_PG_PROTOCOL_3_0 >> 16;
	}
}

/* What a complete startup-phase packet means for the two directions. */
static void startup_packet_done(struct pg_conn_stream *cs, uint32_t code)
{
	switch (code) {
	case WF_PG_SSL_REQUEST:
	case WF_PG_GSSENC_REQUEST:
		cs->dir[WF_DIR_BACKEND].phase = PG_PHASE_ANSWER;
		break;
	case WF_PG_CANCEL_REQUEST:
		/* the server closes the connection; nothing may follow */
		cs->dir[WF_DIR_FRONTEND].phase = PG_PHASE_NOT_POSTGRES;
		break;
	default:
		cs->dir[WF_DIR_FRONTEND].phase = PG_PHASE_TYPED;
		break;
	}
}

static void emit_message(struct pg_conn_stream *cs, struct pg_stream *s, const uint8_t *body,
			 pg_frame_fn fn, void *ctx)
{
	struct pg_frame f = { .type = s->type, .body = body, .len = s->body_len,
			      .auth_code = cs->auth_code };
	bool untyped = s->phase == PG_PHASE_STARTUP;
	enum wf_dir dir = s == &cs->dir[WF_DIR_BACKEND] ? WF_DIR_BACKEND : WF_DIR_FRONTEND;

	if (untyped)
		f.kind = PG_FRAME_STARTUP;	/* body NULL: out of memory (reserve_body) */
	else if (!body)
		f.kind = PG_FRAME_NOT_RETAINED;
	else
		f.kind = PG_FRAME_MESSAGE;
	f.code = s->code;
	s->hdr_have = 0;
	s->in_body = false;
	s->retaining = false;
	/* from the buffer, if any, before it is given back */
	if (untyped)
		fn(ctx, &f);
	else
		emit_typed(cs, dir, &f, fn, ctx);
	if (s->cap > KEEP_BUFFER_MAX) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
	if (untyped)
		startup_packet_done(cs, f.code);
}

/* Starts the body of the message whose header is complete. */
static void begin_body(struct pg_conn_stream *cs, struct pg_stream *s)
{
	if (s->phase == PG_PHASE_TYPED) {
		s->type = s->hdr[0];
		s->code = 0;
		s->body_len = wf_be32(s->hdr + 1) - 4;
	} else {
		s->type = 0;
		s->code = wf_be32(s->hdr + 4);
		s->body_len = wf_be32(s->hdr) - WF_PG_UNTYPED_HDR_LEN;
	}
	s->body_have = 0;
	s->in_body = true;
	/* startup packets are small (header_valid) and always kept */
	s->retaining = s->phase == PG_PHASE_STARTUP || s->body_len <= cs->max_message;
}

/* Makes room for the whole body before copying its first piece. */
static void reserve_body(struct pg_stream *s)
{
	void *p;

	if (!s->retaining || s->body_len <= s->cap)
		return;
	p = realloc(s->buf, s->body_len);
	if (!p) {
		s->retaining = false;	/* out of memory: report it as not retained */
		return;
	}
	s->buf = p;
	s->cap = s->body_len;
}

/*
 * The server's one-byte answer to an SSLRequest or GSSENCRequest.  False
 * when the byte is not an answer and stays for the phase it switched to.
 */
static bool take_answer(struct pg_conn_stream *cs, struct pg_stream *s, uint8_t b,
			pg_frame_fn fn, void *ctx)
{
	struct pg_frame f = { .kind = PG_FRAME_ANSWER, .type = b, .auth_code = cs->auth_code };

	switch (b) {
	case WF_PG_ANSWER_SSL_YES:
	case WF_PG_ANSWER_GSS_YES:
		cs->dir[WF_DIR_FRONTEND].phase = PG_PHASE_ENCRYPTED;
		cs->dir[WF_DIR_BACKEND].phase = PG_PHASE_ENCRYPTED;
		break;
	case WF_PG_ANSWER_NO:
		s->phase = PG_PHASE_TYPED;
		break;
	case 'E':
		/* a server too old for the request answers with an ErrorResponse */
		s->phase = PG_PHASE_TYPED;
		return false;
	default:
		s->phase = PG_PHASE_NOT_POSTGRES;
		return false;
	}
	fn(ctx, &f);
	return true;
}

/* Frames a chunk of a direction in the STARTUP, ANSWER or TYPED phase. */
static void feed_framed(struct pg_conn_stream *cs, struct pg_stream *s, const uint8_t *data,
			size_t len, pg_frame_fn fn, void *ctx)
{
	size_t at = 0, hdr_len, take, msg_start = 0;
	uint64_t need;

	while (at < len) {
		switch (s->phase) {
		case PG_PHASE_ENCRYPTED:
		case PG_PHASE_NOT_POSTGRES:
			emit_unparsed(cs, s->phase, len - at, fn, ctx);
			return;
		case PG_PHASE_ANSWER:
			if (take_answer(cs, s, data[at], fn, ctx))
				at++;
			continue;
		default:
			break;
		}

		if (!s->in_body) {
			if (s->hdr_have == 0) {
				msg_start = at;
				if (s->phase == PG_PHASE_STARTUP && data[at] == TLS_HANDSHAKE) {
					cs->dir[WF_DIR_FRONTEND].phase = PG_PHASE_ENCRYPTED;
					cs->dir[WF_DIR_BACKEND].phase = PG_PHASE_ENCRYPTED;
					continue;
				}
			}
			hdr_len = s->phase == PG_PHASE_TYPED ? WF_PG_TYPED_HDR_LEN : WF_PG_UNTYPED_HDR_LEN;
			take = hdr_len - s->hdr_have;
			if (take > len - at)
				take = len - at;
			memcpy(s->hdr + s->hdr_have, data + at, take);
			s->hdr_have += (uint8_t)take;
			at += take;
			if (s->hdr_have < hdr_len)
				return;
			if (!header_valid(s)) {
				s->phase = PG_PHASE_NOT_POSTGRES;
				s->hdr_have = 0;
				emit_unparsed(cs, PG_PHASE_NOT_POSTGRES, len - msg_start, fn, ctx);
				return;
			}
			begin_body(cs, s);
		}

		need = s->body_len - s->body_have;
		if (s->body_have == 0 && need <= len - at) {
			/* the whole body is in this chunk: no copy */
			at += need;
			emit_message(cs, s, data + at - need, fn, ctx);
			continue;
		}
		if (s->body_have == 0)
			reserve_body(s);
		take = need < len - at ? (size_t)need : len - at;
		if (s->retaining)
			memcpy(s->buf + s->body_have, data + at, take);
		s->body_have += take;
		at += take;
		if (s->body_have == s->body_len)
			emit_message(cs, s, s->retaining ? s->buf : NULL, fn, ctx);
	}
}

/* An unframed chunk: complete messages of known types from its first byte to
 * its last, or nothing. */
static bool frames_exactly(enum wf_dir dir, const uint8_t *data, size_t len)
{
	size_t at = 0;
	uint32_t mlen;

	while (at < len) {
		if (len - at < WF_PG_TYPED_HDR_LEN || !pg_message_by_type(dir, data[at]))
			return false;
		mlen = wf_be32(data + at + 1);
		if (mlen < WF_PG_TYPED_MIN_LEN || mlen > len - at - 1)
			return false;
		at += 1 + (size_t)mlen;
	}
	return true;
}

static void feed_unframed(struct pg_conn_stream *cs, enum wf_dir dir, const uint8_t *data,
			  size_t len, pg_frame_fn fn, void *ctx)
{
	struct pg_frame f = { .kind = PG_FRAME_MESSAGE };
	size_t at = 0;

	if (!frames_exactly(dir, data, len)) {
		emit_unparsed(cs, PG_PHASE_UNFRAMED, len, fn, ctx);
		return;
	}
	while (at < len) {
		f.type = data[at];
		f.len = wf_be32(data + at + 1) - 4;
		f.body = data + at + WF_PG_TYPED_HDR_LEN;
		emit_typed(cs, dir, &f, fn, ctx);
		at += WF_PG_TYPED_HDR_LEN + f.len;
	}
}

void pg_conn_stream_feed(struct pg_conn_stream *cs, enum wf_dir dir, const uint8_t *data,
			 size_t len, bool unframed, pg_frame_fn fn, void *ctx)
{
	struct pg_stream *s = &cs->dir[dir];

	if (unframed && (s->phase == PG_PHASE_STARTUP || s->phase == PG_PHASE_ANSWER ||
			 s->phase == PG_PHASE_TYPED)) {
		drop_partial(s);
		s->phase = PG_PHASE_UNFRAMED;
	}
	if (len == 0)
		return;
	if (s->phase == PG_PHASE_UNFRAMED)
		feed_unframed(cs, dir, data, len, fn, ctx);
	else
		feed_framed(cs, s, data, len, fn, ctx);
}
