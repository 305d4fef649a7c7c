/* lb-ml-rtsp.c — the Moonlight host's RTSP layer: strict request parsing,
 * replies, and the Moonlight handshake's helpers (see lb-ml-rtsp.h). */
#define G_LOG_DOMAIN "lobbyd-moonlight"

#include "lb-ml-rtsp.h"

#include <string.h>

G_DEFINE_QUARK (lb - ml - rtsp - error - quark, lb_ml_rtsp_error)

static const struct
{
  const char *reason;
  guint status;
} error_table[] = {
  [LB_ML_RTSP_ERROR_INCOMPLETE] = { "incomplete", 400 },
  [LB_ML_RTSP_ERROR_NO_END_OF_HEADERS] = { "no_end_of_headers", 400 },
  [LB_ML_RTSP_ERROR_HEAD_TOO_LARGE] = { "head_too_large", 400 },
  [LB_ML_RTSP_ERROR_BAD_LINE_ENDING] = { "bad_line_ending", 400 },
  [LB_ML_RTSP_ERROR_NUL_BYTE] = { "nul_byte", 400 },
  [LB_ML_RTSP_ERROR_BAD_REQUEST_LINE] = { "bad_request_line", 400 },
  [LB_ML_RTSP_ERROR_BAD_VERSION] = { "bad_version", 505 },
  [LB_ML_RTSP_ERROR_BAD_HEADER] = { "bad_header", 400 },
  [LB_ML_RTSP_ERROR_TOO_MANY_HEADERS] = { "too_many_headers", 400 },
  [LB_ML_RTSP_ERROR_BAD_CSEQ] = { "bad_cseq", 400 },
  [LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH] = { "bad_content_length", 400 },
  [LB_ML_RTSP_ERROR_BODY_TOO_LARGE] = { "body_too_large", 413 },
  [LB_ML_RTSP_ERROR_TRUNCATED_BODY] = { "truncated_body", 400 },
  [LB_ML_RTSP_ERROR_TRAILING_DATA] = { "trailing_data", 400 },
  [LB_ML_RTSP_ERROR_UNKNOWN_METHOD] = { "unknown_method", 501 },
  [LB_ML_RTSP_ERROR_UNKNOWN_STREAM] = { "unknown_stream", 404 },
  [LB_ML_RTSP_ERROR_BAD_TARGET] = { "bad_target", 404 },
  [LB_ML_RTSP_ERROR_SESSION_MISMATCH] = { "session_mismatch", 454 },
  [LB_ML_RTSP_ERROR_BAD_SDP] = { "bad_sdp", 400 },
  [LB_ML_RTSP_ERROR_MISSING_FIELD] = { "missing_field", 400 },
  [LB_ML_RTSP_ERROR_OUT_OF_RANGE] = { "out_of_range", 400 },
  [LB_ML_RTSP_ERROR_UNSUPPORTED] = { "unsupported", 415 },
  [LB_ML_RTSP_ERROR_BAD_REPLY] = { "bad_reply", 500 },
  [LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH] = { "ambiguous_launch", 503 },
};

const char *
lb_ml_rtsp_error_reason (LbMlRtspError code)
{
  if ((guint)code >= G_N_ELEMENTS (error_table) || error_table[code].reason == NULL)
    return "bad_request";
  return error_table[code].reason;
}

guint
lb_ml_rtsp_error_status (LbMlRtspError code)
{
  if ((guint)code >= G_N_ELEMENTS (error_table) || error_table[code].reason == NULL)
    return 400;
  return error_table[code].status;
}

static const char *
status_phrase (guint status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 454:
      return "Session Not Found";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "RTSP Version Not Supported";
    default:
      return "Error";
    }
}

/* ------------------------------------------------------------------ requests */

typedef struct
{
  char *name;
  char *value;
} Header;

struct _LbMlRtspRequest
{
  LbMlRtspMethod method;
  char *method_name;
  char *target;
  gint32 cseq;
  Header headers[LB_ML_RTSP_MAX_HEADERS];
  guint n_headers;
  char *body;
  gsize body_len;
};

void
lb_ml_rtsp_request_free (LbMlRtspRequest *req)
{
  if (req == NULL)
    return;
  for (guint i = 0; i < req->n_headers; i++)
    {
      g_free (req->headers[i].name);
      g_free (req->headers[i].value);
    }
  g_free (req->method_name);
  g_free (req->target);
  g_free (req->body);
  g_free (req);
}

