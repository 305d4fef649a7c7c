/* lb-api-moonlight.c — /api/v1/moonlight: the host's status, the operator's
 * PIN for a pairing client, and the paired clients (docs/api.md). */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-config.h"
#include "lb-json.h"
#include "lb-ml-host.h"

#include <string.h>

/* NULL after a 409 reply: the Moonlight host is off or did not start. */
static LbMlHost *
host_or_reply (LbApi *api, LbApiResponse *resp)
{
  if (api->ml_host == NULL)
    lb_api_reply_error (
        resp, LB_ERROR_MOONLIGHT_DISABLED,
        api->config->ml_enabled
            ? "the Moonlight host is not running (a port was busy at start-up: see the log)"
            : "the Moonlight host is disabled ([moonlight] enabled = false)");
  return api->ml_host;
}

void
lb_api_moonlight_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  lb_api_reply_json (resp, 200, lb_ml_host_status_to_json (api->ml_host, api->config));
}

void
lb_api_moonlight_pair (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  static const char *const allowed[] = { "pin", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *pin = NULL;

  LbMlHost *host = host_or_reply (api, resp);
  if (host == NULL)
    return;
  g_autoptr (JsonNode) node = lb_api_read_json_body (req, resp);
  if (node == NULL)
    return;
  JsonObject *obj = json_node_get_object (node);
  if (!lb_json_check_members (obj, "", allowed, &error)
      || !lb_json_get_string (obj, "", "pin", TRUE, 16, &pin, &error))
    {
      lb_api_response_set_error (resp, error);
      return;
    }
  gboolean digits = strlen (pin) == 4;
  for (guint i = 0; digits && i < 4; i++)
    digits = g_ascii_isdigit (pin[i]);
  if (!digits)
    {
      lb_api_reply_error (resp, LB_ERROR_INVALID_FIELD,
                          "pin must be the 4 digits the client shows");
      return;
    }
  gboolean done = lb_ml_host_submit_pin (host, pin, &error);
  lb_api_reply_done (resp, done, error);
}

void
lb_api_moonlight_clients (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbMlHost *host = host_or_reply (api, resp);
  if (host != NULL)
    lb_api_reply_json (resp, 200, lb_ml_host_clients_to_json (host));
}

void
lb_api_moonlight_clients_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  LbMlHost *host = host_or_reply (api, resp);
  if (host == NULL)
    return;
  gboolean done = lb_ml_host_remove_client (host, req->params[0], &error);
  lb_api_reply_done (resp, done, error);
}
