/* lb-ml-nvhttp.c — GameStream HTTP/HTTPS endpoints on libsoup-3. */
#define G_LOG_DOMAIN "lobbyd-ml-nvhttp"
#include "lb-ml-nvhttp.h"
#include "lb-error.h"
#include "lb-ml-pairing.h"

#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

/* What clients require of the host (MOONLIGHT.md §0): the 7.1.431 protocol
 * generation and a negative 4th field for the Sunshine extensions. */
#define APP_VERSION "7.1.431.-1"
#define GFE_VERSION "3.23.0.74"
/* Query values longer than this are refused before anything parses them
 * (a PEM client certificate in hex is the longest legitimate one). */
#define MAX_PARAM_LEN (64 * 1024 + 2)

/* A small solid box-art PNG (128x180) served for every app: clients show it
 * in their app grid; lobbies have no artwork of their own. */
static const guint8 box_png[] = {
#include "lb-ml-box-png.inc"
};

struct _LbMlNvhttp
{
  SoupServer *http;
  SoupServer *https;
  LbMlIdentity *identity;
  LbMlNvhttpBackend backend;
  gpointer user_data;
  guint16 http_port, https_port, rtsp_port;
  char *hostname;
  guint pair_timeout_s;
  /* The one pairing attempt (one client at a time). */
  LbMlPairing *attempt;
  char *attempt_name;
  char *attempt_address;
  SoupServerMessage *held; /* getservercert waiting for the PIN (a ref), or NULL */
  guint held_timeout;
};

/* ---- XML replies ---- */

static GString *
xml_begin (guint status_code, const char *message)
{
  GString *s = g_string_new ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root status_code=\"");
  g_string_append_printf (s, "%u\"", status_code);
  if (message != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (message, -1);
      g_autofree char *esc = g_markup_escape_text (valid, -1);
      g_string_append_printf (s, " status_message=\"%s\"", esc);
    }
  g_string_append (s, ">\n");
  return s;
}

static void
xml_elem (GString *s, const char *tag, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid (value, -1);
  g_autofree char *esc = g_markup_escape_text (valid, -1);
  g_string_append_printf (s, "<%s>%s</%s>\n", tag, esc, tag);
}

static void
xml_elem_uint (GString *s, const char *tag, guint64 value)
{
  g_string_append_printf (s, "<%s>%" G_GUINT64_FORMAT "</%s>\n", tag, value, tag);
}

static void
send_xml (SoupServerMessage *msg, GString *s)
{
  g_string_append (s, "</root>\n");
  gsize len = s->len;
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/xml", SOUP_MEMORY_TAKE,
                                    g_string_free (s, FALSE), len);
}

/* Every refusal: HTTP 200 (clients fail on anything else) with the reason. */
static void refuse (SoupServerMessage *msg, guint status_code, const char *extra_tag,
                    const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
refuse (SoupServerMessage *msg, guint status_code, const char *extra_tag, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  GString *s = xml_begin (status_code, message);
  if (extra_tag != NULL)
    xml_elem (s, extra_tag, "0");
  send_xml (msg, s);
  g_debug ("%s refused (%u): %s", g_uri_get_path (soup_server_message_get_uri (msg)), status_code,
           message);
}

/* ---- Request helpers ---- */

static const char *
param (GHashTable *query, const char *name)
{
  const char *v = query != NULL ? g_hash_table_lookup (query, name) : NULL;
  return v;
}

/* An unsigned decimal in [min, max]: digits only, no sign, no spaces. */
static gboolean
parse_uint (const char *text, guint64 min, guint64 max, guint64 *out)
{
  if (text == NULL || *text == '\0' || strlen (text) > 20)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  guint64 v = g_ascii_strtoull (text, NULL, 10);
  if (v < min || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

/* rikeyid is sent as a signed 32-bit decimal by some clients: keep its bits. */
static gboolean
parse_rikeyid (const char *text, guint32 *out)
{
  guint64 v;
  if (text != NULL && text[0] == '-')
    {
      if (!parse_uint (text + 1, 0, (guint64)G_MAXINT32 + 1, &v))
        return FALSE;
      *out = (guint32)(-(gint64)v);
      return TRUE;
    }
  if (!parse_uint (text, 0, G_MAXUINT32, &v))
    return FALSE;
  *out = (guint32)v;
  return TRUE;
}

/* "WIDTHxHEIGHTxFPS" (fps may be 0: moonlight-android sends it). */
static gboolean
parse_mode (const char *text, guint *w, guint *h, guint *fps)
{
  if (text == NULL)
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (text, "x", 4);
  guint64 a, b, c;
  if (g_strv_length (parts) != 3 || !parse_uint (parts[0], 64, 7680, &a)
      || !parse_uint (parts[1], 64, 4320, &b) || !parse_uint (parts[2], 0, 1000, &c))
    return FALSE;
  *w = (guint)a;
  *h = (guint)b;
  *fps = (guint)c;
  return TRUE;
}

/* The local address the client connected to, for LocalIP and sessionUrl0
 * (a multi-homed host answers with the address the client used). IPv4
 * only, as clients expect; IPv6 gives 127.0.0.1 like Sunshine. */
static char *
local_ip (SoupServerMessage *msg)
{
  GSocketAddress *addr = soup_server_message_get_local_address (msg);
  if (!G_IS_INET_SOCKET_ADDRESS (addr))
    return g_strdup ("127.0.0.1");
  GInetAddress *ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr));
  if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV4)
    return g_inet_address_to_string (ia);
  const guint8 *b = g_inet_address_to_bytes (ia);
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (memcmp (b, mapped, 12) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  return g_strdup ("127.0.0.1");
}

static const char *
remote_ip (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);
  return host != NULL ? host : "";
}