static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A header value byte: visible ASCII, space, tab, or UTF-8 (≥ 0x80). */
static gboolean
is_value_byte (guchar c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static LbMlRtspMethod
method_from_name (const char *name)
{
  static const struct
  {
    const char *name;
    LbMlRtspMethod method;
  } methods[] = {
    { "OPTIONS", LB_ML_RTSP_METHOD_OPTIONS }, { "DESCRIBE", LB_ML_RTSP_METHOD_DESCRIBE },
    { "SETUP", LB_ML_RTSP_METHOD_SETUP },     { "ANNOUNCE", LB_ML_RTSP_METHOD_ANNOUNCE },
    { "PLAY", LB_ML_RTSP_METHOD_PLAY },       { "TEARDOWN", LB_ML_RTSP_METHOD_TEARDOWN },
  };
  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    if (strcmp (methods[i].name, name) == 0)
      return methods[i].method;
  return LB_ML_RTSP_METHOD_UNKNOWN;
}

/* Plain decimal (no sign, no blanks, no leading '+'), at most @max_digits
 * digits, value ≤ @max. */
static gboolean
parse_decimal (const char *s, guint max_digits, guint64 max, guint64 *out)
{
  gsize n = strlen (s);
  if (n == 0 || n > max_digits)
    return FALSE;
  guint64 v = 0;
  for (gsize i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (guint64)(s[i] - '0');
    }
  if (v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

/* One header line [p, p+n) (no CRLF) into @req. */
static gboolean
parse_header_line (LbMlRtspRequest *req, const char *p, gsize n, GError **error)
{
  if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
    {
      /* Obsolete line folding: a continuation could smuggle a header past a
       * check of the first line. */
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER,
                   "folded header line (starts with a blank)");
      return FALSE;
    }
  const char *colon = memchr (p, ':', n);
  if (colon == NULL || colon == p)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER,
                   "header line without a name and a colon");
      return FALSE;
    }
  gsize name_len = colon - p;
  if (name_len > 64)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER, "header name too long");
      return FALSE;
    }
  for (gsize i = 0; i < name_len; i++)
    if (!is_tchar ((guchar)p[i]))
      {
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER,
                     "header name with byte 0x%02x", (guchar)p[i]);
        return FALSE;
      }
  const char *v = colon + 1;
  const char *end = p + n;
  for (const char *q = v; q < end; q++)
    if (!is_value_byte ((guchar)*q))
      {
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER,
                     "header value with control byte 0x%02x", (guchar)*q);
        return FALSE;
      }
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  if (req->n_headers >= LB_ML_RTSP_MAX_HEADERS)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_TOO_MANY_HEADERS,
                   "more than %d headers", LB_ML_RTSP_MAX_HEADERS);
      return FALSE;
    }
  g_autofree char *name = g_strndup (p, name_len);
  /* Two CSeqs or two Content-lengths are refused rather than guessing which
   * one counts (request smuggling: the reader and a proxy might disagree). */
  if (g_ascii_strcasecmp (name, "CSeq") == 0 || g_ascii_strcasecmp (name, "Content-length") == 0)
    for (guint i = 0; i < req->n_headers; i++)
      if (g_ascii_strcasecmp (req->headers[i].name, name) == 0)
        {
          g_set_error (error, LB_ML_RTSP_ERROR,
                       g_ascii_strcasecmp (name, "CSeq") == 0 ? LB_ML_RTSP_ERROR_BAD_CSEQ
                                                              : LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH,
                       "duplicate %s header", name);
          return FALSE;
        }
  req->headers[req->n_headers].name = g_steal_pointer (&name);
  req->headers[req->n_headers].value = g_strndup (v, end - v);
  req->n_headers++;
  return TRUE;
}

