/* placeholder until the html renderer lands (this session) */
#include "careledger/render.h"
#include <stdio.h>
int cl_render_html(const cl_doc_t *d, const char *path, char *err, size_t es)
{ (void)d; (void)path; snprintf(err, es, "html not built yet"); return -1; }