/* The paired client of an HTTPS request's certificate, or NULL. */
static char *
request_client (LbMlNvhttp *nv, SoupServerMessage *msg)
{
  GTlsCertificate *cert = soup_server_message_get_tls_peer_certificate (msg);
  if (cert == NULL)
    return NULL;
  g_autoptr (GByteArray) der = NULL;
  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL || der->len == 0)
    return NULL;
  return nv->backend.client_for_cert (der->data, der->len, nv->user_data);
}

/* ---- Pairing ---- */

static void
attempt_clear (LbMlNvhttp *nv)
{
  g_clear_pointer (&nv->attempt, lb_ml_pairing_free);
  g_clear_pointer (&nv->attempt_name, g_free);
  g_clear_pointer (&nv->attempt_address, g_free);
}

static void on_held_gone (SoupServerMessage *msg, gpointer user_data);

/* Lets go of the held getservercert: with @reply as its answer, or (NULL)
 * because its client is gone. */
static void
release_held (LbMlNvhttp *nv, GString *reply)
{
  SoupServerMessage *msg = g_steal_pointer (&nv->held);
  if (msg == NULL)
    {
      if (reply != NULL)
        g_string_free (reply, TRUE);
      return;
    }
  g_clear_handle_id (&nv->held_timeout, g_source_remove);
  g_signal_handlers_disconnect_by_func (msg, on_held_gone, nv);
  if (reply != NULL)
    {
      send_xml (msg, reply);
      soup_server_message_unpause (msg);
    }
  g_object_unref (msg);
  nv->backend.pair_pending (FALSE, nv->attempt_name, nv->attempt_address, nv->user_data);
}

static void
on_held_gone (SoupServerMessage *msg, gpointer user_data)
{
  LbMlNvhttp *nv = user_data;
  g_debug ("the client waiting for a PIN left");
  release_held (nv, NULL);
  attempt_clear (nv);
}

static gboolean
on_held_timeout (gpointer user_data)
{
  LbMlNvhttp *nv = user_data;
  nv->held_timeout = 0;
  g_message ("pairing: no PIN entered within %u s for %s (%s)", nv->pair_timeout_s,
             nv->attempt_name, nv->attempt_address);
  GString *s = xml_begin (408, "no PIN was entered on the host in time: pair again");
  xml_elem (s, "paired", "0");
  release_held (nv, s);
  attempt_clear (nv);
  return G_SOURCE_REMOVE;
}

static void
pair_refuse (LbMlNvhttp *nv, SoupServerMessage *msg, const GError *error)
{
  guint code = 400;
  const char *reason = "bad_request";
  if (error->domain == LB_ML_PAIRING_ERROR)
    {
      reason = lb_ml_pairing_error_reason ((LbMlPairingError)error->code);
      if (error->code == LB_ML_PAIRING_ERROR_HASH_MISMATCH
          || error->code == LB_ML_PAIRING_ERROR_BAD_SIGNATURE)
        code = 401;
      else if (error->code == LB_ML_PAIRING_ERROR_INTERNAL)
        code = 500;
    }
  refuse (msg, code, "paired", "%s: %s", reason, error->message);
}

