// Package browsertest holds the real-browser test of trustlaunch's URL
// handler path: Debian's Chromium, under Xvfb, clicks trustlaunch:// links
// on an HTTPS page; Chromium hands each link to xdg-open, xdg-open finds the
// desktop entry that "trustlaunch register" wrote, and the built trustlaunch
// binary decides and launches. The test asserts the outcome through the
// audit log that binary writes.
//
// The test runs on Linux only and needs root: Chromium reads managed
// policies (AutoLaunchProtocolsFromOrigins, which lets the link through
// without Chromium's "Open trustlaunch?" dialog) only from
// /etc/chromium/policies/managed, and the AllowAdminListOnly case needs the
// real admin list at /etc/trustlaunch/whitelist.txt, since the browser runs
// "trustlaunch open -- URL" exactly as registered, with no test override.
// Both files are created for the test, marked with the test's pid, and
// removed when it ends (or by the next run, when a run was killed before
// its cleanup). The test refuses to run when the machine has an admin list
// of its own.
//
// A missing program (chromium, Xvfb, xdg-open) fails the test with the
// Debian package that provides it: CI installs them, and a skip would hide
// the gap.
//
// Chromium is driven over its DevTools protocol by a small client on
// github.com/coder/websocket (cdp_test.go), already a dependency, rather than
// chromedp: the test needs eight methods and one event, and what matters
// here is owning the browser process — its session, its environment (which
// trustlaunch inherits through xdg-open), its teardown — which chromedp's
// allocator would otherwise manage.
package browsertest
