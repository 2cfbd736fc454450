/**
 * Finds, without running anything, the external commands that source files start: the tool table
 * (src/tools.json) must name every one of them (test/unit/tools.test.ts).
 *
 * TypeScript and JavaScript files are read with the TypeScript compiler's parser. A command is:
 * - the first argument of execa/execaSync/execFile/execFileSync/spawn/spawnSync, and of a local
 *   helper named run/out/must called with a string first (`run('ip', …)` in bench/);
 * - the first element of the array given to `….run([…])`, of an `argv: […]` property or an
 *   `argv` variable, and of an array a `TOOLS`-named constant holds (every element there);
 * - `file: X` of a `{ file, args }` command object (bench/);
 * - the first word of each simple command of a zx template (`$\`ip …\``), and of a script given
 *   to `sh -c` (or bash/dash) anywhere below;
 * - any string that is an absolute path into a bin directory or /usr/lib/cni
 *   (`DOCKERD = '/usr/sbin/dockerd'`);
 * - behind a wrapper (nsenter, unshare, setpriv, timeout, setsid, env, chroot, strace, nohup,
 *   `ip netns exec NS`, `sh -c SCRIPT`), the command it starts.
 * An identifier is followed to its `const` in the same file (a string, a conditional of strings,
 * an object of strings, a function returning an array, `[…].join()` of strings); one that cannot be
 * followed (a parameter, a value computed at run time) is not a command name this scan can know,
 * and is left out: such values come from a literal that is itself found where it is written.
 *
 * Shell scripts (libexec/) are tokenised: the command word of every simple command, after
 * assignments and redirections, in pipelines, lists, `$(…)`, backquotes, if/while/for/case
 * bodies; not shell keywords, builtins, functions the script defines, or words starting with a
 * variable.
 */
import ts from 'typescript';

export interface FoundCommand {
  /** As written: a name looked up on PATH, or an absolute path. */
  readonly cmd: string;
  readonly file: string;
  readonly line: number;
}

// --- shell --------------------------------------------------------------------------------------

const BUILTINS = new Set(
  (
    ': . source alias bg break cd command continue declare local echo eval exec exit export false fg ' +
    'getopts hash jobs kill let printf pwd read readonly return set shift test [ [[ times trap true type ' +
    'typeset ulimit umask unalias unset wait mapfile readarray shopt builtin enable help disown suspend ' +
    'caller compgen complete dirs popd pushd logout'
  ).split(' '),
);
const OPENERS = new Set(['if', 'then', 'else', 'elif', 'while', 'until', 'do', '!', '{', 'time']);
const CLOSERS = new Set(['fi', 'done', 'esac', '}']);
const SEPARATORS = new Set([';', '&&', '||', '|', '&', '\n', '(', ')', '|&', ';;', ';&', ';;&']);

interface Tok {
  readonly op: boolean;
  /** Words: the text without quotes; `$…` expansions are kept as written. */
  readonly text: string;
  /** The word starts with an expansion ($x, "$x", $(…), `…`). */
  readonly dynamic: boolean;
  readonly line: number;
}

/** Index just past the `)` or `}` that closes the one opened right before `i`. */
const skipBalanced = (s: string, i: number, open: string, close: string): number => {
  let depth = 1;
  while (i < s.length && depth > 0) {
    const c = s[i];
    if (c === '\\') i += 2;
    else if (c === "'") i = s.indexOf("'", i + 1) + 1 || s.length;
    else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (c === open) depth++;
      else if (c === close) depth--;
      i++;
    }
  }
  return i;
};

const lineAt = (s: string, i: number): number => {
  let n = 0;
  for (let k = 0; k < i && k < s.length; k++) if (s[k] === '\n') n++;
  return n;
};

