/* SPDX-License-Identifier: GPL-2.0 */
/* Big-endian reads and writes of unaligned wire bytes (PostgreSQL and TCP/IP headers). */
#ifndef WF_BYTEORDER_H
#define WF_BYTEORDER_H

#include <stdint.h>

static inline uint16_t wf_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t wf_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void wf_put_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void wf_put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

#endif /* WF_BYTEORDER_H */
