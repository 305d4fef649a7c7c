/* lb-ml-fec.h — the Reed–Solomon erasure code Moonlight clients decode video
 * FEC blocks with: GF(2^8) with the polynomial x^8+x^4+x^3+x^2+1 (0x11D),
 * systematic, k data shards followed by m parity shards, parity row j
 * (0-based) = sum over data shard i of P[j][i]·data[i] with
 * P[j][i] = inv((m + i) XOR j) — a Cauchy matrix, the construction of
 * nanors' rs.c (reed_solomon_new: ps = parity shard count), which
 * moonlight-common-c links. Any k of the k+m shards give back the data.
 *
 * Pure bytes: no GStreamer, no sockets, no state; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* k + m may not exceed this (nanors' RS8_DATA_SHARDS_MAX). */
#define LB_ML_FEC_MAX_SHARDS 255

guint8 lb_ml_gf_mul (guint8 a, guint8 b);
/* The multiplicative inverse; 0 for 0 (as nanors' table has it). */
guint8 lb_ml_gf_inv (guint8 a);
/* P[j][i] of the parity matrix for @m parity shards. */
guint8 lb_ml_fec_coefficient (guint m, guint j, guint i);

/* Writes @m parity shards of @shard_size bytes from @k data shards. FALSE
 * (nothing written) when k == 0 or k + m > LB_ML_FEC_MAX_SHARDS. */
gboolean lb_ml_fec_encode (guint k, guint m, const guint8 *const *data, guint8 *const *parity,
                           gsize shard_size);

/* @shards: k data then m parity shards of @shard_size bytes; @missing[i]
 * TRUE for those lost (their bytes are ignored and overwritten). Rebuilds
 * every missing shard, data and parity. FALSE (nothing written) when more
 * than m are missing or the sizes are out of range. */
gboolean lb_ml_fec_decode (guint k, guint m, guint8 *const *shards, const gboolean *missing,
                           gsize shard_size);

G_END_DECLS