/** Split a shell script into words and operators; `$(…)` and backquote bodies go to `nested`. */
const tokenize = (s: string, nested: (body: string, lineOffset: number) => void): Tok[] => {
  const toks: Tok[] = [];
  let i = 0;
  let word = '';
  let inWord = false;
  let dynamic = false;
  let start = 0;
  const end = (): void => {
    if (inWord) toks.push({ op: false, text: word, dynamic, line: lineAt(s, start) });
    word = '';
    inWord = false;
    dynamic = false;
  };
  const begin = (): void => {
    if (!inWord) {
      inWord = true;
      start = i;
    }
  };
  const expansion = (quoted: boolean): void => {
    // at a `$`: $(…), $((…)), ${…}, $name
    if (!inWord || word === '') dynamic = true;
    begin();
    if (s.startsWith('$((', i)) {
      const j = skipBalanced(s, i + 3, '(', ')') + 1;
      word += s.slice(i, j);
      i = j;
    } else if (s.startsWith('$(', i)) {
      const j = skipBalanced(s, i + 2, '(', ')');
      nested(s.slice(i + 2, j - 1), lineAt(s, i));
      word += s.slice(i, j);
      i = j;
    } else if (s.startsWith('${', i)) {
      const j = skipBalanced(s, i + 2, '{', '}');
      word += s.slice(i, j);
      i = j;
    } else {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])?/.exec(s.slice(i)) as RegExpExecArray;
      word += m[0];
      i += m[0].length;
    }
    void quoted;
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\\' && s[i + 1] === '\n') {
      i += 2;
    } else if (c === '\\') {
      begin();
      word += s[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      begin();
      const j = s.indexOf("'", i + 1);
      word += s.slice(i + 1, j < 0 ? s.length : j);
      i = j < 0 ? s.length : j + 1;
    } else if (c === '"') {
      begin();
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') {
          word += s[i + 1] ?? '';
          i += 2;
        } else if (s[i] === '$') expansion(true);
        else if (s[i] === '`') {
          const j = s.indexOf('`', i + 1);
          nested(s.slice(i + 1, j), lineAt(s, i));
          if (word === '') dynamic = true;
          word += s.slice(i, j + 1);
          i = j + 1;
        } else word += s[i++];
      }
      i++;
    } else if (c === '$') {
      expansion(false);
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      nested(s.slice(i + 1, j < 0 ? s.length : j), lineAt(s, i));
      if (!inWord || word === '') dynamic = true;
      begin();
      word += s.slice(i, j + 1);
      i = j < 0 ? s.length : j + 1;
    } else if (c === '#' && !inWord) {
      while (i < s.length && s[i] !== '\n') i++;
    } else if (c === ' ' || c === '\t') {
      end();
      i++;
    } else if ('\n;&|()<>'.includes(c)) {
      // a word of digits right before a redirection is its file descriptor
      if ((c === '<' || c === '>') && inWord && /^\d+$/.test(word) && !dynamic) {
        word = '';
        inWord = false;
      }
      end();
      const m = /^(;;&|;;|;&|&&|\|\||\|&|&>>|&>|>>|<<-|<<<|<<|>&|<&|>\||<>|[\n;&|()<>])/.exec(
        s.slice(i),
      ) as RegExpExecArray;
      toks.push({ op: true, text: m[0], dynamic: false, line: lineAt(s, i) });
      i += m[0].length;
      // a here-document's body is data
      if (m[0] === '<<' || m[0] === '<<-') {
        const rest = s.slice(i);
        const d = /^\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(rest);
        if (d) {
          const bodyStart = s.indexOf('\n', i);
          const close = new RegExp(`^\\t*${d[2]}$`, 'm');
          const after = bodyStart < 0 ? -1 : s.slice(bodyStart + 1).search(close);
          if (bodyStart >= 0 && after >= 0) {
            toks.push({ op: false, text: d[2] as string, dynamic: false, line: lineAt(s, i) });
            i = bodyStart + 1 + after + (d[2] as string).length;
          }
        }
      }
    } else {
      begin();
      word += c;
      i++;
    }
  }
  end();
  return toks;
};

