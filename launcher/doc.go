// Package launcher takes a session from the browser's trustlaunch:// link to
// a running emulator.
//
//   - ParseLaunchURL reads the link: trustlaunch://launch?url=..., nothing
//     else (DESIGN.md, "Launch URL and descriptor").
//   - Launch runs the whole flow: the whitelist decision (package whitelist),
//     the admin policy (package policy), descriptor.Fetch from the decided
//     origin over HTTPS and the policy's check of it, the emulator
//     profile (LoadProfiles: built-ins, then the admin's, then the user's
//     if no one else could have written it — a descriptor only names one),
//     the tunnel (package connector) with the first connection dialed
//     ahead, the emulator in its own process group, teardown, and an
//     AuditLog record. It refuses at once where the
//     connector cannot check who connects to the local end (macOS).
//   - RunRecordingStatus runs an emulator inside the terminal window a
//     browser launch opens for it and hands its exit status back, which
//     the window itself does not (`trustlaunch __in-terminal`).
//   - Detect answers a portal's detection link with a POST of what this
//     trustlaunch is, under the same whitelist decision as a launch.
//   - AuditLog writes JSON lines without the token or the ticket, rotated at
//     10 MiB.
//
// Nothing from a descriptor becomes a command line except through a profile
// defined on this machine; text from the network is sanitized before a
// terminal, a log or an error sees it.
package launcher
