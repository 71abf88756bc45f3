import type { Command } from 'commander';
import { formatBtc } from '../../core/amount.js';
import { CodedError } from '../../core/errors.js';
import type { ReviewedWithdrawal, WithdrawalStore } from '../../core/ports.js';
import { signApproval } from '../../core/approval.js';
import { auditSigner } from '../../core/audit-signature.js';
import type { Approver, AuditSigner } from '../../core/ports.js';
import type { AttestationView } from '../../core/attestation-view.js';
import { auditKeyOf, operatorById, type Trust } from '../../core/trust.js';
import { readOperatorKey, readOperatorKeyPublic } from '../../trust/operator-key.js';
import { existingPasswordFor } from '../secrets.js';
import { DB_OPTION_HELP, configOf, trustOf } from './config.js';
import { withDatabase } from './database.js';

/** Options of the withdrawal and audit commands (resolved by the one configuration, `configOf`). */
export interface OperatorOptions {
  db?: string;
  network?: string;
  operator?: string;
  policy?: string;
  json?: boolean;
}

/** Run `fn` with the withdrawal store of the configured database, pinned to the configured network; always closed. `signer` signs every audit entry written. */
export function withStore<T>(cmd: Command, fn: (store: WithdrawalStore) => Promise<T>, signer?: AuditSigner): Promise<T> {
  const config = configOf(cmd);
  return withDatabase(config.db, (db) => fn(db.withdrawals), { mustExist: true, network: config.network, auditSigner: signer });
}

export function addDbOptions(cmd: Command): Command {
  return cmd
    .option('--db <url>', DB_OPTION_HELP)
    .option('--network <name>', 'network of the pool: mainnet, testnet, signet, regtest (default: COLDPOOL_NETWORK, config "network", then the pinned account\'s)');
}

export function addOperatorOptions(cmd: Command): Command {
  return addDbOptions(cmd)
    .option('--operator <name>', 'who decides (default: COLDPOOL_OPERATOR, config "operator", then the OS user)')
    .option('--policy <file>', 'withdrawal policy JSON (default: COLDPOOL_POLICY, config "policy", then <config dir>/policy.json)');
}

/** The JSON shape of a request (sats as strings); `attestation` as weighed under the trust file (core/attestation-view.ts). */
export function withdrawalJson(w: ReviewedWithdrawal, attestation: AttestationView): Record<string, unknown> {
  return {
    id: w.id, app_id: w.appId, user: w.user, destination: w.destination, output_type: w.outputType, amount_sat: w.amountSat, amount_btc: formatBtc(w.amountSat),
    status: w.status, created_at: w.createdAt, reviewer: w.reviewer ?? null, reason: w.reason ?? null, decided_at: w.decidedAt ?? null,
    approvals: w.approvals, flags: w.flags.map((f) => ({ code: f.code, detail: f.detail })),
    attestation: { state: attestation.state, verifier: attestation.verifier ?? null, problems: attestation.problems, verifier_note: attestation.note ?? null },
  };
}

/**
 * The trust file to weigh attestations under on a read-only command: the
 * configured one when there is one (a missing or broken one is an error, as
 * anywhere), else none, and every request shows "no verifier configured".
 */
export function optionalTrustOf(cmd: Command): Trust | undefined {
  const config = configOf(cmd);
  return config.trustFile === undefined ? undefined : trustOf(config).trust;
}


