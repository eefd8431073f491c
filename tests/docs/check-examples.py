#!/usr/bin/env python3
# check-examples.py: compiles and runs every C example of the README, the
# guides (docs/*.md) and the reference (the doc comments of threadref/), as
# a TAP test, so that no example can be wrong without a test failing.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# An example is a ```c block. One with a main() is a whole program: it is
# compiled and run as it is. Any other is a fragment: its preprocessor lines
# and file-level definitions (functions, types, statics) go at file level,
# everything else into a function that example-env.c runs twice on one
# thread, with threadref_end_lifetime() between, and with the names a
# fragment may use in scope (example-env.h). Both are built with
# -Werror=implicit-function-declaration, so a name the example does not
# define and the program does not have fails, and run under
# AddressSanitizer and UndefinedBehaviorSanitizer (or the build's own
# sanitizer) with leak detection: an example that leaks, frees too early or
# leaves a connection open fails.
#
# Usage: check-examples.py --env-dir DIR --out-dir DIR FILE...

import argparse
import os
import re
import shlex
import subprocess
import sys

FENCE_MD = re.compile(r'^```(\w*)\s*$')
# In a doc comment: " * ```c", "   * ```c" (property docs are indented).
FENCE_DOC = re.compile(r'^\s*\*\s?```(\w*)\s*$')
DOC_PREFIX = re.compile(r'^\s*\*( |$)')

# The names example-env.h puts in a fragment's scope, with their types.
ENV_LOCALS = [
    ('ThreadRefRef *', 'worker_ref'),
    ('ThreadRefRef *', 'ref'),
    ('ThreadRefFinalize *', 'fin'),
    ('Connection *', 'conn'),
    ('ThreadRefFinalize *', 'conn_finalizer'),
    ('gpointer ', 'self'),
    ('gpointer ', 'window'),
    ('GSimpleAction *', 'start_action'),
    ('GThreadPool *', 'pool'),
]
# What a fragment may set for the program to use after it.
ENV_WRITE_BACK = ['pool']

WARNINGS = [
    '-Wall', '-Wextra', '-Werror',
    '-Werror=implicit-function-declaration',
    '-Wno-unused-function', '-Wno-unused-parameter', '-Wno-unused-variable',
    '-Wno-unused-but-set-variable',
]


class Example:
    def __init__(self, path, first_line, lines):
        self.path = path
        self.first_line = first_line   # line number of the block's first line
        self.lines = lines

    @property
    def name(self):
        return '%s:%d' % (self.path, self.first_line)


def find_examples(path, display):
    """The ```c blocks of a Markdown file or of a C file's doc comments."""
    with open(path, encoding='utf-8') as f:
        text = f.read().split('\n')
    in_doc = path.endswith(('.c', '.h'))
    fence = FENCE_DOC if in_doc else FENCE_MD
    examples = []
    i = 0
    while i < len(text):
        m = fence.match(text[i])
        if m is None:
            i += 1
            continue
        lang = m.group(1)
        start = i + 1
        j = start
        while j < len(text) and fence.match(text[j]) is None:
            j += 1
        if lang == 'c':
            lines = text[start:j]
            if in_doc:
                lines = [DOC_PREFIX.sub('', l, count=1) for l in lines]
            examples.append(Example(display, start + 1, lines))
        i = j + 1
    return examples


RETURN_TYPE = re.compile(r'^[A-Za-z_][\w ]*[\w\*]\s*\**$')
FUNCTION_NAME = re.compile(r'^\w+ \(')
FILE_LEVEL = ('static ', 'typedef ', 'struct ', 'enum ', 'G_DEFINE_', 'G_DECLARE_')


def starts_file_level(lines, i):
    line = lines[i]
    if not line or line[0].isspace():
        return False
    if line.startswith(FILE_LEVEL):
        return True
    # "static void" / "GThread *" alone, then "name (": a function.
    return (RETURN_TYPE.match(line) is not None and i + 1 < len(lines)
            and FUNCTION_NAME.match(lines[i + 1]) is not None)


def split(example):
    """(preprocessor, file-level, body) chunks, each a list of
    (line number, text)."""
    lines = example.lines
    pre, top, body = [], [], []
    i = 0
    while i < len(lines):
        number = example.first_line + i
        line = lines[i]
        if line.startswith(('#define', '#include')):
            pre.append((number, line))
            i += 1
        elif starts_file_level(lines, i):
            depth = 0
            opened = False
            j = i
            while j < len(lines):
                depth += lines[j].count('{') - lines[j].count('}')
                opened = opened or '{' in lines[j]
                end = lines[j].rstrip()
                if depth == 0 and ((opened and (end.endswith('}') or end.endswith(';')))
                                   or (not opened and end.endswith(';'))):
                    break
                j += 1
            top.extend((example.first_line + k, lines[k]) for k in range(i, j + 1))
            i = j + 1
        else:
            body.append((number, line))
            i += 1
    return pre, top, body


def with_line_markers(chunk, path):
    out = []
    last = None
    for number, text in chunk:
        if last is None or number != last + 1:
            out.append('#line %d "%s"' % (number, path))
        out.append(text)
        last = number
    return out


def declares(body_text, name):
    """Whether a statement of the body declares name ("Type *name =")."""
    return re.search(r'^\s*[A-Za-z_]\w*(\s+|\s*\*+\s*)%s\s*[=;]' % re.escape(name),
                     body_text, re.M) is not None


