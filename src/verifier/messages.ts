import { formatBtc } from '../core/amount.js';
import type { Alert, AlertKind, AlertLevel, OutboxMail, WithdrawalRecord } from '../core/ports.js';

/**
 * What the verifier writes to people: the token mail to a user, the notices
 * of an email change, and the operators' alerts. Texts only, no I/O.
 */

export function tokenMail(w: WithdrawalRecord, link: string, expiresAt: Date, replaces: boolean): { subject: string; text: string } {
  const btc = formatBtc(w.amountSat);
  return {
    subject: `Confirm your withdrawal of ${btc} BTC`,
    text: [
      `A withdrawal was requested from your account ${w.user}:`,
      '',
      `  amount       ${btc} BTC (${w.amountSat} sat)`,
      `  to address   ${w.destination}`,
      `  request      ${w.appId} (#${w.id})`,
      '',
      'If you asked for it, confirm it by opening this link:',
      '',
      `  ${link}`,
      '',
      `The link works once, until ${expiresAt.toISOString()}.`,
      ...(replaces ? ['It replaces any earlier link for this request: an earlier link no longer works.'] : []),
      '',
      'If you did not ask for this withdrawal, do NOT open the link: contact support, someone may have access to your account.',
    ].join('\n'),
  };
}

export function emailChangeNotices(user: string, oldEmail: string, newEmail: string, noticedAt: Date, holdUntil: Date): OutboxMail[] {
  const text = (to: 'old' | 'new') => [
    `The email address of your account ${user} changed`,
    `  from ${oldEmail}`,
    `  to   ${newEmail}`,
    `(noticed ${noticedAt.toISOString()}).`,
    '',
    `For your safety no withdrawal of this account is paid until ${holdUntil.toISOString()}.`,
    to === 'old'
      ? 'If you did not make this change, contact support now: someone may have taken over your account.'
      : 'If you made this change, nothing else is needed.',
  ].join('\n');
  const facts = { user, oldEmail, newEmail, noticedAt: noticedAt.toISOString(), holdUntil: holdUntil.toISOString() };
  return [
    { kind: 'email-change-old', recipient: oldEmail, subject: 'The email address of your account changed', body: text('old'), facts },
    { kind: 'email-change-new', recipient: newEmail, subject: 'The email address of your account changed', body: text('new'), facts },
  ];
}

/** An alert for the operators' channels, kept in the outbox until every channel took it. */
export function alertMail(kind: AlertKind, level: AlertLevel, title: string, text: string, facts: Record<string, unknown>): OutboxMail {
  return { kind, recipient: undefined, subject: title, body: `${title}\n\n${text}`, facts: { ...facts, level } };
}

export function alertOf(kind: string, subject: string, body: string, facts: Readonly<Record<string, unknown>>, at: Date): Alert {
  const { level, ...rest } = facts as { level?: AlertLevel };
  return { kind: kind as AlertKind, level: level ?? 'critical', title: subject, text: body, at, facts: rest };
}

export function changedAlert(w: { withdrawalId: bigint; user: string }, before: string, after: string): OutboxMail {
  return alertMail('request-changed', 'critical', `coldpool verifier: withdrawal #${w.withdrawalId} changed after the verifier first saw it`,
    `The request of user ${w.user} no longer matches its first sight; it will never be attested.\n  first seen: ${before}\n  now:        ${after}\n\nSomeone with write access to the web database edited it: investigate the web host.`,
    { withdrawalId: w.withdrawalId.toString(), user: w.user, before, after });
}
