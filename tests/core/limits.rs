//! A plugin stopped by its limits: CPU time, the wall clock, memory, and
//! a trap that leaves the others working.

use super::*;

#[test]
fn a_looping_plugin_is_stopped_by_its_cpu_budget() {
    let home = testkit_home(
        "[limits]\ncpu_ms = 300\n[providers.spin]\nplugin = \"testkit\"\nmode = \"loop\"\n",
    );
    let started = Instant::now();
    let out = home.run(&["token", "spin"]);
    let took = started.elapsed();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("plugin `testkit`") && err.contains("CPU time"),
        "{err}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_looping_plugin_is_stopped_by_the_wall_clock_too() {
    let home = testkit_home(
        "[limits]\ncpu_ms = 600000\ncall_timeout_ms = 400\n[providers.spin]\nplugin = \"testkit\"\nmode = \"loop\"\n",
    );
    let out = home.run(&["token", "spin"]);
    let err = stderr(&out);
    assert!(err.contains("did not answer within 400 ms"), "{err}");
}

#[test]
fn a_plugin_that_allocates_without_bound_is_stopped() {
    let home = testkit_home(
        "[limits]\nmemory_mib = 32\n[providers.hog]\nplugin = \"testkit\"\nmode = \"hog\"\n",
    );
    let out = home.run(&["token", "hog"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("more than 32 MiB of memory"), "{err}");
}

#[test]
fn a_trapping_plugin_is_a_clear_error_and_others_keep_working() {
    let home = testkit_home(
        "[providers.boom]\nplugin = \"testkit\"\nmode = \"trap\"\n[providers.fine]\nplugin = \"testkit\"\nkey = \"fine-1\"\n",
    );
    let err = stderr(&home.run(&["token", "boom"]));
    assert!(err.contains("plugin `testkit`: crashed"), "{err}");
    assert_eq!(stdout(&home.run(&["token", "fine"])), "fine-1\n");
}
