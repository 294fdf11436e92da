/**
 * Where emails go: an SMTP server (nodemailer) when one is configured, otherwise `.eml` files in
 * a folder, one per email, which any mail client opens. Both build the same RFC 5322 message,
 * with a Message-ID made from the event id, so a receiving server can recognise a resend.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createTransport, type NodemailerError, type SendMailOptions } from 'nodemailer';

/** One email as a transport sends it. */
export interface OutgoingEmail {
  /** The event that caused the email: the Message-ID, the file name, a header. */
  eventId: string;
  eventType: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The event's time; the `Date` header and the start of the file name. */
  date: Date;
}

/** Where emails go: {@link smtpTransport} or {@link fileTransport}. */
export interface MailTransport {
  /** For logs and `/ready`: `smtp://mail.example.com:465` or `files in /path`. */
  readonly description: string;
  /**
   * Delivers one email. Sending the same `eventId` twice to the file transport writes one file;
   * over SMTP the second message carries the same Message-ID.
   * @throws {PermanentMailError} when the server refuses the message for good.
   */
  send(email: OutgoingEmail): Promise<void>;
  /** Closes the SMTP connections (or the file transport's composer). */
  close(): void;
}

/** The server refused the message for good (SMTP 5xx): retrying cannot help. */
export class PermanentMailError extends Error {
  override readonly name = 'PermanentMailError';
}

/** The `EVENT_ID@host-of-the-sender` Message-ID of an email. */
export function messageIdOf(eventId: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'interview-graph.local';
  return `<${eventId}@${domain}>`;
}

/** `20261201T090000Z-interview.scheduled-<eventId>.eml`: sorts by time, unique per event. */
export function emlFileName(email: Pick<OutgoingEmail, 'eventId' | 'eventType' | 'date'>): string {
  const stamp = email.date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stamp}-${email.eventType}-${email.eventId.replace(/[^\w-]/g, '_')}.eml`;
}

function message(email: OutgoingEmail, from: string): SendMailOptions {
  return {
    from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    date: email.date,
    messageId: messageIdOf(email.eventId, from),
    headers: { 'X-Interview-Graph-Event': `${email.eventType} ${email.eventId}` },
  };
}

/**
 * Writes each email to `dir` as an `.eml` file ({@link emlFileName}); an email already written is
 * left as it is.
 * @throws when `dir` cannot be created (it is created at once, and again before each email).
 */
export function fileTransport(dir: string, from: string): MailTransport {
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  // At once, so the folder the README names exists from the start.
  mkdirSync(dir, { recursive: true });
  return {
    description: `files in ${path.resolve(dir)}`,
    async send(email) {
      const info = await composer.sendMail(message(email, from));
      // Again: someone may have cleaned up the folder since.
      await mkdir(dir, { recursive: true });
      const target = path.join(dir, emlFileName(email));
      // Written aside, then linked into place: a reader never sees half a message, and `link`
      // refuses to replace a file that exists, so a resend writes nothing.
      const temporary = path.join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(temporary, info.message as Buffer);
      try {
        await link(temporary, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await unlink(temporary);
      }
    },
    close() {
      composer.close();
    },
  };
}

/**
 * Sends through the SMTP server at `url` (`smtp://` or `smtps://`, credentials in the URL).
 * @throws when `url` is not a URL.
 */
export function smtpTransport(url: string, from: string): MailTransport {
  const transport = createTransport(url);
  const parsed = new URL(url);
  return {
    description: `${parsed.protocol}//${parsed.host}`,
    async send(email) {
      try {
        await transport.sendMail(message(email, from));
      } catch (error) {
        const failure = error as NodemailerError;
        if (failure.permanent) {
          throw new PermanentMailError(
            `${parsed.host} refused the message to ${email.to}: ${failure.response ?? failure.message}`,
          );
        }
        throw error;
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The configured transport: SMTP when `config.smtpUrl` is set, else `.eml` files in `config.dir`.
 * @param config - `from` is the `From` address, whose domain also ends every Message-ID.
 * @throws as {@link smtpTransport} or {@link fileTransport} does.
 */
export function mailTransport(config: {
  smtpUrl: string | undefined;
  dir: string;
  from: string;
}): MailTransport {
  return config.smtpUrl
    ? smtpTransport(config.smtpUrl, config.from)
    : fileTransport(config.dir, config.from);
}
