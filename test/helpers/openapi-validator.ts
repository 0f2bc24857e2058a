import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** An OpenAPI 3.1 document as JSON. */
export type OpenApiDoc = {
  paths: Record<string, Record<string, any>>;
  components: Record<string, Record<string, any>>;
  [k: string]: unknown;
};

const DOC_ID = 'wq://openapi';
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** A JSON pointer fragment (RFC 6901, URI-encoded) of `parts`. */
function pointer(parts: string[]): string {
  return parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

/** What one checked response was: for coverage (every operation answered with success and with failure). */
export interface CheckedCall {
  method: string;
  path: string;
  status: number;
}

/**
 * Validates real responses against an OpenAPI 3.1 document with Ajv's JSON Schema 2020-12 in strict mode: the
 * document is added as one schema (its non-schema parts declared as a vocabulary), and each response schema is
 * compiled through a `$ref` into it, so `#/components/schemas/...` references resolve as in the document.
 */
export class OpenApiValidator {
  readonly ajv: Ajv2020;
  readonly checked: CheckedCall[] = [];
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDoc) {
    this.ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary([
      'openapi',
      'info',
      'servers',
      'tags',
      'paths',
      'components',
      'security',
      'webhooks',
      'jsonSchemaDialect',
    ]);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
  }

  /** The operation object of `method` `path` (a template of the document), or undefined. */
  operation(method: string, path: string): any {
    return this.doc.paths[path]?.[method.toLowerCase()];
  }

  /** Follows a `$ref` of a response object (`#/components/responses/X`); returns [object, its pointer parts]. */
  private resolveResponse(obj: any, parts: string[]): [any, string[]] {
    if (obj && typeof obj.$ref === 'string') {
      const refParts = (obj.$ref as string).replace(/^#\//, '').split('/');
      let target: any = this.doc;
      for (const p of refParts) target = target?.[p];
      return [target, refParts];
    }
    return [obj, parts];
  }

  /**
   * The compiled validator of the body of `status` of `method path` with `mediaType`.
   * @throws when the document does not describe that response.
   */
  validatorFor(
    method: string,
    path: string,
    status: number | string,
    mediaType = 'application/json',
  ): ValidateFunction {
    const key = `${method} ${path} ${status} ${mediaType}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const op = this.operation(method, path);
    if (!op) throw new Error(`the document has no operation ${method.toUpperCase()} ${path}`);
    const raw = op.responses?.[String(status)];
    if (!raw)
      throw new Error(
        `${method.toUpperCase()} ${path}: status ${status} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`,
      );
    const [response, parts] = this.resolveResponse(raw, [
      'paths',
      path,
      method.toLowerCase(),
      'responses',
      String(status),
    ]);
    if (!response?.content?.[mediaType]?.schema)
      throw new Error(`${method.toUpperCase()} ${path} ${status}: no ${mediaType} schema`);
    const fn = this.ajv.compile({ $ref: `${DOC_ID}#/${pointer([...parts, 'content', mediaType, 'schema'])}` });
    this.cache.set(key, fn);
    return fn;
  }

  /**
   * Checks a real response: its status is documented for the operation and its body matches the schema.
   * @returns the validation errors (empty when it matches), as readable strings.
   */
  check(method: string, path: string, status: number, body: unknown, mediaType = 'application/json'): string[] {
    this.checked.push({ method: method.toLowerCase(), path, status });
    let fn: ValidateFunction;
    try {
      fn = this.validatorFor(method, path, status, mediaType);
    } catch (err) {
      return [(err as Error).message];
    }
    if (fn(body)) return [];
    return (fn.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** Every operation of the document: [method, path, operation]. */
  operations(): [string, string, any][] {
    const out: [string, string, any][] = [];
    for (const [path, item] of Object.entries(this.doc.paths)) {
      for (const m of HTTP_METHODS) if (item[m]) out.push([m, path, item[m]]);
    }
    return out;
  }

  /** Every response of every operation, with `$ref`s followed: [method, path, status, response]. */
  responses(): [string, string, string, any][] {
    const out: [string, string, string, any][] = [];
    for (const [m, path, op] of this.operations()) {
      for (const [status, raw] of Object.entries(op.responses ?? {}))
        out.push([m, path, status, this.resolveResponse(raw, [])[0]]);
    }
    return out;
  }
}