/* The request line [p, p+n): METHOD SP target SP RTSP/1.0, single spaces. */
static gboolean
parse_request_line (LbMlRtspRequest *req, const char *p, gsize n, GError **error)
{
  const char *sp1 = memchr (p, ' ', n);
  const char *sp2 = sp1 ? memchr (sp1 + 1, ' ', p + n - sp1 - 1) : NULL;
  if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1 || sp2 + 1 == p + n)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,
                   "request line is not METHOD target RTSP/1.0");
      return FALSE;
    }
  gsize mlen = sp1 - p, tlen = sp2 - sp1 - 1, vlen = p + n - sp2 - 1;
  if (mlen > 16 || tlen > 1024)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,
                   "request method or target too long");
      return FALSE;
    }
  for (gsize i = 0; i < mlen; i++)
    if (!g_ascii_isupper (p[i]))
      {
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,
                     "request method is not upper-case letters");
        return FALSE;
      }
  for (gsize i = 0; i < tlen; i++)
    {
      guchar c = sp1[1 + i];
      if (c <= 0x20 || c >= 0x7f)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,
                       "request target with byte 0x%02x", c);
          return FALSE;
        }
    }
  if (vlen != 8 || memcmp (sp2 + 1, "RTSP/1.0", 8) != 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_VERSION,
                   "protocol is not RTSP/1.0");
      return FALSE;
    }
  req->method_name = g_strndup (p, mlen);
  req->method = method_from_name (req->method_name);
  req->target = g_strndup (sp1 + 1, tlen);
  return TRUE;
}

LbMlRtspRequest *
lb_ml_rtsp_request_parse (const void *data, gsize len, gboolean at_eof, GError **error)
{
  const char *buf = data;
  g_return_val_if_fail (buf != NULL || len == 0, NULL);

  /* Find the blank line within the cap, checking every byte on the way:
   * a NUL or a bare CR/LF refuses the request before anything is parsed. */
  gsize scan = MIN (len, (gsize)LB_ML_RTSP_MAX_HEAD);
  gsize head_end = 0; /* offset just past CRLFCRLF */
  for (gsize i = 0; i < scan; i++)
    {
      guchar c = buf[i];
      if (c == 0)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_NUL_BYTE,
                       "NUL byte in the request head at offset %" G_GSIZE_FORMAT, i);
          return NULL;
        }
      if (c == '\n' && (i == 0 || buf[i - 1] != '\r'))
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_LINE_ENDING,
                       "bare LF at offset %" G_GSIZE_FORMAT, i);
          return NULL;
        }
      if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_LINE_ENDING,
                       "bare CR at offset %" G_GSIZE_FORMAT, i);
          return NULL;
        }
      if (c == '\n' && i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
        {
          head_end = i + 1;
          break;
        }
    }
  if (head_end == 0)
    {
      if (len >= LB_ML_RTSP_MAX_HEAD)
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_HEAD_TOO_LARGE,
                     "request head longer than %d bytes", LB_ML_RTSP_MAX_HEAD);
      else if (at_eof)
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_NO_END_OF_HEADERS,
                     "request ends before the blank line after its headers");
      else
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_INCOMPLETE, "request incomplete");
      return NULL;
    }

  g_autoptr (LbMlRtspRequest) req = g_new0 (LbMlRtspRequest, 1);
  req->cseq = -1;
  /* Lines: [start, eol) with eol at a CR (CRLF guaranteed by the scan). The
   * head ends with an empty line, which stops the loop. */
  gsize start = 0;
  gboolean first = TRUE;
  while (start < head_end)
    {
      const char *eol = memchr (buf + start, '\r', head_end - start);
      gsize n = eol - (buf + start);
      if (n == 0)
        break;
      if (first)
        {
          if (!parse_request_line (req, buf + start, n, error))
            return NULL;
          first = FALSE;
        }
      else if (!parse_header_line (req, buf + start, n, error))
        return NULL;
      start += n + 2;
    }
  if (first)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,
                   "empty request line");
      return NULL;
    }

  const char *cseq = lb_ml_rtsp_request_get_header (req, "CSeq");
  guint64 v;
  if (cseq == NULL || !parse_decimal (cseq, 10, G_MAXINT32, &v))
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_CSEQ,
                   cseq ? "CSeq is not a decimal number up to 2^31-1" : "no CSeq header");
      return NULL;
    }
  req->cseq = (gint32)v;

  gsize body_len = 0;
  const char *clen = lb_ml_rtsp_request_get_header (req, "Content-length");
  if (clen != NULL)
    {
      /* Eight digits are enough to see "too large" without overflowing. */
      if (!parse_decimal (clen, 8, G_MAXUINT32, &v))
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH,
                       "Content-length is not a decimal number");
          return NULL;
        }
      if (v > LB_ML_RTSP_MAX_BODY)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BODY_TOO_LARGE,
                       "Content-length %" G_GUINT64_FORMAT " over the %d byte limit", v,
                       LB_ML_RTSP_MAX_BODY);
          return NULL;
        }
      body_len = (gsize)v;
    }
  gsize have = len - head_end;
  if (have < body_len)
    {
      if (at_eof)
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_TRUNCATED_BODY,
                     "body has %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", have, body_len);
      else
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_INCOMPLETE, "body incomplete");
      return NULL;
    }
  if (have > body_len)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_TRAILING_DATA,
                   "%" G_GSIZE_FORMAT " bytes after the request", have - body_len);
      return NULL;
    }
  if (memchr (buf + head_end, 0, body_len) != NULL)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_NUL_BYTE, "NUL byte in the body");
      return NULL;
    }
  req->body = g_strndup (buf + head_end, body_len);
  req->body_len = body_len;
  return g_steal_pointer (&req);
}

