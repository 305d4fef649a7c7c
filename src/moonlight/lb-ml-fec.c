/* lb-ml-fec.c — Reed–Solomon over GF(2^8) for Moonlight video FEC. */
#define G_LOG_DOMAIN "lobbyd-ml-fec"

#include "lb-ml-fec.h"

#include <string.h>

/* The field: log/exp tables over the generator 2 (primitive for 0x11D),
 * and a full 256×256 product table so the shard loops are one lookup per
 * byte. Built once. */
static guint8 gf_exp[512];
static guint8 gf_log[256];
static guint8 gf_inv[256];
static guint8 gf_mul_table[256][256];

static void
gf_build (void)
{
  guint x = 1;
  for (guint i = 0; i < 255; i++)
    {
      gf_exp[i] = (guint8)x;
      gf_log[x] = (guint8)i;
      x <<= 1;
      if (x & 0x100)
        x ^= 0x11D;
    }
  for (guint i = 255; i < 512; i++)
    gf_exp[i] = gf_exp[i - 255];
  gf_inv[0] = 0;
  for (guint a = 1; a < 256; a++)
    gf_inv[a] = gf_exp[255 - gf_log[a]];
  for (guint a = 0; a < 256; a++)
    for (guint b = 0; b < 256; b++)
      gf_mul_table[a][b] = (a && b) ? gf_exp[gf_log[a] + gf_log[b]] : 0;
}

static void
gf_ensure (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      gf_build ();
      g_once_init_leave (&done, 1);
    }
}

guint8
lb_ml_gf_mul (guint8 a, guint8 b)
{
  gf_ensure ();
  return gf_mul_table[a][b];
}

guint8
lb_ml_gf_inv (guint8 a)
{
  gf_ensure ();
  return gf_inv[a];
}

guint8
lb_ml_fec_coefficient (guint m, guint j, guint i)
{
  gf_ensure ();
  /* (m + i) > j always (j < m), so the argument is never 0; all m + k
   * values m+i and j are distinct, which makes every square submatrix of
   * P invertible (Cauchy) — the reason any k shards suffice. */
  return gf_inv[((m + i) ^ j) & 0xFF];
}

/* dst ^= c · src */
static void
mul_add (guint8 *dst, const guint8 *src, guint8 c, gsize n)
{
  if (c == 0)
    return;
  if (c == 1)
    {
      for (gsize b = 0; b < n; b++)
        dst[b] ^= src[b];
      return;
    }
  const guint8 *row = gf_mul_table[c];
  for (gsize b = 0; b < n; b++)
    dst[b] ^= row[src[b]];
}

static gboolean
sizes_ok (guint k, guint m, gsize shard_size)
{
  return k > 0 && k + m <= LB_ML_FEC_MAX_SHARDS && shard_size > 0;
}

gboolean
lb_ml_fec_encode (guint k, guint m, const guint8 *const *data, guint8 *const *parity,
                  gsize shard_size)
{
  if (!sizes_ok (k, m, shard_size))
    return FALSE;
  gf_ensure ();
  for (guint j = 0; j < m; j++)
    {
      memset (parity[j], 0, shard_size);
      for (guint i = 0; i < k; i++)
        mul_add (parity[j], data[i], lb_ml_fec_coefficient (m, j, i), shard_size);
    }
  return TRUE;
}

/* Inverts the k×k matrix @a (row-major) into @inv by Gauss–Jordan. FALSE if
 * singular (never for rows taken from [I; P], P Cauchy). */
static gboolean
invert (guint8 *a, guint8 *inv, guint k)
{
  memset (inv, 0, (gsize)k * k);
  for (guint r = 0; r < k; r++)
    inv[r * k + r] = 1;
  for (guint col = 0; col < k; col++)
    {
      guint pivot = col;
      while (pivot < k && a[pivot * k + col] == 0)
        pivot++;
      if (pivot == k)
        return FALSE;
      if (pivot != col)
        for (guint c = 0; c < k; c++)
          {
            guint8 t = a[col * k + c];
            a[col * k + c] = a[pivot * k + c];
            a[pivot * k + c] = t;
            t = inv[col * k + c];
            inv[col * k + c] = inv[pivot * k + c];
            inv[pivot * k + c] = t;
          }
      guint8 s = gf_inv[a[col * k + col]];
      for (guint c = 0; c < k; c++)
        {
          a[col * k + c] = gf_mul_table[s][a[col * k + c]];
          inv[col * k + c] = gf_mul_table[s][inv[col * k + c]];
        }
      for (guint r = 0; r < k; r++)
        {
          guint8 f = a[r * k + col];
          if (r == col || f == 0)
            continue;
          mul_add (a + r * k, a + col * k, f, k);
          mul_add (inv + r * k, inv + col * k, f, k);
        }
    }
  return TRUE;
}

gboolean
lb_ml_fec_decode (guint k, guint m, guint8 *const *shards, const gboolean *missing,
                  gsize shard_size)
{
  if (!sizes_ok (k, m, shard_size))
    return FALSE;
  gf_ensure ();

  guint lost_data = 0, lost_total = 0;
  for (guint i = 0; i < k + m; i++)
    if (missing[i])
      {
        lost_total++;
        if (i < k)
          lost_data++;
      }
  if (lost_total > m)
    return FALSE;

  if (lost_data > 0)
    {
      /* The first k shards we have, data first; row r of @a expresses
       * shard used[r] in terms of the data shards. */
      g_autofree guint *used = g_new (guint, k);
      g_autofree guint8 *a = g_malloc0 ((gsize)k * k);
      g_autofree guint8 *inv = g_malloc ((gsize)k * k);
      guint n = 0;
      for (guint s = 0; s < k + m && n < k; s++)
        {
          if (missing[s])
            continue;
          if (s < k)
            a[n * k + s] = 1;
          else
            for (guint i = 0; i < k; i++)
              a[n * k + i] = lb_ml_fec_coefficient (m, s - k, i);
          used[n++] = s;
        }
      if (!invert (a, inv, k))
        return FALSE;
      for (guint i = 0; i < k; i++)
        {
          if (!missing[i])
            continue;
          memset (shards[i], 0, shard_size);
          for (guint r = 0; r < k; r++)
            mul_add (shards[i], shards[used[r]], inv[i * k + r], shard_size);
        }
    }

  /* Parity from the (now complete) data, for the lost parity shards. */
  for (guint j = 0; j < m; j++)
    {
      if (!missing[k + j])
        continue;
      memset (shards[k + j], 0, shard_size);
      for (guint i = 0; i < k; i++)
        mul_add (shards[k + j], shards[i], lb_ml_fec_coefficient (m, j, i), shard_size);
    }
  return TRUE;
}
