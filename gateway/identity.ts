/**
 * Identity forwarding from the gateway to the subgraphs.
 *
 * Until OpenID Connect sign-in lands (the identity issue), a development client asserts who it
 * is with the `x-identity` header (JSON: `{"userId":"u-1","email":"a@b.c","roles":["admin"]}`),
 * and the gateway passes it on; subgraphs validate its shape. In production nothing is
 * forwarded, so every request reaches the subgraphs anonymous and protected data is refused.
 */
import type { IncomingMessage } from 'node:http';
import { IDENTITY_HEADER } from '../subgraphs/shared/identity';
import type { BuildRequestHeaders } from './subgraph-client';

/** Forwards the client's `x-identity` header unchanged (development only). */
export const forwardIdentityHeader: BuildRequestHeaders = (req: IncomingMessage) => {
  const value = req.headers[IDENTITY_HEADER];
  return typeof value === 'string' ? { [IDENTITY_HEADER]: value } : {};
};

/** The identity forwarding for an environment. */
export function identityForwarding(production: boolean): BuildRequestHeaders {
  return production ? () => ({}) : forwardIdentityHeader;
}
