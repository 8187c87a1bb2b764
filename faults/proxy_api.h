/* proxy_api.h -- Toxiproxy's HTTP API (`faultline proxy --api`) over the fault proxy engine:
 * proxies by name, each with its toxics by name, as Toxiproxy's clients expect them.
 *
 *   struct pxapi *a = pxapi_new(engine, flags);
 *   pxapi_serve(a, "127.0.0.1:8474", err);          -- libmicrohttpd, one thread
 *   ... until done: pxapi_free(a);                   -- stops serving, closes every proxy
 * pxapi_handle() answers one request without HTTP (the server calls it; so do the fuzz
 * target and tests). The API has no authentication, as Toxiproxy's: whoever reaches it
 * can open listeners and redirect traffic; it binds to loopback unless told otherwise. */
#ifndef FL_PROXY_API_H
#define FL_PROXY_API_H

#include <stddef.h>
#include "proxy_engine.h"

#define PXAPI_LOOPBACK_ONLY 1u   /* proxies listen on and forward to loopback addresses only */

struct pxapi;

struct pxapi *pxapi_new(struct px_engine *e, unsigned flags);
void pxapi_free(struct pxapi *a);
/* Answer one request: the HTTP status; *out the reply body (malloc'd JSON, or NULL for none) */
int pxapi_handle(struct pxapi *a, const char *method, const char *path, const char *body, size_t n, char **out);
/* Serve the API on addr ("127.0.0.1:8474"; a bare port means 127.0.0.1) */
int pxapi_serve(struct pxapi *a, const char *addr, char *err);
/* the address served ("127.0.0.1:8474"), "" before pxapi_serve */
const char *pxapi_address(const struct pxapi *a);

#endif
