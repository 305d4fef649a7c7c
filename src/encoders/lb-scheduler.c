/* lb-scheduler.c — pure admission decisions (see lb-scheduler.h). */
#include "lb-scheduler.h"

guint
lb_scheduler_free_slots (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                         guint n_groups, guint index)
{
  const LbPoolState *p = &pools[index];
  guint free_slots = G_MAXUINT;

  if (p->kind != LB_POOL_HARDWARE || !p->usable)
    return 0;
  if (p->limit > 0)
    {
      guint held = p->used + p->external;
      free_slots = held >= p->limit ? 0 : p->limit - held;
    }
  for (guint g = 0; p->group != 0 && g < n_groups; g++)
    {
      if (groups[g].id != p->group)
        continue;
      /* The cap is per system: every pool of the group draws on it. */
      guint held = 0;
      for (guint i = 0; i < n_pools; i++)
        if (pools[i].group == p->group)
          held += pools[i].used + pools[i].external;
      guint group_free = held >= groups[g].limit ? 0 : groups[g].limit - held;
      free_slots = MIN (free_slots, group_free);
    }
  return free_slots;
}

int
lb_scheduler_pick_hardware (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                            guint n_groups, const gboolean *excluded)
{
  int best = -1;
  double best_load = 0;

  for (guint i = 0; i < n_pools; i++)
    {
      if (pools[i].kind != LB_POOL_HARDWARE || (excluded && excluded[i])
          || lb_scheduler_free_slots (pools, n_pools, groups, n_groups, i) == 0)
        continue;
      /* Least loaded first; an unlimited pool counts its sessions as load so
       * encodes still spread across several such GPUs. */
      guint held = pools[i].used + pools[i].external;
      double load = pools[i].limit > 0 ? (double)held / pools[i].limit : held * 1e-6;
      if (best < 0 || load < best_load)
        best = (int)i, best_load = load;
    }
  return best;
}

static int
pick_software (const LbPoolState *pools, guint n_pools, const LbAdmissionRequest *req)
{
  for (guint i = 0; i < n_pools; i++)
    {
      const LbPoolState *p = &pools[i];
      if (p->kind != LB_POOL_SOFTWARE || !p->usable || (req->excluded && req->excluded[i]))
        continue;
      if (p->budget == 0 || p->budget_used + req->pixel_rate <= p->budget)
        return (int)i;
    }
  return -1;
}

static gboolean
any_usable_hardware (const LbPoolState *pools, guint n_pools, const gboolean *excluded)
{
  for (guint i = 0; i < n_pools; i++)
    if (pools[i].kind == LB_POOL_HARDWARE && pools[i].usable && !(excluded && excluded[i]))
      return TRUE;
  return FALSE;
}

LbDecision
lb_scheduler_decide (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                     guint n_groups, const LbAdmissionRequest *req)
{
  LbDecision d = { -1, FALSE, LB_REFUSE_NONE };
  gboolean hardware_only = req->require_hardware || req->preference == LB_ENCODER_HARDWARE;

  if (req->preference != LB_ENCODER_SOFTWARE)
    {
      d.pool = lb_scheduler_pick_hardware (pools, n_pools, groups, n_groups, req->excluded);
      if (d.pool >= 0)
        return d;
      if (hardware_only)
        {
          d.refusal = any_usable_hardware (pools, n_pools, req->excluded)
                          ? LB_REFUSE_HARDWARE_FULL
                          : LB_REFUSE_HARDWARE_UNAVAILABLE;
          return d;
        }
    }
  d.pool = pick_software (pools, n_pools, req);
  if (d.pool < 0)
    {
      d.refusal = LB_REFUSE_SOFTWARE_BUDGET;
      return d;
    }
  d.fallback = req->preference != LB_ENCODER_SOFTWARE;
  return d;
}

const char *
lb_refusal_name (LbRefusal refusal)
{
  switch (refusal)
    {
    case LB_REFUSE_NONE:
      return "none";
    case LB_REFUSE_HARDWARE_UNAVAILABLE:
      return "hardware_unavailable";
    case LB_REFUSE_HARDWARE_FULL:
      return "hardware_full";
    case LB_REFUSE_SOFTWARE_BUDGET:
      return "software_budget_exhausted";
    }
  return "unknown";
}
