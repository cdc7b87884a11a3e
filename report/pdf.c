/* placeholder until the pdf renderer lands (this session) */
#include "careledger/render.h"
#include <stdio.h>
int cl_render_pdf(const cl_doc_t *d, const char *path, char *err, size_t es)
{ (void)d; (void)path; snprintf(err, es, "pdf not built yet"); return -1; }