LbMlRtspMethod
lb_ml_rtsp_request_get_method (const LbMlRtspRequest *req)
{
  return req->method;
}

const char *
lb_ml_rtsp_request_get_method_name (const LbMlRtspRequest *req)
{
  return req->method_name;
}

const char *
lb_ml_rtsp_request_get_target (const LbMlRtspRequest *req)
{
  return req->target;
}

gint32
lb_ml_rtsp_request_get_cseq (const LbMlRtspRequest *req)
{
  return req->cseq;
}

const char *
lb_ml_rtsp_request_get_header (const LbMlRtspRequest *req, const char *name)
{
  for (guint i = 0; i < req->n_headers; i++)
    if (g_ascii_strcasecmp (req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

guint
lb_ml_rtsp_request_get_n_headers (const LbMlRtspRequest *req)
{
  return req->n_headers;
}

const char *
lb_ml_rtsp_request_get_body (const LbMlRtspRequest *req, gsize *len)
{
  if (len)
    *len = req->body_len;
  return req->body ? req->body : "";
}

gboolean
lb_ml_rtsp_request_check_session (const LbMlRtspRequest *req, const char *session_id,
                                  GError **error)
{
  const char *s = lb_ml_rtsp_request_get_header (req, "Session");
  if (s == NULL)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH, "no Session header");
      return FALSE;
    }
  gsize n = strcspn (s, ";");
  if (n != strlen (session_id) || strncmp (s, session_id, n) != 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                   "Session is not this launch's");
      return FALSE;
    }
  return TRUE;
}

/* --------------------------------------------------------------------- replies */

struct _LbMlRtspReply
{
  guint status;
  GString *headers; /* "Name: value\r\n"… */
  char *body;
  gsize body_len;
};

LbMlRtspReply *
lb_ml_rtsp_reply_new (guint status, gint64 cseq)
{
  LbMlRtspReply *r = g_new0 (LbMlRtspReply, 1);
  r->status = CLAMP (status, 100, 599);
  r->headers = g_string_new (NULL);
  /* moonlight-common-c's parser only finds the end of the head after a
   * header line, so a reply always has CSeq. */
  g_string_append_printf (r->headers, "CSeq: %" G_GINT64_FORMAT "\r\n",
                          cseq >= 0 && cseq <= G_MAXINT32 ? cseq : 0);
  return r;
}

void
lb_ml_rtsp_reply_free (LbMlRtspReply *reply)
{
  if (reply == NULL)
    return;
  g_string_free (reply->headers, TRUE);
  g_free (reply->body);
  g_free (reply);
}

gboolean
lb_ml_rtsp_reply_add_header (LbMlRtspReply *reply, const char *name, const char *value,
                             GError **error)
{
  gsize n = strlen (name);
  gboolean ok = n > 0 && n <= 64;
  for (gsize i = 0; ok && i < n; i++)
    ok = is_tchar ((guchar)name[i]);
  for (const char *q = value; ok && *q; q++)
    ok = *q == ' ' || ((guchar)*q > 0x20 && (guchar)*q != 0x7f);
  if (!ok || strlen (value) > 1024)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REPLY,
                   "refusing to write header %s with control bytes or an odd name", name);
      return FALSE;
    }
  g_string_append_printf (reply->headers, "%s: %s\r\n", name, value);
  return TRUE;
}

void
lb_ml_rtsp_reply_set_body (LbMlRtspReply *reply, const char *body, gsize len)
{
  g_free (reply->body);
  reply->body = g_memdup2 (body, len);
  reply->body_len = len;
}

