/* placeholder until the csv renderer lands (this session) */
#include "careledger/render.h"
#include <stdio.h>
int cl_render_csv(const cl_doc_t *d, const char *dir, char ***p, size_t *n, char *err, size_t es)
{ (void)d; (void)dir; (void)p; (void)n; snprintf(err, es, "csv not built yet"); return -1; }
