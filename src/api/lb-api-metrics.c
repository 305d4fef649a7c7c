/* lb-api-metrics.c — GET /metrics: pools, sessions and encoder counters in
 * the Prometheus text exposition format 0.0.4. */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-lobby.h"
#include "lb-output.h"
#include "lb-pools.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"

typedef guint64 (*PoolValue) (LbPool *pool, guint index, gpointer data);

static guint64
pool_used (LbPool *p, guint i, gpointer data)
{
  return p->used;
}

static guint64
pool_viewers (LbPool *p, guint i, gpointer data)
{
  return ((guint *)data)[i];
}

static guint64
pool_external (LbPool *p, guint i, gpointer data)
{
  return p->external;
}

static guint64
pool_usable (LbPool *p, guint i, gpointer data)
{
  return p->usable ? 1 : 0;
}

/* One gauge with a sample per pool. */
static void
append_pool_gauge (GString *out, LbPools *pools, const char *name, const char *help,
                   PoolValue value, gpointer data)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      g_string_append_printf (out, "%s{pool=\"%s\"} %" G_GUINT64_FORMAT "\n", name, p->name,
                              value (p, i, data));
    }
}

void
lb_api_metrics_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbPools *pools = lb_registry_get_pools (api->registry);
  const LbRegistryCounters *c = lb_registry_get_counters (api->registry);
  GString *out = g_string_new (NULL);

  g_autofree guint *viewers = lb_registry_count_pool_viewers (api->registry);
  append_pool_gauge (out, pools, "lobbyd_pool_slots_used", "Encoder slots lobbyd holds in a pool.",
                     pool_used, NULL);
  append_pool_gauge (
      out, pools, "lobbyd_pool_sessions",
      "Sessions watching encodes of a pool (shared encodes: many sessions, one slot).",
      pool_viewers, viewers);
  append_pool_gauge (out, pools, "lobbyd_pool_slots_external",
                     "Encoder sessions other processes hold on the pool's GPU (NVML).",
                     pool_external, NULL);
  g_string_append (out, "# HELP lobbyd_pool_slots_limit Slot limit of a hardware pool (absent: "
                        "unlimited).\n# TYPE lobbyd_pool_slots_limit gauge\n");
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      if (p->limit > 0)
        g_string_append_printf (out, "lobbyd_pool_slots_limit{pool=\"%s\",source=\"%s\"} %u\n",
                                p->name, lb_limit_source_name (p->limit_source), p->limit);
    }
  append_pool_gauge (out, pools, "lobbyd_pool_usable", "1 if the pool can open encodes.",
                     pool_usable, NULL);
  g_string_append (out, "# HELP lobbyd_pool_encode_errors_total Encoder failures per pool.\n"
                        "# TYPE lobbyd_pool_encode_errors_total counter\n");
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      g_string_append_printf (
          out, "lobbyd_pool_encode_errors_total{pool=\"%s\",kind=\"open\"} %" G_GUINT64_FORMAT "\n",
          p->name, p->open_failures);
      g_string_append_printf (
          out,
          "lobbyd_pool_encode_errors_total{pool=\"%s\",kind=\"runtime\"} %" G_GUINT64_FORMAT "\n",
          p->name, p->runtime_errors);
    }
  g_string_append_printf (
      out,
      "# HELP lobbyd_lobbies Lobbies.\n# TYPE lobbyd_lobbies gauge\n"
      "lobbyd_lobbies %u\n"
      "# HELP lobbyd_encodes Running encodes (each holds one encoder slot).\n"
      "# TYPE lobbyd_encodes gauge\n"
      "lobbyd_encodes %u\n"
      "# HELP lobbyd_sessions Sessions by state.\n# TYPE lobbyd_sessions gauge\n"
      "lobbyd_sessions{state=\"running\"} %u\n"
      "lobbyd_sessions{state=\"failed\"} %u\n"
      "# HELP lobbyd_software_mode_sessions Sessions in software because "
      "hardware was unavailable.\n# TYPE lobbyd_software_mode_sessions gauge\n"
      "lobbyd_software_mode_sessions %u\n"
      "# HELP lobbyd_encoder_fallbacks_total Encodes opened in software "
      "because hardware was unavailable.\n"
      "# TYPE lobbyd_encoder_fallbacks_total counter\n"
      "lobbyd_encoder_fallbacks_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_encoder_upgrades_total Fallback encodes moved back to "
      "hardware.\n# TYPE lobbyd_encoder_upgrades_total counter\n"
      "lobbyd_encoder_upgrades_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_admission_refusals_total Joins refused for lack of "
      "encoder capacity.\n# TYPE lobbyd_admission_refusals_total counter\n"
      "lobbyd_admission_refusals_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_encode_errors_total Encoders that failed mid-stream.\n"
      "# TYPE lobbyd_encode_errors_total counter\n"
      "lobbyd_encode_errors_total %" G_GUINT64_FORMAT "\n",
      lb_registry_get_lobbies (api->registry)->len, lb_registry_get_encodes (api->registry)->len,
      lb_registry_count_running_sessions (api->registry),
      lb_registry_get_sessions (api->registry)->len
          - lb_registry_count_running_sessions (api->registry),
      lb_registry_count_fallback_sessions (api->registry), c->fallbacks, c->upgrades, c->refusals,
      c->encode_errors);
  /* Lobbies by what became of their sound: a failed sound server shows here
   * while the lobby itself still counts as running. */
  static const char *const audio_states[] = { "running", "failed", "off" };
  guint audio[G_N_ELEMENTS (audio_states)] = { 0 };
  GPtrArray *lobbies = lb_registry_get_lobbies (api->registry);
  for (guint i = 0; i < lobbies->len; i++)
    for (guint k = 0; k < G_N_ELEMENTS (audio_states); k++)
      if (g_str_equal (lb_lobby_get_audio_state (lobbies->pdata[i]), audio_states[k]))
        audio[k]++;
  g_string_append (out, "# HELP lobbyd_lobbies_audio Lobbies by audio state.\n"
                        "# TYPE lobbyd_lobbies_audio gauge\n");
  for (guint k = 0; k < G_N_ELEMENTS (audio_states); k++)
    g_string_append_printf (out, "lobbyd_lobbies_audio{state=\"%s\"} %u\n", audio_states[k],
                            audio[k]);
  /* Running sessions per transport: Moonlight clients next to RTP and
   * WebRTC viewers (every transport is listed, 0 included). */
  g_string_append (out, "# HELP lobbyd_sessions_by_transport Running sessions by transport.\n"
                        "# TYPE lobbyd_sessions_by_transport gauge\n");
  GPtrArray *sessions = lb_registry_get_sessions (api->registry);
  const LbOutputClass *klass;
  for (guint k = 0; (klass = lb_output_class_nth (k)) != NULL; k++)
    {
      guint n = 0;
      for (guint i = 0; i < sessions->len; i++)
        if (lb_session_is_running (sessions->pdata[i])
            && g_str_equal (lb_session_get_spec (sessions->pdata[i])->transport, klass->transport))
          n++;
      g_string_append_printf (out, "lobbyd_sessions_by_transport{transport=\"%s\"} %u\n",
                              klass->transport, n);
    }
  resp->status = 200;
  resp->content_type = "text/plain; version=0.0.4";
  resp->body = g_string_free (out, FALSE);
}
