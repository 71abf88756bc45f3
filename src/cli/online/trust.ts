import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { parseNetwork } from '../../core/network.js';
import { keyIdOf } from '../../core/ed25519.js';
import { emptyTrust, serializeTrust, withAuditor, withOperator, withRequired, withVerifier, type Trust } from '../../core/trust.js';
import { withFileLock } from '../../io/file-lock.js';
import { readOperatorKeyPublic } from '../../trust/operator-key.js';
import { readTrustFile, trustFileExists, writeTrustFile } from '../../trust/trust-file.js';
import { table, toJson, type Output } from '../output.js';
import { parseIntegerOption } from '../run.js';

/** `coldpool trust add-operator|add-auditor|set-verifier|show`: the file that says whose approvals and attestations count. */
export function registerTrust(program: Command, out: Output): void {
  const group = program
    .command('trust')
    .summary('the trust file: operators whose approvals count, and how many it takes')
    .description(
      'The trust file (coldpool-trust.json) lists the operators\' public keys and\n' +
        'how many distinct operators must approve a withdrawal (per amount tier). The\n' +
        'operator box and the signer each keep their own copy; the signer\'s copy\n' +
        'decides. It holds public keys only.',
    );

  group
    .command('add-operator')
    .summary('add an operator\'s public key from their key file (creates the trust file if needed)')
    .description(
      'Add the public key of an operator key file (made by `coldpool operator\n' +
        'keygen`; no password needed) to a trust file, creating the file when it does\n' +
        'not exist yet (then --network is required). The file is replaced atomically.\n' +
        'A name or key already listed is refused: one key is one operator, so adding\n' +
        'the same person twice cannot make two approvals out of one.\n' +
        '\n' +
        'A new trust file requires 1 approval; raise it with --required once enough\n' +
        'operators are in. Tiers (more approvals above an amount) are edited in the\n' +
        'file: "approvals": {"required": 2, "tiers": [{"aboveSat": "100000000",\n' +
        '"required": 3}]}; `coldpool trust show` checks the result.',
    )
    .requiredOption('--trust <file>', 'the trust file to update or create, e.g. coldpool-trust.json')
    .requiredOption('--key <operator-key-file>', 'the operator\'s key file (only its public part is read)')
    .option('--network <network>', 'network of a new trust file: mainnet, testnet, signet, regtest (checked against an existing one)')
    .option('--required <n>', 'distinct operators that must approve each withdrawal (at most the number listed)')
    .addHelpText('after',
      '\nExamples:\n' +
        '  $ coldpool trust add-operator --trust coldpool-trust.json --key alice.operator-key --network mainnet\n' +
        '  $ coldpool trust add-operator --trust coldpool-trust.json --key bob.operator-key --required 2\n' +
        '  $ coldpool trust show --trust coldpool-trust.json\n')
    .action(async (opts: { trust: string; key: string; network?: string; required?: string }) => {
      const operator = readOperatorKeyPublic(opts.key);
      const network = opts.network === undefined ? undefined : parseNetwork(opts.network).name;
      // Read-modify-write under the lock: two additions at once must not lose one.
      await withFileLock(opts.trust, 'coldpool trust add-operator/add-auditor on this trust file', () => {
        const existed = trustFileExists(opts.trust);
        let trust: Trust;
        if (existed) {
          trust = readTrustFile(opts.trust);
          if (network !== undefined && network !== trust.network) {
            throw new CodedError('NETWORK_MISMATCH', `"--network" is ${network}, but trust file ${JSON.stringify(opts.trust)} is for ${trust.network}`);
          }
        } else {
          if (network === undefined) {
            throw new CodedError('USAGE', `trust file ${JSON.stringify(opts.trust)} does not exist yet: "--network" is needed to create it`, { hint: 'add --network mainnet (or testnet, signet, regtest)' });
          }
          trust = emptyTrust(network);
        }
        trust = withOperator(trust, { name: operator.name, publicKey: operator.publicKey });
        if (opts.required !== undefined) trust = withRequired(trust, parseIntegerOption('--required', opts.required, 1, trust.operators.length));
        writeTrustFile(opts.trust, trust, { replace: existed });
        out.say(`${existed ? 'updated' : 'created'} ${opts.trust}: added ${JSON.stringify(operator.name)} (key id ${operator.id})`);
        out.data(trustText(trust));
      });
    });

  group
    .command('add-auditor')
    .summary('add a program key (the operator box\'s own) that signs the audit entries it writes, never an approval')
    .description(
      'Add the public key of a key file made by `coldpool operator keygen` as an auditor: a\n' +
        'program that runs unattended (a cron `payout status`, `withdrawals list`) signs the audit\n' +
        'entries it writes with it (`--key F --password-file P`), so `coldpool audit verify --trust`\n' +
        'can tell them from forgeries. An auditor\'s signature never counts as an approval, and a\n' +
        'decision (approve, reject, cancel) signed by one is refused by `audit verify`. The trust\n' +
        'file must exist; a name or key already listed (as operator or auditor) is refused.',
    )
    .requiredOption('--trust <file>', 'the trust file to update, e.g. coldpool-trust.json')
    .requiredOption('--key <key-file>', 'the program\'s key file (only its public part is read)')
    .addHelpText('after', '\nExamples:\n  $ coldpool operator keygen --name operator-box --out /etc/coldpool/box.operator-key --password-file /etc/coldpool/box.password\n' +
      '  $ coldpool trust add-auditor --trust coldpool-trust.json --key /etc/coldpool/box.operator-key\n')
    .action(async (opts: { trust: string; key: string }) => {
      const auditor = readOperatorKeyPublic(opts.key);
      const trust = await withFileLock(opts.trust, 'coldpool trust add-operator/add-auditor on this trust file', () => {
        const updated = withAuditor(readTrustFile(opts.trust), { name: auditor.name, publicKey: auditor.publicKey });
        writeTrustFile(opts.trust, updated, { replace: true });
        return updated;
      });
      out.say(`updated ${opts.trust}: added auditor ${JSON.stringify(auditor.name)} (key id ${auditor.id})`);
      out.data(trustText(trust));
    });

  group
    .command('set-verifier')
    .summary('name the verifier whose attestation every payout needs (its Ed25519 public key)')
    .description(
      'Set the verifier\'s public key (64 hex, printed by `coldpool verifier init`) in a trust file that exists,\n' +
        'replacing any earlier one. From then on `payout build` leaves out every approved withdrawal without a valid\n' +
        'attestation by this key over exactly the content the operators approved, and the signer (its own copy of the\n' +
        'trust file) refuses any external output whose attestation is missing or does not verify. A key that is an\n' +
        'operator\'s or an auditor\'s is refused: the verifier is a witness of its own. The file is replaced atomically.',
    )
    .requiredOption('--trust <file>', 'the trust file to update, e.g. coldpool-trust.json')
    .requiredOption('--public-key <hex>', 'the verifier\'s Ed25519 public key, 64 hex characters')
    .option('--json', 'print {"trust","verifier":{"public_key","key_id"}}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool trust set-verifier --trust coldpool-trust.json --public-key 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29\n' +
      '  $ cp coldpool-trust.json /media/usb/   # the signer\'s copy must name the same verifier\n')
    .action(async (opts: { trust: string; publicKey: string; json?: boolean }) => {
      const publicKey = opts.publicKey.trim().toLowerCase();
      const trust = await withFileLock(opts.trust, 'coldpool trust add-operator/add-auditor on this trust file', () => {
        const updated = withVerifier(readTrustFile(opts.trust), publicKey);
        writeTrustFile(opts.trust, updated, { replace: true });
        return updated;
      });
      const id = keyIdOf(publicKey);
      if (opts.json) return out.data(toJson({ trust: opts.trust, verifier: { public_key: publicKey, key_id: id } }));
      out.say(`updated ${opts.trust}: verifier key id ${id}`);
      out.data(trustText(trust));
    });

  group
    .command('show')
    .summary('check a trust file and print its operators and requirements')
    .description('Parse a trust file strictly (an unknown or misspelt field is refused with its path) and print it.\nWith --json, the canonical file itself.')
    .requiredOption('--trust <file>', 'the trust file, e.g. coldpool-trust.json')
    .option('--json', 'print the canonical trust file')
    .addHelpText('after', '\nExamples:\n  $ coldpool trust show --trust coldpool-trust.json\n  $ coldpool trust show --trust /media/usb/coldpool-trust.json --json\n')
    .action(async (opts: { trust: string; json?: boolean }) => {
      const trust = readTrustFile(opts.trust);
      out.data(opts.json ? serializeTrust(trust).trimEnd() : trustText(trust));
    });
}

function trustText(t: Trust): string {
  const tiers = t.approvals.tiers.map((x) => `; ${x.required} above ${x.aboveSat} sat`).join('');
  return [
    `network    ${t.network}`,
    `approvals  ${t.approvals.required} distinct operator${t.approvals.required === 1 ? '' : 's'}${tiers}`,
    `verifier   ${t.verifier === null ? 'none (attestations not required)' : `key id ${keyIdOf(t.verifier.publicKey)}  ${t.verifier.publicKey}`}`,
    '',
    table(['name', 'key id', 'public key'], t.operators.map((o) => [o.name, o.id, o.publicKey])),
    ...(t.auditors.length === 0 ? [] : ['', 'auditors (sign audit entries, never approvals):', table(['name', 'key id', 'public key'], t.auditors.map((o) => [o.name, o.id, o.publicKey]))]),
  ].join('\n');
}
