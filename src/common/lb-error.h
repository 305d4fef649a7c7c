/* lb-error.h — the one error domain of lobbyd.
 *
 * Every code maps 1:1 to the stable `code` string of the HTTP API's error body
 * and to its HTTP status, so a GError raised deep in the store or the media
 * layer reaches the client unchanged. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

#define LB_ERROR (lb_error_quark ())
GQuark lb_error_quark (void);

typedef enum
{
  LB_ERROR_INTERNAL,                /* 500 internal_error */
  LB_ERROR_INVALID_JSON,            /* 400 invalid_json */
  LB_ERROR_INVALID_FIELD,           /* 400 invalid_field: wrong type or bad value */
  LB_ERROR_MISSING_FIELD,           /* 400 missing_field */
  LB_ERROR_UNKNOWN_FIELD,           /* 400 unknown_field */
  LB_ERROR_OUT_OF_RANGE,            /* 400 out_of_range */
  LB_ERROR_UNAUTHORIZED,            /* 401 unauthorized */
  LB_ERROR_DESTINATION_NOT_ALLOWED, /* 403 destination_not_allowed */
  LB_ERROR_NOT_FOUND,               /* 404 not_found */
  LB_ERROR_METHOD_NOT_ALLOWED,      /* 405 method_not_allowed */
  LB_ERROR_CONFLICT,                /* 409 conflict */
  LB_ERROR_PAYLOAD_TOO_LARGE,       /* 413 payload_too_large */
  LB_ERROR_UNSUPPORTED_MEDIA_TYPE,  /* 415 unsupported_media_type */
  LB_ERROR_LIMIT_REACHED,           /* 503 limit_reached: configured lobby/session cap */
  LB_ERROR_MEDIA,                   /* 500 media_error: a pipeline could not start */
  LB_ERROR_CONFIG,                  /* 500 config_error (HTTP: config forbids it) */
  LB_ERROR_STORE,                   /* 500 store_error */
  LB_ERROR_CAPACITY,                /* 503 encoder_capacity_exhausted */
  LB_ERROR_ENCODER_OPEN, /* 503 encoder_open_failed: a hardware encoder refused to open */
  LB_ERROR_STORE_BUSY,   /* 503 store_busy: another process holds the database locked */
  LB_ERROR_OUTPUT,       /* 500 output_error: an output (RTP, WebRTC) could not start */
  LB_ERROR_INVALID_SDP,  /* 400 invalid_sdp: an SDP offer that cannot be parsed or answered */
  LB_ERROR_NEGOTIATION_TIMEOUT, /* 504 negotiation_timeout: WebRTC gave no answer in time */
  LB_ERROR_NO_PAIRING_PENDING,  /* 409 no_pairing_pending: no Moonlight client waits for a PIN */
  LB_ERROR_MOONLIGHT_DISABLED,  /* 409 moonlight_disabled: the Moonlight host is not running */
} LbErrorCode;

const char *lb_error_code_name (LbErrorCode code);
guint lb_error_http_status (LbErrorCode code);

G_END_DECLS
