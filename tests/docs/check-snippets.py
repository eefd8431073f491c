#!/usr/bin/env python3
# check-snippets.py: runs every Python and JavaScript example of the README
# and the guides, and compiles every Vala one, exactly as shown, as a TAP
# test: a reader who pastes one into a file gets what the docs say.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A ```python block runs with an interpreter that has PyGObject, a ```js
# block with gjs (as a module if it uses `import`), and a ```vala block is
# built with `valac --pkg threadref-1.0` and run; a warning of valac fails
# it. Each must exit with status 0 and write nothing that looks like an
# error (a traceback, a critical, a JS exception) to stderr. The environment
# is the uninstalled build's (what `meson devenv` sets).
#
# Usage: check-snippets.py --out-dir DIR [--python P] [--gjs G] [--valac V]
#        --source-root DIR FILE...

import argparse
import os
import re
import subprocess
import sys

FENCE = re.compile(r'^```(\w*)\s*$')
LANGUAGES = ('python', 'js', 'vala')
# What a snippet must not write, even when it exits with 0.
ERROR_SIGNS = re.compile(r'Traceback|CRITICAL|WARNING \*\*|JS ERROR|Gjs-WARNING|Exception ignored')


def find_snippets(path, display):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    snippets = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and FENCE.match(lines[j]) is None:
            j += 1
        if m.group(1) in LANGUAGES:
            snippets.append((m.group(1), '%s:%d' % (display, i + 2), '\n'.join(lines[i + 1:j]) + '\n'))
        i = j + 1
    return snippets


def run(command, timeout=120, **kwargs):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, -1, '', 'timed out after %d s' % timeout)


def check(language, name, code, args, out_dir):
    """(ok, why, output)"""
    stem = os.path.join(out_dir, re.sub(r'[^A-Za-z0-9]+', '-', name))
    if language == 'python':
        if not args.python:
            return None, 'no Python with PyGObject', ''
        source = stem + '.py'
        command = [args.python, source]
    elif language == 'js':
        if not args.gjs:
            return None, 'no gjs', ''
        source = stem + '.js'
        is_module = re.search(r'^\s*import\b', code, re.M) is not None
        command = [args.gjs] + (['-m'] if is_module else []) + [source]
    else:
        if not args.valac:
            return None, 'no valac', ''
        source = stem + '.vala'
    with open(source, 'w') as f:
        f.write(code)

    if language == 'vala':
        program = stem + '-vala'
        built = run([args.valac, '--pkg', 'threadref-1.0', '--pkg', 'gio-2.0',
                     '-X', '-w', '-o', program, source], cwd=out_dir)
        # valac's own warnings only (a sanitizer build's linker has some
        # about its runtime's tmpnam).
        if built.returncode != 0 or re.search(r'\.vala:[0-9.-]+: warning:', built.stdout + built.stderr):
            return False, 'valac', built.stdout + built.stderr
        command = [program]

    result = run(command)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return False, 'exit status %d' % result.returncode, output
    if ERROR_SIGNS.search(result.stderr):
        return False, 'errors on stderr', output
    return True, '', output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--source-root', required=True)
    parser.add_argument('--python')
    parser.add_argument('--gjs')
    parser.add_argument('--valac')
    parser.add_argument('files', nargs='+')
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    snippets = []
    for path in args.files:
        snippets += find_snippets(path, os.path.relpath(path, args.source_root))

    print('1..%d' % len(snippets))
    failed = 0
    for n, (language, name, code) in enumerate(snippets, start=1):
        ok, why, output = check(language, name, code, args, args.out_dir)
        if ok is None:
            print('ok %d - %s (%s) # SKIP %s' % (n, name, language, why))
        elif ok:
            print('ok %d - %s (%s)' % (n, name, language))
        else:
            failed += 1
            print('not ok %d - %s (%s): %s' % (n, name, language, why))
            for line in output.strip().split('\n')[-40:]:
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