const isRedirect = (t: Tok): boolean => t.op && /^(&?>>?|<<?<?-?|>&|<&|>\||<>)$/.test(t.text);

/** One word of a command line, for the wrapper rules: a literal, or something only known at run time. */
type Arg = { readonly lit: string } | { readonly dyn: true };

const WRAPPER_VALUES: Record<string, ReadonlySet<string>> = {
  nsenter: new Set(['-t', '--target', '-S', '--setuid', '-G', '--setgid', '--env']),
  unshare: new Set([
    '--propagation',
    '--setgroups',
    '-S',
    '--setuid',
    '-G',
    '--setgid',
    '-R',
    '--root',
    '-w',
    '--wd',
    '--map-user',
    '--map-group',
    '--map-users',
    '--map-groups',
    '--kill-child',
    '--load-interp',
  ]),
  setpriv: new Set([
    '--reuid',
    '--regid',
    '--ruid',
    '--rgid',
    '--euid',
    '--egid',
    '--groups',
    '--inh-caps',
    '--ambient-caps',
    '--bounding-set',
    '--securebits',
    '--pdeathsig',
    '--selinux-label',
    '--apparmor-profile',
    '--landlock-access',
    '--landlock-rule',
  ]),
  timeout: new Set(['-s', '--signal', '-k', '--kill-after']),
  strace: new Set(['-o', '-e', '-p', '-s', '-u', '-E', '-a', '-b', '-I', '-O', '-S', '-P', '-X']),
  setsid: new Set(),
  nohup: new Set(),
  exec: new Set(['-a']),
  command: new Set(),
  nice: new Set(['-n', '--adjustment']),
  env: new Set(['-u', '--unset', '-C', '--chdir', '-S']),
  chroot: new Set(['--userspec', '--groups']),
  sudo: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-T', '-U']),
};

/**
 * The command a wrapper starts, from its arguments. For `timeout` the first operand is the
 * duration; for `chroot` the directory; `env` skips NAME=VALUE; `--` ends the options.
 */
const wrapped = (wrapper: string, args: readonly Arg[]): { index: number } | undefined => {
  const values = WRAPPER_VALUES[wrapper];
  if (!values) return undefined;
  let operandsToSkip = wrapper === 'timeout' || wrapper === 'chroot' ? 1 : 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    if (!('lit' in a)) {
      // a spread or variable among the options (e.g. `...wrap`): options only, by convention
      continue;
    }
    if (a.lit === '--') return i + 1 < args.length ? { index: i + 1 } : undefined;
    if (a.lit.startsWith('-') && a.lit !== '-') {
      if (values.has(a.lit)) i++;
      continue;
    }
    if (wrapper === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a.lit)) continue;
    if (operandsToSkip > 0) {
      operandsToSkip--;
      continue;
    }
    return { index: i };
  }
  return undefined;
};