static void
pair_getservercert (LbMlNvhttp *nv, SoupServerMessage *msg, GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  if (nv->held != NULL)
    {
      /* Only one client waits at a time: the operator types the PIN of the
       * client named in the status; a newcomer must not take its place. */
      refuse (msg, 503, "paired", "another client (%s) is waiting for its PIN: try again later",
              nv->attempt_name);
      return;
    }
  LbMlPairing *attempt = lb_ml_pairing_new (nv->identity, param (query, "salt"),
                                            param (query, "clientcert"), &error);
  if (attempt == NULL)
    {
      pair_refuse (nv, msg, error);
      return;
    }
  attempt_clear (nv);
  nv->attempt = attempt;
  const char *name = param (query, "devicename");
  nv->attempt_name
      = g_utf8_make_valid (name != NULL && *name && strlen (name) <= 64 ? name : "Moonlight", -1);
  nv->attempt_address = g_strdup (remote_ip (msg));
  nv->held = g_object_ref (msg);
  soup_server_message_pause (msg);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_held_gone), nv);
  g_signal_connect (msg, "finished", G_CALLBACK (on_held_gone), nv);
  nv->held_timeout = g_timeout_add_seconds (nv->pair_timeout_s, on_held_timeout, nv);
  g_message ("pairing: %s (%s) waits for the PIN (POST /api/v1/moonlight/pair)", nv->attempt_name,
             nv->attempt_address);
  nv->backend.pair_pending (TRUE, nv->attempt_name, nv->attempt_address, nv->user_data);
}

gboolean
lb_ml_nvhttp_submit_pin (LbMlNvhttp *nv, const char *pin, GError **error)
{
  if (nv->held == NULL || nv->attempt == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NO_PAIRING_PENDING,
                   "no Moonlight client is waiting for a PIN");
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autofree char *plaincert = lb_ml_pairing_set_pin (nv->attempt, pin, &local);
  if (plaincert == NULL)
    {
      if (g_error_matches (local, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_BAD_PIN))
        {
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "pin: %s", local->message);
          return FALSE;
        }
      GString *s = xml_begin (500, local->message);
      xml_elem (s, "paired", "0");
      release_held (nv, s);
      attempt_clear (nv);
      g_set_error (error, LB_ERROR, LB_ERROR_INTERNAL, "pairing: %s", local->message);
      return FALSE;
    }
  GString *s = xml_begin (200, NULL);
  xml_elem (s, "paired", "1");
  xml_elem (s, "plaincert", plaincert);
  release_held (nv, s);
  return TRUE;
}

gboolean
lb_ml_nvhttp_get_pending (LbMlNvhttp *nv, const char **name, const char **address)
{
  if (nv->held == NULL)
    return FALSE;
  if (name != NULL)
    *name = nv->attempt_name;
  if (address != NULL)
    *address = nv->attempt_address;
  return TRUE;
}

/* Phrases 2–4 continue the attempt of the client at the same address. */
static LbMlPairing *
attempt_for (LbMlNvhttp *nv, SoupServerMessage *msg)
{
  if (nv->attempt == NULL || nv->held != NULL
      || g_strcmp0 (nv->attempt_address, remote_ip (msg)) != 0)
    {
      refuse (msg, 400, "paired",
              "out_of_order: no pairing in progress for this client: start with getservercert");
      return NULL;
    }
  return nv->attempt;
}

