/* SPDX-License-Identifier: GPL-2.0 */
/* Big-endian reads from unaligned wire bytes (PostgreSQL and TCP/IP headers). */
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

#endif /* WF_BYTEORDER_H */
