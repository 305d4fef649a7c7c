/* test-ml-fec.c — lb-ml-fec: GF(2^8) identities, the parity matrix of
 * nanors' construction, fixed parity vectors (computed by
 * tests/integration/ml_rs.py, written from the math), and decoding back
 * from every pattern of up to m lost shards. */
#include "lb-ml-fec.h"

#include <string.h>

static void
test_gf_identities (void)
{
  /* 2 generates the group: its powers reach all 255 non-zero elements. */
  guint8 x = 1;
  gboolean seen[256] = { 0 };
  for (guint i = 0; i < 255; i++)
    {
      g_assert_false (seen[x]);
      seen[x] = TRUE;
      x = lb_ml_gf_mul (x, 2);
    }
  g_assert_cmpuint (x, ==, 1);
  /* x^8 = x^4 + x^3 + x^2 + 1 (0x11D) */
  g_assert_cmpuint (lb_ml_gf_mul (0x80, 2), ==, 0x1D);
  g_assert_cmpuint (lb_ml_gf_inv (2), ==, 142);
  g_assert_cmpuint (lb_ml_gf_inv (3), ==, 244);
  g_assert_cmpuint (lb_ml_gf_inv (0), ==, 0);
  for (guint a = 0; a < 256; a++)
    {
      g_assert_cmpuint (lb_ml_gf_mul (a, 1), ==, a);
      g_assert_cmpuint (lb_ml_gf_mul (a, 0), ==, 0);
      if (a)
        g_assert_cmpuint (lb_ml_gf_mul (a, lb_ml_gf_inv (a)), ==, 1);
      for (guint b = 0; b < 256; b += 7)
        {
          g_assert_cmpuint (lb_ml_gf_mul (a, b), ==, lb_ml_gf_mul (b, a));
          /* distributive over XOR */
          guint c = (a * 31 + b) & 0xFF;
          g_assert_cmpuint (lb_ml_gf_mul (a, b ^ c), ==, lb_ml_gf_mul (a, b) ^ lb_ml_gf_mul (a, c));
          /* associative */
          g_assert_cmpuint (lb_ml_gf_mul (lb_ml_gf_mul (a, b), c), ==,
                            lb_ml_gf_mul (a, lb_ml_gf_mul (b, c)));
        }
    }
}

static void
test_matrix (void)
{
  /* P[j][i] = inv((m + i) ^ j): for m = 2, k = 3 */
  static const guint8 want[2][3] = { { 142, 244, 71 }, { 244, 142, 167 } };
  for (guint j = 0; j < 2; j++)
    for (guint i = 0; i < 3; i++)
      g_assert_cmpuint (lb_ml_fec_coefficient (2, j, i), ==, want[j][i]);
}

static void
check_vector (guint k, guint m, gsize size, const guint8 *data_flat, const char *const *parity_hex)
{
  g_autofree const guint8 **data = g_new (const guint8 *, k);
  g_autofree guint8 **parity = g_new (guint8 *, m);
  for (guint i = 0; i < k; i++)
    data[i] = data_flat + i * size;
  for (guint j = 0; j < m; j++)
    parity[j] = g_malloc (size);
  g_assert_true (lb_ml_fec_encode (k, m, data, parity, size));
  for (guint j = 0; j < m; j++)
    {
      g_autofree char *hex = g_malloc0 (size * 2 + 1);
      for (gsize b = 0; b < size; b++)
        g_snprintf (hex + b * 2, 3, "%02x", parity[j][b]);
      g_assert_cmpstr (hex, ==, parity_hex[j]);
      g_free (parity[j]);
    }
}

static void
test_fixed_vectors (void)
{
  static const guint8 d1[] = { 1, 2, 3, 4, 0x10, 0x20, 0x30, 0x40, 0xff, 0x00, 0x80, 0x7f };
  static const char *const p1[] = { "83eabf1f", "cfe5609d" };
  check_vector (3, 2, 4, d1, p1);

  guint8 d2[32];
  for (guint i = 0; i < 32; i++)
    d2[i] = i;
  static const char *const p2[]
      = { "74543414f4d4b494", "69492909e9c9a989", "4e6e0e2eceee8eae", "53731333d3f393b3" };
  check_vector (4, 4, 8, d2, p2);
}

/* Encodes random data, then for @patterns random sets of exactly @lose
 * lost shards (and all sets when few) decodes and compares. */