def generate(example):
    code = '\n'.join(example.lines)
    if re.search(r'^(\w[\w \*]*\s)?main \(', code, re.M):
        return code + '\n', True

    pre, top, body = split(example)
    body_text = '\n'.join(text for _, text in body)
    out = ['/* Generated by check-examples.py from %s */' % example.name]
    out += with_line_markers(pre, example.path)
    out.append('#line 1 "example-env.h"')
    out.append('#include "example-env.h"')
    out += with_line_markers(top, example.path)
    out.append('#line 1 "generated"')
    out.append('static void')
    out.append('example_body (ExampleEnv *env)')
    out.append('{')
    # What the example declares itself is its own, not the program's.
    own = {name for _, name in ENV_LOCALS if declares(body_text, name)}
    for ctype, name in ENV_LOCALS:
        if name not in own:
            out.append('  %s%s G_GNUC_UNUSED = env->%s;' % (ctype, name, name))
    out.append('  {')
    out += with_line_markers(body, example.path)
    out.append('#line 1 "generated"')
    out.append('  }')
    for name in ENV_WRITE_BACK:
        if name not in own:
            out.append('  env->%s = %s;' % (name, name))
    out.append('}')
    out.append('')
    uses = []
    if 'conn' not in own and re.search(r'\bconn\b', body_text):
        uses.append('EXAMPLE_USES_CONN')
    if 'conn_finalizer' not in own and re.search(r'\bconn_finalizer\b', body_text):
        uses.append('EXAMPLE_USES_CONN_FINALIZER')
    out.append('int')
    out.append('main (void)')
    out.append('{')
    out.append('  return example_main (example_body, %s);' % (' | '.join(uses) or '0'))
    out.append('}')
    return '\n'.join(out) + '\n', False


def sanitizer_flags(cc, out_dir):
    """The build's sanitizer if it has one, else ASan + UBSan if cc has
    them, else nothing."""
    own = os.environ.get('CONSUMER_CFLAGS', '').strip()
    if own:
        return shlex.split(own)
    wanted = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer']
    probe = os.path.join(out_dir, 'probe.c')
    with open(probe, 'w') as f:
        f.write('int main (void) { return 0; }\n')
    result = subprocess.run(cc + wanted + [probe, '-o', probe[:-2]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wanted if result.returncode == 0 else []


def trim_output(text):
    """The lines that say what went wrong: a sanitizer's shadow-memory dump
    is left out, and at most 60 lines are kept."""
    kept = []
    skipping = False
    for line in text.strip().split('\n'):
        if line.startswith('Shadow bytes around the buggy address'):
            skipping = True
        elif skipping and line.startswith('=='):
            skipping = False
        if not skipping:
            kept.append(line)
    return kept[:60]


def run_env(env_dir):
    env = dict(os.environ)
    env['ASAN_OPTIONS'] = 'detect_leaks=1'
    env['LSAN_OPTIONS'] = 'suppressions=' + os.path.join(env_dir, '..', 'lsan.supp')
    env['UBSAN_OPTIONS'] = 'halt_on_error=1:print_stacktrace=1'
    env['G_DEBUG'] = 'fatal-criticals'
    env['G_SLICE'] = 'always-malloc'
    preload = env.get('SANITIZER_PRELOAD', '')
    if preload:
        env['LD_PRELOAD'] = preload
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--env-dir', required=True)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--source-root', required=True)
    parser.add_argument('files', nargs='+')
    args = parser.parse_args()

    cc = shlex.split(os.environ.get('CC', 'cc'))
    os.makedirs(args.out_dir, exist_ok=True)
    def pkg_config(what):
        return subprocess.run(['pkg-config', what, 'threadref-1.0', 'gio-2.0'],
                              check=True, capture_output=True, text=True).stdout.split()
    # Libraries only where something is linked: clang warns of unused ones.
    pkg_cflags = pkg_config('--cflags')
    pkg = pkg_cflags + pkg_config('--libs')
    sanitize = sanitizer_flags(cc, args.out_dir)
    flags = ['-g', '-O1'] + sanitize + WARNINGS + ['-I', args.env_dir]

    examples = []
    for path in args.files:
        display = os.path.relpath(path, args.source_root)
        examples += find_examples(path, display)

    print('1..%d' % (len(examples) + 1))
    env_object = os.path.join(args.out_dir, 'example-env.o')
    result = subprocess.run(cc + flags + ['-c', os.path.join(args.env_dir, 'example-env.c'),
                                          '-o', env_object] + pkg_cflags,
                            capture_output=True, text=True)
    if result.returncode != 0:
        print('not ok 1 - example-env.c compiles')
        print('# ' + result.stderr.replace('\n', '\n# '))
        return 1
    print('ok 1 - example-env.c compiles (%s)' % (' '.join(sanitize) or 'no sanitizer'))

    failed = 0
    for n, example in enumerate(examples, start=2):
        stem = re.sub(r'[^A-Za-z0-9]+', '-', example.name)
        source = os.path.join(args.out_dir, stem + '.c')
        program = os.path.join(args.out_dir, stem)
        code, whole = generate(example)
        with open(source, 'w') as f:
            f.write(code)
        command = cc + flags + [source] + ([] if whole else [env_object]) + pkg + ['-o', program]
        result = subprocess.run(command, capture_output=True, text=True)
        what = 'compiles'
        if result.returncode == 0:
            what = 'runs'
            try:
                result = subprocess.run([program], capture_output=True, text=True, timeout=60,
                                        env=run_env(args.env_dir))
            except subprocess.TimeoutExpired as e:
                result = subprocess.CompletedProcess([program], -1, e.stdout or '', 'timed out after 60 s')
        if result.returncode == 0:
            print('ok %d - %s (%s)' % (n, example.name, 'program' if whole else 'fragment'))
        else:
            failed += 1
            print('not ok %d - %s %s' % (n, example.name, what))
            print('# generated: %s' % source)
            for line in trim_output(result.stdout + result.stderr):
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
