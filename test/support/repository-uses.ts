/**
 * Where a file reaches into a repository itself, for test/import-graph: every
 * member of a repository port (`PoolStore`, `WithdrawalStore`, … — the types
 * of the `Database` port's properties in src/core/ports.ts) that a file names,
 * whatever the variable holding it is called: `db.pool.claim(…)`,
 * `const store = db.pool; store.status()`, `withStore(opts, (store) =>
 * store.observe(…))`, `const { claim } = db.pool`. A text search would miss
 * all but the first, hence the type checker.
 *
 * Reading `label` or `dialect` is not a use: they are names for messages.
 * Handing a repository to a flow (`loadBatch(db.pool, …)`) is not one either;
 * only a flow may call it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const NAMES_FOR_MESSAGES = new Set(['label', 'dialect']);

function compilerOptions(root: string): ts.CompilerOptions {
  const config = join(root, 'tsconfig.json');
  // A fixture tree has no tsconfig; resolution is all the checker needs from one.
  if (!existsSync(config)) return { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [], noEmit: true };
  const read = ts.readConfigFile(config, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return { ...ts.parseJsonConfigFileContent(read.config, ts.sys, root).options, noEmit: true };
}

function sourcesUnder(root: string, dir: string): string[] {
  return (readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(root, dir, f))
    .sort();
}

/** The repository ports: the interface types of the properties of `Database` and of the verifier's `VerifierDatabase`. */
function repositoryTypes(program: ts.Program, checker: ts.TypeChecker, portsFile: string): Set<ts.Symbol> {
  const ports = program.getSourceFile(portsFile);
  if (!ports) throw new Error(`repository uses: ${portsFile} is not part of the program`);
  const handles = ports.statements.filter((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && (s.name.text === 'Database' || s.name.text === 'VerifierDatabase'));
  if (!handles.some((h) => h.name.text === 'Database')) throw new Error(`repository uses: no interface Database in ${portsFile}`);
  const out = new Set<ts.Symbol>();
  for (const m of handles.flatMap((h) => [...h.members])) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    const symbol = checker.getTypeAtLocation(m.type).getSymbol();
    if (symbol?.declarations?.some((d) => ts.isInterfaceDeclaration(d))) out.add(symbol);
  }
  if (out.size === 0) throw new Error('repository uses: Database has no repository property; the check would pass vacuously');
  return out;
}

/**
 * Every use of a repository's members in the `.ts` files under `dir`
 * (relative to `root`), as `file:line: receiver.member`, in file and line order.
 */
export function repositoryUses(root: string, dir: string, portsFile = 'src/core/ports.ts'): { uses: string[]; repositories: string[] } {
  const files = sourcesUnder(root, dir);
  const program = ts.createProgram(files, compilerOptions(root));
  const checker = program.getTypeChecker();
  const repos = repositoryTypes(program, checker, join(root, portsFile));

  const isRepository = (type: ts.Type, seen = new Set<ts.Type>()): boolean => {
    if (seen.has(type)) return false;
    seen.add(type);
    if (type.isUnionOrIntersection()) return type.types.some((t) => isRepository(t, seen));
    const symbol = type.getSymbol() ?? type.aliasSymbol;
    if (symbol && repos.has(symbol)) return true;
    // an interface extending a repository is one too
    return type.isClassOrInterface() && (checker.getBaseTypes(type) ?? []).some((b) => isRepository(b, seen));
  };

  const uses: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const report = (node: ts.Node, receiver: ts.Node, member: string): void => {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      uses.push(`${relative(root, file).split('\\').join('/')}:${line + 1}: ${receiver.getText(source)}.${member}`);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && !NAMES_FOR_MESSAGES.has(node.name.text) && isRepository(checker.getTypeAtLocation(node.expression))) {
        report(node, node.expression, node.name.text);
      } else if (ts.isElementAccessExpression(node) && isRepository(checker.getTypeAtLocation(node.expression))) {
        report(node, node.expression, `[${node.argumentExpression.getText(source)}]`);
      } else if (ts.isObjectBindingPattern(node) && isRepository(checker.getTypeAtLocation(node))) {
        for (const e of node.elements) {
          const name = (e.propertyName ?? e.name).getText(source);
          if (!NAMES_FOR_MESSAGES.has(name)) report(e, node, name);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  const repositories = [...repos].map((s) => s.getName()).sort();
  const byPlace = (u: string): [string, number] => [u.slice(0, u.indexOf(':')), Number(u.split(':')[1])];
  uses.sort((a, b) => byPlace(a)[0].localeCompare(byPlace(b)[0]) || byPlace(a)[1] - byPlace(b)[1]);
  return { uses, repositories };
}