char *
lb_ml_rtsp_reply_to_string (const LbMlRtspReply *reply, gsize *len)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "RTSP/1.0 %u %s\r\n", reply->status, status_phrase (reply->status));
  g_string_append_len (s, reply->headers->str, reply->headers->len);
  if (reply->body_len > 0)
    g_string_append_printf (s, "Content-length: %" G_GSIZE_FORMAT "\r\n", reply->body_len);
  g_string_append (s, "\r\n");
  if (reply->body_len > 0)
    g_string_append_len (s, reply->body, reply->body_len);
  if (len)
    *len = s->len;
  return g_string_free (s, FALSE);
}

LbMlRtspReply *
lb_ml_rtsp_reply_for_error (const GError *error, gint64 cseq)
{
  guint status = 500;
  const char *reason = "internal_error";
  if (error != NULL && error->domain == LB_ML_RTSP_ERROR)
    {
      status = lb_ml_rtsp_error_status (error->code);
      reason = lb_ml_rtsp_error_reason (error->code);
    }
  LbMlRtspReply *r = lb_ml_rtsp_reply_new (status, cseq);
  lb_ml_rtsp_reply_add_header (r, "X-Lobbyd-Error", reason, NULL);
  return r;
}

/* ----------------------------------------------------------- Moonlight sequence */

LbMlRtspReply *
lb_ml_rtsp_reply_options (gint32 cseq)
{
  LbMlRtspReply *r = lb_ml_rtsp_reply_new (200, cseq);
  lb_ml_rtsp_reply_add_header (r, "Public", "OPTIONS, DESCRIBE, SETUP, ANNOUNCE, PLAY", NULL);
  return r;
}

LbMlRtspReply *
lb_ml_rtsp_reply_ok (gint32 cseq)
{
  return lb_ml_rtsp_reply_new (200, cseq);
}

char *
lb_ml_rtsp_describe_body (guint32 encryption_supported, guint32 encryption_requested)
{
  GString *s = g_string_new (NULL);
  /* Sunshine's platform capabilities (pen/touch): none. */
  g_string_append (s, "a=x-ss-general.featureFlags:0\r\n");
  g_string_append_printf (s, "a=x-ss-general.encryptionSupported:%u\r\n", encryption_supported);
  g_string_append_printf (s, "a=x-ss-general.encryptionRequested:%u\r\n", encryption_requested);
  /* Opus multistream layouts: channels, streams, coupled streams, then one
   * mapping digit per channel. The client moves the last mapping entry to
   * index 3 for these normal-quality layouts (RtspConnection.c: GFE's order
   * FL FR C RL RR SL SR LFE to its FL FR C LFE RL RR SL SR), so the
   * advertised mapping is the identity with LFE (3) moved last: after the
   * client's move our encoder's identity order comes out. An 8-channel
   * client fails without its line; stereo needs none. Each layout is given
   * once, which tells clients the high-quality layouts are not offered. */
  g_string_append (s, "a=fmtp:97 surround-params=642012453\r\n");
  g_string_append (s, "a=fmtp:97 surround-params=85301245673\r\n");
  return g_string_free (s, FALSE);
}

LbMlRtspReply *
lb_ml_rtsp_reply_describe (gint32 cseq, guint32 encryption_supported, guint32 encryption_requested)
{
  LbMlRtspReply *r = lb_ml_rtsp_reply_new (200, cseq);
  g_autofree char *body = lb_ml_rtsp_describe_body (encryption_supported, encryption_requested);
  lb_ml_rtsp_reply_set_body (r, body, strlen (body));
  return r;
}

static const char *stream_targets[] = {
  [LB_ML_STREAM_AUDIO] = "streamid=audio/0/0",
  [LB_ML_STREAM_VIDEO] = "streamid=video/0/0",
  [LB_ML_STREAM_CONTROL] = "streamid=control/13/0",
};

const char *
lb_ml_stream_name (LbMlStream stream)
{
  switch (stream)
    {
    case LB_ML_STREAM_AUDIO:
      return "audio";
    case LB_ML_STREAM_VIDEO:
      return "video";
    case LB_ML_STREAM_CONTROL:
      return "control";
    }
  return "unknown";
}

gboolean
lb_ml_rtsp_parse_setup_target (const char *target, LbMlStream *stream, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (stream_targets); i++)
    if (target != NULL && strcmp (target, stream_targets[i]) == 0)
      {
        *stream = (LbMlStream)i;
        return TRUE;
      }
  g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNKNOWN_STREAM,
               "SETUP of an unknown stream (audio/0/0, video/0/0, control/13/0 are served)");
  return FALSE;
}

