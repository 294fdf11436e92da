import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { emlFileName, fileTransport, messageIdOf, type OutgoingEmail } from './mail';

const email: OutgoingEmail = {
  eventId: '0b6f7f7e-6a53-4b39-9d2c-1f0e2f6f3a10',
  eventType: 'user.registered',
  to: 'ada@example.com',
  subject: 'Welcome to Interview Graph',
  text: 'Hello Ada,\n',
  html: '<p>Hello Ada,</p>',
  date: new Date('2025-12-01T09:00:00.123Z'),
};

describe('mail', () => {
  it('makes the Message-ID from the event id and the sender domain', () => {
    expect(messageIdOf('e-1', 'Interview Graph <no-reply@example.com>')).toBe('<e-1@example.com>');
    expect(messageIdOf('e-1', 'no-reply@example.org')).toBe('<e-1@example.org>');
  });

  it('names files by time, type and event id, safe for any file system', () => {
    expect(emlFileName(email)).toBe(
      '20251201T090000Z-user.registered-0b6f7f7e-6a53-4b39-9d2c-1f0e2f6f3a10.eml',
    );
    expect(emlFileName({ ...email, eventId: '../../etc/passwd' })).toBe(
      '20251201T090000Z-user.registered-______etc_passwd.eml',
    );
  });

  it('writes one complete .eml file per email, and nothing more when sent again', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ig-eml-'));
    const dir = path.join(root, 'not-yet-there');
    const transport = fileTransport(dir, 'Interview Graph <no-reply@example.com>');
    try {
      await transport.send(email);
      await transport.send({ ...email, subject: 'changed' });
      const files = readdirSync(dir);
      expect(files).toEqual([emlFileName(email)]);
      // Long headers are folded onto continuation lines; unfold them (RFC 5322 2.2.3).
      const raw = readFileSync(path.join(dir, files[0]!), 'utf8').replace(/\r?\n(?=[ \t])/g, '');
      expect(raw).toContain('Subject: Welcome to Interview Graph');
      expect(raw).toContain(`Message-ID: <${email.eventId}@example.com>`);
      expect(raw).toContain('To: ada@example.com');
      expect(raw).toContain('Date: Mon, 01 Dec 2025 09:00:00 +0000');
      expect(raw).toContain(`X-Interview-Graph-Event: user.registered ${email.eventId}`);
      expect(raw).toContain('Content-Type: multipart/alternative');
    } finally {
      transport.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
