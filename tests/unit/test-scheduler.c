/* Unit tests for the pure admission scheduler: cases from DESIGN.md, then an
 * exhaustive sweep of small pool states checked against the rules. */
#include "lb-scheduler.h"

#define HW(limit, used, ext)                                                                       \
  {                                                                                                \
    LB_POOL_HARDWARE, TRUE, limit, used, ext, 0, 0, 0                                              \
  }
#define SW(budget, used)                                                                           \
  {                                                                                                \
    LB_POOL_SOFTWARE, TRUE, 0, 0, 0, 0, budget, used                                               \
  }
#define PX720 (1280ull * 720 * 30)

static LbDecision
decide (const LbPoolState *pools, guint n, LbEncoderPreference pref, gboolean require,
        const gboolean *excluded)
{
  LbAdmissionRequest req = { pref, require, PX720, excluded };
  return lb_scheduler_decide (pools, n, NULL, 0, &req);
}

static void
test_hardware_first (void)
{
  LbPoolState pools[] = { HW (3, 0, 0), SW (10 * PX720, 0) };
  LbDecision d = decide (pools, 2, LB_ENCODER_AUTO, FALSE, NULL);
  g_assert_cmpint (d.pool, ==, 0);
  g_assert_false (d.fallback);
}

static void
test_full_hardware_falls_back (void)
{
  LbPoolState pools[] = { HW (3, 3, 0), SW (10 * PX720, 0) };
  LbDecision d = decide (pools, 2, LB_ENCODER_AUTO, FALSE, NULL);
  g_assert_cmpint (d.pool, ==, 1);
  g_assert_true (d.fallback);
  /* Other processes' sessions take slots too (the seed's recorder case). */
  LbPoolState shared[] = { HW (3, 1, 2), SW (10 * PX720, 0) };
  g_assert_cmpint (decide (shared, 2, LB_ENCODER_AUTO, FALSE, NULL).pool, ==, 1);
  LbPoolState over[] = { HW (3, 0, 5), SW (10 * PX720, 0) };
  g_assert_cmpint (decide (over, 2, LB_ENCODER_AUTO, FALSE, NULL).pool, ==, 1);
}

static void
test_excluded_after_failed_open (void)
{
  LbPoolState pools[] = { HW (8, 3, 0), SW (10 * PX720, 0) };
  gboolean excluded[] = { TRUE, FALSE };
  LbDecision d = decide (pools, 2, LB_ENCODER_AUTO, FALSE, excluded);
  g_assert_cmpint (d.pool, ==, 1);
  g_assert_true (d.fallback);
}

static void
test_preferences (void)
{
  LbPoolState pools[] = { HW (3, 0, 0), SW (10 * PX720, 0) };
  LbDecision d = decide (pools, 2, LB_ENCODER_SOFTWARE, FALSE, NULL);
  g_assert_cmpint (d.pool, ==, 1);
  g_assert_false (d.fallback); /* asked for software: not a fallback */

  LbPoolState full[] = { HW (3, 3, 0), SW (10 * PX720, 0) };
  d = decide (full, 2, LB_ENCODER_AUTO, TRUE, NULL);
  g_assert_cmpint (d.pool, ==, -1);
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_HARDWARE_FULL);
  d = decide (full, 2, LB_ENCODER_HARDWARE, FALSE, NULL);
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_HARDWARE_FULL);

  LbPoolState none[] = { SW (10 * PX720, 0) };
  d = decide (none, 1, LB_ENCODER_HARDWARE, FALSE, NULL);
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_HARDWARE_UNAVAILABLE);
  LbPoolState unusable[] = { HW (3, 0, 0), SW (10 * PX720, 0) };
  unusable[0].usable = FALSE;
  d = decide (unusable, 2, LB_ENCODER_AUTO, TRUE, NULL);
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_HARDWARE_UNAVAILABLE);
  d = decide (unusable, 2, LB_ENCODER_AUTO, FALSE, NULL);
  g_assert_cmpint (d.pool, ==, 1);
  g_assert_true (d.fallback);
}

static void
test_software_budget (void)
{
  LbPoolState exact[] = { SW (2 * PX720, PX720) };
  g_assert_cmpint (decide (exact, 1, LB_ENCODER_AUTO, FALSE, NULL).pool, ==, 0);
  LbPoolState over[] = { SW (2 * PX720, PX720 + 1) };
  LbDecision d = decide (over, 1, LB_ENCODER_AUTO, FALSE, NULL);
  g_assert_cmpint (d.pool, ==, -1);
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_SOFTWARE_BUDGET);
  LbPoolState nothing[1];
  d = lb_scheduler_decide (nothing, 0, NULL, 0,
                           &(LbAdmissionRequest){ LB_ENCODER_AUTO, FALSE, PX720, NULL });
  g_assert_cmpint (d.refusal, ==, LB_REFUSE_SOFTWARE_BUDGET);
}

