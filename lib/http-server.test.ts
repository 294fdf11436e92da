/** The client address the gateway counts and records (rate limits, sign-in events). */
import type { IncomingMessage } from 'node:http';
import { clientAddress } from './http-server';

describe('clientAddress', () => {
  const request = (remoteAddress: string, forwarded?: string) =>
    ({
      socket: { remoteAddress },
      headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
    }) as unknown as IncomingMessage;

  it("is the socket's peer, X-Forwarded-For ignored from an untrusted peer", () => {
    expect(clientAddress(request('::ffff:10.0.0.9', '1.2.3.4'))).toBe('10.0.0.9');
  });

  it('is the nearest untrusted hop behind trusted proxies', () => {
    const proxies = ['10.0.0.5', '10.0.0.6'];
    expect(clientAddress(request('10.0.0.5', '6.6.6.6, 1.2.3.4, 10.0.0.6'), proxies)).toBe(
      '1.2.3.4',
    );
    expect(clientAddress(request('10.0.0.5'), proxies)).toBe('10.0.0.5');
  });
});