/** Commands started by a command line `cmd args…` besides `cmd` itself (wrappers, `sh -c`). */
const innerCommands = (
  cmd: string,
  args: readonly Arg[],
  at: number,
  report: (cmd: string, line: number) => void,
  script: (text: string, line: number) => void,
): void => {
  const base = cmd.replace(/^.*\//, '');
  if (base === 'command' && args[0] && 'lit' in args[0] && /^-[vV]$/.test(args[0].lit)) {
    // `command -v X` looks X up: X is needed, though not started here
    const x = args[1];
    if (x && 'lit' in x) report(x.lit, at);
    return;
  }
  if (['sh', 'bash', 'dash'].includes(base)) {
    const c = args.findIndex((a) => 'lit' in a && a.lit === '-c');
    const body = args[c + 1];
    if (c >= 0 && body && 'lit' in body) script(body.lit, at);
    return;
  }
  if (base === 'ip') {
    // ip netns exec NAME CMD… (and ip -n is no wrapper)
    const i = args.findIndex(
      (a, k) =>
        'lit' in a &&
        a.lit === 'exec' &&
        k > 0 &&
        'lit' in (args[k - 1] as Arg) &&
        (args[k - 1] as { lit: string }).lit === 'netns',
    );
    const next = i >= 0 ? args[i + 2] : undefined;
    if (next && 'lit' in next) {
      report(next.lit, at);
      innerCommands(next.lit, args.slice(i + 3), at, report, script);
    }
    return;
  }
  const w = wrapped(base, args);
  if (!w) return;
  const inner = args[w.index];
  if (!inner || !('lit' in inner)) return;
  report(inner.lit, at);
  innerCommands(inner.lit, args.slice(w.index + 1), at, report, script);
};

/**
 * The commands a shell script starts. `lineOffset` is added to each line (a script inside
 * another file).
 */
export const scanShell = (text: string, file: string, lineOffset = 0): FoundCommand[] => {
  const found: FoundCommand[] = [];
  const report = (cmd: string, line: number): void => {
    if (cmd !== '' && !BUILTINS.has(cmd) && !functions.has(cmd))
      found.push({ cmd, file, line: line + lineOffset + 1 });
  };
  const functions = new Set<string>();
  for (const m of text.matchAll(/^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)/gm))
    functions.add(m[1] as string);
  // #!/bin/bash, #!/usr/bin/env node: the interpreter
  const bang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text);
  if (bang && lineOffset === 0) {
    const [, interp = '', arg] = bang;
    found.push({ cmd: interp.endsWith('/env') && arg ? arg : interp, file, line: 1 });
  }
  const nestedScripts: FoundCommand[] = [];
  const toks = tokenize(text, (body, off) => nestedScripts.push(...scanShell(body, file, lineOffset + off)));

  // case: a stack of 'pattern' | 'body'; 'pattern' skips words up to `)`.
  const cases: ('word' | 'in' | 'pattern' | 'body')[] = [];
  let cmdPos = true;
  let forHeader = false;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k] as Tok;
    const top = cases[cases.length - 1];
    if (top === 'word' || top === 'in') {
      if (!t.op && t.text === 'in' && top === 'word') cases[cases.length - 1] = 'pattern';
      continue;
    }
    if (top === 'pattern') {
      if (!t.op && t.text === 'esac') {
        cases.pop();
        cmdPos = false;
      } else if (t.op && t.text === ')') {
        cases[cases.length - 1] = 'body';
        cmdPos = true;
      }
      continue;
    }
    if (t.op) {
      if (top === 'body' && /^;;&?$|^;&$/.test(t.text)) {
        cases[cases.length - 1] = 'pattern';
        continue;
      }
      if (isRedirect(t)) {
        k++; // its target
        continue;
      }
      if (SEPARATORS.has(t.text)) {
        cmdPos = true;
      }
      continue;
    }
    if (forHeader) {
      if (t.text === 'do') {
        forHeader = false;
        cmdPos = true;
      }
      continue;
    }
    if (!cmdPos) continue;
    if (/^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(t.text) && !t.dynamic) continue; // assignment
    if (OPENERS.has(t.text)) continue;
    if (CLOSERS.has(t.text)) {
      if (t.text === 'esac' && top === 'body') cases.pop();
      cmdPos = false;
      continue;
    }
    if (t.text === 'case') {
      cases.push('word');
      cmdPos = false;
      continue;
    }
    if (t.text === 'for' || t.text === 'select') {
      forHeader = true;
      cmdPos = false;
      continue;
    }
    if (t.text === 'function') continue;
    // a function definition: NAME ( )
    const n1 = toks[k + 1];
    const n2 = toks[k + 2];
    if (n1?.op && n1.text === '(' && n2?.op && n2.text === ')') {
      k += 2;
      continue;
    }
    cmdPos = false;
    if (t.dynamic) continue;
    report(t.text, t.line);
    // the rest of this simple command, for wrappers
    const args: Arg[] = [];
    for (let j = k + 1; j < toks.length; j++) {
      const a = toks[j] as Tok;
      if (a.op && isRedirect(a)) {
        j++;
        continue;
      }
      if (a.op) break;
      args.push(a.dynamic ? { dyn: true } : { lit: a.text });
    }
    if (t.text === 'exec' || t.text === 'command') {
      const i = args.findIndex((a) => !('lit' in a) || !a.lit.startsWith('-'));
      const inner = args[i];
      if (t.text === 'command' && args[0] && 'lit' in args[0] && /^-[vV]$/.test(args[0].lit)) {
        innerCommands('command', args, t.line, report, () => undefined);
      } else if (inner && 'lit' in inner) {
        report(inner.lit, t.line);
        innerCommands(inner.lit, args.slice(i + 1), t.line, report, (s, l) =>
          found.push(...scanShell(s, file, lineOffset + l)),
        );
      }
      continue;
    }
    innerCommands(t.text, args, t.line, report, (s, l) => found.push(...scanShell(s, file, lineOffset + l)));
  }
  return [...found, ...nestedScripts.filter((f) => !functions.has(f.cmd))];
};

