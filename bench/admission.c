/* bench/admission — admission decision time with 100 lobbies and 1000
 * sessions: lobbyd's path (pool counters kept up to date, one scheduler
 * call) against a baseline that recounts every session's slot before each
 * decision (what a registry without counters would pay). */
#include "lb-scheduler.h"

#include <stdio.h>
#include <stdlib.h>

#define LOBBIES 100
#define SESSIONS 1000
#define DECISIONS 20000
#define N_POOLS 4

typedef struct
{
  int lobby;
  int pool;
  guint64 px;
} Session;

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void
report (const char *name, double *t, double base_p99)
{
  qsort (t, DECISIONS, sizeof *t, cmp);
  double p50 = t[DECISIONS / 2], p99 = t[(int)(DECISIONS * 0.99)];
  printf ("| %s | %.3f | %.3f | %.2f |\n", name, p50, p99, base_p99 > 0 ? p99 / base_p99 : 1.0);
}

int
main (void)
{
  /* Two GeForce-like GPUs sharing a cap of 8, one unlimited VA-API GPU, software. */
  LbPoolState pools[N_POOLS] = {
    { LB_POOL_HARDWARE, TRUE, 8, 0, 1, 1, 0, 0 },
    { LB_POOL_HARDWARE, TRUE, 8, 0, 0, 1, 0, 0 },
    { LB_POOL_HARDWARE, TRUE, 0, 0, 0, 0, 0, 0 },
    { LB_POOL_SOFTWARE, TRUE, 0, 0, 0, 0, 4000000000ull, 0 },
  };
  LbPoolGroup groups[] = { { 1, 8 } };
  static Session sessions[SESSIONS];
  static double lobbyd[DECISIONS], baseline[DECISIONS];
  guint64 px = 1280ull * 720 * 30;

  /* Fill: 1000 sessions over 100 lobbies, admitted one by one. */
  for (int i = 0; i < SESSIONS; i++)
    {
      LbAdmissionRequest req = { LB_ENCODER_AUTO, FALSE, px, NULL };
      LbDecision d = lb_scheduler_decide (pools, N_POOLS, groups, 1, &req);
      sessions[i] = (Session){ i % LOBBIES, d.pool, px };
      pools[d.pool].used++;
      pools[d.pool].budget_used += px;
    }

  for (int i = 0; i < DECISIONS; i++)
    {
      LbAdmissionRequest req = { i % 3, i % 7 == 0, px, NULL };
      gint64 t0 = g_get_monotonic_time ();
      for (int r = 0; r < 100; r++)
        lb_scheduler_decide (pools, N_POOLS, groups, 1, &req);
      lobbyd[i] = (g_get_monotonic_time () - t0) / 100.0;

      t0 = g_get_monotonic_time ();
      for (int r = 0; r < 100; r++)
        {
          LbPoolState st[N_POOLS];
          for (int p = 0; p < N_POOLS; p++)
            st[p] = pools[p], st[p].used = 0, st[p].budget_used = 0;
          for (int s = 0; s < SESSIONS; s++)
            st[sessions[s].pool].used++, st[sessions[s].pool].budget_used += sessions[s].px;
          lb_scheduler_decide (st, N_POOLS, groups, 1, &req);
        }
      baseline[i] = (g_get_monotonic_time () - t0) / 100.0;
    }

  printf ("bench/admission: %d lobbies, %d sessions, %d pools, %d decisions (x100 each)\n", LOBBIES,
          SESSIONS, N_POOLS, DECISIONS);
  printf ("| path | p50 µs | p99 µs | p99 / recount p99 |\n|---|---|---|---|\n");
  double tmp[DECISIONS];
  for (int i = 0; i < DECISIONS; i++)
    tmp[i] = baseline[i];
  qsort (tmp, DECISIONS, sizeof *tmp, cmp);
  double base_p99 = tmp[(int)(DECISIONS * 0.99)];
  report ("recount sessions + decide (baseline)", baseline, base_p99);
  report ("lobbyd: pool counters + decide", lobbyd, base_p99);
  return 0;
}