static void
roundtrip (guint k, guint m, gsize size, guint lose, GRand *rand)
{
  guint n = k + m;
  g_autofree guint8 *orig = g_malloc ((gsize)n * size);
  g_autofree guint8 *work = g_malloc ((gsize)n * size);
  g_autofree guint8 **ptrs = g_new (guint8 *, n);
  g_autofree gboolean *missing = g_new0 (gboolean, n);
  for (gsize b = 0; b < (gsize)k * size; b++)
    orig[b] = g_rand_int (rand);
  for (guint s = 0; s < n; s++)
    ptrs[s] = orig + s * size;
  g_assert_true (lb_ml_fec_encode (k, m, (const guint8 *const *)ptrs, ptrs + k, size));
  for (guint s = 0; s < n; s++)
    ptrs[s] = work + s * size;

  for (guint trial = 0; trial < 20; trial++)
    {
      memcpy (work, orig, (gsize)n * size);
      memset (missing, 0, n * sizeof *missing);
      for (guint l = 0; l < lose;)
        {
          guint s = g_rand_int_range (rand, 0, n);
          if (missing[s])
            continue;
          missing[s] = TRUE;
          memset (ptrs[s], 0xA5, size);
          l++;
        }
      g_assert_true (lb_ml_fec_decode (k, m, ptrs, missing, size));
      g_assert_cmpmem (work, (gsize)n * size, orig, (gsize)n * size);
    }

  /* One more lost than there is parity: refused, nothing touched. */
  if (lose == m && m < n)
    {
      memset (missing, 0, n * sizeof *missing);
      for (guint s = 0; s <= m; s++)
        missing[s] = TRUE;
      g_assert_false (lb_ml_fec_decode (k, m, ptrs, missing, size));
    }
}

static void
test_roundtrip (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  static const guint cases[][3]
      = { { 1, 1, 1 },     { 1, 4, 32 },   { 3, 2, 17 },    { 4, 2, 1040 },  { 10, 2, 64 },
          { 20, 4, 1040 }, { 50, 10, 33 }, { 200, 40, 16 }, { 100, 155, 8 }, { 254, 1, 24 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint lose = 0; lose <= cases[c][1]; lose += MAX (1, cases[c][1] / 3))
      roundtrip (cases[c][0], cases[c][1], cases[c][2], lose, rand);
  /* every lost set of exactly m = 2 of a 4+2 block */
  for (guint a = 0; a < 6; a++)
    for (guint b = a + 1; b < 6; b++)
      {
        guint8 orig[6][5], work[6][5];
        guint8 *ptrs[6], *optrs[6];
        gboolean missing[6] = { 0 };
        for (guint s = 0; s < 6; s++)
          {
            optrs[s] = orig[s];
            ptrs[s] = work[s];
          }
        for (guint s = 0; s < 4; s++)
          for (guint i = 0; i < 5; i++)
            orig[s][i] = g_rand_int (rand);
        lb_ml_fec_encode (4, 2, (const guint8 *const *)optrs, optrs + 4, 5);
        memcpy (work, orig, sizeof orig);
        missing[a] = missing[b] = TRUE;
        memset (work[a], 0, 5);
        memset (work[b], 0, 5);
        g_assert_true (lb_ml_fec_decode (4, 2, ptrs, missing, 5));
        g_assert_cmpmem (work, sizeof work, orig, sizeof orig);
      }
}

static void
test_bad_sizes (void)
{
  guint8 a[4] = { 0 }, b[4];
  const guint8 *d[1] = { a };
  guint8 *p[1] = { b };
  g_assert_false (lb_ml_fec_encode (0, 1, d, p, 4));
  g_assert_false (lb_ml_fec_encode (200, 56, d, p, 4));
  g_assert_false (lb_ml_fec_encode (1, 1, d, p, 0));
  g_assert_true (lb_ml_fec_encode (1, 0, d, p, 4));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-fec/gf-identities", test_gf_identities);
  g_test_add_func ("/ml-fec/matrix", test_matrix);
  g_test_add_func ("/ml-fec/fixed-vectors", test_fixed_vectors);
  g_test_add_func ("/ml-fec/roundtrip", test_roundtrip);
  g_test_add_func ("/ml-fec/bad-sizes", test_bad_sizes);
  return g_test_run ();
}