// --- TypeScript / JavaScript ----------------------------------------------------------------------

const SPAWNERS = new Set(['execa', 'execaSync', 'execFile', 'execFileSync', 'spawn', 'spawnSync']);
const SHELL_SPAWNERS = new Set(['exec', 'execSync']);
/** Helpers that take the command first: bench's run(file, …args) and must(), the ovs helper's run(cmd, args). */
const LOCAL_RUNNERS = new Set(['run', 'must']);
/** An array starting with one of these and holding an option is an argv wherever it is written (`enterArgv`'s nsenter). */
const WRAPPERS = new Set([
  'nsenter',
  'unshare',
  'setpriv',
  'timeout',
  'setsid',
  'strace',
  'sh',
  'bash',
  'env',
  'chroot',
  'nohup',
]);
const BIN_PATH =
  /^\/(?:usr\/)?(?:local\/)?s?bin\/[\w.+-]+$|^\/usr\/lib\/cni\/[\w.+-]+$|^\/usr\/libexec\/[\w.+/-]+$/;

const unwrap = (e: ts.Expression): ts.Expression => {
  let x = e;
  for (;;) {
    if (
      ts.isParenthesizedExpression(x) ||
      ts.isAsExpression(x) ||
      ts.isNonNullExpression(x) ||
      ts.isSatisfiesExpression(x)
    )
      x = x.expression;
    else return x;
  }
};

/** `const NAME = …` and `function NAME` declarations of a file, by name. */
const declarations = (sf: ts.SourceFile): Map<string, ts.Node> => {
  const out = new Map<string, ts.Node>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
      const list = n.parent;
      if (ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const)
        out.set(n.name.text, n.initializer);
    } else if (ts.isFunctionDeclaration(n) && n.name) out.set(n.name.text, n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
};

/** A script text with `${…}` as an opaque word. */
const SUBST = '$__pf_subst__';

