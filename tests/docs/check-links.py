#!/usr/bin/env python3
# check-links.py: every link between the guides goes where it says.
#
# The guides in docs/ are gi-docgen content files: installed as NAME.html,
# so a link from one guide to another names NAME.html (a NAME.md link is
# dead in the installed reference), and a #fragment names a heading of the
# target. README.md is read on a forge, so it links the .md files. Links to
# the reference ([func@...], [class@...]) are gi-docgen's to check.
import os
import re
import sys

LINK = re.compile(r'\]\(([^)\s]+)\)')


def slug(heading):
    # gi-docgen's (Python-Markdown toc) ids: lower case, words joined by '-'.
    text = re.sub(r'[`*_\[\]]', '', heading).strip().lower()
    text = re.sub(r'[^\w\s-]', '', text)
    return re.sub(r'[\s-]+', '-', text).strip('-')


def anchors(path):
    with open(path, encoding='utf-8') as f:
        return {slug(line.lstrip('#')) for line in f if re.match(r'#{1,6} ', line)}


def main():
    root = sys.argv[1]
    docs = os.path.join(root, 'docs')
    pages = {name[:-3] for name in os.listdir(docs) if name.endswith('.md')}
    checks = []
    for source, ext in [(os.path.join(docs, p + '.md'), '.html') for p in sorted(pages)] + \
                       [(os.path.join(root, 'README.md'), '.md')]:
        with open(source, encoding='utf-8') as f:
            text = f.read()
        for target in LINK.findall(text):
            if re.match(r'[a-z]+:', target):
                continue
            checks.append((source, ext, target))

    print('1..%d' % len(checks))
    failed = 0
    for n, (source, ext, target) in enumerate(checks, start=1):
        path, _, fragment = target.partition('#')
        base = os.path.dirname(source)
        problem = None
        if path == '':
            page_md = source
        else:
            stem, found_ext = os.path.splitext(path)
            page_md = os.path.normpath(os.path.join(base, stem + '.md'))
            if found_ext not in ('.md', '.html'):
                page_md = os.path.normpath(os.path.join(base, path))
                if not os.path.exists(page_md):
                    problem = 'no such file'
            elif found_ext != ext:
                problem = 'links %s: from %s, link the %s name' % (found_ext, os.path.relpath(source, root), ext)
            elif not os.path.exists(page_md):
                problem = 'no such page'
        if problem is None and fragment and page_md.endswith('.md') and fragment not in anchors(page_md):
            problem = 'no heading #%s there' % fragment
        where = '%s -> %s' % (os.path.relpath(source, root), target)
        if problem:
            failed += 1
            print('not ok %d - %s: %s' % (n, where, problem))
        else:
            print('ok %d - %s' % (n, where))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
