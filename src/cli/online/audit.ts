import { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { openAtomicFile, assertWritable } from '../../io/atomic-file.js';
import { toJson, type Output } from '../output.js';
import { addDbOptions, withStore, type OperatorOptions } from './withdrawal-context.js';

/** `coldpool audit verify|export`: check the hash chain; carry a copy to another machine. */
export function registerAudit(program: Command, out: Output): void {
  const group = program.command('audit').summary('the append-only audit log: verify the hash chain, export it');
  addDbOptions(group.command('verify'))
    .summary('walk the audit chain and name the first entry edited, deleted or out of order (exit 3 when broken)')
    .option('--json', 'print {"ok":true,"entries":N,"last_seq":"…","last_hash":"…"} or {"ok":false,"seq":"…","problem":"edited|deleted|out_of_order|inserted|truncated","message":"…"}', false)
    .action(async (opts: OperatorOptions) => {
      await withStore(opts, async (store) => {
        const v = await store.verifyAudit();
        if (v.ok) {
          out.data(opts.json ? toJson({ ok: true, entries: v.count, last_seq: v.lastSeq, last_hash: v.lastHash }) : `audit chain ok: ${v.count} entries, last ${v.lastSeq} ${v.lastHash}`);
          return;
        }
        if (opts.json) out.data(toJson({ ok: false, entries: v.count, seq: v.seq, problem: v.problem, message: v.message }));
        throw new CodedError('CHECKSUM', `audit chain broken: ${v.message}`, {
          hint: 'compare with an exported copy (`coldpool audit export`) taken on another machine',
          context: { seq: v.seq.toString(), problem: v.problem },
        });
      });
    });
  addDbOptions(group.command('export'))
    .summary('write the audit log as JSON lines (stdout, or --out F)')
    .option('--out <file>', 'write to this file (atomically) instead of stdout')
    .option('--force', 'replace --out if it exists', false)
    .action(async (opts: OperatorOptions & { out?: string; force?: boolean }) => {
      if (opts.out) assertWritable(opts.out, opts.force ?? false);
      await withStore(opts, async (store) => {
        const file = opts.out ? openAtomicFile(opts.out, { overwrite: opts.force ?? false }) : undefined;
        let n = 0;
        try {
          for await (const e of store.auditEntries()) {
            const line = `${JSON.stringify({ seq: e.seq.toString(), at: e.at, actor: e.actor, action: e.action, subject: e.subject, data: e.data, prev_hash: e.prevHash, hash: e.hash })}\n`;
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