export const scanTs = (text: string, file: string): FoundCommand[] => {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const decls = declarations(sf);
  const found: FoundCommand[] = [];
  const lineOf = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
  // from TypeScript every command is a program (printf is /usr/bin/printf, not the shell's)
  const report = (cmd: string, line: number): void => {
    if (cmd !== '') found.push({ cmd, file, line: line + 1 });
  };
  const script = (body: string, line: number): void => {
    found.push(...scanShell(body, file, line));
  };

  /** The strings an expression can be, when they can be known here. */
  const strings = (e: ts.Expression | undefined, seen = new Set<ts.Node>()): string[] => {
    if (!e) return [];
    const x = unwrap(e);
    if (seen.has(x)) return [];
    seen.add(x);
    if (ts.isStringLiteral(x) || ts.isNoSubstitutionTemplateLiteral(x)) return [x.text];
    if (ts.isTemplateExpression(x))
      return [x.head.text + x.templateSpans.map((s) => SUBST + s.literal.text).join('')];
    if (ts.isConditionalExpression(x)) return [...strings(x.whenTrue, seen), ...strings(x.whenFalse, seen)];
    if (ts.isBinaryExpression(x) && x.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
      return [...strings(x.left, seen), ...strings(x.right, seen)];
    if (ts.isIdentifier(x)) {
      const d = decls.get(x.text);
      return d && !ts.isFunctionDeclaration(d) ? strings(d as ts.Expression, seen) : [];
    }
    if (ts.isElementAccessExpression(x)) {
      const obj = unwrap(x.expression);
      const decl = ts.isIdentifier(obj) ? decls.get(obj.text) : obj;
      const d = decl && ts.isExpression(decl) ? unwrap(decl) : decl;
      if (d && ts.isObjectLiteralExpression(d))
        return d.properties.flatMap((p) => (ts.isPropertyAssignment(p) ? strings(p.initializer, seen) : []));
      return [];
    }
    if (ts.isCallExpression(x)) {
      // [...].join(sep) of strings; a local function's returned strings
      const callee = unwrap(x.expression);
      if (
        ts.isPropertyAccessExpression(callee) &&
        callee.name.text === 'join' &&
        !(ts.isIdentifier(callee.expression) && callee.expression.text === 'path')
      ) {
        const arr = unwrap(callee.expression);
        const sep = strings(x.arguments[0])[0] ?? ',';
        const a = ts.isIdentifier(arr) ? decls.get(arr.text) : arr;
        if (a && ts.isArrayLiteralExpression(a))
          return [a.elements.map((el) => strings(el)[0] ?? SUBST).join(sep)];
        return [];
      }
      if (
        (ts.isIdentifier(callee) && callee.text === 'join') ||
        (ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'join' &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'path')
      ) {
        // join(CNI_PATH, 'bridge'): a path made of known strings
        const parts = x.arguments.map((a) => strings(a, seen));
        return parts.every((p) => p.length === 1)
          ? [
              parts
                .map((p) => p[0])
                .join('/')
                .replace(/\/+/g, '/'),
            ]
          : [];
      }
      if (ts.isIdentifier(callee)) return returned(callee.text).flatMap((r) => strings(r, seen));
    }
    return [];
  };

  /** What a local function (const arrow or declaration) returns. */
  const returned = (name: string): ts.Expression[] => {
    const d = decls.get(name);
    if (!d) return [];
    const fn = ts.isFunctionDeclaration(d)
      ? d
      : ts.isArrowFunction(d) || ts.isFunctionExpression(d)
        ? d
        : undefined;
    if (!fn?.body) return [];
    if (!ts.isBlock(fn.body)) return [fn.body];
    const out: ts.Expression[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isReturnStatement(n) && n.expression) out.push(n.expression);
      if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
    };
    visit(fn.body);
    return out;
  };

  /** The array literals an expression can be (an argv). */
  const arrays = (e: ts.Expression | undefined, seen = new Set<ts.Node>()): ts.ArrayLiteralExpression[] => {
    if (!e) return [];
    const x = unwrap(e);
    if (seen.has(x)) return [];
    seen.add(x);
    if (ts.isArrayLiteralExpression(x)) return [x];
    if (ts.isConditionalExpression(x)) return [...arrays(x.whenTrue, seen), ...arrays(x.whenFalse, seen)];
    if (ts.isArrowFunction(x)) return ts.isBlock(x.body) ? [] : arrays(x.body, seen);
    if (ts.isIdentifier(x)) {
      const d = decls.get(x.text);
      return d && !ts.isFunctionDeclaration(d) ? arrays(d as ts.Expression, seen) : [];
    }
    if (ts.isCallExpression(x)) {
      const callee = unwrap(x.expression);
      if (ts.isIdentifier(callee)) return returned(callee.text).flatMap((r) => arrays(r, seen));
    }
    return [];
  };

  const argsOf = (elements: readonly ts.Expression[]): Arg[] =>
    elements.map((el) => {
      const s = ts.isSpreadElement(el) ? [] : strings(el);
      return s.length === 1 && !(s[0] as string).startsWith(SUBST) ? { lit: s[0] as string } : { dyn: true };
    });

  /** An argv given as elements: its command, then what a wrapper in it starts. */
  const argv = (elements: readonly ts.Expression[], line: number): void => {
    let first = 0;
    // a prefix spread in (`[...enter, 'ip', …]`) is a wrapper: the first literal after it starts
    while (first < elements.length && ts.isSpreadElement(elements[first] as ts.Expression)) first++;
    const head = elements[first];
    if (!head) return;
    const cmds = strings(head).filter((c) => !c.startsWith(SUBST));
    const rest = argsOf(elements.slice(first + 1));
    for (const c of cmds) {
      if (c.includes(SUBST)) continue;
      report(c, line);
      innerCommands(c, rest, line, report, script);
    }
  };

  const commandCall = (
    first: ts.Expression | undefined,
    second: ts.Expression | undefined,
    line: number,
  ): void => {
    const cmds = first ? strings(first).filter((c) => !c.includes(SUBST)) : [];
    const arr = second ? arrays(second)[0] : undefined;
    if (cmds.length === 0 && arr) {
      // an unknown command with a spread-in wrapper prefix: `execa(enter[0], [...enter.slice(1), 'ip', …])`
      if (arr.elements[0] && ts.isSpreadElement(arr.elements[0])) argv(arr.elements, line);
      return;
    }
    const rest = arr ? argsOf(arr.elements) : second ? [{ dyn: true } as const] : [];
    for (const c of cmds) {
      report(c, line);
      innerCommands(c, rest, line, report, script);
    }
  };

  /**
   * run/must (bench's helpers, imported), or a function of this file whose first parameter is
   * what it starts: `const out = (file, ...args) => execa(file, args)`.
   */
  const isLocalRunner = (name: string): boolean => {
    if (LOCAL_RUNNERS.has(name)) return true;
    const d = decls.get(name);
    if (!d || !(ts.isFunctionDeclaration(d) || ts.isArrowFunction(d) || ts.isFunctionExpression(d)))
      return false;
    const p = d.parameters[0];
    if (!p || p.dotDotDotToken || !ts.isIdentifier(p.name)) return false;
    const param = p.name.text;
    let spawns = false;
    const look = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const c = calleeName(n.expression);
        const first = n.arguments[0] && unwrap(n.arguments[0]);
        if (
          c &&
          (SPAWNERS.has(c) || LOCAL_RUNNERS.has(c)) &&
          first &&
          ts.isIdentifier(first) &&
          first.text === param
        )
          spawns = true;
      }
      // bench's exec({ file, args }) with the parameter as `file`
      if (
        (ts.isShorthandPropertyAssignment(n) && n.name.text === 'file' && param === 'file') ||
        (ts.isPropertyAssignment(n) &&
          ts.isIdentifier(n.name) &&
          n.name.text === 'file' &&
          ts.isIdentifier(unwrap(n.initializer)) &&
          (unwrap(n.initializer) as ts.Identifier).text === param)
      )
        spawns = true;
      if (!spawns) ts.forEachChild(n, look);
    };
    look(d);
    return spawns;
  };

  const calleeName = (e: ts.Expression): string | undefined => {
    const x = unwrap(e);
    if (ts.isIdentifier(x)) return x.text;
    if (ts.isPropertyAccessExpression(x)) return x.name.text;
    return undefined;
  };

  const visit = (n: ts.Node): void => {
    const line = (): number => lineOf(n);
    if (ts.isCallExpression(n)) {
      const name = calleeName(n.expression);
      const [a0, a1] = n.arguments;
      if (name && SPAWNERS.has(name)) commandCall(a0, a1, line());
      else if (name && SHELL_SPAWNERS.has(name) && ts.isIdentifier(unwrap(n.expression)))
        for (const s of strings(a0)) script(s, line());
      else if (
        name === 'run' &&
        a0 &&
        arrays(a0).length &&
        ts.isPropertyAccessExpression(unwrap(n.expression))
      )
        for (const a of arrays(a0)) argv(a.elements, lineOf(a));
      else if (
        name &&
        isLocalRunner(name) &&
        ts.isIdentifier(unwrap(n.expression)) &&
        a0 &&
        strings(a0).length
      ) {
        const rest = n.arguments.slice(1);
        const arr = rest.length === 1 ? arrays(rest[0]) : [];
        const elements = arr[0] ? arr[0].elements : rest;
        argv([a0, ...elements], line());
      }
    } else if (ts.isTaggedTemplateExpression(n)) {
      const tag = unwrap(n.tag);
      const isZx =
        (ts.isIdentifier(tag) && tag.text === '$') ||
        (ts.isCallExpression(tag) &&
          ts.isIdentifier(unwrap(tag.expression)) &&
          (unwrap(tag.expression) as ts.Identifier).text === '$');
      if (isZx) {
        const tpl = n.template;
        const body = ts.isNoSubstitutionTemplateLiteral(tpl)
          ? tpl.text
          : tpl.head.text + tpl.templateSpans.map((s) => `${SUBST}${s.literal.text}`).join('');
        script(body, line());
      }
    } else if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name)) {
      if (n.name.text === 'argv') for (const a of arrays(n.initializer)) argv(a.elements, lineOf(a));
      const args = ts.isObjectLiteralExpression(n.parent)
        ? n.parent.properties.find(
            (p): p is ts.PropertyAssignment =>
              ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === 'args',
          )
        : undefined;
      if (n.name.text === 'file' && args) commandCall(n.initializer, args.initializer, line());
    } else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
      if (n.name.text === 'argv') for (const a of arrays(n.initializer)) argv(a.elements, lineOf(a));
      if (/TOOLS$/.test(n.name.text) && ts.isArrayLiteralExpression(unwrap(n.initializer)))
        for (const el of (unwrap(n.initializer) as ts.ArrayLiteralExpression).elements)
          for (const s of ts.isSpreadElement(el) ? [] : strings(el)) report(s, lineOf(el));
    } else if (
      ts.isArrayLiteralExpression(n) &&
      n.elements[0] &&
      ts.isStringLiteral(n.elements[0]) &&
      WRAPPERS.has(n.elements[0].text) &&
      // an argv has options; a list of wrapper names has none
      n.elements.some(
        (e, i) =>
          i > 0 && (ts.isStringLiteral(e) || ts.isTemplateExpression(e)) && /^-/.test(e.getText(sf).slice(1)),
      )
    ) {
      argv(n.elements, line());
    } else if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && BIN_PATH.test(n.text)) {
      report(n.text, line());
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  // one report per command and line
  const seen = new Set<string>();
  return found.filter((f) => {
    const k = `${f.cmd}\0${f.line}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return !f.cmd.includes(SUBST) && !f.cmd.startsWith('$') && !isProjectFile(f.cmd);
  });
};

/**
 * A relative path (`node_modules/.bin/zx`, `recipes/x.yaml`), or pipefitter's own helper wherever
 * it is installed (`…/libexec/pipefitter-dhcp`), is this project's own file, not a tool.
 */
const isProjectFile = (cmd: string): boolean =>
  (cmd.includes('/') && !cmd.startsWith('/')) || /\/libexec\/pipefitter-[\w-]+$/.test(cmd);

/** By file name: shell for extensionless or .sh files, TypeScript for the rest. */
export const scanFile = (text: string, file: string): FoundCommand[] =>
  /\.(m?[jt]s|cjs)$/.test(file) ? scanTs(text, file) : scanShell(text, file);
