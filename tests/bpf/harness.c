// SPDX-License-Identifier: GPL-2.0
#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command_parse.h"
#include "pipeline_compile.h"
#include "wirefault.skel.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* The verifier log (debug) only when asked: WF_TEST_VERBOSE=1. */
	if (level == LIBBPF_DEBUG && !getenv("WF_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void h_require_bpf(void)
{
	struct wf_harness h;
	struct h_opts o = { .port = 0 };
	int err;

	if (geteuid() != 0) {
		printf("skipped: needs root (loads BPF programs, BPF_PROG_TEST_RUN)\n");
		exit(77);
	}
	libbpf_set_print(libbpf_print);
	err = h_open(&h, &o);
	if (err == -EPERM || err == -ENOSYS || err == -EOPNOTSUPP) {
		printf("skipped: BPF unavailable here: %s\n", strerror(-err));
		exit(77);
	}
	if (err) {
		/* A verifier rejection is a failure, not a skip. */
		fprintf(stderr, "failed to load the tc program: %s (WF_TEST_VERBOSE=1 for the log)\n",
			strerror(-err));
		exit(1);
	}
	h_close(&h);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct wf_harness *h = ctx;
	const struct wf_record *r = data;
	struct h_record *dst;

	assert_true(size >= sizeof(*r));
	assert_int_equal(size, sizeof(*r) + r->len);
	if (h->nrecs == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->recs = realloc(h->recs, h->cap * sizeof(*h->recs));
		assert_non_null(h->recs);
	}
	dst = &h->recs[h->nrecs++];
	dst->hdr = *r;
	dst->data = malloc(r->len ? r->len : 1);
	assert_non_null(dst->data);
	memcpy(dst->data, r + 1, r->len);
	return 0;
}

int h_open(struct wf_harness *h, const struct h_opts *o)
{
	int ncpus = libbpf_num_possible_cpus();
	int err;

	memset(h, 0, sizeof(*h));
	h->skel = wirefault_bpf__open();
	if (!h->skel)
		return -errno;
	bpf_map__set_max_entries(h->skel->maps.rec_scratch,
				 o->scratch_slots ? o->scratch_slots : (uint32_t)ncpus);
	bpf_map__set_max_entries(h->skel->maps.records, o->ring_size ? o->ring_size : 1u << 20);
	if (o->piece_max)
		h->skel->rodata->wf_rec_piece_max = o->piece_max;
	if (o->trim_frame_max)
		h->skel->rodata->wf_trim_frame_max = o->trim_frame_max;
	err = wirefault_bpf__load(h->skel);
	if (err) {
		wirefault_bpf__destroy(h->skel);
		h->skel = NULL;
		return err;
	}
	h->prog_fd = bpf_program__fd(h->skel->progs.wf_tc_ingress);
	h->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.records), on_record, h, NULL);
	if (!h->rb) {
		err = -errno;
		h_close(h);
		return err;
	}
	if (o->port)
		h_set_config(h, o->port, o->record ? WF_CFG_RECORD : 0);
	return 0;
}

void h_close(struct wf_harness *h)
{
	if (h->pub_ready)
		wf_pipe_publisher_fini(&h->pub);
	for (size_t i = 0; i < h->nrecs; i++)
		free(h->recs[i].data);
	free(h->recs);
	ring_buffer__free(h->rb);
	wirefault_bpf__destroy(h->skel);
	memset(h, 0, sizeof(*h));
}

void h_set_config(struct wf_harness *h, uint16_t port, uint32_t flags)
{
	struct wf_config cfg = { .port = port, .flags = flags, .loader_pid = (uint32_t)getpid() };
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(h->skel->maps.config), &zero, &cfg, BPF_ANY), 0);
}

void h_set_config_ports(struct wf_harness *h, const uint16_t *ports, int n, uint32_t flags)
{
	struct wf_config cfg = { .port = ports[0], .flags = flags, .loader_pid = (uint32_t)getpid() };
	uint32_t zero = 0;

	for (int i = 0; i < n && i < WF_MAX_PORTS; i++)
		cfg.ports[cfg.nports++] = ports[i];
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(h->skel->maps.config), &zero, &cfg, BPF_ANY), 0);
}

int h_setup_with(void **state, const struct h_opts *o)
{
	struct wf_harness *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -1;
	err = h_open(h, o);
	if (err) {
		fprintf(stderr, "h_open: %s\n", strerror(-err));
		free(h);
		return -1;
	}
	*state = h;
	return 0;
}

int h_setup_record(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true };

	return h_setup_with(state, &o);
}

int h_setup_norecord(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = false };

	return h_setup_with(state, &o);
}

int h_setup_noconfig(void **state)
{
	struct h_opts o = { .port = 0 };

	return h_setup_with(state, &o);
}

