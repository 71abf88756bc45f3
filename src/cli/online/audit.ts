import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { exportLine, parseExportLine, type AuditEntry } from '../../core/audit-chain.js';
import { CodedError } from '../../core/errors.js';
import { auditEntries, verifyAuditLog } from '../../flows/audit.js';
import { openAtomicFile, assertWritable } from '../../io/atomic-file.js';
import { readTrustFile } from '../../trust/trust-file.js';
import { toJson, type Output } from '../output.js';
import { addDbOptions, withStore, type OperatorOptions } from './withdrawal-context.js';

/** `coldpool audit verify|export`: check the hash chain; carry a copy to another machine. */
export function registerAudit(program: Command, out: Output): void {
  const group = program.command('audit').summary('the append-only audit log: verify the hash chain, export it');
  addDbOptions(group.command('verify'))
    .summary('walk the audit chain and name the first entry edited, deleted or out of order (exit 3 when broken)')
    .description(
      'Walk the live chain: every entry\'s hash, its link to the one before, and the recorded head.\n' +
        'With --against, also compare it with an earlier `coldpool audit export` (kept on another machine):\n' +
        'every exported entry must still be there, identical, at the same seq (the live chain may be longer).\n' +
        'That catches a chain rewritten with every hash recomputed, which verifies on its own.\n' +
        'With --trust, also check that every entry is signed by its author\'s key in the trust file (an operator\'s,\n' +
        'or a program key listed under "auditors"), and every decision by the operator it names: anyone who can\n' +
        'write the table can recompute hashes, nobody without those keys can sign them.',
    )
    .option('--against <export.jsonl>', 'an earlier export to compare the live chain with')
    .option('--trust <file>', 'the trust file whose keys must have signed every entry (coldpool-trust.json)')
    .option('--json', 'print {"ok":true,"entries":N,"last_seq":"…","last_hash":"…"[,"against":{"file","entries":M,"last_seq":"…"}][,"signed":{"entries":N,"trust"}]} or {"ok":false,"seq":"…","problem":"edited|deleted|out_of_order|inserted|truncated|rewritten|missing|export_broken|missing signature|unknown key|bad signature|not its operator","message":"…"}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool audit verify\n  $ coldpool audit export --out /media/usb/audit-2024-06.jsonl        # later, elsewhere: keep it\n  $ coldpool audit verify --against /media/usb/audit-2024-06.jsonl --json\n')
    .action(async (opts: OperatorOptions & { against?: string; trust?: string }, cmd: Command) => {
      if (opts.against !== undefined && !existsSync(opts.against)) throw new CodedError('NOT_FOUND', `"--against" expected an export file, got ${JSON.stringify(opts.against)}, which does not exist`, { hint: 'write one with `coldpool audit export --out FILE`' });
      const trust = opts.trust === undefined ? undefined : readTrustFile(opts.trust);
      await withStore(cmd, async (store) => {
        const { live: v, against: c, signatures: s } = await verifyAuditLog(store, opts.against === undefined ? undefined : readExport(opts.against), trust);
        if (!v.ok) return broken(out, opts.json, v.count, v.seq, v.problem, v.message);
        if (s && !s.ok) return broken(out, opts.json, v.count, s.seq, s.problem, s.message, 'audit log not signed by its authors');
        let against: Record<string, unknown> | undefined;
        if (c) {
          if (!c.ok) return broken(out, opts.json, v.count, c.seq, c.problem, `against ${opts.against}: ${c.message}`);
          against = { file: opts.against, entries: c.count, last_seq: c.lastSeq };
        }
        if (opts.json) out.data(toJson({ ok: true, entries: v.count, last_seq: v.lastSeq, last_hash: v.lastHash, ...(against ? { against } : {}), ...(s ? { signed: { entries: s.count, trust: opts.trust } } : {}) }));
        else out.data(`audit chain ok: ${v.count} entries, last ${v.lastSeq} ${v.lastHash}${s ? `; every entry signed by its author's key in ${opts.trust}` : ''}${against ? `; all ${against.entries} entries of ${opts.against} present and identical` : ''}`);
      });
    });
  addDbOptions(group.command('export'))
    .summary('write the audit log as JSON lines (stdout, or --out F)')
    .option('--out <file>', 'write to this file (atomically) instead of stdout')
    .option('--force', 'replace --out if it exists', false)
    .action(async (opts: OperatorOptions & { out?: string; force?: boolean }, cmd: Command) => {
      if (opts.out) assertWritable(opts.out, opts.force ?? false);
      await withStore(cmd, async (store) => {
        const file = opts.out ? openAtomicFile(opts.out, { overwrite: opts.force ?? false }) : undefined;
        let n = 0;
        try {
          for await (const e of auditEntries(store)) {
            const line = exportLine(e);
            if (file) file.write(line);
            else out.data(line);
            n++;
          }
          file?.commit();
        } catch (e) {
          file?.abort();
          throw e;
        }
        if (opts.out) out.say(`wrote ${n} audit entries to ${opts.out}`);
      });
    });
}

function broken(out: Output, json: boolean | undefined, entries: number, seq: bigint, problem: string, message: string, what = 'audit chain broken'): never {
  if (json) out.data(toJson({ ok: false, entries, seq, problem, message }));
  throw new CodedError('CHECKSUM', `${what}: ${message}`, {
    hint: problem === 'export_broken' ? 'the export file was altered or cut; use another copy'
      : what !== 'audit chain broken' ? 'an entry not signed by a trusted key was written by someone without one: compare with an export taken on another machine'
        : 'compare with an exported copy (`coldpool audit export`) taken on another machine',
    context: { seq: seq.toString(), problem },
  });
}

/** The entries of an export file, one JSON line each (blank lines skipped). */
async function* readExport(path: string): AsyncIterable<AuditEntry> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() !== '') yield parseExportLine(line, n, path);
  }
}
