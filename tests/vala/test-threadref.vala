/* test-threadref.vala: threadref from Vala, through threadref-1.0.vapi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Prints what happened, one line per event, and checks it.
 */

Mutex output_mutex;
StringBuilder output;

void note (string line) {
    output_mutex.lock ();
    output.append (line);
    output.append_c ('\n');
    output_mutex.unlock ();
    print ("%s\n", line);
}

async bool wait_for_end (ThreadRef.Ref worker) throws Error {
    return yield worker.wait_async (null);
}

int main () {
    output = new StringBuilder ();

    /* A ref and a finalizer made on a GLib.Thread run on it, newest first,
     * before join() returns. */
    ThreadRef.Ref? kept = null;
    var thread = new Thread<bool> ("vala-worker", () => {
        kept = new ThreadRef.Ref ((r) => {
            note ("ref fired, alive=%s".printf (r.is_alive ().to_string ()));
        });
        var fin = new ThreadRef.Finalize (() => { note ("finalizer ran"); });
        fin.atexit = false;   /* the finalizer keeps itself alive after this scope */
        return true;
    });
    thread.join ();
    note ("joined, alive=%s".printf (kept.is_alive ().to_string ()));
    assert (kept.dup_thread () == null);

    /* end_lifetime() runs a thread's registrations without ending it. */
    var reused = new Thread<bool> ("vala-reused", () => {
        var job_fin = new ThreadRef.Finalize (() => { note ("job cleanup ran"); });
        job_fin = null;
        ThreadRef.end_lifetime ();
        note ("job over, thread goes on");
        return true;
    });
    reused.join ();

    /* call() runs once, here; detach() prevents running. */
    var called = new ThreadRef.Finalize (() => { note ("called"); });
    assert (called.call ());
    assert (!called.call ());
    assert (!called.detach ());
    var detached = new ThreadRef.Finalize (() => { note ("never"); });
    assert (detached.detach ());
    assert (!detached.alive);

    /* Watching another thread, and waiting for it asynchronously. */
    /* Handed over under a Mutex/Cond (which a ThreadSanitizer build of the
     * tests can see), not an AsyncQueue (whose locks are inside GLib). */
    Mutex ready_mutex = Mutex ();
    Cond ready_cond = Cond ();
    ThreadRef.Ref? worker_ref = null;
    var worker = new Thread<bool> ("vala-watched", () => {
        var made = new ThreadRef.Ref (null);
        ready_mutex.lock ();
        worker_ref = made;
        ready_cond.signal ();
        ready_mutex.unlock ();
        Thread.usleep (50000);
        return true;
    });
    ready_mutex.lock ();
    while (worker_ref == null)
        ready_cond.wait (ready_mutex);
    ready_mutex.unlock ();
    var watch = worker_ref.watch_finalize (() => { note ("watched thread ended"); });
    assert (watch != null);
    assert (worker_ref.equal (new ThreadRef.Ref (null)) == false);

    var loop = new MainLoop ();
    bool ended = false;
    wait_for_end.begin (worker_ref, (obj, res) => {
        try {
            ended = wait_for_end.end (res);
        } catch (Error e) {
            error ("wait failed: %s", e.message);
        }
        note ("wait_async finished: %s".printf (ended.to_string ()));
        loop.quit ();
    });
    loop.run ();
    worker.join ();
    assert (worker_ref.watch (null) == null);

    // A nested lifetime: a begin/end pair.
    var outer_fin = new ThreadRef.Finalize (() => { note ("outer ran"); });
    var nested = ThreadRef.nested_lifetime_begin ();
    var job_fin = new ThreadRef.Finalize (() => { note ("nested job ran"); });
    assert (nested.is_alive ());
    ThreadRef.nested_lifetime_end (nested);
    assert (!nested.is_alive () && !job_fin.is_alive () && outer_fin.is_alive ());
    assert (outer_fin.detach ());

    var expected = "finalizer ran\n" +
                   "ref fired, alive=false\n" +
                   "joined, alive=false\n" +
                   "job cleanup ran\n" +
                   "job over, thread goes on\n" +
                   "called\n" +
                   "watched thread ended\n" +
                   "wait_async finished: true\n" +
                   "nested job ran\n";
    if (output.str != expected) {
        printerr ("unexpected output:\n%s\nexpected:\n%s", output.str, expected);
        return 1;
    }
    return 0;
}
