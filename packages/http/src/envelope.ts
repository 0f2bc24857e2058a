/** The response envelope of every API response (the wire contract order services and gateways read). */
export interface Envelope<T = unknown> {
  state: 'SUCCESS' | 'FAIL';
  errorCode: string | null;
  errorMessage: string | null;
  data: T | null;
}

/** `{state:"SUCCESS", errorCode:null, errorMessage:null, data}` */
export function success<T>(data: T): Envelope<T> {
  return { state: 'SUCCESS', errorCode: null, errorMessage: null, data };
}

/** `{state:"FAIL", errorCode, errorMessage, data}`; `data` carries extra detail (e.g. `{opensAt}`) or null. */
export function failure(
  errorCode: string,
  errorMessage: string,
  data: Record<string, unknown> | null = null,
): Envelope {
  return { state: 'FAIL', errorCode, errorMessage, data };
}
