/* lb-error.c — error domain and its mapping to the HTTP API. */
#include "lb-error.h"

G_DEFINE_QUARK (lobbyd - error - quark, lb_error)

static const struct
{
  const char *name;
  guint status;
} error_table[] = {
  [LB_ERROR_INTERNAL] = { "internal_error", 500 },
  [LB_ERROR_INVALID_JSON] = { "invalid_json", 400 },
  [LB_ERROR_INVALID_FIELD] = { "invalid_field", 400 },
  [LB_ERROR_MISSING_FIELD] = { "missing_field", 400 },
  [LB_ERROR_UNKNOWN_FIELD] = { "unknown_field", 400 },
  [LB_ERROR_OUT_OF_RANGE] = { "out_of_range", 400 },
  [LB_ERROR_UNAUTHORIZED] = { "unauthorized", 401 },
  [LB_ERROR_DESTINATION_NOT_ALLOWED] = { "destination_not_allowed", 403 },
  [LB_ERROR_NOT_FOUND] = { "not_found", 404 },
  [LB_ERROR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405 },
  [LB_ERROR_CONFLICT] = { "conflict", 409 },
  [LB_ERROR_PAYLOAD_TOO_LARGE] = { "payload_too_large", 413 },
  [LB_ERROR_UNSUPPORTED_MEDIA_TYPE] = { "unsupported_media_type", 415 },
  [LB_ERROR_LIMIT_REACHED] = { "limit_reached", 503 },
  [LB_ERROR_MEDIA] = { "media_error", 500 },
  [LB_ERROR_CONFIG] = { "config_error", 500 },
  [LB_ERROR_STORE] = { "store_error", 500 },
  [LB_ERROR_CAPACITY] = { "encoder_capacity_exhausted", 503 },
  [LB_ERROR_ENCODER_OPEN] = { "encoder_open_failed", 503 },
  [LB_ERROR_STORE_BUSY] = { "store_busy", 503 },
  [LB_ERROR_OUTPUT] = { "output_error", 500 },
  [LB_ERROR_INVALID_SDP] = { "invalid_sdp", 400 },
  [LB_ERROR_NEGOTIATION_TIMEOUT] = { "negotiation_timeout", 504 },
  [LB_ERROR_NO_PAIRING_PENDING] = { "no_pairing_pending", 409 },
  [LB_ERROR_MOONLIGHT_DISABLED] = { "moonlight_disabled", 409 },
};

const char *
lb_error_code_name (LbErrorCode code)
{
  if ((guint)code >= G_N_ELEMENTS (error_table))
    return error_table[LB_ERROR_INTERNAL].name;
  return error_table[code].name;
}

guint
lb_error_http_status (LbErrorCode code)
{
  if ((guint)code >= G_N_ELEMENTS (error_table))
    return 500;
  return error_table[code].status;
}