LbMlRtspReply *
lb_ml_rtsp_reply_setup (gint32 cseq, LbMlStream stream, const char *session_id, guint16 port,
                        const char *ping_payload, gboolean has_connect_data, guint32 connect_data,
                        GError **error)
{
  gsize n = session_id ? strlen (session_id) : 0;
  gboolean ok = n >= 1 && n <= 64 && port != 0;
  for (gsize i = 0; ok && i < n; i++)
    ok = g_ascii_isalnum (session_id[i]) || session_id[i] == '-' || session_id[i] == '_';
  if (ok && ping_payload != NULL)
    {
      /* The client copies it only when it is exactly 16 chars, and sends it
       * back at the start of each ping datagram. */
      ok = strlen (ping_payload) == 16 && stream != LB_ML_STREAM_CONTROL;
      for (guint i = 0; ok && i < 16; i++)
        ok = g_ascii_isgraph (ping_payload[i]);
    }
  if (ok && has_connect_data)
    ok = stream == LB_ML_STREAM_CONTROL;
  if (!ok)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REPLY,
                   "bad SETUP reply parameters (session id, port, ping payload, connect data)");
      return NULL;
    }
  g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_new (200, cseq);
  g_autofree char *transport = g_strdup_printf ("server_port=%u", port);
  lb_ml_rtsp_reply_add_header (r, "Session", session_id, NULL);
  lb_ml_rtsp_reply_add_header (r, "Transport", transport, NULL);
  if (ping_payload != NULL)
    lb_ml_rtsp_reply_add_header (r, "X-SS-Ping-Payload", ping_payload, NULL);
  if (has_connect_data)
    {
      g_autofree char *cd = g_strdup_printf ("%u", connect_data);
      lb_ml_rtsp_reply_add_header (r, "X-SS-Connect-Data", cd, NULL);
    }
  return g_steal_pointer (&r);
}

gboolean
lb_ml_rtsp_check_play_target (const char *target, GError **error)
{
  if (target != NULL && strcmp (target, "/") == 0)
    return TRUE;
  g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_TARGET,
               "PLAY target is not / (clients before GFE 7.1.431 are not served)");
  return FALSE;
}

/* ------------------------------------------------------------------- ANNOUNCE */

typedef enum
{
  F_WIDTH,
  F_HEIGHT,
  F_FPS,
  F_PACKET_SIZE,
  F_MAX_BITRATE,
  F_CONFIGURED_BITRATE,
  F_BITSTREAM_FORMAT,
  F_MAX_REF_FRAMES,
  F_CSC_MODE,
  F_MIN_FEC,
  F_FEC_PERCENT,
  F_AUDIO_PACKET_MS,
  F_AUDIO_CHANNELS,
  F_AUDIO_MASK,
  F_ENCRYPTION,
  F_NV_FLAGS,
  F_ML_FLAGS,
  F_DYNAMIC_RANGE,
  F_CHROMA,
  N_FIELDS
} Field;