/* What must hold after any sequence of packets. */
static int check_invariants(struct wf_harness *h)
{
	uint64_t pass = h_counter(h, WF_CNT_VERDICT_PASS);
	uint64_t drop = h_counter(h, WF_CNT_VERDICT_DROP);
	uint64_t classes = h_counter(h, WF_CNT_PACKETS) + h_counter(h, WF_CNT_OTHER_PACKETS) +
			   h_counter(h, WF_CNT_NON_TCP_OR_MALFORMED) +
			   h_counter(h, WF_CNT_OWN_PACKETS) + h_counter(h, WF_CNT_NO_CONFIG);
	int bad = 0;

	/* every run ends in exactly one class and exactly one verdict */
	if (pass + drop != h->runs || classes != h->runs) {
		fprintf(stderr, "invariant: %llu runs, VERDICT_PASS %llu + VERDICT_DROP %llu, "
			"classes %llu\n", (unsigned long long)h->runs, (unsigned long long)pass,
			(unsigned long long)drop, (unsigned long long)classes);
		bad = 1;
	}
	/* the FINs and RSTs of kill() could always be built and sent */
	if (h_counter(h, WF_CNT_INJECT_FAILED)) {
		fprintf(stderr, "invariant: INJECT_FAILED = %llu\n",
			(unsigned long long)h_counter(h, WF_CNT_INJECT_FAILED));
		bad = 1;
	}
	if (!h->allow_errors && h_counter(h, WF_CNT_ERRORS)) {
		fprintf(stderr, "invariant: ERRORS = %llu\n",
			(unsigned long long)h_counter(h, WF_CNT_ERRORS));
		bad = 1;
	}
	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++) {
		const struct wf_record *r = &h->recs[i].hdr;

		bool verdict = r->kind == WF_REC_VERDICT;
		bool decision = r->kind == WF_REC_DECISION;

		if (decision) {
			/* a struct wf_decision follows; the chunk it names is seq, chunk_len */
			if (r->len != sizeof(struct wf_decision) || r->dir > 1 || !r->conn_id ||
			    !r->chunk_len || !r->pipe_gen || r->offset || r->flags || r->action) {
				fprintf(stderr, "invariant: bad decision record %zu\n", i);
				bad = 1;
			}
			continue;
		}
		if ((r->kind != WF_REC_CHUNK && r->kind != WF_REC_CLOSE && !verdict) || r->dir > 1 ||
		    r->conn_id == 0 || (r->flags & ~7u) ||
		    (uint64_t)r->offset + r->len > r->chunk_len ||
		    (r->kind == WF_REC_CHUNK && !r->len) || (r->kind == WF_REC_CLOSE && r->len) ||
		    (verdict && (r->len || !r->chunk_len || !r->action || !r->pipe_gen)) ||
		    (!verdict && (r->action || r->pipe_gen))) {
			fprintf(stderr, "invariant: bad record %zu (kind %u dir %u conn %llu "
				"off %u len %u chunk %u flags %#x)\n",
				i, r->kind, r->dir, (unsigned long long)r->conn_id, r->offset, r->len,
				r->chunk_len, r->flags);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

int h_teardown(void **state)
{
	struct wf_harness *h = *state;
	int ret = check_invariants(h);

	h_close(h);
	free(h);
	return ret;
}

int h_run(struct wf_harness *h, const uint8_t *frame, size_t len, uint32_t mark,
	  uint32_t gso_size, uint32_t gso_segs)
{
	struct __sk_buff ctx = { .mark = mark, .gso_size = gso_size, .gso_segs = gso_segs };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame,
		    .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(h->prog_fd, &opts);

	if (err)
		fprintf(stderr, "test_run: %s (frame of %zu bytes)\n", strerror(errno), len);
	assert_int_equal(err, 0);
	h->runs++;
	return (int)opts.retval;
}

int h_run_out(struct wf_harness *h, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
	      size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame,
		    .data_size_in = (uint32_t)len,
		    .data_out = out,
		    .data_size_out = (uint32_t)cap,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(h->prog_fd, &opts);

	if (err)
		fprintf(stderr, "test_run: %s (frame of %zu bytes)\n", strerror(errno), len);
	assert_int_equal(err, 0);
	h->runs++;
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

int h_pipeline_try(struct wf_harness *h, const char *cmd, size_t len, char *err, size_t errsz)
{
	struct wf_pipe_compiled pc;
	int rc;

	if (!h->pub_ready) {
		rc = wf_pipe_publisher_init(&h->pub, bpf_map__fd(h->skel->maps.pipelines),
					    bpf_map__fd(h->skel->maps.dfa_pool),
					    bpf_map__fd(h->skel->maps.pipe_current));
		if (rc) {
			snprintf(err, errsz, "wf_pipe_publisher_init: %s", strerror(-rc));
			return rc;
		}
		h->pub_ready = true;
	}
	/* as the loader does (user/command_exec.c): the command's scope
	 * chooses the pipeline it replaces; conn(sel).allow() clears that scope */
	{
		struct wf_parse_error perr;
		struct wf_command c;
		struct wf_pipe_scope sel = { 0 };

		if (wf_command_parse(cmd, len, &c, &perr)) {
			snprintf(err, errsz, "%s", perr.msg);
			return -EBADMSG;
		}
		sel.port = c.scope.has_port ? c.scope.port : 0;
		sel.has_client = c.scope.client_family != 0;
		memcpy(sel.client_addr, c.scope.client_addr, sizeof(sel.client_addr));
		if (!wf_scope_is_default(&c.scope) && c.kind == WF_CMD_PIPELINE &&
		    c.action.kind == WF_ACTION_ALLOW && !c.nfilters) {
			wf_command_free(&c);
			return wf_pipe_unpublish_scope(&h->pub, &sel) < 0 ? -ENOENT : 0;
		}
		rc = wf_pipeline_compile(&c, &pc, err, errsz);
		wf_command_free(&c);
		if (!rc)
			rc = wf_pipe_publish_scope(&h->pub, &sel, &pc, err, errsz);
		wf_pipe_compiled_free(&pc);
	}
	return rc < 0 ? rc : 0;
}

void h_pipeline(struct wf_harness *h, const char *cmd)
{
	char err[512];

	if (h_pipeline_try(h, cmd, strlen(cmd), err, sizeof(err)))
		fail_msg("%s: %s", cmd, err);
}

void h_pipeline_none(struct wf_harness *h)
{
	assert_true(h->pub_ready);
	wf_pipe_unpublish(&h->pub);
}

void h_run_seg(struct wf_harness *h, const struct pb_seg *s)
{
	uint8_t frame[PB_FRAME_MAX];
	size_t n = pb_build(s, frame, sizeof(frame));

	assert_true(n > 0);
	assert_int_equal(h_run(h, frame, n, 0, 0, 0), TCX_NEXT_RETVAL);
}

uint64_t h_counter(struct wf_harness *h, enum wf_counter c)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *v = calloc((size_t)ncpus, sizeof(*v)), sum = 0;
	uint32_t key = c;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.counters), &key, v), 0);
	for (int i = 0; i < ncpus; i++)
		sum += v[i];
	free(v);
	return sum;
}

