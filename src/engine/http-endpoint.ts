import http from 'node:http';

/** A route of the coordinator's own HTTP endpoint: the status code, content type and body of a GET. */
export type EndpointRoute = () => { readonly status: number; readonly type: string; readonly body: string };

/**
 * A small HTTP server on the coordinator's own event loop (the Prometheus metrics, the health check):
 * GET on one of `routes`' paths, 404 elsewhere. It serves on `fd`, a listening socket bound or inherited by
 * the caller, and owns it from now on (closing the server closes it).
 */
export async function startHttpEndpoint(
  fd: number,
  routes: Readonly<Record<string, EndpointRoute>>,
): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const route = request.method === 'GET' ? routes[request.url?.split('?')[0] ?? ''] : undefined;
    if (route === undefined) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`try GET ${Object.keys(routes).join(' or ')}\n`);
      return;
    }
    const { status, type, body } = route();
    response.writeHead(status, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