/* Attribute name, whether required, accepted range. */
static const struct
{
  const char *name;
  gboolean required;
  guint64 min, max;
} fields[N_FIELDS] = {
  [F_WIDTH] = { "x-nv-video[0].clientViewportWd", TRUE, LB_ML_MIN_DIM, LB_ML_MAX_WIDTH },
  [F_HEIGHT] = { "x-nv-video[0].clientViewportHt", TRUE, LB_ML_MIN_DIM, LB_ML_MAX_HEIGHT },
  [F_FPS] = { "x-nv-video[0].maxFPS", TRUE, 1, LB_ML_MAX_FPS },
  [F_PACKET_SIZE]
  = { "x-nv-video[0].packetSize", TRUE, LB_ML_MIN_PACKET_SIZE, LB_ML_MAX_PACKET_SIZE },
  [F_MAX_BITRATE]
  = { "x-nv-vqos[0].bw.maximumBitrateKbps", TRUE, LB_ML_MIN_BITRATE_KBPS, LB_ML_MAX_BITRATE_KBPS },
  [F_CONFIGURED_BITRATE]
  = { "x-ml-video.configuredBitrateKbps", FALSE, LB_ML_MIN_BITRATE_KBPS, LB_ML_MAX_BITRATE_KBPS },
  [F_BITSTREAM_FORMAT] = { "x-nv-vqos[0].bitStreamFormat", FALSE, 0, 2 },
  [F_MAX_REF_FRAMES] = { "x-nv-video[0].maxNumReferenceFrames", FALSE, 0, 16 },
  /* (colour space 0 Rec.601 / 1 Rec.709 / 2 Rec.2020) << 1 | full range */
  [F_CSC_MODE] = { "x-nv-video[0].encoderCscMode", FALSE, 0, 5 },
  [F_MIN_FEC] = { "x-nv-vqos[0].fec.minRequiredFecPackets", FALSE, 0, 64 },
  [F_FEC_PERCENT] = { "x-nv-vqos[0].fec.repairPercent", FALSE, 0, 255 },
  [F_AUDIO_PACKET_MS] = { "x-nv-aqos.packetDuration", FALSE, 5, 20 },
  [F_AUDIO_CHANNELS] = { "x-nv-audio.surround.numChannels", FALSE, 2, 8 },
  [F_AUDIO_MASK] = { "x-nv-audio.surround.channelMask", FALSE, 0, G_MAXUINT32 },
  [F_ENCRYPTION] = { "x-ss-general.encryptionEnabled", FALSE, 0, G_MAXUINT32 },
  [F_NV_FLAGS] = { "x-nv-general.featureFlags", FALSE, 0, G_MAXUINT32 },
  [F_ML_FLAGS] = { "x-ml-general.featureFlags", FALSE, 0, G_MAXUINT32 },
  [F_DYNAMIC_RANGE] = { "x-nv-video[0].dynamicRangeMode", FALSE, 0, 1 },
  [F_CHROMA] = { "x-ss-video[0].chromaSamplingType", FALSE, 0, 1 },
};

#define ANNOUNCE_MAX_LINES 256