static void
test_unlimited_and_least_loaded (void)
{
  LbPoolState pools[] = { HW (0, 50, 7), HW (0, 10, 0), SW (PX720, 0) };
  g_assert_cmpint (decide (pools, 3, LB_ENCODER_AUTO, FALSE, NULL).pool, ==, 1);
  LbPoolState limited[] = { HW (8, 6, 0), HW (3, 1, 0) };
  g_assert_cmpint (decide (limited, 2, LB_ENCODER_AUTO, FALSE, NULL).pool, ==, 1);
  g_assert_cmpuint (lb_scheduler_free_slots (pools, 3, NULL, 0, 0), ==, G_MAXUINT);
  g_assert_cmpuint (lb_scheduler_free_slots (limited, 2, NULL, 0, 0), ==, 2);
}

static void
test_group_cap_is_per_system (void)
{
  /* Two GeForce cards, each believed at 8, one system-wide cap of 3. */
  LbPoolState pools[] = { HW (8, 2, 0), HW (8, 1, 0), SW (10 * PX720, 0) };
  pools[0].group = pools[1].group = 1;
  LbPoolGroup groups[] = { { 1, 3 } };
  LbAdmissionRequest req = { LB_ENCODER_AUTO, FALSE, PX720, NULL };
  LbDecision d = lb_scheduler_decide (pools, 3, groups, 1, &req);
  g_assert_cmpint (d.pool, ==, 2);
  g_assert_true (d.fallback);
  pools[0].used = 1;
  d = lb_scheduler_decide (pools, 3, groups, 1, &req);
  g_assert_cmpint (d.pool, >=, 0);
  g_assert_cmpint (d.pool, <=, 1);
}

/* Every combination of a small state space, checked against the rules:
 * a hardware choice has a free slot; software is chosen only when no
 * hardware slot was acceptable and the budget fits; a refusal only when
 * nothing acceptable existed. */
static void
test_exhaustive_rules (void)
{
  guint checked = 0;
  for (guint limit = 0; limit <= 3; limit++)
    for (guint used = 0; used <= 3; used++)
      for (guint ext = 0; ext <= 2; ext++)
        for (guint usable = 0; usable <= 1; usable++)
          for (guint sw_used = 0; sw_used <= 3; sw_used++)
            for (guint pref = LB_ENCODER_AUTO; pref <= LB_ENCODER_SOFTWARE; pref++)
              for (guint require = 0; require <= 1; require++)
                for (guint excl = 0; excl <= 1; excl++)
                  {
                    LbPoolState pools[]
                        = { HW (limit, used, ext), SW (2 * PX720, sw_used * PX720) };
                    pools[0].usable = usable;
                    gboolean excluded[] = { excl, FALSE };
                    LbAdmissionRequest req = { pref, require, PX720, excluded };
                    LbDecision d = lb_scheduler_decide (pools, 2, NULL, 0, &req);

                    gboolean hw_free = usable && !excl && (limit == 0 || used + ext < limit);
                    gboolean sw_fits = (sw_used + 1) <= 2;
                    gboolean hw_only = require || pref == LB_ENCODER_HARDWARE;
                    gboolean hw_allowed = pref != LB_ENCODER_SOFTWARE;

                    if (hw_allowed && hw_free)
                      g_assert_cmpint (d.pool, ==, 0);
                    else if (hw_only && hw_allowed)
                      g_assert_cmpint (d.pool, ==, -1);
                    else if (sw_fits)
                      {
                        g_assert_cmpint (d.pool, ==, 1);
                        g_assert_cmpint (d.fallback, ==, pref != LB_ENCODER_SOFTWARE);
                      }
                    else
                      {
                        g_assert_cmpint (d.pool, ==, -1);
                        g_assert_cmpint (d.refusal, ==, LB_REFUSE_SOFTWARE_BUDGET);
                      }
                    if (d.pool == -1)
                      g_assert_cmpint (d.refusal, !=, LB_REFUSE_NONE);
                    checked++;
                  }
  g_assert_cmpuint (checked, ==, 4 * 4 * 3 * 2 * 4 * 3 * 2 * 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheduler/hardware-first", test_hardware_first);
  g_test_add_func ("/scheduler/full-hardware-falls-back", test_full_hardware_falls_back);
  g_test_add_func ("/scheduler/excluded-after-failed-open", test_excluded_after_failed_open);
  g_test_add_func ("/scheduler/preferences", test_preferences);
  g_test_add_func ("/scheduler/software-budget", test_software_budget);
  g_test_add_func ("/scheduler/unlimited-and-least-loaded", test_unlimited_and_least_loaded);
  g_test_add_func ("/scheduler/group-cap-is-per-system", test_group_cap_is_per_system);
  g_test_add_func ("/scheduler/exhaustive-rules", test_exhaustive_rules);
  return g_test_run ();
}
