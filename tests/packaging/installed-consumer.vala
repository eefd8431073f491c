/* installed-consumer.vala: a Vala program built with
 * `valac --pkg threadref-1.0` against the installed vapi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
int main () {
    int ran = 0;
    var thread = new Thread<bool> ("installed", () => {
        var fin = new ThreadRef.Finalize (() => { AtomicInt.inc (ref ran); });
        fin = null;
        return true;
    });
    thread.join ();
    if (AtomicInt.get (ref ran) != 1)
        return 1;
    print ("vala consumer: OK\n");
    return 0;
}
