import { request } from 'node:http';

/** A response read by {@link rawRequest}: status, headers and the body parsed as JSON (null when it is not JSON). */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** What {@link rawRequest} sends. */
export interface RawRequestInit {
  method?: string;
  /** Sent as is: no normalisation of `..`, no percent-encoding (unlike fetch). */
  path: string;
  /** A value given as an array is sent as that many header lines (duplicate headers). */
  headers?: Record<string, string | string[]>;
  /** Raw body bytes; Content-Length is set unless `chunked` is true or the headers already carry one. */
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
}

/**
 * One HTTP/1.1 request with node:http, so that tests can send what fetch refuses or rewrites: dot segments,
 * raw percent-encoding, duplicate headers, bodies on GET, any Content-Type.
 * @param baseUrl e.g. `http://127.0.0.1:8080`.
 * @throws when the connection fails or no response arrives within `timeoutMs` (default 10 000 ms).
 */
export function rawRequest(baseUrl: string, init: RawRequestInit, timeoutMs = 10_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const headers: Record<string, string | string[]> = { connection: 'close', ...(init.headers ?? {}) };
  const body =
    init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body, 'utf8');
  const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
  if (body && !init.chunked && !hasLength) headers['content-length'] = String(body.length);
  // node:http frames GET/DELETE bodies only when told to.
  if (body && init.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: init.method ?? 'GET',
        path: init.path,
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any = null;
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body) {
      if (init.chunked) req.write(body);
      req.end(init.chunked ? undefined : body);
    } else {
      req.end();
    }
  });
}
