import type { Command } from 'commander';
import type { AccountDescriptor } from '../../core/descriptor.js';
import { CodedError } from '../../core/errors.js';
import { parseNetwork, type Network } from '../../core/network.js';
import { inspectPsbt } from '../../core/psbt-inspect.js';
import type { Output } from '../output.js';
import { accountFromDescriptor, capsWire, formatReview, loadManifest, loadPolicy, loadPsbt, loadTrust, policySummary, reviewJson } from './psbt-review.js';
import { closeStdin } from '../terminal.js';
import { unlockAccount } from './unlock.js';

interface InspectOptions {
  keystore?: string;
  passwordFile?: string;
  descriptor?: string;
  network?: string;
  manifest?: string;
  config?: string;
  trust?: string;
  json?: boolean;
}

/**
 * `coldpool-offline inspect F.psbt`: read-only review of a PSBT. With
 * `--keystore` or `--descriptor` it recognises our inputs and change; with
 * neither it shows what the PSBT says (amounts, addresses, fee, signatures)
 * without claiming anything is ours. Writes nothing.
 */
export function registerInspect(program: Command, out: Output): void {
  program
    .command('inspect')
    .summary('read-only review of a PSBT: inputs, outputs, change, fee, signatures, findings')
    .description(
      'Review a PSBT (binary, base64 or hex) without signing: every input (outpoint, amount, ours or not with its path, ' +
        'whether its non_witness_utxo matches, signatures present), every output (address, amount, change recognised by ' +
        'derivation, or external), who approved each output (operator names from the trust file, else key ids) and whether ' +
        'the approvals check out, whether the verifier of the trust file attested each output ("attested by verifier ' +
        '<key id>"), fee, vsize, fee rate and unsigned txid, and every finding `sign` would refuse on. ' +
        'Exit code 0 whatever the findings; `sign` is the one that refuses.',
    )
    .argument('<psbt>', 'PSBT file')
    .option('--keystore <file>', 'recognise inputs and change of this keystore (asks its password)')
    .option('--password-file <file>', 'keystore password from the first line of this file')
    .option('--descriptor <desc>', 'recognise inputs and change of this account descriptor or xpub/tpub (no secret needed)')
    .option('--network <net>', 'mainnet | testnet | signet | regtest; required without --keystore (and with a tpub/vpub)')
    .option('--manifest <file>', 'payout manifest to check the outputs against')
    .option('--config <file>', 'signer config: fee caps, trust file, payout cap (default: coldpool-signer.json beside the keystore, else built-in caps)')
    .option('--trust <file>', 'check the manifest\'s approvals against this trust file (overrides "trust" in the signer config)')
    .option('--json', 'print the review as JSON', false)
    .addHelpText('after', `
JSON output: {network, fingerprint, unsigned_txid, version, locktime,
  inputs: [{index, txid, vout, sequence, value_sat, script_hex, address, ours, path, pubkey,
            non_witness_utxo: "match"|"mismatch"|"absent", sighash, signatures: [{pubkey, sighash}], finalized}],
  outputs: [{index, address, script_hex, amount_sat, kind: "change"|"ours"|"external", path, withdrawal_id,
             approval?: null | {withdrawal_id, approvers: [{key_id, operator, valid, problem}], required, covered, mismatch},
             attestation?: null | {key_id, verifier, valid, problem}}],
  input_total_sat, output_total_sat, change_total_sat, external_total_sat, fee_sat, vsize, vsize_estimated,
  fee_rate_sat_kvb, fee_rate_sat_vb, inputs_signed, inputs_ours,
  findings: [{code, severity: "refuse"|"warn", message, input?, output?}],
  caps: {max_fee_sat, max_fee_rate_sat_kvb, source, max_payout_sat?, max_24h_sat?}}
Amounts are strings of satoshis. "approval" is there only with a trust file or when the manifest carries one (null: none
given); without a trust file valid/required/covered are null (not checked). "attestation" is there only when the trust
file names a verifier (null: the manifest carries none) or the manifest carries one; verifier/valid are null when the
trust file names no verifier (not checked).

Examples:
  $ coldpool-offline inspect payout-12.psbt --keystore cold.keystore --manifest payout-12.manifest.json
  $ coldpool-offline inspect payout-12.psbt --descriptor 'wpkh([73c5da0a/84h/0h/0h]xpub…/<0;1>/*)' --json
  $ coldpool-offline inspect payout-12.psbt --network mainnet`)
    .action(async (file: string, opts: InspectOptions) => {
      try {
        await inspect(file, opts, out);
      } finally {
        closeStdin();
      }
    });
}

async function inspect(file: string, opts: InspectOptions, out: Output): Promise<void> {
  if (opts.keystore !== undefined && opts.descriptor !== undefined) throw new CodedError('USAGE', 'give at most one of --keystore or --descriptor');
  const { psbt } = loadPsbt(file);
  const manifest = loadManifest(opts.manifest);
  const policy = loadPolicy(opts.config, opts.keystore);
  const trusted = loadTrust(opts.trust, policy);
  let account: AccountDescriptor | undefined;
  let network: Network;
  if (opts.keystore !== undefined) {
    account = await unlockAccount({ keystore: opts.keystore, passwordFile: opts.passwordFile }, out);
    network = account.network;
  } else if (opts.descriptor !== undefined) {
    account = accountFromDescriptor(opts.descriptor, opts.network);
    network = account.network;
  } else {
    if (opts.network === undefined) throw new CodedError('USAGE', '"--network" is required without --keystore or --descriptor (addresses depend on it)');
    network = parseNetwork(opts.network);
  }
  if (opts.network !== undefined && parseNetwork(opts.network).name !== network.name) {
    throw new CodedError('NETWORK_MISMATCH', `"--network" is ${opts.network} but the account is for ${network.name}`);
  }
  const review = inspectPsbt(psbt, { network, account, policy, manifest, trust: trusted?.trust });
  if (opts.json) {
    out.data(reviewJson(review, { caps: capsWire(policy) }));
  } else {
    out.data(formatReview(review, `PSBT ${file} (read-only)`));
    out.say(policySummary(policy));
  }
}