static void
handle_pair (LbMlNvhttp *nv, SoupServerMessage *msg, GHashTable *query, gboolean https,
             const char *client_id)
{
  const char *phrase = param (query, "phrase");
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (phrase, "pairchallenge") == 0)
    {
      if (!https || client_id == NULL)
        {
          refuse (msg, 401, "paired", "pairchallenge needs HTTPS with a paired certificate");
          return;
        }
      GString *s = xml_begin (200, NULL);
      xml_elem (s, "paired", "1");
      send_xml (msg, s);
      return;
    }
  if (g_strcmp0 (phrase, "getservercert") == 0)
    {
      pair_getservercert (nv, msg, query);
      return;
    }
  if (phrase != NULL)
    {
      refuse (msg, 400, "paired", "unknown pairing phrase");
      return;
    }

  const char *v;
  GString *s = NULL;
  if ((v = param (query, "clientchallenge")) != NULL)
    {
      LbMlPairing *a = attempt_for (nv, msg);
      if (a == NULL)
        return;
      g_autofree char *r = lb_ml_pairing_client_challenge (a, v, &error);
      if (r != NULL)
        {
          s = xml_begin (200, NULL);
          xml_elem (s, "paired", "1");
          xml_elem (s, "challengeresponse", r);
        }
    }
  else if ((v = param (query, "serverchallengeresp")) != NULL)
    {
      LbMlPairing *a = attempt_for (nv, msg);
      if (a == NULL)
        return;
      g_autofree char *r = lb_ml_pairing_server_challenge_resp (a, v, &error);
      if (r != NULL)
        {
          s = xml_begin (200, NULL);
          xml_elem (s, "paired", "1");
          xml_elem (s, "pairingsecret", r);
        }
    }
  else if ((v = param (query, "clientpairingsecret")) != NULL)
    {
      LbMlPairing *a = attempt_for (nv, msg);
      if (a == NULL)
        return;
      if (lb_ml_pairing_client_pairing_secret (a, v, &error))
        {
          if (!nv->backend.paired (nv->attempt_name, lb_ml_pairing_client_cert_pem (a),
                                   nv->user_data, &error))
            {
              refuse (msg, 500, "paired", "the host could not store the pairing: %s",
                      error->message);
              attempt_clear (nv);
              return;
            }
          g_message ("pairing: %s (%s) paired", nv->attempt_name, nv->attempt_address);
          attempt_clear (nv);
          s = xml_begin (200, NULL);
          xml_elem (s, "paired", "1");
        }
    }
  else
    {
      refuse (msg, 400, "paired", "missing phrase");
      return;
    }
  if (s == NULL)
    {
      pair_refuse (nv, msg, error);
      attempt_clear (nv); /* any refusal ends the attempt */
      return;
    }
  send_xml (msg, s);
}

/* ---- The other endpoints ---- */

static void
handle_serverinfo (LbMlNvhttp *nv, SoupServerMessage *msg, gboolean https, const char *client_id)
{
  guint32 game = client_id != NULL ? nv->backend.current_game (client_id, nv->user_data) : 0;
  g_autofree char *ip = local_ip (msg);
  GString *s = xml_begin (200, NULL);
  xml_elem (s, "hostname", nv->hostname);
  xml_elem (s, "appversion", APP_VERSION);
  xml_elem (s, "GfeVersion", GFE_VERSION);
  xml_elem (s, "uniqueid", lb_ml_identity_uniqueid (nv->identity));
  xml_elem_uint (s, "HttpsPort", nv->https_port);
  xml_elem_uint (s, "ExternalPort", nv->http_port);
  xml_elem (s, "MaxLumaPixelsHEVC", "0");
  xml_elem (s, "mac", "00:00:00:00:00:00");
  xml_elem (s, "LocalIP", ip);
  xml_elem_uint (s, "ServerCodecModeSupport", 1); /* H.264 only */
  xml_elem (s, "SupportedDisplayMode", "");
  xml_elem (s, "PairStatus", https && client_id != NULL ? "1" : "0");
  xml_elem_uint (s, "currentgame", game);
  xml_elem (s, "state", game != 0 ? "SUNSHINE_SERVER_BUSY" : "SUNSHINE_SERVER_FREE");
  send_xml (msg, s);
}

static void
handle_applist (LbMlNvhttp *nv, SoupServerMessage *msg)
{
  g_autoptr (GArray) apps = nv->backend.apps (nv->user_data);
  GString *s = xml_begin (200, NULL);
  for (guint i = 0; i < apps->len; i++)
    {
      const LbMlApp *app = &g_array_index (apps, LbMlApp, i);
      g_string_append (s, "<App>\n");
      xml_elem (s, "IsHdrSupported", "0");
      xml_elem (s, "AppTitle", app->title);
      xml_elem_uint (s, "ID", app->id);
      g_string_append (s, "</App>\n");
    }
  send_xml (msg, s);
}

static gboolean
app_exists (LbMlNvhttp *nv, guint32 id)
{
  g_autoptr (GArray) apps = nv->backend.apps (nv->user_data);
  for (guint i = 0; i < apps->len; i++)
    if (g_array_index (apps, LbMlApp, i).id == id)
      return TRUE;
  return FALSE;
}

static void
handle_appasset (LbMlNvhttp *nv, SoupServerMessage *msg, GHashTable *query)
{
  guint64 id;
  if (!parse_uint (param (query, "appid"), 1, G_MAXUINT32, &id) || !app_exists (nv, (guint32)id))
    {
      refuse (msg, 404, NULL, "no such app");
      return;
    }
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_STATIC, (const char *)box_png,
                                    sizeof box_png);
}