/** Parse a withdrawal id argument. */
export function parseId(text: string): bigint {
  if (!/^\d{1,19}$/.test(text) || BigInt(text) === 0n) throw new CodedError('USAGE', `"ID" expected a withdrawal id (a positive integer), got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** `--key`, `--password-file`, `--trust`: what signing an approval needs. */
export function addApproverOptions(cmd: Command): Command {
  return cmd
    .option('--key <file>', 'your operator key file, which signs each approval (default: COLDPOOL_KEY, config "key")')
    .option('--password-file <file>', 'the key\'s password from the first line of this file (default: asked once on the terminal)')
    .option('--trust <file>', 'the operator box\'s trust file (default: COLDPOOL_TRUST, config "trust", then <config dir>/coldpool-trust.json)');
}

/**
 * The operator key of the configuration, unlocked, as an Approver under the
 * configured trust file. Everything that can be refused without the
 * password (no key, no trust file, a key the trust file does not list) is
 * refused before it is asked for, once for the whole command.
 */
export async function approverOf(cmd: Command, passwordFile: string | undefined): Promise<Approver & { readonly audit: AuditSigner }> {
  const config = configOf(cmd);
  const { trust, source } = trustOf(config);
  const path = config.keyFile;
  if (path === undefined) {
    throw new CodedError('USAGE', 'approving signs with your operator key: give "--key FILE" (or COLDPOOL_KEY, config "key")', {
      hint: 'create one with `coldpool operator keygen --name NAME --out FILE` and add it to the trust file (`coldpool trust add-operator`)',
    });
  }
  const header = readOperatorKeyPublic(path);
  const operator = operatorById(trust, header.id);
  if (!operator || operator.publicKey !== header.publicKey) {
    throw new CodedError('REFUSED', `operator key ${header.id} (${JSON.stringify(header.name)}, ${path}) is not in trust file ${source}: its approvals would count for nothing`, {
      hint: `add it on the operator box and on the signer: coldpool trust add-operator --trust ${source} --key ${path}`, context: { keyId: header.id },
    });
  }
  const password = await existingPasswordFor(passwordFile ?? config.passwordFile, { noun: 'operator key', intro: '' }, path);
  const key = await readOperatorKey(path, password);
  return { operator, trust, sign: (content) => signApproval(content, key.privateKey), audit: auditSigner(key.id, key.privateKey) };
}

/**
 * The audit signer of a command that writes audit entries without deciding
 * (list, reject, cancel, payout build / broadcast / status / bump): the
 * configured key, if one is given, unlocked; its trust-file name is the
 * entries' actor. Without a key the entries go in unsigned, and `audit
 * verify --trust` names each of them. A key the trust file lists neither as
 * an operator nor as an auditor is refused before the password is asked.
 */
export async function auditSignerOf(cmd: Command, passwordFile: string | undefined): Promise<{ signer: AuditSigner; name: string } | undefined> {
  const config = configOf(cmd);
  if (config.keyFile === undefined) return undefined;
  const { trust, source } = trustOf(config);
  const header = readOperatorKeyPublic(config.keyFile);
  const party = auditKeyOf(trust, header.id);
  if (!party || party.party.publicKey !== header.publicKey) {
    throw new CodedError('REFUSED', `key ${header.id} (${JSON.stringify(header.name)}, ${config.keyFile}) is not in trust file ${source}: the audit entries it signed would not verify`, {
      hint: `add it: coldpool trust add-operator --trust ${source} --key ${config.keyFile}`, context: { keyId: header.id },
    });
  }
  const password = await existingPasswordFor(passwordFile ?? config.passwordFile, { noun: 'operator key', intro: '' }, config.keyFile);
  const key = await readOperatorKey(config.keyFile, password);
  return { signer: auditSigner(key.id, key.privateKey), name: party.party.name };
}

/** `--key`, `--password-file`, `--trust` on a command that writes audit entries: optional, they sign them. */
export function addAuditKeyOptions(cmd: Command, { trust = true }: { trust?: boolean } = {}): Command {
  cmd
    .option('--key <file>', 'operator (or auditor) key that signs the audit entries this command writes (default: COLDPOOL_KEY, config "key"; without one they are unsigned)')
    .option('--password-file <file>', 'the key\'s password from the first line of this file (default: asked once on the terminal)');
  return trust ? cmd.option('--trust <file>', 'the operator box\'s trust file, which must list the key (default: COLDPOOL_TRUST, config "trust", then <config dir>/coldpool-trust.json)') : cmd;
}
