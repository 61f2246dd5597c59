// Package testadmin serves the tests of admin files the user must not be
// able to write (the admin whitelist, the policy, profiles, the CA bundle):
// RequireRealCheck skips where the admin-file check cannot refuse a test's
// file (the wineprefix build under Wine) and UnsafeReason is what the check
// says of one. Only tests import it.
package testadmin