void h_flow_key(const struct pb_flow *f, struct wf_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	if (f->family == 4) {
		key->client_addr[10] = key->client_addr[11] = 0xff;
		key->server_addr[10] = key->server_addr[11] = 0xff;
		memcpy(&key->client_addr[12], f->client, 4);
		memcpy(&key->server_addr[12], f->server, 4);
		key->family = WF_FAMILY_IPV4;
	} else {
		memcpy(key->client_addr, f->client, 16);
		memcpy(key->server_addr, f->server, 16);
		key->family = WF_FAMILY_IPV6;
	}
	key->client_port = f->client_port;
	key->server_port = f->server_port;
}

bool h_flow(struct wf_harness *h, const struct pb_flow *f, struct wf_flow *out)
{
	struct wf_flow_key key;

	h_flow_key(f, &key);
	return bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.flows), &key, out) == 0;
}

size_t h_flow_count(struct wf_harness *h)
{
	int fd = bpf_map__fd(h->skel->maps.flows);
	struct wf_flow_key key, next;
	size_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

size_t h_drain(struct wf_harness *h)
{
	size_t before = h->nrecs;
	int n = ring_buffer__consume(h->rb);

	assert_true(n >= 0);
	return h->nrecs - before;
}

size_t h_stream(struct wf_harness *h, uint64_t conn_id, int dir, struct pg_wire *out)
{
	size_t chunks = 0;
	uint32_t expect_off = 0;

	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++) {
		const struct h_record *r = &h->recs[i];

		if (r->hdr.kind != WF_REC_CHUNK || r->hdr.conn_id != conn_id || r->hdr.dir != dir)
			continue;
		assert_int_equal(r->hdr.offset, expect_off);
		if (r->hdr.offset == 0)
			chunks++;
		pgw_raw(out, r->data, r->hdr.len);
		expect_off = r->hdr.offset + r->hdr.len;
		if (expect_off == r->hdr.chunk_len)
			expect_off = 0;
	}
	assert_int_equal(expect_off, 0);	/* no chunk left unfinished */
	return chunks;
}

size_t h_count_records(struct wf_harness *h, uint8_t kind)
{
	size_t n = 0;

	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++)
		n += h->recs[i].hdr.kind == kind;
	return n;
}

/* ---- connections ---------------------------------------------------------- */

