// devenv-consumer.js: GJS finds the uninstalled typelib through meson devenv
//
// SPDX-License-Identifier: LGPL-2.1-or-later
imports.gi.versions.ThreadRef = '1.0';
const {ThreadRef} = imports.gi;
const fin = ThreadRef.Finalize.new(() => print('gjs consumer: OK'));
fin.call();
