/* ml-pair-driver.c — lb-ml-pairing behind a line protocol, so that a client
 * written in another language (tests/integration/moonlight_client.py) can
 * pair against the real C state machine before there is an HTTP server.
 *
 * Usage: ml-pair-driver STATE_DIR. One JSON object per line on stdin, one
 * reply per line on stdout:
 *   {"op":"identity"}                                  → {"ok":true,"uniqueid":…,"cert_pem":…}
 *   {"op":"getservercert","salt":HEX,"clientcert":HEX} → {"ok":true,"state":"waiting_pin"}
 *   {"op":"pin","pin":"1234"}                          → {"ok":true,"plaincert":HEX}
 *   {"op":"clientchallenge","value":HEX}               → {"ok":true,"challengeresponse":HEX}
 *   {"op":"serverchallengeresp","value":HEX}           → {"ok":true,"pairingsecret":HEX}
 *   {"op":"clientpairingsecret","value":HEX}           →
 * {"ok":true,"paired":true,"client_cert_pem":…} A refusal is
 * {"ok":false,"reason":"<lb_ml_pairing_error_reason>","message":…}. A getservercert starts a new
 * attempt, dropping the previous one. */
#include "lb-ml-identity.h"
#include "lb-ml-pairing.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static const char *
member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

static void
reply (JsonBuilder *b)
{
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  printf ("%s\n", text);
  fflush (stdout);
}

static void
reply_error (JsonBuilder *b, const GError *error)
{
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, error->domain == LB_ML_PAIRING_ERROR
                                        ? lb_ml_pairing_error_reason (error->code)
                                        : "driver");
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, error->message);
}

static void
add (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s STATE_DIR\n", argv[0]);
      return 2;
    }
  GError *error = NULL;
  g_autoptr (LbMlIdentity) identity = lb_ml_identity_load (argv[1], &error);
  if (identity == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_autoptr (LbMlPairing) pairing = NULL;
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, stdin) > 0)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root = NULL;
      if (!json_parser_load_from_data (parser, line, -1, NULL)
          || !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (parser)))
        {
          GError e = { G_IO_ERROR, 0, (char *)"not a JSON object" };
          reply_error (b, &e);
          reply (b);
          continue;
        }
      JsonObject *o = json_node_get_object (root);
      const char *op = member (o, "op");
      g_autofree char *out = NULL;
      const char *out_name = NULL;
      gboolean ok = FALSE;
      g_clear_error (&error);

      if (g_strcmp0 (op, "identity") == 0)
        {
          add (b, "uniqueid", lb_ml_identity_uniqueid (identity));
          add (b, "cert_pem", lb_ml_identity_cert_pem (identity));
          ok = TRUE;
        }
      else if (g_strcmp0 (op, "getservercert") == 0)
        {
          g_clear_pointer (&pairing, lb_ml_pairing_free);
          pairing
              = lb_ml_pairing_new (identity, member (o, "salt"), member (o, "clientcert"), &error);
          ok = pairing != NULL;
        }
      else if (pairing == NULL
               && (g_strcmp0 (op, "pin") == 0 || g_strcmp0 (op, "clientchallenge") == 0
                   || g_strcmp0 (op, "serverchallengeresp") == 0
                   || g_strcmp0 (op, "clientpairingsecret") == 0))
        /* What the HTTP layer answers for an unknown client: no attempt. */
        g_set_error (&error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_OUT_OF_ORDER,
                     "%s without getservercert", op);
      else if (g_strcmp0 (op, "pin") == 0)
        out = lb_ml_pairing_set_pin (pairing, member (o, "pin"), &error), out_name = "plaincert";
      else if (g_strcmp0 (op, "clientchallenge") == 0)
        out = lb_ml_pairing_client_challenge (pairing, member (o, "value"), &error),
        out_name = "challengeresponse";
      else if (g_strcmp0 (op, "serverchallengeresp") == 0)
        out = lb_ml_pairing_server_challenge_resp (pairing, member (o, "value"), &error),
        out_name = "pairingsecret";
      else if (g_strcmp0 (op, "clientpairingsecret") == 0)
        {
          if ((ok = lb_ml_pairing_client_pairing_secret (pairing, member (o, "value"), &error)))
            {
              json_builder_set_member_name (b, "paired");
              json_builder_add_boolean_value (b, TRUE);
              add (b, "client_cert_pem", lb_ml_pairing_client_cert_pem (pairing));
            }
        }
      else
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown op");

      if (out_name && out)
        {
          add (b, out_name, out);
          ok = TRUE;
        }
      if (ok)
        {
          json_builder_set_member_name (b, "ok");
          json_builder_add_boolean_value (b, TRUE);
        }
      else
        reply_error (b, error);
      if (pairing)
        add (b, "state", lb_ml_pairing_state_name (lb_ml_pairing_get_state (pairing)));
      reply (b);
    }
  free (line);
  g_clear_error (&error);
  return 0;
}