void tc_init(struct tconn *c, struct wf_harness *h, int family, uint16_t cport,
	     uint32_t client_isn, uint32_t server_isn)
{
	memset(c, 0, sizeof(*c));
	c->h = h;
	if (family == 6)
		pb_flow_v6(&c->flow, cport, TEST_PORT);
	else
		pb_flow_v4(&c->flow, cport, TEST_PORT);
	c->isn[C2S] = client_isn;
	c->isn[S2C] = server_isn;
	c->next[C2S] = client_isn + 1;
	c->next[S2C] = server_isn + 1;
}

void tc_free(struct tconn *c)
{
	pgw_free(&c->sent[0]);
	pgw_free(&c->sent[1]);
}

/* Linux's options on a data segment: NOP, NOP, timestamps. */
static const uint8_t tc_ts_opts[12] = { 1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78 };

static struct pb_seg tc_build(struct tconn *c, int dir, uint32_t seq, uint8_t flags,
			      const void *data, size_t len)
{
	struct pb_seg s = {
		.flow = &c->flow,
		.from_server = dir == S2C,
		.flags = flags,
		.seq = seq,
		.ack = (flags & PB_TCP_ACK) ? c->next[!dir] : 0,
		.options = tc_ts_opts,
		.options_len = sizeof(tc_ts_opts),
		.payload = data,
		.len = len,
	};

	return s;
}

void tc_seg(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
	struct pb_seg s = tc_build(c, dir, seq, flags, data, len);

	h_run_seg(c->h, &s);
}

int tc_seg_ex(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t len,
	      uint8_t *out, size_t *out_len)
{
	struct pb_seg s = tc_build(c, dir, seq, flags, data, len);
	uint8_t frame[PB_FRAME_MAX], scratch[PB_FRAME_MAX];
	size_t n = pb_build(&s, frame, sizeof(frame)), got;
	int rv;

	assert_true(n > 0);
	rv = h_run_out(c->h, frame, n, out ? out : scratch, PB_FRAME_MAX, &got);
	if (out_len)
		*out_len = got;
	return rv;
}

void tc_handshake(struct tconn *c)
{
	/* SYN options: MSS, SACK permitted, timestamps, NOP, window scale. */
	static const uint8_t syn_opts[] = { 2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1,
					    0, 0, 0, 0, 1, 3, 3, 7 };
	struct pb_seg syn = {
		.flow = &c->flow,
		.flags = PB_TCP_SYN,
		.seq = c->isn[C2S],
		.options = syn_opts,
		.options_len = sizeof(syn_opts),
	};
	struct pb_seg synack = syn;

	h_run_seg(c->h, &syn);
	synack.from_server = true;
	synack.flags = PB_TCP_SYN | PB_TCP_ACK;
	synack.seq = c->isn[S2C];
	synack.ack = c->isn[C2S] + 1;
	h_run_seg(c->h, &synack);
	tc_seg(c, C2S, c->next[C2S], PB_TCP_ACK, NULL, 0);
}

void tc_login(struct tconn *c)
{
	struct pg_wire b = { 0 };

	tc_handshake(c);
	pgw_startup(&b, "postgres", "regression");
	tc_send_buf(c, C2S, &b);
	pgw_reset(&b);
	pgw_login_burst(&b);
	tc_send_buf(c, S2C, &b);
	pgw_free(&b);
}

void tc_send(struct tconn *c, int dir, const void *data, size_t len, size_t mss)
{
	const uint8_t *p = data;

	while (len) {
		size_t n = len < mss ? len : mss;

		tc_seg(c, dir, c->next[dir], PB_TCP_PSH | PB_TCP_ACK, p, n);
		pgw_raw(&c->sent[dir], p, n);
		c->next[dir] += (uint32_t)n;
		p += n;
		len -= n;
	}
}

void tc_send_buf(struct tconn *c, int dir, const struct pg_wire *b)
{
	tc_send(c, dir, b->data, b->len, PB_MSS);
}

void tc_fin(struct tconn *c, int dir)
{
	tc_seg(c, dir, c->next[dir], PB_TCP_FIN | PB_TCP_ACK, NULL, 0);
	c->next[dir] += 1;
}

void tc_rst(struct tconn *c, int dir)
{
	tc_seg(c, dir, c->next[dir], PB_TCP_RST | PB_TCP_ACK, NULL, 0);
}

struct wf_flow tc_flow(struct tconn *c)
{
	struct wf_flow f;

	assert_true(h_flow(c->h, &c->flow, &f));
	return f;
}

void tc_check_recorded(struct tconn *c, int dir)
{
	struct wf_flow f = tc_flow(c);
	struct pg_wire got = { 0 };

	h_stream(c->h, f.conn_id, dir, &got);
	assert_int_equal(got.len, c->sent[dir].len);
	if (got.len)
		assert_memory_equal(got.data, c->sent[dir].data, got.len);
	pgw_free(&got);
}
