/* h_metricas.c: GET /interno/metricas (service token): Prometheus text of
 * the counters every worker shares (see metrics.h). */
#include "metrics.h"
#include "routes.h"

int h_interno_metricas(struct req *rq, struct err *e)
{
    if (!rq->w->metrics)
        return err_set(e, ERR_UNAVAILABLE, NULL);
    size_t len;
    const char *txt = metrics_text(rq->w->metrics, rq->a, rq->w->route_names,
                                   rq->cfg->fcgi_workers, &len);
    return http_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", txt, len);
}
