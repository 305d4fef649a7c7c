/* lb-hw-util.h — small helpers every probe of src/hw uses. Plain C. */
#ifndef LB_HW_UTIL_H
#define LB_HW_UTIL_H

#include <stddef.h>

/* snprintf into a fixed buffer, always terminated. */
void lb_hw_set_text (char *dst, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
/* "0000:01:00.0" and "00000000:01:00.0" both become "0000:01:00.0". */
void lb_hw_normalise_bus_id (const char *in, char *out, size_t size);
/* Library name, overridable for tests by an environment variable. */
const char *lb_hw_library (const char *env, const char *fallback);

#endif
