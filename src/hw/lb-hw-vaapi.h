/* lb-hw-vaapi.h — the VA-API probe of DRM render nodes. */
#ifndef LB_HW_VAAPI_H
#define LB_HW_VAAPI_H

#include "lb-hw-types.h"

/* Fills the VA-API part of @report from the render nodes in @dri_dir. */
void lb_hw_vaapi_probe (lb_hw_report *report, const char *dri_dir);

#endif
