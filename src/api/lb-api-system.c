/* lb-api-system.c — what the daemon says about itself: GET /api/v1/status,
 * /api/v1/system/gpu-status, /api/v1/system/hardware and the OpenAPI
 * document. */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-build-config.h"
#include "lb-media-branch.h"
#include "lb-openapi-resources.h"
#include "lb-pools.h"
#include "lb-registry.h"

void
lb_api_system_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  JsonObject *obj = json_object_new ();
  json_object_set_string_member (obj, "version", LB_VERSION);
  json_object_set_int_member (obj, "uptime_s",
                              (g_get_monotonic_time () - api->started_at) / G_USEC_PER_SEC);
  json_object_set_int_member (obj, "lobbies", lb_registry_get_lobbies (api->registry)->len);
  json_object_set_int_member (obj, "sessions", lb_registry_get_sessions (api->registry)->len);
  json_object_set_int_member (obj, "pipelines", lb_media_live_pipelines ());
  lb_api_reply_object (resp, 200, obj);
}

void
lb_api_system_gpu_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbPools *pools = lb_registry_get_pools (api->registry);
  guint running = lb_registry_count_running_sessions (api->registry);
  guint used = 0;
  int limit = 0;
  JsonObject *obj = json_object_new ();

  /* The seed's five fields. "nvenc" means hardware encoder sessions of all
   * usable hardware pools (other processes' included); the limit is -1 when
   * a usable pool has no cap. software_mode: some session encodes in
   * software because hardware was unavailable (not because it asked to). */
  lb_pools_hardware_totals (pools, &used, &limit);
  json_object_set_int_member (obj, "nvenc_sessions_used", used);
  json_object_set_int_member (obj, "nvenc_sessions_limit", limit);
  gboolean software_mode = lb_registry_count_fallback_sessions (api->registry) > 0;
  json_object_set_boolean_member (obj, "software_mode", software_mode);
  json_object_set_int_member (obj, "active_lobbies", lb_registry_get_lobbies (api->registry)->len);
  json_object_set_int_member (obj, "active_sessions", running);
  json_object_set_int_member (obj, "active_encodes", lb_registry_get_encodes (api->registry)->len);
  /* What the warning says: never "exhausted (0/0)" on a host without a GPU. */
  g_autofree char *message = NULL;
  const char *reason = lb_pools_software_reason (pools, software_mode, &message);
  if (reason != NULL)
    {
      JsonObject *r = json_object_new ();
      json_object_set_string_member (r, "code", reason);
      json_object_set_string_member (r, "message", message);
      g_autofree char *detail = lb_pools_software_reason_detail (pools);
      if (detail != NULL)
        json_object_set_string_member (r, "detail", detail);
      json_object_set_object_member (obj, "software_reason", r);
    }
  else
    json_object_set_null_member (obj, "software_reason");
  g_autofree guint *viewers = lb_registry_count_pool_viewers (api->registry);
  json_object_set_member (obj, "gpus", lb_pools_gpus_to_json (pools));
  json_object_set_member (obj, "pools", lb_pools_to_json (pools, viewers));
  lb_api_reply_object (resp, 200, obj);
}

void
lb_api_system_hardware (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  lb_api_reply_json (resp, 200, lb_pools_hardware_to_json (lb_registry_get_pools (api->registry)));
}

/* docs/openapi.json, compiled in (src/api/lb-openapi.gresource.xml): an
 * installed daemon describes itself without the source tree. */
void
lb_api_system_openapi (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GBytes) doc = g_resource_lookup_data (
      lb_openapi_get_resource (), "/org/lobbyd/openapi.json", G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (doc != NULL);
  resp->status = 200;
  resp->content_type = "application/json";
  resp->body = g_strndup (g_bytes_get_data (doc, NULL), g_bytes_get_size (doc));
}
