/* placeholder until the xlsx renderer lands (this session) */
#include "careledger/render.h"
#include <stdio.h>
int cl_render_xlsx(const cl_doc_t *d, const char *path, char *err, size_t es)
{ (void)d; (void)path; snprintf(err, es, "xlsx not built yet"); return -1; }
