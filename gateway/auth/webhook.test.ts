import { createHmac } from 'node:crypto';
import { registrationWebhookSchema, signWebhook } from './webhook';

describe('webhook signature', () => {
  it('is hex HMAC-SHA256 over `${timestamp}.${rawBody}`', () => {
    const expected = createHmac('sha256', 'secret').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('secret', '1700000000', '{"a":1}')).toBe(expected);
  });

  it('body schema names the wrong fields and refuses unknown ones', () => {
    const result = registrationWebhookSchema.safeParse({ userId: '', email: 'x', extra: 1 });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.') || i.message).join(' ');
    expect(paths).toMatch(/userId/);
    expect(paths).toMatch(/email/);
    expect(paths).toMatch(/extra/);
  });
});
