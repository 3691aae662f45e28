// SPDX-License-Identifier: GPL-2.0
/*
 * Real traffic: the vendored golden captures (tests/conformance/golden/,
 * psql <-> mitmdump on 9060 and mitmdump <-> PostgreSQL 15 on 5499, recorded
 * on lo) replayed through the tc program, once per port.  Frames larger than
 * BPF_PROG_TEST_RUN takes are cut into smaller segments (same bytes, same
 * sequence numbers).  For every connection and direction, the kernel's
 * message count must equal a plain userspace framer's count over the same
 * bytes, nothing may go unframed, and the recorded chunks must be exactly
 * the TCP payload.
 */
#include "harness.h"
#include "test_files.h"

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS 64

struct ref_stream {
	struct pb_flow flow;
	uint32_t next[2];	/* next expected seq per direction */
	bool synced[2];
	struct pg_wire bytes[2];
};

struct replay {
	struct wf_harness *h;
	uint16_t port;
	struct ref_stream streams[MAX_STREAMS];
	int n;
	uint64_t frames, cut;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct ref_stream *stream_of(struct replay *r, const struct pb_flow *f)
{
	for (int i = 0; i < r->n; i++) {
		struct ref_stream *s = &r->streams[i];

		if (s->flow.family == f->family && s->flow.client_port == f->client_port &&
		    !memcmp(s->flow.client, f->client, 16) && !memcmp(s->flow.server, f->server, 16))
			return s;
	}
	assert_true(r->n < MAX_STREAMS);
	memset(&r->streams[r->n], 0, sizeof(r->streams[0]));
	r->streams[r->n].flow = *f;
	return &r->streams[r->n++];
}

/* The bytes the receiving application gets, in order (first copy wins). */
static void ref_add(struct ref_stream *s, int dir, uint8_t flags, uint32_t seq, const uint8_t *p,
		    size_t len)
{
	if (flags & PB_TCP_SYN) {
		s->next[dir] = seq + 1;
		s->synced[dir] = true;
		return;
	}
	if (!s->synced[dir] || !len)
		return;
	if ((int32_t)(seq + (uint32_t)len - s->next[dir]) <= 0)
		return;
	assert_true((int32_t)(seq - s->next[dir]) <= 0);	/* captures are in order */
	pgw_raw(&s->bytes[dir], p + (s->next[dir] - seq), len - (s->next[dir] - seq));
	s->next[dir] = seq + (uint32_t)len;
}

/* Plain framer over whole streams: messages whose header is complete. */
static void ref_count(const struct ref_stream *s, uint32_t *fe_msgs, uint32_t *be_msgs)
{
	const uint8_t *fe = s->bytes[C2S].data, *be = s->bytes[S2C].data;
	size_t fl = s->bytes[C2S].len, bl = s->bytes[S2C].len, off = 0;
	uint32_t answers = 0, n = 0;
	bool typed = false, stop = false;

	while (off + 8 <= fl) {
		uint32_t len = be32(fe + off), code = be32(fe + off + 4);

		n++;
		off += len;
		if (code == 80877103 || code == 80877104) {
			answers++;
		} else if (code >> 16 == 3) {
			typed = true;
			break;
		} else {
			stop = true;	/* CancelRequest */
			break;
		}
	}
	while (typed && off + 5 <= fl) {
		n++;
		off += 1 + be32(fe + off + 1);
	}
	*fe_msgs = n;

	n = 0;
	off = 0;
	while (answers-- && off < bl) {
		n++;
		if (be[off++] != 'N')
			stop = true;
	}
	while (!stop && off + 5 <= bl) {
		n++;
		off += 1 + be32(be + off + 1);
	}
	*be_msgs = n;
}

static void replay_frame(struct replay *r, const uint8_t *fr, size_t caplen)
{
	struct pb_flow flow = { 0 };
	struct pb_seg seg = { 0 };
	const uint8_t *tcp;
	uint16_t et = (uint16_t)(fr[12] << 8 | fr[13]), sport, dport;
	size_t l4, hl, plen;
	uint32_t seq;
	uint8_t flags;
	int dir;

	assert_true(caplen >= 14 + 20);
	if (et == 0x0800) {
		l4 = 14 + (size_t)(fr[14] & 15) * 4;
		flow.family = 4;
	} else {
		assert_int_equal(et, 0x86dd);
		l4 = 14 + 40;
		flow.family = 6;
	}
	tcp = fr + l4;
	sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
	dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	if (sport != r->port && dport != r->port) {
		/* the other leg: still run it (other traffic: the headers suffice) */
		assert_int_equal(h_run(r->h, fr, caplen < PB_FRAME_MAX ? caplen : PB_FRAME_MAX, 0, 0, 0),
				 TCX_NEXT_RETVAL);
		return;
	}
	dir = dport == r->port ? C2S : S2C;
	if (flow.family == 4) {
		memcpy(dir == C2S ? flow.client : flow.server, fr + 14 + 12, 4);
		memcpy(dir == C2S ? flow.server : flow.client, fr + 14 + 16, 4);
	} else {
		memcpy(dir == C2S ? flow.client : flow.server, fr + 14 + 8, 16);
		memcpy(dir == C2S ? flow.server : flow.client, fr + 14 + 24, 16);
	}
	flow.client_port = dir == C2S ? sport : dport;
	flow.server_port = dir == C2S ? dport : sport;
	hl = (size_t)(tcp[12] >> 4) * 4;
	plen = caplen - l4 - hl;
	seq = be32(tcp + 4);
	flags = tcp[13];
	r->frames++;

	{
		struct ref_stream *s = stream_of(r, &flow);

		ref_add(s, dir, flags, seq, tcp + hl, plen);
		flow = s->flow;	/* stable storage for the segment */
	}
	if (caplen <= PB_FRAME_MAX) {
		assert_int_equal(h_run(r->h, fr, caplen, 0, 0, 0), TCX_NEXT_RETVAL);
		return;
	}
	/* too big for test_run: the same bytes in PB_MSS pieces */
	seg.flow = &stream_of(r, &flow)->flow;
	seg.from_server = dir == S2C;
	seg.ack = be32(tcp + 8);
	seg.options = tcp + 20;
	seg.options_len = hl - 20;
	for (size_t done = 0; done < plen; done += PB_MSS) {
		size_t n = plen - done < PB_MSS ? plen - done : PB_MSS;

		seg.seq = seq + (uint32_t)done;
		seg.flags = (uint8_t)(done + n < plen ? flags & ~(PB_TCP_FIN | PB_TCP_PSH) : flags);
		seg.payload = tcp + hl + done;
		seg.len = n;
		h_run_seg(r->h, &seg);
		r->cut++;
	}
}

/* Classic pcap, little-endian, Ethernet: what the golden captures are (a
 * few lines here instead of libpcap, whose pcap/bpf.h clashes with
 * linux/bpf.h). */
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void replay_file(const char *path, uint16_t port)
{
	struct h_opts o = { .port = port, .record = true };
	struct replay *r = calloc(1, sizeof(*r));
	struct wf_harness h;
	size_t len, off = 24;
	uint8_t *file = (uint8_t *)wf_test_read_file(path, &len);

	if (!file)
		fail_msg("%s: cannot read", path);

	assert_non_null(r);
	assert_true(len >= 24);
	assert_true(le32(file) == 0xa1b2c3d4u || le32(file) == 0xa1b23c4du);
	assert_int_equal(le32(file + 20), 1);	/* LINKTYPE_ETHERNET */
	assert_int_equal(h_open(&h, &o), 0);
	r->h = &h;
	r->port = port;
	while (off + 16 <= len) {
		uint32_t caplen = le32(file + off + 8), wirelen = le32(file + off + 12);

		off += 16;
		assert_true(off + caplen <= len);
		assert_int_equal(caplen, wirelen);
		replay_frame(r, file + off, caplen);
		off += caplen;
	}
	assert_int_equal(off, len);
	free(file);

	print_message("%s port %u: %llu frames (%llu cut pieces), %d connections, %llu messages\n",
		      strrchr(path, '/') + 1, port, (unsigned long long)r->frames,
		      (unsigned long long)r->cut, r->n,
		      (unsigned long long)h_counter(&h, WF_CNT_MESSAGES));
	assert_true(r->n > 0);
	assert_int_equal(h_counter(&h, WF_CNT_NOT_POSTGRES), 0);
	assert_int_equal(h_counter(&h, WF_CNT_FLOWS_DESYNC), 0);
	assert_int_equal(h_counter(&h, WF_CNT_FLOWS_UNSYNCED), 0);
	assert_int_equal(h_counter(&h, WF_CNT_RACED_SEGMENTS), 0);
	assert_int_equal(h_counter(&h, WF_CNT_ERRORS), 0);
	assert_int_equal(h_counter(&h, WF_CNT_REC_LOST_PIECES), 0);
	assert_int_equal(h_counter(&h, WF_CNT_VERDICT_PASS), h.runs);
	for (int i = 0; i < r->n; i++) {
		struct ref_stream *s = &r->streams[i];
		uint32_t fe, be;
		struct wf_flow f;

		if (!h_flow(&h, &s->flow, &f)) {
			/* only control packets of a connection older than the
			 * capture: they create no entry */
			assert_false(s->synced[C2S] || s->synced[S2C]);
			continue;
		}
		ref_count(s, &fe, &be);
		assert_int_equal(f.dir[C2S].messages, fe);
		assert_int_equal(f.dir[S2C].messages, be);
		assert_int_equal(f.dir[C2S].state, WF_STREAM_TYPED);
		assert_int_equal(f.dir[S2C].state, WF_STREAM_TYPED);
		for (int d = 0; d < 2; d++) {
			struct pg_wire got = { 0 };

			h_stream(&h, f.conn_id, d, &got);
			assert_int_equal(got.len, s->bytes[d].len);
			if (got.len)
				assert_memory_equal(got.data, s->bytes[d].data, got.len);
			pgw_free(&got);
			pgw_free(&s->bytes[d]);
		}
	}
	h_drain(&h);
	for (size_t i = 0; i < h.nrecs; i++)
		assert_int_equal(h.recs[i].hdr.flags & (WF_REC_F_UNFRAMED | WF_REC_F_TRUNCATED), 0);
	h_close(&h);
	free(r);
}

static void test_golden_captures(void **state)
{
	const char *dir = wf_test_conformance_dir();
	char pattern[PATH_MAX];
	glob_t g;

	(void)state;
	if (!dir)
		fail_msg("conformance corpus not found: set WF_CONFORMANCE_DIR or keep tests/conformance");
	snprintf(pattern, sizeof(pattern), "%s/golden/*.pcap", dir);
	if (glob(pattern, 0, NULL, &g) || !g.gl_pathc)
		fail_msg("no captures at %s", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		replay_file(g.gl_pathv[i], 5499);	/* mitmdump <-> PostgreSQL */
		replay_file(g.gl_pathv[i], 9060);	/* psql <-> mitmdump */
	}
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_captures),
	};

	h_require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