static void
handle_launch (LbMlNvhttp *nv, SoupServerMessage *msg, GHashTable *query, const char *client_id,
               gboolean resume)
{
  LbMlLaunchRequest req = { .client_id = client_id, .address = remote_ip (msg), .resume = resume };
  guint64 id = 0;
  g_autoptr (GError) error = NULL;

  if (resume)
    {
      req.app_id = nv->backend.current_game (client_id, nv->user_data);
      if (req.app_id == 0)
        {
          refuse (msg, 503, "resume", "nothing is running to resume: launch an app");
          return;
        }
    }
  else
    {
      if (!parse_uint (param (query, "appid"), 1, G_MAXUINT32, &id))
        {
          refuse (msg, 400, "gamesession", "appid missing or not a number");
          return;
        }
      req.app_id = (guint32)id;
      if (!app_exists (nv, req.app_id))
        {
          refuse (msg, 404, "gamesession", "no app %u: the lobby is gone", req.app_id);
          return;
        }
      if (!parse_mode (param (query, "mode"), &req.width, &req.height, &req.fps))
        {
          refuse (msg, 400, "gamesession", "mode must be WIDTHxHEIGHTxFPS within 7680x4320");
          return;
        }
    }
  const char *rikey = param (query, "rikey");
  g_autoptr (GBytes) key = rikey != NULL ? lb_ml_hex_decode (rikey, 16) : NULL;
  if (key == NULL || g_bytes_get_size (key) != 16)
    {
      refuse (msg, 400, resume ? "resume" : "gamesession", "rikey must be 32 hex characters");
      return;
    }
  memcpy (req.rikey, g_bytes_get_data (key, NULL), 16);
  if (!parse_rikeyid (param (query, "rikeyid"), &req.rikeyid))
    {
      refuse (msg, 400, resume ? "resume" : "gamesession", "rikeyid must be a 32-bit number");
      return;
    }
  if (!nv->backend.launch (&req, nv->user_data, &error))
    {
      refuse (msg, 503, resume ? "resume" : "gamesession", "%s", error->message);
      return;
    }
  g_autofree char *ip = local_ip (msg);
  g_autofree char *url = g_strdup_printf ("rtsp://%s:%u", ip, nv->rtsp_port);
  GString *s = xml_begin (200, NULL);
  xml_elem (s, resume ? "resume" : "gamesession", "1");
  xml_elem (s, "sessionUrl0", url);
  send_xml (msg, s);
}

static void
handle_cancel (LbMlNvhttp *nv, SoupServerMessage *msg, const char *client_id)
{
  nv->backend.cancel (client_id, nv->user_data);
  GString *s = xml_begin (200, NULL);
  xml_elem (s, "cancel", "1");
  send_xml (msg, s);
}

static void
handle_unpair (LbMlNvhttp *nv, SoupServerMessage *msg, const char *client_id)
{
  /* Over HTTP the host cannot tell which client asks (every client sends
   * the same uniqueid): only a certificate unpairs itself. */
  if (client_id != NULL)
    nv->backend.unpair (client_id, nv->user_data);
  send_xml (msg, xml_begin (200, NULL));
}

static gboolean
query_too_large (GHashTable *query)
{
  if (query == NULL)
    return FALSE;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, query);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (strlen (k) > 64 || strlen (v) > MAX_PARAM_LEN)
      return TRUE;
  return FALSE;
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  LbMlNvhttp *nv = user_data;
  gboolean https = server == nv->https;

  if (g_strcmp0 (soup_server_message_get_method (msg), "GET") != 0)
    {
      refuse (msg, 405, NULL, "only GET is served");
      return;
    }
  if (query_too_large (query))
    {
      refuse (msg, 413, "paired", "a parameter is too long");
      return;
    }
  /* libsoup 3.2 gives the client certificate to the first request of a
   * TLS connection only: a later one on the same connection (curl, hence
   * moonlight-embedded, keeps it alive) would look unpaired. One request
   * per HTTPS connection; clients reconnect, as they must after a close. */
  if (https)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "close");
  g_autofree char *client_id = https ? request_client (nv, msg) : NULL;

  if (g_str_equal (path, "/serverinfo"))
    handle_serverinfo (nv, msg, https, client_id);
  else if (g_str_equal (path, "/pair"))
    handle_pair (nv, msg, query, https, client_id);
  else if (g_str_equal (path, "/unpair"))
    handle_unpair (nv, msg, client_id);
  else if (!g_str_equal (path, "/applist") && !g_str_equal (path, "/appasset")
           && !g_str_equal (path, "/launch") && !g_str_equal (path, "/resume")
           && !g_str_equal (path, "/cancel"))
    refuse (msg, 404, NULL, "no such endpoint");
  else if (!https)
    refuse (msg, 404, NULL, "%s is served over HTTPS only", path);
  else if (client_id == NULL)
    refuse (msg, 401, NULL, "the client is not paired with this host: pair it first");
  else if (g_str_equal (path, "/applist"))
    handle_applist (nv, msg);
  else if (g_str_equal (path, "/appasset"))
    handle_appasset (nv, msg, query);
  else if (g_str_equal (path, "/launch"))
    handle_launch (nv, msg, query, client_id, FALSE);
  else if (g_str_equal (path, "/resume"))
    handle_launch (nv, msg, query, client_id, TRUE);
  else
    handle_cancel (nv, msg, client_id);
}

