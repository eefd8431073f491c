// test-threadref.js: threadref from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.ThreadRef = '1.0';
imports.gi.versions.ThreadRefTest = '1.0';
const {GLib, Gio, ThreadRef, ThreadRefTest} = imports.gi;
const System = imports.system;

let failures = 0;
function check(condition, what) {
    print(`${condition ? 'ok' : 'FAILED'}: ${what}`);
    if (!condition)
        failures++;
}

// A ref and a finalizer on the main thread.
const ref = ThreadRef.Ref.new(null);
check(ref.is_alive(), 'a ref to the main thread is alive');
check(ref.alive === true, 'the alive property reads true');
check(ref.dup_thread() !== null, 'dup_thread() gives the running thread');

let ran = [];
const fin = ThreadRef.Finalize.new(() => ran.push('called'));
check(fin.alive && fin.atexit, 'a new finalizer is alive, atexit by default');
check(fin.call() === true, 'call() runs it');
check(fin.call() === false, 'a second call() does not');
check(!fin.alive, 'a called finalizer is dead');

const other = ThreadRef.Finalize.new(() => ran.push('never'));
other.atexit = false;
check(other.atexit === false, 'atexit can be turned off');
check(other.detach() === true, 'detach() kills it');
check(other.detach() === false && other.call() === false, 'a detached finalizer is dead');
check(ran.join(',') === 'called', `only call() ran a function (${ran})`);

// Waiting asynchronously for a worker (made by a C helper: JS has no threads).
Gio._promisify(ThreadRef.Ref.prototype, 'wait_async', 'wait_finish');
const worker = ThreadRefTest.spawn_worker(50);
check(worker.is_alive(), 'the worker runs');
check(!worker.equal(ref), 'refs to different threads are not equal');

// A watch on a thread made by C: the JS callback runs in this main loop,
// never on the worker (GJS could not run it there).
let watched = [];
const watchRef = worker.watch(r => watched.push([r.is_alive(), r.equal(worker)]));
check(watchRef !== null && watchRef.equal(worker), 'watch() gives a ref to the same thread');

// A nested lifetime on the main thread: a begin/end pair.
let nestedRan = [];
ThreadRef.Finalize.new(() => nestedRan.push('outer'));
const nested = ThreadRef.nested_lifetime_begin();
ThreadRef.Finalize.new(() => nestedRan.push('job'));
check(nested.is_alive(), 'a nested lifetime is alive while open');
ThreadRef.nested_lifetime_end(nested);
check(!nested.is_alive() && nestedRan.join(',') === 'job',
    `ending it runs only what it took (${nestedRan})`);

// A dispatcher made without a function (the bare constructor) is refused
// with a critical, rather than calling NULL when its batch's turn comes:
// here, at the end of a nested lifetime (before the fix: SIGSEGV).
const bareNested = ThreadRef.nested_lifetime_begin();
const bare = new ThreadRef.Dispatcher();
const [bareBatch] = bare.batch();
ThreadRef.nested_lifetime_end(bareNested);
check(bareBatch === 0, `a dispatcher made without a function makes no batch (${bareBatch})`);
// Likewise a finalizer: a critical, and it is dead (GObject forbids NULL).
const bareFinalize = new ThreadRef.Finalize();
check(bareFinalize.alive === false && bareFinalize.detach() === false,
    'a finalizer made without a function is dead');

// A watch whose ref is dropped at once (10b/07): GJS ties a method's
// callback to the JS wrapper of `this`, and the watch holds that object
// until the callback has run, so a garbage collection in between does not
// take the callback (it did: "Attempting to run a JS callback during
// shutdown", and no call). A nested lifetime stands for the thread.
let droppedRan = 0;
function watchAndDrop() {
    const job = ThreadRef.nested_lifetime_begin();
    job.watch(() => droppedRan++);
    ThreadRef.nested_lifetime_end(job);
}
for (let i = 0; i < 3; i++)
    watchAndDrop();
System.gc();
while (GLib.MainContext.default().iteration(false));
check(droppedRan === 3, `watches of dropped refs call back after a GC (${droppedRan} of 3)`);

const loop = new GLib.MainLoop(null, false);
worker.wait_async(null).then(ended => {
    check(ended === true, 'wait_async() resolves true once the worker ended');
    check(!worker.is_alive() && worker.dup_thread() === null, 'the worker ref is dead');
    check(worker.watch(null) === null, 'watch() on an ended thread gives null');
    // The watch is delivered in this context too, at the latest in the
    // next iterations.
    GLib.idle_add(GLib.PRIORITY_LOW, () => {
        check(watched.length === 1 && watched[0][0] === false && watched[0][1] === true,
            `the watch callback ran once, in the main loop, with a dead ref (${JSON.stringify(watched)})`);
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
}).catch(e => {
    check(false, `wait_async failed: ${e}`);
    loop.quit();
});
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 10, () => {
    check(false, 'timed out waiting for the worker');
    loop.quit();
    return GLib.SOURCE_REMOVE;
});
loop.run();

System.exit(failures === 0 ? 0 : 1);
