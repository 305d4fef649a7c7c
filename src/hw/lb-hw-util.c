/* lb-hw-util.c — text, bus id and library-name helpers of the probes. */
#include "lb-hw-util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
lb_hw_set_text (char *dst, size_t size, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  vsnprintf (dst, size, format, args);
  va_end (args);
}

void
lb_hw_normalise_bus_id (const char *in, char *out, size_t size)
{
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  if (sscanf (in, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4)
    lb_hw_set_text (out, size, "%04x:%02x:%02x.%x", domain & 0xffff, bus, dev, fn);
  else
    lb_hw_set_text (out, size, "%s", in);
}

const char *
lb_hw_library (const char *env, const char *fallback)
{
  const char *value = getenv (env);
  return value != NULL && *value != '\0' ? value : fallback;
}