gboolean
lb_ml_rtsp_announce_parse (const char *body, gsize len, LbMlAnnounce *out, GError **error)
{
  guint64 val[N_FIELDS] = { 0 };
  gboolean seen[N_FIELDS] = { FALSE };
  guint lines = 0;

  if (body == NULL || len == 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP, "empty ANNOUNCE body");
      return FALSE;
    }
  if (len > LB_ML_RTSP_MAX_BODY || memchr (body, 0, len) != NULL)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                   "ANNOUNCE body too large or with a NUL byte");
      return FALSE;
    }
  gsize pos = 0;
  while (pos < len)
    {
      const char *line = body + pos;
      const char *nl = memchr (line, '\n', len - pos);
      gsize n = nl ? (gsize)(nl - line) : len - pos;
      pos += n + (nl ? 1 : 0);
      if (n > 0 && line[n - 1] == '\r')
        n--;
      if (n == 0)
        continue;
      if (++lines > ANNOUNCE_MAX_LINES)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP, "more than %d SDP lines",
                       ANNOUNCE_MAX_LINES);
          return FALSE;
        }
      for (gsize i = 0; i < n; i++)
        if ((guchar)line[i] < 0x20 || line[i] == 0x7f)
          {
            g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                         "SDP line %u has control byte 0x%02x", lines, (guchar)line[i]);
            return FALSE;
          }
      if (n < 2 || !g_ascii_islower (line[0]) || line[1] != '=')
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                       "SDP line %u is not <letter>=<value>", lines);
          return FALSE;
        }
      if (line[0] != 'a')
        continue;
      const char *colon = memchr (line + 2, ':', n - 2);
      if (colon == NULL || colon == line + 2)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                       "SDP attribute line %u without name:value", lines);
          return FALSE;
        }
      gsize name_len = colon - (line + 2);
      const char *v = colon + 1;
      gsize vlen = line + n - v;
      /* SdpGenerator.c writes "a=name:value \r\n": one trailing blank. */
      while (vlen > 0 && v[vlen - 1] == ' ')
        vlen--;
      for (guint f = 0; f < N_FIELDS; f++)
        {
          if (strlen (fields[f].name) != name_len || memcmp (fields[f].name, line + 2, name_len))
            continue;
          if (seen[f])
            {
              g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                           "duplicate attribute %s", fields[f].name);
              return FALSE;
            }
          char num[16];
          guint64 x;
          gboolean ok = vlen > 0 && vlen < sizeof num;
          if (ok)
            {
              memcpy (num, v, vlen);
              num[vlen] = '\0';
              ok = parse_decimal (num, 10, G_MAXUINT32, &x);
            }
          if (!ok)
            {
              g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP,
                           "%s is not a decimal number up to 2^32-1", fields[f].name);
              return FALSE;
            }
          if (x < fields[f].min || x > fields[f].max)
            {
              g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_OUT_OF_RANGE,
                           "%s %" G_GUINT64_FORMAT " outside %" G_GUINT64_FORMAT
                           "–%" G_GUINT64_FORMAT,
                           fields[f].name, x, fields[f].min, fields[f].max);
              return FALSE;
            }
          seen[f] = TRUE;
          val[f] = x;
          break;
        }
    }

  for (guint f = 0; f < N_FIELDS; f++)
    if (fields[f].required && !seen[f])
      {
        g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_MISSING_FIELD, "ANNOUNCE lacks %s",
                     fields[f].name);
        return FALSE;
      }
  if (seen[F_AUDIO_CHANNELS] && val[F_AUDIO_CHANNELS] != 2 && val[F_AUDIO_CHANNELS] != 6
      && val[F_AUDIO_CHANNELS] != 8)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_OUT_OF_RANGE,
                   "%s %" G_GUINT64_FORMAT " is not 2, 6 or 8", fields[F_AUDIO_CHANNELS].name,
                   val[F_AUDIO_CHANNELS]);
      return FALSE;
    }
  if (seen[F_AUDIO_PACKET_MS] && val[F_AUDIO_PACKET_MS] != 5 && val[F_AUDIO_PACKET_MS] != 10
      && val[F_AUDIO_PACKET_MS] != 20)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_OUT_OF_RANGE,
                   "%s %" G_GUINT64_FORMAT " is not an Opus frame of 5, 10 or 20 ms",
                   fields[F_AUDIO_PACKET_MS].name, val[F_AUDIO_PACKET_MS]);
      return FALSE;
    }
  if (val[F_FEC_PERCENT] > 100 && seen[F_FEC_PERCENT])
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_OUT_OF_RANGE,
                   "%s %" G_GUINT64_FORMAT " over 100", fields[F_FEC_PERCENT].name,
                   val[F_FEC_PERCENT]);
      return FALSE;
    }
  /* The client asks for these only when serverinfo/DESCRIBE offered them,
   * which lobbyd never does: a client that asks anyway is told so. */
  if (val[F_BITSTREAM_FORMAT] != 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNSUPPORTED,
                   "bitStreamFormat %" G_GUINT64_FORMAT " (%s): this host streams H.264 only",
                   val[F_BITSTREAM_FORMAT], val[F_BITSTREAM_FORMAT] == 1 ? "HEVC" : "AV1");
      return FALSE;
    }
  if (val[F_DYNAMIC_RANGE] != 0 || val[F_CHROMA] != 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNSUPPORTED,
                   "%s requested: this host streams 8-bit 4:2:0 H.264 only",
                   val[F_DYNAMIC_RANGE] ? "HDR" : "YUV 4:4:4");
      return FALSE;
    }

  memset (out, 0, sizeof *out);
  out->width = val[F_WIDTH];
  out->height = val[F_HEIGHT];
  out->fps = val[F_FPS];
  out->packet_size = val[F_PACKET_SIZE];
  out->max_bitrate_kbps = val[F_MAX_BITRATE];
  out->configured_bitrate_kbps = seen[F_CONFIGURED_BITRATE] ? val[F_CONFIGURED_BITRATE] : 0;
  out->bitstream_format = val[F_BITSTREAM_FORMAT];
  out->max_ref_frames = val[F_MAX_REF_FRAMES];
  out->encoder_csc_mode = val[F_CSC_MODE];
  out->min_fec_packets = val[F_MIN_FEC];
  out->fec_percent = seen[F_FEC_PERCENT] ? (gint)val[F_FEC_PERCENT] : -1;
  out->audio_packet_ms = seen[F_AUDIO_PACKET_MS] ? val[F_AUDIO_PACKET_MS] : 5;
  out->audio_channels = seen[F_AUDIO_CHANNELS] ? val[F_AUDIO_CHANNELS] : 2;
  out->audio_channel_mask = val[F_AUDIO_MASK];
  out->encryption_enabled = val[F_ENCRYPTION];
  out->nv_feature_flags = val[F_NV_FLAGS];
  out->ml_feature_flags = val[F_ML_FLAGS];
  return TRUE;
}

gboolean
lb_ml_announce_wants_audio_encryption (const LbMlAnnounce *a)
{
  return (a->encryption_enabled & LB_ML_ENC_AUDIO)
         || (a->nv_feature_flags & LB_ML_NVFF_AUDIO_ENCRYPTION);
}