/* Any client certificate is accepted at the handshake: pairing is what
 * makes it trusted, checked per request against the paired list. */
static gboolean
accept_any_certificate (SoupServerMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                        gpointer user_data)
{
  return TRUE;
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
}

static guint16
bound_port (SoupServer *server)
{
  guint16 port = 0;
  GSList *uris = soup_server_get_uris (server);
  if (uris != NULL)
    port = (guint16)g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  return port;
}

static gboolean
listen_on (SoupServer *server, const char *address, guint16 port, gboolean https, GError **error)
{
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (address);
  if (ia == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is not an IP address",
                   address);
      return FALSE;
    }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (ia, port);
  return soup_server_listen (server, sa, https ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
}

LbMlNvhttp *
lb_ml_nvhttp_new (const LbMlNvhttpConfig *config, LbMlIdentity *identity,
                  const LbMlNvhttpBackend *backend, gpointer user_data, GError **error)
{
  g_autoptr (GError) local = NULL;
  const char *cert_pem = lb_ml_identity_cert_pem (identity);
  const char *key_pem = lb_ml_identity_key_pem (identity);
  g_autofree char *both = g_strconcat (cert_pem, "\n", key_pem, NULL);
  g_autoptr (GTlsCertificate) cert = g_tls_certificate_new_from_pem (both, -1, &local);
  if (cert == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "host certificate for TLS: %s",
                   local->message);
      return NULL;
    }

  LbMlNvhttp *nv = g_new0 (LbMlNvhttp, 1);
  nv->identity = lb_ml_identity_ref (identity);
  nv->backend = *backend;
  nv->user_data = user_data;
  nv->hostname = g_strdup (config->hostname);
  nv->pair_timeout_s = config->pair_timeout_s;
  nv->rtsp_port = config->rtsp_port;
  nv->http = soup_server_new ("server-header", "lobbyd", NULL);
  nv->https = soup_server_new ("server-header", "lobbyd", "tls-certificate", cert, NULL);
  soup_server_set_tls_auth_mode (nv->https, G_TLS_AUTHENTICATION_REQUESTED);
  g_signal_connect (nv->https, "request-started", G_CALLBACK (on_request_started), nv);
  soup_server_add_handler (nv->http, NULL, handle, nv, NULL);
  soup_server_add_handler (nv->https, NULL, handle, nv, NULL);
  if (!listen_on (nv->http, config->bind_address, config->http_port, FALSE, error)
      || !listen_on (nv->https, config->bind_address, config->https_port, TRUE, error))
    {
      lb_ml_nvhttp_free (nv);
      return NULL;
    }
  nv->http_port = bound_port (nv->http);
  nv->https_port = bound_port (nv->https);
  return nv;
}

void
lb_ml_nvhttp_free (LbMlNvhttp *nv)
{
  if (nv == NULL)
    return;
  GString *s = xml_begin (503, "the host is shutting down");
  xml_elem (s, "paired", "0");
  release_held (nv, s);
  attempt_clear (nv);
  soup_server_disconnect (nv->http);
  soup_server_disconnect (nv->https);
  g_clear_object (&nv->http);
  g_clear_object (&nv->https);
  g_clear_pointer (&nv->identity, lb_ml_identity_unref);
  g_free (nv->hostname);
  g_free (nv);
}

guint16
lb_ml_nvhttp_get_http_port (LbMlNvhttp *nv)
{
  return nv->http_port;
}

guint16
lb_ml_nvhttp_get_https_port (LbMlNvhttp *nv)
{
  return nv->https_port;
}
