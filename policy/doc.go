// Package policy is the administrator's say past the origin
// (docs/design.md "Admin policy"): which proxies and destinations a
// descriptor may name, with which pins and roots, and whether it must be
// signed, and by which publishers.
//
//   - Load and ReadFile read the policy file (TOML, admin-only, checked
//     with platform.CheckAdminFile); Parse reports every problem with its
//     line. A file that exists but cannot be used stops every launch.
//   - Merge and MergeAdmin lay Windows Group Policy over the policy file
//     and over the admin whitelist; ParseGP reads the registry values, so
//     the merge is tested on every OS. LoadAdmin is the admin whitelist
//     with Group Policy merged in.
//   - Policy.Check decides on a decoded descriptor and returns the Grant
//     (the admin's pins and roots) the connector adds.
//
// It is a package of its own because it is the admin's trust decision,
// apart from the descriptor it judges (package descriptor) and from the
// launch that applies it (package launcher). It imports descriptor, and a
// *Policy is the descriptor.Publishers that verifies signatures; descriptor
// never imports it.
package policy
